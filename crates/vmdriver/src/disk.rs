//! "Bring your own image": a VNF booting a disk image (e.g. PyCOO's click-on-osv.qcow2) gets a
//! qcow2 overlay backed by the image — never a full copy (PyCOO copies the whole image per VNF).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

/// Errors creating or inspecting an overlay.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error("qemu-img {args}: {message}")]
    QemuImg { args: String, message: String },
    #[error("disk image {0} does not exist")]
    Missing(PathBuf),
}

fn qemu_img(args: &[&str]) -> Result<String, DiskError> {
    let out = Command::new("qemu-img")
        .args(args)
        .output()
        .map_err(|e| DiskError::QemuImg {
            args: args.join(" "),
            message: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(DiskError::QemuImg {
            args: args.join(" "),
            message: String::from_utf8_lossy(&out.stderr).trim().into(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[derive(Deserialize)]
struct Info {
    format: String,
    #[serde(rename = "backing-filename")]
    backing_filename: Option<String>,
}

/// Format of an image as qemu-img sees it (`qcow2`, `raw`, ...). `info -U` (force share):
/// works while a running VM holds the image.
pub fn format_of(image: &Path) -> Result<String, DiskError> {
    let text = qemu_img(&["info", "-U", "--output", "json", &image.to_string_lossy()])?;
    let info: Info = serde_json::from_str(&text).map_err(|e| DiskError::QemuImg {
        args: "info".into(),
        message: e.to_string(),
    })?;
    Ok(info.format)
}

/// Backing file of an overlay, if any.
pub fn backing_of(image: &Path) -> Result<Option<PathBuf>, DiskError> {
    let text = qemu_img(&["info", "-U", "--output", "json", &image.to_string_lossy()])?;
    let info: Info = serde_json::from_str(&text).map_err(|e| DiskError::QemuImg {
        args: "info".into(),
        message: e.to_string(),
    })?;
    Ok(info.backing_filename.map(PathBuf::from))
}

/// Creates `overlay` (qcow2) on top of `base` (read-only from then on); returns the overlay path.
pub fn create_overlay(base: &Path, overlay: &Path) -> Result<PathBuf, DiskError> {
    if !base.is_file() {
        return Err(DiskError::Missing(base.into()));
    }
    let base_abs = std::fs::canonicalize(base).map_err(|_| DiskError::Missing(base.into()))?;
    let fmt = format_of(&base_abs)?;
    qemu_img(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        "-F",
        &fmt,
        "-b",
        &base_abs.to_string_lossy(),
        &overlay.to_string_lossy(),
    ])?;
    Ok(overlay.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_has_backing_file_and_is_small() {
        if Command::new("qemu-img").arg("--version").output().is_err() {
            eprintln!("skipped: no qemu-img (apt-get install qemu-utils)");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base.qcow2");
        qemu_img(&[
            "create",
            "-q",
            "-f",
            "qcow2",
            &base.to_string_lossy(),
            "64M",
        ])
        .unwrap();
        let ov = create_overlay(&base, &dir.path().join("vnf1.qcow2")).unwrap();
        assert_eq!(format_of(&ov).unwrap(), "qcow2");
        assert_eq!(
            backing_of(&ov).unwrap(),
            Some(std::fs::canonicalize(&base).unwrap())
        );
        // Not a copy: the overlay holds only metadata.
        assert!(std::fs::metadata(&ov).unwrap().len() < 1024 * 1024);
        assert!(matches!(
            create_overlay(&dir.path().join("nope.qcow2"), &dir.path().join("x.qcow2")),
            Err(DiskError::Missing(_))
        ));
    }
}
