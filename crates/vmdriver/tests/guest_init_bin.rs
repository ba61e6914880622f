//! The guest init binary: refuses to run outside a guest (it would mount over the host's /proc
//! and /dev), and exists so `cargo test` builds it for the image tests.

#![allow(clippy::unwrap_used)]

#[test]
fn refuses_to_run_unless_pid_1() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coo-guest-init"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must run as PID 1"));
}
