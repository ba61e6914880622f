//! Script and DriverManager: Click's small control language (variables, handler calls, waits,
//! labels/gotos, packet scripts, passive `run` handlers, arithmetic handlers).
//!
//! A DriverManager (or `TYPE DRIVER` script) becomes the router's driver: stop requests from
//! other elements wake its task, which steps the script once per request; the router stops
//! only when such a step ends the script (or reaches `stop`).

use crate::args::{
    parse_bool, parse_i64, parse_time, split_args, split_keyword, split_words, unquote,
};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::element_class;
use crate::elements::shared::first_word;
use crate::packet::{PacketBatch, Timestamp};
use std::io::Write;

const MAX_JUMPS: usize = 1000;
const TIMER: u32 = 0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    Active,
    Driver,
    Passive,
    Packet,
    Proxy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Initial,
    WaitStep,
    WaitTime,
    Print { quote: bool, newline: bool },
    Save { append: bool },
    Read { quote: bool },
    Write { quote: bool },
    Set { quote: bool },
    Init,
    Label,
    Goto,
    Return { quote: bool },
    End,
    Exit,
    Stop,
    Error { quote: bool },
}

#[derive(Clone, Debug)]
struct Insn {
    op: Op,
    /// Goto target (negative = end/exit/stop/error), pause count, or variable index.
    arg: i64,
    /// Pause progress / armed flag.
    arg2: u64,
    /// Text argument.
    text: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Normal,
    Router,
    Timer,
    Jump,
}

/// Outcome of the instruction the script stopped at.
enum Done {
    Normal(Option<String>),
    Stop,
    Error,
}

/// Script / DriverManager element.
pub struct Script {
    driver_class: bool,
    /// Steps run by the driver itself (a DriverManager's start and stop requests) report
    /// errors without Click's "While executing" context.
    bare_errors: bool,
    ty: Type,
    insns: Vec<Insn>,
    vars: Vec<(String, String)>,
    exports: Vec<String>,
    pos: usize,
    step_count: u64,
    write_status: i64,
    run_args: String,
    run_name: String,
    run_write: bool,
    stdout: Option<Box<dyn Write>>,
    files: Vec<(String, Box<dyn Write>)>,
    pending_steps: Option<u64>,
    rng: u64,
    /// TYPE SIGNAL: the signals that run the script.
    signals: Vec<i32>,
}

impl Script {
    /// A Script (`driver` = DriverManager, whose default TYPE is DRIVER).
    pub fn new(driver: bool) -> Self {
        Script {
            driver_class: driver,
            bare_errors: false,
            ty: Type::Active,
            insns: Vec::new(),
            vars: Vec::new(),
            exports: Vec::new(),
            pos: 0,
            step_count: 0,
            write_status: 0,
            run_args: String::new(),
            run_name: String::new(),
            run_write: false,
            stdout: None,
            files: Vec::new(),
            pending_steps: None,
            rng: 0x2545_f491_4f6c_dd1d,
            signals: Vec::new(),
        }
    }

    fn var_index(&mut self, name: &str, create: bool) -> Option<usize> {
        match self.vars.iter().position(|(n, _)| n == name) {
            Some(i) => Some(i),
            None if create => {
                self.vars.push((name.to_string(), String::new()));
                Some(self.vars.len() - 1)
            }
            None => None,
        }
    }

    fn find_label(&self, label: &str) -> i64 {
        if let Some(i) = self
            .insns
            .iter()
            .position(|i| i.op == Op::Label && i.text == label)
        {
            return i as i64;
        }
        match label {
            "exit" => -1,
            "end" => -2,
            "stop" => -3,
            "error" | "errorq" => -4,
            "begin" | "loop" => 0,
            _ => self.insns.len() as i64,
        }
    }

    fn parse_insn(&mut self, arg: &str) -> Result<Option<Insn>, String> {
        let (name, rest) = first_word(arg);
        if name.is_empty() {
            return Ok(None);
        }
        let syntax = || format!("syntax error at '{name}'");
        let mk = |op: Op, arg: i64, text: &str| Insn {
            op,
            arg,
            arg2: 0,
            text: text.to_string(),
        };
        let insn = match name {
            "wait" if rest.is_empty() => mk(Op::WaitStep, 1, ""),
            "pause" | "wait_step" | "wait_stop" => {
                let n = if rest.is_empty() {
                    1
                } else {
                    crate::args::parse_u64(rest).ok_or_else(syntax)?
                };
                mk(Op::WaitStep, n as i64, "")
            }
            "wait" | "wait_time" | "wait_for" => mk(Op::WaitTime, 0, rest),
            "print" | "printq" | "printn" | "printnq" => mk(
                Op::Print {
                    quote: name.ends_with('q'),
                    newline: !name.starts_with("printn"),
                },
                0,
                rest,
            ),
            "save" | "append" => mk(
                Op::Save {
                    append: name == "append",
                },
                0,
                rest,
            ),
            "read" | "readq" => mk(
                Op::Read {
                    quote: name == "readq",
                },
                0,
                rest,
            ),
            "write" | "writeq" => mk(
                Op::Write {
                    quote: name == "writeq",
                },
                0,
                rest,
            ),
            "goto" => mk(Op::Goto, 0, rest),
            "loop" if rest.is_empty() => mk(Op::Goto, 0, ""),
            "set" | "setq" | "init" | "initq" | "export" | "exportq" | "return" | "returnq" => {
                let (var, text) = if name.starts_with("return") {
                    ("_", rest)
                } else {
                    first_word(rest)
                };
                if var.is_empty() || (name.starts_with("set") && text.is_empty()) {
                    return Err(syntax());
                }
                let idx = self.var_index(var, true).unwrap_or(0) as i64;
                let quote = name.ends_with('q');
                if name.starts_with("export") {
                    self.exports.push(var.to_string());
                }
                let op = match name {
                    "set" | "setq" => Op::Set { quote },
                    "return" | "returnq" => Op::Return { quote },
                    _ => Op::Init,
                };
                let mut i = mk(op, idx, text);
                // Init/export remember whether to unquote in arg2.
                i.arg2 = u64::from(quote);
                i
            }
            "label" => {
                let (w, more) = first_word(rest);
                if w.is_empty() || !more.is_empty() {
                    return Err(syntax());
                }
                mk(Op::Label, 0, w)
            }
            "end" | "exit" | "stop" if rest.is_empty() => mk(
                match name {
                    "end" => Op::End,
                    "exit" => Op::Exit,
                    _ => Op::Stop,
                },
                0,
                "",
            ),
            "error" | "errorq" => mk(
                Op::Error {
                    quote: name == "errorq",
                },
                0,
                rest,
            ),
            _ => return Err(syntax()),
        };
        Ok(Some(insn))
    }

    // ------------------------------------------------------------ expansion

    fn lookup_var(
        &mut self,
        name: &str,
        kind: u8,
        ctx: &mut Ctx<'_>,
        depth: usize,
    ) -> Option<String> {
        if kind == b'(' {
            let (h, params) = first_word(name);
            return match self.call_read(h, params, ctx, depth) {
                Ok(v) => Some(v),
                Err(e) => {
                    let (_, m) = call_error(&e, h, false);
                    script_error(ctx, self.error_context(), &m);
                    Some(String::new())
                }
            };
        }
        if let Some(i) = self.var_index(name, false) {
            return Some(self.vars[i].1.clone());
        }
        let args = self.run_args.clone();
        match name {
            "?" => Some(self.write_status.to_string()),
            "args" => Some(args),
            "$" => Some(std::process::id().to_string()),
            "0" => Some(self.run_name.clone()),
            "#" => Some(split_words(&args).len().to_string()),
            "write" => Some(crate::elements::bool_str(self.run_write)),
            n if n
                .as_bytes()
                .first()
                .is_some_and(|c| (b'1'..=b'9').contains(c)) =>
            {
                let k: usize = n.parse().ok()?;
                Some(split_words(&args).get(k - 1).cloned().unwrap_or_default())
            }
            _ => None,
        }
    }

    /// Click's `cp_expand`: `$var`, `${var}`, `$(handler args)`, `$?`, `$#`, `$$`; nothing is
    /// expanded inside single quotes; `expand_quote` quotes values outside quotes.
    fn expand(&mut self, s: &str, ctx: &mut Ctx<'_>, expand_quote: bool, depth: usize) -> String {
        if !s.contains('$') || depth > 10 {
            return s.to_string();
        }
        let b = s.as_bytes();
        let mut out = String::new();
        let mut quote = 0u8;
        let mut i = 0;
        let mut last = 0;
        while i < b.len() {
            let c = b[i];
            match c {
                b'\\' if quote == b'"' => i += 1,
                b'\'' | b'"' => {
                    if quote == 0 {
                        quote = c;
                    } else if quote == c {
                        quote = 0;
                    }
                }
                b'$' if i + 1 < b.len() && quote != b'\'' => {
                    let start = i;
                    let (kind, name, end, nested) = match b[i + 1] {
                        b'{' => match s[i + 2..].find('}') {
                            Some(j) => (
                                b'{',
                                &s[i + 2..i + 2 + j],
                                i + 3 + j,
                                s[i + 2..i + 2 + j].contains('$'),
                            ),
                            None => break,
                        },
                        b'(' => {
                            let mut level = 1;
                            let mut nq = 0u8;
                            let mut j = i + 2;
                            let mut nested = false;
                            while j < b.len() && level > 0 {
                                match b[j] {
                                    b'(' if nq == 0 => level += 1,
                                    b')' if nq == 0 => level -= 1,
                                    b'"' | b'\'' => {
                                        if nq == 0 {
                                            nq = b[j];
                                        } else if nq == b[j] {
                                            nq = 0;
                                        }
                                    }
                                    b'\\' if nq != b'\'' => j += 1,
                                    b'$' if nq != b'\'' => nested = true,
                                    _ => {}
                                }
                                j += 1;
                            }
                            if level != 0 || j > b.len() {
                                break;
                            }
                            (b'(', &s[i + 2..j - 1], j, nested)
                        }
                        c2 if c2.is_ascii_alphanumeric() || c2 == b'_' => {
                            let mut j = i + 1;
                            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                                j += 1;
                            }
                            (b'a', &s[i + 1..j], j, false)
                        }
                        b'?' | b'#' | b'$' => (b'a', &s[i + 1..i + 2], i + 2, false),
                        _ => {
                            i += 1;
                            continue;
                        }
                    };
                    let name = if nested {
                        self.expand(name, ctx, false, depth + 1)
                    } else {
                        name.to_string()
                    };
                    match self.lookup_var(&name, kind, ctx, depth) {
                        Some(text) => {
                            out.push_str(&s[last..start]);
                            if quote == b'"' || (expand_quote && quote == 0) {
                                let q = quote_str(&text);
                                let inner = q
                                    .strip_prefix('"')
                                    .and_then(|x| x.strip_suffix('"'))
                                    .unwrap_or(&q);
                                if quote == b'"' {
                                    out.push_str(inner);
                                } else {
                                    out.push('"');
                                    out.push_str(inner);
                                    out.push('"');
                                }
                            } else {
                                out.push_str(&text);
                            }
                            last = end;
                        }
                        None if nested => {
                            out.push_str(&s[last..start]);
                            out.push_str(&s[start..start + 2]);
                            out.push_str(&name);
                            out.push_str(&s[end - 1..end]);
                            last = end;
                        }
                        None => {}
                    }
                    i = end;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        out.push_str(&s[last.min(s.len())..]);
        out
    }

    // ------------------------------------------------------------ handler calls

    /// Resolve `elem.handler` relative to this element's compound scope; returns the full
    /// handler name and whether it names this element.
    fn resolve(&self, h: &str, ctx: &Ctx<'_>) -> (String, bool) {
        let Some(dot) = h.rfind('.') else {
            return (h.to_string(), false);
        };
        let (elem, hname) = (&h[..dot], &h[dot + 1..]);
        let me = ctx.name().to_string();
        let mut prefix = me.as_str();
        let exists = |n: &str| (0..ctx.element_count()).any(|i| ctx.element_name(i) == Some(n));
        while let Some(i) = prefix.rfind('/') {
            prefix = &prefix[..i];
            let cand = format!("{prefix}/{elem}");
            if exists(&cand) {
                return (format!("{cand}.{hname}"), cand == me);
            }
        }
        (h.to_string(), elem == me)
    }

    fn call_read(
        &mut self,
        h: &str,
        params: &str,
        ctx: &mut Ctx<'_>,
        depth: usize,
    ) -> Result<String, String> {
        let (full, is_me) = self.resolve(h, ctx);
        if is_me || !h.contains('.') {
            let local = full.rsplit('.').next().unwrap_or(&full).to_string();
            if let Some(r) = self.local_read(&local, params, ctx, depth) {
                return r;
            }
            if is_me {
                return Err(format!("no handler '{h}'"));
            }
        }
        ctx.call_read(&full, params)
    }

    fn call_write(&mut self, h: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let (full, is_me) = self.resolve(h, ctx);
        if is_me || (!h.contains('.') && self.is_local_write(h)) {
            let local = full.rsplit('.').next().unwrap_or(&full).to_string();
            return match local.as_str() {
                // A script stepping itself while running: Click adds to the current step count.
                "step" => {
                    let n = if value.trim().is_empty() || value.trim() == "router" {
                        1
                    } else {
                        value.trim().parse().map_err(|_| "syntax error")?
                    };
                    *self.pending_steps.get_or_insert(0) += n;
                    Ok(())
                }
                _ => self
                    .local_write(&local, value, ctx)
                    .unwrap_or_else(|| Err(format!("no handler '{h}'"))),
            };
        }
        ctx.call_write(&full, value)
    }

    fn is_local_write(&self, h: &str) -> bool {
        matches!(h, "step" | "goto" | "run" | "set") || self.exports.iter().any(|e| e == h)
    }

    /// Remove and return the first word of variable `var` (default `args`).
    fn shift(&mut self, var: &str) -> String {
        let var = if var.trim().is_empty() {
            "args"
        } else {
            var.trim()
        };
        let text = if var == "args" {
            &mut self.run_args
        } else {
            match self.var_index(var, false) {
                Some(i) => &mut self.vars[i].1,
                None => return String::new(),
            }
        };
        let (w, rest) = first_word(text);
        let (w, rest) = (w.to_string(), rest.to_string());
        *text = rest;
        w
    }

    fn is_local_read(&self, h: &str) -> bool {
        LOCAL_READS.contains(&h)
            || matches!(
                h,
                "get" | "run" | "shift" | "htonl" | "ntohl" | "htons" | "ntohs"
            )
            || self.exports.iter().any(|e| e == h)
    }

    fn local_read(
        &mut self,
        name: &str,
        params: &str,
        ctx: &mut Ctx<'_>,
        depth: usize,
    ) -> ReadResult {
        let words = split_words(params);
        let r = match name {
            "add" | "sub" | "min" | "max" | "mul" | "div" | "idiv" => arithmetic(name, &words),
            "mod" | "rem" => {
                if words.len() != 2 {
                    Err("expected two numbers".into())
                } else if name == "mod" {
                    match (parse_i64(&words[0]), parse_i64(&words[1])) {
                        (Some(_), Some(0)) => Err("division by zero".into()),
                        (Some(a), Some(b)) => Ok(a.wrapping_rem(b).to_string()),
                        _ => Err("expected two integers".into()),
                    }
                } else {
                    match (num(&words[0]), num(&words[1])) {
                        (Some(a), Some(b)) => Ok(fmt_num(
                            a.as_f64() % b.as_f64(),
                            matches!((a, b), (Num::I(_), Num::I(_))),
                        )),
                        _ => Err("expected two numbers".into()),
                    }
                }
            }
            "neg" | "abs" => match words.first().and_then(|w| num(w)) {
                Some(Num::I(v)) => Ok(if name == "neg" {
                    v.wrapping_neg()
                } else {
                    v.wrapping_abs()
                }
                .to_string()),
                Some(Num::F(v)) => Ok(fmt_g(if name == "neg" { -v } else { v.abs() }, 12)),
                None => Err("expected number".into()),
            },
            "eq" | "ne" | "lt" | "gt" | "le" | "ge" => {
                if words.len() != 2 {
                    Err("expected two arguments".into())
                } else {
                    let ord = match (num(&words[0]), num(&words[1])) {
                        (Some(Num::I(a)), Some(Num::I(b))) => a.cmp(&b),
                        (Some(a), Some(b)) => a
                            .as_f64()
                            .partial_cmp(&b.as_f64())
                            .unwrap_or(std::cmp::Ordering::Equal),
                        _ => words[0].as_bytes().cmp(words[1].as_bytes()),
                    };
                    use std::cmp::Ordering::*;
                    let v = match name {
                        "eq" => ord == Equal,
                        "ne" => ord != Equal,
                        "lt" => ord == Less,
                        "gt" => ord == Greater,
                        "le" => ord != Greater,
                        _ => ord != Less,
                    };
                    Ok(crate::elements::bool_str(v))
                }
            }
            "not" => match parse_bool(params) {
                Some(v) => Ok(crate::elements::bool_str(!v)),
                None => Err("expected boolean".into()),
            },
            "and" | "or" | "nand" | "nor" => {
                let vals: Option<Vec<bool>> = words.iter().map(|w| parse_bool(w)).collect();
                match vals {
                    Some(v) => {
                        let r = match name {
                            "and" => v.iter().all(|x| *x),
                            "or" => v.iter().any(|x| *x),
                            "nand" => !v.iter().all(|x| *x),
                            _ => !v.iter().any(|x| *x),
                        };
                        Ok(crate::elements::bool_str(r))
                    }
                    None => Err("expected list of booleans".into()),
                }
            }
            "if" => match (words.first().and_then(|w| parse_bool(w)), words.len()) {
                (Some(c), 3) => Ok(if c {
                    words[1].clone()
                } else {
                    words[2].clone()
                }),
                _ => Err("expected BOOL THEN ELSE".into()),
            },
            "in" => Ok(crate::elements::bool_str(
                words.first().is_some_and(|f| words[1..].contains(f)),
            )),
            "sprintf" => sprintf(&words),
            "random" => {
                self.rng ^= self.rng << 13;
                self.rng ^= self.rng >> 7;
                self.rng ^= self.rng << 17;
                let r = self.rng;
                match (
                    words.first().and_then(|w| parse_i64(w)),
                    words.get(1).and_then(|w| parse_i64(w)),
                ) {
                    (None, _) if words.is_empty() => Ok((r % (i32::MAX as u64 + 1)).to_string()),
                    (Some(n), None) if n > 0 && words.len() == 1 => Ok((r % n as u64).to_string()),
                    (Some(a), Some(b)) if b >= a => {
                        Ok((a + (r % ((b - a) as u64 + 1)) as i64).to_string())
                    }
                    _ => Err("bad arguments".into()),
                }
            }
            "length" => Ok(params.len().to_string()),
            // Host (x86, little-endian) <-> network byte order, as Click computes them.
            "htonl" | "ntohl" => match parse_i64(params) {
                Some(v) => Ok((v as u32).swap_bytes().to_string()),
                None => Err("expected integer".into()),
            },
            "htons" | "ntohs" => match parse_i64(params) {
                Some(v) => Ok((v as u16).swap_bytes().to_string()),
                None => Err("expected integer".into()),
            },
            "shift" => Ok(self.shift(params)),
            "unquote" => Ok(unquote(params)),
            "readable" | "writable" => {
                let mut ok = true;
                for w in &words {
                    let (full, _) = self.resolve(w, ctx);
                    // Probe through the handler listing of the element.
                    let (e, h) = match full.rfind('.') {
                        Some(i) => (&full[..i], &full[i + 1..]),
                        None => ("", full.as_str()),
                    };
                    let list = if e.is_empty() {
                        ctx.call_read("handlers", "")
                    } else {
                        ctx.call_read(&format!("{e}.handlers"), "")
                    };
                    let want = if name == "readable" { 'r' } else { 'w' };
                    ok &= list.is_ok_and(|l| {
                        l.lines().any(|line| {
                            line.split('\t').next() == Some(h)
                                && line.split('\t').nth(1).is_some_and(|p| p.contains(want))
                        })
                    });
                }
                Ok(crate::elements::bool_str(ok))
            }
            "now" => Ok(ctx.now().to_string()),
            "kill" => kill(&words).map(|()| String::new()),
            "cat" | "catq" => match ctx.env().read_file(params.trim()) {
                Ok(d) => {
                    let s = String::from_utf8_lossy(&d).into_owned();
                    Ok(if name == "catq" { quote_str(&s) } else { s })
                }
                Err(e) => Err(format!("{}: {e}", params.trim())),
            },
            "get" => match self.var_index(params.trim(), false) {
                Some(i) => Ok(self.vars[i].1.clone()),
                None => Err(format!("no variable '{}'", params.trim())),
            },
            "run" => return Some(self.run(params, "run", false, ctx, depth)),
            n if self.exports.iter().any(|e| e == n) => {
                let i = self.var_index(n, false).unwrap_or(0);
                Ok(self.vars.get(i).map(|v| v.1.clone()).unwrap_or_default())
            }
            n if self.ty == Type::Proxy && !n.contains('.') && depth == 0 => {
                return Some(self.run(params, n, false, ctx, depth))
            }
            _ => return None,
        };
        Some(r)
    }

    fn local_write(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        let r = match name {
            "step" => {
                let v = value.trim();
                let (n, kind) = match v {
                    "router" => (1, Step::Router),
                    "" => (1, Step::Normal),
                    _ => match v.parse::<u64>() {
                        Ok(n) => (n, Step::Normal),
                        Err(_) => return Some(Err("syntax error".into())),
                    },
                };
                let done = self.run_steps(n, kind, ctx);
                done_result(done)
            }
            "goto" => {
                let t = self.find_label(value.trim());
                if t < 0 || t as usize >= self.insns.len() {
                    return Some(Err("jump to nonexistent label".into()));
                }
                for i in &mut self.insns[t as usize..] {
                    if i.op == Op::WaitStep {
                        i.arg2 = 0;
                    }
                }
                self.pos = t as usize;
                let done = self.run_steps(0, Step::Jump, ctx);
                done_result(done)
            }
            "run" => self.run(value, "run", true, ctx, 0).map(|_| ()),
            "set" => {
                let (var, val) = first_word(value);
                if var.is_empty() {
                    Err("expected VAR VALUE".into())
                } else {
                    let i = self.var_index(var, true).unwrap_or(0);
                    self.vars[i].1 = val.to_string();
                    Ok(())
                }
            }
            "shift" => Ok(()),
            n if self.exports.iter().any(|e| e == n) => {
                let i = self.var_index(n, true).unwrap_or(0);
                self.vars[i].1 = value.to_string();
                Ok(())
            }
            n if self.ty == Type::Proxy => self.run(value, n, true, ctx, 0).map(|_| ()),
            _ => return None,
        };
        Some(r)
    }

    /// Run the script from the top (passive `run`, PROXY handlers); returns the `return` value.
    fn run(
        &mut self,
        args: &str,
        name: &str,
        write: bool,
        ctx: &mut Ctx<'_>,
        depth: usize,
    ) -> Result<String, String> {
        if depth > 4 {
            return Err("script recursion too deep".into());
        }
        // The arguments stay set as in Click: a script that waits still sees them when it
        // resumes from its timer.
        self.run_args = args.to_string();
        let saved = (
            std::mem::replace(&mut self.run_name, name.to_string()),
            self.run_write,
        );
        self.run_write = write;
        self.pos = 0;
        let done = self.run_steps(0, Step::Jump, ctx);
        (self.run_name, self.run_write) = saved;
        // A signal script that ends with `end` hears the next signal too (Click).
        if self.ended_with_end() {
            self.listen_for_signals(ctx);
        }
        match done {
            Done::Normal(v) => Ok(v.unwrap_or_default()),
            Done::Stop => Ok(String::new()),
            Done::Error => Err("script error".into()),
        }
    }

    /// Step, then process steps the script gave itself while running.
    fn run_steps(&mut self, n: u64, kind: Step, ctx: &mut Ctx<'_>) -> Done {
        let (mut jumps, mut ended) = self.step(n, kind, 0, ctx);
        let mut guard = 0;
        while let Some(more) = self.pending_steps.take() {
            guard += 1;
            if guard > MAX_JUMPS {
                break;
            }
            (jumps, ended) = self.step(more, Step::Normal, jumps, ctx);
        }
        // A driver step that does not end blocked lets the stop request through.
        if kind == Step::Router && ended {
            ctx.stop_router_now();
        }
        self.complete()
    }

    fn listen_for_signals(&self, ctx: &mut Ctx<'_>) {
        let handler = format!("{}.run", ctx.name());
        for &s in &self.signals {
            ctx.add_signal_handler(s, handler.clone());
        }
    }

    /// Whether the script stopped at an explicit `end`.
    fn ended_with_end(&self) -> bool {
        self.insns
            .get(self.pos)
            .is_some_and(|i| i.op == Op::End || (i.op == Op::Goto && i.arg == -2))
    }

    fn complete(&self) -> Done {
        let Some(insn) = self.insns.get(self.pos) else {
            return Done::Normal(None);
        };
        let mut op = insn.op;
        if op == Op::Goto && insn.arg < 0 {
            op = match insn.arg {
                -1 => Op::Exit,
                -2 => Op::End,
                -3 => Op::Stop,
                _ => Op::Error { quote: false },
            };
        }
        match op {
            Op::Return { .. } => {
                Done::Normal(self.vars.iter().find(|v| v.0 == "_").map(|v| v.1.clone()))
            }
            Op::End if self.ty == Type::Packet => Done::Normal(Some("0".into())),
            Op::Error { .. } => Done::Error,
            Op::Stop => Done::Stop,
            _ => Done::Normal(None),
        }
    }

    fn write_out(&mut self, target: Option<(&str, bool)>, text: &str, ctx: &mut Ctx<'_>) {
        let w: &mut Box<dyn Write> = match target {
            None | Some(("-", _)) => {
                if self.stdout.is_none() {
                    let created = ctx.env().create_file("-");
                    match created {
                        Ok(w) => self.stdout = Some(w),
                        Err(e) => {
                            script_error(ctx, self.error_context(), &format!("stdout: {e}"));
                            return;
                        }
                    }
                }
                match self.stdout.as_mut() {
                    Some(w) => w,
                    None => return,
                }
            }
            Some((file, append)) => {
                let pos = self.files.iter().position(|f| f.0 == file);
                let pos = match pos {
                    Some(p) if append => p,
                    _ => {
                        let old = if append {
                            ctx.env().read_file(file).unwrap_or_default()
                        } else {
                            Vec::new()
                        };
                        if let Some(p) = pos {
                            self.files.remove(p);
                        }
                        let created = ctx.env().create_file(file);
                        match created {
                            Ok(mut w) => {
                                let _ = w.write_all(&old);
                                self.files.push((file.to_string(), w));
                                self.files.len() - 1
                            }
                            Err(e) => {
                                script_error(ctx, self.error_context(), &format!("{file}: {e}"));
                                return;
                            }
                        }
                    }
                };
                &mut self.files[pos].1
            }
        };
        let _ = w.write_all(text.as_bytes());
        let _ = w.flush();
    }

    /// Execute instructions (Click's `Script::step`). Returns the jump count.
    /// Returns the jump count and whether execution ended (stop/end/exit/error) rather than
    /// blocking.
    fn step(
        &mut self,
        nsteps: u64,
        kind: Step,
        mut jumps: usize,
        ctx: &mut Ctx<'_>,
    ) -> (usize, bool) {
        let target = nsteps + self.step_count;
        while self.step_count <= target && self.pos < self.insns.len() && jumps < MAX_JUMPS {
            let ipos = self.pos;
            self.pos += 1;
            let insn = self.insns[ipos].clone();
            match insn.op {
                Op::Stop => {
                    self.step_count += 1;
                    self.pos -= 1;
                    if kind != Step::Router {
                        ctx.stop_router();
                    }
                    return (jumps + 1, true);
                }
                Op::WaitStep => {
                    let want = insn.arg.max(0) as u64;
                    let mut done = insn.arg2;
                    while self.step_count < target && done < want {
                        done += 1;
                        self.step_count += 1;
                    }
                    self.insns[ipos].arg2 = done;
                    if self.step_count == target && done < want {
                        self.pos -= 1;
                        break;
                    }
                }
                Op::WaitTime => {
                    if self.step_count == target {
                        let t = self.expand(&insn.text, ctx, false, 0);
                        match parse_time(&t) {
                            Some(secs) => {
                                let at = ctx.now() + Timestamp::from_secs_f64(secs);
                                ctx.schedule_timer(TIMER, at);
                                self.pos -= 1;
                            }
                            None => {
                                script_error(ctx, self.error_context(), "syntax error at 'wait'")
                            }
                        }
                        break;
                    }
                    self.step_count += 1;
                    ctx.unschedule_timer(TIMER);
                }
                Op::Initial => {
                    if insn.arg2 != 0 {
                        self.step_count += 1;
                        self.insns[ipos].arg2 = 0;
                    }
                }
                Op::Print { .. } | Op::Save { .. } => {
                    let (quote, newline) = match insn.op {
                        Op::Print { quote, newline } => (quote, newline),
                        _ => (false, true),
                    };
                    let mut text = insn.text.clone();
                    let mut target_file: Option<(String, bool)> = None;
                    if let Op::Save { append } = insn.op {
                        // save/append HANDLER|TEXT [FILE]
                        let (word, file) = first_word(&insn.text);
                        target_file = Some((
                            if file.is_empty() {
                                "-".into()
                            } else {
                                file.to_string()
                            },
                            append,
                        ));
                        text = word.to_string();
                    } else if let Some(rest) = text.strip_prefix('>') {
                        let (append, rest) = match rest.strip_prefix('>') {
                            Some(r) => (true, r),
                            None => (false, rest),
                        };
                        let (file, rest) = first_word(rest);
                        target_file = Some((file.to_string(), append));
                        text = rest.to_string();
                    }
                    let first = text.bytes().next();
                    let result = if first
                        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'@' || c == b'_')
                    {
                        let call = self.expand(&text, ctx, false, 0);
                        let (h, params) = first_word(&call);
                        let params = if quote {
                            unquote(params)
                        } else {
                            params.to_string()
                        };
                        match self.call_read(h, &params, ctx, 0) {
                            Ok(v) => Some(v),
                            Err(e) => {
                                let (bare, m) = call_error(&e, h, false);
                                let m = if bare {
                                    m
                                } else {
                                    format!("While calling '{}':\n  {m}", call.trim())
                                };
                                script_error(ctx, self.error_context(), &m);
                                None
                            }
                        }
                    } else {
                        Some(unquote(&self.expand(&text, ctx, true, 0)))
                    };
                    if let Some(mut r) = result {
                        if newline && !r.ends_with('\n') {
                            r.push('\n');
                        }
                        let tf = target_file.as_ref().map(|(f, a)| (f.as_str(), *a));
                        self.write_out(tf, &r, ctx);
                    }
                }
                Op::Read { quote } => {
                    let call = self.expand(&insn.text, ctx, false, 0);
                    let (h, params) = first_word(&call);
                    let params = if quote {
                        unquote(params)
                    } else {
                        params.to_string()
                    };
                    match self.call_read(h, &params, ctx, 0) {
                        Ok(v) => {
                            // Click names the handler with its element, this script included.
                            let full = if !h.contains('.') && self.is_local_read(h) {
                                format!("{}.{h}", ctx.name())
                            } else {
                                self.resolve(h, ctx).0
                            };
                            ctx.chatter(&format!("{full}:\n{v}"));
                        }
                        Err(e) => {
                            let (bare, m) = call_error(&e, h, false);
                            let m = if bare {
                                m
                            } else {
                                format!("While calling '{}':\n  {m}", call.trim())
                            };
                            script_error(ctx, self.error_context(), &m);
                        }
                    }
                }
                Op::Write { quote } => {
                    let call = self.expand(&insn.text, ctx, false, 0);
                    let (h, value) = first_word(&call);
                    let value = if quote {
                        unquote(value)
                    } else {
                        value.to_string()
                    };
                    match self.call_write(h, &value, ctx) {
                        Ok(()) => self.write_status = 0,
                        Err(e) => {
                            let (bare, m) = call_error(&e, h, true);
                            let m = if bare {
                                m
                            } else {
                                self.write_status = -22;
                                format!("While calling '{}':\n  {m}", call.trim())
                            };
                            script_error(ctx, self.error_context(), &m);
                        }
                    }
                }
                Op::Set { quote } | Op::Return { quote } => {
                    let mut v = self.expand(&insn.text, ctx, false, 0);
                    if quote {
                        v = unquote(&v);
                    }
                    if let Some(slot) = self.vars.get_mut(insn.arg as usize) {
                        slot.1 = v;
                    }
                    if matches!(insn.op, Op::Return { .. }) && self.pos == ipos + 1 {
                        self.pos -= 1;
                        break;
                    }
                }
                Op::Init | Op::Label => {}
                Op::Goto => {
                    let (_, cond) = first_word(&insn.text);
                    let cond = self.expand(cond, ctx, false, 0);
                    let take = if cond.trim().is_empty() {
                        true
                    } else {
                        match parse_bool(&cond) {
                            Some(c) => c,
                            None => {
                                script_error(
                                    ctx,
                                    self.error_context(),
                                    &format!("bad condition '{}'", cond.trim()),
                                );
                                false
                            }
                        }
                    };
                    if take {
                        if insn.arg < 0 {
                            self.pos -= 1;
                            if insn.arg == -3 && kind != Step::Router {
                                ctx.stop_router();
                            }
                            return (jumps + 1, true);
                        }
                        let t = insn.arg as usize;
                        for i in &mut self.insns[t.min(ipos)..ipos] {
                            if i.op == Op::WaitStep {
                                i.arg2 = 0;
                            }
                        }
                        self.pos = t;
                    }
                }
                Op::Error { quote } => {
                    let mut msg = self.expand(&insn.text, ctx, false, 0);
                    if quote {
                        msg = unquote(&msg);
                    }
                    if !msg.trim().is_empty() {
                        script_error(ctx, self.error_context(), msg.trim());
                    }
                    self.pos -= 1;
                    return (jumps + 1, true);
                }
                Op::End | Op::Exit => {
                    self.pos -= 1;
                    return (jumps + 1, true);
                }
            }
            if self.pos != ipos + 1 {
                jumps += 1;
            }
        }
        if jumps >= MAX_JUMPS {
            let decl = format!("{} :: {}", ctx.name(), self.class_name());
            ctx.chatter(&format!("{decl}: too many jumps, giving up"));
            self.pos = self.insns.len();
            ctx.unschedule_timer(TIMER);
        }
        (jumps + 1, false)
    }

    fn error_context(&self) -> Option<&'static str> {
        (!self.bare_errors).then(|| self.class_name())
    }

    fn packet_port(&mut self, port: usize, ctx: &mut Ctx<'_>) -> Option<usize> {
        let i = self.var_index("input", true).unwrap_or(0);
        self.vars[i].1 = port.to_string();
        self.pos = 0;
        match self.run_steps(0, Step::Jump, ctx) {
            Done::Normal(Some(v)) => v.trim().parse().ok(),
            _ => None,
        }
    }
}

/// Report a run-time script error the way Click does (`class` None: no context line).
fn script_error(ctx: &mut Ctx<'_>, class: Option<&str>, msg: &str) {
    let Some(class) = class else {
        ctx.chatter(msg);
        return;
    };
    let name = ctx.name().to_string();
    let body: String = msg.lines().map(|l| format!("\n  {l}")).collect();
    ctx.chatter(&format!("While executing '{name} :: {class}':{body}"));
}

/// Split an engine handler-call error into "could not resolve the handler" (Click reports it
/// bare and leaves `$?` alone) or "the handler failed" (reported inside "While calling").
fn call_error(e: &str, h: &str, write: bool) -> (bool, String) {
    let rw = if write { "write" } else { "read" };
    if e.starts_with("no element named") {
        (true, e.to_string())
    } else if e.starts_with("no handler")
        || e.starts_with("no global handler")
        || e.contains("not a read handler")
        || e.contains("not a write handler")
    {
        (true, format!("no '{h}' {rw} handler"))
    } else {
        (false, e.to_string())
    }
}

fn done_result(d: Done) -> Result<(), String> {
    match d {
        Done::Error => Err("script error".into()),
        _ => Ok(()),
    }
}

/// Quote a string Click-style when it needs it (`cp_quote`).
fn quote_str(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"_-./:+@%".contains(&c))
    {
        return s.to_string();
    }
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            '$' => o.push_str("\\$"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

#[derive(Clone, Copy)]
enum Num {
    I(i64),
    F(f64),
}

impl Num {
    fn as_f64(self) -> f64 {
        match self {
            Num::I(v) => v as f64,
            Num::F(v) => v,
        }
    }
}

fn num(s: &str) -> Option<Num> {
    let s = s.trim();
    if let Some(v) = parse_i64(s) {
        return Some(Num::I(v));
    }
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() || s.contains("inf"))
        .map(Num::F)
}

fn fmt_num(v: f64, int: bool) -> String {
    if int {
        (v as i64).to_string()
    } else {
        fmt_g(v, 12)
    }
}

/// C `%.{prec}g`.
pub(crate) fn fmt_g(x: f64, prec: usize) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if !x.is_finite() {
        return if x.is_nan() {
            "nan".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let prec = prec.max(1);
    let sci = format!("{:.*e}", prec - 1, x);
    let exp: i32 = sci
        .split('e')
        .nth(1)
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    let trim = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if exp < -4 || exp >= prec as i32 {
        let (m, _) = sci.split_once('e').unwrap_or((&sci, ""));
        format!(
            "{}e{}{:02}",
            trim(m.to_string()),
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    } else {
        trim(format!("{:.*}", (prec as i32 - 1 - exp).max(0) as usize, x))
    }
}

fn arithmetic(op: &str, words: &[String]) -> Result<String, String> {
    let mut use_f = op == "div" || op == "idiv";
    let mut acc_i: i64 = if op == "add" || op == "sub" { 0 } else { 1 };
    let mut acc_f: f64 = acc_i as f64;
    for (k, w) in words.iter().enumerate() {
        let n = num(w).ok_or("expected list of numbers")?;
        if !use_f {
            if let Num::F(_) = n {
                use_f = true;
                acc_f = acc_i as f64;
            }
        }
        if use_f {
            let v = n.as_f64();
            acc_f = if k == 0 {
                v
            } else {
                match op {
                    "add" => acc_f + v,
                    "sub" => acc_f - v,
                    "min" => acc_f.min(v),
                    "max" => acc_f.max(v),
                    "mul" => acc_f * v,
                    _ => acc_f / v,
                }
            };
        } else {
            let Num::I(v) = n else { continue };
            acc_i = if k == 0 {
                v
            } else {
                match op {
                    "add" => acc_i.wrapping_add(v),
                    "sub" => acc_i.wrapping_sub(v),
                    "min" => acc_i.min(v),
                    "max" => acc_i.max(v),
                    "mul" => acc_i.wrapping_mul(v),
                    _ => acc_i.checked_div(v).ok_or("division by zero")?,
                }
            };
        }
    }
    if op == "idiv" {
        return Ok((acc_f as i64).to_string());
    }
    Ok(if use_f {
        fmt_g(acc_f, 12)
    } else {
        acc_i.to_string()
    })
}

/// The `sprintf` handler: `%d %i %u %x %X %o %c %s %f %e %g %%` with flags, width, precision.
fn sprintf(words: &[String]) -> Result<String, String> {
    let Some(fmt) = words.first() else {
        return Err("expected format".into());
    };
    let fmt = unquote(fmt);
    let mut args = words[1..].iter();
    let mut out = String::new();
    let mut it = fmt.chars().peekable();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&f) = it.peek() {
            if "-+ #0".contains(f) {
                flags.push(f);
                it.next();
            } else {
                break;
            }
        }
        let mut width = String::new();
        while let Some(&d) = it.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            it.next();
        }
        let mut prec: Option<usize> = None;
        if it.peek() == Some(&'.') {
            it.next();
            let mut p = String::new();
            while let Some(&d) = it.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                it.next();
            }
            prec = Some(p.parse().unwrap_or(0));
        }
        while matches!(it.peek(), Some('l' | 'h' | 'q' | 'j' | 'z')) {
            it.next();
        }
        let Some(conv) = it.next() else { break };
        let body = match conv {
            '%' => {
                out.push('%');
                continue;
            }
            'd' | 'i' | 'u' | 'x' | 'X' | 'o' | 'c' => {
                let a = args.next().ok_or("not enough arguments")?;
                let v = parse_i64(a)
                    .or_else(|| a.parse::<f64>().ok().map(|f| f as i64))
                    .ok_or("expected integer")?;
                match conv {
                    'x' => format!(
                        "{}{:x}",
                        if flags.contains('#') && v != 0 {
                            "0x"
                        } else {
                            ""
                        },
                        v
                    ),
                    'X' => format!(
                        "{}{:X}",
                        if flags.contains('#') && v != 0 {
                            "0X"
                        } else {
                            ""
                        },
                        v
                    ),
                    'o' => format!("{:o}", v),
                    'c' => char::from_u32(v as u32)
                        .map(String::from)
                        .unwrap_or_default(),
                    _ => {
                        let s = v.unsigned_abs().to_string();
                        let s = match prec {
                            Some(p) if s.len() < p => format!("{}{s}", "0".repeat(p - s.len())),
                            _ => s,
                        };
                        let sign = if v < 0 {
                            "-"
                        } else if flags.contains('+') {
                            "+"
                        } else if flags.contains(' ') {
                            " "
                        } else {
                            ""
                        };
                        format!("{sign}{s}")
                    }
                }
            }
            'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
                let a = args.next().ok_or("not enough arguments")?;
                let v = num(a).ok_or("expected number")?.as_f64();
                let p = prec.unwrap_or(6);
                let s = match conv {
                    'f' | 'F' => format!("{v:.p$}"),
                    'e' | 'E' => {
                        let s = format!("{v:.p$e}");
                        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
                        let e: i32 = e.parse().unwrap_or(0);
                        format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
                    }
                    _ => fmt_g(v, if p == 0 { 1 } else { p }),
                };
                let s = if conv.is_ascii_uppercase() {
                    s.to_uppercase()
                } else {
                    s
                };
                if flags.contains('+') && v >= 0.0 {
                    format!("+{s}")
                } else {
                    s
                }
            }
            's' => {
                let a = args.next().ok_or("not enough arguments")?;
                let s = unquote(a);
                match prec {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                }
            }
            other => return Err(format!("bad conversion '%{other}'")),
        };
        let w: usize = width.parse().unwrap_or(0);
        let n = body.chars().count();
        if n >= w {
            out.push_str(&body);
        } else if flags.contains('-') {
            out.push_str(&body);
            out.push_str(&" ".repeat(w - n));
        } else if flags.contains('0') && !matches!(conv, 's' | 'c') {
            let (sign, digits) = match body.strip_prefix(['-', '+', ' ']) {
                Some(d) => (&body[..1], d),
                None => ("", body.as_str()),
            };
            let (pre, digits) = match digits
                .strip_prefix("0x")
                .or_else(|| digits.strip_prefix("0X"))
            {
                Some(d) => (&digits[..2], d),
                None => ("", digits),
            };
            out.push_str(sign);
            out.push_str(pre);
            out.push_str(&"0".repeat(w - n));
            out.push_str(digits);
        } else {
            out.push_str(&" ".repeat(w - n));
            out.push_str(&body);
        }
    }
    Ok(out)
}

const LOCAL_READS: [&str; 34] = [
    "add", "sub", "min", "max", "mul", "div", "idiv", "mod", "rem", "neg", "abs", "eq", "ne", "lt",
    "gt", "le", "ge", "not", "and", "or", "nand", "nor", "if", "in", "sprintf", "random", "length",
    "unquote", "readable", "writable", "now", "cat", "catq", "kill",
];

/// Signal number of a name Click's Script knows (`USR1`, also `SIGUSR1` or a number).
fn signal_number(word: &str) -> Option<i32> {
    let name = word.strip_prefix("SIG").unwrap_or(word);
    let known = [
        ("ABRT", libc::SIGABRT),
        ("ALRM", libc::SIGALRM),
        ("HUP", libc::SIGHUP),
        ("INT", libc::SIGINT),
        ("IO", libc::SIGIO),
        ("PIPE", libc::SIGPIPE),
        ("QUIT", libc::SIGQUIT),
        ("TERM", libc::SIGTERM),
        ("TSTP", libc::SIGTSTP),
        ("USR1", libc::SIGUSR1),
        ("USR2", libc::SIGUSR2),
    ];
    known
        .iter()
        .find(|k| k.0 == name)
        .map(|k| k.1)
        .or_else(|| parse_i64(word).and_then(|n| i32::try_from(n).ok()))
        .filter(|&n| n >= 0)
}

/// Script's `kill SIGNAL PID...` read handler.
fn kill(words: &[String]) -> Result<(), String> {
    use nix::sys::signal::Signal;
    let signo = words
        .first()
        .and_then(|w| signal_number(w))
        .filter(|&s| s <= 32)
        .ok_or("bad SIGNO")?;
    // Signal 0 only checks that the process exists.
    let sig = match signo {
        0 => None,
        s => Some(Signal::try_from(s).map_err(|_| "bad SIGNO")?),
    };
    for w in &words[1..] {
        let pid = parse_i64(w)
            .and_then(|p| i32::try_from(p).ok())
            .ok_or("bad PID")?;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig)
            .map_err(|e| format!("kill({pid}, {signo}): {}", e.desc()))?;
    }
    Ok(())
}

impl Element for Script {
    element_class! {
        self =>
        class: if self.driver_class { "DriverManager" } else { "Script" },
        ports: if self.driver_class { "0/0" } else { "-/-" },
        processing: "ah/ah",
    }
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let mut ty: Option<Type> = None;
        let mut insn_args = Vec::new();
        for a in split_args(conf) {
            match split_keyword(&a) {
                Some(("TYPE", v)) => {
                    let words = split_words(v);
                    ty = Some(match (words.first().map(|s| s.as_str()), words.len()) {
                        (Some("ACTIVE"), 1) => Type::Active,
                        (Some("PASSIVE"), 1) => Type::Passive,
                        (Some("PACKET" | "PUSH"), 1) => Type::Packet,
                        (Some("PROXY"), 1) => Type::Proxy,
                        (Some("DRIVER"), 1) => Type::Driver,
                        // A passive script the driver runs when a signal arrives.
                        (Some("SIGNAL"), n) if n > 1 => {
                            self.signals = words[1..]
                                .iter()
                                .map(|w| signal_number(w).filter(|&s| s < 32))
                                .collect::<Option<Vec<_>>>()
                                .ok_or("bad signal number")?;
                            Type::Passive
                        }
                        (Some("SIGNAL"), _) => return Err("bad signal number".into()),
                        _ => return Err("bad TYPE".into()),
                    });
                }
                _ => insn_args.push(a),
            }
        }
        let ports = cx.ninputs > 0 || cx.noutputs > 0;
        self.ty = ty.unwrap_or(if self.driver_class {
            Type::Driver
        } else if ports {
            Type::Packet
        } else {
            Type::Active
        });
        if self.ty == Type::Packet && cx.ninputs == 0 {
            return Err("PACKET script must have inputs".into());
        }
        if self.ty != Type::Packet && ports {
            return Err("ports allowed only on PACKET scripts".into());
        }
        if self.ty == Type::Driver
            && cx
                .elements
                .iter()
                .filter(|e| {
                    e.1 == "DriverManager" || (e.1 == "Script" && e.2.contains("TYPE DRIVER"))
                })
                .count()
                > 1
        {
            return Err("router has more than one driver script".into());
        }
        self.insns = vec![Insn {
            op: Op::Initial,
            arg: 0,
            arg2: 0,
            text: String::new(),
        }];
        let mut errs = Vec::new();
        for a in &insn_args {
            match self.parse_insn(a) {
                Ok(Some(i)) => self.insns.push(i),
                Ok(None) => {}
                Err(e) => errs.push(e),
            }
        }
        for k in 0..self.insns.len() {
            if self.insns[k].op == Op::Goto && !self.insns[k].text.is_empty() {
                let (label, _) = first_word(&self.insns[k].text);
                let label = label.to_string();
                let t = self.find_label(&label);
                if t >= self.insns.len() as i64 {
                    errs.push(format!("no such label '{label}'"));
                }
                self.insns[k].arg = t;
            }
        }
        if self.insns.len() == 1 && self.ty == Type::Driver {
            self.insns.push(Insn {
                op: Op::WaitStep,
                arg: 1,
                arg2: 0,
                text: String::new(),
            });
        }
        let last = if self.ty == Type::Driver {
            Op::Stop
        } else {
            Op::End
        };
        self.insns.push(Insn {
            op: last,
            arg: 0,
            arg2: 0,
            text: String::new(),
        });
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("\n"))
        }
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.pos = 0;
        self.step_count = 0;
        self.rng ^= (ctx.now().0 as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        for k in 0..self.insns.len() {
            if self.insns[k].op == Op::Init {
                let text = self.insns[k].text.clone();
                let mut v = self.expand(&text, ctx, false, 0);
                if self.insns[k].arg2 != 0 {
                    v = unquote(&v);
                }
                let idx = self.insns[k].arg as usize;
                if let Some(slot) = self.vars.get_mut(idx) {
                    slot.1 = v;
                }
            }
        }
        if self.ty == Type::Driver {
            ctx.become_driver();
        }
        self.listen_for_signals(ctx);
        if matches!(self.ty, Type::Active | Type::Driver) {
            self.insns[0].arg2 = 1;
            ctx.schedule_timer(TIMER, ctx.now());
        }
        Ok(())
    }
    fn has_task(&self) -> bool {
        // A driver script's task runs when the router receives a stop request.
        self.ty == Type::Driver
    }
    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let mut work = false;
        self.bare_errors = true;
        while ctx.take_stop_requests(1) {
            work = true;
            let _ = self.run_steps(1, Step::Router, ctx);
        }
        self.bare_errors = false;
        work
    }
    fn run_timer(&mut self, _id: u32, ctx: &mut Ctx<'_>) {
        // A DriverManager's first steps run from the driver loop in Click, not a timer.
        self.bare_errors = self.ty == Type::Driver && self.step_count == 0 && self.pos == 0;
        let _ = self.run_steps(1, Step::Timer, ctx);
        self.bare_errors = false;
    }
    fn push(&mut self, port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        let n = ctx.noutputs();
        let mut outs: Vec<PacketBatch> = (0..n).map(|_| Vec::new()).collect();
        for p in batch {
            if let Some(o) = self.packet_port(port, ctx).filter(|&o| o < n) {
                outs[o].push(p);
            }
        }
        for (o, b) in outs.into_iter().enumerate() {
            ctx.output(o, b);
        }
    }
    fn pull(&mut self, _port: usize, max: usize, ctx: &mut Ctx<'_>) -> PacketBatch {
        let batch = ctx.pull(0, max);
        let n = ctx.noutputs();
        let mut keep = Vec::new();
        for p in batch {
            match self.packet_port(0, ctx) {
                Some(0) => keep.push(p),
                Some(o) if o < n => ctx.output(o, vec![p]),
                _ => {}
            }
        }
        keep
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        let mut v = vec![
            HandlerSpec::w("step"),
            HandlerSpec::w("goto"),
            HandlerSpec::rw("run"),
        ];
        v.extend(LOCAL_READS.iter().map(|n| HandlerSpec::r(n)));
        v.push(HandlerSpec::r("get"));
        v.push(HandlerSpec::w("set"));
        v.push(HandlerSpec::rw("shift"));
        v.extend(
            ["htonl", "ntohl", "htons", "ntohs"]
                .iter()
                .map(|n| HandlerSpec::r(n)),
        );
        v.extend(self.exports.iter().map(|n| HandlerSpec::rw(n)));
        v
    }
    fn read_handler(&mut self, name: &str, param: &str, ctx: &mut Ctx<'_>) -> ReadResult {
        self.local_read(name, param, ctx, 0)
    }
    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        if name == "shift" {
            self.shift(value);
            return Some(Ok(()));
        }
        self.local_write(name, value, ctx)
    }
    fn cleanup(&mut self, _ctx: &mut Ctx<'_>) {
        for (_, w) in &mut self.files {
            let _ = w.flush();
        }
        if let Some(w) = self.stdout.as_mut() {
            let _ = w.flush();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{fmt_g, sprintf};
    use crate::elements::shared::test_util::sim_router;
    use crate::{MemEnv, Registry, Router};

    fn stdout(env: &MemEnv) -> String {
        String::from_utf8_lossy(
            env.outputs
                .borrow()
                .get("-")
                .map(|v| v.as_slice())
                .unwrap_or(b""),
        )
        .into_owned()
    }

    #[test]
    fn script_signal_scripts_register_once_and_again_after_end() {
        let env = MemEnv::default();
        let mut r = sim_router(
            "a :: Script(TYPE SIGNAL USR1 INT, print a); b :: Script(TYPE SIGNAL USR1, print b, exit)",
            &env,
        );
        assert_eq!(r.signal_numbers(), vec![libc::SIGINT, libc::SIGUSR1]);
        let hs = r.take_signal_handlers(libc::SIGUSR1);
        assert_eq!(hs, vec!["a.run".to_string(), "b.run".to_string()]);
        for h in &hs {
            r.write_handler(h, "").unwrap();
        }
        // `a` ended with `end` (as a script running off its end does) and waits again;
        // `b` ended with `exit` and does not.
        assert_eq!(
            r.take_signal_handlers(libc::SIGUSR1),
            vec!["a.run".to_string()]
        );
        assert!(
            Router::check("Script(TYPE SIGNAL NOPE, end)", "f", &Registry::standard()).is_err()
        );
    }

    #[test]
    fn script_loop_print_stop() {
        let env = MemEnv::default();
        let mut r = sim_router(
            "Script(set x 0, label begin_loop, print $x, set x $(add $x 1), goto begin_loop $(lt $x 5), print \"done, $x\", stop)",
            &env,
        );
        assert!(r.run_to_completion(1000));
        assert_eq!(stdout(&env), "0\n1\n2\n3\n4\ndone, 5\n");
    }

    #[test]
    fn script_wait_read_write_handlers() {
        let env = MemEnv::default();
        let conf = "src :: InfiniteSource(LIMIT 5, ACTIVE false) -> c :: Counter -> Discard;
            Script(wait 1s, write src.active true, wait 10ms, read c.count, print c.count, write c.reset, print $(c.count), write nosuch.h, print $?, stop)";
        let mut r = sim_router(conf, &env);
        assert!(r.run_to_completion(10_000));
        // Reference Click prints the same (a call to a missing handler leaves `$?` alone).
        assert_eq!(stdout(&env), "5\n0\n0\n");
        let ch = env.chatter.borrow().clone();
        assert!(ch.contains("c.count:\n5"), "{ch}");
        assert!(
            ch.contains("While executing 'Script@4 :: Script':\n  no element named 'nosuch'"),
            "{ch}"
        );
    }

    #[test]
    fn script_passive_run_and_arith_handlers() {
        let env = MemEnv::default();
        let conf = "c1 :: Counter -> Discard; c2 :: Counter -> Discard; Idle -> c1; Idle -> c2;
            s :: Script(TYPE PASSIVE, return $(add $1 $2 10));
            t :: Script(TYPE PASSIVE, goto neg $(lt $1 0), returnq \"pos\", label neg, return neg)";
        let mut r = sim_router(conf, &env);
        assert_eq!(r.read_handler_param("s.run", "1 2").unwrap(), "13");
        assert_eq!(r.read_handler_param("t.run", "-4").unwrap(), "neg");
        assert_eq!(r.read_handler_param("t.run", "4").unwrap(), "pos");
        for (h, p, want) in [
            ("add", "10 5 2", "17"),
            ("sub", "10 5 2", "3"),
            ("max", "5 10 2", "10"),
            ("div", "7 2", "3.5"),
            ("div", "1 3", "0.333333333333"),
            ("mul", "1.5 2", "3"),
            ("add", "1e20 1", "1e+20"),
            ("idiv", "7 2", "3"),
            ("mod", "7 3", "1"),
            ("eq", "10 0xA", "true"),
            ("le", "9 8", "false"),
            ("eq", "10x 10x", "true"),
            ("not", "true", "false"),
            ("and", "true false", "false"),
            ("if", "true a b", "a"),
            ("in", "foo bar foo", "true"),
            ("sprintf", "\"%05x\" 127", "0007f"),
            ("length", "abcdef", "6"),
            ("neg", "3", "-3"),
        ] {
            assert_eq!(
                r.read_handler_param(&format!("s.{h}"), p).unwrap(),
                want,
                "{h} {p}"
            );
        }
        let v: i64 = r
            .read_handler_param("s.random", "3 5")
            .unwrap()
            .parse()
            .unwrap();
        assert!((3..=5).contains(&v));
        assert!(r.read_handler_param("s.add", "1 x").is_err());
    }

    #[test]
    fn script_pause_step_goto_and_init() {
        let env = MemEnv::default();
        // `print WORD` calls a read handler; quoted text is printed.
        let conf = "s :: Script(init n 7, print \"start $n\", pause, print \"stepped\", pause 2, print \"twice\", label l, print \"at_l\", end)";
        let mut r = sim_router(conf, &env);
        r.run_to_completion(100);
        assert_eq!(stdout(&env), "start 7\n");
        r.write_handler("s.step", "").unwrap();
        assert_eq!(stdout(&env), "start 7\nstepped\n");
        r.write_handler("s.step", "").unwrap();
        assert_eq!(stdout(&env), "start 7\nstepped\n");
        r.write_handler("s.step", "1").unwrap();
        assert_eq!(stdout(&env), "start 7\nstepped\ntwice\nat_l\n");
        r.write_handler("s.goto", "l").unwrap();
        assert_eq!(stdout(&env), "start 7\nstepped\ntwice\nat_l\nat_l\n");
        assert!(r.write_handler("s.goto", "nolabel").is_err());
    }

    #[test]
    fn script_packet_type_routes_by_return() {
        let env = MemEnv::default();
        let conf = "InfiniteSource(LIMIT 4, STOP true) -> Paint(2) -> s :: Script(TYPE PACKET, return $(mod $(c0.count) 2));
            s[0] -> c0 :: Counter -> Discard; s[1] -> c1 :: Counter -> Discard;";
        let mut r = sim_router(conf, &env);
        r.run_to_completion(100);
        // As in reference Click: the first packet sees c0.count 0, the rest see 1.
        assert_eq!(r.read_handler("c0.count").unwrap(), "1");
        assert_eq!(r.read_handler("c1.count").unwrap(), "3");
    }

    #[test]
    fn script_driver_manager_finishes_after_stop() {
        let env = MemEnv::default();
        let conf = "InfiniteSource(LIMIT 3, STOP true) -> c :: Counter -> Discard;
            DriverManager(pause, wait 5ms, print \"count $(c.count)\", stop)";
        let mut r = sim_router(conf, &env);
        assert!(r.run_to_completion(100));
        // Reference Click prints the same: the stop request steps past `pause`, the wait runs.
        assert_eq!(stdout(&env), "count 3\n");
        // Two pauses need two stop requests: one source is not enough to stop.
        let env = MemEnv::default();
        let mut r = sim_router("InfiniteSource(LIMIT 3, STOP true) -> Discard; DriverManager(pause, pause, print \"late\")", &env);
        assert!(!r.run_to_completion(100));
        assert!(!r.stopped());
        assert_eq!(stdout(&env), "");
        // A DriverManager that ends stops the router by itself.
        let env = MemEnv::default();
        let mut r = sim_router(
            "Idle -> c :: Counter -> Idle; DriverManager(wait 2s, print c.count)",
            &env,
        );
        assert!(r.run_to_completion(100));
        assert_eq!(stdout(&env), "0\n");
    }

    #[test]
    fn script_config_errors() {
        let reg = crate::Registry::standard();
        for (c, m) in [
            ("Script(frobnicate)", "syntax error at 'frobnicate'"),
            ("Script(goto nowhere)", "no such label 'nowhere'"),
            ("Script(TYPE WHATEVER)", "bad TYPE"),
            ("Script(label)", "syntax error at 'label'"),
            (
                "DriverManager(stop); DriverManager(stop)",
                "more than one driver script",
            ),
        ] {
            let e = crate::Router::new(c, "t", &reg).unwrap_err();
            assert!(e.to_string().contains(m), "{c}: {e}");
        }
        let e = crate::Router::new("Idle -> Script(TYPE PASSIVE) -> Idle", "t", &reg).unwrap_err();
        assert!(
            e.to_string()
                .contains("ports allowed only on PACKET scripts"),
            "{e}"
        );
    }

    #[test]
    fn script_formatting_helpers() {
        assert_eq!(fmt_g(3.5, 12), "3.5");
        assert_eq!(fmt_g(1e20, 12), "1e+20");
        assert_eq!(fmt_g(0.0001, 12), "0.0001");
        assert_eq!(
            sprintf(&[
                "\"%-4s|%3d|%.2f\"".into(),
                "ab".into(),
                "7".into(),
                "1.005".into()
            ])
            .unwrap(),
            "ab  |  7|1.00"
        );
    }
}
