//! Every crate of the workspace uses every dependency it declares under `[dependencies]` (an
//! offline stand-in for cargo-machete, which .ci/run also runs when it can be installed): a
//! declared crate must be named somewhere in the crate's own sources or build script.
//! Exceptions go in `[package.metadata.cargo-machete] ignored = [...]`, as for cargo-machete.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Names declared in the manifest's `[dependencies]` table, and the ignore list.
fn declared(manifest: &str) -> (Vec<String>, Vec<String>) {
    let mut deps = Vec::new();
    let mut ignored = Vec::new();
    let mut section = "";
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if section == "[dependencies]" {
            let name = line
                .split(['=', '.'])
                .next()
                .unwrap()
                .trim()
                .trim_matches('"');
            deps.push(name.to_string());
        }
        if section == "[package.metadata.cargo-machete]" && line.starts_with("ignored") {
            ignored.extend(line.split('"').skip(1).step_by(2).map(str::to_string));
        }
    }
    (deps, ignored)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `name` used as a path root (`name::`, `use name`, `extern crate name`, `name!`-less paths).
fn mentions(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        !before.is_some_and(is_word_char)
            && !before.is_some_and(|c| c == ':' || c == '.')
            && !after.is_some_and(is_word_char)
            && (text[i + name.len()..].starts_with("::")
                || text[..i].ends_with("use ")
                || text[..i].ends_with("crate "))
    })
}

#[test]
fn every_declared_dependency_is_used() {
    let mut manifests = vec![PathBuf::from(ROOT)];
    for e in std::fs::read_dir(Path::new(ROOT).join("crates")).unwrap() {
        manifests.push(e.unwrap().path());
    }
    let mut unused = Vec::new();
    for dir in manifests {
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        let (deps, ignored) = declared(&manifest);
        let mut files = Vec::new();
        sources(&dir.join("src"), &mut files);
        files.push(dir.join("build.rs"));
        let text: String = files
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .collect::<Vec<_>>()
            .join("\n");
        for d in deps {
            let ident = d.replace('-', "_");
            if !ignored.contains(&d) && !mentions(&text, &ident) {
                unused.push(format!("{}: {d}", dir.display()));
            }
        }
    }
    assert!(
        unused.is_empty(),
        "declared but unused dependencies (remove them, or list them under \
         [package.metadata.cargo-machete] ignored): {unused:#?}"
    );
}

#[test]
fn the_parser_finds_dependencies_and_uses() {
    let (deps, ignored) = declared(
        "[package]\nname = \"x\"\n[dependencies]\nserde.workspace = true\nhyper-util = { version = \"0.1\" }\n\
         [package.metadata.cargo-machete]\nignored = [\"libc\"]\n",
    );
    assert_eq!(deps, ["serde", "hyper-util"]);
    assert_eq!(ignored, ["libc"]);
    assert!(mentions("use serde::Serialize;", "serde"));
    assert!(mentions(
        "let x = hyper_util::rt::TokioIo::new(s);",
        "hyper_util"
    ));
    assert!(!mentions("let serde_json = 1; serde_json::x", "serde"));
    assert!(!mentions("self.serde::x", "serde"));
}
