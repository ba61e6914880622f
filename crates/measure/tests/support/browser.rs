//! Loading a page in Debian's chromium (headless) for the HTML tests: robust as root (no
//! sandbox there), with the new headless mode and a hard timeout, so a hung browser fails the
//! test instead of hanging CI.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one page load may take (a cold start of chromium takes a few seconds here).
const TIMEOUT: Duration = Duration::from_secs(90);

/// What the browser produced for one page.
pub struct Rendered {
    /// The DOM after load (`--dump-dom`).
    pub dom: String,
    /// chromium's log (console messages appear as `CONSOLE(...)` / `Uncaught`).
    pub log: String,
}

/// The first chromium on PATH, or None (the caller prints why it skips).
pub fn find() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Loads `page` headless with a throw-away profile under `scratch`; panics on failure or
/// timeout (with chromium's log).
pub fn render(chromium: &str, page: &Path, scratch: &Path) -> Rendered {
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless=new",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--enable-logging=stderr",
        "--v=0",
    ]);
    // chromium refuses to start as root (CI) with its sandbox, and containers often lack the
    // user namespaces it needs; the page is our own local file.
    cmd.arg("--no-sandbox");
    let mut child = cmd
        .arg(format!(
            "--user-data-dir={}",
            scratch.join("profile").display()
        ))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chromium");
    // Read both pipes while waiting: a large DOM would otherwise fill the pipe and block.
    let out = drain(child.stdout.take().expect("stdout piped"));
    let err = drain(child.stderr.take().expect("stderr piped"));
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for chromium") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within {TIMEOUT:?}: {}",
                err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let dom = out.join().unwrap_or_default();
    let log = err.join().unwrap_or_default();
    assert!(status.success(), "chromium failed ({status}): {log}");
    Rendered { dom, log }
}

impl Rendered {
    /// Console errors of the page (its own pages have no script, so any is a bug).
    pub fn console_errors(&self) -> Vec<&str> {
        self.log
            .lines()
            .filter(|l| l.contains("Uncaught") || l.contains(":CONSOLE("))
            .collect()
    }
}
