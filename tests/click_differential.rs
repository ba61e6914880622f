//! Differential tests: the same configuration and input packets through reference Click and
#![allow(clippy::unwrap_used)]
//! coo-click give identical outputs and counters.
//!
//! - `recorded_fixtures`: compares coo-click with outputs recorded from reference Click under
//!   `tests/fixtures/click/diff/` (runs everywhere, CI included).
//! - `live_against_reference`: re-runs reference Click (env `COO_BENCH_REFERENCE_CLICK`) and
//!   coo-click side by side; skips with a printed reason when the variable is unset.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/click/diff")
}

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("config.click").exists())
        .collect();
    v.sort();
    v
}

/// Copy a case into a fresh temp dir (with the shared input next to it) and run `bin` there.
/// Returns (stdout, output files sorted by name with `!` lines removed).
fn run_case(bin: &Path, case: &Path) -> (String, Vec<(String, String)>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("case");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(
        fixtures().join("flows.ipsum"),
        tmp.path().join("flows.ipsum"),
    )
    .unwrap();
    // The configuration and any case-specific inputs; not the recorded outputs.
    for e in std::fs::read_dir(case).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("out") && !name.starts_with("expected.") {
            std::fs::copy(&p, dir.join(&name)).unwrap();
        }
    }
    let args = std::fs::read_to_string(case.join("ARGS")).unwrap_or_else(|_| "--simtime".into());
    let out = Command::new(bin)
        .current_dir(&dir)
        .arg("config.click")
        .args(args.split_whitespace())
        .output()
        .unwrap();
    let mut files = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("out") {
            files.push((name, strip_comments(&std::fs::read_to_string(&p).unwrap())));
        }
    }
    files.sort();
    (String::from_utf8_lossy(&out.stdout).into_owned(), files)
}

fn strip_comments(s: &str) -> String {
    s.lines()
        .filter(|l| !l.starts_with('!') && !l.trim().is_empty())
        .map(|l| format!("{}\n", l.trim_end()))
        .collect()
}

fn recorded(case: &Path) -> (String, Vec<(String, String)>) {
    let stdout = std::fs::read_to_string(case.join("expected.stdout")).unwrap_or_default();
    let mut files = Vec::new();
    for e in std::fs::read_dir(case).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("out") {
            files.push((name, strip_comments(&std::fs::read_to_string(&p).unwrap())));
        }
    }
    files.sort();
    (stdout, files)
}

#[test]
fn recorded_fixtures() {
    let coo = PathBuf::from(env!("CARGO_BIN_EXE_coo-click"));
    let all = cases();
    assert!(all.len() >= 5, "expected differential fixtures");
    let mut failures = Vec::new();
    for case in &all {
        let want = recorded(case);
        let got = run_case(&coo, case);
        if want != got {
            failures.push(format!(
                "{}:\n  want {:?}\n  got  {:?}",
                case.display(),
                want,
                got
            ));
        }
    }
    assert!(failures.is_empty(), "differences:\n{}", failures.join("\n"));
}

#[test]
fn live_against_reference() {
    let Ok(reference) = std::env::var("COO_BENCH_REFERENCE_CLICK") else {
        eprintln!("skipped: COO_BENCH_REFERENCE_CLICK is not set (reference Click not installed)");
        return;
    };
    let reference = PathBuf::from(reference);
    if !reference.exists() {
        eprintln!(
            "skipped: COO_BENCH_REFERENCE_CLICK={} does not exist",
            reference.display()
        );
        return;
    }
    let coo = PathBuf::from(env!("CARGO_BIN_EXE_coo-click"));
    for case in cases() {
        let a = run_case(&reference, &case);
        let b = run_case(&coo, &case);
        assert_eq!(a, b, "engines differ on {}", case.display());
    }
}
