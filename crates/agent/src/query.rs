//! Strict `application/x-www-form-urlencoded` query parsing: `+` is a space, `%XX` is a byte,
//! and the decoded bytes must be UTF-8 (a lossy decode would silently corrupt a Click config).

use percent_encoding::percent_decode;

/// Query decoding failures.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    #[error("parameter {0:?} is not valid UTF-8 after decoding")]
    NotUtf8(String),
    #[error("parameter {0:?} given more than once")]
    Duplicate(String),
}

fn decode(raw: &str) -> Result<String, Vec<u8>> {
    let plus = raw.replace('+', " ");
    let bytes: Vec<u8> = percent_decode(plus.as_bytes()).collect();
    String::from_utf8(bytes).map_err(|e| e.into_bytes())
}

/// Decodes a query string into (name, value) pairs in order; duplicates are rejected so a
/// request cannot smuggle a second `path`.
pub fn parse(query: &str) -> Result<Vec<(String, String)>, QueryError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let key =
            decode(k).map_err(|b| QueryError::NotUtf8(String::from_utf8_lossy(&b).into_owned()))?;
        let value = decode(v).map_err(|_| QueryError::NotUtf8(key.clone()))?;
        if out.iter().any(|(existing, _)| *existing == key) {
            return Err(QueryError::Duplicate(key));
        }
        out.push((key, value));
    }
    Ok(out)
}

/// The value of `name`, if present.
pub fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes() {
        let p = parse("path=func.click&content=a+b%0A%23x%26y%2B").unwrap();
        assert_eq!(get(&p, "path"), Some("func.click"));
        assert_eq!(get(&p, "content"), Some("a b\n#x&y+"));
        assert_eq!(get(&p, "nope"), None);
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(get(&parse("flag").unwrap(), "flag"), Some(""));
    }

    #[test]
    fn rejects() {
        assert_eq!(
            parse("content=%FF%FE"),
            Err(QueryError::NotUtf8("content".into()))
        );
        assert_eq!(
            parse("path=a&path=b"),
            Err(QueryError::Duplicate("path".into()))
        );
    }
}
