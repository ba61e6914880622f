//! Integration tests of the `coo-vnf` agent driven through `vnf-client`.
//!
//! The REST part runs as any user against a fake engine: this test binary itself, re-executed
//! through a tiny shell wrapper (see `fake_engine_entry`), which speaks Click's ControlSocket
//! protocol. Real engines (coo-click, reference Click via `COO_BENCH_REFERENCE_CLICK`) and the
//! netns forwarding part (root) are probed and skipped with a printed reason when missing.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vnf_client::script::{self, RunOptions};
use vnf_client::{ClientError, Endpoint, Options, StartOutcome, StopOutcome, VnfClient};

const HEADER_A: &str = "//VNF_HEADER\n//VNF_VERSION: 1.0\n//VNF_ID:5ad5c7f4-1b2c-4d3e-8f90-0123456789ab\n//VNF_PROVIDER: UFSM\n//VNF_NAME: Forward\n//VNF_RELEASE_DATE: 2017-04-08\n//VNF_RELEASE_VERSION: 1.0\n//VNF_RELEASE_LIFESPAN: 2018-04-08\n//VNF_DESCRIPTION: Simple forwarder\n";
const HEADER_B: &str = "//VNF_HEADER\n//VNF_VERSION: 2.1\n//VNF_ID:00000000-1111-2222-3333-444444444444\n//VNF_PROVIDER: coo bench\n//VNF_NAME: Firewall\n//VNF_RELEASE_DATE: 2024-01-02 10-11\n//VNF_RELEASE_VERSION: 2.1\n//VNF_RELEASE_LIFESPAN: 2025-01-02\n//VNF_DESCRIPTION: Blocks ICMP.\n";
/// The fake engine opens no interfaces; the names only feed the DPDK-element rewrite.
const FAKE_IFS: &[&str] = &["fake0", "fake1"];
const FORWARD: &str =
    "FromDPDKDevice(0) -> ToDPDKDevice(1);\nFromDPDKDevice(1) -> ToDPDKDevice(0);\n";

// ---------------------------------------------------------------------------------------------
// Fake engine: `ENGINE -u SOCK FUNC` → this binary's `fake_engine_entry` test.

/// Not a test: the entry point of the fake engine, run only through the wrapper script.
#[test]
#[ignore = "fake engine entry point, started by the agent through a wrapper script"]
fn fake_engine_entry() {
    let (Ok(sock), Ok(func)) = (
        std::env::var("AGENT_FAKE_SOCK"),
        std::env::var("AGENT_FAKE_FUNC"),
    ) else {
        eprintln!("skipped: fake_engine_entry runs only as the fake engine");
        return;
    };
    fake_engine(Path::new(&sock), Path::new(&func));
}

fn fake_engine(sock: &Path, func: &Path) -> ! {
    let text = std::fs::read_to_string(func).unwrap_or_default();
    if text.contains("FAIL_CONFIG") {
        eprintln!("{}:1: fake config error", func.display());
        std::process::exit(1);
    }
    eprintln!("fake engine up");
    let listener = std::os::unix::net::UnixListener::bind(sock).unwrap();
    let start = Instant::now();
    let reset = std::sync::Arc::new(std::sync::Mutex::new(Duration::ZERO));
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let reset = reset.clone();
        std::thread::spawn(move || {
            let _ = serve_control(conn, start, &reset);
        });
    }
    std::process::exit(0)
}

fn serve_control(
    conn: std::os::unix::net::UnixStream,
    start: Instant,
    reset: &std::sync::Mutex<Duration>,
) -> std::io::Result<()> {
    let mut w = conn.try_clone()?;
    let mut r = BufReader::new(conn);
    w.write_all(b"Click::ControlSocket/1.3\r\n")?;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let cmd = words
            .first()
            .map(|c| c.to_ascii_uppercase())
            .unwrap_or_default();
        let h = words.get(1).copied().unwrap_or("");
        // Counters grow with time: 5000 bytes and 50 packets per ms since the last reset.
        let ms = (start.elapsed() - *reset.lock().unwrap()).as_millis() as u64;
        let value = |h: &str| -> Option<String> {
            Some(match h {
                "list" => "3\nin\nc\nout\n".to_owned(),
                "in.class" => "FromDPDKDevice".into(),
                "c.class" => "Counter".into(),
                "out.class" => "ToDPDKDevice".into(),
                "in.handlers" => "count\tr\nin_bytes\tr\nclass\tr\n".into(),
                "c.handlers" => "count\tr\nreset\tw\nclass\tr\n".into(),
                "out.handlers" => "n_sent\tr\nout_bytes\tr\nclass\tr\n".into(),
                "in.count" | "c.count" | "out.n_sent" => (ms * 50).to_string(),
                "in.in_bytes" | "out.out_bytes" => (ms * 5000).to_string(),
                _ => return None,
            })
        };
        match cmd.as_str() {
            "READ" => match value(h) {
                Some(v) => write!(w, "200 Read handler '{h}' OK\r\nDATA {}\r\n{v}", v.len())?,
                None => write!(w, "511 No read handler named '{h}'\r\n")?,
            },
            "CHECKREAD" => match value(h) {
                Some(_) => write!(w, "200 Read handler '{h}' OK\r\n")?,
                None => write!(w, "511 No read handler named '{h}'\r\n")?,
            },
            "WRITE" | "WRITEDATA" => {
                if cmd == "WRITEDATA" {
                    let n: usize = words.get(2).and_then(|n| n.parse().ok()).unwrap_or(0);
                    let mut buf = vec![0; n];
                    r.read_exact(&mut buf)?;
                }
                if h == "c.reset" {
                    *reset.lock().unwrap() = start.elapsed();
                    write!(w, "200 Write handler '{h}' OK\r\n")?;
                } else if value(h).is_some() {
                    write!(w, "530 Handler '{h}' read-only\r\n")?;
                } else {
                    write!(w, "511 No write handler named '{h}'\r\n")?;
                }
            }
            "QUIT" => {
                write!(w, "200 Goodbye!\r\n")?;
                return Ok(());
            }
            _ => write!(w, "501 Command '{cmd}' unimplemented\r\n")?,
        }
    }
}

/// Writes the wrapper that makes this test binary the engine.
fn fake_engine_script(dir: &Path) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = dir.join("fake-engine.sh");
    // The agent runs `ENGINE -u SOCK FUNC`.
    let body = format!(
        "#!/bin/sh\n[ \"$1\" = -u ] || {{ echo \"fake engine: bad args $*\" >&2; exit 2; }}\nAGENT_FAKE_SOCK=\"$2\" AGENT_FAKE_FUNC=\"$3\" exec '{}' fake_engine_entry --exact --ignored --nocapture --test-threads=1 >/dev/null\n",
        exe.display()
    );
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    // A root agent runs engines as nobody: the script's directory must be searchable.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

// ---------------------------------------------------------------------------------------------
// Agent process handling.

struct Agent {
    child: Child,
    unix: PathBuf,
    tcp: String,
}

impl Drop for Agent {
    fn drop(&mut self) {
        // SIGTERM first: the agent then removes its engine's directory under $TMPDIR.
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Agent {
    fn client(&self) -> VnfClient {
        VnfClient::new(Endpoint::Unix(self.unix.clone()), opts(None))
    }
    fn tcp_client(&self) -> VnfClient {
        VnfClient::new(self.tcp.parse().unwrap(), opts(None))
    }
}

fn opts(token: Option<&str>) -> Options {
    Options {
        timeout: Duration::from_secs(20),
        retries: 2,
        token: token.map(|t| coo_api::Token::new(t).unwrap()),
        ..Options::default()
    }
}

/// Starts coo-vnf with a UNIX and a loopback TCP listener, prefix for `ip netns exec`.
fn spawn_agent(
    dir: &Path,
    name: &str,
    engine: &str,
    interfaces: &[&str],
    extra: &[&str],
    wrap: &[&str],
) -> Agent {
    let unix = dir.join(format!("{name}.sock"));
    let function = dir.join(format!("{name}.click"));
    let workdir = dir.join(format!("{name}-work"));
    let bin = env!("CARGO_BIN_EXE_coo-vnf");
    let mut args: Vec<String> = wrap.iter().map(|s| s.to_string()).collect();
    args.push(bin.to_owned());
    for a in [
        "--listen".to_owned(),
        format!("unix:{}", unix.display()),
        "--listen".into(),
        "tcp:127.0.0.1:0".into(),
        "--function".into(),
        function.display().to_string(),
        "--engine".into(),
        engine.to_owned(),
        "--workdir".into(),
        workdir.display().to_string(),
        "--log".into(),
        "warn".into(),
    ] {
        args.push(a);
    }
    if !interfaces.is_empty() {
        args.push("--interfaces".into());
        args.push(interfaces.join(","));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut child = Command::new(&args[0])
        .args(&args[1..])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut tcp = String::new();
    for _ in 0..2 {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        if let Some(a) = line.trim().strip_prefix("coo-vnf: listening on tcp:") {
            tcp = format!("tcp:{a}");
        }
        assert!(
            line.starts_with("coo-vnf: listening on"),
            "agent said {line:?}"
        );
    }
    // Keep draining stdout so the agent never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = out.read_to_end(&mut sink);
    });
    Agent { child, unix, tcp }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn raw(
    c: &VnfClient,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> (u16, String, Option<String>) {
    let r = c
        .request(method, path, body.map(|b| b.to_vec()), None)
        .await
        .unwrap();
    (r.status, r.text(), r.content_type)
}

/// Asserts a COO-shaped error body with the given status.
fn assert_error(r: &(u16, String, Option<String>), status: u16) {
    assert_eq!(r.0, status, "body {}", r.1);
    let v: serde_json::Value =
        serde_json::from_str(&r.1).unwrap_or_else(|_| panic!("not JSON: {:?}", r.1));
    assert_eq!(v["code"], status, "{}", r.1);
    assert!(
        v["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        r.1
    );
    assert_eq!(r.2.as_deref(), Some("application/json"));
}

// ---------------------------------------------------------------------------------------------
// REST API (any user).

#[test]
fn rest_api_every_endpoint_with_fake_engine() {
    let dir = tempfile::tempdir().unwrap();
    let engine = fake_engine_script(dir.path());
    std::fs::write(dir.path().join("vnf.click"), format!("{HEADER_A}{FORWARD}")).unwrap();
    let agent = spawn_agent(
        dir.path(),
        "vnf",
        engine.to_str().unwrap(),
        FAKE_IFS,
        &["--allow-engine", "missing=/nonexistent/click"],
        &[],
    );
    rt().block_on(async {
        let c = agent.client();
        let t = agent.tcp_client();
        // COO bodies, byte for byte.
        assert_eq!(raw(&c, "GET", "/click_plugin/version", None).await.1, "\"2.0\"");
        assert_eq!(t.version().await.unwrap(), "2.0");
        assert_eq!(raw(&c, "GET", "/click_plugin/running", None).await.1, "false");
        assert_eq!(
            raw(&c, "GET", "/click_plugin/vnf_identification", None).await.1,
            r#"{"provider": "", "description": "", "version": "", "id": "", "name": ""}"#
        );
        assert_eq!(c.log().await.unwrap(), "Click is not running");
        assert_eq!(c.stop().await.unwrap(), StopOutcome::NotRunning);
        assert_eq!(c.read_file().await.unwrap(), format!("{HEADER_A}{FORWARD}"));
        let m = c.metrics().await.unwrap();
        let names: Vec<&str> = m.list.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["CPU Usage", "Disk Usage", "Memory Usage", "Net TX", "Net RX"]);
        assert_eq!(m.get("CPU Usage"), Some(0));
        assert!(m.time_ms > 1_600_000_000_000);

        // write_file (COO form, URL-encoded, characters PyCOO's client mangled).
        let tricky = format!("{HEADER_A}// a & b # c + d = e ; 100%\n{FORWARD}");
        c.write_file("func.click", &tricky).await.unwrap();
        assert_eq!(c.read_file().await.unwrap(), tricky);
        let r = raw(&c, "POST", "/click_plugin/write_file?path=%2Ffunc.click&content=x%0A", None).await;
        assert_eq!((r.0, r.1.as_str()), (200, "OK!!"));
        assert_eq!(r.2.as_deref(), Some("text/plain; charset=utf-8"));
        c.put_function(&format!("{HEADER_A}{FORWARD}")).await.unwrap();
        assert_eq!(c.get_function().await.unwrap(), format!("{HEADER_A}{FORWARD}"));

        // start / running / identification / handlers / counters / metrics / log.
        let r = raw(&c, "POST", "/click_plugin/start", None).await;
        assert_eq!(r.0, 200);
        assert!(r.1.starts_with("\"Sucess: PID ") && r.1.ends_with('"'), "{}", r.1);
        assert!(c.running().await.unwrap());
        assert_eq!(c.start().await.unwrap(), StartOutcome::AlreadyRunning);
        let id = c.vnf_identification().await.unwrap().unwrap();
        assert_eq!(
            (id.provider.as_str(), id.name.as_str(), id.version.as_str(), id.description.as_str()),
            ("UFSM", "Forward", "1.0", "Simple forwarder")
        );
        assert_eq!(
            raw(&t, "GET", "/click_plugin/vnf_identification", None).await.1,
            r#"{"provider": "UFSM", "description": "Simple forwarder", "version": "1.0", "id": "5ad5c7f4-1b2c-4d3e-8f90-0123456789ab", "name": "Forward"}"#
        );
        std::thread::sleep(Duration::from_millis(50));
        let n1: u64 = c.read_handler("c.count").await.unwrap().parse().unwrap();
        assert!(n1 > 0);
        assert!(c.write_handler("c.reset", "").await.unwrap().contains("OK"));
        let n2: u64 = c.read_handler("c.count").await.unwrap().parse().unwrap();
        assert!(n2 < n1, "reset through the handler API: {n2} !< {n1}");
        let counters = c.counters().await.unwrap();
        assert!(counters.running);
        let classes: Vec<&str> = counters.elements.iter().map(|e| e.class.as_str()).collect();
        assert_eq!(classes, ["FromDPDKDevice", "Counter", "ToDPDKDevice"]);
        assert!(counters.handler_u64("in", "in_bytes").is_some());
        assert!(counters.handler_u64("out", "n_sent").is_some());
        let h = c.health().await.unwrap();
        assert!(h.running && h.pid.is_some());
        assert_eq!(h.engine, engine.display().to_string());
        std::thread::sleep(Duration::from_millis(300));
        let m = c.metrics().await.unwrap();
        // Fake engine: 5000 bytes/ms each way = 5 % of COO's 100 MB/s scale.
        assert!((1..=100).contains(&m.get("Net RX").unwrap()), "{m:?}");
        assert!((1..=100).contains(&m.get("Net TX").unwrap()), "{m:?}");
        let body = raw(&c, "GET", "/click_plugin/metrics", None).await.1;
        assert!(body.starts_with("{\"time_ms\": ") && !body.contains("}, {"), "{body}");
        assert!(body.contains(r#"{"id": 0, "value": "#) && body.contains(r#""name": "Net RX"}]}"#), "{body}");
        assert!(c.log().await.unwrap().contains("fake engine up"));

        // Engine switching is refused while running.
        let e = c.set_engine("kernel-forward").await.unwrap_err();
        assert_eq!(e.status(), Some(409));

        // stop / replace / start a new function.
        let r = raw(&c, "POST", "/click_plugin/stop", None).await;
        assert_eq!(r.1, "\"Success\"");
        assert!(!c.running().await.unwrap());
        assert_eq!(c.counters().await.unwrap().elements.len(), 0);
        c.replace_function(&format!("{HEADER_B}{FORWARD}")).await.unwrap();
        assert!(matches!(c.start().await.unwrap(), StartOutcome::Started { .. }));
        let id = c.vnf_identification().await.unwrap().unwrap();
        assert_eq!((id.name.as_str(), id.provider.as_str()), ("Firewall", "coo bench"));
        c.stop().await.unwrap();
        // A function without a valid header gives COO's `{}` while running.
        c.put_function(FORWARD).await.unwrap();
        c.start().await.unwrap();
        assert_eq!(raw(&c, "GET", "/click_plugin/vnf_identification", None).await.1, "{}");
        assert_eq!(c.vnf_identification().await.unwrap(), None);
        c.stop().await.unwrap();

        // A config error is a real failure (COO said 200), with the engine's stderr; log keeps it.
        c.put_function("FAIL_CONFIG -> Discard;\n").await.unwrap();
        let e = c.start().await.unwrap_err();
        assert_eq!(e.status(), Some(422), "{e}");
        assert!(e.to_string().contains("fake config error"), "{e}");
        assert!(!c.running().await.unwrap());
        assert!(c.log().await.unwrap().contains("fake config error"));
        let e = c.read_handler("c.count").await.unwrap_err();
        assert_eq!(e.status(), Some(409));

        // Engine selection at run time.
        assert_eq!(c.set_engine("kernel-forward").await.unwrap(), "kernel-forward");
        assert_eq!(c.engine().await.unwrap(), "kernel-forward");
        assert_eq!(c.set_engine(engine.to_str().unwrap()).await.unwrap(), engine.display().to_string());
        // Only engines of the start-up allow-list can be chosen.
        let e = c.set_engine("/bin/sh").await.unwrap_err();
        assert_eq!(e.status(), Some(403), "{e}");
        assert!(e.to_string().contains("not allowed"), "{e}");
        // A missing (allowed) engine binary: 500 with the reason.
        c.set_engine("missing").await.unwrap();
        c.put_function(FORWARD).await.unwrap();
        let e = c.start().await.unwrap_err();
        assert_eq!(e.status(), Some(500), "{e}");
    });
}

#[test]
fn rest_hostile_input_gets_clean_errors() {
    let dir = tempfile::tempdir().unwrap();
    let engine = fake_engine_script(dir.path());
    std::fs::write(dir.path().join("vnf.click"), FORWARD).unwrap();
    let outside = dir.path().join("outside.txt");
    let agent = spawn_agent(
        dir.path(),
        "vnf",
        engine.to_str().unwrap(),
        FAKE_IFS,
        &[],
        &[],
    );
    rt().block_on(async {
        let c = agent.client();
        for path in [
            "../vnf.click",
            "/etc/passwd",
            "func.click/../../x",
            "..%2Ffunc.click",
            "%2E%2E%2Foutside.txt",
            outside.to_str().unwrap(),
            "vnf.click%00",
        ] {
            let q = format!("/click_plugin/write_file?path={path}&content=x");
            assert_error(&raw(&c, "POST", &q, None).await, 403);
        }
        assert!(!outside.exists());
        assert_error(
            &raw(&c, "POST", "/click_plugin/write_file?content=x", None).await,
            400,
        );
        assert_error(
            &raw(&c, "POST", "/click_plugin/write_file?path=&content=x", None).await,
            400,
        );
        assert_error(
            &raw(&c, "POST", "/click_plugin/write_file?path=func.click", None).await,
            400,
        );
        assert_error(
            &raw(
                &c,
                "POST",
                "/click_plugin/write_file?path=func.click&path=/etc/x&content=x",
                None,
            )
            .await,
            400,
        );
        // Invalid UTF-8 in the query and in bodies.
        assert_error(
            &raw(
                &c,
                "POST",
                "/click_plugin/write_file?path=func.click&content=%FF%FE",
                None,
            )
            .await,
            400,
        );
        assert_error(
            &raw(&c, "PUT", "/v1/function", Some(b"\xff\xfe\x00")).await,
            400,
        );
        assert_error(&raw(&c, "POST", "/v1/engine", Some(b"\xff")).await, 400);
        // Huge body and huge query.
        // The agent answers 413 before reading the body, so write it from another thread.
        let reply = raw_http(
            &agent.unix,
            b"PUT /v1/function HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n",
            2 * 1024 * 1024,
        );
        assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
        assert!(
            reply
                .ends_with(r#"{"message": "request body larger than 1048576 bytes", "code": 413}"#),
            "{reply}"
        );
        let q = format!(
            "/click_plugin/write_file?path=func.click&content={}",
            "a".repeat(62_000)
        );
        assert_error(&raw(&c, "POST", &q, None).await, 413);
        let head = format!(
            "POST /click_plugin/write_file?path=func.click&content={} HTTP/1.1\r\nHost: x\r\n\r\n",
            "a".repeat(200_000)
        );
        let reply = raw_http(&agent.unix, head.as_bytes(), 0);
        assert!(
            reply.starts_with("HTTP/1.1 4"),
            "{}",
            &reply[..reply.len().min(200)]
        );
        // A big config through the COO call still works: the client moves it into the body.
        let big = format!("// {}\n{FORWARD}", "x".repeat(300_000));
        c.write_file("func.click", &big).await.unwrap();
        assert_eq!(c.read_file().await.unwrap(), big);
        c.put_function(FORWARD).await.unwrap();
        assert_eq!(c.read_file().await.unwrap(), FORWARD);
        // Unknown endpoints and wrong methods.
        assert_error(&raw(&c, "GET", "/nope", None).await, 404);
        assert_error(
            &raw(&c, "GET", "/click_plugin/../etc/passwd", None).await,
            404,
        );
        assert_error(&raw(&c, "GET", "/click_plugin/start", None).await, 405);
        assert_error(&raw(&c, "DELETE", "/click_plugin/log", None).await, 405);
        assert_error(&raw(&c, "POST", "/click_plugin/version", None).await, 405);
        // Bad handler names and engines.
        assert_error(&raw(&c, "GET", "/v1/handlers/a%20b", None).await, 400);
        assert_error(&raw(&c, "GET", "/v1/handlers/a%0AQUIT", None).await, 400);
        assert_error(&raw(&c, "POST", "/v1/engine", Some(b"fastclik")).await, 403);
        // Handlers of a stopped engine.
        assert_error(&raw(&c, "GET", "/v1/handlers/c.count", None).await, 409);
        c.start().await.unwrap();
        assert_error(&raw(&c, "GET", "/v1/handlers/nope.count", None).await, 404);
        assert_error(
            &raw(&c, "POST", "/v1/handlers/c.count", Some(b"1")).await,
            403,
        );
        // Not HTTP at all, then a half request: the agent drops them and keeps serving.
        for junk in [
            &b"\x00\x01\x02 garbage\r\n\r\n"[..],
            b"GET /click_plugin/version HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab",
        ] {
            let mut s = std::os::unix::net::UnixStream::connect(&agent.unix).unwrap();
            s.write_all(junk).unwrap();
            s.shutdown(std::net::Shutdown::Write).unwrap();
            let mut sink = Vec::new();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let _ = s.read_to_end(&mut sink);
        }
        assert_eq!(c.version().await.unwrap(), "2.0");
        assert!(c.running().await.unwrap());
        c.stop().await.unwrap();
    });
}

/// Sends a raw request head plus `body_len` bytes (from a thread: the server may answer and
/// close before reading it all) and returns the raw response.
fn raw_http(sock: &Path, head: &[u8], body_len: usize) -> String {
    let mut s = std::os::unix::net::UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut w = s.try_clone().unwrap();
    let head = head.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = w.write_all(&head);
        let _ = w.write_all(&vec![b'a'; body_len]);
    });
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    drop(s);
    let _ = writer.join();
    String::from_utf8_lossy(&buf).into_owned()
}

#[test]
fn rest_bearer_token_guards_mutating_calls() {
    let dir = tempfile::tempdir().unwrap();
    let engine = fake_engine_script(dir.path());
    std::fs::write(dir.path().join("vnf.click"), FORWARD).unwrap();
    let token_file = dir.path().join("agent.token");
    coo_api::Token::new("s3cret")
        .unwrap()
        .write_new_file(&token_file)
        .unwrap();
    let agent = spawn_agent(
        dir.path(),
        "vnf",
        engine.to_str().unwrap(),
        FAKE_IFS,
        &["--token-file", token_file.to_str().unwrap()],
        &[],
    );
    rt().block_on(async {
        let anon = agent.client();
        let wrong = VnfClient::new(Endpoint::Unix(agent.unix.clone()), opts(Some("nope")));
        let good = VnfClient::new(Endpoint::Unix(agent.unix.clone()), opts(Some("s3cret")));
        assert_eq!(anon.version().await.unwrap(), "2.0");
        assert_eq!(good.read_file().await.unwrap(), FORWARD);
        for c in [&anon, &wrong] {
            assert_eq!(c.read_file().await.unwrap_err().status(), Some(401));
            assert_eq!(c.start().await.unwrap_err().status(), Some(401));
            assert_eq!(c.put_function("x").await.unwrap_err().status(), Some(401));
            let e = c.write_file("func.click", "x").await.unwrap_err();
            assert_eq!(e.status(), Some(401));
        }
        assert!(!anon.running().await.unwrap());
        assert!(matches!(
            good.start().await.unwrap(),
            StartOutcome::Started { .. }
        ));
        assert_eq!(good.stop().await.unwrap(), StopOutcome::Stopped);
    });
}

#[test]
fn agent_sigkill_takes_engine_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = fake_engine_script(dir.path());
    std::fs::write(dir.path().join("vnf.click"), FORWARD).unwrap();
    let mut agent = spawn_agent(
        dir.path(),
        "vnf",
        engine.to_str().unwrap(),
        FAKE_IFS,
        &["--autostart"],
        &[],
    );
    let pid = rt().block_on(async {
        // --autostart runs right after the listeners are up.
        let c = agent.client();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let h = c.health().await.unwrap();
            match h.pid {
                Some(pid) => break pid,
                None if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                None => panic!("autostart did not start the engine: {:?}", c.log().await),
            }
        }
    });
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    // A SIGKILLed agent cannot remove its engine's directory (the engine's cwd): we do.
    let engine_dir = std::fs::read_link(format!("/proc/{pid}/cwd"))
        .ok()
        .filter(|d| d.to_string_lossy().contains("coo-engine-"));
    agent.child.kill().unwrap();
    agent.child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    // The engine is reparented and reaped by init (or a subreaper) once it dies.
    while engine_alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!engine_alive(pid), "engine {pid} outlived the agent");
    if let Some(d) = engine_dir {
        let _ = std::fs::remove_dir_all(d);
    }
}

fn engine_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Script runner against real agents.

#[test]
fn script_runner_instantiate_update_end_and_error_list() {
    let dir = tempfile::tempdir().unwrap();
    let engine = fake_engine_script(dir.path());
    let fdir = dir.path().join("FUNCTIONS");
    std::fs::create_dir(&fdir).unwrap();
    std::fs::write(fdir.join("forward.click"), format!("{HEADER_A}{FORWARD}")).unwrap();
    std::fs::write(fdir.join("firewall.click"), format!("{HEADER_B}{FORWARD}")).unwrap();
    std::fs::write(fdir.join("broken.click"), "FAIL_CONFIG;\n").unwrap();
    for n in ["x", "y"] {
        std::fs::write(dir.path().join(format!("{n}.click")), "// empty\n").unwrap();
    }
    let x = spawn_agent(
        dir.path(),
        "x",
        engine.to_str().unwrap(),
        FAKE_IFS,
        &[],
        &[],
    );
    let y = spawn_agent(
        dir.path(),
        "y",
        engine.to_str().unwrap(),
        FAKE_IFS,
        &[],
        &[],
    );
    let text = r#"[
      {"x": {"function": "forward.click", "path": "FUNCTIONS/",
             "instantiate": {"1": "replace", "2": "start", "3": "running", "4": "id"},
             "update": {"1": "stop", "2": "replace", "3": "start", "4": "running", "5": "metrics", "6": "data", "7": "log"},
             "end": {"1": "stop", "2": "running"},
             "error": {"1": "stop", "2": "log"}}},
      {"y": {"function": "firewall.click", "path": "FUNCTIONS/",
             "instantiate": {"1": "replace", "2": "start", "3": "running"},
             "end": {"1": "stop", "2": "running"},
             "broken": {"1": "stop", "2": "replace", "3": "start", "4": "running"},
             "error": {"1": "stop", "2": "log"}}},
      {"y2": {"instantiate": {"1": "start"}}}
    ]"#;
    let s = topology::script::parse(text, Path::new("sfcscript.json")).unwrap();
    let clients = vec![("x".to_owned(), x.client()), ("y".to_owned(), y.client())];
    let opts = RunOptions {
        base_dirs: vec![dir.path().to_owned()],
    };
    rt().block_on(async {
        let r = script::run(&s, "instantiate", &clients, &opts)
            .await
            .unwrap();
        assert!(r.success(), "{r:?}");
        assert_eq!(r.skipped, ["y2"]);
        assert_eq!(r.steps.len(), 7);
        assert!(r.steps[3].detail.contains("Forward"), "{:?}", r.steps[3]);
        assert!(x.client().running().await.unwrap() && y.client().running().await.unwrap());
        assert_eq!(
            y.client().vnf_identification().await.unwrap().unwrap().name,
            "Firewall"
        );
        let r = script::run(&s, "update", &clients, &opts).await.unwrap();
        assert!(r.success(), "{r:?}");
        assert_eq!(r.steps.len(), 7, "only x has update");
        assert!(r.steps[6].detail.contains("fake engine up"));
        let r = script::run(&s, "end", &clients, &opts).await.unwrap();
        assert!(r.success(), "{r:?}");
        assert!(!x.client().running().await.unwrap() && !y.client().running().await.unwrap());

        // y's broken function: start fails for real, y's error list runs (stop, log) and
        // its log shows the engine's stderr; the script fails.
        let mut broken = s.clone();
        for e in &mut broken.entries {
            if e.vnf.as_str() == "y" {
                e.function = Some("broken.click".into());
            }
        }
        let r = script::run(&broken, "broken", &clients, &opts)
            .await
            .unwrap();
        assert!(!r.success());
        let f = r.failure.as_ref().unwrap();
        assert_eq!((f.vnf.as_str(), f.number), ("y", 3));
        assert!(f.message.contains("422"), "{}", f.message);
        let last = r.steps.last().unwrap();
        assert_eq!(
            (last.phase, last.action),
            (script::Phase::Error, topology::script::Action::Log)
        );
        assert!(last.detail.contains("fake config error"), "{}", last.detail);
    });
}

// ---------------------------------------------------------------------------------------------
// Real engines over REST (no netns).

/// Runs `f` against an agent using `engine` on a Counter config, asserting handler reads.
fn real_engine_counter(engine: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("vnf.click"),
        format!(
            "{HEADER_A}src :: InfiniteSource(LIMIT 500, STOP false) -> c :: Counter -> Discard;\n"
        ),
    )
    .unwrap();
    let agent = spawn_agent(dir.path(), "vnf", engine, &[], &[], &[]);
    rt().block_on(async {
        let c = agent.client();
        c.start().await.unwrap();
        assert!(c.running().await.unwrap());
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut count = 0;
        while count < 500 && Instant::now() < deadline {
            count = c
                .read_handler("c.count")
                .await
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(count, 500);
        let k = c.counters().await.unwrap();
        assert_eq!(k.handler_u64("c", "count"), Some(500));
        assert_eq!(
            c.vnf_identification().await.unwrap().unwrap().name,
            "Forward"
        );
        assert!(c.write_handler("c.reset", "").await.is_ok());
        assert_eq!(c.read_handler("c.count").await.unwrap().trim(), "0");
        let e = c.read_handler("c.nonexistent").await.unwrap_err();
        assert_eq!(e.status(), Some(404));
        c.stop().await.unwrap();
        c.put_function("this is not click ;;; ->\n").await.unwrap();
        let e = c.start().await.unwrap_err();
        assert_eq!(e.status(), Some(422), "{e}");
        assert!(!c.log().await.unwrap().is_empty());
    });
}

fn reference_click() -> Option<String> {
    let p = std::env::var("COO_BENCH_REFERENCE_CLICK").ok()?;
    Path::new(&p).is_file().then_some(p)
}

/// coo-click is usable when it checks a trivial config (`-q`) successfully.
fn coo_click_works() -> Result<PathBuf, String> {
    let bin = Path::new(env!("CARGO_BIN_EXE_coo-vnf")).with_file_name("coo-click");
    let out = Command::new(&bin)
        .args(["-q", "-e", "Idle -> Discard;"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if out.status.success() {
        Ok(bin)
    } else {
        Err(format!(
            "{} -q -e 'Idle -> Discard;' failed: {}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[test]
fn reference_click_engine_over_rest() {
    let Some(click) = reference_click() else {
        eprintln!("skipped: COO_BENCH_REFERENCE_CLICK is not set to an existing binary");
        return;
    };
    real_engine_counter(&click);
}

#[test]
fn coo_click_engine_over_rest() {
    match coo_click_works() {
        Ok(_) => real_engine_counter("coo-click"),
        Err(why) => eprintln!("skipped: coo-click is not usable yet: {why}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Network namespaces (root): a VNF namespace with two veths, frames sent through it.

struct Netns {
    names: Vec<String>,
}

impl Drop for Netns {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn root_reason() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root (network namespaces)".into());
    }
    for tool in ["ip", "tc"] {
        if Command::new(tool).arg("-V").output().is_err() {
            return Some(format!("`{tool}` not installed"));
        }
    }
    None
}

/// Namespaces `<p>n` (VNF: `<p>a`, `<p>b`), `<p>s` (source: `<p>s0`), `<p>d` (sink: `<p>d0`).
fn make_netns() -> (Netns, String) {
    let p = format!("cbt{:04x}", rand::random::<u16>());
    let guard = Netns {
        names: vec![format!("{p}n"), format!("{p}s"), format!("{p}d")],
    };
    for n in &guard.names {
        sh(&["ip", "netns", "add", n]);
        for k in ["all", "default"] {
            sh(&[
                "ip",
                "netns",
                "exec",
                n,
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{k}.disable_ipv6=1"),
            ]);
        }
    }
    let (nf, src, dst) = (&guard.names[0], &guard.names[1], &guard.names[2]);
    for (mine, peer, peer_ns) in [
        (format!("{p}a"), format!("{p}s0"), src),
        (format!("{p}b"), format!("{p}d0"), dst),
    ] {
        sh(&[
            "ip", "link", "add", &mine, "netns", nf, "type", "veth", "peer", "name", &peer,
            "netns", peer_ns,
        ]);
        sh(&["ip", "-n", nf, "link", "set", &mine, "up"]);
        sh(&["ip", "-n", peer_ns, "link", "set", &peer, "up"]);
    }
    (guard, p)
}

/// Sends `n` broadcast frames of a local-experimental EtherType out of `ifname` in `netns`.
fn send_frames(netns: &str, ifname: &str, n: usize) {
    let path = std::path::PathBuf::from(format!("/run/netns/{netns}"));
    let ifname = netsys::IfName::new(ifname).unwrap();
    let sent = netsys::netns::run_in(Some(&path), move || {
        let mut tx = netsys::PacketTx::open(&ifname, &netsys::TxConfig::default()).unwrap();
        let mut frame = [0u8; 60];
        frame[..6].copy_from_slice(&[0xff; 6]);
        frame[6..12].copy_from_slice(&[0x02, 0, 0, 0xcb, 0x7e, 0x01]);
        frame[12..14].copy_from_slice(&[0x88, 0xb5]);
        for i in 0..n {
            frame[14] = i as u8;
            while tx.send_batch(&[frame]) == 0 {
                tx.wait_writable(10);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        tx.counters().packets
    })
    .unwrap();
    assert_eq!(sent, n as u64);
}

fn rx_packets(netns: &str, ifname: &str) -> u64 {
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            netns,
            "cat",
            &format!("/sys/class/net/{ifname}/statistics/rx_packets"),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Forwards frames through an agent in the VNF namespace; returns the agent's counters.
fn forward_through(engine: &str, function: &str) -> vnf_client::Counters {
    forward_with(
        engine,
        function,
        &topology::EngineOptions::default(),
        |_, _| {},
    )
}

/// Forwards 200 frames through `engine` started with `options`; `check(netns, configuration
/// the engine was given)` runs while the engine runs.
fn forward_with(
    engine: &str,
    function: &str,
    options: &topology::EngineOptions,
    check: impl FnOnce(&str, &str),
) -> vnf_client::Counters {
    let dir = tempfile::tempdir().unwrap();
    let (ns, p) = make_netns();
    let (nf, src, dst) = (&ns.names[0], &ns.names[1], &ns.names[2]);
    std::fs::write(dir.path().join("vnf.click"), function).unwrap();
    let ifs = [format!("{p}a"), format!("{p}b")];
    let ifs: Vec<&str> = ifs.iter().map(String::as_str).collect();
    let agent = spawn_agent(
        dir.path(),
        "vnf",
        engine,
        &ifs,
        &[],
        &["ip", "netns", "exec", nf],
    );
    rt().block_on(async {
        let c = agent.client();
        c.set_engine_options(options).await.unwrap();
        assert_eq!(&c.get_engine_options().await.unwrap(), options);
        if let Err(e) = c.start().await {
            panic!("start {engine}: {e}; log: {:?}", c.log().await);
        }
        let running = dir.path().join("vnf-work/running/vnf.click");
        check(nf, &std::fs::read_to_string(running).unwrap_or_default());
        let before = rx_packets(dst, &format!("{p}d0"));
        const N: usize = 200;
        send_frames(src, &format!("{p}s0"), N);
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut got = 0;
        while Instant::now() < deadline {
            got = rx_packets(dst, &format!("{p}d0")) - before;
            if got >= N as u64 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            got >= N as u64,
            "{engine}: only {got} of {N} frames reached the sink"
        );
        let m = c.metrics().await.unwrap();
        assert_eq!(m.list.len(), 5);
        let k = c.counters().await.unwrap();
        let a = &k.interfaces[0];
        assert!(a.rx_packets >= N as u64, "{a:?}");
        assert!(
            k.interfaces[1].tx_packets >= N as u64,
            "{:?}",
            k.interfaces[1]
        );
        c.stop().await.unwrap();
        k
    })
}

#[test]
fn netns_kernel_forward() {
    if let Some(why) = root_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let k = forward_through("kernel-forward", FORWARD);
    assert_eq!(k.engine, "kernel-forward");
    assert!(k.elements.is_empty());
}

#[test]
fn netns_reference_click_forward() {
    if let Some(why) = root_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let Some(click) = reference_click() else {
        eprintln!("skipped: COO_BENCH_REFERENCE_CLICK is not set to an existing binary");
        return;
    };
    // PyCOO's forward function unchanged: the agent rewrites the DPDK elements.
    let k = forward_through(&click, &format!("{HEADER_A}{FORWARD}"));
    let from: u64 = k
        .elements
        .iter()
        .filter(|e| e.class == "FromDevice")
        .filter_map(|e| e.handlers.get("count")?.parse::<u64>().ok())
        .sum();
    assert!(from >= 200, "FromDevice counts {k:?}");
}

/// Receive buffers (`rb`) of the packet sockets in `netns`, from `ss -0 -m`.
fn packet_socket_rcvbufs(netns: &str) -> Vec<u64> {
    let out = Command::new("ip")
        .args(["netns", "exec", netns, "ss", "-0", "-m"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.split("skmem:(")
        .skip(1)
        .filter_map(|s| {
            let rb = s.split(',').find_map(|f| f.strip_prefix("rb"))?;
            rb.parse().ok()
        })
        .collect()
}

#[test]
fn netns_reference_click_runs_the_options_it_is_given() {
    if let Some(why) = root_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let Some(click) = reference_click() else {
        eprintln!("skipped: COO_BENCH_REFERENCE_CLICK is not set to an existing binary");
        return;
    };
    // Equal buffers: the agent forces Click's packet sockets to the size asked for (Click
    // has no option for it); the burst reaches FromDevice/ToDevice.
    let options = topology::EngineOptions {
        burst: Some(16),
        rx_buffer_kib: Some(1024),
        ..Default::default()
    };
    let (mut rcvbufs, mut config) = (Vec::new(), String::new());
    forward_with(
        &click,
        &format!("{HEADER_A}{FORWARD}"),
        &options,
        |ns, c| {
            rcvbufs = packet_socket_rcvbufs(ns);
            config = c.to_owned();
        },
    );
    assert_eq!(
        rcvbufs,
        [1 << 20, 1 << 20],
        "SO_RCVBUF of Click's two packet sockets"
    );
    assert_eq!(config.matches("BURST 16").count(), 4, "{config}");
}

#[test]
fn engine_options_out_of_range_or_for_the_wrong_engine_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vnf.click"), FORWARD).unwrap();
    let agent = spawn_agent(dir.path(), "vnf", "kernel-forward", &[], &[], &[]);
    rt().block_on(async {
        let c = agent.client();
        let bad = raw(&c, "PUT", "/v1/engine/options", Some(br#"{"burst": 0}"#)).await;
        assert_error(&bad, 422);
        let unknown = raw(&c, "PUT", "/v1/engine/options", Some(br#"{"bursts": 2}"#)).await;
        assert_error(&unknown, 422);
        // Kernel forwarding runs no engine process: a burst means nothing there.
        let opts = topology::EngineOptions {
            burst: Some(8),
            ..Default::default()
        };
        c.set_engine_options(&opts).await.unwrap();
        let err = c.start().await.unwrap_err().to_string();
        assert!(
            err.contains("burst") && err.contains("kernel-forward"),
            "{err}"
        );
    });
}

#[test]
fn netns_coo_click_forward() {
    if let Some(why) = root_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let bin = match coo_click_works() {
        Ok(b) => b,
        Err(why) => {
            eprintln!("skipped: coo-click is not usable yet: {why}");
            return;
        }
    };
    let function = format!("{HEADER_A}{FORWARD}");
    // Built-in engine (FromDPDKDevice bound through --ports) and the same binary as an
    // external engine (config rewritten to FromDevice/ToDevice).
    for engine in ["coo-click".to_owned(), bin.display().to_string()] {
        let k = forward_through(&engine, &function);
        let counted: u64 = k
            .elements
            .iter()
            .filter_map(|e| e.handlers.get("count")?.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        assert!(counted >= 200, "{engine}: element counts {k:?}");
    }
}

#[test]
fn endpoint_errors_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    let c = VnfClient::new(
        Endpoint::Unix(dir.path().join("absent.sock")),
        Options {
            retries: 1,
            ..Options::default()
        },
    );
    let e = rt().block_on(c.running()).unwrap_err();
    assert!(matches!(e, ClientError::Connect { .. }), "{e:?}");
}

// ---------------------------------------------------------------------------------------------
// `coo-bench exec`.

#[test]
fn exec_command_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let engine = fake_engine_script(dir.path());
    let fdir = dir.path().join("FUNCTIONS");
    std::fs::create_dir(&fdir).unwrap();
    std::fs::write(fdir.join("fwd.click"), format!("{HEADER_A}{FORWARD}")).unwrap();
    std::fs::write(fdir.join("bad.click"), "FAIL_CONFIG;\n").unwrap();
    std::fs::write(dir.path().join("x.click"), FORWARD).unwrap();
    let x = spawn_agent(
        dir.path(),
        "x",
        engine.to_str().unwrap(),
        FAKE_IFS,
        &[],
        &[],
    );
    let sdir = dir.path().join("SCRIPT");
    std::fs::create_dir(&sdir).unwrap();
    let script = sdir.join("sfcscript.json");
    std::fs::write(
        &script,
        r#"[{"x": {"function": "fwd.click", "path": "FUNCTIONS/",
                  "instantiate": {"1": "replace", "2": "start", "3": "running", "4": "id"},
                  "end": {"1": "stop", "2": "running"},
                  "broken": {"1": "stop", "2": "running", "3": "start"},
                  "error": {"1": "stop", "2": "log"}}}]"#,
    )
    .unwrap();
    let ep = format!("x=unix:{}", x.unix.display());
    let exec = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_coo-bench"))
            .arg("exec")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let s = script.to_str().unwrap();
    let (code, out) = exec(&[s, "instantiate", "--endpoint", &ep]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("[x] 2. start: ok: started, PID"), "{out}");
    assert!(out.contains("name=\"Forward\""), "{out}");
    // The script's directory's parent is a base directory (PyCOO ran from its root).
    let (code, out) = exec(&[
        dir.path().to_str().unwrap(),
        "end",
        "--endpoint",
        &ep,
        "--json",
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("\"failure\": null"), "{out}");
    // --json: stdout is the JSON document alone, with PyCOO's code.
    let out = Command::new(env!("CARGO_BIN_EXE_coo-bench"))
        .args(["exec", s, "end", "--endpoint", &ep, "--json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(doc["pycoo_code"], 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("[x] 1. stop: ok"));
    // A start that really fails, the error list succeeds: PyCOO -7, exit 7.
    let rt = rt();
    rt.block_on(x.client().put_function("FAIL_CONFIG;\n"))
        .unwrap();
    let (code, out) = exec(&[s, "broken", "--endpoint", &ep]);
    assert_eq!(code, Some(7), "{out}");
    assert!(
        out.contains("[x] error 2. log: ok") && out.contains("fake config error"),
        "{out}"
    );
    assert!(out.contains("FAILED at VNF x step 3 (start)"), "{out}");
    assert!(out.contains("PyCOO -7"), "{out}");
    // Input PyCOO has no code for: exit 64.
    assert_eq!(exec(&[s, "nosuchtask", "--endpoint", &ep]).0, Some(64));
    assert_eq!(
        exec(&[s, "end", "--endpoint", "x=ftp://nowhere"]).0,
        Some(64)
    );
    assert_eq!(exec(&[s, "end"]).0, Some(64));
    // A missing script file: PyCOO -1.
    assert_eq!(
        exec(&["/nonexistent/script.json", "end", "--endpoint", &ep]).0,
        Some(1)
    );
    // An unreachable agent: the VNF is not up, PyCOO -2.
    let (code, out) = exec(&[s, "end", "--endpoint", "x=unix:/nonexistent/agent.sock"]);
    assert_eq!(code, Some(2), "{out}");
}

#[test]
fn openapi_documents_every_route() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json"))
            .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    let routes = [
        ("/click_plugin/version", "get"),
        ("/click_plugin/running", "get"),
        ("/click_plugin/start", "post"),
        ("/click_plugin/stop", "post"),
        ("/click_plugin/read_file", "get"),
        ("/click_plugin/write_file", "post"),
        ("/click_plugin/vnf_identification", "get"),
        ("/click_plugin/metrics", "get"),
        ("/click_plugin/log", "get"),
        ("/v1/health", "get"),
        ("/v1/handlers/{name}", "get"),
        ("/v1/handlers/{name}", "post"),
        ("/v1/counters", "get"),
        ("/v1/function", "get"),
        ("/v1/function", "put"),
        ("/v1/engine", "get"),
        ("/v1/engine", "post"),
        ("/v1/engine/options", "get"),
        ("/v1/engine/options", "put"),
    ];
    for (path, method) in routes {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing from docs/openapi.json"
        );
    }
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| {
            p.as_object()
                .unwrap()
                .keys()
                .filter(|k| *k != "parameters")
                .count()
        })
        .sum();
    assert_eq!(
        documented,
        routes.len(),
        "docs/openapi.json documents routes the agent lacks"
    );
}
