//! Print (packets as hex) and Message (a configuration-time message).

use crate::args::{self, bind, Kind};
use crate::element::{ConfigureCx, Ctx, Element, HandlerSpec, ReadResult, WriteResult};
use crate::elements::{bool_str, parse_bool_h};
use crate::packet::PacketBatch;
use crate::{element_class, simple_push_pull};

/// Print([LABEL, MAXLENGTH], CONTENTS, TIMESTAMP, ACTIVE, HEADROOM).
pub struct Print {
    label: String,
    bytes: i64,
    contents: u8,
    timestamp: bool,
    active: bool,
    headroom: bool,
}
impl Default for Print {
    fn default() -> Self {
        Print {
            label: String::new(),
            bytes: 24,
            contents: 1,
            timestamp: false,
            active: true,
            headroom: false,
        }
    }
}
impl Print {
    fn process(&mut self, batch: &mut PacketBatch, ctx: &mut Ctx<'_>) {
        if !self.active {
            return;
        }
        for p in batch.iter() {
            let mut s = String::new();
            let mut sep = "";
            if !self.label.is_empty() {
                s.push_str(&self.label);
                sep = ": ";
            }
            if self.timestamp {
                s.push_str(sep);
                s.push_str(&p.timestamp.to_string());
                sep = ": ";
            }
            s.push_str(&format!("{sep}{:4}", p.len()));
            if self.headroom {
                s.push_str(&format!(" (h{} t{})", p.headroom(), p.tailroom()));
            }
            let n = if self.contents == 0 {
                0
            } else if self.bytes < 0 {
                p.len()
            } else {
                (self.bytes as usize).min(p.len())
            };
            if n > 0 {
                s.push_str(" | ");
                for (i, b) in p.data()[..n].iter().enumerate() {
                    if self.contents == 1 {
                        if i > 0 && i % 4 == 0 {
                            s.push(' ');
                        }
                        s.push_str(&format!("{b:02x}"));
                    } else {
                        if i % 8 == 0 {
                            s.push(' ');
                        }
                        s.push(if (32..=126).contains(b) {
                            *b as char
                        } else {
                            '.'
                        });
                    }
                }
            }
            ctx.chatter(&s);
        }
    }
}
impl Element for Print {
    element_class!(class: "Print", ports: "1/1");
    fn configure(&mut self, conf: &str, _cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let b = bind(
            conf,
            &[
                ("LABEL", Kind::P),
                ("MAXLENGTH", Kind::P),
                ("LENGTH", Kind::K),
                ("BYTES", Kind::K),
                ("CONTENTS", Kind::K),
                ("TIMESTAMP", Kind::K),
                ("ACTIVE", Kind::K),
                ("HEADROOM", Kind::K),
                ("PRINTANNO", Kind::K),
                ("CPU", Kind::K),
            ],
        )?;
        self.label = b.string("LABEL")?.unwrap_or_default();
        if let Some(v) = b.i64("MAXLENGTH")?.or(b.i64("LENGTH")?).or(b.i64("BYTES")?) {
            self.bytes = v;
        }
        if let Some(c) = b.str("CONTENTS") {
            self.contents = match c.trim().to_ascii_lowercase().as_str() {
                "false" | "none" => 0,
                "true" | "hex" => 1,
                "ascii" => 2,
                _ => return Err("CONTENTS: bad contents value".into()),
            };
        }
        self.timestamp = b.bool("TIMESTAMP")?.unwrap_or(false);
        self.active = b.bool("ACTIVE")?.unwrap_or(true);
        self.headroom = b.bool("HEADROOM")?.unwrap_or(false);
        Ok(())
    }
    simple_push_pull!();
    fn handlers(&self) -> Vec<HandlerSpec> {
        vec![HandlerSpec::rw("active")]
    }
    fn read_handler(&mut self, name: &str, _p: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        (name == "active").then(|| Ok(bool_str(self.active)))
    }
    fn write_handler(&mut self, name: &str, v: &str, _ctx: &mut Ctx<'_>) -> WriteResult {
        (name == "active").then(|| parse_bool_h(v).map(|b| self.active = b))
    }
}

/// Message(MESSAGE [, TYPE]): reports MESSAGE while the router is configured; no ports.
#[derive(Default)]
pub struct Message;
impl Element for Message {
    element_class!(class: "Message", ports: "0/0");
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        let a = args::split_args(conf);
        let msg = a.first().map(|m| args::unquote(m)).unwrap_or_default();
        match a.get(1).map(|t| t.trim().to_ascii_lowercase()) {
            Some(t) if t == "error" => Err(msg),
            Some(t) if t == "warning" => {
                cx.warnings.push(msg);
                Ok(())
            }
            // Click's default type is a plain message.
            _ => {
                cx.messages.push(msg);
                Ok(())
            }
        }
    }
}
