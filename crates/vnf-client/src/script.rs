//! Runs PyCOO execution scripts (`topology::script`) against agents.
//!
//! Order as PyCOO (`SFC.scriptSFC`): script entries in file order, each run for its VNF if that
//! VNF has a client and the entry has the task; actions in step order 1..N; the first failure
//! runs the VNF's `error` list (or, in the old `sfcerror` form, the error lists of every VNF)
//! best-effort and aborts the script. Unlike PyCOO, success means the action really succeeded:
//! `start` must leave a running engine (PyCOO bug 1 forced every scripted start to fail and
//! bug 2 only looked at HTTP status), and `running` must agree with the last start/stop.

use std::path::{Path, PathBuf};

use serde::Serialize;
use topology::script::{Action, ErrorScope, Script, ScriptEntry};

use crate::client::{ClientError, StartOutcome, StopOutcome, VnfClient};

/// Script problems found before anything runs.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("no VNF of the script has task {task:?} (tasks: {available})")]
    UnknownTask { task: String, available: String },
    #[error("VNF {vnf}: `replace` needs both `function` and `path`")]
    ReplaceWithoutFunction { vnf: String },
    #[error("VNF {vnf}: function file {file:?} not found (looked in {tried})")]
    FunctionMissing {
        vnf: String,
        file: String,
        tried: String,
    },
    #[error("VNF {vnf}: cannot read function file {}", path.display())]
    FunctionUnreadable {
        vnf: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("none of the script's VNFs ({script_vnfs}) has an endpoint")]
    NoEndpoints { script_vnfs: String },
}

/// Where `replace` looks for `path + function`, in order.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub base_dirs: Vec<PathBuf>,
}

/// Which list a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Task,
    Error,
}

/// One executed action.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub vnf: String,
    pub phase: Phase,
    /// 1-based step number in its list.
    pub number: usize,
    pub action: Action,
    pub ok: bool,
    /// The result (or the error) as text.
    pub detail: String,
}

/// The first failure, which aborted the script.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub vnf: String,
    pub number: usize,
    pub action: Action,
    pub message: String,
}

/// What a script run did.
#[derive(Debug, Clone, Serialize)]
pub struct ScriptReport {
    pub task: String,
    pub steps: Vec<Step>,
    pub failure: Option<Failure>,
    /// VNFs of the script that had no endpoint (skipped, as PyCOO skips unknown VNFs).
    pub skipped: Vec<String>,
}

impl ScriptReport {
    pub fn success(&self) -> bool {
        self.failure.is_none()
    }
}

/// Progress notifications (for printing while the script runs).
#[derive(Debug)]
pub enum Event<'a> {
    Skipped { vnf: &'a str },
    Step(&'a Step),
    ErrorRoutine { vnf: &'a str },
}

/// Prints an event as one line (or more for multi-line results) on stdout.
pub fn print_event(e: &Event<'_>) {
    for line in event_lines(e) {
        println!("{line}");
    }
}

/// The lines [`print_event`] prints (callers that keep stdout for JSON print them elsewhere).
pub fn event_lines(e: &Event<'_>) -> Vec<String> {
    match e {
        Event::Skipped { vnf } => vec![format!("[{vnf}] skipped: no endpoint for this VNF")],
        Event::ErrorRoutine { vnf } => vec![format!("[{vnf}] running error list")],
        Event::Step(s) => {
            let tag = match s.phase {
                Phase::Task => String::new(),
                Phase::Error => "error ".to_owned(),
            };
            let status = if s.ok { "ok" } else { "FAILED" };
            let mut lines = s.detail.lines();
            let first = lines.next().unwrap_or("");
            let mut out = vec![format!(
                "[{}] {tag}{}. {}: {status}: {first}",
                s.vnf, s.number, s.action
            )];
            out.extend(lines.map(|l| format!("    {l}")));
            out
        }
    }
}

fn find_function(entry: &ScriptEntry, opts: &RunOptions) -> Result<Option<String>, ScriptError> {
    let vnf = entry.vnf.as_str().to_owned();
    let Some(rel) = entry.function_file() else {
        return Err(ScriptError::ReplaceWithoutFunction { vnf });
    };
    if entry.path.is_none() {
        return Err(ScriptError::ReplaceWithoutFunction { vnf });
    }
    let rel_path = Path::new(&rel);
    let mut candidates: Vec<PathBuf> = if rel_path.is_absolute() {
        vec![rel_path.to_owned()]
    } else {
        opts.base_dirs.iter().map(|d| d.join(rel_path)).collect()
    };
    // PyCOO ships no function files; built-in ones are found by name (as topology::load does).
    if let Some(name) = entry.function.as_deref() {
        candidates.extend(
            topology::builtin_function_dirs()
                .into_iter()
                .map(|d| d.join(name)),
        );
    }
    for c in &candidates {
        if c.is_file() {
            return std::fs::read_to_string(c).map(Some).map_err(|source| {
                ScriptError::FunctionUnreadable {
                    vnf: vnf.clone(),
                    path: c.clone(),
                    source,
                }
            });
        }
    }
    Err(ScriptError::FunctionMissing {
        vnf,
        file: rel,
        tried: candidates
            .iter()
            .map(|c| c.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

struct Job<'a> {
    entry: &'a ScriptEntry,
    client: &'a VnfClient,
    actions: &'a [Action],
    function: Option<String>,
}

/// Runs `task`, printing every step on stdout.
pub async fn run(
    script: &Script,
    task: &str,
    clients: &[(String, VnfClient)],
    opts: &RunOptions,
) -> Result<ScriptReport, ScriptError> {
    run_with(script, task, clients, opts, &mut |e| print_event(&e)).await
}

/// Runs `task`; `clients` are in the topology's VNFS order. Input problems (unknown task,
/// missing function file) are found before any call is made.
pub async fn run_with(
    script: &Script,
    task: &str,
    clients: &[(String, VnfClient)],
    opts: &RunOptions,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<ScriptReport, ScriptError> {
    if !script.entries.iter().any(|e| e.tasks.contains_key(task)) {
        return Err(ScriptError::UnknownTask {
            task: task.to_owned(),
            available: script.task_names().join(", "),
        });
    }
    let client_of = |vnf: &str| clients.iter().find(|(id, _)| id == vnf).map(|(_, c)| c);
    let mut report = ScriptReport {
        task: task.to_owned(),
        steps: Vec::new(),
        failure: None,
        skipped: Vec::new(),
    };
    // Plan everything first so a missing file fails before the chain is touched.
    let mut jobs = Vec::new();
    for entry in &script.entries {
        let Some(actions) = entry.tasks.get(task) else {
            continue;
        };
        let Some(client) = client_of(entry.vnf.as_str()) else {
            report.skipped.push(entry.vnf.as_str().to_owned());
            continue;
        };
        let needs_file = actions.contains(&Action::Replace)
            || entry
                .error
                .as_ref()
                .is_some_and(|e| e.contains(&Action::Replace));
        let function = if needs_file {
            find_function(entry, opts)?
        } else {
            None
        };
        jobs.push(Job {
            entry,
            client,
            actions,
            function,
        });
    }
    if jobs.is_empty() {
        return Err(ScriptError::NoEndpoints {
            script_vnfs: report.skipped.join(", "),
        });
    }
    for vnf in &report.skipped {
        on_event(Event::Skipped { vnf });
    }
    for job in &jobs {
        let vnf = job.entry.vnf.as_str();
        let mut expect_running = None;
        for (i, action) in job.actions.iter().enumerate() {
            let step = execute(
                vnf,
                Phase::Task,
                i + 1,
                *action,
                job.client,
                job.function.as_deref(),
                &mut expect_running,
            )
            .await;
            on_event(Event::Step(&step));
            let ok = step.ok;
            let detail = step.detail.clone();
            report.steps.push(step);
            if ok {
                continue;
            }
            report.failure = Some(Failure {
                vnf: vnf.to_owned(),
                number: i + 1,
                action: *action,
                message: detail,
            });
            let recovery: Vec<&Job> = match job.entry.error_scope {
                ErrorScope::Vnf => vec![job],
                // Old form: every VNF's `sfcerror` list runs, in order.
                ErrorScope::Sfc => jobs.iter().collect(),
            };
            for r in recovery {
                if let Some(list) = &r.entry.error {
                    let rvnf = r.entry.vnf.as_str();
                    on_event(Event::ErrorRoutine { vnf: rvnf });
                    let mut expect = None;
                    for (k, a) in list.iter().enumerate() {
                        let s = execute(
                            rvnf,
                            Phase::Error,
                            k + 1,
                            *a,
                            r.client,
                            r.function.as_deref(),
                            &mut expect,
                        )
                        .await;
                        on_event(Event::Step(&s));
                        let stop = !s.ok;
                        report.steps.push(s);
                        // PyCOO's error routine stops at its first failing action.
                        if stop {
                            break;
                        }
                    }
                }
            }
            return Ok(report);
        }
    }
    Ok(report)
}

fn describe(e: &ClientError) -> String {
    e.to_string()
}

async fn execute(
    vnf: &str,
    phase: Phase,
    number: usize,
    action: Action,
    client: &VnfClient,
    function: Option<&str>,
    expect_running: &mut Option<bool>,
) -> Step {
    let result: Result<String, String> = match action {
        Action::Start => match client.start().await {
            Ok(outcome) => match client.running().await {
                Ok(true) => {
                    *expect_running = Some(true);
                    Ok(match outcome {
                        StartOutcome::Started { pid } => format!("started, PID {pid}"),
                        StartOutcome::AlreadyRunning => "already running".to_owned(),
                    })
                }
                Ok(false) => Err("start answered but the engine is not running".to_owned()),
                Err(e) => Err(describe(&e)),
            },
            Err(e) => Err(describe(&e)),
        },
        Action::Stop => match client.stop().await {
            Ok(outcome) => match client.running().await {
                Ok(false) => {
                    *expect_running = Some(false);
                    Ok(match outcome {
                        StopOutcome::Stopped => "stopped".to_owned(),
                        StopOutcome::NotRunning => "was not running".to_owned(),
                    })
                }
                Ok(true) => Err("stop answered but the engine still runs".to_owned()),
                Err(e) => Err(describe(&e)),
            },
            Err(e) => Err(describe(&e)),
        },
        Action::Replace => match function {
            None => Err("no function file for replace".to_owned()),
            Some(content) => client
                .replace_function(content)
                .await
                .map(|via| format!("replaced function ({} bytes, {via:?})", content.len()))
                .map_err(|e| describe(&e)),
        },
        Action::Running => match client.running().await {
            Ok(r) => match *expect_running {
                Some(exp) if exp != r => Err(format!(
                    "running is {r}, expected {exp} after the last {}",
                    if exp { "start" } else { "stop" }
                )),
                _ => Ok(r.to_string()),
            },
            Err(e) => Err(describe(&e)),
        },
        Action::Data => client.read_file().await.map_err(|e| describe(&e)),
        Action::Id => match client.vnf_identification().await {
            Ok(Some(id)) => Ok(format!(
                "provider={:?} description={:?} version={:?} id={:?} name={:?}",
                id.provider, id.description, id.version, id.id, id.name
            )),
            Ok(None) => Ok("{} (the function has no valid VNF header)".to_owned()),
            Err(e) => Err(describe(&e)),
        },
        Action::Metrics => client
            .metrics()
            .await
            .map(|m| {
                let parts: Vec<String> = m
                    .list
                    .iter()
                    .map(|x| format!("{}={}", x.name, x.value))
                    .collect();
                format!("time_ms={} {}", m.time_ms, parts.join(" "))
            })
            .map_err(|e| describe(&e)),
        Action::Log => client.log().await.map_err(|e| describe(&e)),
    };
    let (ok, detail) = match result {
        Ok(d) => (true, d),
        Err(d) => (false, d),
    };
    Step {
        vnf: vnf.to_owned(),
        phase,
        number,
        action,
        ok,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Options;
    use crate::endpoint::Endpoint;

    fn script(text: &str) -> Script {
        topology::script::parse(text, Path::new("s.json")).unwrap()
    }

    fn dead_client(dir: &Path) -> VnfClient {
        VnfClient::new(
            Endpoint::Unix(dir.join("none.sock")),
            Options {
                retries: 0,
                ..Options::default()
            },
        )
    }

    #[tokio::test]
    async fn input_errors_before_any_call() {
        let dir = tempfile::tempdir().unwrap();
        let clients = vec![("x".to_owned(), dead_client(dir.path()))];
        let s = script(r#"[{"x": {"go": {"1": "start"}}}]"#);
        let e = run_with(&s, "nope", &clients, &RunOptions::default(), &mut |_| {})
            .await
            .unwrap_err();
        assert!(matches!(e, ScriptError::UnknownTask { .. }), "{e}");
        let s = script(r#"[{"x": {"go": {"1": "replace"}}}]"#);
        let e = run_with(&s, "go", &clients, &RunOptions::default(), &mut |_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(e, ScriptError::ReplaceWithoutFunction { .. }),
            "{e}"
        );
        let s = script(
            r#"[{"x": {"function": "nothere-zz.click", "path": "F/", "go": {"1": "replace"}}}]"#,
        );
        let opts = RunOptions {
            base_dirs: vec![dir.path().to_owned()],
        };
        let e = run_with(&s, "go", &clients, &opts, &mut |_| {})
            .await
            .unwrap_err();
        assert!(matches!(e, ScriptError::FunctionMissing { .. }), "{e}");
        let s = script(r#"[{"y": {"go": {"1": "start"}}}]"#);
        let e = run_with(&s, "go", &clients, &opts, &mut |_| {})
            .await
            .unwrap_err();
        assert!(matches!(e, ScriptError::NoEndpoints { .. }), "{e}");
    }

    #[tokio::test]
    async fn failure_runs_error_list_and_aborts() {
        let dir = tempfile::tempdir().unwrap();
        let clients = vec![
            ("x".to_owned(), dead_client(dir.path())),
            ("y".to_owned(), dead_client(dir.path())),
        ];
        let s = script(
            r#"[{"x": {"go": {"1": "running", "2": "log"}, "error": {"1": "stop", "2": "log"}}},
                {"y": {"go": {"1": "running"}}}]"#,
        );
        let mut events = 0;
        let r = run_with(&s, "go", &clients, &RunOptions::default(), &mut |_| {
            events += 1
        })
        .await
        .unwrap();
        assert!(!r.success());
        let f = r.failure.as_ref().unwrap();
        assert_eq!(
            (f.vnf.as_str(), f.number, f.action),
            ("x", 1, Action::Running)
        );
        // Failed step, then the error list's first action (which fails and ends it); y never ran.
        assert_eq!(r.steps.len(), 2);
        assert_eq!(r.steps[1].phase, Phase::Error);
        assert!(r.steps.iter().all(|s| s.vnf == "x"));
        assert_eq!(events, 3);
    }
}
