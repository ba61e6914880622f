//! Click's wordwise classification programs (elements/standard/classification.cc): a
//! decision tree of 4-byte masked compares, built from nested subtrees, optimised by the
//! dominator pass and special-case passes, and printed exactly as Click's `program`
//! handler prints it.
//!
//! Masks and values are kept as big-endian numbers (`mask >> 24` is the byte at `offset`).

// Index loops mirror Click's code (states are indices that jumps refer to).
#![allow(clippy::needless_range_loop)]

use std::fmt::Write;

/// Output meaning "drop the packet".
pub const J_NEVER: i32 = -2147483647;
/// Parse-time jump for the failure branch.
pub const J_FAILURE: i32 = J_NEVER + 1;
/// Parse-time jump for the success branch.
pub const J_SUCCESS: i32 = J_NEVER + 2;
/// No offset limit for the and-expression sort.
pub const OFFSET_MAX: i32 = 0x7FFF_FFFF;

/// How sibling subtrees combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combiner {
    And,
    Or,
    Ternary,
}

/// One test: `(word at offset) & mask == value`; `j[1]` on yes, `j[0]` on no. A jump
/// `<= 0` is the output `-j`; a packet too short for the word takes `j[short_output]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub offset: u16,
    pub short_output: bool,
    pub mask: u32,
    pub value: u32,
    pub j: [i32; 2],
}

/// Byte `k` (0 = first in memory) of a big-endian word.
#[inline]
fn byte(w: u32, k: usize) -> u32 {
    (w >> (24 - 8 * k)) & 0xff
}

impl Insn {
    pub fn new(offset: i32, value: u32, mask: u32) -> Insn {
        Insn {
            offset: offset as u16,
            short_output: false,
            mask,
            value: value & mask,
            j: [J_FAILURE, J_SUCCESS],
        }
    }
    #[inline]
    pub fn yes(&self) -> i32 {
        self.j[1]
    }
    #[inline]
    pub fn no(&self) -> i32 {
        self.j[0]
    }
    fn set_yes(&mut self, d: i32) {
        self.j[1] = d;
    }
    fn set_no(&mut self, d: i32) {
        self.j[0] = d;
    }

    pub fn required_length(&self) -> u32 {
        let o = self.offset as u32;
        if self.mask == 0 {
            0
        } else if byte(self.mask, 3) != 0 {
            o + 4
        } else if byte(self.mask, 2) != 0 {
            o + 3
        } else if byte(self.mask, 1) != 0 {
            o + 2
        } else {
            o + 1
        }
    }

    fn implies_short_ok(&self, direction: bool, x: &Insn, next_direction: bool, kl: u32) -> bool {
        if self.short_output != direction || self.offset as u32 + 4 <= kl {
            return true;
        }
        let r = self.required_length();
        r <= kl || (r <= x.required_length() && next_direction == x.short_output)
    }

    fn implies(&self, x: &Insn, kl: u32) -> bool {
        if x.mask == 0 {
            return true;
        }
        if x.offset != self.offset || !self.implies_short_ok(true, x, true, kl) {
            return false;
        }
        let both = self.mask & x.mask;
        both == x.mask && (self.value & both) == x.value
    }

    fn not_implies(&self, x: &Insn, kl: u32) -> bool {
        if x.mask == 0 {
            return true;
        }
        if x.offset != self.offset || !self.implies_short_ok(false, x, true, kl) {
            return false;
        }
        (self.mask & self.mask.wrapping_sub(1)) == 0 && self.mask == x.mask && self.value != x.value
    }

    fn implies_not(&self, x: &Insn, kl: u32) -> bool {
        if x.mask == 0 || x.offset != self.offset || !self.implies_short_ok(true, x, false, kl) {
            return false;
        }
        let both = self.mask & x.mask;
        both == x.mask && (self.value & both) != x.value
    }

    fn not_implies_not(&self, x: &Insn, kl: u32) -> bool {
        if self.mask == 0 {
            return true;
        }
        if x.offset != self.offset || !self.implies_short_ok(false, x, false, kl) {
            return false;
        }
        let both = self.mask & x.mask;
        both == self.mask && self.value == (x.value & both)
    }

    fn compatible(&self, x: &Insn, consider_short: bool) -> bool {
        if self.mask == 0 || x.mask == 0 {
            return true;
        }
        if x.offset != self.offset
            || (consider_short
                && x.short_output != self.short_output
                && self.required_length() < x.required_length())
        {
            return false;
        }
        let both = self.mask & x.mask;
        (self.value & both) == (x.value & both)
    }

    fn generalizable_or_pair(&self, x: &Insn) -> bool {
        let diff = self.value ^ x.value;
        if self.offset != 0
            && x.offset == self.offset
            && self.mask != 0
            && x.mask == self.mask
            && (self.short_output || !x.short_output)
            && self.yes() == x.yes()
            && (diff & diff.wrapping_sub(1)) == 0
        {
            let test = Insn::new(self.offset as i32, self.value & !diff, self.mask & !diff);
            test.required_length() == self.required_length()
        } else {
            false
        }
    }

    fn flippable(&self) -> bool {
        self.mask != 0 && (self.mask & (self.mask - 1)) == 0
    }

    fn flip(&mut self) {
        self.value ^= self.mask;
        self.j.swap(0, 1);
        self.short_output = !self.short_output;
    }

    fn offset_by(&self, off: i32) -> Insn {
        let mut i = *self;
        for k in 0..2 {
            if i.j[k] > 0 {
                i.j[k] += off;
            }
        }
        i
    }

    fn unparse_into(&self, s: &mut String) {
        let _ = write!(
            s,
            "{:3}/{:08x}%{:08x}  yes->",
            self.offset, self.value, self.mask
        );
        jump_accum(s, self.yes());
        s.push_str("  no->");
        jump_accum(s, self.no());
        if self.short_output {
            s.push_str("  short->yes");
        }
    }
}

fn jump_accum(s: &mut String, j: i32) {
    if j <= J_SUCCESS {
        let c = b"X-+"[(j - J_NEVER) as usize] as char;
        let _ = write!(s, "[{c}]");
    } else if j <= 0 {
        let _ = write!(s, "[{}]", -(j as i64));
    } else {
        let _ = write!(s, "step {j}");
    }
}

/// A program under construction or optimised.
#[derive(Clone, Debug)]
pub struct Program {
    insns: Vec<Insn>,
    output_everything: i32,
    safe_length: u32,
    align_offset: u32,
}

impl Default for Program {
    fn default() -> Self {
        Program::new(0)
    }
}

impl Program {
    pub fn new(align_offset: u32) -> Program {
        Program {
            insns: Vec::new(),
            output_everything: -J_NEVER,
            safe_length: u32::MAX,
            align_offset,
        }
    }
    pub fn align_offset(&self) -> u32 {
        self.align_offset
    }
    pub fn output_everything(&self) -> i32 {
        self.output_everything
    }
    pub fn safe_length(&self) -> u32 {
        self.safe_length
    }
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }
    pub fn ninsn(&self) -> usize {
        self.insns.len()
    }
    pub fn back_mut(&mut self) -> Option<&mut Insn> {
        self.insns.last_mut()
    }

    pub fn init_subtree(&self) -> Vec<i32> {
        let mut t = vec![-1; self.insns.len() + 1];
        t[0] = 0;
        t
    }
    pub fn start_subtree(&self, tree: &mut [i32]) {
        tree[0] += 1;
    }
    pub fn add_insn(&mut self, tree: &mut Vec<i32>, offset: i32, value: u32, mask: u32) {
        self.insns.push(Insn::new(offset, value, mask));
        tree.push(tree[0]);
        self.output_everything = -1;
    }

    fn redirect_subtree(&mut self, first: usize, last: usize, success: i32, failure: i32) {
        for insn in &mut self.insns[first..last] {
            for k in 0..2 {
                if insn.j[k] == J_SUCCESS {
                    insn.j[k] = success;
                } else if insn.j[k] == J_FAILURE {
                    insn.j[k] = failure;
                }
            }
        }
    }

    pub fn finish_subtree(&mut self, tree: &mut [i32], combiner: Combiner) {
        self.finish_subtree_to(tree, combiner, J_SUCCESS, J_FAILURE);
    }

    pub fn finish_subtree_to(
        &mut self,
        tree: &mut [i32],
        combiner: Combiner,
        success: i32,
        failure: i32,
    ) {
        let level = tree[0];
        let n = self.insns.len();
        let mut subtrees: Vec<usize> = Vec::new();
        {
            let mut ptr = n;
            while ptr > 0 && (tree[ptr] < 0 || tree[ptr] >= level) {
                ptr -= 1;
            }
            for p in ptr + 1..=n {
                if tree[p] == level {
                    subtrees.push(p - 1);
                }
            }
        }
        if !subtrees.is_empty() {
            tree[subtrees[0] + 1] = level - 1;
            for e in subtrees[0] + 2..=n {
                tree[e] = -1;
            }
            let mut t = 0;
            while t + 1 < subtrees.len() {
                let first = subtrees[t];
                let next = subtrees[t + 1];
                match combiner {
                    Combiner::And => self.redirect_subtree(first, next, next as i32, failure),
                    Combiner::Or => self.redirect_subtree(first, next, success, next as i32),
                    Combiner::Ternary => {
                        if t + 2 < subtrees.len() {
                            let next2 = subtrees[t + 2];
                            self.redirect_subtree(first, next, next as i32, next2 as i32);
                            self.redirect_subtree(next, next2, success, failure);
                            t += 1;
                        } else {
                            self.redirect_subtree(first, next, next as i32, failure);
                        }
                    }
                }
                t += 1;
            }
            if t < subtrees.len() {
                self.redirect_subtree(subtrees[t], n, success, failure);
            }
        }
        tree[0] -= 1;
    }

    /// Swap success and failure in the last subtree (and, with `flip_short`, what short
    /// packets do).
    pub fn negate_subtree(&mut self, tree: &[i32], flip_short: bool) {
        let level = tree[0];
        let mut first = self.insns.len() as isize - 1;
        while first >= 0 && tree[first as usize + 1] != level {
            first -= 1;
        }
        if first < 0 {
            return;
        }
        for e in &mut self.insns[first as usize..] {
            for k in 0..2 {
                if e.j[k] == J_FAILURE {
                    e.j[k] = J_SUCCESS;
                } else if e.j[k] == J_SUCCESS {
                    e.j[k] = J_FAILURE;
                }
            }
            if flip_short {
                e.short_output = !e.short_output;
            }
        }
    }

    pub fn set_failure(&mut self, failure: i32) {
        if self.output_everything == -J_FAILURE {
            self.output_everything = -failure;
        }
        for insn in &mut self.insns {
            for k in 0..2 {
                if insn.j[k] == J_FAILURE {
                    insn.j[k] = failure;
                }
            }
        }
    }

    /// Append `next` as with `or`: this program's failures jump to it.
    pub fn add_or_program(&mut self, next: &Program) {
        if self.output_everything < 0 || self.output_everything == -J_FAILURE {
            let mut failure = -next.output_everything;
            if failure > 0 {
                failure = self.insns.len() as i32;
            }
            self.set_failure(failure);
            let off = self.insns.len() as i32;
            self.insns
                .extend(next.insns.iter().map(|i| i.offset_by(off)));
        }
    }

    fn remove_unused_states(&mut self) {
        if self.insns.is_empty() {
            return;
        }
        let n = self.insns.len();
        let mut dest = vec![-1i32; n];
        for i in (0..n).rev() {
            for k in 0..2 {
                let j = self.insns[i].j[k];
                if j > 0 {
                    self.insns[i].j[k] = dest[j as usize];
                }
            }
            let insn = self.insns[i];
            dest[i] = if insn.yes() != insn.no() && insn.mask != 0 {
                i as i32
            } else if insn.yes() <= 0 {
                insn.yes()
            } else {
                dest[insn.yes() as usize]
            };
        }
        self.output_everything = -1;
        if dest[0] > 0 {
            self.insns[0] = self.insns[dest[0] as usize];
        } else if dest[0] < 0 {
            self.output_everything = -dest[0];
        } else if self.insns[0].yes() == 0 && (self.insns[0].no() == 0 || self.insns[0].mask == 0) {
            self.output_everything = 0;
        }

        let mut dest = vec![-1i32; n];
        if self.output_everything < 0 {
            dest[0] = 0;
        }
        let mut new_index = 0;
        for i in 0..n {
            if dest[i] >= 0 {
                dest[i] = new_index;
                new_index += 1;
                let insn = self.insns[i];
                for k in 0..2 {
                    if insn.j[k] > 0 {
                        dest[insn.j[k] as usize] = 0;
                    }
                }
            }
        }
        for i in 0..n {
            if dest[i] >= 0 {
                let j = dest[i] as usize;
                if j != i {
                    self.insns[j] = self.insns[i];
                }
                for k in 0..2 {
                    let t = self.insns[j].j[k];
                    if t > 0 {
                        self.insns[j].j[k] = dest[t as usize];
                    }
                }
            }
        }
        self.insns.truncate(new_index as usize);
    }

    fn combine_compatible_states(&mut self) {
        let mut i = self.insns.len() as isize - 1;
        while i >= 0 {
            let iu = i as usize;
            let insn = self.insns[iu];
            if insn.no() > 0 {
                let no_in = self.insns[insn.no() as usize];
                if no_in.compatible(&insn, false) && insn.flippable() {
                    self.insns[iu].flip();
                } else if insn.generalizable_or_pair(&no_in) {
                    let bit = insn.value ^ no_in.value;
                    let x = &mut self.insns[iu];
                    x.value &= !bit;
                    x.mask &= !bit;
                    x.set_no(no_in.no());
                    continue; // ++i then --i: look at this state again
                }
            }
            let insn = self.insns[iu];
            if insn.yes() <= 0 {
                i -= 1;
                continue;
            }
            let y = insn.yes() as usize;
            if insn.no() == self.insns[y].yes() && self.insns[y].flippable() {
                self.insns[y].flip();
            }
            let yes_in = self.insns[y];
            if insn.no() == yes_in.no() && yes_in.compatible(&insn, true) {
                let x = &mut self.insns[iu];
                x.set_yes(yes_in.yes());
                if x.mask == 0 {
                    x.offset = yes_in.offset;
                }
                x.value = (x.value & x.mask) | (yes_in.value & yes_in.mask);
                x.mask |= yes_in.mask;
                continue;
            }
            i -= 1;
        }
    }

    fn count_inbranches(&self) -> Vec<i32> {
        let mut inb = vec![-1i32; self.insns.len()];
        for (i, e) in self.insns.iter().enumerate() {
            for k in 0..2 {
                if e.j[k] > 0 {
                    let t = e.j[k] as usize;
                    inb[t] = if inb[t] >= 0 { 0 } else { i as i32 };
                }
            }
        }
        inb
    }

    fn map_offset(offset: i32, map: &[(i32, i32)]) -> i32 {
        map.iter()
            .find(|(f, _)| *f == offset)
            .map(|(_, t)| *t)
            .unwrap_or(offset)
    }

    /// Sort chains of and-ed tests by (mapped) offset, mask and value.
    pub fn bubble_sort_and_exprs(&mut self, map: &[(i32, i32)], last_offset: i32) {
        let inbranch = self.count_inbranches();
        let mut i: isize = 0;
        while (i as usize) < self.insns.len() {
            let iu = i as usize;
            for k in 0..2 {
                let e1 = self.insns[iu];
                let j = e1.j[k];
                if j <= 0 || e1.offset as i32 >= last_offset || inbranch[j as usize] <= 0 {
                    continue;
                }
                let e2 = self.insns[j as usize];
                if e1.j[1 - k] != e2.j[1 - k] {
                    continue;
                }
                let o1 = Self::map_offset(e1.offset as i32, map);
                let o2 = Self::map_offset(e2.offset as i32, map);
                if o1 > o2
                    || (o1 == o2
                        && (e1.mask > e2.mask || (e1.mask == e2.mask && e1.value > e2.value)))
                {
                    let mut new2 = e1;
                    new2.j[k] = e2.j[k];
                    let mut new1 = e2;
                    new1.j[k] = j;
                    self.insns[j as usize] = new2;
                    self.insns[iu] = new1;
                    i = if inbranch[iu] > 0 {
                        inbranch[iu] as isize - 1
                    } else {
                        i - 1
                    };
                    break;
                }
            }
            i += 1;
        }
    }

    /// Click's Program::optimize.
    pub fn optimize(&mut self, map: &[(i32, i32)], last_offset: i32) {
        self.bubble_sort_and_exprs(map, last_offset);
        {
            let mut dom = DominatorOptimizer::new(self);
            for i in 0..dom.p.insns.len() {
                dom.run(i as i32);
            }
        }
        self.combine_compatible_states();
        self.remove_unused_states();
        if self.insns.is_empty() && self.output_everything < 0 {
            self.output_everything = -J_NEVER;
        } else if self.output_everything >= 0 {
            self.insns.clear();
        }
        self.safe_length = self
            .insns
            .iter()
            .map(|i| i.required_length())
            .max()
            .unwrap_or(0)
            .wrapping_sub(self.align_offset);
    }

    /// Outputs no packet can reach.
    pub fn unused_outputs(&self, noutputs: usize) -> Vec<usize> {
        let mut used = vec![false; noutputs];
        if self.output_everything >= 0 && (self.output_everything as usize) < noutputs {
            used[self.output_everything as usize] = true;
        } else {
            for i in &self.insns {
                for k in 0..2 {
                    if i.j[k] <= 0 && ((-(i.j[k] as i64)) as usize) < noutputs {
                        used[(-(i.j[k] as i64)) as usize] = true;
                    }
                }
            }
        }
        (0..noutputs).filter(|i| !used[*i]).collect()
    }

    pub fn unparse(&self) -> String {
        let mut s = String::new();
        for (i, insn) in self.insns.iter().enumerate() {
            let mut x = *insn;
            x.offset = x.offset.wrapping_sub(self.align_offset as u16);
            let _ = write!(s, "{}{} ", if i < 10 { " " } else { "" }, i);
            x.unparse_into(&mut s);
            s.push('\n');
        }
        if self.insns.is_empty() {
            let _ = writeln!(s, "all->[{}]", self.output_everything);
        }
        let _ = writeln!(s, "safe length {}", self.safe_length);
        let _ = writeln!(s, "alignment offset {}", self.align_offset);
        s
    }

    /// Classify raw packet data (Classifier): the output, or `None` for "drop".
    pub fn match_data(&self, d: &[u8]) -> i32 {
        if self.output_everything >= 0 {
            return self.output_everything;
        }
        let align = self.align_offset as usize;
        let len = d.len() + align;
        let word = |off: usize| -> u32 {
            let mut w = [0u8; 4];
            for (k, b) in w.iter_mut().enumerate() {
                if let Some(i) = (off + k).checked_sub(align) {
                    *b = d.get(i).copied().unwrap_or(0);
                }
            }
            u32::from_be_bytes(w)
        };
        let mut pos = 0usize;
        loop {
            let insn = &self.insns[pos];
            let off = insn.offset as usize;
            let next = if off + 4 > len && short_applies(insn.mask, off, len) {
                insn.j[insn.short_output as usize]
            } else {
                insn.j[((word(off) & insn.mask) == insn.value) as usize]
            };
            if next <= 0 {
                return -next;
            }
            pos = next as usize;
        }
    }
}

/// Whether a word starting at `off` of a `len`-byte packet is too short for `mask` (Click
/// reads a partial word when the missing bytes are masked out).
#[inline]
fn short_applies(mask: u32, off: usize, len: usize) -> bool {
    if off >= len {
        return true;
    }
    let avail = len - off;
    byte(mask, 3) != 0 || (byte(mask, 2) != 0 && avail <= 2) || (byte(mask, 1) != 0 && avail == 1)
}

// ---------------------------------------------------------------- dominators

/// Click's DominatorOptimizer: removes tests whose outcome the path to them decides.
struct DominatorOptimizer<'a> {
    p: &'a mut Program,
    known_length: Vec<u32>,
    insn_id: Vec<i32>,
    dom: Vec<i32>,
    dom_start: Vec<usize>,
    domlist_start: Vec<usize>,
    pred_first: Vec<i32>,
    pred_next: Vec<i32>,
    pred_prev: Vec<i32>,
}

const MAX_DOMLIST: usize = 4;

#[inline]
fn brno(state: i32, br: bool) -> i32 {
    (state << 1) + br as i32
}
#[inline]
fn stateno(brno: i32) -> i32 {
    brno >> 1
}
#[inline]
fn br_yes(brno: i32) -> bool {
    brno & 1 != 0
}

impl<'a> DominatorOptimizer<'a> {
    fn new(p: &'a mut Program) -> Self {
        let n = p.insns.len();
        let mut known_length = vec![0x7FFF_FFFFu32; n];
        if n > 0 {
            known_length[0] = 0;
        }
        for i in 0..n {
            let insn = p.insns[i];
            let tested = insn.required_length().max(known_length[i]);
            let so = insn.short_output as usize;
            let a = insn.j[1 - so];
            if a > 0 && tested < known_length[a as usize] {
                known_length[a as usize] = tested;
            }
            let b = insn.j[so];
            if b > 0 && known_length[i] < known_length[b as usize] {
                known_length[b as usize] = known_length[i];
            }
        }
        // Identical tests share the lowest state number as their id.
        let mut first_of: std::collections::HashMap<(u16, bool, u32, u32), i32> =
            std::collections::HashMap::new();
        let insn_id: Vec<i32> = (0..n)
            .map(|i| {
                let x = &p.insns[i];
                *first_of
                    .entry((x.offset, x.short_output, x.mask, x.value))
                    .or_insert(i as i32)
            })
            .collect();
        let mut d = DominatorOptimizer {
            p,
            known_length,
            insn_id,
            dom: Vec::new(),
            dom_start: vec![0],
            domlist_start: vec![0],
            pred_first: vec![-1; n],
            pred_next: vec![-1; n * 2],
            pred_prev: vec![-1; n * 2],
        };
        for i in 0..n {
            let insn = d.p.insns[i];
            for k in 0..2 {
                if insn.j[k] > 0 {
                    let nexts = insn.j[k] as usize;
                    let br = brno(i as i32, k == 1);
                    d.pred_next[br as usize] = d.pred_first[nexts];
                    if d.pred_first[nexts] >= 0 {
                        d.pred_prev[d.pred_first[nexts] as usize] = br;
                    }
                    d.pred_first[nexts] = br;
                }
            }
        }
        d
    }

    fn insn(&self, s: i32) -> &Insn {
        &self.p.insns[s as usize]
    }

    fn br_implies(&self, br: i32, state: i32) -> bool {
        let from = stateno(br);
        let kl = self.known_length[from as usize];
        if br_yes(br) {
            self.insn(from).implies(self.insn(state), kl)
        } else {
            self.insn(from).not_implies(self.insn(state), kl)
        }
    }

    fn br_implies_not(&self, br: i32, state: i32) -> bool {
        let from = stateno(br);
        let kl = self.known_length[from as usize];
        if br_yes(br) {
            self.insn(from).implies_not(self.insn(state), kl)
        } else {
            self.insn(from).not_implies_not(self.insn(state), kl)
        }
    }

    fn set_branch(&mut self, from: i32, branch: bool, to: i32) {
        let br = brno(from, branch);
        let cur = self.p.insns[from as usize].j[branch as usize];
        let bu = br as usize;
        if cur > 0 {
            if self.pred_prev[bu] >= 0 {
                self.pred_next[self.pred_prev[bu] as usize] = self.pred_next[bu];
            } else {
                self.pred_first[cur as usize] = self.pred_next[bu];
            }
            if self.pred_next[bu] >= 0 {
                self.pred_prev[self.pred_next[bu] as usize] = self.pred_prev[bu];
            }
        }
        if to > 0 {
            let mut prev = -1i32;
            let mut next = self.pred_first[to as usize];
            while next >= 0 && next < br {
                prev = next;
                next = self.pred_next[next as usize];
            }
            self.pred_prev[bu] = prev;
            self.pred_next[bu] = next;
            if prev >= 0 {
                self.pred_next[prev as usize] = br;
            } else {
                self.pred_first[to as usize] = br;
            }
            if next >= 0 {
                self.pred_prev[next as usize] = br;
            }
        }
        self.p.insns[from as usize].j[branch as usize] = to;
    }

    fn find_predecessors(&self, state: i32) -> Vec<i32> {
        let mut v = Vec::new();
        let mut br = self.pred_first[state as usize];
        while br >= 0 {
            v.push(br);
            br = self.pred_next[br as usize];
        }
        v
    }

    /// Intersection of the sorted lists `inp[start[i]..end[i]]`.
    fn intersect_lists(inp: &[i32], start: &[usize], end: &[usize]) -> Vec<i32> {
        let mut out = Vec::new();
        let n = start.len();
        if n == 0 {
            return out;
        }
        if n == 1 {
            out.extend_from_slice(&inp[start[0]..end[0]]);
            return out;
        }
        let mut pos = start.to_vec();
        let mut x: i32 = -1;
        loop {
            let mut p = 0usize;
            let mut k = 0usize;
            while k < n {
                while pos[p] < end[p] && inp[pos[p]] < x {
                    pos[p] += 1;
                }
                if pos[p] >= end[p] {
                    return out;
                }
                if inp[pos[p]] > x {
                    x = inp[pos[p]];
                    k = 0;
                }
                p += 1;
                if p == n {
                    p = 0;
                }
                k += 1;
            }
            out.push(x);
            x += 1;
        }
    }

    fn calculate_dom(&mut self, state: i32) {
        let predecessors = self.find_predecessors(state);
        let mut pdom: Vec<usize> = Vec::new();
        let mut pdom_end: Vec<usize> = Vec::new();
        for (i, &pred_br) in predecessors.iter().enumerate() {
            let s = stateno(pred_br);
            if i > 0 && stateno(predecessors[i - 1]) == s {
                if let Some(last) = pdom_end.last_mut() {
                    *last -= 1;
                }
                continue;
            }
            let pred_brid = brno(self.insn_id[s as usize], br_yes(pred_br));
            for j in self.domlist_start[s as usize]..self.domlist_start[s as usize + 1] {
                let pos1 = self.dom_start[j];
                let pos2 = self.dom_start[j + 1];
                if self.dom[pos1..pos2 - 1]
                    .iter()
                    .any(|d| (d ^ pred_brid) == 1)
                {
                    continue; // impossible path
                }
                pdom.push(pos1);
                pdom_end.push(pos2);
                self.dom[pos2 - 1] = pred_brid;
            }
        }

        let dom_start_oldsize = self.dom_start.len();
        if pdom.len() > MAX_DOMLIST {
            let inter = Self::intersect_lists(&self.dom, &pdom, &pdom_end);
            self.dom.extend(inter);
            self.dom.push(brno(self.insn_id[state as usize], false));
            self.dom_start.push(self.dom.len());
        } else if !pdom.is_empty() {
            let mut mybr = brno(self.insn_id[state as usize], false);
            let mut num_mybr: i32 = 0;
            for p in 0..pdom.len() {
                let endpos = pdom_end[p] - 1;
                let last_pdom_br = self.dom[endpos];
                let mut pred_mybr = -1;
                for i in pdom[p]..=endpos {
                    let thisbr = self.dom[i];
                    if i < endpos && (thisbr ^ last_pdom_br) <= 1 {
                        continue;
                    }
                    if (thisbr ^ mybr) <= 1 {
                        pred_mybr = thisbr;
                    }
                    self.dom.push(thisbr);
                }
                if num_mybr >= 0 && pred_mybr >= 0 && (num_mybr == 0 || mybr == pred_mybr) {
                    mybr = pred_mybr;
                    num_mybr += 1;
                } else {
                    num_mybr = -1;
                }
                self.dom.push(mybr);
                self.dom_start.push(self.dom.len());
            }
            if num_mybr > 0 {
                let new_state = self.insn(state).j[(mybr & 1) as usize];
                for &pb in &predecessors {
                    self.set_branch(stateno(pb), br_yes(pb), new_state);
                }
                pdom.clear();
            }
        }

        if pdom.is_empty() {
            let keep = self.dom_start[dom_start_oldsize - 1];
            self.dom.truncate(keep);
            self.dom_start.truncate(dom_start_oldsize);
            if state > 0 {
                for k in [false, true] {
                    self.set_branch(state, k, J_NEVER);
                }
            } else {
                self.dom.push(brno(state, false));
                self.dom_start.push(self.dom.len());
            }
        }
        self.domlist_start.push(self.dom_start.len() - 1);
    }

    fn dom_shift_branch(
        &mut self,
        br: i32,
        mut to_state: i32,
        dom: usize,
        dom_end: usize,
        mut collector: Option<&mut Vec<i32>>,
    ) -> i32 {
        let br = brno(self.insn_id[stateno(br) as usize], br_yes(br));
        self.dom[dom_end - 1] = br;
        if let Some(c) = collector.as_deref_mut() {
            c.push(to_state);
        }
        while to_state > 0 {
            let mut found = None;
            for j in (dom..dom_end).rev() {
                let d = self.dom[j];
                if self.br_implies(d, to_state) {
                    found = Some(self.insn(to_state).yes());
                    break;
                } else if self.br_implies_not(d, to_state) {
                    found = Some(self.insn(to_state).no());
                    break;
                }
            }
            match found {
                Some(t) => to_state = t,
                None => break,
            }
            if let Some(c) = collector.as_deref_mut() {
                c.push(to_state);
            }
        }
        to_state
    }

    fn last_common_state_in_lists(inp: &[i32], start: &[usize], end: &[usize]) -> i32 {
        if inp[end[0] - 1] <= 0 {
            let s = inp[end[0] - 1];
            if (1..start.len()).all(|j| inp[end[j] - 1] == s) {
                return s;
            }
        }
        let inter = Self::intersect_lists(inp, start, end);
        inter.last().copied().unwrap_or(J_NEVER)
    }

    fn shift_branch(&mut self, state: i32, branch: bool) {
        let nexts = self.insn(state).j[branch as usize];
        let br = brno(state, branch);
        let s = state as usize;
        let new_nexts = if self.domlist_start[s] == self.domlist_start[s + 1] || nexts <= 0 {
            nexts
        } else if self.domlist_start[s] + 1 == self.domlist_start[s + 1] {
            let d = self.domlist_start[s];
            let (a, b) = (self.dom_start[d], self.dom_start[d + 1]);
            self.dom_shift_branch(br, nexts, a, b, None)
        } else {
            let mut vals = Vec::new();
            let mut start = Vec::new();
            let mut end = Vec::new();
            for d in self.domlist_start[s]..self.domlist_start[s + 1] {
                start.push(vals.len());
                let (a, b) = (self.dom_start[d], self.dom_start[d + 1]);
                self.dom_shift_branch(br, nexts, a, b, Some(&mut vals));
                end.push(vals.len());
            }
            Self::last_common_state_in_lists(&vals, &start, &end)
        };
        if new_nexts != nexts {
            self.set_branch(state, branch, new_nexts);
        }
    }

    fn run(&mut self, state: i32) {
        self.calculate_dom(state);
        self.shift_branch(state, true);
        self.shift_branch(state, false);
    }
}

// ---------------------------------------------------------------- compressed form

/// Click's CompressedProgram: runs of tests on one word with one yes-target become one
/// test against several values (sorted for binary search when there are many).
#[derive(Clone, Debug, Default)]
pub struct CompressedProgram {
    zprog: Vec<u32>,
    output_everything: i32,
    safe_length: u32,
    align_offset: u32,
}

/// Values at least this many are binary-searched.
pub const MIN_BINARY_SEARCH: u32 = 7;

impl CompressedProgram {
    pub fn compile(prog: &Program) -> CompressedProgram {
        let mut z: Vec<u32> = Vec::new();
        let n = prog.ninsn();
        let mut wanted = vec![0i32; n + 1];
        wanted[0] = 1;
        for (i, insn) in prog.insns.iter().enumerate() {
            if wanted[i] != 0 {
                for k in 0..2 {
                    if insn.j[k] > 0 {
                        wanted[insn.j[k] as usize] += 1;
                    }
                }
            }
        }
        let mut offsets = Vec::with_capacity(n + 1);
        for i in 0..n {
            let off = z.len();
            offsets.push(off);
            if wanted[i] == 0 {
                continue;
            }
            let insn = prog.insns[i];
            z.push(insn.offset as u32 + if insn.short_output { 0x10000 } else { 0 } + 0x20000);
            z.push(insn.no() as u32);
            z.push(insn.yes() as u32);
            z.push(insn.mask);
            z.push(insn.value);
            loop {
                let no = z[off + 1] as i32;
                if no <= 0 || wanted[no as usize] != 1 {
                    break;
                }
                let ni = prog.insns[no as usize];
                if ni.yes() != insn.yes() || ni.offset != insn.offset || ni.mask != insn.mask {
                    break;
                }
                z[off] += 0x20000;
                z[off + 1] = ni.no() as u32;
                z.push(ni.value);
                wanted[no as usize] -= 1;
            }
            let nval = (z[off] >> 17) as usize;
            if nval as u32 >= MIN_BINARY_SEARCH {
                // Click sorts the words as the machine reads them (little-endian here).
                z[off + 4..off + 4 + nval].sort_unstable_by_key(|v| v.swap_bytes());
            }
        }
        offsets.push(z.len());
        for i in 0..n {
            if offsets[i] < z.len() && offsets[i] < offsets[i + 1] {
                let off = offsets[i];
                for k in 1..3 {
                    let t = z[off + k] as i32;
                    if t > 0 {
                        z[off + k] = (offsets[t as usize] - off) as u32;
                    }
                }
            }
        }
        CompressedProgram {
            zprog: z,
            output_everything: prog.output_everything,
            safe_length: prog.safe_length,
            align_offset: prog.align_offset,
        }
    }

    pub fn output_everything(&self) -> i32 {
        self.output_everything
    }
    pub fn safe_length(&self) -> u32 {
        self.safe_length
    }
    pub fn words(&self) -> &[u32] {
        &self.zprog
    }

    /// The (offset, mask) of every test, for callers that cache decisions.
    pub fn tests(&self) -> Vec<(u16, u32)> {
        let mut v = Vec::new();
        let mut i = 0;
        while i < self.zprog.len() {
            v.push((self.zprog[i] as u16, self.zprog[i + 3]));
            i += 4 + (self.zprog[i] >> 17) as usize;
        }
        v
    }

    pub fn unused_outputs(&self, noutputs: usize) -> Vec<usize> {
        let mut used = vec![false; noutputs];
        if self.output_everything >= 0 && (self.output_everything as usize) < noutputs {
            used[self.output_everything as usize] = true;
        } else {
            let mut i = 0;
            while i < self.zprog.len() {
                for k in 1..3 {
                    let o = self.zprog[i + k] as i32;
                    if o <= 0 && ((-(o as i64)) as usize) < noutputs {
                        used[(-(o as i64)) as usize] = true;
                    }
                }
                i += 4 + (self.zprog[i] >> 17) as usize;
            }
        }
        (0..noutputs).filter(|i| !used[*i]).collect()
    }

    pub fn unparse(&self) -> String {
        let z = &self.zprog;
        let mut stepno = vec![0i32; z.len()];
        let mut i = 0;
        while i < z.len() {
            let nparts = (z[i] >> 17) as usize;
            if i + 4 + nparts < z.len() {
                stepno[i + 4 + nparts] = stepno[i] + nparts as i32;
            }
            i += 4 + nparts;
        }
        let mut s = String::new();
        let mut i = 0;
        while i < z.len() {
            let nparts = (z[i] >> 17) as usize;
            for j in 0..nparts {
                let mystep = stepno[i] + j as i32;
                let mut no = z[i + 1] as i32;
                if j + 1 < nparts {
                    no = mystep + 1;
                } else if no > 0 {
                    no = stepno[i + no as usize];
                }
                let mut yes = z[i + 2] as i32;
                if yes > 0 {
                    yes = stepno[i + yes as usize];
                }
                let mut insn = Insn::new(
                    (z[i] as u16).wrapping_sub(self.align_offset as u16) as i32,
                    z[i + 4 + j],
                    z[i + 3],
                );
                insn.j = [no, yes];
                insn.short_output = z[i] & 0x10000 != 0;
                let _ = write!(s, "{}{} ", if mystep < 10 { " " } else { "" }, mystep);
                insn.unparse_into(&mut s);
                s.push('\n');
            }
            i += 4 + nparts;
        }
        if z.is_empty() {
            let _ = writeln!(s, "all->[{}]", self.output_everything);
        }
        let _ = writeln!(s, "safe length {}", self.safe_length);
        let _ = writeln!(s, "alignment offset {}", self.align_offset);
        s
    }

    /// Run the program: `word(offset)` gives the 4 bytes at a program offset (zero past
    /// the end), `length` the packet length in program offsets (Click's rule for short
    /// words). Returns the output (`-J_NEVER` = drop).
    #[inline]
    pub fn run(&self, length: usize, word: impl Fn(usize) -> u32) -> i32 {
        if self.output_everything >= 0 {
            return self.output_everything;
        }
        let z = &self.zprog[..];
        let check = length < self.safe_length as usize;
        let mut pr = 0usize;
        loop {
            let off = (z[pr] & 0xffff) as usize;
            let next = if check && off + 4 > length && short_applies(z[pr + 3], off, length) {
                z[pr + 1 + ((z[pr] & 0x10000) != 0) as usize] as i32
            } else {
                let data = word(off) & z[pr + 3];
                let nval = (z[pr] >> 17) as usize;
                let vals = &z[pr + 4..pr + 4 + nval];
                let hit = if (nval as u32) < MIN_BINARY_SEARCH {
                    vals.contains(&data)
                } else {
                    vals.binary_search_by_key(&data.swap_bytes(), |v| v.swap_bytes())
                        .is_ok()
                };
                z[pr + if hit { 2 } else { 1 }] as i32
            };
            if next <= 0 {
                return next.wrapping_neg();
            }
            pr += next as usize;
        }
    }
}
