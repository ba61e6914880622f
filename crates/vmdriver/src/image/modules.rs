//! Kernel module selection: dependency order from each module's `.modinfo` `depends=` field
//! (the Debian package ships no modules.dep; depmod runs at install time).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::ImageError;

/// The virtio NIC stack, in load order (dependencies first).
pub const VIRTIO_NET: &[&str] = &[
    "virtio_ring",
    "virtio",
    "virtio_pci_modern_dev",
    "virtio_pci_legacy_dev",
    "virtio_pci",
    "failover",
    "net_failover",
    "virtio_net",
];

/// Loaded after the agent started: what the `kernel-forward` engine and tc need.
pub const EXTRA: &[&str] = &[
    "sch_ingress",
    "act_mirred",
    "cls_matchall",
    "cls_u32",
    "bridge",
];

/// Normalized module name (`virtio-net` and `virtio_net` are the same module).
pub fn norm(name: &str) -> String {
    name.replace('-', "_")
}

/// Module name of a file path (`.../virtio_net.ko.xz` → `virtio_net`).
fn stem(p: &Path) -> Option<String> {
    let f = p.file_name()?.to_str()?;
    let base = f.split(".ko").next()?;
    (f.contains(".ko")).then(|| norm(base))
}

/// All `.ko*` files under `root`, by module name.
pub fn index(root: &Path) -> Result<BTreeMap<String, PathBuf>, ImageError> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let rd = std::fs::read_dir(&dir).map_err(|e| ImageError::io(&dir, e))?;
        for ent in rd.flatten() {
            let p = ent.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Some(s) = stem(&p) {
                out.insert(s, p);
            }
        }
    }
    Ok(out)
}

/// Reads a module file, decompressing `.ko.xz`/`.ko.zst` (external tools) or `.ko.gz`.
pub fn read_module(p: &Path) -> Result<Vec<u8>, ImageError> {
    let name = p.to_string_lossy();
    let tool = if name.ends_with(".xz") {
        Some("xz")
    } else if name.ends_with(".zst") {
        Some("zstd")
    } else {
        None
    };
    if let Some(tool) = tool {
        let out = std::process::Command::new(tool)
            .arg("-dc")
            .arg(p)
            .output()
            .map_err(|e| ImageError::Tool {
                tool: tool.into(),
                message: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(ImageError::Tool {
                tool: tool.into(),
                message: String::from_utf8_lossy(&out.stderr).into(),
            });
        }
        return Ok(out.stdout);
    }
    let raw = std::fs::read(p).map_err(|e| ImageError::io(p, e))?;
    if name.ends_with(".gz") {
        let mut d = flate2::read::GzDecoder::new(&raw[..]);
        let mut v = Vec::new();
        d.read_to_end(&mut v).map_err(|e| ImageError::io(p, e))?;
        return Ok(v);
    }
    Ok(raw)
}

/// The `depends=` list in a module's `.modinfo` strings.
pub fn depends(ko: &[u8]) -> Vec<String> {
    let key = b"\0depends=";
    let Some(pos) = ko.windows(key.len()).position(|w| w == key) else {
        return Vec::new();
    };
    let rest = &ko[pos + key.len()..];
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end])
        .split(',')
        .filter(|s| !s.is_empty())
        .map(norm)
        .collect()
}

/// Resolves `wanted` plus dependencies into load order (dependencies first, then the order of
/// `wanted`). Modules built into the kernel (`builtin`) are skipped; others must exist.
pub fn resolve(
    wanted: &[&str],
    available: &BTreeMap<String, PathBuf>,
    builtin: &BTreeSet<String>,
    read: &dyn Fn(&Path) -> Result<Vec<u8>, ImageError>,
) -> Result<Vec<(String, Vec<u8>)>, ImageError> {
    let mut order: Vec<(String, Vec<u8>)> = Vec::new();
    let mut done = BTreeSet::new();
    // Iterative DFS: (name, deps_pushed).
    for w in wanted {
        let mut stack = vec![(norm(w), None::<Vec<u8>>)];
        let mut on_path = BTreeSet::new();
        while let Some((name, data)) = stack.pop() {
            if done.contains(&name) || builtin.contains(&name) {
                continue;
            }
            match data {
                Some(bytes) => {
                    on_path.remove(&name);
                    done.insert(name.clone());
                    order.push((name, bytes));
                }
                None => {
                    if !on_path.insert(name.clone()) {
                        return Err(ImageError::ModuleCycle(name));
                    }
                    let path = available
                        .get(&name)
                        .ok_or_else(|| ImageError::ModuleMissing(name.clone()))?;
                    let bytes = read(path)?;
                    let deps = depends(&bytes);
                    stack.push((name, Some(bytes)));
                    for d in deps.into_iter().rev() {
                        if !done.contains(&d) {
                            stack.push((d, None));
                        }
                    }
                }
            }
        }
    }
    Ok(order)
}

/// Names in `modules.builtin` (`kernel/net/core/failover.ko` → `failover`).
pub fn builtin_set(modules_builtin: &str) -> BTreeSet<String> {
    modules_builtin
        .lines()
        .filter_map(|l| stem(Path::new(l.trim())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ko(deps: &str) -> Vec<u8> {
        let mut v = b"\x7fELF....\0license=GPL\0".to_vec();
        v.extend_from_slice(format!("depends={deps}\0name=x\0").as_bytes());
        v
    }

    #[test]
    fn parses_depends() {
        assert_eq!(
            depends(&ko("virtio,virtio_ring")),
            vec!["virtio", "virtio_ring"]
        );
        assert!(depends(&ko("")).is_empty());
        assert!(depends(b"no modinfo").is_empty());
    }

    #[test]
    fn orders_dependencies_first_and_skips_builtins() {
        let files: BTreeMap<&str, Vec<u8>> = [
            ("virtio_net", ko("net_failover,virtio,virtio_ring")),
            ("net_failover", ko("failover")),
            ("failover", ko("")),
            ("virtio", ko("")),
            ("virtio_ring", ko("")),
        ]
        .into_iter()
        .collect();
        let avail: BTreeMap<String, PathBuf> = files
            .keys()
            .map(|k| (k.to_string(), PathBuf::from(format!("/m/{k}.ko"))))
            .collect();
        let read = |p: &Path| -> Result<Vec<u8>, ImageError> {
            let n = stem(p).unwrap();
            Ok(files[n.as_str()].clone())
        };
        let order = resolve(&["virtio_net"], &avail, &BTreeSet::new(), &read).unwrap();
        let names: Vec<&str> = order.iter().map(|(n, _)| n.as_str()).collect();
        let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
        assert_eq!(names.len(), 5);
        assert!(pos("failover") < pos("net_failover"));
        assert!(pos("net_failover") < pos("virtio_net"));
        assert!(pos("virtio") < pos("virtio_net"));
        assert_eq!(names.last(), Some(&"virtio_net"));

        let builtin: BTreeSet<String> = ["failover".to_string()].into();
        let order = resolve(&["virtio_net"], &avail, &builtin, &read).unwrap();
        assert!(order.iter().all(|(n, _)| n != "failover"));

        let err = resolve(&["nope"], &avail, &BTreeSet::new(), &read).unwrap_err();
        assert!(matches!(err, ImageError::ModuleMissing(n) if n == "nope"));
    }

    #[test]
    fn builtin_names() {
        let s = builtin_set("kernel/net/core/failover.ko\nkernel/drivers/virtio/virtio-mmio.ko\n");
        assert!(s.contains("failover") && s.contains("virtio_mmio"));
    }
}
