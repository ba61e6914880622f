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

/// The most recently unpacked kernel package under `dir` (the cache's `kernel/`), if any:
/// `up` boots what the last `image build` fetched instead of asking apt (~1 s) every time.
pub fn newest_unpacked(dir: &Path) -> Option<String> {
    let mut best: Option<(std::time::SystemTime, String)> = None;
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with("linux-image-") {
            continue;
        }
        let release = name
            .trim_start_matches("linux-image-")
            .trim_end_matches("-unsigned");
        let vmlinuz = e
            .path()
            .join("tree/boot")
            .join(format!("vmlinuz-{release}"));
        let Ok(mtime) = std::fs::metadata(&vmlinuz).and_then(|m| m.modified()) else {
            continue;
        };
        if best.as_ref().is_none_or(|(t, _)| mtime > *t) {
            best = Some((mtime, name));
        }
    }
    best.map(|(_, n)| n)
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

/// The uncompressed kernel (`vmlinux`, an ELF) inside a bzImage, when it can be booted
/// directly through its PVH entry point. QEMU then loads it as is: no real-mode setup and no
/// decompression, which under TCG costs ~0.3–0.5 s per guest (more with several booting at
/// once). `None` (boot the bzImage) for payload formats not handled here or without a PVH note.
pub fn pvh_vmlinux(bzimage: &[u8]) -> Option<Vec<u8>> {
    // Boot protocol header (Documentation/arch/x86/boot.rst): setup sectors at 0x1f1,
    // "HdrS" at 0x202, payload offset/length at 0x248/0x24c (relative to the protected-mode
    // code, which starts after the setup sectors).
    if bzimage.get(0x202..0x206)? != b"HdrS" {
        return None;
    }
    let setup = (usize::from(*bzimage.get(0x1f1)?).max(4) + 1) * 512;
    let off = u32_le(bzimage, 0x248)? as usize;
    let len = u32_le(bzimage, 0x24c)? as usize;
    let start = setup.checked_add(off)?;
    let payload = bzimage.get(start..start.checked_add(len)?)?;
    let elf = if payload.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(payload), &mut out).ok()?;
        out
    } else if payload.starts_with(&LZ4_LEGACY_MAGIC) {
        lz4_legacy(payload)?
    } else {
        return None;
    };
    has_pvh_note(&elf).then_some(elf)
}

const LZ4_LEGACY_MAGIC: [u8; 4] = [0x02, 0x21, 0x4c, 0x18];
/// Uncompressed size of every block but the last in the LZ4 legacy format.
const LZ4_LEGACY_BLOCK: usize = 8 << 20;
/// Refuse anything that would unpack beyond this (a kernel is ~50 MiB).
const MAX_VMLINUX: usize = 512 << 20;

fn u32_le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_le(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// LZ4 legacy frames (what the kernel's `lz4 -l` makes): magic, then blocks of
/// `u32 compressed size` + data; a repeated magic starts a new frame; trailing bytes (the
/// kernel appends the uncompressed size) end it.
fn lz4_legacy(mut p: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    while p.len() >= 4 {
        if p[..4] == LZ4_LEGACY_MAGIC {
            p = &p[4..];
            continue;
        }
        let n = u32_le(p, 0)? as usize;
        let Some(block) = p.get(4..4 + n) else {
            break;
        };
        let mut buf = vec![0u8; LZ4_LEGACY_BLOCK];
        let got = lz4_flex::block::decompress_into(block, &mut buf).ok()?;
        out.extend_from_slice(&buf[..got]);
        if out.len() > MAX_VMLINUX {
            return None;
        }
        p = &p[4 + n..];
    }
    (!out.is_empty()).then_some(out)
}

/// Whether a 64-bit ELF carries the Xen PVH entry note (`XEN_ELFNOTE_PHYS32_ENTRY`, 18), which
/// QEMU needs to boot it with `-kernel`.
pub fn has_pvh_note(elf: &[u8]) -> bool {
    fn scan(elf: &[u8]) -> Option<bool> {
        if elf.get(..5)? != b"\x7fELF\x02" {
            return Some(false);
        }
        let phoff = u64_le(elf, 0x20)? as usize;
        let phentsize = usize::from(u16::from_le_bytes(elf.get(0x36..0x38)?.try_into().ok()?));
        let phnum = usize::from(u16::from_le_bytes(elf.get(0x38..0x3a)?.try_into().ok()?));
        for i in 0..phnum {
            let ph = phoff.checked_add(i.checked_mul(phentsize)?)?;
            if u32_le(elf, ph)? != 4 {
                continue; // not PT_NOTE
            }
            let off = u64_le(elf, ph + 8)? as usize;
            let size = u64_le(elf, ph + 32)? as usize;
            let notes = elf.get(off..off.checked_add(size)?)?;
            let mut at = 0;
            while at + 12 <= notes.len() {
                let namesz = u32_le(notes, at)? as usize;
                let descsz = u32_le(notes, at + 4)? as usize;
                let kind = u32_le(notes, at + 8)?;
                let name = notes.get(at + 12..at + 12 + namesz)?;
                if kind == 18 && name.starts_with(b"Xen") {
                    return Some(true);
                }
                at += 12 + namesz.div_ceil(4) * 4 + descsz.div_ceil(4) * 4;
            }
        }
        Some(false)
    }
    scan(elf).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 with one PT_NOTE holding `notes`.
    fn elf_with_note(kind: u32) -> Vec<u8> {
        let mut e = vec![0u8; 0x40 + 56];
        e[..5].copy_from_slice(b"\x7fELF\x02");
        e[0x20..0x28].copy_from_slice(&0x40u64.to_le_bytes());
        e[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        e[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        let mut note = Vec::new();
        note.extend_from_slice(&4u32.to_le_bytes());
        note.extend_from_slice(&4u32.to_le_bytes());
        note.extend_from_slice(&kind.to_le_bytes());
        note.extend_from_slice(b"Xen\0");
        note.extend_from_slice(&0x0100_0000u32.to_le_bytes());
        let off = e.len() as u64;
        e[0x40..0x44].copy_from_slice(&4u32.to_le_bytes());
        e[0x48..0x50].copy_from_slice(&off.to_le_bytes());
        e[0x60..0x68].copy_from_slice(&(note.len() as u64).to_le_bytes());
        e.extend_from_slice(&note);
        e
    }

    /// A fake bzImage whose payload is `payload`.
    fn bzimage(payload: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 5 * 512];
        b[0x1f1] = 4;
        b[0x202..0x206].copy_from_slice(b"HdrS");
        b[0x248..0x24c].copy_from_slice(&0u32.to_le_bytes());
        b[0x24c..0x250].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn pvh_note_is_found_and_other_notes_are_not_it() {
        assert!(has_pvh_note(&elf_with_note(18)));
        assert!(!has_pvh_note(&elf_with_note(17)));
        assert!(!has_pvh_note(b"\x7fELF\x02 truncated"));
        assert!(!has_pvh_note(b""));
    }

    #[test]
    fn vmlinux_comes_out_of_lz4_legacy_and_gzip_payloads() {
        let elf = elf_with_note(18);
        let mut lz = LZ4_LEGACY_MAGIC.to_vec();
        let block = lz4_flex::block::compress(&elf);
        lz.extend_from_slice(&(block.len() as u32).to_le_bytes());
        lz.extend_from_slice(&block);
        lz.extend_from_slice(&(elf.len() as u32).to_le_bytes()); // the kernel's size trailer
        assert_eq!(pvh_vmlinux(&bzimage(&lz)), Some(elf.clone()));

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &elf).unwrap();
        assert_eq!(pvh_vmlinux(&bzimage(&gz.finish().unwrap())), Some(elf));
    }

    #[test]
    fn garbage_and_non_pvh_kernels_fall_back_to_the_bzimage() {
        assert_eq!(pvh_vmlinux(b"not a kernel"), None);
        assert_eq!(pvh_vmlinux(&bzimage(b"\x28\xb5\x2f\xfd zstd")), None);
        let mut lz = LZ4_LEGACY_MAGIC.to_vec();
        let block = lz4_flex::block::compress(&elf_with_note(17));
        lz.extend_from_slice(&(block.len() as u32).to_le_bytes());
        lz.extend_from_slice(&block);
        assert_eq!(pvh_vmlinux(&bzimage(&lz)), None);
        // A block size pointing past the end is not a crash.
        let mut bad = LZ4_LEGACY_MAGIC.to_vec();
        bad.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(pvh_vmlinux(&bzimage(&bad)), None);
    }

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
