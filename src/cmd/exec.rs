//! `coo-bench exec SCRIPT TASK`: runs a PyCOO execution script against VNF agents.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use vnf_client::script::{self, Phase, RunOptions, ScriptError, ScriptReport};
use vnf_client::{Endpoint, Options, VnfClient};

/// Run a PyCOO execution script (actions start/stop/replace/running/data/id/metrics/log).
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// Script file (PyCOO `SCRIPT/sfcscript.json` format), or a PyCOO directory holding
    /// `SCRIPT/sfcscript.json`.
    pub script: PathBuf,
    /// Task to run (a task-list name of the script, e.g. instantiate, update, end).
    pub task: String,
    /// Topology (file or PyCOO directory): gives the VNF order and the base for function paths.
    #[arg(long, conflicts_with = "run")]
    pub topology: Option<PathBuf>,
    /// A running testbed (`coo-bench up`): agents and VNF order from its testbed.json.
    #[arg(long)]
    pub run: Option<String>,
    /// Agent of a VNF, `VNF=tcp:HOST:PORT|http://HOST:PORT|unix:/path` (repeatable).
    #[arg(long = "endpoint", value_name = "VNF=ENDPOINT")]
    pub endpoints: Vec<String>,
    /// File holding the agents' bearer token (default with --run: the run's `agent.token`).
    /// The token may also come from the environment (`COO_VNF_TOKEN`), never as an argument.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Timeout of each REST call, in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout_s: u64,
    /// Print only the report as JSON on stdout (progress lines go to stderr).
    #[arg(long)]
    pub json: bool,
}

/// Exit status for input PyCOO has no result code for (unknown task, bad endpoint, invalid
/// script): `EX_USAGE`, outside PyCOO's 1..9.
pub const EXIT_INVALID: u8 = 64;

fn invalid(msg: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    eprintln!("error: {msg}");
    Ok(ExitCode::from(EXIT_INVALID))
}

/// PyCOO's result codes of an SFC script call (`SFC.scriptSFC`), after its layers shift them:
/// the REST layer's code − 2 (VNF layer) − 1 (SFC layer). The exit status is the absolute value.
pub mod pycoo_code {
    /// The task ran.
    pub const OK: i32 = 0;
    /// The script file is missing.
    pub const SCRIPT_MISSING: i32 = -1;
    /// A VNF of the script is not up (its agent does not answer).
    pub const VNF_NOT_UP: i32 = -2;
    /// `replace` without `path`/`function` (REST −1).
    pub const REPLACE_WITHOUT_FUNCTION: i32 = -4;
    /// An action failed and the VNF has no error list (REST −3).
    pub const FAILED_NO_ERROR_LIST: i32 = -6;
    /// An action failed, the error list ran and succeeded (REST −4).
    pub const FAILED_ERROR_LIST_OK: i32 = -7;
    /// An action failed and the error list failed too (REST −5).
    pub const FAILED_ERROR_LIST_FAILED: i32 = -8;
    /// The `replace` file is missing (REST −6).
    pub const FUNCTION_MISSING: i32 = -9;
}

/// The PyCOO code of a finished run.
fn code_of(report: &ScriptReport) -> i32 {
    if report.failure.is_none() {
        return pycoo_code::OK;
    }
    let recovery: Vec<bool> = report
        .steps
        .iter()
        .filter(|s| s.phase == Phase::Error)
        .map(|s| s.ok)
        .collect();
    if recovery.is_empty() {
        pycoo_code::FAILED_NO_ERROR_LIST
    } else if recovery.iter().all(|ok| *ok) {
        pycoo_code::FAILED_ERROR_LIST_OK
    } else {
        pycoo_code::FAILED_ERROR_LIST_FAILED
    }
}

/// Ends the command with PyCOO's `code` (printed, and in `--json` as `pycoo_code`).
fn finish(code: i32, message: &str, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        let doc = serde_json::json!({ "pycoo_code": code, "error": message });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    }
    eprintln!("error: {message} (PyCOO {code})");
    Ok(ExitCode::from(code.unsigned_abs().min(255) as u8))
}

fn script_path(p: &Path) -> PathBuf {
    if p.is_dir() {
        p.join("SCRIPT").join("sfcscript.json")
    } else {
        p.to_owned()
    }
}

/// The token from `--token-file` or `COO_VNF_TOKEN`.
fn token_of(args: &ExecArgs) -> Result<Option<coo_api::Token>, String> {
    if let Some(f) = &args.token_file {
        return coo_api::Token::read_file(f)
            .map(Some)
            .map_err(|e| e.to_string());
    }
    match std::env::var("COO_VNF_TOKEN") {
        Ok(t) if !t.is_empty() => coo_api::Token::new(&t)
            .map(Some)
            .map_err(|e| format!("COO_VNF_TOKEN: {e}")),
        _ => Ok(None),
    }
}

/// Runs the command. Exit status: the absolute value of PyCOO's result code (0 the task ran,
/// see [`pycoo_code`]), or [`EXIT_INVALID`] for input PyCOO has no code for.
pub fn exec(args: ExecArgs) -> anyhow::Result<ExitCode> {
    let file = script_path(&args.script);
    if !file.is_file() {
        let msg = format!("script {} not found", file.display());
        return finish(pycoo_code::SCRIPT_MISSING, &msg, args.json);
    }
    let script = match topology::script::load(&file) {
        Ok(s) => s,
        Err(errors) => return invalid(format_args!("{}:\n{errors}", file.display())),
    };
    let mut options = Options {
        timeout: Duration::from_secs(args.timeout_s.max(1)),
        token: match token_of(&args) {
            Ok(t) => t,
            Err(e) => return invalid(e),
        },
        ..Options::default()
    };
    // VNF order (PyCOO's VNFS order) and endpoints.
    let mut order: Vec<String> = Vec::new();
    let mut endpoints: Vec<(String, Endpoint)> = Vec::new();
    let mut base_dirs: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        base_dirs.push(cwd);
    }
    if let Some(dir) = file.parent() {
        base_dirs.push(dir.to_owned());
        if let Some(up) = dir.parent() {
            base_dirs.push(up.to_owned());
        }
    }
    for pair in &args.endpoints {
        let Some((vnf, ep)) = pair.split_once('=') else {
            return invalid(format_args!("--endpoint {pair:?}: expected VNF=ENDPOINT"));
        };
        let ep: Endpoint = match ep.parse() {
            Ok(e) => e,
            Err(e) => return invalid(format_args!("--endpoint {vnf}: {e}")),
        };
        endpoints.push((vnf.to_owned(), ep));
    }
    if let Some(run) = &args.run {
        let tb = testbed::load(run).with_context(|| format!("loading run {run}"))?;
        if options.token.is_none() {
            options.token =
                testbed::agent_token(&tb).with_context(|| format!("token of run {run}"))?;
        }
        for v in &tb.vnfs {
            order.push(v.id.clone());
            if !endpoints.iter().any(|(id, _)| *id == v.id) {
                match v.agent.endpoint.parse() {
                    Ok(ep) => endpoints.push((v.id.clone(), ep)),
                    Err(e) => return invalid(format_args!("run {run}, VNF {}: {e}", v.id)),
                }
            }
        }
        let src = &tb.topology_source;
        base_dirs.push(if src.is_dir() {
            src.clone()
        } else {
            src.parent().map(Path::to_owned).unwrap_or_default()
        });
    } else if let Some(t) = &args.topology {
        let topo = match topology::load(t) {
            Ok(t) => t,
            Err(errors) => return invalid(format_args!("{}:\n{errors}", t.display())),
        };
        order = topo.vnfs.iter().map(|v| v.id.as_str().to_owned()).collect();
        base_dirs.push(topo.base_dir.clone());
        for (id, _) in &endpoints {
            if !order.contains(id) {
                return invalid(format_args!(
                    "--endpoint {id}: no such VNF in {}",
                    t.display()
                ));
            }
        }
    }
    if endpoints.is_empty() {
        return invalid("no agents: give --endpoint VNF=ENDPOINT pairs or --run RUN_ID");
    }
    if order.is_empty() {
        order = endpoints.iter().map(|(id, _)| id.clone()).collect();
    }
    let clients: Vec<(String, VnfClient)> = order
        .iter()
        .filter_map(|id| {
            let (_, ep) = endpoints.iter().find(|(e, _)| e == id)?;
            Some((id.clone(), VnfClient::new(ep.clone(), options.clone())))
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    // PyCOO's VNF layer checks that each VNF is up before any REST call.
    for (id, client) in &clients {
        if let Err(e) = runtime.block_on(client.version()) {
            let msg = format!("VNF {id} is not up: {e}");
            return finish(pycoo_code::VNF_NOT_UP, &msg, args.json);
        }
    }
    let opts = RunOptions { base_dirs };
    let json = args.json;
    // With --json, stdout carries the JSON document only.
    let say = |line: &str| {
        if json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    say(&format!("script {} task {:?}", file.display(), args.task));
    let mut on_event = |e: script::Event<'_>| {
        for line in script::event_lines(&e) {
            say(&line);
        }
    };
    let run = script::run_with(&script, &args.task, &clients, &opts, &mut on_event);
    let report = match runtime.block_on(run) {
        Ok(r) => r,
        Err(e @ ScriptError::ReplaceWithoutFunction { .. }) => {
            return finish(pycoo_code::REPLACE_WITHOUT_FUNCTION, &e.to_string(), json)
        }
        Err(e @ ScriptError::FunctionMissing { .. }) => {
            return finish(pycoo_code::FUNCTION_MISSING, &e.to_string(), json)
        }
        Err(e @ ScriptError::UnknownTask { .. }) => {
            // PyCOO silently runs nothing for a task no entry has; we say so.
            return invalid(format_args!("{e} (PyCOO would run nothing and return 0)"));
        }
        Err(e @ ScriptError::NoEndpoints { .. }) => return invalid(e),
        Err(e) => return Err(e.into()),
    };
    let code = code_of(&report);
    if json {
        let mut doc = serde_json::to_value(&report)?;
        if let Some(map) = doc.as_object_mut() {
            map.insert("pycoo_code".to_owned(), code.into());
        }
        println!("{}", serde_json::to_string_pretty(&doc)?);
    }
    match &report.failure {
        None => say(&format!(
            "task {:?}: ok ({} steps), PyCOO {code}",
            report.task,
            report.steps.len()
        )),
        Some(f) => say(&format!(
            "task {:?}: FAILED at VNF {} step {} ({}): {}; PyCOO {code}",
            report.task, f.vnf, f.number, f.action, f.message
        )),
    }
    Ok(ExitCode::from(code.unsigned_abs().min(255) as u8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use topology::script::Action;
    use vnf_client::script::{Failure, Step};

    fn report(steps: Vec<(Phase, bool)>, failed: bool) -> ScriptReport {
        ScriptReport {
            task: "t".into(),
            steps: steps
                .into_iter()
                .enumerate()
                .map(|(i, (phase, ok))| Step {
                    vnf: "x".into(),
                    phase,
                    number: i + 1,
                    action: Action::Stop,
                    ok,
                    detail: String::new(),
                })
                .collect(),
            failure: failed.then(|| Failure {
                vnf: "x".into(),
                number: 1,
                action: Action::Start,
                message: "failed".into(),
            }),
            skipped: Vec::new(),
        }
    }

    #[test]
    fn codes_follow_pycoo_layers() {
        assert_eq!(code_of(&report(vec![(Phase::Task, true)], false)), 0);
        assert_eq!(code_of(&report(vec![(Phase::Task, false)], true)), -6);
        let recovered = vec![
            (Phase::Task, false),
            (Phase::Error, true),
            (Phase::Error, true),
        ];
        assert_eq!(code_of(&report(recovered, true)), -7);
        let failed = vec![(Phase::Task, false), (Phase::Error, false)];
        assert_eq!(code_of(&report(failed, true)), -8);
    }
}
