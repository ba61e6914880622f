//! Guest image = Debian cloud kernel + an initramfs we build: `/init` (our guest init),
//! `/bin/coo-vnf`, `/bin/coo-click`, the virtio NIC modules in load order, optional external
//! engine binaries at their host paths, and every shared library a dynamic binary needs.
//! Cached under `<cache>/images/<content hash>/{vmlinuz,initramfs.img,manifest.json}`.

pub mod binaries;
pub mod cpio;
pub mod disk;
pub mod kernel;
pub mod modules;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bumped whenever the initramfs layout changes, so old caches are not reused.
const FORMAT: &str = "coo-guest-image-v2";

/// Errors building the image.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{tool} failed: {message}")]
    Tool { tool: String, message: String },
    #[error("kernel module {0} not found in the kernel package")]
    ModuleMissing(String),
    #[error("kernel module dependency cycle at {0}")]
    ModuleCycle(String),
    #[error("guest binary {name} not found (searched next to {searched}): build every binary of the workspace with `cargo build --release --workspace`, or set {env}")]
    BinaryMissing {
        name: String,
        env: String,
        searched: String,
    },
}

impl ImageError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        ImageError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Cache root: `COO_BENCH_CACHE` or `/var/cache/coo-bench`.
pub fn cache_root() -> PathBuf {
    std::env::var_os("COO_BENCH_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/coo-bench"))
}

/// What goes into the image.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub cache_root: PathBuf,
    /// Kernel package; `None` = current from apt.
    pub kernel_package: Option<String>,
    pub init: PathBuf,
    pub agent: PathBuf,
    pub click: PathBuf,
    /// External engine binaries, stored at their host path (so a variant's engine path works
    /// unchanged inside the guest).
    pub extra_bins: Vec<PathBuf>,
    /// gzip the initramfs (smaller; slower to unpack under TCG).
    pub gzip: bool,
}

impl BuildOptions {
    /// Defaults: guest binaries located next to the running executable (see
    /// [`binaries::locate`]), env `COO_BENCH_GUEST_INIT`, `COO_BENCH_COO_VNF`, `COO_BENCH_COO_CLICK`.
    pub fn discover() -> Result<Self, ImageError> {
        Ok(BuildOptions {
            cache_root: cache_root(),
            kernel_package: None,
            init: binaries::locate("coo-guest-init", "COO_BENCH_GUEST_INIT")?,
            agent: binaries::locate("coo-vnf", "COO_BENCH_COO_VNF")?,
            click: binaries::locate("coo-click", "COO_BENCH_COO_CLICK")?,
            extra_bins: Vec::new(),
            gzip: false,
        })
    }
}

/// One file in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    pub guest_path: String,
    pub source: PathBuf,
    pub is_static: Option<bool>,
    pub bytes: u64,
}

/// `manifest.json` next to the image.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub hash: String,
    pub kernel_package: String,
    pub kernel_release: String,
    pub modules: Vec<String>,
    pub files: Vec<ManifestFile>,
    pub initramfs_bytes: u64,
}

/// A built (or cached) image.
#[derive(Debug, Clone)]
pub struct Image {
    pub dir: PathBuf,
    pub vmlinuz: PathBuf,
    /// What VMs boot: `vmlinux` (uncompressed, PVH entry) when it could be extracted from
    /// `vmlinuz`, else `vmlinuz` itself.
    pub boot_kernel: PathBuf,
    pub initramfs: PathBuf,
    pub manifest: Manifest,
    /// False when it came from the cache.
    pub built_now: bool,
}

#[cfg(test)]
impl Image {
    /// An image of the given files with a placeholder manifest, for unit tests.
    pub(crate) fn for_tests(dir: &Path, kernel: &Path, initramfs: &Path) -> Image {
        Image {
            dir: dir.into(),
            vmlinuz: kernel.into(),
            boot_kernel: kernel.into(),
            initramfs: initramfs.into(),
            manifest: Manifest {
                format: "x".into(),
                hash: "h".into(),
                kernel_package: "p".into(),
                kernel_release: "r".into(),
                modules: vec![],
                files: vec![],
                initramfs_bytes: 0,
            },
            built_now: false,
        }
    }
}

/// `vmlinux` when the image has one (PVH boot), else `vmlinuz`.
fn boot_kernel(dir: &Path) -> PathBuf {
    let elf = dir.join("vmlinux");
    if elf.is_file() {
        elf
    } else {
        dir.join("vmlinuz")
    }
}

struct Entry {
    guest_path: String,
    data: Vec<u8>,
    mode: u32,
    source: PathBuf,
    is_static: Option<bool>,
}

/// A step of [`build_with`], reported as it starts (for a progress display).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildStep {
    /// Fetching (or finding cached) the kernel package.
    Kernel { package: String },
    /// Resolving the guest's kernel modules.
    Modules,
    /// Packing this many binaries with their libraries.
    Binaries { count: usize },
    /// The inputs hash to an image already in the cache.
    Cached { hash: String },
    /// Writing kernel and initramfs of a new image.
    Initramfs { hash: String },
}

impl BuildStep {
    /// Steps of a build that is not cached (for "step i of N").
    pub const COUNT: usize = 4;

    /// 1-based position among the [`BuildStep::COUNT`] steps.
    pub fn index(&self) -> usize {
        match self {
            BuildStep::Kernel { .. } => 1,
            BuildStep::Modules => 2,
            BuildStep::Binaries { .. } => 3,
            BuildStep::Cached { .. } | BuildStep::Initramfs { .. } => 4,
        }
    }
}

impl std::fmt::Display for BuildStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildStep::Kernel { package } => write!(f, "kernel package {package}"),
            BuildStep::Modules => f.write_str("kernel modules"),
            BuildStep::Binaries { count } => write!(f, "{count} binaries and their libraries"),
            BuildStep::Cached { hash } => write!(f, "image {hash} is cached"),
            BuildStep::Initramfs { hash } => write!(f, "writing image {hash}"),
        }
    }
}

/// Builds the image, or returns the cached one when the inputs are unchanged.
pub fn build(opts: &BuildOptions) -> Result<Image, ImageError> {
    build_with(opts, &|_| {})
}

/// [`build`], calling `step` as each step starts.
pub fn build_with(opts: &BuildOptions, step: &dyn Fn(&BuildStep)) -> Result<Image, ImageError> {
    let package = match &opts.kernel_package {
        Some(p) => p.clone(),
        None => kernel::current_package()?,
    };
    step(&BuildStep::Kernel {
        package: package.clone(),
    });
    let kpkg = kernel::fetch(&package, &opts.cache_root.join("kernel"))?;
    let scratch = opts.cache_root.join("tmp");
    std::fs::create_dir_all(&scratch).map_err(|e| ImageError::io(&scratch, e))?;

    // Modules, dependencies first.
    step(&BuildStep::Modules);
    let available = modules::index(&kpkg.modules_dir.join("kernel"))?;
    let builtin = std::fs::read_to_string(kpkg.modules_dir.join("modules.builtin"))
        .map(|t| modules::builtin_set(&t))
        .unwrap_or_default();
    let boot_mods = modules::resolve(modules::VIRTIO_NET, &available, &builtin, &|p| {
        modules::read_module(p)
    })?;
    let boot_names: BTreeSet<String> = boot_mods.iter().map(|(n, _)| n.clone()).collect();
    let extra_mods: Vec<(String, Vec<u8>)> =
        modules::resolve(modules::EXTRA, &available, &builtin, &|p| {
            modules::read_module(p)
        })?
        .into_iter()
        .filter(|(n, _)| !boot_names.contains(n))
        .collect();

    // Binaries and their libraries.
    let mut entries: Vec<Entry> = Vec::new();
    let mut libs: BTreeSet<PathBuf> = BTreeSet::new();
    let mut bins: Vec<(String, &Path)> = vec![
        ("/init".into(), opts.init.as_path()),
        ("/bin/coo-vnf".into(), opts.agent.as_path()),
        ("/bin/coo-click".into(), opts.click.as_path()),
    ];
    for b in &opts.extra_bins {
        bins.push((b.to_string_lossy().into_owned(), b.as_path()));
    }
    step(&BuildStep::Binaries { count: bins.len() });
    for (guest_path, src) in &bins {
        let packed = binaries::pack(src)?;
        libs.extend(packed.libs.iter().cloned());
        entries.push(Entry {
            guest_path: guest_path.clone(),
            data: binaries::stripped_bytes(src, &scratch)?,
            mode: 0o755,
            source: src.to_path_buf(),
            is_static: Some(packed.is_static),
        });
    }
    for lib in &libs {
        entries.push(Entry {
            guest_path: lib.to_string_lossy().into_owned(),
            data: std::fs::read(lib).map_err(|e| ImageError::io(lib, e))?,
            mode: 0o755,
            source: lib.clone(),
            is_static: None,
        });
    }
    let mut order = String::new();
    for (phase, mods) in [("boot", &boot_mods), ("extra", &extra_mods)] {
        for (name, data) in mods.iter() {
            order.push_str(&format!("{phase} {name}\n"));
            entries.push(Entry {
                guest_path: format!("/lib/modules/coo/{name}.ko"),
                data: data.clone(),
                mode: 0o644,
                source: PathBuf::from(&name),
                is_static: None,
            });
        }
    }
    entries.push(Entry {
        guest_path: "/lib/modules/coo/order".into(),
        data: order.into_bytes(),
        mode: 0o644,
        source: PathBuf::new(),
        is_static: None,
    });

    // Content hash over everything that ends up in the image.
    let mut h = Sha256::new();
    h.update(FORMAT);
    h.update(if opts.gzip { "gz" } else { "raw" });
    h.update(std::fs::read(&kpkg.vmlinuz).map_err(|e| ImageError::io(&kpkg.vmlinuz, e))?);
    for e in &entries {
        h.update(e.guest_path.as_bytes());
        h.update((e.data.len() as u64).to_le_bytes());
        h.update(&e.data);
    }
    let hash: String = h
        .finalize()
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = opts.cache_root.join("images").join(&hash);
    let vmlinuz = dir.join("vmlinuz");
    let initramfs = dir.join("initramfs.img");
    let manifest_path = dir.join("manifest.json");
    if let Ok(text) = std::fs::read_to_string(&manifest_path) {
        if let Ok(manifest) = serde_json::from_str::<Manifest>(&text) {
            if vmlinuz.is_file() && initramfs.is_file() {
                step(&BuildStep::Cached { hash: hash.clone() });
                return Ok(Image {
                    boot_kernel: boot_kernel(&dir),
                    dir,
                    vmlinuz,
                    initramfs,
                    manifest,
                    built_now: false,
                });
            }
        }
    }

    step(&BuildStep::Initramfs { hash: hash.clone() });
    // Build into a per-process temporary directory, then rename: readers never see a half
    // image and two concurrent builds of the same image do not collide.
    let tmp = opts
        .cache_root
        .join("images")
        .join(format!("{hash}.partial.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| ImageError::io(&tmp, e))?;
    std::fs::copy(&kpkg.vmlinuz, tmp.join("vmlinuz")).map_err(|e| ImageError::io(&tmp, e))?;
    let bz = std::fs::read(&kpkg.vmlinuz).map_err(|e| ImageError::io(&kpkg.vmlinuz, e))?;
    if let Some(elf) = kernel::pvh_vmlinux(&bz) {
        std::fs::write(tmp.join("vmlinux"), elf).map_err(|e| ImageError::io(&tmp, e))?;
    }
    let cpio_bytes = write_cpio(&entries)?;
    let img_bytes = if opts.gzip {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&cpio_bytes)
            .and_then(|_| gz.finish())
            .map_err(|e| ImageError::io(&tmp, e))?
    } else {
        cpio_bytes
    };
    std::fs::write(tmp.join("initramfs.img"), &img_bytes).map_err(|e| ImageError::io(&tmp, e))?;
    let manifest = Manifest {
        format: FORMAT.into(),
        hash: hash.clone(),
        kernel_package: kpkg.package.clone(),
        kernel_release: kpkg.release.clone(),
        modules: boot_mods
            .iter()
            .chain(extra_mods.iter())
            .map(|(n, _)| n.clone())
            .collect(),
        files: entries
            .iter()
            .filter(|e| e.is_static.is_some() || e.guest_path.contains(".so"))
            .map(|e| ManifestFile {
                guest_path: e.guest_path.clone(),
                source: e.source.clone(),
                is_static: e.is_static,
                bytes: e.data.len() as u64,
            })
            .collect(),
        initramfs_bytes: img_bytes.len() as u64,
    };
    let text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    std::fs::write(tmp.join("manifest.json"), text).map_err(|e| ImageError::io(&tmp, e))?;
    if dir.join("manifest.json").is_file() {
        // Another process finished the same image first; its files are identical.
        let _ = std::fs::remove_dir_all(&tmp);
    } else {
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = std::fs::rename(&tmp, &dir) {
            let _ = std::fs::remove_dir_all(&tmp);
            if !dir.join("manifest.json").is_file() {
                return Err(ImageError::io(&dir, e));
            }
        }
    }
    prune(&opts.cache_root, KEEP_IMAGES);
    Ok(Image {
        boot_kernel: boot_kernel(&dir),
        dir,
        vmlinuz,
        initramfs,
        manifest,
        built_now: true,
    })
}

/// Images kept in the cache; older ones are removed after a build (each is ~10–20 MiB).
const KEEP_IMAGES: usize = 4;

/// Removes all but the `keep` newest image directories (and leftover partial builds older
/// than an hour).
pub fn prune(cache_root: &Path, keep: usize) {
    let Ok(rd) = std::fs::read_dir(cache_root.join("images")) else {
        return;
    };
    let mut dirs: Vec<(std::time::SystemTime, PathBuf)> = rd
        .flatten()
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.0));
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let mut kept = 0;
    for (mtime, d) in dirs {
        if d.to_string_lossy().contains(".partial") {
            if mtime < hour_ago {
                let _ = std::fs::remove_dir_all(&d);
            }
            continue;
        }
        kept += 1;
        if kept > keep {
            let _ = std::fs::remove_dir_all(&d);
        }
    }
}

fn write_cpio(entries: &[Entry]) -> Result<Vec<u8>, ImageError> {
    let io = |e| ImageError::io(Path::new("initramfs"), e);
    let mut w = cpio::CpioWriter::new(Vec::new());
    // Parent directories first, each once.
    let mut dirs: BTreeSet<String> = ["/proc", "/sys", "/dev", "/run", "/tmp", "/etc", "/bin"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for e in entries {
        let mut p = Path::new(&e.guest_path).parent();
        while let Some(d) = p {
            let s = d.to_string_lossy().into_owned();
            if s != "/" && !s.is_empty() {
                dirs.insert(s);
            }
            p = d.parent();
        }
    }
    // BTreeSet order puts "/a" before "/a/b": parents precede children.
    for d in &dirs {
        w.dir(d).map_err(io)?;
    }
    w.char_dev("/dev/console", 0o600, 5, 1).map_err(io)?;
    w.char_dev("/dev/null", 0o666, 1, 3).map_err(io)?;
    let mut seen = BTreeMap::new();
    for e in entries {
        if seen.insert(e.guest_path.clone(), ()).is_some() {
            continue;
        }
        w.file(&e.guest_path, e.mode, &e.data).map_err(io)?;
    }
    w.finish().map_err(io)
}

/// The newest image in the cache, if any (for `doctor` and drivers that must not build).
pub fn newest_cached(cache_root: &Path) -> Option<Image> {
    let dir = cache_root.join("images");
    let mut best: Option<(std::time::SystemTime, Image)> = None;
    for ent in std::fs::read_dir(&dir).ok()?.flatten() {
        let d = ent.path();
        if d.to_string_lossy().contains(".partial") {
            continue; // an unfinished (or crashed) build
        }
        let Ok(text) = std::fs::read_to_string(d.join("manifest.json")) else {
            continue;
        };
        let Ok(manifest) = serde_json::from_str::<Manifest>(&text) else {
            continue;
        };
        if manifest.format != FORMAT {
            continue;
        }
        let Ok(mtime) = ent.metadata().and_then(|m| m.modified()) else {
            continue;
        };
        if best.as_ref().is_none_or(|(t, _)| mtime > *t) {
            best = Some((
                mtime,
                Image {
                    boot_kernel: boot_kernel(&d),
                    vmlinuz: d.join("vmlinuz"),
                    initramfs: d.join("initramfs.img"),
                    dir: d,
                    manifest,
                    built_now: false,
                },
            ));
        }
    }
    best.map(|(_, i)| i)
}
