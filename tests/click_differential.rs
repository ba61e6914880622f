//! Differential tests: the same configuration and input packets through reference Click and
#![allow(clippy::unwrap_used)]
//! coo-click give identical outputs and counters.
//!
//! - `recorded_fixtures`: compares coo-click with outputs recorded from reference Click under
//!   `tests/fixtures/click/diff/` (runs everywhere, CI included).
//! - `live_against_reference`: re-runs reference Click (env `COO_BENCH_REFERENCE_CLICK`) and
//!   coo-click side by side; skips with a printed reason when the variable is unset.
//! - `every_class_has_a_case`: every element class coo-click registers appears in at least one
//!   recorded case, unless the fixtures README excludes it with a reason.
//!
//! A case directory holding an `XFAIL` file (naming the known difference) is expected to differ
//! from the recording; it fails once it matches, so the file gets removed with the fix.

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

/// What a run produced: stdout, stderr (only for cases holding a `STDERR` marker file) and the
/// output files (`out*`) sorted by name; text files without `!` comment lines, binary files
/// (pcap) as hex lines.
#[derive(Debug, PartialEq)]
struct Outputs {
    stdout: String,
    stderr: Option<String>,
    files: Vec<(String, String)>,
}

/// Shared inputs in the fixtures directory (`flows.ipsum`, `flows.pcap`), which cases read
/// as `../flows.*`.
fn shared_inputs() -> Vec<PathBuf> {
    std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("flows.")
        })
        .collect()
}

/// Files a case directory holds that are inputs: everything but recorded outputs and markers.
fn is_case_input(name: &str) -> bool {
    !(name.starts_with("out")
        || name.starts_with("expected.")
        || ["ARGS", "STDERR", "XFAIL"].contains(&name))
}

/// Copy a case into a fresh temp dir (with the shared inputs next to it) and run `bin` there.
fn run_case(bin: &Path, case: &Path) -> Outputs {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("case");
    std::fs::create_dir(&dir).unwrap();
    for input in shared_inputs() {
        std::fs::copy(&input, tmp.path().join(input.file_name().unwrap())).unwrap();
    }
    for e in std::fs::read_dir(case).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if p.is_file() && is_case_input(&name) {
            std::fs::copy(&p, dir.join(&name)).unwrap();
        }
    }
    let args = std::fs::read_to_string(case.join("ARGS")).unwrap_or_else(|_| "--simtime".into());
    let mut cmd = Command::new(bin);
    cmd.current_dir(&dir)
        .arg("config.click")
        .args(args.split_whitespace());
    let out = run_bounded(cmd);
    Outputs {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: case
            .join("STDERR")
            .exists()
            .then(|| engine_stderr(&String::from_utf8_lossy(&out.stderr))),
        files: output_files(&dir),
    }
}

/// Run with a time bound so a hung engine fails the test instead of blocking CI.
fn run_bounded(mut cmd: Command) -> std::process::Output {
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.wait_with_output().unwrap()
}

fn output_files(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("out") {
            let bytes = std::fs::read(&p).unwrap();
            let view = match String::from_utf8(bytes) {
                Ok(text) => strip_comments(&text),
                Err(e) => hex_lines(e.as_bytes()),
            };
            files.push((name, view));
        }
    }
    files.sort();
    files
}

/// Standard error without reference Click's buffer-allocation warnings ("expensive
/// Packet::push; have 0 wanted 4"): they report its packet headroom, not element behaviour.
fn engine_stderr(s: &str) -> String {
    s.lines()
        .filter(|l| !l.starts_with("expensive Packet::"))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn strip_comments(s: &str) -> String {
    s.lines()
        .filter(|l| !l.starts_with('!') && !l.trim().is_empty())
        .map(|l| format!("{}\n", l.trim_end()))
        .collect()
}

/// Binary output as 16-byte hex lines, so a difference shows where it is.
fn hex_lines(b: &[u8]) -> String {
    b.chunks(16)
        .map(|c| {
            let mut l: String = c.iter().map(|x| format!("{x:02x}")).collect();
            l.push('\n');
            l
        })
        .collect()
}

fn recorded(case: &Path) -> Outputs {
    let read = |n: &str| std::fs::read_to_string(case.join(n)).unwrap_or_default();
    Outputs {
        stdout: read("expected.stdout"),
        stderr: case
            .join("STDERR")
            .exists()
            .then(|| engine_stderr(&read("expected.stderr"))),
        files: output_files(case),
    }
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
        let xfail = std::fs::read_to_string(case.join("XFAIL")).ok();
        match (want == got, xfail) {
            (true, None) => {}
            (false, Some(why)) => println!("XFAIL {}: {}", case.display(), why.trim()),
            (true, Some(_)) => failures.push(format!(
                "{}: matches the recording now; remove its XFAIL file",
                case.display()
            )),
            (false, None) => failures.push(format!(
                "{}:\n  want {:?}\n  got  {:?}",
                case.display(),
                want,
                got
            )),
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
        if case.join("XFAIL").exists() {
            continue;
        }
        let b = run_case(&coo, &case);
        assert_eq!(a, b, "engines differ on {}", case.display());
    }
}

/// Every class coo-click knows: the engine's built-ins plus click-io's device classes.
fn registered_classes() -> click::Registry {
    let mut registry = click::Registry::standard();
    click_io::register_elements(&mut registry, &click_io::IoOptions::default());
    registry
}

/// Classes the fixtures README excludes, read from its "Excluded classes" list
/// (lines "- `Class`: reason"), so the documented list and the checked list are one.
fn excluded_classes() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(fixtures().join("README.md")).unwrap();
    readme
        .lines()
        .skip_while(|l| !l.starts_with("## Excluded classes"))
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| {
            let rest = l.strip_prefix("- `")?;
            let (class, reason) = rest.split_once("`:")?;
            Some((class.to_string(), reason.trim().to_string()))
        })
        .collect()
}

#[test]
fn every_class_has_a_case() {
    let registry = registered_classes();
    let mut covered = std::collections::BTreeSet::new();
    for case in cases() {
        let text = std::fs::read_to_string(case.join("config.click")).unwrap();
        // Cases of configuration errors (config_errors) do not parse and cover no class; a
        // mistake in any other case shows in its recorded comparison.
        if let Ok(flat) = click::Router::flatten(&text, "config.click", &registry, &[]) {
            covered.extend(flat.elements.into_iter().map(|e| e.class));
        }
    }
    let excluded = excluded_classes();
    for (class, reason) in &excluded {
        assert!(
            registry.contains(class),
            "README excludes `{class}`, which is not a registered class"
        );
        assert!(
            !reason.is_empty(),
            "README excludes `{class}` without a reason"
        );
        assert!(
            !covered.contains(class),
            "README excludes `{class}`, but a case covers it: drop the exclusion"
        );
    }
    let all = registry.class_names();
    let missing: Vec<&String> = all
        .iter()
        .filter(|c| !covered.contains(*c) && !excluded.iter().any(|(e, _)| e == *c))
        .collect();
    println!(
        "{} classes: {} covered by recorded cases, {} excluded, {} missing",
        all.len(),
        covered.len(),
        excluded.len(),
        missing.len()
    );
    assert!(
        missing.is_empty(),
        "classes without a recorded differential case ({}): {}",
        missing.len(),
        missing
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    );
}
