//! The guest kernel: a Debian cloud kernel package, downloaded with `apt-get download` and
//! unpacked with `dpkg-deb -x` into the cache (no root filesystem image needed).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::ImageError;

/// Debian meta package whose dependency names the current cloud kernel.
pub const META_PACKAGE: &str = "linux-image-cloud-amd64";

/// An unpacked kernel package.
#[derive(Debug, Clone)]
pub struct KernelPkg {
    /// Package name, e.g. `linux-image-6.1.0-56-cloud-amd64`.
    pub package: String,
    /// The `.deb` file.
    pub deb: PathBuf,
    /// Kernel release (`6.1.0-56-cloud-amd64`).
    pub release: String,
    /// `boot/vmlinuz-<release>` inside the unpacked tree.
    pub vmlinuz: PathBuf,
    /// `lib/modules/<release>` inside the unpacked tree.
    pub modules_dir: PathBuf,
}

fn run(cmd: &mut Command, tool: &str) -> Result<String, ImageError> {
    let out = cmd.output().map_err(|e| ImageError::Tool {
        tool: tool.into(),
        message: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(ImageError::Tool {
            tool: tool.into(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The concrete kernel package: `COO_BENCH_GUEST_KERNEL_PKG`, else the meta package's dependency.
pub fn current_package() -> Result<String, ImageError> {
    if let Ok(p) = std::env::var("COO_BENCH_GUEST_KERNEL_PKG") {
        return Ok(p);
    }
    let text = run(
        Command::new("apt-cache").args(["depends", META_PACKAGE]),
        "apt-cache",
    )?;
    parse_depends(&text).ok_or_else(|| ImageError::Tool {
        tool: "apt-cache".into(),
        message: format!("{META_PACKAGE} names no kernel package (run `apt-get update`?)"),
    })
}

/// First `Depends: linux-image-...` line of `apt-cache depends` output.
pub fn parse_depends(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends:"))
        .map(str::trim)
        .find(|p| p.starts_with("linux-image-"))
        .map(str::to_string)
}

/// Downloads (if absent) and unpacks `package` under `dir`.
pub fn fetch(package: &str, dir: &Path) -> Result<KernelPkg, ImageError> {
    let pkg_dir = dir.join(package);
    let tree = pkg_dir.join("tree");
    std::fs::create_dir_all(&pkg_dir).map_err(|e| ImageError::io(&pkg_dir, e))?;
    let find_deb = || -> Option<PathBuf> {
        std::fs::read_dir(&pkg_dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
    };
    let deb = match find_deb() {
        Some(d) => d,
        None => {
            run(
                Command::new("apt-get")
                    .args(["download", "-q", package])
                    .current_dir(&pkg_dir),
                "apt-get download",
            )?;
            find_deb().ok_or_else(|| ImageError::Tool {
                tool: "apt-get download".into(),
                message: format!("no .deb for {package} in {}", pkg_dir.display()),
            })?
        }
    };
    let release = package
        .strip_prefix("linux-image-")
        .unwrap_or(package)
        .trim_end_matches("-unsigned")
        .to_string();
    let vmlinuz = tree.join("boot").join(format!("vmlinuz-{release}"));
    if !vmlinuz.exists() {
        // Unpack into a fresh directory, then rename: an interrupted unpack is never reused.
        let tmp = pkg_dir.join(format!("tree.partial.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        run(
            Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tmp),
            "dpkg-deb",
        )?;
        if vmlinuz.exists() {
            // A concurrent build unpacked the same package first.
            let _ = std::fs::remove_dir_all(&tmp);
        } else {
            let _ = std::fs::remove_dir_all(&tree);
            std::fs::rename(&tmp, &tree).map_err(|e| ImageError::io(&tree, e))?;
        }
    }
    if !vmlinuz.exists() {
        return Err(ImageError::Tool {
            tool: "dpkg-deb".into(),
            message: format!("{} has no {}", deb.display(), vmlinuz.display()),
        });
    }
    Ok(KernelPkg {
        package: package.into(),
        modules_dir: tree.join("lib/modules").join(&release),
        deb,
        release,
        vmlinuz,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_dependency() {
        let out = "linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-56-cloud-amd64\n";
        assert_eq!(
            parse_depends(out).as_deref(),
            Some("linux-image-6.1.0-56-cloud-amd64")
        );
        assert_eq!(parse_depends("linux-image-cloud-amd64\n"), None);
    }
}
