//! Classifier patterns (`OFFSET/HEX[%MASK]`, `!`, `-`) compiled as Click's
//! elements/standard/classifier.cc does.

use super::wordwise::{Combiner, Program, J_FAILURE, J_NEVER, OFFSET_MAX};

fn nibble(c: u8) -> (u32, u32) {
    match c {
        b'?' => (0, 0),
        b'0'..=b'9' => ((c - b'0') as u32, 0xf),
        b'A'..=b'F' => ((c - b'A' + 10) as u32, 0xf),
        b'a'..=b'f' => ((c - b'a' + 10) as u32, 0xf),
        _ => (0, 0xf),
    }
}

fn is_hex_or_q(c: u8) -> bool {
    c.is_ascii_hexdigit() || c == b'?'
}

/// Compile one Classifier configuration (one pattern per output). Errors are worded as
/// Click words them.
pub fn compile(conf: &[String], align_offset: u32) -> Result<Program, Vec<String>> {
    let mut errors = Vec::new();
    let mut prog = Program::new(align_offset);
    let mut tree = prog.init_subtree();
    prog.start_subtree(&mut tree);
    for (slot, pat) in conf.iter().enumerate() {
        let s = pat.as_bytes();
        let len = s.len();
        let mut i = 0;
        let mut empty = true;
        prog.start_subtree(&mut tree);
        if s == b"-" {
            i = 1;
        }
        while i < len {
            while i < len && s[i].is_ascii_whitespace() {
                i += 1;
            }
            if i >= len {
                break;
            }
            let mut negated = false;
            if s[i] == b'!' {
                negated = true;
                i += 1;
                while i < len && s[i].is_ascii_whitespace() {
                    i += 1;
                }
            }
            if i >= len || !s[i].is_ascii_digit() {
                errors.push(format!("pattern {slot}: expected a digit"));
                break;
            }
            let mut offset: usize = 0;
            while i < len && s[i].is_ascii_digit() {
                offset = offset
                    .saturating_mul(10)
                    .saturating_add((s[i] - b'0') as usize);
                i += 1;
            }
            if i >= len || s[i] != b'/' {
                errors.push(format!("pattern {slot}: expected '/'"));
                break;
            }
            i += 1;
            let mut value_pos = i;
            while i < len && is_hex_or_q(s[i]) {
                i += 1;
            }
            let mut value_end = i;
            let mut mask_pos: Option<usize> = None;
            let mut mask_end = 0usize;
            if i < len && s[i] == b'%' {
                i += 1;
                mask_pos = Some(i);
                while i < len && is_hex_or_q(s[i]) {
                    i += 1;
                }
                mask_end = i;
            }
            if value_end - value_pos < 2 {
                errors.push(format!("pattern {slot}: value has less than 2 hex digits"));
                value_end = value_pos;
                if let Some(m) = mask_pos {
                    mask_end = m;
                }
            }
            if (value_end - value_pos) % 2 != 0 {
                errors.push(format!(
                    "pattern {slot}: value has odd number of hex digits"
                ));
                value_end -= 1;
                mask_end = mask_end.saturating_sub(1);
            }
            if let Some(m) = mask_pos {
                if mask_end - m != value_end - value_pos {
                    let too_many = mask_end - m > value_end - value_pos;
                    errors.push(format!(
                        "pattern {slot}: mask has too {} hex digits",
                        if too_many { "many" } else { "few" }
                    ));
                    if too_many {
                        mask_end = m + value_end - value_pos;
                    } else {
                        value_end = value_pos + mask_end - m;
                    }
                }
            }
            let _ = mask_end;
            if offset > 0xFFFF {
                errors.push(format!("pattern {slot}: offset too large"));
                break;
            }
            prog.start_subtree(&mut tree);
            let mut first = true;
            let mut offset = offset + align_offset as usize;
            let mut mpos = mask_pos;
            while value_pos < value_end {
                let (v1, m1) = nibble(s[value_pos]);
                let (v2, m2) = nibble(s[value_pos + 1]);
                let v = (v1 << 4) | v2;
                let mut m = (m1 << 4) | m2;
                value_pos += 2;
                if let Some(mp) = mpos {
                    let (mv1, mm1) = nibble(s[mp]);
                    let (mv2, mm2) = nibble(s[mp + 1]);
                    m &= ((mv1 << 4) | mv2) & ((mm1 << 4) | mm2);
                    mpos = Some(mp + 2);
                }
                if first || offset.is_multiple_of(4) {
                    prog.add_insn(&mut tree, ((offset / 4) * 4) as i32, 0, 0);
                    first = false;
                    empty = false;
                }
                let shift = 24 - 8 * (offset % 4) as u32;
                if let Some(insn) = prog.back_mut() {
                    insn.mask = (insn.mask & !(0xff << shift)) | (m << shift);
                    insn.value = (insn.value & !(0xff << shift)) | ((v & m) << shift);
                }
                offset += 1;
            }
            prog.finish_subtree(&mut tree, Combiner::And);
            if negated {
                prog.negate_subtree(&tree, false);
            }
        }
        if empty {
            prog.add_insn(&mut tree, 0, 0, 0);
        }
        prog.finish_subtree_to(&mut tree, Combiner::And, -(slot as i32), J_FAILURE);
    }
    prog.finish_subtree_to(&mut tree, Combiner::Or, J_NEVER, J_NEVER);
    if !errors.is_empty() {
        return Err(errors);
    }
    prog.optimize(&[], OFFSET_MAX);
    Ok(prog)
}
