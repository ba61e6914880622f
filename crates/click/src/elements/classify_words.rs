//! Fast paths for the classifiers' decision keys: comparing keys without a `memcmp` call, and
//! Classifier patterns compiled to checks on the key's 64-bit words, so a packet whose key
//! misses the decision cache is classified from the key already loaded instead of byte by
//! byte from the packet.

/// Key words (the first 64 bytes, masked) as the classifiers build them.
pub type Key = [u64; 8];

/// `a == b` as straight-line code (the derived array comparison calls `memcmp`).
#[inline(always)]
pub fn key_eq(a: &Key, b: &Key) -> bool {
    let mut d = 0;
    for i in 0..8 {
        d |= a[i] ^ b[i];
    }
    d == 0
}

/// One Classifier term on key words: every `(word, mask, value)` matches and the packet has
/// `need` bytes; `negate` inverts the whole term like Click's `!`.
#[derive(Clone, Debug)]
struct WordTerm {
    need: usize,
    negate: bool,
    words: Vec<(usize, u64, u64)>,
}

/// Classifier patterns (first match wins) as word checks, with each pattern's output.
#[derive(Clone, Debug, Default)]
pub struct WordRules {
    rules: Vec<(Vec<WordTerm>, usize)>,
}

/// A pattern term for [`WordRules::compile`]: bytes `value` under `mask` at `offset`.
pub struct TermBytes<'a> {
    pub offset: usize,
    pub value: &'a [u8],
    pub mask: &'a [u8],
    pub negate: bool,
}

impl WordRules {
    /// Compile `rules`; None when a term reaches past the key's 64 bytes.
    pub fn compile<'a>(
        rules: impl IntoIterator<Item = (Vec<TermBytes<'a>>, usize)>,
    ) -> Option<WordRules> {
        let mut out = Vec::new();
        for (terms, o) in rules {
            let mut wterms = Vec::new();
            for t in terms {
                let need = t.offset + t.value.len();
                if need > 64 {
                    return None;
                }
                let mut mask = [0u8; 64];
                let mut value = [0u8; 64];
                mask[t.offset..need].copy_from_slice(t.mask);
                value[t.offset..need].copy_from_slice(t.value);
                let mut words = Vec::new();
                for w in 0..8 {
                    let m = u64::from_ne_bytes(word_bytes(&mask, w));
                    if m != 0 {
                        words.push((w, m, u64::from_ne_bytes(word_bytes(&value, w)) & m));
                    }
                }
                wterms.push(WordTerm {
                    need,
                    negate: t.negate,
                    words,
                });
            }
            out.push((wterms, o));
        }
        Some(WordRules { rules: out })
    }

    /// Output of the first pattern matching a packet of `len` bytes (capped at 64) whose key is
    /// `key`; `usize::MAX` when none does. The key must cover every word the patterns read.
    #[inline]
    pub fn classify(&self, key: &Key, len: usize) -> usize {
        for (terms, o) in &self.rules {
            let hit = terms.iter().all(|t| {
                let m = t.need <= len && t.words.iter().all(|&(w, m, v)| key[w] & m == v);
                m != t.negate
            });
            if hit {
                return *o;
            }
        }
        usize::MAX
    }
}

fn word_bytes(b: &[u8; 64], w: usize) -> [u8; 8] {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[w * 8..w * 8 + 8]);
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(d: &[u8]) -> Key {
        let mut b = [0u8; 64];
        let n = d.len().min(64);
        b[..n].copy_from_slice(&d[..n]);
        let mut k = [0u64; 8];
        for (w, k) in k.iter_mut().enumerate() {
            *k = u64::from_ne_bytes(word_bytes(&b, w));
        }
        k
    }

    #[test]
    fn key_eq_compares_every_word() {
        let a = [1, 2, 3, 4, 5, 6, 7, 8];
        let mut b = a;
        assert!(key_eq(&a, &b));
        b[7] = 9;
        assert!(!key_eq(&a, &b));
    }

    #[test]
    fn patterns_spanning_words_lengths_and_negation() {
        // 0: bytes 6..10 = 01020304 (crosses the first word boundary)
        // 1: !12/0800 with byte 20 under mask f0 = 40
        // 2: everything
        let rules = WordRules::compile(vec![
            (
                vec![TermBytes {
                    offset: 6,
                    value: &[1, 2, 3, 4],
                    mask: &[0xff; 4],
                    negate: false,
                }],
                0,
            ),
            (
                vec![
                    TermBytes {
                        offset: 12,
                        value: &[8, 0],
                        mask: &[0xff, 0xff],
                        negate: true,
                    },
                    TermBytes {
                        offset: 20,
                        value: &[0x40],
                        mask: &[0xf0],
                        negate: false,
                    },
                ],
                1,
            ),
            (Vec::new(), 2),
        ])
        .expect("fits in 64 bytes");
        let mut d = vec![0u8; 30];
        d[6..10].copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(rules.classify(&key_of(&d), d.len()), 0);
        // too short for pattern 0's bytes
        assert_eq!(rules.classify(&key_of(&d[..9]), 9), 2);
        d[9] = 0;
        d[20] = 0x4f;
        assert_eq!(rules.classify(&key_of(&d), d.len()), 1);
        d[12] = 8;
        assert_eq!(rules.classify(&key_of(&d), d.len()), 2);
        assert!(WordRules::compile(vec![(
            vec![TermBytes {
                offset: 63,
                value: &[1, 2],
                mask: &[0xff, 0xff],
                negate: false
            }],
            0
        )])
        .is_none());
    }
}
