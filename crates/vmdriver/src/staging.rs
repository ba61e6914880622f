//! The guest image on another host: its boot files are uploaded through that host's libvirt
//! connection (a storage pool and volume upload; nothing else has to run there) into
//! [`POOL_DIR`], named by the image's content hash, once: a file already there (with its
//! completion marker) is not sent again. Names and XML are pure; [`stage_on`] does the calls.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use virt::connect::Connect;
use virt::error::ErrorNumber;
use virt::storage_pool::StoragePool;
use virt::storage_vol::StorageVol;
use virt::stream::Stream;

use crate::driver::VmError;
use crate::image::Image;

/// The transient pool staging uses (destroyed again when this run made it; the files stay).
pub const POOL_NAME: &str = "coo-bench-images";
/// Where staged files live on a host (under libvirt's own state directory).
pub const POOL_DIR: &str = "/var/lib/libvirt/coo-bench/images";
/// Suffix of the empty volume written after a file's upload completed: a file without it
/// is a torn upload (controller killed) and is sent again.
pub const DONE_SUFFIX: &str = ".done";

/// Where a domain's boot files are on the machine of its hypervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedBoot {
    pub kernel: PathBuf,
    pub initramfs: PathBuf,
    /// Volumes uploaded by this call (empty: everything was there already).
    pub uploaded: Vec<String>,
}

impl StagedBoot {
    /// The files where they are (the local hypervisor: nothing to copy).
    pub fn local(image: &Image) -> Self {
        StagedBoot {
            kernel: image.boot_kernel.clone(),
            initramfs: image.initramfs.clone(),
            uploaded: Vec::new(),
        }
    }
}

/// XML of the staging pool (a directory pool; built, i.e. `mkdir -p`, on creation).
pub fn pool_xml() -> String {
    format!(
        "<pool type='dir'><name>{POOL_NAME}</name><target><path>{POOL_DIR}</path></target></pool>"
    )
}

/// Volume name of `file` of the image with content hash `hash`: `<hash>-<file name>`.
pub fn volume_name(hash: &str, file: &Path) -> String {
    let base = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{hash}-{base}")
}

/// XML of a raw volume of `bytes` bytes.
pub fn volume_xml(name: &str, bytes: u64) -> String {
    format!(
        "<volume><name>{name}</name><capacity unit='bytes'>{bytes}</capacity>\
         <allocation unit='bytes'>0</allocation><target><format type='raw'/></target></volume>"
    )
}

fn err(what: &str, e: virt::error::Error) -> VmError {
    VmError::Stage {
        what: what.to_owned(),
        message: e.message().to_owned(),
    }
}

fn io_err(what: &str, e: std::io::Error) -> VmError {
    VmError::Stage {
        what: what.to_owned(),
        message: e.to_string(),
    }
}

/// Uploads `image`'s boot files to the host of `conn` unless they are there already.
pub(crate) fn stage_on(conn: &Connect, image: &Image) -> Result<StagedBoot, VmError> {
    let (pool, made) = match StoragePool::lookup_by_name(conn, POOL_NAME) {
        Ok(p) => (p, false),
        Err(e) if e.code() == ErrorNumber::NoStoragePool => (
            StoragePool::create_xml(
                conn,
                &pool_xml(),
                virt::sys::VIR_STORAGE_POOL_CREATE_WITH_BUILD,
            )
            .map_err(|e| err(POOL_DIR, e))?,
            true,
        ),
        Err(e) => return Err(err(POOL_NAME, e)),
    };
    let result = (|| {
        // Another run may have added files since the pool was made.
        pool.refresh(0).map_err(|e| err(POOL_NAME, e))?;
        let hash = &image.manifest.hash;
        let mut uploaded = Vec::new();
        let mut place = |file: &Path| -> Result<PathBuf, VmError> {
            let name = volume_name(hash, file);
            let (path, sent) = stage_file(&pool, conn, &name, file)?;
            if sent {
                uploaded.push(name);
            }
            Ok(path)
        };
        let kernel = place(&image.boot_kernel)?;
        let initramfs = place(&image.initramfs)?;
        Ok(StagedBoot {
            kernel,
            initramfs,
            uploaded,
        })
    })();
    if made {
        // A transient pool is only a handle on the directory: the files stay.
        let _ = pool.destroy();
    }
    result
}

/// The host's path of volume `name` holding `file`; true when it was uploaded now.
fn stage_file(
    pool: &StoragePool,
    conn: &Connect,
    name: &str,
    file: &Path,
) -> Result<(PathBuf, bool), VmError> {
    let what = file.display().to_string();
    let bytes = std::fs::metadata(file).map_err(|e| io_err(&what, e))?.len();
    let done = format!("{name}{DONE_SUFFIX}");
    if let Ok(vol) = StorageVol::lookup_by_name(pool, name) {
        let complete = StorageVol::lookup_by_name(pool, &done).is_ok()
            && vol.get_info().map(|i| i.capacity).ok() == Some(bytes);
        if complete {
            let path = vol.get_path().map_err(|e| err(name, e))?;
            return Ok((PathBuf::from(path), false));
        }
        vol.delete(0).map_err(|e| err(name, e))?;
    }
    let vol =
        StorageVol::create_xml(pool, &volume_xml(name, bytes), 0).map_err(|e| err(name, e))?;
    let stream = Stream::new(conn, 0).map_err(|e| err(name, e))?;
    vol.upload(&stream, 0, bytes, 0).map_err(|e| err(name, e))?;
    let mut f = File::open(file).map_err(|e| io_err(&what, e))?;
    let mut buf = vec![0u8; 1 << 18];
    loop {
        let n = f.read(&mut buf).map_err(|e| io_err(&what, e))?;
        if n == 0 {
            break;
        }
        let mut off = 0;
        while off < n {
            off += stream.send(&buf[off..n]).map_err(|e| err(name, e))?;
        }
    }
    stream.finish().map_err(|e| err(name, e))?;
    StorageVol::create_xml(pool, &volume_xml(&done, 0), 0).map_err(|e| err(&done, e))?;
    let path = vol.get_path().map_err(|e| err(name, e))?;
    Ok((PathBuf::from(path), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_names_are_content_addressed() {
        let n = volume_name(
            "ae1e2572",
            Path::new("/var/cache/coo-bench/images/ae/vmlinux"),
        );
        assert_eq!(n, "ae1e2572-vmlinux");
        let x = volume_xml(&n, 53_243_444);
        assert!(x.contains("<name>ae1e2572-vmlinux</name>"), "{x}");
        assert!(
            x.contains("<capacity unit='bytes'>53243444</capacity>"),
            "{x}"
        );
        let p = pool_xml();
        assert!(p.contains(POOL_DIR) && p.contains(POOL_NAME), "{p}");
    }
}
