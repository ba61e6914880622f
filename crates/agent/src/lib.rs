//! The `coo-vnf` agent: the Click-On-OSv (COO) REST API in front of a Click engine
//! (coo-click, reference Click, any Click-compatible binary, or kernel forwarding).
//! The binary is `src/bin/coo-vnf.rs` of the root package; docs in `docs/rest-api.md`.

// Tests may unwrap (workspace lint `unwrap_used` targets input paths).
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod allow;
pub mod api;
pub mod build_info;
pub mod cli;
pub mod control;
pub mod engine;
pub mod fastclick;
pub mod header;
pub mod kernel_forward;
pub mod listen;
pub mod osv_json;
pub mod privilege;
pub mod profile;
pub mod query;
pub mod rewrite;
pub mod service;
pub mod sockbuf;
pub mod sysinfo;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use crate::api::AppState;
use crate::kernel_forward::RealTc;
use crate::service::{Agent, AgentConfig};

/// Entry point of the `coo-vnf` binary. Exit codes: 0 ok, 2 bad arguments, 1 runtime error.
pub fn main() -> ExitCode {
    let args = match cli::Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&args.log))
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = check_args(&args) {
        eprintln!("coo-vnf: {e}");
        return ExitCode::from(2);
    }
    // Capabilities are per thread: dropped before the runtime starts its threads, so every
    // thread (and every engine or `tc` forked from one) has only what the agent needs.
    if privilege::running_as_root() {
        if let Err(e) = privilege::drop_agent_capabilities() {
            eprintln!("coo-vnf: cannot drop capabilities: {e}");
            return ExitCode::from(1);
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("coo-vnf: cannot start runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coo-vnf: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn check_args(args: &cli::Args) -> Result<(), String> {
    for i in &args.interfaces {
        cli::validate_ifname(i)?;
    }
    let parent = args
        .function
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !parent.is_dir() {
        return Err(format!(
            "directory of the function file {} does not exist",
            args.function.display()
        ));
    }
    Ok(())
}

/// A refused `--workdir`.
#[derive(Debug, thiserror::Error)]
pub enum BadWorkdir {
    #[error("workdir {0} is a symlink; give the real directory")]
    Symlink(String),
    #[error("workdir {0} exists and is not a directory")]
    NotDir(String),
    #[error(
        "workdir {path} exists but was not made for this agent (owner uid {owner}, mode {mode:o}); \
         it must belong to uid {me} and not be writable by group or others"
    )]
    Foreign {
        path: String,
        owner: u32,
        mode: u32,
        me: u32,
    },
    #[error("workdir {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Opens `--workdir`: created (mode 0700) when absent; an existing one must be a real
/// directory of our own user that nobody else can write (else another user could have
/// planted files or symlinks in it).
pub fn open_workdir(w: &std::path::Path) -> Result<(), BadWorkdir> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let path = w.display().to_string();
    match std::fs::symlink_metadata(w) {
        Ok(m) if m.file_type().is_symlink() => Err(BadWorkdir::Symlink(path)),
        Ok(m) if !m.is_dir() => Err(BadWorkdir::NotDir(path)),
        Ok(m) => {
            // SAFETY: geteuid has no preconditions.
            let me = unsafe { libc::geteuid() };
            let mode = m.mode() & 0o7777;
            if m.uid() != me || mode & 0o022 != 0 {
                return Err(BadWorkdir::Foreign {
                    path,
                    owner: m.uid(),
                    mode,
                    me,
                });
            }
            Ok(())
        }
        Err(_) => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(w)
            .map_err(|source| BadWorkdir::Io { path, source }),
    }
}

async fn run(args: cli::Args) -> anyhow::Result<()> {
    // Refused before anything is created.
    let token = load_token(&args)?;
    check_listen_security(&args.listen, token.is_some(), args.insecure)?;
    let allowed = args
        .allow_engines
        .iter()
        .map(|a| a.parse::<allow::AllowedEngine>())
        .collect::<Result<Vec<_>, _>>()?;
    let function = std::path::absolute(&args.function).context("function path")?;
    // The default workdir has a random name made with O_EXCL semantics (mode 0700), so no
    // one can prepare it in advance; it is removed at exit.
    let (workdir, _guard) = match &args.workdir {
        Some(w) => {
            open_workdir(w)?;
            (w.clone(), None)
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("coo-vnf-")
                .tempdir()
                .context("create workdir")?;
            (t.path().to_owned(), Some(t))
        }
    };
    let cfg = AgentConfig {
        function,
        interfaces: args.interfaces.clone(),
        io_mode: args.io_mode.clone(),
        initial_options: args.engine_options.clone().unwrap_or_default(),
        workdir,
        start_timeout: Duration::from_millis(args.start_timeout_ms),
        call_timeout: Duration::from_millis(args.call_timeout_ms),
        stop_grace: Duration::from_secs(3),
        tc: Arc::new(RealTc),
        allowed_engines: allow::EngineAllowList::new(allowed, &args.engine),
        engine_ids: (privilege::running_as_root() && args.engine_uid != 0)
            .then_some((args.engine_uid, args.engine_gid)),
    };
    let state = Arc::new(AppState {
        agent: Agent::new(cfg, args.engine.clone()),
        token,
        compat_open_reads: args.compat_open_reads,
    });
    raise_fd_limit(args.max_connections);
    let router = api::router_with(
        state.clone(),
        api::Limits {
            concurrent_requests: args.max_concurrent_requests,
            // An engine start may take its whole start timeout, then stop grace on failure.
            request: api::Limits::default()
                .request
                .max(Duration::from_millis(args.start_timeout_ms) + Duration::from_secs(30)),
            ..api::Limits::default()
        },
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for spec in &args.listen {
        let bound = listen::bind(spec)
            .await
            .with_context(|| format!("listen on {spec}"))?;
        // Callers (tests, the netns driver) learn the real address from this line.
        println!("coo-vnf: listening on {}", bound.local());
        tasks.push(tokio::spawn(listen::serve(
            bound,
            router.clone(),
            stop_rx.clone(),
            args.max_connections,
        )));
    }
    let _ = std::io::stdout().flush();
    if args.autostart {
        match state.agent.start().await {
            Ok(o) => tracing::info!(?o, "autostart"),
            Err(e) => tracing::error!("autostart failed: {e}"),
        }
    }
    wait_for_signal().await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    state.agent.shutdown().await;
    Ok(())
}

/// Room for `max_connections` descriptors (soft limit up to the hard one): a low default
/// (1024) would make accept fail for everyone long before the connection cap.
fn raise_fd_limit(max_connections: usize) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid rlimit struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return;
        }
        let want = (max_connections as libc::rlim_t + 256).min(lim.rlim_max);
        if lim.rlim_cur < want {
            lim.rlim_cur = want;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// The token digest from `--token-file`, `COO_VNF_TOKEN` or `COO_VNF_TOKEN_SHA256`.
fn load_token(args: &cli::Args) -> anyhow::Result<Option<coo_api::TokenDigest>> {
    use coo_api::{Token, TokenDigest};
    let from_file = args
        .token_file
        .as_deref()
        .map(Token::read_file)
        .transpose()?
        .map(|t| t.digest());
    let from_env = std::env::var("COO_VNF_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .map(|t| Token::new(&t).map(|t| t.digest()))
        .transpose()
        .context("COO_VNF_TOKEN")?;
    let from_digest = std::env::var("COO_VNF_TOKEN_SHA256")
        .ok()
        .filter(|t| !t.is_empty())
        .map(|t| TokenDigest::from_hex(&t))
        .transpose()
        .context("COO_VNF_TOKEN_SHA256")?;
    let all: Vec<TokenDigest> = [from_file, from_env, from_digest]
        .into_iter()
        .flatten()
        .collect();
    if all.len() > 1 {
        anyhow::bail!("give the token once: --token-file, COO_VNF_TOKEN or COO_VNF_TOKEN_SHA256");
    }
    Ok(all.into_iter().next())
}

/// Without a token only loopback and UNIX sockets are served, unless `--insecure`.
fn check_listen_security(
    listen: &[listen::ListenSpec],
    has_token: bool,
    insecure: bool,
) -> anyhow::Result<()> {
    if has_token {
        return Ok(());
    }
    let exposed: Vec<String> = listen
        .iter()
        .filter(|l| matches!(l, listen::ListenSpec::Tcp(a) if !a.ip().is_loopback()))
        .map(|l| l.to_string())
        .collect();
    if exposed.is_empty() {
        tracing::warn!("no token: every local client may drive this agent");
        return Ok(());
    }
    if !insecure {
        anyhow::bail!(
            "refusing to listen on {} without a token (give --token-file, or --insecure to allow \
             anyone who can reach it to run engines)",
            exposed.join(", ")
        );
    }
    tracing::warn!(
        "--insecure: listening on {} without a token; anyone who can reach it may drive it",
        exposed.join(", ")
    );
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers we can only serve until killed.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
