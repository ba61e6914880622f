//! Records the git revision of the source tree at build time (`COO_BENCH_GIT_REVISION`), so a
//! report names the code that produced it, not whatever repository the user stands in at run
//! time. Without git or outside a checkout (e.g. a source tarball) the variable is not set and
//! the report's `tool.git_revision` is null.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let Some(rev) = git(&["rev-parse", "--short=12", "HEAD"]) else {
        return;
    };
    // Re-run when HEAD moves or the index changes (commit, checkout, staging).
    if let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        let git_dir = Path::new(&git_dir);
        for f in ["HEAD", "index"] {
            println!("cargo:rerun-if-changed={}", git_dir.join(f).display());
        }
        if let Some(common) = git(&["rev-parse", "--git-common-dir"]) {
            let common = Path::new(env!("CARGO_MANIFEST_DIR")).join(common);
            println!(
                "cargo:rerun-if-changed={}",
                common.join("refs/heads").display()
            );
        }
    }
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    let rev = if dirty { format!("{rev}-dirty") } else { rev };
    println!("cargo:rustc-env=COO_BENCH_GIT_REVISION={rev}");
}
