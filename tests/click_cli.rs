//! The coo-click command line behaves like reference `click` for the common flags.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn coo(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_coo-click"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn flatten_with_qo() {
    let (rc, out, _) = coo(&[
        "-qo-",
        "-e",
        "a::InfiniteSource(LIMIT 5) -> Counter -> d::Discard; Idle->Discard",
    ]);
    assert_eq!(rc, 0);
    assert_eq!(
        out,
        "a :: InfiniteSource(LIMIT 5);\nCounter@2 :: Counter;\nd :: Discard;\nIdle@4 :: Idle;\nDiscard@5 :: Discard;\n\na -> Counter@2\n    -> d;\nIdle@4 -> Discard@5;\n"
    );
}

#[test]
fn handlers_after_run_and_defines() {
    let (rc, out, _) = coo(&[
        "-e",
        "define($N 3) s :: InfiniteSource(LIMIT $N, STOP true) -> c :: Counter -> Discard",
        "N=7",
        "-h",
        "c.count",
        "-h",
        "Counter.byte_count",
    ]);
    assert_eq!(rc, 0);
    assert_eq!(out, "c.count:\n7\n\nc.byte_count:\n483\n\n");
}

#[test]
fn config_errors_exit_1_with_landmarks() {
    let (rc, _, err) = coo(&["-q", "-e", "i::InfiniteSource(LIMIT x) -> Discard"]);
    assert_eq!(rc, 1);
    assert_eq!(err, "config:1: While configuring 'i :: InfiniteSource':\n  LIMIT: invalid number\nRouter could not be initialized!\n");
    let (rc, _, err) = coo(&["-q", "-e", "x :: Countr -> Discard"]);
    assert_eq!(rc, 1);
    assert!(
        err.starts_with("config:1: unknown element class 'Countr' (did you mean 'Counter'"),
        "{err}"
    );
}

#[test]
fn exit_handler_and_simtime_script() {
    let (rc, out, _) = coo(&[
        "--simtime",
        "-e",
        "s :: Script(export n 0, wait 2s, set n 3, stop)",
        "-x",
        "s.n",
    ]);
    assert_eq!(rc, 3, "{out}");
}

#[test]
fn version_and_help() {
    let (rc, out, _) = coo(&["--version"]);
    assert_eq!(rc, 0);
    assert!(out.starts_with("click (Click) 2.1\n"));
    let (rc, out, _) = coo(&["--help"]);
    assert_eq!(rc, 0);
    assert!(out.contains("--simtime"));
}
