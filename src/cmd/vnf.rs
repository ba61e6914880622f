//! Per-VNF control of a running testbed (PyCOO's `control` sub-CLI and `modify`):
//! `coo-bench vnf VNF start|stop|status|function [FILE]|handler NAME [VALUE]` and
//! `coo-bench modify RUN VNF FILE`. Every call goes through vnf-client.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use testbed::Testbed;
use vnf_client::{Options, StartOutcome, StopOutcome, VnfClient};

/// Exit status for input errors (unknown run or VNF, unreadable or invalid function).
const EXIT_INVALID: u8 = 2;

/// Control one VNF of a running testbed.
#[derive(Debug, Args)]
pub struct VnfArgs {
    /// VNF id (as in the topology).
    pub vnf: String,
    /// Testbed run id (default: the one testbed that has this VNF).
    #[arg(long)]
    pub run: Option<String>,
    /// File holding the agent's bearer token (default: `COO_VNF_TOKEN`, else the run's
    /// `agent.token`). Never on the command line, where `ps` shows it.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Timeout of each REST call, in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout_s: u64,
    #[command(subcommand)]
    pub action: VnfAction,
}

#[derive(Debug, Subcommand)]
pub enum VnfAction {
    /// Start the engine.
    Start,
    /// Stop the engine.
    Stop,
    /// Engine, running state, PID, function and interfaces (`GET /v1/health`).
    Status,
    /// Print the function, or replace it with FILE (checked first; restarts a running engine).
    Function { file: Option<PathBuf> },
    /// Read handler NAME (`element.handler`), or write VALUE to it.
    Handler { name: String, value: Option<String> },
}

/// Replace a VNF's function in a running testbed (PyCOO's `modify`, per VNF).
#[derive(Debug, Args)]
pub struct ModifyArgs {
    /// Testbed run id.
    pub run: String,
    /// VNF id.
    pub vnf: String,
    /// New Click function file.
    pub file: PathBuf,
    /// File holding the agent's bearer token (default: `COO_VNF_TOKEN`, else the run's
    /// `agent.token`).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

fn invalid(msg: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    eprintln!("error: {msg}");
    Ok(ExitCode::from(EXIT_INVALID))
}

/// The testbed `run`, or the only one that has `vnf`.
fn find_testbed(run: Option<&str>, vnf: &str) -> Result<Testbed, String> {
    if let Some(run) = run {
        let tb = testbed::load(run).map_err(|e| e.to_string())?;
        return if tb.vnfs.iter().any(|v| v.id == vnf) {
            Ok(tb)
        } else {
            Err(format!("run {run} has no VNF {vnf}"))
        };
    }
    let runs = testbed::status().map_err(|e| e.to_string())?;
    let mut with: Vec<Testbed> = runs
        .into_iter()
        .filter_map(|r| r.testbed)
        .filter(|tb| tb.vnfs.iter().any(|v| v.id == vnf))
        .collect();
    match with.len() {
        1 => Ok(with.remove(0)),
        0 => Err(format!("no running testbed has a VNF {vnf}")),
        _ => Err(format!(
            "several testbeds have a VNF {vnf} ({}): pick one with --run",
            with.iter()
                .map(|t| t.run_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The agent's token: `--token-file`, else `COO_VNF_TOKEN`, else the run's own.
fn token_for(tb: &Testbed, file: Option<&Path>) -> Result<Option<coo_api::Token>, String> {
    if let Some(f) = file {
        return coo_api::Token::read_file(f)
            .map(Some)
            .map_err(|e| e.to_string());
    }
    match std::env::var("COO_VNF_TOKEN") {
        Ok(t) if !t.is_empty() => coo_api::Token::new(&t)
            .map(Some)
            .map_err(|e| format!("COO_VNF_TOKEN: {e}")),
        _ => testbed::agent_token(tb).map_err(|e| e.to_string()),
    }
}

fn client_of(
    tb: &Testbed,
    vnf: &str,
    token_file: Option<&Path>,
    timeout_s: u64,
) -> Result<VnfClient, String> {
    let token = token_for(tb, token_file)?;
    let v = tb
        .vnfs
        .iter()
        .find(|v| v.id == vnf)
        .ok_or_else(|| format!("run {} has no VNF {vnf}", tb.run_id))?;
    let endpoint = v
        .agent
        .endpoint
        .parse()
        .map_err(|e| format!("VNF {vnf}: {e}"))?;
    let options = Options {
        timeout: Duration::from_secs(timeout_s.max(1)),
        token,
        ..Options::default()
    };
    Ok(VnfClient::new(endpoint, options))
}

/// Checks `file` as the function of `vnf` in the testbed's topology and variant (language,
/// ports, classes for the engine), as `up` would. `Ok(false)` when it was not checked.
fn check_function(tb: &Testbed, vnf: &str, file: &Path) -> Result<bool, String> {
    let Ok(mut topo) = topology::load(&tb.topology_source) else {
        eprintln!(
            "note: topology {} cannot be loaded; the function is not checked first",
            tb.topology_source.display()
        );
        return Ok(false);
    };
    let file = std::fs::canonicalize(file).map_err(|e| format!("{}: {e}", file.display()))?;
    topo.variants.retain(|v| v.name == tb.variant);
    for variant in &mut topo.variants {
        variant
            .vnfs
            .entry(topology::NodeId::new(vnf))
            .or_default()
            .function = Some(file.clone());
    }
    let findings = crate::cmd::functions::check(&topo);
    crate::cmd::validate::print_warnings(&findings.warnings);
    if findings.errors.is_empty() {
        Ok(true)
    } else {
        Err(topology::LoadErrors(findings.errors).to_string())
    }
}

async fn replace(client: &VnfClient, file: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let via = client
        .replace_function(&text)
        .await
        .map_err(|e| e.to_string())?;
    let running = client.running().await.map_err(|e| e.to_string())?;
    Ok(format!(
        "function replaced ({via:?}); engine {}",
        if running { "running" } else { "stopped" }
    ))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")
}

/// `coo-bench vnf`: 0 done, 1 the agent refused or failed, 2 invalid input.
pub fn vnf(args: VnfArgs) -> anyhow::Result<ExitCode> {
    let tb = match find_testbed(args.run.as_deref(), &args.vnf) {
        Ok(tb) => tb,
        Err(e) => return invalid(e),
    };
    let client = match client_of(&tb, &args.vnf, args.token_file.as_deref(), args.timeout_s) {
        Ok(c) => c,
        Err(e) => return invalid(e),
    };
    if let VnfAction::Function { file: Some(file) } = &args.action {
        if let Err(e) = check_function(&tb, &args.vnf, file) {
            return invalid(format_args!("{}: not replaced:\n{e}", file.display()));
        }
    }
    let rt = runtime()?;
    let result: Result<String, String> = rt.block_on(async {
        let e = |e: vnf_client::ClientError| e.to_string();
        match &args.action {
            VnfAction::Start => client.start().await.map_err(e).map(|o| match o {
                StartOutcome::Started { pid } => format!("started, PID {pid}"),
                StartOutcome::AlreadyRunning => "already running".to_owned(),
            }),
            VnfAction::Stop => client.stop().await.map_err(e).map(|o| match o {
                StopOutcome::Stopped => "stopped".to_owned(),
                StopOutcome::NotRunning => "was not running".to_owned(),
            }),
            VnfAction::Status => client
                .health()
                .await
                .map_err(e)
                .and_then(|h| serde_json::to_string_pretty(&h).map_err(|x| x.to_string())),
            VnfAction::Function { file: None } => client.get_function().await.map_err(e),
            VnfAction::Function { file: Some(file) } => replace(&client, file).await,
            VnfAction::Handler { name, value: None } => client.read_handler(name).await.map_err(e),
            VnfAction::Handler {
                name,
                value: Some(value),
            } => client.write_handler(name, value).await.map_err(e),
        }
    });
    match result {
        Ok(text) => {
            println!("{}", text.trim_end());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: VNF {} (run {}): {e}", args.vnf, tb.run_id);
            Ok(ExitCode::from(1))
        }
    }
}

/// `coo-bench modify RUN VNF FILE`: the function is checked, then replaced.
pub fn modify(args: ModifyArgs) -> anyhow::Result<ExitCode> {
    vnf(VnfArgs {
        vnf: args.vnf,
        run: Some(args.run),
        token_file: args.token_file,
        timeout_s: 30,
        action: VnfAction::Function {
            file: Some(args.file),
        },
    })
}
