//! Script and DriverManager: small control programs (wait, set, read, write, print, goto,
//! stop, ...) with `$var` and `$(handler)`/`$(function ...)` expansion.

use crate::args;
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::packet::{PacketBatch, Timestamp};
use crate::registry::Registry;
use crate::any_impl;
use std::collections::HashMap;

/// Register Script and DriverManager.
pub fn register(r: &mut Registry) {
    r.register("Script", || Box::new(Script::new(false)));
    r.register("DriverManager", || Box::new(Script::new(true)));
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    Active,
    Passive,
    Driver,
    Packet,
}

/// Script / DriverManager.
pub struct Script {
    manager: bool,
    kind: Type,
    insns: Vec<(String, String)>,
    vars: HashMap<String, String>,
    init_vars: Vec<(String, String)>,
    pc: usize,
    waiting_stop: bool,
    paused: bool,
    done: bool,
    ret: Option<String>,
    steps: u32,
}

impl Script {
    fn new(manager: bool) -> Self {
        Script {
            manager,
            kind: if manager { Type::Driver } else { Type::Active },
            insns: Vec::new(),
            vars: HashMap::new(),
            init_vars: Vec::new(),
            pc: 0,
            waiting_stop: false,
            paused: false,
            done: false,
            ret: None,
            steps: 0,
        }
    }

    /// Expand `$x`, `${x}`, `$(...)`.
    fn expand(&self, s: &str, ctx: &mut Ctx<'_>) -> String {
        let b = s.as_bytes();
        let mut out = String::new();
        let mut i = 0;
        let mut quote = 0u8;
        while i < b.len() {
            let c = b[i];
            if c == b'\'' && quote != b'"' {
                quote = if quote == b'\'' { 0 } else { b'\'' };
                out.push('\'');
                i += 1;
                continue;
            }
            if c == b'"' && quote != b'\'' {
                quote = if quote == b'"' { 0 } else { b'"' };
            }
            if c == b'\\' && i + 1 < b.len() && quote == b'"' {
                out.push('\\');
                out.push(b[i + 1] as char);
                i += 2;
                continue;
            }
            if c == b'$' && quote != b'\'' && i + 1 < b.len() {
                if b[i + 1] == b'(' {
                    let mut depth = 0;
                    let mut j = i + 1;
                    while j < b.len() {
                        if b[j] == b'(' {
                            depth += 1;
                        } else if b[j] == b')' {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        j += 1;
                    }
                    let inner = &s[i + 2..j.min(s.len())];
                    let inner = self.expand(inner, ctx);
                    out.push_str(&self.eval(&inner, ctx));
                    i = j + 1;
                    continue;
                }
                let (name, end) = if b[i + 1] == b'{' {
                    let e = s[i..].find('}').map(|p| p + i).unwrap_or(b.len());
                    (&s[i + 2..e.min(s.len())], e + 1)
                } else {
                    let mut e = i + 1;
                    while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'_') {
                        e += 1;
                    }
                    (&s[i + 1..e], e)
                };
                if !name.is_empty() {
                    let v = match name {
                        "args" | "input" => self.vars.get(name).cloned().unwrap_or_default(),
                        _ => self.vars.get(name).cloned().unwrap_or_default(),
                    };
                    out.push_str(&v);
                    i = end;
                    continue;
                }
            }
            out.push(c as char);
            i += 1;
        }
        out
    }

    fn eval(&self, expr: &str, ctx: &mut Ctx<'_>) -> String {
        let words = args::split_words(expr);
        let Some(f) = words.first() else { return String::new() };
        let a: Vec<String> = words[1..].iter().map(|w| args::unquote(w)).collect();
        let num = |i: usize| -> f64 { a.get(i).and_then(|s| s.trim().parse::<f64>().ok()).unwrap_or(0.0) };
        let int = |i: usize| -> i64 { a.get(i).and_then(|s| args::parse_i64(s)).unwrap_or(0) };
        let fmt = |v: f64| -> String {
            if v.fract() == 0.0 && v.abs() < 1e18 {
                format!("{}", v as i64)
            } else {
                format!("{v}")
            }
        };
        let b = |v: bool| if v { "true".to_string() } else { "false".to_string() };
        let cmpv = |x: &str, y: &str| -> std::cmp::Ordering {
            match (x.trim().parse::<f64>(), y.trim().parse::<f64>()) {
                (Ok(p), Ok(q)) => p.partial_cmp(&q).unwrap_or(std::cmp::Ordering::Equal),
                _ => x.cmp(y),
            }
        };
        let s0 = a.first().cloned().unwrap_or_default();
        let s1 = a.get(1).cloned().unwrap_or_default();
        match f.as_str() {
            "add" => fmt(a.iter().map(|s| s.trim().parse::<f64>().unwrap_or(0.0)).sum()),
            "sub" => fmt(num(0) - a[1.min(a.len())..].iter().map(|s| s.trim().parse::<f64>().unwrap_or(0.0)).sum::<f64>()),
            "mul" => fmt(a.iter().map(|s| s.trim().parse::<f64>().unwrap_or(0.0)).product()),
            "div" => fmt(num(0) / num(1)),
            "idiv" => if int(1) == 0 { "0".into() } else { (int(0) / int(1)).to_string() },
            "mod" | "rem" => if int(1) == 0 { "0".into() } else { (int(0) % int(1)).to_string() },
            "neg" => fmt(-num(0)),
            "abs" => fmt(num(0).abs()),
            "min" => fmt(num(0).min(num(1))),
            "max" => fmt(num(0).max(num(1))),
            "eq" => b(cmpv(&s0, &s1).is_eq()),
            "ne" => b(cmpv(&s0, &s1).is_ne()),
            "lt" => b(cmpv(&s0, &s1).is_lt()),
            "gt" => b(cmpv(&s0, &s1).is_gt()),
            "le" => b(cmpv(&s0, &s1).is_le()),
            "ge" => b(cmpv(&s0, &s1).is_ge()),
            "not" => b(!args::parse_bool(&s0).unwrap_or(false)),
            "and" => b(a.iter().all(|x| args::parse_bool(x).unwrap_or(false))),
            "or" => b(a.iter().any(|x| args::parse_bool(x).unwrap_or(false))),
            "if" => {
                if args::parse_bool(&s0).unwrap_or(false) {
                    s1
                } else {
                    a.get(2).cloned().unwrap_or_default()
                }
            }
            "in" => b(a[1.min(a.len())..].contains(&s0)),
            "cat" => a.concat(),
            "length" => s0.len().to_string(),
            "unquote" => s0,
            "now" => ctx.now().to_string(),
            "random" => {
                let t = ctx.now().0 as u64;
                let r = t.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) >> 33;
                match a.len() {
                    0 => r.to_string(),
                    1 => (r % (int(0).max(1) as u64)).to_string(),
                    _ => (int(0) + (r % ((int(1) - int(0) + 1).max(1) as u64)) as i64).to_string(),
                }
            }
            "sprintf" => {
                let mut out = String::new();
                let mut k = 1;
                let fs = s0.as_bytes();
                let mut i = 0;
                while i < fs.len() {
                    if fs[i] == b'%' && i + 1 < fs.len() {
                        let mut j = i + 1;
                        while j < fs.len() && !fs[j].is_ascii_alphabetic() && fs[j] != b'%' {
                            j += 1;
                        }
                        let conv = fs.get(j).copied().unwrap_or(b's');
                        let v = a.get(k).cloned().unwrap_or_default();
                        match conv {
                            b'%' => out.push('%'),
                            b'd' | b'i' | b'u' => out.push_str(&args::parse_i64(&v).unwrap_or(0).to_string()),
                            b'x' => out.push_str(&format!("{:x}", args::parse_i64(&v).unwrap_or(0))),
                            _ => out.push_str(&v),
                        }
                        if conv != b'%' {
                            k += 1;
                        }
                        i = j + 1;
                    } else {
                        out.push(fs[i] as char);
                        i += 1;
                    }
                }
                out
            }
            h => {
                let param = words[1..].join(" ");
                match ctx.call_read(h, &param) {
                    Ok(v) => v.trim_end_matches('\n').to_string(),
                    Err(e) => {
                        ctx.chatter(&format!("{}: {}", ctx.name(), e));
                        String::new()
                    }
                }
            }
        }
    }

    fn find_label(&self, l: &str) -> Option<usize> {
        self.insns.iter().position(|(k, a)| k == "label" && a.trim() == l)
    }

    /// Run until a wait. Returns the `return` value for PACKET scripts.
    fn run(&mut self, ctx: &mut Ctx<'_>) {
        let mut jumps = 0u32;
        while self.pc < self.insns.len() {
            let (cmd, rawarg) = self.insns[self.pc].clone();
            self.pc += 1;
            let arg = self.expand(&rawarg, ctx);
            match cmd.as_str() {
                "label" | "" => {}
                "set" | "init" | "export" => {
                    let (n, v) = arg.trim().split_once(char::is_whitespace).unwrap_or((arg.trim(), ""));
                    let v = v.trim();
                    if cmd != "init" || !self.vars.contains_key(n) {
                        self.vars.insert(n.to_string(), args::unquote(v));
                    }
                }
                "print" | "printn" | "printq" => {
                    let mut a = arg.trim().to_string();
                    if cmd != "printq" {
                        a = args::split_words(&a).iter().map(|w| if w.starts_with('"') { args::unquote(w) } else { w.clone() }).collect::<Vec<_>>().join(" ");
                    }
                    let mut s = a;
                    if cmd != "printn" {
                        s.push('\n');
                    }
                    // Script print goes to stdout in Click.
                    let _ = ctx.env().create_file("-").map(|mut w| {
                        let _ = w.write_all(s.as_bytes());
                        let _ = w.flush();
                    });
                }
                "read" | "readq" => {
                    let (h, p) = arg.trim().split_once(char::is_whitespace).unwrap_or((arg.trim(), ""));
                    match ctx.call_read(h, p) {
                        Ok(v) => {
                            let v = if v.ends_with('\n') || v.is_empty() { v } else { format!("{v}\n") };
                            let s = format!("{}{}", if cmd == "read" { format!("{h}:\n") } else { String::new() }, v);
                            let _ = ctx.env().create_file("-").map(|mut w| {
                                let _ = w.write_all(s.as_bytes());
                                let _ = w.flush();
                            });
                        }
                        Err(e) => ctx.chatter(&format!("{}: {}", ctx.name(), e)),
                    }
                }
                "write" | "writeq" => {
                    let (h, v) = arg.trim().split_once(char::is_whitespace).unwrap_or((arg.trim(), ""));
                    let v = if cmd == "writeq" { args::unquote(v.trim()) } else { v.trim().to_string() };
                    if let Err(e) = ctx.call_write(h, &v) {
                        ctx.chatter(&format!("{}: {}", ctx.name(), e));
                    }
                }
                "wait" | "wait_time" | "wait_for" => {
                    let a = arg.trim();
                    if a.is_empty() {
                        self.paused = true;
                        return;
                    }
                    let secs = args::parse_time(a).unwrap_or(0.0);
                    ctx.schedule_timer(0, ctx.now() + Timestamp::from_secs_f64(secs));
                    return;
                }
                "pause" | "wait_pause" => {
                    self.paused = true;
                    return;
                }
                "wait_stop" => {
                    let n = arg.trim().parse::<u32>().unwrap_or(1).max(1);
                    if ctx.take_stop_requests(n) {
                        continue;
                    }
                    self.pc -= 1;
                    self.waiting_stop = true;
                    return;
                }
                "goto" => {
                    let (l, cond) = arg.trim().split_once(char::is_whitespace).unwrap_or((arg.trim(), ""));
                    let take = cond.trim().is_empty() || args::parse_bool(cond.trim()).unwrap_or(false);
                    if take {
                        match self.find_label(l) {
                            Some(i) => self.pc = i + 1,
                            None if l == "exit" || l == "end" => self.pc = self.insns.len(),
                            None => {
                                ctx.chatter(&format!("{} :: {}: no such label '{l}'", ctx.name(), self.class_name()));
                                self.pc = self.insns.len();
                            }
                        }
                        jumps += 1;
                        if jumps > 1000 {
                            ctx.chatter(&format!("{} :: {}: too many jumps, giving up", ctx.name(), self.class_name()));
                            self.pc = self.insns.len();
                            self.done = true;
                            return;
                        }
                    }
                }
                "loop" => {
                    self.pc = 0;
                    jumps += 1;
                    if jumps > 1000 {
                        ctx.chatter(&format!("{} :: {}: too many jumps, giving up", ctx.name(), self.class_name()));
                        self.done = true;
                        return;
                    }
                }
                "return" => {
                    self.ret = Some(arg.trim().to_string());
                    self.pc = self.insns.len();
                }
                "end" => {
                    self.pc = self.insns.len();
                    self.ret = None;
                }
                "exit" => {
                    self.pc = self.insns.len();
                    self.ret = Some("exit".into());
                }
                "stop" => {
                    if self.kind == Type::Driver {
                        ctx.stop_router_now();
                    } else {
                        ctx.stop_router();
                    }
                    if self.kind != Type::Driver {
                        continue;
                    }
                    self.done = true;
                    return;
                }
                "error" => {
                    ctx.chatter(&format!("{}: {}", ctx.name(), arg.trim()));
                    self.pc = self.insns.len();
                }
                other => ctx.chatter(&format!("{}: unknown instruction '{other}'", ctx.name())),
            }
        }
        self.done = true;
        if self.kind == Type::Driver {
            ctx.stop_router_now();
        }
    }
}

use std::io::Write as _;

impl Element for Script {
    fn class_name(&self) -> &'static str {
        if self.manager {
            "DriverManager"
        } else {
            "Script"
        }
    }
    fn port_count(&self) -> &'static str {
        "-/-"
    }
    fn processing(&self) -> &'static str {
        "a"
    }
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let mut list = args::split_args(conf);
        if let Some(first) = list.first() {
            if let Some((k, v)) = args::split_keyword(first) {
                if k == "TYPE" {
                    self.kind = match v.trim() {
                        "ACTIVE" => Type::Active,
                        "PASSIVE" => Type::Passive,
                        "DRIVER" => Type::Driver,
                        "PACKET" => Type::Packet,
                        "PUSH" => Type::Packet,
                        "SIGNAL" => Type::Passive,
                        t => return Err(format!("bad TYPE '{t}'")),
                    };
                    list.remove(0);
                }
            }
        }
        for a in list {
            let (c, r) = a.split_once(char::is_whitespace).unwrap_or((a.as_str(), ""));
            let c = c.to_string();
            const KNOWN: &[&str] = &[
                "label", "set", "init", "export", "print", "printn", "printq", "read", "readq", "write", "writeq", "wait", "wait_time", "wait_for",
                "pause", "wait_pause", "wait_stop", "goto", "loop", "return", "end", "exit", "stop", "error",
            ];
            if !KNOWN.contains(&c.as_str()) {
                return Err(format!("unknown instruction '{c}'"));
            }
            if c == "init" {
                let (n, v) = r.trim().split_once(char::is_whitespace).unwrap_or((r.trim(), ""));
                self.init_vars.push((n.to_string(), v.trim().to_string()));
            }
            self.insns.push((c, r.trim().to_string()));
        }
        Ok(())
    }
    fn initialize(&mut self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        for (n, v) in self.init_vars.clone() {
            let v = self.expand(&v, ctx);
            self.vars.insert(n, args::unquote(&v));
        }
        if self.kind == Type::Driver {
            ctx.become_driver();
        }
        if matches!(self.kind, Type::Active | Type::Driver) {
            ctx.schedule_timer(0, ctx.now());
        }
        Ok(())
    }
    fn has_task(&self) -> bool {
        self.kind == Type::Driver
    }
    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        // woken by a stop request
        if self.waiting_stop && !self.done {
            self.waiting_stop = false;
            self.run(ctx);
            return true;
        }
        false
    }
    fn run_timer(&mut self, _id: u32, ctx: &mut Ctx<'_>) {
        if !self.done {
            self.run(ctx);
        }
    }
    fn push(&mut self, _port: usize, batch: PacketBatch, ctx: &mut Ctx<'_>) {
        if self.kind != Type::Packet {
            ctx.output(0, batch);
            return;
        }
        for p in batch {
            self.pc = 0;
            self.ret = None;
            self.done = false;
            self.steps += 1;
            self.run(ctx);
            match self.ret.as_deref() {
                Some("exit") => {}
                None => ctx.output(0, vec![p]),
                Some(v) => {
                    if let Some(o) = args::parse_u64(v) {
                        ctx.output(o as usize, vec![p]);
                    }
                }
            }
        }
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        let mut v = vec![HandlerSpec::w("step"), HandlerSpec::w("goto"), HandlerSpec::w("run"), HandlerSpec::w("stop")];
        let mut names: Vec<&String> = self.vars.keys().collect();
        names.sort();
        for n in names {
            v.push(HandlerSpec::rw(n));
        }
        v
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        self.vars.get(name).map(|v| Ok(v.clone()))
    }
    fn write_handler(&mut self, name: &str, v: &str, ctx: &mut Ctx<'_>) -> WriteResult {
        match name {
            "step" | "run" => {
                if name == "run" {
                    self.pc = 0;
                    self.done = false;
                }
                self.paused = false;
                if !self.done {
                    self.run(ctx);
                }
                Some(Ok(()))
            }
            "goto" => {
                match self.find_label(v.trim()) {
                    Some(i) => {
                        self.pc = i + 1;
                        self.done = false;
                        ctx.unschedule_timer(0);
                        self.run(ctx);
                    }
                    None => return Some(Err(format!("no such label '{}'", v.trim()))),
                }
                Some(Ok(()))
            }
            "stop" => {
                self.done = true;
                ctx.unschedule_timer(0);
                Some(Ok(()))
            }
            n if self.vars.contains_key(n) => {
                self.vars.insert(n.to_string(), v.to_string());
                Some(Ok(()))
            }
            _ => None,
        }
    }
    any_impl!();
}
