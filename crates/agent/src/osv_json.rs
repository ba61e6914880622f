//! JSON text exactly as OSv's httpserver `json::formatter` writes it, so COO clients that
//! compare bodies byte for byte keep working: objects `{"k": v, "k2": v2}` (colon-space and
//! comma-space), lists `[a,b]`, strings quoted and escaped.

/// A JSON value in OSv's output style; member order is kept.
#[derive(Debug, Clone, PartialEq)]
pub enum OsvJson {
    Str(String),
    Bool(bool),
    Int(i64),
    List(Vec<OsvJson>),
    Object(Vec<(&'static str, OsvJson)>),
}

impl OsvJson {
    /// Serializes in OSv's style.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    fn render_into(&self, out: &mut String) {
        match self {
            OsvJson::Str(s) => out.push_str(&quote(s)),
            OsvJson::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            OsvJson::Int(i) => out.push_str(&i.to_string()),
            OsvJson::List(items) => {
                out.push('[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    item.render_into(out);
                }
                out.push(']');
            }
            OsvJson::Object(members) => {
                out.push('{');
                for (n, (k, v)) in members.iter().enumerate() {
                    if n > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&quote(k));
                    out.push_str(": ");
                    v.render_into(out);
                }
                out.push('}');
            }
        }
    }
}

/// A JSON string literal (serde_json escaping is standard-conforming).
pub fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osv_style() {
        let v = OsvJson::Object(vec![
            ("time_ms", OsvJson::Int(5)),
            (
                "list",
                OsvJson::List(vec![
                    OsvJson::Object(vec![
                        ("id", OsvJson::Int(0)),
                        ("name", OsvJson::Str("a\"".into())),
                    ]),
                    OsvJson::Object(vec![]),
                ]),
            ),
        ]);
        assert_eq!(
            v.render(),
            r#"{"time_ms": 5, "list": [{"id": 0, "name": "a\""},{}]}"#
        );
        assert_eq!(
            OsvJson::Str("Sucess: PID 1".into()).render(),
            "\"Sucess: PID 1\""
        );
        assert_eq!(OsvJson::Bool(true).render(), "true");
    }
}
