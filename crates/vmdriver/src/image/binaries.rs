//! Guest binaries: located next to the running executable (or by env/flag), packed statically
//! linked when they are, else together with their shared-library closure from `ldd`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::ImageError;

/// A binary plus what it needs at run time.
#[derive(Debug, Clone)]
pub struct Packed {
    /// Source path of the binary.
    pub path: PathBuf,
    /// True when the ELF has no interpreter (static).
    pub is_static: bool,
    /// Shared libraries (absolute host paths, stored at the same path in the guest).
    pub libs: Vec<PathBuf>,
}

/// Where a guest binary comes from: the env var, else the newest of a static build
/// (`target/x86_64-unknown-linux-{gnu,musl}/{debug,release}/NAME`, see
/// scripts/vm-guest-static.sh) and the sibling of the running executable.
pub fn locate(name: &str, env: &str) -> Result<PathBuf, ImageError> {
    if let Some(p) = std::env::var_os(env) {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| ImageError::io(Path::new("current_exe"), e))?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    // target/debug/{deps,examples}/x → target/debug (test binaries, examples).
    let dir = if dir.ends_with("deps") || dir.ends_with("examples") {
        dir.parent().unwrap_or(dir)
    } else {
        dir
    };
    let mut candidates = Vec::new();
    if let Some(target) = dir.parent() {
        for triple in ["x86_64-unknown-linux-gnu", "x86_64-unknown-linux-musl"] {
            for profile in ["debug", "release"] {
                candidates.push(target.join(triple).join(profile).join(name));
            }
        }
    }
    candidates.push(dir.join(name));
    // The newest build wins: a stale static build must not hide a fresh dynamic one.
    candidates
        .into_iter()
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .max_by_key(|(t, _)| *t)
        .map(|(_, p)| p)
        .ok_or_else(|| ImageError::BinaryMissing {
            name: name.into(),
            env: env.into(),
            searched: dir.display().to_string(),
        })
}

/// Is this ELF statically linked (no `PT_INTERP` program header)?
pub fn is_static_elf(bytes: &[u8]) -> bool {
    let u16_at = |o: usize| {
        bytes
            .get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |o: usize| {
        bytes
            .get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        bytes
            .get(o..o + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
    };
    if bytes.get(0..4) != Some(b"\x7fELF") || bytes.get(4) != Some(&2) {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    (0..usize::from(phnum)).all(|i| {
        let off = phoff as usize + i * usize::from(phentsize);
        u32_at(off) != Some(3) // PT_INTERP
    })
}

/// Library paths from `ldd` output (`libc.so.6 => /lib/... (0x..)`, `/lib64/ld-linux... (0x..)`).
pub fn parse_ldd(text: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        let path = match l.split_once("=>") {
            Some((_, rhs)) => rhs.split_whitespace().next(),
            None => l.split_whitespace().next(),
        };
        if let Some(p) = path.filter(|p| p.starts_with('/')) {
            out.push(PathBuf::from(p));
        }
    }
    out
}

/// Inspects `path`: static, or the list of shared libraries it needs.
pub fn pack(path: &Path) -> Result<Packed, ImageError> {
    let bytes = std::fs::read(path).map_err(|e| ImageError::io(path, e))?;
    if is_static_elf(&bytes) {
        return Ok(Packed {
            path: path.into(),
            is_static: true,
            libs: Vec::new(),
        });
    }
    let out = Command::new("ldd")
        .arg(path)
        .output()
        .map_err(|e| ImageError::Tool {
            tool: "ldd".into(),
            message: e.to_string(),
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("not found") {
        return Err(ImageError::Tool {
            tool: "ldd".into(),
            message: format!("{}: missing libraries:\n{text}", path.display()),
        });
    }
    Ok(Packed {
        path: path.into(),
        is_static: false,
        libs: parse_ldd(&text),
    })
}

/// The binary's bytes without debug info (`strip` when present: debug builds are 10× larger,
/// and the kernel copies every initramfs byte at boot).
pub fn stripped_bytes(path: &Path, scratch: &Path) -> Result<Vec<u8>, ImageError> {
    let tmp = scratch.join(format!(
        "{}.stripped",
        path.file_name().and_then(|f| f.to_str()).unwrap_or("bin")
    ));
    let ok = Command::new("strip")
        .arg("--strip-all")
        .arg("-o")
        .arg(&tmp)
        .arg(path)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let src = if ok { tmp.as_path() } else { path };
    let bytes = std::fs::read(src).map_err(|e| ImageError::io(src, e))?;
    let _ = std::fs::remove_file(&tmp);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_lines() {
        let t = "\tlinux-vdso.so.1 (0x00007ffc)\n\tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x7f)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x7f)\n\t/lib64/ld-linux-x86-64.so.2 (0x7f)\n";
        assert_eq!(
            parse_ldd(t),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libgcc_s.so.1"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
    }

    #[test]
    fn static_detection_on_real_binaries() {
        // /bin/sh is dynamic on Debian; our own test binary is dynamic too unless built static.
        if let Ok(b) = std::fs::read("/bin/sh") {
            assert!(!is_static_elf(&b));
        }
        assert!(!is_static_elf(b"not an elf"));
    }
}
