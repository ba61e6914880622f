//! The Click configuration language: lexer, parser and compound-element flattening.
//!
//! [`parse`] turns configuration text into a [`FlatConfig`]: primitive elements (named
//! `compound/part`, anonymous ones `Class@N`) and connections between their ports. Errors are
//! `file:line: message` lines like Click's.

use std::collections::HashMap;
use std::rc::Rc;

/// One primitive element of a flattened configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlatElement {
    /// Full name.
    pub name: String,
    /// Primitive class name.
    pub class: String,
    /// Configuration string (variables substituted).
    pub config: String,
    /// `file:line` where it was declared.
    pub landmark: String,
}

/// A connection `from [from_port] -> [to_port] to` (element indices into `elements`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlatConnection {
    /// Source element index.
    pub from: usize,
    /// Source output port.
    pub from_port: usize,
    /// Destination element index.
    pub to: usize,
    /// Destination input port.
    pub to_port: usize,
}

/// A flattened configuration.
#[derive(Clone, Debug, Default)]
pub struct FlatConfig {
    /// `require(...)` arguments in order.
    pub requirements: Vec<String>,
    /// Elements in Click's order.
    pub elements: Vec<FlatElement>,
    /// Connections in declaration order.
    pub connections: Vec<FlatConnection>,
    /// Landmark of each connection.
    pub connection_landmarks: Vec<String>,
}

impl FlatConfig {
    /// Click's flattened text (`click -qo-`, the `flatconfig` handler).
    pub fn unparse(&self) -> String {
        let mut s = String::new();
        if !self.requirements.is_empty() {
            s.push_str(&format!("require({});\n\n", self.requirements.join(", ")));
        }
        for e in &self.elements {
            if e.config.is_empty() {
                s.push_str(&format!("{} :: {};\n", e.name, e.class));
            } else {
                s.push_str(&format!("{} :: {}({});\n", e.name, e.class, e.config));
            }
        }
        let conns = &self.connections;
        if conns.is_empty() {
            return s;
        }
        s.push('\n');
        let nc = conns.len();
        let mut next = vec![usize::MAX; nc];
        let mut start = vec![true; nc];
        for c in 0..nc {
            if conns[c].to_port != 0 {
                continue;
            }
            let mut result = usize::MAX;
            for d in 0..nc {
                if d != c && conns[d].from == conns[c].to && conns[d].from_port == 0 {
                    result = d;
                    if conns[d].to_port == 0 {
                        break;
                    }
                }
            }
            if result != usize::MAX {
                next[c] = result;
                start[result] = false;
            }
        }
        let mut used = vec![false; nc];
        loop {
            for c in 0..nc {
                if used[c] || !start[c] {
                    continue;
                }
                let f = &conns[c];
                s.push_str(&self.elements[f.from].name);
                if f.from_port != 0 {
                    s.push_str(&format!(" [{}]", f.from_port));
                }
                let mut d = c;
                while d != usize::MAX && !used[d] {
                    if d == c {
                        s.push_str(" -> ");
                    } else {
                        s.push_str("\n    -> ");
                    }
                    if conns[d].to_port != 0 {
                        s.push_str(&format!("[{}] ", conns[d].to_port));
                    }
                    s.push_str(&self.elements[conns[d].to].name);
                    used[d] = true;
                    d = next[d];
                }
                s.push_str(";\n");
            }
            match (0..nc).find(|&c| !used[c]) {
                Some(c) => start[c] = true,
                None => break,
            }
        }
        s
    }
}

// ---------------------------------------------------------------- lexer

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Var(String),
    Arrow,
    DArrow,
    ColCol,
    Semi,
    Comma,
    LParen,
    RParen,
    LBrack,
    RBrack,
    LBrace,
    RBrace,
    Bar,
    BarBar,
    Ellipsis,
    Eof,
    Other(char),
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
    line: u32,
    file: String,
    /// A file named by a line directive inside a configuration string: it takes effect at
    /// the next token, after the element being declared got its landmark.
    pending_file: Option<String>,
    peeked: Option<(Tok, u32)>,
}

impl<'a> Lexer<'a> {
    fn skip_space(&mut self) {
        loop {
            while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
                if self.s[self.pos] == b'\n' {
                    self.line += 1;
                }
                self.pos += 1;
            }
            if self.s.get(self.pos..).unwrap_or(&[]).starts_with(b"//") {
                while self.pos < self.s.len() && self.s[self.pos] != b'\n' {
                    self.pos += 1;
                }
            } else if self.s.get(self.pos..).unwrap_or(&[]).starts_with(b"/*") {
                self.pos += 2;
                while self.pos < self.s.len()
                    && !self.s.get(self.pos..).unwrap_or(&[]).starts_with(b"*/")
                {
                    if self.s[self.pos] == b'\n' {
                        self.line += 1;
                    }
                    self.pos += 1;
                }
                self.pos = (self.pos + 2).min(self.s.len());
            } else if self.pos < self.s.len()
                && self.s[self.pos] == b'#'
                && (self.pos == 0 || self.s[self.pos - 1] == b'\n')
            {
                // line directive `# 12 "file"` or other cpp line
                let start = self.pos;
                while self.pos < self.s.len() && self.s[self.pos] != b'\n' {
                    self.pos += 1;
                }
                let l = String::from_utf8_lossy(&self.s[start + 1..self.pos]).to_string();
                self.line_directive(&l);
            } else {
                return;
            }
        }
    }

    fn peek(&mut self) -> &Tok {
        if self.peeked.is_none() {
            let t = self.lex();
            self.peeked = Some(t);
        }
        self.peeked.as_ref().map(|p| &p.0).unwrap_or(&Tok::Eof)
    }

    fn next(&mut self) -> (Tok, u32) {
        if let Some(t) = self.peeked.take() {
            return t;
        }
        self.lex()
    }

    fn lex(&mut self) -> (Tok, u32) {
        if let Some(f) = self.pending_file.take() {
            self.file = f;
        }
        self.skip_space();
        let line = self.line;
        let s = self.s;
        if self.pos >= s.len() {
            return (Tok::Eof, line);
        }
        let c = s[self.pos];
        let two = |a: u8, b: u8| c == a && self.pos + 1 < s.len() && s[self.pos + 1] == b;
        let (t, n) = if two(b'-', b'>') {
            (Tok::Arrow, 2)
        } else if two(b'=', b'>') {
            (Tok::DArrow, 2)
        } else if two(b':', b':') {
            (Tok::ColCol, 2)
        } else if two(b'|', b'|') {
            (Tok::BarBar, 2)
        } else if s.get(self.pos..).unwrap_or(&[]).starts_with(b"...") {
            (Tok::Ellipsis, 3)
        } else {
            match c {
                b';' => (Tok::Semi, 1),
                b',' => (Tok::Comma, 1),
                b'(' => (Tok::LParen, 1),
                b')' => (Tok::RParen, 1),
                b'[' => (Tok::LBrack, 1),
                b']' => (Tok::RBrack, 1),
                b'{' => (Tok::LBrace, 1),
                b'}' => (Tok::RBrace, 1),
                b'|' => (Tok::Bar, 1),
                b'$' => {
                    let start = self.pos + 1;
                    let mut e = start;
                    if e < s.len() && s[e] == b'{' {
                        while e < s.len() && s[e] != b'}' {
                            e += 1;
                        }
                        let v = String::from_utf8_lossy(&s[start + 1..e]).to_string();
                        self.pos = (e + 1).min(s.len());
                        return (Tok::Var(v), line);
                    }
                    while e < s.len() && (s[e].is_ascii_alphanumeric() || s[e] == b'_') {
                        e += 1;
                    }
                    let v = String::from_utf8_lossy(&s[start..e]).to_string();
                    self.pos = e;
                    return (Tok::Var(v), line);
                }
                c if is_ident_char(c) => {
                    let start = self.pos;
                    let mut e = start;
                    while e < s.len() && is_ident_char(s[e]) {
                        if s[e] == b'/' && e + 1 < s.len() && (s[e + 1] == b'/' || s[e + 1] == b'*')
                        {
                            break;
                        }
                        e += 1;
                    }
                    while e > start + 1 && s[e - 1] == b'/' {
                        e -= 1;
                    }
                    let v = String::from_utf8_lossy(&s[start..e]).to_string();
                    self.pos = e;
                    return (Tok::Ident(v), line);
                }
                other => (Tok::Other(other as char), 1),
            }
        };
        self.pos += n;
        (t, line)
    }

    /// A cpp line directive (`# 12 "file"`, `#line 12`; text after the `#`): the next line
    /// is line 12 of that file.
    fn line_directive(&mut self, l: &str) {
        let mut w = l.split_whitespace();
        let first = w.next().unwrap_or("");
        let first = if first == "line" {
            w.next().unwrap_or("")
        } else {
            first
        };
        if let Ok(n) = first.parse::<u32>() {
            self.line = n.saturating_sub(1);
            if let Some(f) = w.next() {
                let f = f.trim_matches('"');
                if !f.is_empty() {
                    self.file = f.to_string();
                }
            }
        }
    }

    /// Raw text up to the matching `close` (after the opening one was consumed). Line
    /// directives inside it are applied and left out of the text, as in Click.
    fn raw_until(&mut self, open: u8, close: u8) -> Result<String, ()> {
        debug_assert!(self.peeked.is_none());
        let s = self.s;
        let mut seg = self.pos;
        let mut text: Vec<u8> = Vec::new();
        let mut depth = 0;
        let mut quote = 0u8;
        while self.pos < s.len() {
            let c = s[self.pos];
            if c == b'\n' {
                self.line += 1;
            }
            if quote == 0 && c == b'#' && self.pos > 0 && s[self.pos - 1] == b'\n' {
                text.extend_from_slice(&s[seg..self.pos]);
                let d = self.pos;
                while self.pos < s.len() && s[self.pos] != b'\n' {
                    self.pos += 1;
                }
                let l = String::from_utf8_lossy(&s[d + 1..self.pos]).to_string();
                self.line_directive(&l);
                seg = self.pos;
                continue;
            }
            if quote != 0 {
                if c == b'\\' && quote == b'"' {
                    self.pos += 1;
                } else if c == quote {
                    quote = 0;
                }
            } else if c == b'"' || c == b'\'' {
                quote = c;
            } else if s.get(self.pos..).unwrap_or(&[]).starts_with(b"//") {
                while self.pos < s.len() && s[self.pos] != b'\n' {
                    self.pos += 1;
                }
                continue;
            } else if s.get(self.pos..).unwrap_or(&[]).starts_with(b"/*") {
                self.pos += 2;
                while self.pos < s.len() && !s.get(self.pos..).unwrap_or(&[]).starts_with(b"*/") {
                    if s[self.pos] == b'\n' {
                        self.line += 1;
                    }
                    self.pos += 1;
                }
                self.pos = (self.pos + 2).min(s.len());
                continue;
            } else if c == open {
                depth += 1;
            } else if c == close {
                if depth == 0 {
                    text.extend_from_slice(&s[seg..self.pos]);
                    self.pos += 1;
                    return Ok(String::from_utf8_lossy(&text).into_owned());
                }
                depth -= 1;
            }
            self.pos += 1;
        }
        Err(())
    }
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'@' || c == b'/'
}

// ---------------------------------------------------------------- parse tree

#[derive(Clone, Debug)]
enum ClassRef {
    Primitive(String),
    Compound(Rc<CompoundDef>),
}

#[derive(Debug)]
struct CompoundDef {
    name: String,
    overloads: Vec<Rc<Overload>>,
}

#[derive(Debug)]
struct Overload {
    formals: Vec<(Option<String>, String)>,
    body: Body,
    ninputs: usize,
    noutputs: usize,
}

#[derive(Clone, Debug)]
struct Decl {
    name: String,
    class: ClassRef,
    config: String,
    landmark: String,
    pseudo: bool,
    /// One side of a group `( ... )`: connections through it are joined up after expansion
    /// (Click's tunnels), so a group is no scope of its own.
    tunnel: bool,
}

#[derive(Clone, Debug, Default)]
struct Body {
    decls: Vec<Decl>,
    conns: Vec<(usize, usize, usize, usize, String)>,
    defines: Vec<(String, String)>,
    requires: Vec<String>,
    names: HashMap<String, usize>,
    /// Element classes defined inside this body (their formals' scope is this body's).
    nested: Vec<Rc<CompoundDef>>,
}

struct Parser<'a, 'r> {
    lx: Lexer<'a>,
    is_class: &'r dyn Fn(&str) -> bool,
    errors: Vec<String>,
    /// Compound class scopes (innermost last).
    classes: Vec<HashMap<String, ClassRef>>,
    anon_compounds: usize,
    /// Library files already read by `require(library FILE)` (each is read once).
    libraries: std::collections::HashSet<std::path::PathBuf>,
}

type Ends = Vec<(usize, Vec<usize>)>; // (decl index, ports)
/// (input ports, declaration taking the inputs, declaration giving the outputs, output ports)
/// of one element reference; the two declarations differ only for a group's tunnels.
type ElemRef = (Vec<usize>, usize, usize, Vec<usize>);
/// Last entry of a port list ending in `,]` or `[]`: Click's expandable port.
const EXPANDABLE: usize = usize::MAX;

impl<'a, 'r> Parser<'a, 'r> {
    fn landmark(&self, line: u32) -> String {
        format!("{}:{}", self.lx.file, line)
    }
    fn err(&mut self, line: u32, msg: impl std::fmt::Display) {
        let l = self.landmark(line);
        self.errors.push(format!("{l}: {msg}"));
    }

    fn lookup_class(&self, name: &str) -> Option<ClassRef> {
        for scope in self.classes.iter().rev() {
            if let Some(c) = scope.get(name) {
                return Some(c.clone());
            }
        }
        if (self.is_class)(name) {
            return Some(ClassRef::Primitive(name.to_string()));
        }
        None
    }

    /// Parse statements until `}`, `)`, `||` or EOF (not consumed).
    fn stmts(&mut self, body: &mut Body) {
        loop {
            match self.lx.peek().clone() {
                Tok::Eof | Tok::RBrace | Tok::BarBar | Tok::RParen => return,
                Tok::Semi => {
                    self.lx.next();
                }
                Tok::Ident(ref k) if k == "elementclass" => {
                    let (_, line) = self.lx.next();
                    self.elementclass(line);
                }
                Tok::Ident(ref k) if k == "require" || k == "provide" || k == "define" => {
                    let k = k.clone();
                    let (_, line) = self.lx.next();
                    if self.lx.next().0 != Tok::LParen {
                        self.err(line, format!("syntax error near '{k}'"));
                        continue;
                    }
                    let Ok(conf) = self.lx.raw_until(b'(', b')') else {
                        self.err(line, "unterminated configuration string");
                        return;
                    };
                    if k == "require" {
                        for a in crate::args::split_args(&conf) {
                            if let Some(lib) = a.strip_prefix("library") {
                                if lib.starts_with(char::is_whitespace) {
                                    self.library(&crate::args::unquote(lib.trim()), line, body);
                                }
                            }
                            body.requires.push(a);
                        }
                    } else if k == "define" {
                        for a in crate::args::split_args(&conf) {
                            let mut it = a.splitn(2, char::is_whitespace);
                            let n = it.next().unwrap_or("").trim_start_matches('$').to_string();
                            let v = it.next().unwrap_or("").trim().to_string();
                            body.defines.push((n, v));
                        }
                    }
                }
                _ => self.connection(body),
            }
        }
    }

    /// `require(library FILE)`: read FILE (relative to this file's directory) for its element
    /// classes and requirements, as Click's lexer does.
    fn library(&mut self, lib: &str, line: u32, body: &mut Body) {
        let path = std::path::Path::new(&self.lx.file)
            .parent()
            .unwrap_or(std::path::Path::new(""))
            .join(lib);
        let key = path.canonicalize().unwrap_or_else(|_| path.clone());
        if !self.libraries.insert(key) {
            return;
        }
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                self.err(line, format!("library {lib}: {e}"));
                return;
            }
        };
        let mut sub = Parser {
            lx: Lexer {
                s: text.as_bytes(),
                pos: 0,
                line: 1,
                file: path.display().to_string(),
                pending_file: None,
                peeked: None,
            },
            is_class: self.is_class,
            errors: Vec::new(),
            classes: std::mem::take(&mut self.classes),
            anon_compounds: self.anon_compounds,
            libraries: std::mem::take(&mut self.libraries),
        };
        let mut lib_body = Body::default();
        loop {
            sub.stmts(&mut lib_body);
            match sub.lx.next() {
                (Tok::Eof, _) => break,
                (t, l) => sub.err(l, format!("syntax error near '{}'", tok_text(&t))),
            }
        }
        self.classes = sub.classes;
        self.anon_compounds = sub.anon_compounds;
        self.libraries = sub.libraries;
        self.errors.extend(sub.errors);
        body.requires.extend(lib_body.requires);
    }

    fn elementclass(&mut self, line: u32) {
        let name = match self.lx.next() {
            (Tok::Ident(n), _) => n,
            _ => {
                self.err(line, "expected element class name");
                return;
            }
        };
        let cls = match self.lx.peek().clone() {
            Tok::Ident(other) => {
                self.lx.next();
                match self.lookup_class(&other) {
                    Some(c) => c,
                    None => {
                        self.err(line, format!("unknown element class '{other}'"));
                        return;
                    }
                }
            }
            Tok::LBrace => {
                self.lx.next();
                match self.compound_body(&name, line) {
                    Some(c) => ClassRef::Compound(c),
                    None => return,
                }
            }
            _ => {
                self.err(line, "syntax error: expected element class");
                return;
            }
        };
        if let Some(s) = self.classes.last_mut() {
            s.insert(name, cls);
        }
    }

    /// After `{`: overloads separated by `||`, optional `|| ...`, then `}`.
    fn compound_body(&mut self, name: &str, line: u32) -> Option<Rc<CompoundDef>> {
        let mut overloads = Vec::new();
        loop {
            if *self.lx.peek() == Tok::Ellipsis {
                self.lx.next();
                match self.lookup_class(name) {
                    Some(ClassRef::Compound(prev)) => {
                        overloads.extend(prev.overloads.iter().cloned())
                    }
                    _ => self.err(
                        line,
                        format!("'...' used in '{name}' but no previous definition"),
                    ),
                }
            } else {
                let formals = self.formals();
                self.classes.push(HashMap::new());
                let mut body = Body::default();
                for p in ["input", "output"] {
                    body.names.insert(p.into(), body.decls.len());
                    body.decls.push(Decl {
                        name: p.into(),
                        class: ClassRef::Primitive(p.into()),
                        config: String::new(),
                        landmark: String::new(),
                        pseudo: true,
                        tunnel: false,
                    });
                }
                self.stmts(&mut body);
                if let Some(scope) = self.classes.pop() {
                    body.nested = scope
                        .into_values()
                        .filter_map(|c| match c {
                            ClassRef::Compound(d) => Some(d),
                            ClassRef::Primitive(_) => None,
                        })
                        .collect();
                }
                let ninputs = body
                    .conns
                    .iter()
                    .filter(|c| c.0 == 0)
                    .map(|c| c.1 + 1)
                    .max()
                    .unwrap_or(0);
                let noutputs = body
                    .conns
                    .iter()
                    .filter(|c| c.2 == 1)
                    .map(|c| c.3 + 1)
                    .max()
                    .unwrap_or(0);
                if body.conns.iter().any(|c| c.2 == 0) {
                    self.err(line, format!("'{name}' input pseudoelement used as output"));
                }
                if body.conns.iter().any(|c| c.0 == 1) {
                    self.err(line, format!("'{name}' output pseudoelement used as input"));
                }
                overloads.push(Rc::new(Overload {
                    formals,
                    body,
                    ninputs,
                    noutputs,
                }));
            }
            match self.lx.next() {
                (Tok::BarBar, _) => continue,
                (Tok::RBrace, _) => break,
                (t, l) => {
                    self.err(l, format!("syntax error near {t:?}"));
                    return None;
                }
            }
        }
        Some(Rc::new(CompoundDef {
            name: name.to_string(),
            overloads,
        }))
    }

    /// Optional `$a, KEY $b, __REST__ $c |` prefix. Detected by scanning for `|` before `->`.
    fn formals(&mut self) -> Vec<(Option<String>, String)> {
        // Lookahead over raw bytes: formals consist only of idents, vars, commas up to '|'.
        let save_pos = self.lx.pos;
        let save_line = self.lx.line;
        let save_peek = self.lx.peeked.clone();
        let mut out = Vec::new();
        let mut kw: Option<String> = None;
        loop {
            match self.lx.next().0 {
                Tok::Var(v) => {
                    out.push((kw.take(), v));
                }
                Tok::Ident(k) if kw.is_none() => kw = Some(k),
                Tok::Comma if kw.is_none() => {}
                Tok::Bar if kw.is_none() => return out,
                _ => break,
            }
        }
        self.lx.pos = save_pos;
        self.lx.line = save_line;
        self.lx.peeked = save_peek;
        Vec::new()
    }

    fn ports(&mut self, line: u32) -> Vec<usize> {
        let Ok(raw) = self.lx.raw_until(b'[', b']') else {
            self.err(line, "unterminated port specification");
            return vec![0];
        };
        let raw = crate::args::uncomment(&raw);
        let raw = raw.trim();
        if raw.is_empty() {
            return vec![0, EXPANDABLE];
        }
        let mut v = Vec::new();
        for part in raw.split(',') {
            let p = part.trim();
            if p.is_empty() {
                continue;
            }
            if let Some((a, b)) = p.split_once('-') {
                match (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
                    (Ok(a), Ok(b)) if a <= b && b - a < 4096 => v.extend(a..=b),
                    _ => self.err(line, format!("syntax error: bad port '{p}'")),
                }
            } else {
                match p.parse::<usize>() {
                    Ok(n) => v.push(n),
                    Err(_) => self.err(line, format!("syntax error: bad port '{p}'")),
                }
            }
        }
        if raw.ends_with(',') || raw.ends_with('-') {
            v.push(EXPANDABLE);
        }
        v
    }

    fn declare(
        &mut self,
        body: &mut Body,
        name: String,
        class: ClassRef,
        config: String,
        line: u32,
    ) -> usize {
        if let Some(&i) = body.names.get(&name) {
            if body.decls[i].pseudo {
                self.err(line, format!("'{name}' is a pseudoelement"));
            } else {
                self.err(line, format!("redeclaration of element '{name}'"));
                let l = body.decls[i].landmark.clone();
                self.errors
                    .push(format!("{l}: element '{name}' previously declared here"));
            }
            return i;
        }
        let i = body.decls.len();
        body.names.insert(name.clone(), i);
        let landmark = self.landmark(line);
        body.decls.push(Decl {
            name,
            class,
            config,
            landmark,
            pseudo: false,
            tunnel: false,
        });
        i
    }

    fn anon_name(&self, body: &Body, class: &str) -> String {
        let real = body.decls.iter().filter(|d| !d.pseudo).count();
        format!("{}@{}", class, real + 1)
    }

    fn opt_config(&mut self, line: u32) -> String {
        if *self.lx.peek() == Tok::LParen {
            self.lx.next();
            let file = self.lx.file.clone();
            let r = self.lx.raw_until(b'(', b')');
            if self.lx.file != file {
                self.lx.pending_file = Some(std::mem::replace(&mut self.lx.file, file));
            }
            match r {
                Ok(c) => return c.trim().to_string(),
                Err(()) => self.err(line, "unterminated configuration string"),
            }
        }
        String::new()
    }

    /// One element reference with optional ports: returns (in-ports, decl, out-ports).
    fn element(
        &mut self,
        body: &mut Body,
        pending: &mut Vec<(String, u32, Option<usize>)>,
    ) -> Option<ElemRef> {
        let mut inports = Vec::new();
        if *self.lx.peek() == Tok::LBrack {
            let (_, l) = self.lx.next();
            inports = self.ports(l);
            // In a compound, `[p] ->` starts at `input [p]` and `-> [p]` (at the end of a
            // connection) ends at `[p] output`.
            let pseudo = |n: &str| body.names.get(n).copied().filter(|&i| body.decls[i].pseudo);
            if matches!(self.lx.peek(), Tok::Arrow | Tok::DArrow) {
                if let Some(i) = pseudo("input") {
                    return Some((Vec::new(), i, i, inports));
                }
            }
            if matches!(
                self.lx.peek(),
                Tok::RParen | Tok::Comma | Tok::Semi | Tok::RBrace | Tok::BarBar
            ) {
                if let Some(o) = pseudo("output") {
                    return Some((inports, o, o, Vec::new()));
                }
            }
        }
        let (tok, line) = self.lx.next();
        let idx = match tok {
            Tok::Ident(name) => {
                if *self.lx.peek() == Tok::ColCol {
                    self.lx.next();
                    let (ct, cl) = self.lx.next();
                    let class = match ct {
                        Tok::Ident(c) => match self.lookup_class(&c) {
                            Some(k) => k,
                            None => {
                                self.err(cl, format!("unknown element class '{c}'"));
                                ClassRef::Primitive(c)
                            }
                        },
                        Tok::LBrace => {
                            self.anon_compounds += 1;
                            let n = format!("{name}@anon");
                            ClassRef::Compound(self.compound_body(&n, cl)?)
                        }
                        _ => {
                            self.err(cl, "syntax error: expected element class after '::'");
                            return None;
                        }
                    };
                    if self.lookup_class(&name).is_some() && !body.names.contains_key(&name) {
                        self.err(line, format!("class '{name}' used as element name"));
                    }
                    let config = self.opt_config(line);
                    // `a, b :: C` declares the pending bare names too.
                    for p in pending.iter_mut().filter(|p| p.2.is_none()) {
                        p.2 = Some(self.declare(
                            body,
                            p.0.clone(),
                            class.clone(),
                            config.clone(),
                            line,
                        ));
                    }
                    self.declare(body, name, class, config, line)
                } else if let Some(&i) = body.names.get(&name) {
                    if *self.lx.peek() == Tok::LParen {
                        self.err(line, format!("'{name}' is an element, not a class"));
                        let _ = self.opt_config(line);
                    }
                    i
                } else if let Some(class) = self.lookup_class(&name) {
                    let config = self.opt_config(line);
                    let an = self.anon_name(body, &name);
                    self.declare(body, an, class, config, line)
                } else if *self.lx.peek() == Tok::Comma {
                    // maybe `a, b :: Class`: resolved when the `::` arrives
                    pending.push((name.clone(), line, None));
                    usize::MAX
                } else {
                    self.err(line, format!("undeclared element '{name}'"));
                    let config = self.opt_config(line);
                    let _ = config;
                    self.declare(
                        body,
                        name,
                        ClassRef::Primitive("Error".into()),
                        String::new(),
                        line,
                    )
                }
            }
            Tok::LBrace => {
                self.anon_compounds += 1;
                let cname = format!("@{}", self.anon_compounds);
                let c = self.compound_body(&cname, line)?;
                let config = self.opt_config(line);
                let an = format!(
                    "{}@{}",
                    "",
                    body.decls.iter().filter(|d| !d.pseudo).count() + 1
                );
                let an = format!("Anonymous{an}");
                self.declare(body, an, ClassRef::Compound(c), config, line)
            }
            Tok::LParen => return self.group(body, inports, line),
            t => {
                self.err(line, format!("syntax error near '{}'", tok_text(&t)));
                return None;
            }
        };
        let mut outports = Vec::new();
        if *self.lx.peek() == Tok::LBrack {
            let (_, l) = self.lx.next();
            outports = self.ports(l);
        }
        Some((inports, idx, idx, outports))
    }

    /// A group `( ... )` (the `(` consumed): its statements belong to the enclosing body, as
    /// in Click; `input`/`output` inside it are two tunnel declarations, and the group's
    /// ports are implied by the tunnel ports used unless given explicitly.
    fn group(&mut self, body: &mut Body, mut inports: Vec<usize>, line: u32) -> Option<ElemRef> {
        let tin = body.decls.len();
        for side in ["input", "output"] {
            body.decls.push(Decl {
                name: format!(";group{tin}/{side}"),
                class: ClassRef::Primitive(side.into()),
                config: String::new(),
                landmark: self.landmark(line),
                pseudo: true,
                tunnel: true,
            });
        }
        let tout = tin + 1;
        let saved_in = body.names.insert("input".into(), tin);
        let saved_out = body.names.insert("output".into(), tout);
        self.stmts(body);
        for (side, saved) in [("input", saved_in), ("output", saved_out)] {
            match saved {
                Some(i) => body.names.insert(side.into(), i),
                None => body.names.remove(side),
            };
        }
        if self.lx.next().0 != Tok::RParen {
            self.err(line, "syntax error: expected ')'");
        }
        let used = |ports: Box<dyn Iterator<Item = usize> + '_>| ports.max().map_or(0, |m| m + 1);
        let nin = used(Box::new(
            body.conns.iter().filter(|c| c.0 == tin).map(|c| c.1),
        ));
        let nout = used(Box::new(
            body.conns.iter().filter(|c| c.2 == tout).map(|c| c.3),
        ));
        if inports.is_empty() {
            inports = (0..nin).collect();
        }
        let outports = if *self.lx.peek() == Tok::LBrack {
            let (_, l) = self.lx.next();
            self.ports(l)
        } else {
            (0..nout).collect()
        };
        Some((inports, tin, tout, outports))
    }

    fn elements(&mut self, body: &mut Body) -> Option<Vec<ElemRef>> {
        let mut v = Vec::new();
        let mut pending: Vec<(String, u32, Option<usize>)> = Vec::new();
        loop {
            v.push(self.element(body, &mut pending)?);
            if *self.lx.peek() == Tok::Comma {
                self.lx.next();
            } else {
                break;
            }
        }
        for (e, (name, line, idx)) in v.iter_mut().filter(|e| e.1 == usize::MAX).zip(pending) {
            let decl = match idx {
                Some(i) => i,
                None => {
                    self.err(line, format!("undeclared element '{name}'"));
                    self.declare(
                        body,
                        name,
                        ClassRef::Primitive("Error".into()),
                        String::new(),
                        line,
                    )
                }
            };
            (e.1, e.2) = (decl, decl);
        }
        Some(v)
    }

    fn connection(&mut self, body: &mut Body) {
        let line = self.lx.line;
        let mut left: Option<Vec<ElemRef>> = None;
        if !matches!(self.lx.peek(), Tok::Arrow | Tok::DArrow) {
            match self.elements(body) {
                Some(v) => left = Some(v),
                None => {
                    self.recover();
                    return;
                }
            }
        }
        // Inside groups and compounds a leading arrow starts at `input` and a trailing one
        // ends at `output`.
        if left.is_none() {
            if let Some(&i) = body.names.get("input").filter(|&&i| body.decls[i].pseudo) {
                left = Some(vec![(Vec::new(), i, i, Vec::new())]);
            }
        }
        loop {
            let arrow = match self.lx.peek() {
                Tok::Arrow => false,
                Tok::DArrow => true,
                _ => return,
            };
            let (_, aline) = self.lx.next();
            let trailing = matches!(
                self.lx.peek(),
                Tok::RParen | Tok::Comma | Tok::Semi | Tok::RBrace | Tok::BarBar
            );
            let right = match body.names.get("output").filter(|&&i| body.decls[i].pseudo) {
                Some(&o) if trailing => Some(vec![(Vec::new(), o, o, Vec::new())]),
                _ => self.elements(body),
            };
            let Some(right) = right else {
                self.recover();
                return;
            };
            match &left {
                None => self.err(
                    aline,
                    format!("syntax error near '{}'", if arrow { "=>" } else { "->" }),
                ),
                Some(l) => self.connect(body, l, &right, arrow, aline.max(line)),
            }
            left = Some(right);
        }
    }

    /// Connect `left`'s outputs to `right`'s inputs with Click's port-matching rules
    /// (lexer.cc `yconnection_connect_all`): lists of ports step one by one, a missing port
    /// list counts as one port, `[p,]` expands to as many ports as the other side needs, and
    /// `=>` treats a single portless end facing several ports as expandable.
    fn connect(
        &mut self,
        body: &mut Body,
        left: &[ElemRef],
        right: &[ElemRef],
        many: bool,
        line: u32,
    ) {
        let lm = self.landmark(line);
        // side 0 = inputs (right), side 1 = outputs (left), as in Click's code
        let sides: [Ends; 2] = [
            right.iter().map(|(i, e, _, _)| (*e, i.clone())).collect(),
            left.iter().map(|(_, _, e, o)| (*e, o.clone())).collect(),
        ];
        let analyze = |ends: &Ends| -> (usize, usize) {
            let (mut min, mut expandable) = (0, 0);
            for (_, ps) in ends {
                match ps.len() {
                    0 | 1 => min += 1,
                    n if ps[n - 1] == EXPANDABLE => {
                        min += n - 1;
                        expandable += 1;
                    }
                    n => min += n,
                }
            }
            (min, expandable)
        };
        let (m0, e0) = analyze(&sides[0]);
        let (m1, e1) = analyze(&sides[1]);
        let (minp, mut expandable) = ([m0, m1], [e0, e1]);
        if expandable[0] + expandable[1] > 1 {
            self.err(line, "at most one expandable port allowed per connection");
            expandable[usize::from(minp[0] < minp[1])] = 0;
        }
        if many {
            for k in 0..2 {
                let first_portless = sides[k].first().is_some_and(|(_, ps)| ps.is_empty());
                if minp[k] == 1 && minp[1 - k] > 1 && first_portless {
                    expandable[k] = 1;
                }
            }
        }
        let mut step = [false; 2];
        let mut nexpandable = [0i64; 2];
        for k in 0..2 {
            step[k] = minp[k] > 1 || expandable[k] > 0;
            if expandable[k] > 0 {
                nexpandable[k] = minp[1 - k] as i64 - minp[k] as i64;
            }
        }
        if step[0] && step[1] {
            if !many {
                self.err(line, "syntax error: many-to-many connections require '=>'");
            }
            let (i, o) = (minp[0], minp[1]);
            if expandable == [0, 0] && i != o {
                self.err(
                    line,
                    format!("connection mismatch: {o} outputs connected to {i} inputs"),
                );
            } else if expandable[0] == 0 && i < o {
                self.err(
                    line,
                    format!("connection mismatch: {o} or more outputs connected to {i} inputs"),
                );
            } else if expandable[1] == 0 && o < i {
                self.err(
                    line,
                    format!("connection mismatch: {o} outputs connected to {i} or more inputs"),
                );
            }
        } else if !step[0] && !step[1] {
            step[0] = true;
        }
        let mut it = [0usize; 2];
        let mut ppos = [0usize; 2];
        let mut port: [Option<usize>; 2] = [None, None];
        while it[0] < sides[0].len() && it[1] < sides[1].len() {
            let mut cur = [0usize; 2];
            for k in 0..2 {
                let ps = &sides[k][it[k]].1;
                cur[k] = *port[k].get_or_insert(ps.first().copied().unwrap_or(0));
            }
            body.conns.push((
                sides[1][it[1]].0,
                cur[1],
                sides[0][it[0]].0,
                cur[0],
                lm.clone(),
            ));
            for k in 0..2 {
                if !step[k] {
                    continue;
                }
                let ps = &sides[k][it[k]].1;
                let np = ps.len();
                ppos[k] += 1;
                if ppos[k] < np && ps[ppos[k]] != EXPANDABLE {
                    port[k] = Some(ps[ppos[k]]);
                } else if np >= 2 && ps[np - 1] == EXPANDABLE && nexpandable[k] > 0 {
                    port[k] = Some(ps[np - 2] + ppos[k] - (np - 2));
                    nexpandable[k] -= 1;
                } else if np == 0 && minp[k] == 1 && nexpandable[k] > 0 {
                    port[k] = Some(ppos[k]);
                    nexpandable[k] -= 1;
                } else {
                    port[k] = None;
                    ppos[k] = 0;
                    it[k] += 1;
                }
            }
        }
    }

    fn recover(&mut self) {
        loop {
            match self.lx.peek() {
                Tok::Eof | Tok::RBrace | Tok::BarBar | Tok::RParen => return,
                Tok::Semi => {
                    self.lx.next();
                    return;
                }
                _ => {
                    self.lx.next();
                }
            }
        }
    }
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => s.clone(),
        Tok::Var(s) => format!("${s}"),
        Tok::Arrow => "->".into(),
        Tok::DArrow => "=>".into(),
        Tok::ColCol => "::".into(),
        Tok::Semi => ";".into(),
        Tok::Comma => ",".into(),
        Tok::LParen => "(".into(),
        Tok::RParen => ")".into(),
        Tok::LBrack => "[".into(),
        Tok::RBrack => "]".into(),
        Tok::LBrace => "{".into(),
        Tok::RBrace => "}".into(),
        Tok::Bar => "|".into(),
        Tok::BarBar => "||".into(),
        Tok::Ellipsis => "...".into(),
        Tok::Eof => "end of file".into(),
        Tok::Other(c) => c.to_string(),
    }
}

// ---------------------------------------------------------------- flattening

/// Substitute `$x`, `${x}` and `${x-default}` from `vars`.
fn substitute(s: &str, vars: &HashMap<String, String>) -> String {
    if !s.contains('$') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let mut last = 0;
    let mut quote = 0u8;
    while i < b.len() {
        let c = b[i];
        if quote == b'\'' {
            if c == b'\'' {
                quote = 0;
            }
            i += 1;
            continue;
        }
        if c == b'\'' && quote == 0 {
            quote = b'\'';
            i += 1;
            continue;
        }
        if c == b'"' {
            quote = if quote == b'"' { 0 } else { b'"' };
        }
        if c == b'\\' && quote == b'"' {
            i += 2;
            continue;
        }
        if c == b'$' {
            let (name, dflt, end) = if i + 1 < b.len() && b[i + 1] == b'{' {
                let close = s[i..].find('}').map(|p| p + i).unwrap_or(b.len());
                let inner = &s[i + 2..close.min(s.len())];
                match inner.split_once('-') {
                    Some((n, d)) => (n.to_string(), Some(d.to_string()), close + 1),
                    None => (inner.to_string(), None, close + 1),
                }
            } else {
                let mut e = i + 1;
                while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'_') {
                    e += 1;
                }
                (s[i + 1..e].to_string(), None, e)
            };
            // `${a[2]}`: the third word of $a (the index may itself be a variable).
            let (name, index) = match name.split_once('[') {
                Some((n, rest)) => {
                    let ix = rest.trim_end_matches(']');
                    let ix = ix
                        .strip_prefix('$')
                        .and_then(|v| vars.get(v).cloned())
                        .unwrap_or_else(|| ix.to_string());
                    (n.to_string(), ix.trim().parse::<usize>().ok())
                }
                None => (name, None),
            };
            let val = vars.get(&name).cloned().or(dflt).map(|v| match index {
                Some(i) => crate::args::split_words(&v)
                    .get(i)
                    .cloned()
                    .unwrap_or_default(),
                None => v,
            });
            if let Some(v) = val {
                out.push_str(&s[last..i]);
                if quote == b'"' {
                    out.push_str(&v.replace('"', "\\\""));
                } else {
                    out.push_str(&v);
                }
                last = end.min(s.len());
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&s[last.min(s.len())..]);
    out
}

struct Pending {
    name: String,
    class: ClassRef,
    config: String,
    landmark: String,
    vars: Rc<HashMap<String, String>>,
    /// The variables in force where each enclosing compound defined its nested classes
    /// (keyed by class identity): formals are scoped lexically, as in Click.
    class_envs: ClassEnvs,
    dead: bool,
    pseudo: bool,
    tunnel: bool,
}

type ClassEnvs = Rc<Vec<(*const CompoundDef, Rc<HashMap<String, String>>)>>;

/// Parse and flatten configuration text. `is_class` says which primitive classes exist.
pub fn parse(
    text: &str,
    file: &str,
    is_class: &dyn Fn(&str) -> bool,
) -> Result<FlatConfig, Vec<String>> {
    parse_with_defines(text, file, is_class, &[])
}

/// Like [`parse`], with command-line `NAME=value` overrides of top-level defines.
pub fn parse_with_defines(
    text: &str,
    file: &str,
    is_class: &dyn Fn(&str) -> bool,
    overrides: &[(String, String)],
) -> Result<FlatConfig, Vec<String>> {
    let mut p = Parser {
        lx: Lexer {
            s: text.as_bytes(),
            pos: 0,
            line: 1,
            file: file.to_string(),
            pending_file: None,
            peeked: None,
        },
        is_class,
        errors: Vec::new(),
        classes: vec![HashMap::new()],
        anon_compounds: 0,
        libraries: Default::default(),
    };
    let mut top = Body::default();
    loop {
        p.stmts(&mut top);
        match p.lx.next() {
            (Tok::Eof, _) => break,
            (t, l) => p.err(l, format!("syntax error near '{}'", tok_text(&t))),
        }
    }
    if !p.errors.is_empty() {
        return Err(p.errors);
    }
    let mut errors = Vec::new();
    let mut vars: HashMap<String, String> = top.defines.iter().cloned().collect();
    for (k, v) in overrides {
        vars.insert(k.clone(), v.clone());
    }
    let vars = Rc::new(vars);
    let mut list: Vec<Pending> = Vec::new();
    let mut conns: Vec<(usize, usize, usize, usize, String)> = Vec::new();
    let mut requirements = top.requires.clone();
    let base = list.len();
    // Classes defined at the top level see the top-level defines wherever they are used.
    let top_envs: ClassEnvs = Rc::new(
        p.classes
            .first()
            .into_iter()
            .flat_map(|scope| scope.values())
            .filter_map(|c| match c {
                ClassRef::Compound(d) => Some((Rc::as_ptr(d), vars.clone())),
                ClassRef::Primitive(_) => None,
            })
            .collect(),
    );
    for d in &top.decls {
        list.push(Pending {
            name: d.name.clone(),
            class: d.class.clone(),
            config: substitute(&d.config, &vars),
            landmark: d.landmark.clone(),
            vars: vars.clone(),
            class_envs: top_envs.clone(),
            dead: false,
            pseudo: d.pseudo,
            tunnel: d.tunnel,
        });
    }
    for c in &top.conns {
        conns.push((c.0 + base, c.1, c.2 + base, c.3, c.4.clone()));
    }
    let mut i = 0;
    let mut guard = 0usize;
    while i < list.len() {
        if let ClassRef::Compound(def) = list[i].class.clone() {
            guard += 1;
            if guard > 100_000 || list.len() > 1_000_000 {
                errors.push(format!("{}: compound expansion too deep", list[i].landmark));
                break;
            }
            expand_one(
                i,
                &def,
                &mut list,
                &mut conns,
                &mut requirements,
                &mut errors,
            );
        }
        i += 1;
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    join_tunnels(&list, &mut conns);
    // compact
    let mut map = vec![usize::MAX; list.len()];
    let mut out = FlatConfig {
        requirements,
        ..Default::default()
    };
    for (k, e) in list.iter().enumerate() {
        if e.dead || e.pseudo {
            continue;
        }
        map[k] = out.elements.len();
        let class = match &e.class {
            ClassRef::Primitive(c) => c.clone(),
            ClassRef::Compound(c) => c.name.clone(),
        };
        out.elements.push(FlatElement {
            name: e.name.clone(),
            class,
            config: e.config.clone(),
            landmark: e.landmark.clone(),
        });
    }
    let mut seen = std::collections::HashSet::new();
    for c in conns {
        let (a, b) = (map[c.0], map[c.2]);
        if a == usize::MAX || b == usize::MAX {
            continue;
        }
        let fc = FlatConnection {
            from: a,
            from_port: c.1,
            to: b,
            to_port: c.3,
        };
        if seen.insert(fc) {
            out.connections.push(fc);
            out.connection_landmarks.push(c.4);
        }
    }
    Ok(out)
}

fn expand_one(
    i: usize,
    def: &Rc<CompoundDef>,
    list: &mut Vec<Pending>,
    conns: &mut Vec<(usize, usize, usize, usize, String)>,
    requirements: &mut Vec<String>,
    errors: &mut Vec<String>,
) {
    let nin = conns
        .iter()
        .filter(|c| c.2 == i)
        .map(|c| c.3 + 1)
        .max()
        .unwrap_or(0);
    let nout = conns
        .iter()
        .filter(|c| c.0 == i)
        .map(|c| c.1 + 1)
        .max()
        .unwrap_or(0);
    let args = crate::args::split_args(&list[i].config);
    // choose the overload
    let mut chosen: Option<(Rc<Overload>, HashMap<String, String>)> = None;
    for ov in &def.overloads {
        if nin > ov.ninputs || nout > ov.noutputs {
            continue;
        }
        if let Some(vars) = bind_formals(&ov.formals, &args) {
            chosen = Some((ov.clone(), vars));
            break;
        }
    }
    let Some((ov, fvars)) = chosen else {
        let lm = list[i].landmark.clone();
        errors.push(format!(
            "{lm}: no match for '{}' with {} arguments, {} inputs, {} outputs",
            def.name,
            args.len(),
            nin,
            nout
        ));
        return;
    };
    // Lexical scope: the variables where this class was defined, not where it is used.
    let envs = list[i].class_envs.clone();
    let defined_in = envs
        .iter()
        .rev()
        .find(|(k, _)| std::ptr::eq(*k, Rc::as_ptr(def)))
        .map(|(_, v)| v.clone());
    let mut vars = (*defined_in.unwrap_or_else(|| list[i].vars.clone())).clone();
    for d in &ov.body.defines {
        vars.insert(d.0.clone(), substitute(&d.1, &vars));
    }
    for (k, v) in fvars {
        vars.insert(k, v);
    }
    requirements.extend(ov.body.requires.iter().cloned());
    let vars = Rc::new(vars);
    let class_envs: ClassEnvs = if ov.body.nested.is_empty() {
        envs
    } else {
        let mut e = (*envs).clone();
        e.extend(ov.body.nested.iter().map(|d| (Rc::as_ptr(d), vars.clone())));
        Rc::new(e)
    };
    let prefix = list[i].name.clone();
    let base = list.len();
    for d in &ov.body.decls {
        let name = format!("{prefix}/{}", d.name);
        list.push(Pending {
            name,
            class: d.class.clone(),
            config: substitute(&d.config, &vars),
            landmark: d.landmark.clone(),
            vars: vars.clone(),
            class_envs: class_envs.clone(),
            dead: false,
            pseudo: d.pseudo,
            tunnel: d.tunnel,
        });
    }
    let (pin, pout) = (base, base + 1);
    let internal: Vec<_> = ov
        .body
        .conns
        .iter()
        .map(|c| (c.0 + base, c.1, c.2 + base, c.3, c.4.clone()))
        .collect();
    conns.extend(internal.iter().cloned());
    let mut newc = Vec::new();
    // external -> compound input p  ==> external -> targets of input[p]
    for c in conns.iter().filter(|c| c.2 == i) {
        for t in internal.iter().filter(|t| t.0 == pin && t.1 == c.3) {
            newc.push((c.0, c.1, t.2, t.3, c.4.clone()));
        }
    }
    conns.append(&mut newc);
    // compound output q -> external  ==> sources of output[q] -> external
    let outs: Vec<_> = conns.iter().filter(|c| c.0 == i).cloned().collect();
    let srcs: Vec<_> = conns.iter().filter(|t| t.2 == pout).cloned().collect();
    for c in &outs {
        for t in srcs.iter().filter(|t| t.3 == c.1) {
            newc.push((t.0, t.1, c.2, c.3, c.4.clone()));
        }
    }
    conns.extend(newc);
    conns
        .retain(|c| c.0 != i && c.2 != i && c.0 != pin && c.2 != pout && c.0 != pout && c.2 != pin);
    list[i].dead = true;
}

/// Join the connections through group tunnels: `a -> [p]T` and `T[p] -> b` become `a -> b`.
/// Tunnels may lead into tunnels (nested groups), so repeat until none is left.
fn join_tunnels(list: &[Pending], conns: &mut Vec<(usize, usize, usize, usize, String)>) {
    let tunnels: Vec<usize> = (0..list.len()).filter(|&k| list[k].tunnel).collect();
    // Each pass removes every connection of the tunnels it visits; a bound guards cycles.
    for _ in 0..=tunnels.len() {
        let mut joined = false;
        for &t in &tunnels {
            if !conns.iter().any(|c| c.0 == t || c.2 == t) {
                continue;
            }
            joined = true;
            let mut through = Vec::new();
            for a in conns.iter().filter(|c| c.2 == t) {
                for b in conns.iter().filter(|c| c.0 == t && c.1 == a.3) {
                    if a.0 != t && b.2 != t {
                        through.push((a.0, a.1, b.2, b.3, a.4.clone()));
                    }
                }
            }
            conns.retain(|c| c.0 != t && c.2 != t);
            conns.extend(through);
        }
        if !joined {
            break;
        }
    }
}

fn bind_formals(
    formals: &[(Option<String>, String)],
    args: &[String],
) -> Option<HashMap<String, String>> {
    let mut vars = HashMap::new();
    let mut positional = Vec::new();
    let mut keyword: HashMap<String, String> = HashMap::new();
    let keywords: Vec<&str> = formals
        .iter()
        .filter_map(|f| f.0.as_deref())
        .filter(|k| *k != "__REST__")
        .collect();
    for a in args {
        match crate::args::split_keyword(a) {
            Some((k, v)) if keywords.contains(&k) => {
                keyword.insert(k.to_string(), v.to_string());
            }
            _ => positional.push(a.clone()),
        }
    }
    let mut pi = 0;
    for (kw, var) in formals {
        match kw.as_deref() {
            None => {
                let v = positional.get(pi)?;
                vars.insert(var.clone(), v.clone());
                pi += 1;
            }
            Some("__REST__") => {
                vars.insert(
                    var.clone(),
                    positional[pi.min(positional.len())..].join(", "),
                );
                pi = positional.len();
            }
            Some(k) => {
                vars.insert(var.clone(), keyword.remove(k).unwrap_or_default());
            }
        }
    }
    if pi < positional.len() || !keyword.is_empty() {
        return None;
    }
    Some(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(n: &str) -> bool {
        matches!(
            n,
            "InfiniteSource" | "Counter" | "Discard" | "Idle" | "Print" | "Queue" | "Tee"
        )
    }

    #[test]
    fn flat_basic() {
        let f = parse(
            "a::InfiniteSource(LIMIT 5) -> Counter -> d::Discard; Idle->Discard",
            "config",
            &classes,
        )
        .unwrap();
        assert_eq!(
            f.unparse(),
            "a :: InfiniteSource(LIMIT 5);\nCounter@2 :: Counter;\nd :: Discard;\nIdle@4 :: Idle;\nDiscard@5 :: Discard;\n\na -> Counter@2\n    -> d;\nIdle@4 -> Discard@5;\n"
        );
    }

    fn conns(text: &str) -> Vec<String> {
        let f = parse(text, "config", &classes).unwrap();
        let name = |i: usize| f.elements[i].name.clone();
        let mut v: Vec<String> = f
            .connections
            .iter()
            .map(|c| {
                format!(
                    "{}[{}]->[{}]{}",
                    name(c.from),
                    c.from_port,
                    c.to_port,
                    name(c.to)
                )
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn groups_share_the_enclosing_scope() {
        // `c` and `b` are the outer elements; `x` declared in the group is visible outside.
        let v = conns(
            "a, b, c, d :: Idle; a [0,1,2] => ( -> c ), ( -> b ), d; (-> x :: Idle); x -> d;",
        );
        assert_eq!(v, ["a[0]->[0]c", "a[1]->[0]b", "a[2]->[0]d", "x[0]->[0]d"]);
        let f = parse(
            "a :: Idle; a -> (-> Print(1) ->) -> Discard;",
            "config",
            &classes,
        )
        .unwrap();
        assert!(
            f.elements.iter().any(|e| e.name.starts_with("Print@")),
            "{}",
            f.unparse()
        );
    }

    #[test]
    fn connections_expand_ports_as_click() {
        assert_eq!(
            conns("a, b, c :: Idle; a => b, c, [0,1] a;"),
            ["a[0]->[0]b", "a[1]->[0]c", "a[2]->[0]a", "a[3]->[1]a"]
        );
        assert_eq!(
            conns("a, b :: Idle; a [0,] => [1,2,3] b;"),
            ["a[0]->[1]b", "a[1]->[2]b", "a[2]->[3]b"]
        );
        let err = |t: &str| parse(t, "C.click", &classes).unwrap_err().join("\n");
        assert_eq!(
            err("a, b :: Idle;\na [0,1] => [0,1,2] b;"),
            "C.click:2: connection mismatch: 2 outputs connected to 3 inputs"
        );
        assert_eq!(
            err("a, b :: Idle;\na [] => [] b;"),
            "C.click:2: at most one expandable port allowed per connection"
        );
        assert_eq!(
            err("a, b :: Idle;\na [0,1] -> [0,1] b;"),
            "C.click:2: syntax error: many-to-many connections require '=>'"
        );
    }

    #[test]
    fn formals_are_scoped_lexically() {
        // Bar uses Foo's $a even when Baz, whose own $a differs, instantiates it.
        let text = "
elementclass Foo { $a |
   elementclass Bar { $b | Print($a) }
   elementclass Baz { $a | Bar($a) }
   Baz(inner);
}
Foo(outer);
";
        let f = parse(text, "config", &classes).unwrap();
        assert!(f.unparse().contains(":: Print(outer);"), "{}", f.unparse());
    }

    #[test]
    fn compounds_overload() {
        let text = "
elementclass Foo {
   $a, $b | input -> Print(1) -> output
|| $a, __REST__ $b | input -> Print(2) -> output
|| $a, TWO $b, __REST__ $c | input -> Print(3) -> output
}
InfiniteSource(DATA \"\", LIMIT 1, STOP true)
  -> Foo(A)
  -> f::Foo(A, TWO B)
elementclass Foo {
   $a, $b | input -> Print(4) -> output
|| ...
}
f -> Foo(A, B) -> Foo(A, B, C) -> Discard
";
        let f = parse(text, "config", &classes).unwrap();
        assert_eq!(
            f.unparse(),
            "InfiniteSource@1 :: InfiniteSource(DATA \"\", LIMIT 1, STOP true);\nDiscard@6 :: Discard;\nFoo@2/Print@1 :: Print(2);\nf/Print@1 :: Print(1);\nFoo@4/Print@1 :: Print(4);\nFoo@5/Print@1 :: Print(2);\n\nInfiniteSource@1 -> Foo@2/Print@1\n    -> f/Print@1\n    -> Foo@4/Print@1\n    -> Foo@5/Print@1\n    -> Discard@6;\n"
        );
    }

    #[test]
    fn unterminated_comment_in_config_does_not_panic() {
        assert!(parse(
            "InfiniteSource(DATA \"x\" /* never closed",
            "config",
            &classes
        )
        .is_err());
        assert!(parse("Idle -> Discard /*", "config", &classes).is_ok());
        assert!(parse("Idle(${", "config", &classes).is_err());
    }

    #[test]
    fn errors_have_lines() {
        let e = parse("Idle\n -> Foo -> Discard", "config", &classes).unwrap_err();
        assert_eq!(e, vec!["config:2: undeclared element 'Foo'".to_string()]);
    }
}
