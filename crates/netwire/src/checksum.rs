//! The Internet checksum (RFC 1071): a one's complement sum of big-endian 16-bit words,
//! folded to 16 bits and complemented.
//!
//! [`add`] accumulates a partial sum (over several pieces: a pseudo header, then a segment),
//! [`fold`] folds it to 16 bits, [`checksum`] does both and complements. [`update`] adjusts a
//! stored checksum after one 16-bit word changed (RFC 1624, eqn. 3) without re-summing.

/// Adds the big-endian 16-bit words of `data` (an odd last byte is padded with zero) to the
/// partial sum `acc`. The result is a partial sum: fold it with [`fold`]. Pieces summed one
/// after the other must each have an even length, except the last.
#[inline]
pub fn add(acc: u32, data: &[u8]) -> u32 {
    // 32-bit words summed in 64 bits: 2^16 ≡ 1 (mod 0xffff), so this is the same one's
    // complement sum as 16-bit words, with half the additions and no overflow.
    let mut sum = u64::from(acc);
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        sum += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = words.remainder();
    let mut tail = [0u8; 4];
    tail[..rest.len()].copy_from_slice(rest);
    sum += u64::from(u32::from_be_bytes(tail));
    // End-around carries, back into 32 bits.
    sum = (sum & 0xffff_ffff) + (sum >> 32);
    sum = (sum & 0xffff_ffff) + (sum >> 32);
    sum as u32
}

/// Folds a partial sum into 16 bits (not complemented): 0xffff for data that verifies.
#[inline]
pub fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The Internet checksum of `data`: the value to store in a zeroed checksum field. Over data
/// that includes a correct checksum field it is 0.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !fold(add(0, data))
}

/// Partial sum of the IPv4 pseudo header of a TCP/UDP segment of `len` bytes (the header's
/// length field is 16 bits).
#[inline]
pub fn pseudo_header(src: [u8; 4], dst: [u8; 4], proto: u8, len: u16) -> u32 {
    add(add(0, &src), &dst) + u32::from(proto) + u32::from(len)
}

/// The checksum `sum` after a 16-bit word of the covered data changed from `old` to `new`
/// (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')).
#[inline]
pub fn update(sum: u16, old: u16, new: u16) -> u16 {
    !fold(u32::from(!sum) + u32::from(!old) + u32::from(new))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 1071 written the plain way: 16-bit words, end-around carry each step.
    fn reference(data: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        for pair in data.chunks(2) {
            let w = u32::from(pair[0]) << 8 | u32::from(*pair.get(1).unwrap_or(&0));
            sum += w;
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(add(0, &data)), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn ipv4_header_verifies() {
        // A real IPv4 header (checksum 0xb861 at bytes 10..12).
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        let c = checksum(&h);
        assert_eq!(c, 0xb861);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(checksum(&h), 0);
        assert_eq!(fold(add(0, &h)), 0xffff);
    }

    #[test]
    fn pseudo_header_matches_summing_its_bytes() {
        let (src, dst) = ([198, 18, 0, 1], [198, 19, 0, 2]);
        let bytes = [198, 18, 0, 1, 198, 19, 0, 2, 0, 17, 0, 42];
        assert_eq!(fold(pseudo_header(src, dst, 17, 42)), fold(add(0, &bytes)));
    }

    proptest! {
        #[test]
        fn matches_the_plain_definition(data in proptest::collection::vec(any::<u8>(), 0..3000)) {
            prop_assert_eq!(checksum(&data), reference(&data));
        }

        #[test]
        fn pieces_add_up(data in proptest::collection::vec(any::<u8>(), 0..600), cut in 0usize..300) {
            let cut = (cut * 2).min(data.len() & !1);
            let (a, b) = data.split_at(cut);
            prop_assert_eq!(fold(add(add(0, a), b)), fold(add(0, &data)));
        }

        #[test]
        fn incremental_update_equals_recompute(
            mut data in proptest::collection::vec(any::<u8>(), 2..200),
            at in 0usize..100,
            new in any::<u16>(),
        ) {
            let i = (at * 2) % (data.len() & !1);
            let before = checksum(&data);
            let old = u16::from_be_bytes([data[i], data[i + 1]]);
            data[i..i + 2].copy_from_slice(&new.to_be_bytes());
            let after = checksum(&data);
            // One's complement has two zeros; both verify the same way.
            let upd = update(before, old, new);
            prop_assert!(upd == after || (upd ^ after == 0xffff && (upd == 0 || after == 0)),
                "update {upd:#x} recompute {after:#x}");
        }
    }
}
