//! One ControlSocket connection as a pure state machine: bytes in, bytes out.
//!
//! Follows kohler/click `elements/userlevel/controlsocket.cc` (protocol 1.3) message for
//! message, so clients written for Click see the same replies.

use super::host::{HandlerFailure, HandlerHost};

/// The greeting sent on connect.
pub const GREETING: &str = "Click::ControlSocket/1.3\r\n";

/// Reply codes (Click's `CSERR_*`).
pub mod code {
    pub const OK: u16 = 200;
    pub const OK_WARN: u16 = 220;
    pub const SYNTAX: u16 = 500;
    pub const UNIMPLEMENTED: u16 = 501;
    pub const NO_SUCH_ELEMENT: u16 = 510;
    pub const NO_SUCH_HANDLER: u16 = 511;
    pub const HANDLER_ERROR: u16 = 520;
    pub const DATA_TOO_BIG: u16 = 521;
    pub const LLRPC_ERROR: u16 = 522;
    pub const PERMISSION: u16 = 530;
    pub const NO_ROUTER: u16 = 540;
    pub const UNSPECIFIED: u16 = 590;
}

/// Per-connection limits and policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// Refuse write handlers and LLRPCs (Click's `READONLY`).
    pub readonly: bool,
    /// Longest command line accepted; a longer one gets `500` and the connection closes.
    pub max_line: usize,
    /// Largest data block (`READDATA`/`WRITEDATA` length, `*UNTIL` body); larger gets `521`.
    pub max_data: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            readonly: false,
            max_line: 64 * 1024,
            max_data: 16 * 1024 * 1024,
        }
    }
}

/// A connection's protocol state.
#[derive(Debug)]
pub struct Session {
    cfg: SessionConfig,
    input: Vec<u8>,
    out: Vec<u8>,
    in_closed: bool,
    /// Bytes of an oversized data block still to be thrown away.
    discard: usize,
}

enum Step {
    /// A command was consumed (maybe with no reply, e.g. a blank line).
    Done,
    /// Not enough input yet for the next command.
    NeedMore,
}

impl Session {
    /// A new session whose output already holds the greeting.
    pub fn new(cfg: SessionConfig) -> Self {
        Session {
            cfg,
            input: Vec::new(),
            out: GREETING.as_bytes().to_vec(),
            in_closed: false,
            discard: 0,
        }
    }

    /// Appends bytes received from the peer (ignored after `QUIT`).
    pub fn feed(&mut self, mut data: &[u8]) {
        if self.in_closed {
            return;
        }
        if self.discard > 0 {
            let k = self.discard.min(data.len());
            self.discard -= k;
            data = &data[k..];
        }
        self.input.extend_from_slice(data);
    }

    /// The peer closed its sending side.
    pub fn close_input(&mut self) {
        self.in_closed = true;
    }

    /// True once no more commands will be read.
    pub fn input_closed(&self) -> bool {
        self.in_closed
    }

    /// Bytes waiting to be sent.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// Drops the first `n` bytes of output (they were sent).
    pub fn consume_output(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }

    /// True when the connection can be closed: input closed, all commands answered, all
    /// output sent.
    pub fn finished(&self) -> bool {
        self.in_closed && self.input.is_empty() && self.out.is_empty()
    }

    /// Answers every complete command in the input buffer.
    pub fn process<H: HandlerHost + ?Sized>(&mut self, host: &mut H) {
        loop {
            if self.input.is_empty() {
                return;
            }
            let Some(line_end) = self.input.iter().position(|&b| b == b'\r' || b == b'\n') else {
                if self.input.len() > self.cfg.max_line {
                    self.message(code::SYNTAX, "Line too long", false);
                    self.shut();
                } else if self.in_closed {
                    // A last command without a newline (COO's client sends `QUIT` so).
                    let line = std::mem::take(&mut self.input);
                    self.run_line(&line, host);
                    self.input.clear();
                }
                return;
            };
            if line_end > self.cfg.max_line {
                self.message(code::SYNTAX, "Line too long", false);
                self.shut();
                return;
            }
            let mut next = line_end + 1;
            if self.input[line_end] == b'\r' && self.input.get(line_end + 1) == Some(&b'\n') {
                next += 1;
            }
            let line: Vec<u8> = self.input[..line_end].to_vec();
            // The command's own data (READDATA, WRITEUNTIL ...) follows the line.
            let saved = std::mem::take(&mut self.input);
            self.input = saved[next..].to_vec();
            match self.run_line(&line, host) {
                Step::Done => {}
                Step::NeedMore => {
                    if self.in_closed {
                        self.message(code::SYNTAX, "Not enough data", false);
                        self.input.clear();
                    } else {
                        self.input = saved;
                    }
                    return;
                }
            }
        }
    }

    fn shut(&mut self) {
        self.in_closed = true;
        self.input.clear();
    }

    fn message(&mut self, code: u16, msg: &str, continuation: bool) {
        self.out.extend_from_slice(
            format!("{code}{}", if continuation { '-' } else { ' ' }).as_bytes(),
        );
        printable_into(msg.as_bytes(), &mut self.out);
        self.out.extend_from_slice(b"\r\n");
    }

    /// Click's `transfer_messages`: a header line (with `:` when details follow), then one
    /// line per message, all but the last as continuations.
    fn transfer(&mut self, code: u16, header: &str, messages: &[String]) {
        if !header.is_empty() {
            if messages.is_empty() {
                self.message(code, header, false);
            } else {
                self.message(code, &format!("{header}:"), true);
            }
        }
        for (i, m) in messages.iter().enumerate() {
            self.message(code, m, i + 1 < messages.len());
        }
    }

    fn data(&mut self, data: &[u8]) {
        self.out
            .extend_from_slice(format!("DATA {}\r\n", data.len()).as_bytes());
        self.out.extend_from_slice(data);
    }

    fn run_line<H: HandlerHost + ?Sized>(&mut self, line: &[u8], host: &mut H) -> Step {
        let words = split_words(line);
        let Some(&(s0, e0)) = words.first() else {
            return Step::Done;
        };
        let command = String::from_utf8_lossy(&line[s0..e0]).to_ascii_uppercase();
        let word = |i: usize| String::from_utf8_lossy(&line[words[i].0..words[i].1]).into_owned();
        let rest_from = |i: usize| -> Vec<u8> {
            if words.len() > i {
                line[words[i].0..words[words.len() - 1].1].to_vec()
            } else {
                Vec::new()
            }
        };
        match command.as_str() {
            "READ" | "GET" | "WRITE" | "SET" => {
                if words.len() < 2 {
                    self.message(code::SYNTAX, "Wrong number of arguments", false);
                    return Step::Done;
                }
                let data = rest_from(2);
                let h = word(1);
                if command.starts_with('R') || command.starts_with('G') {
                    self.read_command(host, &h, &data);
                } else {
                    self.write_command(host, &h, &data);
                }
                Step::Done
            }
            "READDATA" | "WRITEDATA" | "SETDATA" => {
                if words.len() != 3 {
                    self.message(code::SYNTAX, "Wrong number of arguments", false);
                    return Step::Done;
                }
                let Some(len) = parse_len(&word(2)) else {
                    self.message(code::SYNTAX, &format!("Syntax error in '{command}'"), false);
                    return Step::Done;
                };
                let h = word(1);
                if len > self.cfg.max_data {
                    let what = if command.starts_with('R') {
                        "read"
                    } else {
                        "write"
                    };
                    self.message(
                        code::DATA_TOO_BIG,
                        &format!("Data too large for {what} handler '{h}'"),
                        false,
                    );
                    // Skip the announced bytes so the stream stays in sync.
                    let k = len.min(self.input.len());
                    self.input.drain(..k);
                    self.discard = len - k;
                    return Step::Done;
                }
                if self.input.len() < len {
                    return Step::NeedMore;
                }
                let data: Vec<u8> = self.input.drain(..len).collect();
                if command.starts_with('R') {
                    self.read_command(host, &h, &data);
                } else {
                    self.write_command(host, &h, &data);
                }
                Step::Done
            }
            "READUNTIL" | "WRITEUNTIL" => {
                if words.len() < 2 {
                    self.message(code::SYNTAX, "Wrong number of arguments", false);
                    return Step::Done;
                }
                let until = rest_from(2);
                let h = word(1);
                let Some((body_len, consumed)) = find_until(&self.input, &until) else {
                    if self.input.len() > self.cfg.max_data {
                        let what = if command.starts_with('R') {
                            "read"
                        } else {
                            "write"
                        };
                        self.message(
                            code::DATA_TOO_BIG,
                            &format!("Data too large for {what} handler '{h}'"),
                            false,
                        );
                        self.shut();
                        return Step::Done;
                    }
                    return Step::NeedMore;
                };
                let data = self.input[..body_len].to_vec();
                self.input.drain(..consumed);
                if command.starts_with('R') {
                    self.read_command(host, &h, &data);
                } else {
                    self.write_command(host, &h, &data);
                }
                Step::Done
            }
            "CHECKREAD" | "CHECKWRITE" => {
                if words.len() != 2 {
                    self.message(code::SYNTAX, "Wrong number of arguments", false);
                } else {
                    self.check_command(host, &word(1), command == "CHECKWRITE");
                }
                Step::Done
            }
            "LLRPC" => {
                if words.len() != 2 && words.len() != 3 {
                    self.message(code::SYNTAX, "Wrong number of arguments", false);
                    return Step::Done;
                }
                let mut len = 0;
                if words.len() == 3 {
                    match parse_len(&word(2)) {
                        Some(n) => len = n,
                        None => {
                            self.message(code::SYNTAX, "Syntax error in 'llrpc'", false);
                            return Step::Done;
                        }
                    }
                }
                if len > self.cfg.max_data {
                    self.message(code::DATA_TOO_BIG, "Data too large for LLRPC", false);
                    self.shut();
                    return Step::Done;
                }
                if self.input.len() < len {
                    return Step::NeedMore;
                }
                self.input.drain(..len);
                self.llrpc_command(host, &word(1));
                Step::Done
            }
            "CLOSE" | "QUIT" => {
                if words.len() != 1 {
                    self.message(code::SYNTAX, "Bad command syntax", false);
                }
                self.message(code::OK, "Goodbye!", false);
                self.shut();
                Step::Done
            }
            "HELP" => {
                for (i, l) in HELP.iter().enumerate() {
                    self.message(code::OK, l, i + 1 < HELP.len());
                }
                Step::Done
            }
            _ => {
                self.message(
                    code::UNIMPLEMENTED,
                    &format!("Command '{command}' unimplemented"),
                    false,
                );
                Step::Done
            }
        }
    }

    /// Click's `parse_handler`: `.h` and `0.h` are global, `e.h` names an element by name or
    /// 1-based index. Returns (element, handler) or writes the 510/511/540 reply.
    fn parse_handler<H: HandlerHost + ?Sized>(
        &mut self,
        host: &H,
        full: &str,
    ) -> Option<(Option<String>, String)> {
        if !host.has_router() {
            self.message(code::NO_ROUTER, "No router installed", false);
            return None;
        }
        let canonical = canonical_handler_name(full);
        let (element, hname) = match canonical.split_once('.') {
            Some((ename, hname)) => {
                let e = if host.has_element(ename) {
                    Some(ename.to_owned())
                } else {
                    ename
                        .parse::<usize>()
                        .ok()
                        .filter(|&n| n > 0)
                        .and_then(|n| host.element_name_by_index(n))
                };
                let Some(e) = e else {
                    self.message(
                        code::NO_SUCH_ELEMENT,
                        &format!("No element named '{ename}'"),
                        false,
                    );
                    return None;
                };
                (Some(e), hname.to_owned())
            }
            None => (None, canonical.to_owned()),
        };
        if host.handler_info(element.as_deref(), &hname).is_none() {
            self.message(
                code::NO_SUCH_HANDLER,
                &format!("No handler named '{full}'"),
                false,
            );
            return None;
        }
        Some((element, hname))
    }

    fn read_command<H: HandlerHost + ?Sized>(&mut self, host: &mut H, full: &str, param: &[u8]) {
        let Some((e, h)) = self.parse_handler(host, full) else {
            return;
        };
        let info = host.handler_info(e.as_deref(), &h).unwrap_or_default();
        if !info.readable {
            self.message(
                code::PERMISSION,
                &format!("Handler '{full}' write-only"),
                false,
            );
            return;
        }
        match host.call_read(e.as_deref(), &h, param) {
            Ok(data) => {
                self.message(code::OK, &format!("Read handler '{full}' OK"), false);
                self.data(&data);
            }
            Err(HandlerFailure { code: c, messages }) => self.transfer(
                c.unwrap_or(code::UNSPECIFIED),
                &format!("Read handler '{full}' error"),
                &messages,
            ),
        }
    }

    fn write_command<H: HandlerHost + ?Sized>(&mut self, host: &mut H, full: &str, data: &[u8]) {
        let Some((e, h)) = self.parse_handler(host, full) else {
            return;
        };
        let info = host.handler_info(e.as_deref(), &h).unwrap_or_default();
        if !info.writable {
            self.message(
                code::PERMISSION,
                &format!("Handler '{full}' read-only"),
                false,
            );
            return;
        }
        if self.cfg.readonly {
            self.message(
                code::PERMISSION,
                &format!("Permission denied for '{full}'"),
                false,
            );
            return;
        }
        match host.call_write(e.as_deref(), &h, data) {
            Ok(w) if w.warnings.is_empty() => {
                self.message(code::OK, &format!("Write handler '{full}' OK"), false)
            }
            Ok(w) => self.transfer(
                code::OK_WARN,
                &format!("Write handler '{full}' OK with warnings"),
                &w.warnings,
            ),
            Err(HandlerFailure { code: c, messages }) => {
                let c = c.unwrap_or(code::HANDLER_ERROR);
                let header = if c == code::HANDLER_ERROR {
                    format!("Write handler '{full}' error")
                } else {
                    String::new()
                };
                self.transfer(c, &header, &messages)
            }
        }
    }

    fn check_command<H: HandlerHost + ?Sized>(&mut self, host: &mut H, full: &str, write: bool) {
        let Some((e, h)) = self.parse_handler(host, full) else {
            return;
        };
        let info = host.handler_info(e.as_deref(), &h).unwrap_or_default();
        let ok = if write { info.writable } else { info.readable };
        if write && self.cfg.readonly && ok {
            self.message(
                code::PERMISSION,
                &format!("Permission denied for '{full}'"),
                false,
            );
        } else if ok {
            let kind = if write { "Write" } else { "Read" };
            self.message(code::OK, &format!("{kind} handler '{full}' OK"), false);
        } else {
            let what = if write {
                "not writable"
            } else {
                "not readable"
            };
            self.message(
                code::NO_SUCH_HANDLER,
                &format!("Handler '{full}' {what}"),
                false,
            );
        }
    }

    fn llrpc_command<H: HandlerHost + ?Sized>(&mut self, host: &mut H, name: &str) {
        let (elem, num) = name.split_once('#').unwrap_or(("", name));
        if num.is_empty() || u32::from_str_radix(num, 16).is_err() {
            self.message(
                code::SYNTAX,
                &format!("Syntax error in LLRPC name '{name}'"),
                false,
            );
            return;
        }
        // Click resolves the element through its always-present `name` handler; only
        // the element's existence matters.
        if !host.has_router() {
            self.message(code::NO_ROUTER, "No router installed", false);
            return;
        }
        let elem = canonical_handler_name(elem);
        let found = elem.is_empty()
            || host.has_element(elem)
            || elem
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .and_then(|n| host.element_name_by_index(n))
                .is_some();
        if !found {
            self.message(
                code::NO_SUCH_ELEMENT,
                &format!("No element named '{elem}'"),
                false,
            );
            return;
        }
        self.message(
            code::UNIMPLEMENTED,
            &format!("Cannot call LLRPC '{name}' remotely"),
            false,
        );
    }
}

const HELP: &[&str] = &[
    "Commands supported:",
    "READ handler [arg...]   call read handler, return DATA",
    "READDATA handler len    call read handler with len data bytes, return DATA",
    "READUNTIL handler term  call read handler, take data until term, return DATA",
    "WRITE handler [arg...]  call write handler",
    "WRITEDATA handler len   call write handler, pass len data bytes",
    "WRITEUNTIL handler term call write handler, take data until term",
    "CHECKREAD handler       check if read handler is valid",
    "CHECKWRITE handler      check if write handler is valid",
    "LLRPC elt#number [len]  call LLRPC, pass len data bytes, return DATA",
    "QUIT                    close connection",
];

/// `.h` and `0.h` name the global handler `h`.
fn canonical_handler_name(n: &str) -> &str {
    match n.find('.') {
        Some(0) => &n[1..],
        Some(1) if n.starts_with('0') => &n[2..],
        _ => n,
    }
}

/// Word boundaries (start, end) split on ASCII whitespace, as Click's `isspace` loop.
fn split_words(line: &[u8]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        let s = i;
        while i < line.len() && !is_space(line[i]) {
            i += 1;
        }
        if s < i {
            v.push((s, i));
        }
    }
    v
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn parse_len(s: &str) -> Option<usize> {
    let s = s.strip_prefix('+').unwrap_or(s);
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Finds the line equal to `until` (trailing whitespace ignored) in `input`. Returns
/// (length of the body before that line, bytes consumed including the terminator line).
fn find_until(input: &[u8], until: &[u8]) -> Option<(usize, usize)> {
    let mut s = 0;
    loop {
        let begin = s;
        let mut content_end = s;
        while s < input.len() && input[s] != b'\n' && input[s] != b'\r' {
            if !is_space(input[s]) {
                content_end = s + 1;
            }
            s += 1;
        }
        if s == input.len() {
            return None;
        }
        if input[s] == b'\r' && input.get(s + 1) == Some(&b'\n') {
            s += 2;
        } else {
            s += 1;
        }
        if input[begin..content_end] == *until {
            return Some((begin, s));
        }
    }
}

/// Click's `String::printable`: control bytes as `^X`, bytes >= 127 as `\ooo`.
fn printable_into(s: &[u8], out: &mut Vec<u8>) {
    for &b in s {
        match b {
            32..=126 => out.push(b),
            0..=31 => {
                out.push(b'^');
                out.push(b + 64);
            }
            _ => out.extend_from_slice(format!("\\{b:03o}").as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controlsocket::host::{HandlerInfo, WriteOutcome};
    use std::collections::BTreeMap;

    /// A router with `c` (Counter: count r, reset w) and `q` (Queue: capacity rw, length r).
    struct Fake {
        values: BTreeMap<(String, String), (HandlerInfo, String)>,
    }

    fn fake() -> Fake {
        let rw = HandlerInfo {
            readable: true,
            writable: true,
        };
        let r = HandlerInfo {
            readable: true,
            writable: false,
        };
        let w = HandlerInfo {
            readable: false,
            writable: true,
        };
        let mut values = BTreeMap::new();
        for (e, h, i, v) in [
            ("c", "count", r, "0"),
            ("c", "reset", w, ""),
            ("q", "capacity", rw, "1000"),
            ("", "version", r, "2.1"),
            ("", "list", r, "2\nc\nq\n"),
        ] {
            values.insert((e.to_owned(), h.to_owned()), (i, v.to_owned()));
        }
        Fake { values }
    }

    impl HandlerHost for Fake {
        fn has_element(&self, name: &str) -> bool {
            name == "c" || name == "q"
        }
        fn element_name_by_index(&self, i: usize) -> Option<String> {
            ["c", "q"].get(i - 1).map(|s| s.to_string())
        }
        fn handler_info(&self, e: Option<&str>, h: &str) -> Option<HandlerInfo> {
            self.values
                .get(&(e.unwrap_or("").to_owned(), h.to_owned()))
                .map(|x| x.0)
        }
        fn call_read(
            &mut self,
            e: Option<&str>,
            h: &str,
            _: &[u8],
        ) -> Result<Vec<u8>, HandlerFailure> {
            Ok(self.values[&(e.unwrap_or("").to_owned(), h.to_owned())]
                .1
                .clone()
                .into_bytes())
        }
        fn call_write(
            &mut self,
            e: Option<&str>,
            h: &str,
            v: &[u8],
        ) -> Result<WriteOutcome, HandlerFailure> {
            let v = String::from_utf8_lossy(v).trim().to_owned();
            if h == "capacity" {
                if v.parse::<u32>().is_err() {
                    return Err(HandlerFailure::msg("capacity: expected integer"));
                }
                self.values
                    .get_mut(&("q".into(), "capacity".into()))
                    .unwrap()
                    .1 = v;
                return Ok(WriteOutcome::default());
            }
            let _ = e;
            Ok(WriteOutcome {
                warnings: if v == "warn" {
                    vec!["careful".into()]
                } else {
                    vec![]
                },
            })
        }
    }

    fn talk(input: &[u8]) -> String {
        let mut s = Session::new(SessionConfig::default());
        let mut h = fake();
        s.feed(input);
        s.process(&mut h);
        String::from_utf8_lossy(s.output()).into_owned()
    }

    #[test]
    fn greeting_and_read() {
        assert_eq!(
            talk(b"READ c.count\r\n"),
            "Click::ControlSocket/1.3\r\n200 Read handler 'c.count' OK\r\nDATA 1\r\n0"
        );
    }

    #[test]
    fn line_endings_and_case() {
        let out = talk(b"get 1.count\rread .version\nReAd 0.version\r\n");
        assert!(out.contains("200 Read handler '1.count' OK\r\nDATA 1\r\n0"));
        assert!(out.contains("200 Read handler '.version' OK\r\nDATA 3\r\n2.1"));
        assert!(out.contains("200 Read handler '0.version' OK\r\nDATA 3\r\n2.1"));
    }

    #[test]
    fn errors() {
        let out = talk(b"READ x.count\nREAD c.nope\nREAD c.reset\nWRITE c.count 1\nFOO\nREAD\n");
        assert!(out.contains("510 No element named 'x'\r\n"));
        assert!(out.contains("511 No handler named 'c.nope'\r\n"));
        assert!(out.contains("530 Handler 'c.reset' write-only\r\n"));
        assert!(out.contains("530 Handler 'c.count' read-only\r\n"));
        assert!(out.contains("501 Command 'FOO' unimplemented\r\n"));
        assert!(out.contains("500 Wrong number of arguments\r\n"));
    }

    #[test]
    fn writes_with_warnings_and_errors() {
        let out =
            talk(b"WRITE q.capacity 5\nWRITE q.capacity x\nWRITE c.reset warn\nREAD q.capacity\n");
        assert!(out.contains("200 Write handler 'q.capacity' OK\r\n"));
        assert!(out.contains(
            "520-Write handler 'q.capacity' error:\r\n520 capacity: expected integer\r\n"
        ));
        assert!(out.contains("220-Write handler 'c.reset' OK with warnings:\r\n220 careful\r\n"));
        assert!(out.ends_with("DATA 1\r\n5"));
    }

    #[test]
    fn data_commands_wait_for_their_bytes() {
        let mut s = Session::new(SessionConfig::default());
        let mut h = fake();
        s.feed(b"WRITEDATA q.capacity 2\r\n4");
        s.process(&mut h);
        assert_eq!(s.output(), GREETING.as_bytes());
        s.feed(b"2READUNTIL q.capacity\r\nx\r\n\r\nCHECKWRITE c.count\n");
        s.process(&mut h);
        let out = String::from_utf8_lossy(s.output()).into_owned();
        assert!(
            out.contains("200 Write handler 'q.capacity' OK\r\n"),
            "{out}"
        );
        assert!(
            out.contains("200 Read handler 'q.capacity' OK\r\nDATA 2\r\n42"),
            "{out}"
        );
        assert!(
            out.ends_with("511 Handler 'c.count' not writable\r\n"),
            "{out}"
        );
    }

    #[test]
    fn writeuntil_body_and_terminator() {
        let out = talk(b"WRITEUNTIL q.capacity END\n77\nEND  \nREAD q.capacity\n");
        assert!(
            out.contains("200 Write handler 'q.capacity' OK\r\n"),
            "{out}"
        );
        assert!(out.ends_with("DATA 2\r\n77"), "{out}");
    }

    #[test]
    fn readonly_and_checks() {
        let mut s = Session::new(SessionConfig {
            readonly: true,
            ..SessionConfig::default()
        });
        let mut h = fake();
        s.feed(
            b"WRITE q.capacity 3\nCHECKWRITE q.capacity\nCHECKREAD q.capacity\nCHECKREAD c.reset\n",
        );
        s.process(&mut h);
        let out = String::from_utf8_lossy(s.output()).into_owned();
        assert!(out.contains("530 Permission denied for 'q.capacity'\r\n530 Permission denied"));
        assert!(out.contains("200 Read handler 'q.capacity' OK\r\n"));
        assert!(out.ends_with("511 Handler 'c.reset' not readable\r\n"));
    }

    #[test]
    fn too_big_is_521_and_stream_stays_in_sync() {
        let mut s = Session::new(SessionConfig {
            max_data: 4,
            ..SessionConfig::default()
        });
        let mut h = fake();
        s.feed(b"WRITEDATA q.capacity 10\r\n0123");
        s.process(&mut h);
        s.feed(b"456789READ c.count\n");
        s.process(&mut h);
        let out = String::from_utf8_lossy(s.output()).into_owned();
        assert!(
            out.contains("521 Data too large for write handler 'q.capacity'\r\n"),
            "{out}"
        );
        assert!(
            out.ends_with("200 Read handler 'c.count' OK\r\nDATA 1\r\n0"),
            "{out}"
        );
    }

    #[test]
    fn long_line_closes() {
        let mut s = Session::new(SessionConfig {
            max_line: 16,
            ..SessionConfig::default()
        });
        let mut h = fake();
        s.feed(&[b'x'; 40]);
        s.process(&mut h);
        assert!(String::from_utf8_lossy(s.output()).ends_with("500 Line too long\r\n"));
        assert!(s.input_closed());
    }

    #[test]
    fn quit_llrpc_help() {
        let out = talk(b"LLRPC c#zz\nLLRPC c#1\nLLRPC x#1\nHELP\nQUIT now\nREAD c.count\n");
        assert!(out.contains("500 Syntax error in LLRPC name 'c#zz'\r\n"));
        assert!(out.contains("501 Cannot call LLRPC 'c#1' remotely\r\n"));
        assert!(out.contains("510 No element named 'x'\r\n"));
        assert!(out.contains("200-Commands supported:\r\n"));
        assert!(out.contains("200 QUIT                    close connection\r\n"));
        assert!(
            out.ends_with("500 Bad command syntax\r\n200 Goodbye!\r\n"),
            "{out}"
        );
    }

    #[test]
    fn quit_without_newline_at_eof() {
        let mut s = Session::new(SessionConfig::default());
        let mut h = fake();
        s.feed(b"QUIT");
        s.process(&mut h);
        assert_eq!(s.output(), GREETING.as_bytes());
        s.close_input();
        s.process(&mut h);
        assert!(String::from_utf8_lossy(s.output()).ends_with("200 Goodbye!\r\n"));
    }

    #[test]
    fn printable_escapes() {
        let mut v = Vec::new();
        printable_into(b"a\nb\xff", &mut v);
        assert_eq!(v, b"a^Jb\\377");
    }
}
