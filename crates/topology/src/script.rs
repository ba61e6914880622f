//! PyCOO execution scripts (`SCRIPT/*.json`):
//! `[{"<vnf>": {"function": F, "path": P, "<task>": {"1": action, ...}, "error": {...}}}, ...]`.
//! The older form names the error list `sfcerror` and runs it SFC-wide.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;

use crate::error::{ErrorKind, LoadError, LoadErrors, Warning, WarningKind};
use crate::ids::NodeId;
use crate::locate::{closest, read_source, SourceText};

/// One script: entries in file order (one per VNF block).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Script {
    pub entries: Vec<ScriptEntry>,
    /// Findings that do not stop the script (unknown actions in error lists, skipped).
    #[serde(skip)]
    pub warnings: Vec<Warning>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScriptEntry {
    pub vnf: NodeId,
    /// Click function file name (`function`).
    pub function: Option<String>,
    /// Directory prefix (`path`); PyCOO concatenates `path + function`.
    pub path: Option<String>,
    /// Named task lists, steps in order 1..N.
    pub tasks: BTreeMap<String, Vec<Action>>,
    /// Actions run when one of this VNF's actions fails.
    pub error: Option<Vec<Action>>,
    pub error_scope: ErrorScope,
}

/// Scope of the error list: per-VNF `error` (PyCOO dadc63e) or SFC-wide `sfcerror` (a22354a).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorScope {
    #[default]
    Vnf,
    Sfc,
}

impl ScriptEntry {
    /// `path + function` exactly as PyCOO builds it (plain concatenation).
    pub fn function_file(&self) -> Option<String> {
        let function = self.function.as_deref()?;
        Some(format!(
            "{}{}",
            self.path.as_deref().unwrap_or(""),
            function
        ))
    }
}

impl Script {
    pub fn entry(&self, vnf: &str) -> Option<&ScriptEntry> {
        self.entries.iter().find(|e| e.vnf.as_str() == vnf)
    }
    /// Every task name used by some entry (sorted, without `error`/`sfcerror`).
    pub fn task_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .entries
            .iter()
            .flat_map(|e| e.tasks.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// A script action and the COO REST call it makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// POST /click_plugin/start
    Start,
    /// POST /click_plugin/stop
    Stop,
    /// POST /click_plugin/write_file with the entry's function file
    Replace,
    /// GET /click_plugin/running
    Running,
    /// GET /click_plugin/read_file
    Data,
    /// GET /click_plugin/vnf_identification
    Id,
    /// GET /click_plugin/metrics
    Metrics,
    /// GET /click_plugin/log
    Log,
}

impl Action {
    pub const NAMES: [&'static str; 8] = [
        "start", "stop", "replace", "running", "data", "id", "metrics", "log",
    ];
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Replace => "replace",
            Action::Running => "running",
            Action::Data => "data",
            Action::Id => "id",
            Action::Metrics => "metrics",
            Action::Log => "log",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "start" => Action::Start,
            "stop" => Action::Stop,
            "replace" => Action::Replace,
            "running" => Action::Running,
            "data" => Action::Data,
            "id" => Action::Id,
            "metrics" => Action::Metrics,
            "log" => Action::Log,
            other => return Err(other.to_owned()),
        })
    }
}

/// Reads and parses a script file.
pub fn load(path: &Path) -> Result<Script, LoadErrors> {
    let src = read_source(path).map_err(|e| LoadErrors(vec![e]))?;
    parse_source(&src)
}

/// Parses script text; `file` is used in error locations only.
pub fn parse(text: &str, file: &Path) -> Result<Script, LoadErrors> {
    parse_source(&SourceText::new(file, text))
}

pub(crate) fn parse_source(src: &SourceText) -> Result<Script, LoadErrors> {
    let value: Value =
        serde_json::from_str(&src.text).map_err(|e| LoadErrors(vec![src.json_error(&e)]))?;
    let mut errors = Vec::new();
    let invalid =
        |reason: String, at| LoadError::new(ErrorKind::ScriptInvalid { reason }, Some(at));
    let Value::Array(items) = value else {
        return Err(LoadErrors(vec![invalid(
            "the top level must be an array of {\"<vnf>\": {...}} objects".to_owned(),
            src.file(),
        )]));
    };
    let mut script = Script::default();
    for (index, item) in items.into_iter().enumerate() {
        let Value::Object(map) = item else {
            errors.push(invalid(
                format!("item {index} is not an object"),
                src.file(),
            ));
            continue;
        };
        for (vnf, block) in map {
            match parse_entry(src, &vnf, block, &mut script.warnings) {
                Ok(entry) => script.entries.push(entry),
                Err(mut errs) => errors.append(&mut errs),
            }
        }
    }
    if errors.is_empty() {
        Ok(script)
    } else {
        Err(LoadErrors(errors))
    }
}

fn parse_entry(
    src: &SourceText,
    vnf: &str,
    block: Value,
    warnings: &mut Vec<Warning>,
) -> Result<ScriptEntry, Vec<LoadError>> {
    let mut errors = Vec::new();
    let Value::Object(block) = block else {
        return Err(vec![LoadError::new(
            ErrorKind::ScriptInvalid {
                reason: format!("the block of VNF `{vnf}` is not an object"),
            },
            Some(src.find_key(vnf, 0)),
        )]);
    };
    let mut entry = ScriptEntry {
        vnf: NodeId::new(vnf),
        function: None,
        path: None,
        tasks: BTreeMap::new(),
        error: None,
        error_scope: ErrorScope::Vnf,
    };
    for (key, value) in block {
        match key.as_str() {
            "function" | "path" => match value {
                Value::String(s) => {
                    if key == "function" {
                        entry.function = Some(s);
                    } else {
                        entry.path = Some(s);
                    }
                }
                _ => errors.push(LoadError::new(
                    ErrorKind::ScriptInvalid {
                        reason: format!("VNF `{vnf}`: `{key}` must be a string"),
                    },
                    Some(src.find_key(&key, 0)),
                )),
            },
            _ => match parse_task(src, vnf, &key, value, warnings) {
                Ok(actions) => {
                    if key == "error" || key == "sfcerror" {
                        if entry.error.is_some() {
                            errors.push(LoadError::new(
                                ErrorKind::ScriptInvalid {
                                    reason: format!("VNF `{vnf}` has both `error` and `sfcerror`"),
                                },
                                Some(src.find_key(&key, 0)),
                            ));
                        }
                        entry.error_scope = if key == "sfcerror" {
                            ErrorScope::Sfc
                        } else {
                            ErrorScope::Vnf
                        };
                        entry.error = Some(actions);
                    } else {
                        entry.tasks.insert(key, actions);
                    }
                }
                Err(mut errs) => errors.append(&mut errs),
            },
        }
    }
    if errors.is_empty() {
        Ok(entry)
    } else {
        Err(errors)
    }
}

fn parse_task(
    src: &SourceText,
    vnf: &str,
    task: &str,
    value: Value,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<Action>, Vec<LoadError>> {
    let error_list = task == "error" || task == "sfcerror";
    let at = || Some(src.find_key(task, 0));
    let Value::Object(steps) = value else {
        return Err(vec![LoadError::new(
            ErrorKind::ScriptInvalid {
                reason: format!(
                    "VNF `{vnf}`: task `{task}` must be an object {{\"1\": action, ...}}"
                ),
            },
            at(),
        )]);
    };
    let mut errors = Vec::new();
    let mut numbered: BTreeMap<usize, Action> = BTreeMap::new();
    let mut skipped: Vec<usize> = Vec::new();
    for (key, action) in &steps {
        let number = key
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0 && n.to_string() == *key);
        let Some(number) = number else {
            errors.push(LoadError::new(
                ErrorKind::ScriptInvalid {
                    reason: format!(
                        "VNF `{vnf}`: task `{task}`: step key \"{key}\" is not a number 1..N"
                    ),
                },
                at(),
            ));
            continue;
        };
        let Some(text) = action.as_str() else {
            errors.push(LoadError::new(
                ErrorKind::ScriptInvalid {
                    reason: format!(
                        "VNF `{vnf}`: task `{task}`: step {key} must be an action name"
                    ),
                },
                at(),
            ));
            continue;
        };
        match text.parse::<Action>() {
            Ok(action) => {
                numbered.insert(number, action);
            }
            // PyCOO's error routine skips actions it does not know; its main routine fails.
            Err(action) if error_list => {
                skipped.push(number);
                warnings.push(Warning::new(
                    WarningKind::ScriptErrorListUnknownAction {
                        vnf: vnf.to_owned(),
                        task: task.to_owned(),
                        step: key.clone(),
                        suggestion: closest(&action, Action::NAMES),
                        action,
                    },
                    Some(src.find_pair(key, text)),
                ));
            }
            Err(action) => errors.push(LoadError::new(
                ErrorKind::ScriptUnknownAction {
                    vnf: vnf.to_owned(),
                    task: task.to_owned(),
                    step: key.clone(),
                    suggestion: closest(&action, Action::NAMES),
                    action,
                },
                Some(src.find_pair(key, text)),
            )),
        }
    }
    // PyCOO looks up str(i+1) for i in range(len): the first absent number is a KeyError there.
    if let Some(missing) =
        (1..=steps.len()).find(|n| !numbered.contains_key(n) && !skipped.contains(n))
    {
        if errors.is_empty() {
            errors.push(LoadError::new(
                ErrorKind::ScriptTaskGap {
                    vnf: vnf.to_owned(),
                    task: task.to_owned(),
                    missing,
                },
                at(),
            ));
        }
    }
    if errors.is_empty() {
        Ok(numbered.into_values().collect())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_current_and_old_forms() {
        let text = r#"[{"x": {"function": "forward.click", "path": "FUNCTIONS/",
            "instantiate": {"2": "start", "1": "replace", "3": "running"},
            "error": {"1": "stop", "2": "log"}}},
            {"y": {"tasks": {"1": "start"}, "sfcerror": {"1": "stop"}}}]"#;
        let script = parse(text, Path::new("s.json")).unwrap();
        let x = script.entry("x").unwrap();
        assert_eq!(
            x.function_file().as_deref(),
            Some("FUNCTIONS/forward.click")
        );
        assert_eq!(
            x.tasks["instantiate"],
            vec![Action::Replace, Action::Start, Action::Running]
        );
        assert_eq!(x.error, Some(vec![Action::Stop, Action::Log]));
        let y = script.entry("y").unwrap();
        assert_eq!(y.error_scope, ErrorScope::Sfc);
        assert_eq!(script.task_names(), vec!["instantiate", "tasks"]);
    }

    #[test]
    fn gap_and_unknown_action_are_named_errors() {
        let gap = parse(
            r#"[{"x": {"go": {"1": "start", "3": "stop"}}}]"#,
            Path::new("s"),
        )
        .unwrap_err();
        assert!(gap.has("script-task-gap"), "{gap}");
        assert!(gap.to_string().contains("step \"2\""), "{gap}");
        let bad = parse(r#"[{"x": {"go": {"1": "strat"}}}]"#, Path::new("s")).unwrap_err();
        assert!(bad.has("script-unknown-action"));
        assert!(bad.to_string().contains("did you mean `start`"), "{bad}");
        assert!(parse("{}", Path::new("s"))
            .unwrap_err()
            .has("script-invalid"));
    }

    #[test]
    fn unknown_actions_fail_a_task_but_are_skipped_in_an_error_list() {
        let text = r#"[{"x": {"go": {"1": "start"}, "error": {"1": "stpo", "2": "log"}}}]"#;
        let script = parse(text, Path::new("s.json")).unwrap();
        let x = script.entry("x").unwrap();
        assert_eq!(x.error, Some(vec![Action::Log]));
        assert_eq!(script.warnings.len(), 1);
        assert_eq!(script.warnings[0].rule(), "script-error-unknown-action");
        assert!(script.warnings[0].to_string().contains("`stop`"));
        let bad = r#"[{"x": {"go": {"1": "stpo"}}}]"#;
        let errors = parse(bad, Path::new("s.json")).unwrap_err();
        assert_eq!(errors.0[0].rule(), "script-unknown-action");
        assert!(errors.0[0].to_string().contains("-2"));
    }
}
