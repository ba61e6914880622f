//! Source text kept next to parsed data, so errors can point at file:line:column.

// LoadError is large, but it is only built on the (cold) error path; boxing would only add noise.
#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::error::{ErrorKind, LoadError, Location};

/// One input file and its text.
#[derive(Clone, Debug)]
pub(crate) struct SourceText {
    pub path: PathBuf,
    pub text: String,
}

impl SourceText {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        SourceText {
            path: path.into(),
            text: text.into(),
        }
    }

    /// Location of the whole file (no line known).
    pub fn file(&self) -> Location {
        Location {
            file: self.path.clone(),
            line: 0,
            column: 0,
        }
    }

    pub fn at_offset(&self, offset: usize) -> Location {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rfind('\n')
            .map_or(before.len(), |nl| before.len() - nl - 1)
            + 1;
        Location {
            file: self.path.clone(),
            line,
            column,
        }
    }

    /// Byte offsets of every `"word"` JSON string in the text.
    fn string_offsets<'a>(&'a self, word: &str) -> impl Iterator<Item = usize> + 'a {
        let needle = serde_json::to_string(word).unwrap_or_default();
        let text = &self.text;
        let mut from = 0;
        std::iter::from_fn(move || {
            if needle.is_empty() {
                return None;
            }
            let found = text.get(from..)?.find(&needle)? + from;
            from = found + needle.len();
            Some(found)
        })
    }

    /// Offset of `"value"` when it is the value of key `"key"` (the `nth` such pair, 0-based).
    fn key_value_offset(&self, key: &str, value: &str, nth: usize) -> Option<usize> {
        let value_json = serde_json::to_string(value).ok()?;
        self.string_offsets(key)
            .filter_map(|k| {
                let after_key = k + serde_json::to_string(key).ok()?.len();
                let rest = self.text.get(after_key..)?;
                let trimmed = rest.trim_start();
                let colon = trimmed.strip_prefix(':')?;
                let value_part = colon.trim_start();
                if value_part.starts_with(&value_json) {
                    Some(self.text.len() - value_part.len())
                } else {
                    None
                }
            })
            .nth(nth)
    }

    /// Best location for `"key": "value"`, falling back to the first `"value"`, then the file.
    pub fn find_pair(&self, key: &str, value: &str) -> Location {
        self.find_nth_pair(key, value, 0)
    }

    pub fn find_nth_pair(&self, key: &str, value: &str, nth: usize) -> Location {
        self.key_value_offset(key, value, nth)
            .or_else(|| self.string_offsets(value).next())
            .map_or_else(|| self.file(), |o| self.at_offset(o))
    }

    /// Location of the `nth` occurrence of key `"key"` (0-based), else the file.
    pub fn find_key(&self, key: &str, nth: usize) -> Location {
        self.string_offsets(key)
            .filter(|&o| {
                self.text
                    .get(o + key.len() + 2..)
                    .is_some_and(|r| r.trim_start().starts_with(':'))
            })
            .nth(nth)
            .map_or_else(|| self.file(), |o| self.at_offset(o))
    }

    /// Strictly deserializes the text, turning serde's message into a named error with position.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, LoadError> {
        serde_json::from_str(&self.text).map_err(|err| self.json_error(&err))
    }

    pub fn json_error(&self, err: &serde_json::Error) -> LoadError {
        let at = (err.line() > 0).then(|| Location {
            file: self.path.clone(),
            line: err.line(),
            column: err.column(),
        });
        LoadError::new(classify_serde_error(err), at.or_else(|| Some(self.file())))
    }
}

/// Maps serde_json's message to a rule. serde says: "unknown field `x`, expected one of `a`, `b`
/// at line L column C" or "missing field `x` at line ..."; we parse that text because serde has no
/// structured error kinds.
pub(crate) fn classify_serde_error(err: &serde_json::Error) -> ErrorKind {
    let full = err.to_string();
    // Strip serde_json's " at line L column C" suffix: we report the position ourselves.
    let message = match full.rfind(" at line ") {
        Some(i) => full[..i].to_owned(),
        None => full,
    };
    if matches!(
        err.classify(),
        serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io
    ) {
        return ErrorKind::JsonSyntax { message };
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default().to_owned();
        let expected: Vec<String> = rest
            .split_once("expected ")
            .map(|(_, list)| {
                list.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let suggestion = closest(&field, expected.iter().map(String::as_str));
        return ErrorKind::UnknownField {
            field,
            suggestion,
            expected,
        };
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default().to_owned();
        return ErrorKind::MissingField { field };
    }
    ErrorKind::InvalidValue { message }
}

/// Closest candidate by edit distance (case-insensitive), when reasonably close.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 2).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_owned())
}

/// Reads a file as text, mapping failures to a named error.
pub(crate) fn read_source(path: &Path) -> Result<SourceText, LoadError> {
    std::fs::read_to_string(path)
        .map(|text| SourceText::new(path, text))
        .map_err(|e| {
            LoadError::new(
                ErrorKind::Io {
                    path: path.to_owned(),
                    message: e.to_string(),
                },
                None,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let src = SourceText::new("t.json", "{\n  \"a\": \"x\",\n  \"b\" : \"y\"\n}");
        let at = src.find_pair("b", "y");
        assert_eq!((at.line, at.column), (3, 9));
        let at = src.find_key("a", 0);
        assert_eq!((at.line, at.column), (2, 3));
        assert_eq!(src.find_key("zz", 0).line, 0);
    }

    #[test]
    fn unknown_field_gets_a_suggestion() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct T {
            function: String,
            engine: String,
        }
        let src = SourceText::new("t.json", "{\"functon\": \"f\"}");
        let err = src.parse::<T>().unwrap_err();
        match err.kind {
            ErrorKind::UnknownField {
                field, suggestion, ..
            } => {
                assert_eq!(field, "functon");
                assert_eq!(suggestion.as_deref(), Some("function"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(err.at.unwrap().line, 1);
    }
}
