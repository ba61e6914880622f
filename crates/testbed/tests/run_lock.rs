//! The run lock across processes: a live holder makes the run busy; a killed holder does
//! not, even while a child it forked (and that has not exec'd) is still alive — the window
//! in which a SIGKILLed `up` used to leave its run looking `starting` to `status`/`clean`.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use testbed::runs::try_lock;

const HOLD_DIR: &str = "COO_TEST_LOCK_HOLD_DIR";
const FORK: &str = "COO_TEST_LOCK_FORK";

/// Not a test on its own: the body of the holder process the tests below start.
#[test]
fn lock_holder_helper() {
    let Some(dir) = std::env::var_os(HOLD_DIR) else {
        return;
    };
    let lock = try_lock(Path::new(&dir)).unwrap();
    assert!(lock.is_some(), "holder could not take a free lock");
    if std::env::var_os(FORK).is_some() {
        // SAFETY: the child only sleeps and exits (async-signal-safe calls).
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            unsafe {
                libc::sleep(20);
                libc::_exit(0);
            }
        }
        assert!(pid > 0, "fork failed");
        println!("\nforked {pid}");
    }
    println!("\nlocked");
    std::thread::sleep(Duration::from_secs(30));
}

fn start_holder(dir: &Path, fork: bool) -> (Child, Option<i32>) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "lock_holder_helper",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(HOLD_DIR, dir)
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    if fork {
        cmd.env(FORK, "1");
    }
    let mut child = cmd.spawn().unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut forked = None;
    for line in out.lines() {
        let line = line.unwrap();
        // libtest may print `test lock_holder_helper ... ` before our output: own lines.
        if let Some(p) = line.strip_prefix("forked ") {
            forked = Some(p.trim().parse().unwrap());
        }
        if line == "locked" {
            return (child, forked);
        }
    }
    let _ = child.wait();
    panic!("holder exited before taking the lock");
}

fn kill(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn lock_held_by_a_live_process_is_busy_and_freed_when_it_dies() {
    let dir = tempfile::tempdir().unwrap();
    let (holder, _) = start_holder(dir.path(), false);
    assert!(
        try_lock(dir.path()).unwrap().is_none(),
        "lock held by another process was taken"
    );
    kill(holder);
    let again = try_lock(dir.path()).unwrap();
    assert!(again.is_some(), "lock of a dead process still held");
}

#[test]
fn forked_child_of_a_killed_holder_does_not_keep_the_run_busy() {
    let dir = tempfile::tempdir().unwrap();
    let (holder, forked) = start_holder(dir.path(), true);
    let forked = forked.expect("holder did not report its forked child");
    assert!(try_lock(dir.path()).unwrap().is_none());
    kill(holder);
    // The forked child is still alive (orphaned, sleeping) ...
    // SAFETY: signal 0 only checks that the process exists.
    assert_eq!(unsafe { libc::kill(forked, 0) }, 0, "forked child gone");
    // ... and yet the run is free: the lock died with the process that took it.
    let free = try_lock(dir.path()).unwrap();
    // SAFETY: ends the orphan we made (it is not our child: no zombie to reap).
    unsafe { libc::kill(forked, libc::SIGKILL) };
    assert!(free.is_some(), "a forked child kept the run's lock");
}
