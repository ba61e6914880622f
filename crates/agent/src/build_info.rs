//! What an engine binary is, for reports: its Click version and build options (read from the
//! headers `make install` puts next to it: `<prefix>/include/click/config*.h`) and a digest of
//! the binary, so a report names the exact build that ran (issue #14). Nothing is executed:
//! FastClick's `--version` crashes, and the agent runs only what the topology names.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Build options worth a reader's attention, by their `config*.h` define.
const FEATURES: [(&str, &str); 5] = [
    ("HAVE_BATCH", "batching (FastClick)"),
    ("HAVE_DPDK", "DPDK"),
    ("HAVE_NETMAP", "netmap"),
    ("HAVE_PCAP", "pcap"),
    ("HAVE_USER_MULTITHREAD", "multithread"),
];

/// `binary` itself when it has a `/`, else the first match in `PATH`.
fn resolve(binary: &Path) -> Option<PathBuf> {
    if binary.components().count() > 1 {
        return Some(binary.to_owned());
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(binary))
            .find(|p| p.is_file())
    })
}

fn define<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("#define ")?;
        let (n, v) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        (n == name).then(|| v.trim())
    })
}

/// A one-line description of a Click binary: `Click 2.1 (pcap, DPDK, batching (FastClick));
/// /opt/fastclick/bin/click sha256:0123456789ab`.
pub fn describe(binary: &Path) -> String {
    let Some(path) = resolve(binary) else {
        return format!("{} (not found)", binary.display());
    };
    let digest = std::fs::read(&path)
        .map(|bytes| {
            let d = Sha256::digest(&bytes);
            d.iter()
                .take(6)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        })
        .unwrap_or_else(|_| "unreadable".into());
    let include = path
        .parent()
        .and_then(Path::parent)
        .map(|prefix| prefix.join("include/click"));
    let headers: String = ["config.h", "config-userlevel.h"]
        .iter()
        .filter_map(|h| std::fs::read_to_string(include.as_ref()?.join(h)).ok())
        .collect::<Vec<_>>()
        .join("\n");
    let build = match define(&headers, "CLICK_VERSION") {
        Some(v) => {
            let features: Vec<&str> = FEATURES
                .iter()
                .filter(|(d, _)| define(&headers, d).is_some_and(|v| v != "0"))
                .map(|(_, name)| *name)
                .collect();
            format!("Click {} ({})", v.trim_matches('"'), features.join(", "))
        }
        None => "build options unknown (no include/click/config.h next to the binary)".into(),
    };
    format!("{build}; {} sha256:{digest}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_version_and_features_from_installed_headers() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        let inc = dir.path().join("include/click");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&inc).unwrap();
        std::fs::write(bin.join("click"), b"binary").unwrap();
        std::fs::write(
            inc.join("config.h"),
            "#define CLICK_VERSION \"2.1\"\n#define HAVE_BATCH 1\n",
        )
        .unwrap();
        std::fs::write(
            inc.join("config-userlevel.h"),
            "#define HAVE_PCAP 1\n#define HAVE_DPDK 1\n/* #undef HAVE_NETMAP */\n",
        )
        .unwrap();
        let d = describe(&bin.join("click"));
        assert!(
            d.starts_with("Click 2.1 (batching (FastClick), DPDK, pcap); "),
            "{d}"
        );
        assert!(d.ends_with("sha256:9a3a45d01531"), "{d}");
        let bare = describe(&dir.path().join("nothing"));
        assert!(bare.contains("build options unknown"), "{bare}");
    }
}
