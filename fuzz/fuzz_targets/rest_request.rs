//! The agent's REST request handling on hostile input, without sockets: raw bytes are served
//! by hyper's HTTP/1 server (as `coo-vnf` does) over an in-memory pipe, or turned into a
//! structured request sent to the axum router with `tower::ServiceExt::oneshot`. No panic,
//! and every answer is a well-formed HTTP response (`HTTP/1.0` to 1.0 requests, else 1.1).
//!
//! Half the inputs go to an agent with a bearer token (and a structured request may carry the
//! right one, a wrong one, or none), so the authenticated paths are fuzzed too.
//!
//! Safety: the agent's engine is a path that does not exist, and requests naming `engine`
//! are refused before routing, so no input can make the target start a process or run `tc`.
#![no_main]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use agent::api::{router, AppState};
use agent::engine::EngineSpec;
use agent::kernel_forward::RecordingTc;
use agent::service::{Agent, AgentConfig};
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

const FUNCTION: &str = "FromDPDKDevice(0) -> c :: Counter -> ToDPDKDevice(1);\n";

struct Env {
    rt: tokio::runtime::Runtime,
    dir: PathBuf,
}

fn env() -> &'static Env {
    static E: OnceLock<Env> = OnceLock::new();
    E.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("coo-fuzz-rest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fuzz workdir");
        Env {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            dir,
        }
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_lowercase()
}

/// Refuse anything that could select an engine (an arbitrary binary) before routing.
async fn guard(req: Request, next: Next) -> Response {
    let path = percent_decode(req.uri().path());
    if path.contains("engine") || percent_decode(req.uri().query().unwrap_or("")).contains("engine")
    {
        return StatusCode::FORBIDDEN.into_response();
    }
    next.run(req).await
}

fn app(token: bool) -> axum::Router {
    let e = env();
    let function = e.dir.join("func.click");
    std::fs::write(&function, FUNCTION).expect("function file");
    let cfg = AgentConfig {
        function,
        interfaces: vec!["cbfz0-x-0".into(), "cbfz0-x-1".into()],
        io_mode: None,
        initial_options: Default::default(),
        workdir: e.dir.clone(),
        start_timeout: Duration::from_millis(200),
        call_timeout: Duration::from_millis(200),
        stop_grace: Duration::from_millis(100),
        tc: Arc::new(RecordingTc::default()),
        allowed_engines: Default::default(),
        engine_ids: None,
    };
    let state = Arc::new(AppState {
        agent: Agent::new(
            cfg,
            EngineSpec::External("/nonexistent/coo-fuzz-engine".into()),
        ),
        token: token.then(|| coo_api::TokenDigest::of("fuzz-token")),
        compat_open_reads: false,
    });
    router(state).layer(middleware::from_fn(guard))
}

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"];
const PATHS: [&str; 12] = [
    "/click_plugin/version",
    "/click_plugin/running",
    "/click_plugin/start",
    "/click_plugin/stop",
    "/click_plugin/read_file",
    "/click_plugin/write_file",
    "/click_plugin/vnf_identification",
    "/click_plugin/metrics",
    "/click_plugin/log",
    "/v1/health",
    "/v1/counters",
    "/v1/function",
];

async fn raw(app: axum::Router, data: &[u8]) {
    let (mut client, server) = tokio::io::duplex(1 << 20);
    let conn = hyper::server::conn::http1::Builder::new()
        .max_buf_size(4 * 1024 * 1024)
        .serve_connection(TokioIo::new(server), TowerToHyperService::new(app));
    let serve = tokio::spawn(async move {
        let _ = conn.await;
    });
    let _ = client.write_all(data).await;
    let _ = client.shutdown().await;
    let mut resp = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut resp)).await;
    assert!(read.is_ok(), "no answer within 5 s");
    if !resp.is_empty() {
        assert!(
            resp.starts_with(b"HTTP/1.1 ") || resp.starts_with(b"HTTP/1.0 "),
            "not an HTTP response: {:?}",
            String::from_utf8_lossy(&resp[..resp.len().min(64)])
        );
    }
    drop(client);
    if let Err(e) = serve.await {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

async fn structured(app: axum::Router, token_set: bool, sel: u8, data: &[u8]) {
    let (head, body) = data.split_at(data.len().min(usize::from(sel & 0x3f)));
    let method = METHODS[usize::from(sel >> 2) % METHODS.len()];
    let base = PATHS[usize::from(sel) % PATHS.len()];
    let tail = String::from_utf8_lossy(head);
    let uri = format!("{base}{tail}");
    let mut b = Request::builder().method(method).uri(uri.as_str());
    match (sel & 0x40 != 0, sel & 0x20 != 0) {
        (true, _) => b = b.header("authorization", "Bearer fuzz-token"),
        (false, true) => b = b.header("authorization", "Bearer wrong-token"),
        (false, false) => {}
    }
    if sel & 0x80 != 0 {
        b = b.header("content-type", "application/json");
    }
    let Ok(req) = b.body(Body::from(body.to_vec())) else {
        return;
    };
    let path = req.uri().path().to_owned();
    let resp = app.oneshot(req).await.expect("infallible");
    let status = resp.status();
    assert!(!status.is_informational(), "{status}");
    // With a token set, only the open probes answer a request without the right one.
    if token_set && sel & 0x40 == 0 && status != StatusCode::UNAUTHORIZED {
        assert!(
            coo_api::routes::is_open(method, &path, false) || status.is_client_error(),
            "{method} {uri}: {status} without the token"
        );
    }
    let _ = axum::body::to_bytes(resp.into_body(), 8 << 20).await;
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let e = env();
    let app = app(sel & 0x10 != 0);
    if sel & 1 == 0 {
        e.rt.block_on(raw(app, rest));
    } else {
        let Some((&sel2, rest)) = rest.split_first() else {
            return;
        };
        e.rt.block_on(structured(app, sel & 0x10 != 0, sel2, rest));
    }
});
