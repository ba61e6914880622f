//! Our guest packaged as a bootable disk image (`coo-bench image build --disk`), to test the
//! "bring your own image" path without a Click-On-OSv image: a FAT superfloppy (no partition
//! table; SeaBIOS boots its sector 0) holding syslinux, `vmlinuz`, `initrd.img` and a
//! `syslinux.cfg` whose fixed command line takes the management address by DHCP
//! ([`crate::guest::disk_cmdline`]), converted to qcow2. Tools: mkfs.vfat (dosfstools),
//! mcopy (mtools), syslinux, qemu-img (qemu-utils); no mount or loop device.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Image, ImageError};

/// File name of the disk image in the image directory.
pub const DISK_FILE: &str = "guest-dhcp.qcow2";
/// The syslinux.cfg it was built with (a changed command line rebuilds it).
const CFG_FILE: &str = "guest-dhcp.syslinux.cfg";

/// The syslinux configuration: banner on the serial console (first directive), then straight
/// into our kernel with `cmdline`.
pub fn syslinux_cfg(cmdline: &str) -> String {
    format!(
        "SERIAL 0 115200\nDEFAULT coo\nPROMPT 0\nTIMEOUT 0\nLABEL coo\n  KERNEL vmlinuz\n  INITRD initrd.img\n  APPEND {cmdline}\n"
    )
}

fn run(tool: &str, args: &[&std::ffi::OsStr]) -> Result<(), ImageError> {
    let out = Command::new(tool)
        .args(args)
        .output()
        .map_err(|e| ImageError::Tool {
            tool: tool.into(),
            message: format!("{e} (install it: apt-get install syslinux mtools dosfstools qemu-utils, or `coo-bench doctor --fix`)"),
        })?;
    if !out.status.success() {
        return Err(ImageError::Tool {
            tool: tool.into(),
            message: String::from_utf8_lossy(&out.stderr).trim().into(),
        });
    }
    Ok(())
}

/// Builds (or reuses) `<image dir>/guest-dhcp.qcow2` from `image`; returns its path.
pub fn build_disk(image: &Image) -> Result<PathBuf, ImageError> {
    let cfg = syslinux_cfg(&crate::guest::disk_cmdline());
    let out = image.dir.join(DISK_FILE);
    let cfg_path = image.dir.join(CFG_FILE);
    if out.is_file() && std::fs::read_to_string(&cfg_path).is_ok_and(|c| c == cfg) {
        return Ok(out);
    }
    // Work in a per-process scratch directory, then rename into place.
    let tmp = image
        .dir
        .join(format!(".disk.partial.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| ImageError::io(&tmp, e))?;
    let r = build_in(image, &cfg, &tmp);
    let r = r.and_then(|qcow| {
        std::fs::write(&cfg_path, &cfg).map_err(|e| ImageError::io(&cfg_path, e))?;
        std::fs::rename(&qcow, &out).map_err(|e| ImageError::io(&out, e))
    });
    let _ = std::fs::remove_dir_all(&tmp);
    r.map(|()| out)
}

fn build_in(image: &Image, cfg: &str, tmp: &Path) -> Result<PathBuf, ImageError> {
    let size = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.len())
            .map_err(|e| ImageError::io(p, e))
    };
    // Payload plus FAT tables, syslinux and slack, in KiB.
    let kib = (size(&image.vmlinuz)? + size(&image.initramfs)?) / 1024 + 4096;
    let fat = tmp.join("disk.img");
    let cfg_file = tmp.join("syslinux.cfg");
    std::fs::write(&cfg_file, cfg).map_err(|e| ImageError::io(&cfg_file, e))?;
    let kib_s = kib.to_string();
    run(
        "mkfs.vfat",
        &[
            "-C".as_ref(),
            "-n".as_ref(),
            "COOGUEST".as_ref(),
            fat.as_os_str(),
            kib_s.as_ref(),
        ],
    )?;
    for (src, name) in [
        (image.vmlinuz.as_path(), "::vmlinuz"),
        (image.initramfs.as_path(), "::initrd.img"),
        (cfg_file.as_path(), "::syslinux.cfg"),
    ] {
        run(
            "mcopy",
            &[
                "-i".as_ref(),
                fat.as_os_str(),
                src.as_os_str(),
                name.as_ref(),
            ],
        )?;
    }
    // Boot sector + ldlinux.sys/.c32, written through mtools (no mount).
    run("syslinux", &["--install".as_ref(), fat.as_os_str()])?;
    let qcow = tmp.join(DISK_FILE);
    run(
        "qemu-img",
        &[
            "convert".as_ref(),
            "-q".as_ref(),
            "-f".as_ref(),
            "raw".as_ref(),
            "-O".as_ref(),
            "qcow2".as_ref(),
            fat.as_os_str(),
            qcow.as_os_str(),
        ],
    )?;
    Ok(qcow)
}

/// Tools [`build_disk`] needs that are not in `PATH`.
pub fn missing_tools() -> Vec<&'static str> {
    ["mkfs.vfat", "mcopy", "syslinux", "qemu-img"]
        .into_iter()
        .filter(|t| {
            !std::env::var_os("PATH").is_some_and(|path| {
                std::env::split_paths(&path)
                    .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
                    .any(|d| d.join(t).is_file())
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cfg_boots_the_dhcp_command_line() {
        let c = syslinux_cfg(&crate::guest::disk_cmdline());
        assert!(c.starts_with("SERIAL 0 115200\nDEFAULT coo\n"));
        assert!(c.contains("  KERNEL vmlinuz\n  INITRD initrd.img\n"));
        let append = c
            .lines()
            .find_map(|l| l.trim().strip_prefix("APPEND "))
            .unwrap();
        let g = crate::guest::GuestConfig::from_cmdline(append).unwrap();
        assert_eq!((g.mgmt, g.mgmt_mac), (None, None));
        assert!(append.contains("console=ttyS0"));
    }

    #[test]
    fn builds_a_bootable_looking_qcow2() {
        let missing = missing_tools();
        if !missing.is_empty() {
            eprintln!("skipped: missing {missing:?} (apt-get install syslinux mtools dosfstools qemu-utils)");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let (k, i) = (dir.path().join("vmlinuz"), dir.path().join("initramfs.img"));
        std::fs::write(&k, vec![1u8; 4096]).unwrap();
        std::fs::write(&i, vec![2u8; 8192]).unwrap();
        let image = Image::for_tests(dir.path(), &k, &i);
        let p = build_disk(&image).unwrap();
        assert_eq!(p, dir.path().join(DISK_FILE));
        assert_eq!(crate::disk::format_of(&p).unwrap(), "qcow2");
        let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
        // Cached: a second call does not rebuild.
        assert_eq!(build_disk(&image).unwrap(), p);
        assert_eq!(std::fs::metadata(&p).unwrap().modified().unwrap(), mtime);
        // No scratch left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains("partial"))
            .collect();
        assert!(left.is_empty());
    }
}
