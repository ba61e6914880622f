//! Hostile clients against the `coo-vnf` agent (issue 15): no token, wrong token, engine path
//! injection, handler execution by GET, Click configurations that write outside the engine's
//! directory, foreign and symlinked workdirs, a slow-body client and 1 000 idle connections.
//! Engines: this build's coo-click. The privilege check needs root and says why it skips.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "hostile-suite-token-0123456789abcdef";
const IDLE: &str = "Idle -> c :: Counter -> Discard;\n";

struct Agent {
    child: Child,
    unix: PathBuf,
    tcp: String,
}

impl Drop for Agent {
    fn drop(&mut self) {
        // SIGTERM first: the agent then removes its engine directory.
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

fn agent_cmd(dir: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_coo-vnf"));
    c.args([
        "--listen",
        &format!("unix:{}", dir.join("a.sock").display()),
    ])
    .args(["--function", dir.join("f.click").to_str().unwrap()])
    .args(["--workdir", dir.join("work").to_str().unwrap()])
    .args(["--log", "warn"])
    .args(extra)
    .env("COO_BENCH_COO_CLICK", env!("CARGO_BIN_EXE_coo-click"))
    .env_remove("COO_VNF_TOKEN")
    .env_remove("COO_VNF_TOKEN_SHA256");
    c
}

/// A test directory a root agent's unprivileged engines can traverse.
fn test_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

fn token_file(dir: &Path) -> PathBuf {
    let p = dir.join("agent.token");
    if !p.exists() {
        coo_api::Token::new(TOKEN)
            .unwrap()
            .write_new_file(&p)
            .unwrap();
    }
    p
}

/// Starts an agent with the run's token file plus a loopback TCP listener.
fn spawn(dir: &Path, function: &str, extra: &[&str]) -> Agent {
    std::fs::write(dir.join("f.click"), function).unwrap();
    let tf = token_file(dir);
    let mut args = vec![
        "--listen",
        "tcp:127.0.0.1:0",
        "--token-file",
        tf.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let mut child = agent_cmd(dir, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut tcp = String::new();
    for _ in 0..2 {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(
            line.starts_with("coo-vnf: listening on"),
            "agent said {line:?}"
        );
        if let Some(a) = line.trim().strip_prefix("coo-vnf: listening on tcp:") {
            tcp = a.to_owned();
        }
    }
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = out.read_to_end(&mut sink);
    });
    Agent {
        child,
        unix: dir.join("a.sock"),
        tcp,
    }
}

/// One request over the UNIX socket; (status, body).
fn call(a: &Agent, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let mut s = UnixStream::connect(&a.unix).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: l\r\n{auth}Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    parse(&out)
}

fn parse(out: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A script that leaves a marker if it ever runs.
fn marker_script(dir: &Path) -> (PathBuf, PathBuf) {
    let marker = dir.join("PWNED");
    let script = dir.join("evil.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nid > '{}'\nsleep 30\n", marker.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, marker)
}

#[test]
fn hostile_exploit_sequence_is_refused_and_nothing_runs() {
    let dir = test_dir();
    let (script, marker) = marker_script(dir.path());
    let a = spawn(dir.path(), IDLE, &[]);
    let evil = script.to_str().unwrap();
    // The sequence: engine path, stop, start; without a token, then a wrong one.
    for token in [None, Some("wrong-token")] {
        assert_eq!(call(&a, "POST", "/v1/engine", token, evil).0, 401);
        assert_eq!(call(&a, "POST", "/click_plugin/stop", token, "").0, 401);
        assert_eq!(call(&a, "POST", "/click_plugin/start", token, "").0, 401);
    }
    // Even with the token, a path is not an engine: only the start-up allow-list is.
    let (st, body) = call(&a, "POST", "/v1/engine", Some(TOKEN), evil);
    assert_eq!(st, 403, "{body}");
    assert!(body.contains("not allowed"), "{body}");
    for injected in [
        "../../bin/sh",
        "/bin/sh -c id",
        "coo-click\n/bin/sh",
        "./evil.sh",
    ] {
        assert!(
            [400, 403].contains(&call(&a, "POST", "/v1/engine", Some(TOKEN), injected).0),
            "{injected:?}"
        );
    }
    let (st, body) = call(&a, "GET", "/v1/engine", Some(TOKEN), "");
    assert_eq!((st, body.contains("coo-click")), (200, true), "{body}");
    // Start with the token runs coo-click, not the script.
    let (st, body) = call(&a, "POST", "/click_plugin/start", Some(TOKEN), "");
    assert_eq!(st, 200, "{body}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!marker.exists(), "the injected script ran");
    assert_eq!(
        call(&a, "POST", "/click_plugin/stop", Some(TOKEN), "").0,
        200
    );
    println!("exploit sequence: 401 without/with a wrong token, 403 with the token; nothing ran");
}

#[test]
fn hostile_reads_and_handler_calls_need_the_token() {
    let dir = test_dir();
    let a = spawn(dir.path(), IDLE, &[]);
    // Probes stay open (testbed readiness, PyCOO's version check).
    for p in [
        "/click_plugin/version",
        "/click_plugin/running",
        "/v1/health",
    ] {
        assert_eq!(call(&a, "GET", p, None, "").0, 200, "{p}");
    }
    for p in [
        "/click_plugin/read_file",
        "/click_plugin/log",
        "/click_plugin/metrics",
        "/click_plugin/vnf_identification",
        "/v1/counters",
        "/v1/function",
        "/v1/engine",
        "/v1/handlers/c.count",
    ] {
        assert_eq!(call(&a, "GET", p, None, "").0, 401, "{p}");
    }
    assert_eq!(
        call(&a, "POST", "/click_plugin/start", Some(TOKEN), "").0,
        200
    );
    // A handler that runs code (Script's `run`) is not callable by an anonymous GET.
    assert_eq!(call(&a, "GET", "/v1/handlers/s.run", None, "").0, 401);
    assert_eq!(
        call(&a, "GET", "/v1/handlers/c.count", Some("nope"), "").0,
        401
    );
    let (st, body) = call(&a, "GET", "/v1/handlers/c.count", Some(TOKEN), "");
    assert_eq!((st, body.trim()), (200, "0"));
    let _ = call(&a, "POST", "/click_plugin/stop", Some(TOKEN), "");

    // --compat-open-reads opens COO's reads only.
    let dir2 = test_dir();
    let b = spawn(dir2.path(), IDLE, &["--compat-open-reads"]);
    assert_eq!(call(&b, "GET", "/click_plugin/read_file", None, "").0, 200);
    assert_eq!(call(&b, "GET", "/click_plugin/metrics", None, "").0, 200);
    assert_eq!(call(&b, "GET", "/v1/handlers/c.count", None, "").0, 401);
    assert_eq!(call(&b, "GET", "/v1/function", None, "").0, 401);
    assert_eq!(call(&b, "POST", "/click_plugin/start", None, "").0, 401);
}

#[test]
fn hostile_config_writing_outside_the_engine_dir_fails_naming_the_rule() {
    let dir = test_dir();
    let victim = dir.path().join("victim");
    let a = spawn(
        dir.path(),
        &format!("Idle -> ToDump({}) ;\n", victim.display()),
        &[],
    );
    let (st, body) = call(&a, "POST", "/click_plugin/start", Some(TOKEN), "");
    println!("start with ToDump({}): {st} {body}", victim.display());
    assert_eq!(st, 422, "{body}");
    assert!(body.contains("engine-file-confinement"), "{body}");
    assert!(!victim.exists());
    // /etc/x as in the issue: refused the same way, nothing created.
    let (st, body) = call(
        &a,
        "PUT",
        "/v1/function",
        Some(TOKEN),
        "Idle -> ToDump(/etc/coo-bench-hostile-x);\n",
    );
    assert_eq!(st, 200, "{body}");
    let (st, body) = call(&a, "POST", "/click_plugin/start", Some(TOKEN), "");
    assert_eq!(st, 422, "{body}");
    assert!(body.contains("engine-file-confinement"), "{body}");
    assert!(!Path::new("/etc/coo-bench-hostile-x").exists());
    // Relative outputs land in the engine's own directory.
    call(
        &a,
        "PUT",
        "/v1/function",
        Some(TOKEN),
        "Idle -> ToDump(out.pcap);\n",
    );
    let (st, body) = call(&a, "POST", "/click_plugin/start", Some(TOKEN), "");
    assert_eq!(st, 200, "{body}");
    let _ = call(&a, "POST", "/click_plugin/stop", Some(TOKEN), "");
}

#[test]
fn hostile_engine_runs_unprivileged_with_listed_capabilities() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: needs root (engines drop privileges only under a root agent)");
        return;
    }
    let dir = test_dir();
    let a = spawn(dir.path(), IDLE, &[]);
    let (st, body) = call(&a, "POST", "/click_plugin/start", Some(TOKEN), "");
    assert_eq!(st, 200, "{body}");
    let pid: u32 = body
        .trim_matches('"')
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .unwrap()
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let uids = field("Uid:");
    let cap_eff = u64::from_str_radix(&field("CapEff:")[0], 16).unwrap();
    let cap_bnd = u64::from_str_radix(&field("CapBnd:")[0], 16).unwrap();
    println!(
        "engine {pid}: Uid {uids:?} CapEff {cap_eff:#x} CapBnd {cap_bnd:#x} NoNewPrivs {:?}",
        field("NoNewPrivs:")
    );
    assert!(uids.iter().all(|u| u != "0"), "{uids:?}");
    let net_raw = 1u64 << 13;
    assert_eq!(cap_eff, net_raw, "only CAP_NET_RAW");
    assert_eq!(cap_bnd, net_raw);
    assert_eq!(field("NoNewPrivs:")[0], "1");
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
    let meta = std::fs::metadata(&cwd).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        meta.uid().to_string(),
        uids[0],
        "own directory {}",
        cwd.display()
    );
    assert_eq!(meta.mode() & 0o777, 0o700);
    // The agent itself kept only what starting engines and `tc` need.
    let agent = std::fs::read_to_string(format!("/proc/{}/status", a.child.id())).unwrap();
    let agent_bnd = agent
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
        .unwrap();
    // CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, KILL, SETGID, SETUID, SETPCAP,
    // NET_BIND_SERVICE, NET_ADMIN, NET_RAW, IPC_LOCK (handed to FastClick's EAL), SYS_PTRACE
    // (permitted only: raised to size reference Click's packet sockets).
    let keeps: u64 = [0, 1, 2, 3, 5, 6, 7, 8, 10, 12, 13, 14, 19]
        .iter()
        .map(|b| 1u64 << b)
        .sum();
    println!("agent CapBnd {agent_bnd:#x}");
    assert_eq!(agent_bnd, keeps, "agent bounding set");
    let _ = call(&a, "POST", "/click_plugin/stop", Some(TOKEN), "");
}

#[test]
fn hostile_workdirs_and_token_files_are_refused() {
    let dir = test_dir();
    std::fs::write(dir.path().join("f.click"), IDLE).unwrap();
    let run = |extra: &[&str]| {
        let out = agent_cmd(dir.path(), extra).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // A symlinked workdir.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.path().join("work")).unwrap();
    let (code, err) = run(&[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("symlink"), "{err}");
    std::fs::remove_file(dir.path().join("work")).unwrap();
    // A workdir someone else could have prepared (world-writable).
    std::fs::create_dir(dir.path().join("work")).unwrap();
    std::fs::set_permissions(
        dir.path().join("work"),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    let (code, err) = run(&[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not made for this agent"), "{err}");
    std::fs::remove_dir(dir.path().join("work")).unwrap();
    // A token file others can read.
    let tf = dir.path().join("loose.token");
    std::fs::write(&tf, TOKEN).unwrap();
    std::fs::set_permissions(&tf, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, err) = run(&["--token-file", tf.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("readable by group or others"), "{err}");
    // The token never goes on the command line.
    let (code, _) = run(&["--token", TOKEN]);
    assert_eq!(code, Some(2));
    // No token on a non-loopback address: refused before binding anything.
    let (code, err) = run(&["--listen", "tcp:198.18.0.1:8000"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("without a token"), "{err}");
    assert!(
        !dir.path().join("work").exists(),
        "refused agent left its workdir"
    );
}

#[test]
fn hostile_function_writes_do_not_follow_planted_symlinks() {
    let dir = test_dir();
    let a = spawn(dir.path(), IDLE, &[]);
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "untouched").unwrap();
    // The old temp-name pattern, planted as symlinks to the victim.
    for n in 0..8 {
        let pid = a.child.id();
        let _ =
            std::os::unix::fs::symlink(&victim, dir.path().join(format!(".f.click.tmp-{pid}-{n}")));
    }
    for _ in 0..8 {
        assert_eq!(call(&a, "PUT", "/v1/function", Some(TOKEN), IDLE).0, 200);
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("f.click")).unwrap(),
        IDLE
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".func-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn raise_nofile(want: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        if lim.rlim_cur < want {
            lim.rlim_cur = want.min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Time of one authenticated request over loopback TCP (connect included).
fn timed_call(tcp: &str) -> (u16, Duration) {
    let t0 = Instant::now();
    let mut s = TcpStream::connect(tcp).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET /v1/counters HTTP/1.1\r\nHost: l\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    (parse(&out).0, t0.elapsed())
}

#[test]
fn hostile_slow_body_and_idle_connections_do_not_starve_a_normal_client() {
    raise_nofile(4096);
    let dir = test_dir();
    let a = spawn(dir.path(), IDLE, &[]);
    let (st, before) = timed_call(&a.tcp);
    assert_eq!(st, 200);
    // A slow-body client: a 1 MB body announced, one byte every 200 ms.
    let tcp = a.tcp.clone();
    let slow = std::thread::spawn(move || {
        let mut s = TcpStream::connect(&tcp).unwrap();
        write!(
            s,
            "PUT /v1/function HTTP/1.1\r\nHost: l\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 1000000\r\n\r\n"
        )
        .unwrap();
        let t0 = Instant::now();
        // Read the answer as it comes (the agent closes while we still trickle).
        let mut r = s.try_clone().unwrap();
        r.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = r.read_to_end(&mut out);
            (parse(&out).0, t0.elapsed())
        });
        while t0.elapsed() < Duration::from_secs(15) && !reader.is_finished() {
            if s.write_all(b"x").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        reader.join().unwrap()
    });
    // 1 000 idle connections that never send a byte.
    let t0 = Instant::now();
    let idle: Vec<TcpStream> = (0..1000)
        .map(|_| TcpStream::connect(&a.tcp).unwrap())
        .collect();
    let opened = t0.elapsed();
    std::thread::sleep(Duration::from_millis(200));
    // Idle connections are closed after the 5 s header timeout: count those still held.
    let held = std::fs::read_dir(format!("/proc/{}/fd", a.child.id()))
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
                })
                .count()
        })
        .unwrap_or(0);
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let (st, t) = timed_call(&a.tcp);
        assert_eq!(st, 200);
        worst = worst.max(t);
    }
    println!(
        "normal client: {before:?} alone; worst of 20 with {} idle connections (opened in \
         {opened:?}; agent holding {held} sockets) and a slow-body client: {worst:?}",
        idle.len()
    );
    // The bound: served within 1 s.
    assert!(worst < Duration::from_secs(1), "{worst:?}");
    drop(idle);
    let (status, after) = slow.join().unwrap();
    println!("slow-body client: HTTP {status} after {after:?} (body deadline 10 s)");
    assert_eq!(status, 408, "a trickled body must hit the body deadline");
}
