//! `coo-bench exec SCRIPT TASK`: runs a PyCOO execution script against VNF agents.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use vnf_client::script::{self, RunOptions, ScriptError};
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
    /// Also print the report as JSON at the end.
    #[arg(long)]
    pub json: bool,
}

fn invalid(msg: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    eprintln!("error: {msg}");
    Ok(ExitCode::from(2))
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

/// Runs the command. Exit codes: 0 the task succeeded, 1 an action failed (or an agent was
/// unreachable), 2 invalid input (script, task, endpoints, missing function file).
pub fn exec(args: ExecArgs) -> anyhow::Result<ExitCode> {
    let file = script_path(&args.script);
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
    let opts = RunOptions { base_dirs };
    println!("script {} task {:?}", file.display(), args.task);
    let report = match runtime.block_on(script::run(&script, &args.task, &clients, &opts)) {
        Ok(r) => r,
        Err(
            e @ (ScriptError::UnknownTask { .. }
            | ScriptError::ReplaceWithoutFunction { .. }
            | ScriptError::FunctionMissing { .. }
            | ScriptError::NoEndpoints { .. }),
        ) => return invalid(e),
        Err(e) => return Err(e.into()),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    match &report.failure {
        None => {
            println!("task {:?}: ok ({} steps)", report.task, report.steps.len());
            Ok(ExitCode::SUCCESS)
        }
        Some(f) => {
            println!(
                "task {:?}: FAILED at VNF {} step {} ({}): {}",
                report.task, f.vnf, f.number, f.action, f.message
            );
            Ok(ExitCode::from(1))
        }
    }
}
