//! `coo-vnf` command line.

use std::path::PathBuf;

use clap::Parser;

use crate::engine::EngineSpec;
use crate::listen::ListenSpec;

/// The VNF agent: COO REST API in front of a Click engine.
#[derive(Debug, Parser)]
#[command(name = "coo-vnf", version, about)]
pub struct Args {
    /// Listen address, `tcp:HOST:PORT` or `unix:/path` (repeatable).
    #[arg(long, required = true)]
    pub listen: Vec<ListenSpec>,
    /// The VNF's function file (read_file/write_file target; started by `start`).
    #[arg(long)]
    pub function: PathBuf,
    /// Data interfaces in PyCOO order: port N of FromDPDKDevice(N) is the N-th.
    #[arg(long, value_delimiter = ',')]
    pub interfaces: Vec<String>,
    /// Engine: coo-click, click (reference), kernel-forward, or a path to a Click-compatible binary.
    #[arg(long, default_value = "coo-click")]
    pub engine: EngineSpec,
    /// File holding the bearer token every request but the open reads needs (mode 0600).
    /// The token may also come from the environment: `COO_VNF_TOKEN` (the token) or
    /// `COO_VNF_TOKEN_SHA256` (its digest). Never on the command line, which `ps` shows.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Answer COO's read endpoints (read_file, vnf_identification, metrics, log) without the
    /// token, for PyCOO clients that cannot send one.
    #[arg(long)]
    pub compat_open_reads: bool,
    /// Allow listening on a non-loopback TCP address without a token (anyone reaching it may
    /// then drive the agent).
    #[arg(long)]
    pub insecure: bool,
    /// An extra engine binary the API may select, `NAME=PATH` or `PATH` (repeatable). The
    /// built-in engines are always allowed; no other binary can be chosen over the API.
    #[arg(long = "allow-engine", value_name = "NAME=PATH")]
    pub allow_engines: Vec<String>,
    /// Start the engine right away.
    #[arg(long)]
    pub autostart: bool,
    /// coo-click I/O mode (throughput|latency), passed as --io-mode.
    #[arg(long)]
    pub io_mode: Option<String>,
    /// Engine options for the first start, JSON (`{"burst": 32, "rx_buffer_kib": 8192}`);
    /// `PUT /v1/engine/options` replaces them.
    #[arg(long, value_name = "JSON", value_parser = parse_engine_options)]
    pub engine_options: Option<coo_api::EngineOptions>,
    /// Directory for the engine's control socket, log and config snapshot
    /// (default: a fresh directory under $TMPDIR, removed at exit).
    #[arg(long)]
    pub workdir: Option<PathBuf>,
    /// User id engines run as when the agent is root (only CAP_NET_RAW, plus CAP_NET_ADMIN
    /// for Click binaries other than coo-click). 0 keeps engines root (not recommended).
    #[arg(long, default_value_t = crate::privilege::NOBODY)]
    pub engine_uid: u32,
    /// Group id engines run as when the agent is root.
    #[arg(long, default_value_t = crate::privilege::NOBODY)]
    pub engine_gid: u32,
    /// Most open connections per listener; more are closed at once.
    #[arg(long, default_value_t = crate::listen::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Most requests handled at once; more get 503 at once.
    #[arg(long, default_value_t = crate::api::Limits::default().concurrent_requests)]
    pub max_concurrent_requests: usize,
    /// How long `start` waits for the engine's control socket.
    #[arg(long, default_value_t = 10_000)]
    pub start_timeout_ms: u64,
    /// Timeout of each ControlSocket call.
    #[arg(long, default_value_t = 5_000)]
    pub call_timeout_ms: u64,
    /// Log filter (tracing EnvFilter syntax).
    #[arg(long, env = "COO_VNF_LOG", default_value = "info")]
    pub log: String,
}

/// Interface names as the kernel accepts them (the shared rules of `netwire::IfName`).
pub fn validate_ifname(name: &str) -> Result<(), String> {
    click_io::IfName::new(name)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn parse_engine_options(text: &str) -> Result<coo_api::EngineOptions, String> {
    let o: coo_api::EngineOptions = serde_json::from_str(text).map_err(|e| e.to_string())?;
    o.check().map_err(|e| e.to_string())?;
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let a = Args::try_parse_from([
            "coo-vnf",
            "--listen",
            "tcp:127.0.0.1:0",
            "--listen",
            "unix:/tmp/x.sock",
            "--function",
            "/tmp/f.click",
            "--interfaces",
            "a,b",
            "--engine",
            "kernel-forward",
        ])
        .unwrap();
        assert_eq!(a.listen.len(), 2);
        assert_eq!(a.interfaces, vec!["a", "b"]);
        assert_eq!(a.engine, EngineSpec::KernelForward);
        assert!(Args::try_parse_from(["coo-vnf", "--function", "f"]).is_err());
    }

    #[test]
    fn ifnames() {
        assert!(validate_ifname("veth0").is_ok());
        assert!(validate_ifname("a234567890123456").is_err());
        assert!(validate_ifname("a/b").is_err());
        assert!(validate_ifname("").is_err());
    }
}
