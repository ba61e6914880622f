//! The same ControlSocket client script against coo-click (`-u SOCK`) and reference Click
//! (`click -u SOCK`, when `COO_BENCH_REFERENCE_CLICK` names it; skipped with a reason otherwise).

#![allow(clippy::unwrap_used)]

#[path = "../crates/click-io/tests/support/cs_script.rs"]
mod cs_script;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use click_io::controlsocket::ControlClient;

/// Kills the engine on drop and removes its socket (a killed engine cannot unlink it).
struct Proc(Child, PathBuf);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_file(&self.1);
    }
}

const CONFIG: &str = "Idle -> c :: Counter -> Discard;";

fn run_script(binary: &Path, tag: &str) {
    let sock: PathBuf =
        std::env::temp_dir().join(format!("cbt-io-cs-{}-{tag}.sock", std::process::id()));
    let _ = std::fs::remove_file(&sock);
    let _p = Proc(
        Command::new(binary)
            .arg("-u")
            .arg(&sock)
            .arg("-e")
            .arg(CONFIG)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
        sock.clone(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut c = loop {
        match ControlClient::connect_unix(&sock, Duration::from_secs(5)) {
            Ok(c) => break c,
            Err(e) => {
                assert!(Instant::now() < deadline, "{}: {e}", binary.display());
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    cs_script::exercise(&mut c);
    c.quit().unwrap();
}

#[test]
fn controlsocket_script_against_coo_click() {
    run_script(Path::new(env!("CARGO_BIN_EXE_coo-click")), "coo");
}

#[test]
fn controlsocket_script_against_reference_click() {
    let Some(click) = std::env::var_os("COO_BENCH_REFERENCE_CLICK") else {
        eprintln!("skipped: COO_BENCH_REFERENCE_CLICK is not set (reference Click binary)");
        return;
    };
    if !Path::new(&click).is_file() {
        eprintln!("skipped: COO_BENCH_REFERENCE_CLICK={click:?} is not a file");
        return;
    }
    run_script(Path::new(&click), "ref");
}
