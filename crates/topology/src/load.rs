//! Reading a topology from disk: a unified JSON file, a PyCOO SFC file, or a PyCOO directory.

use std::path::{Path, PathBuf};

use crate::error::{ErrorKind, LoadError, LoadErrors, Warning, WarningKind};
use crate::locate::{closest, read_source, SourceText};
use crate::model::{SourceFormat, Topology};
use crate::raw::pycoo::{SfcDescriptor, VnfDescriptor};
use crate::raw::unified::{TopologyFile, TrafficRef};
use crate::spec::{FunctionRef, Spec, SpecConn, SpecPoint, SpecVnf, PYCOO_KEYS, UNIFIED_KEYS};
use crate::traffic::TrafficProfile;
use crate::validate::{validate, DEFAULT_MEMORY_MIB, DEFAULT_VCPUS};
use crate::{script, LoadOptions};

/// Function a PyCOO VNF runs when the execution script names none.
pub const DEFAULT_PYCOO_FUNCTION: &str = "forward.click";

fn errs(e: LoadError) -> LoadErrors {
    LoadErrors(vec![e])
}

fn absolute(path: &Path) -> Result<PathBuf, LoadErrors> {
    std::fs::canonicalize(path).map_err(|e| {
        errs(LoadError::new(
            ErrorKind::Io {
                path: path.to_owned(),
                message: e.to_string(),
            },
            None,
        ))
    })
}

pub(crate) fn load_path(path: &Path, opts: &LoadOptions) -> Result<Topology, LoadErrors> {
    let path = absolute(path)?;
    if path.is_dir() {
        if path.join("SFC").is_dir() {
            let sfc = pick_descriptor(&path.join("SFC"), "sfc.json")?.ok_or_else(|| {
                errs(LoadError::new(
                    ErrorKind::NotATopology { path: path.clone() },
                    None,
                ))
            })?;
            return load_pycoo(&path, &sfc, opts);
        }
        return Err(errs(LoadError::new(ErrorKind::NotATopology { path }, None)));
    }
    let src = read_source(&path).map_err(errs)?;
    if looks_like_pycoo_vnf(&src.text) {
        return load_pycoo_vnf(&path, &src, opts);
    }
    if looks_like_pycoo_sfc(&src.text) {
        let parent = path.parent().unwrap_or(Path::new("/"));
        let dir = if parent.file_name().is_some_and(|n| n == "SFC") {
            parent.parent().unwrap_or(parent)
        } else {
            parent
        };
        return load_pycoo(dir, &path, opts);
    }
    unified_from_source(src, opts)
}

/// PyCOO SFC descriptors have upper-case keys; the unified format has lower-case ones.
fn looks_like_pycoo_sfc(text: &str) -> bool {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => {
            map.contains_key("VNFS") || map.contains_key("CONNECTIONS") || map.contains_key("OPS")
        }
        _ => false,
    }
}

/// A PyCOO VNF descriptor (`VNF/<ID>.json`): `INTERFACES` and no SFC keys.
fn looks_like_pycoo_vnf(text: &str) -> bool {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => {
            map.contains_key("INTERFACES")
                && !map.contains_key("VNFS")
                && !map.contains_key("CONNECTIONS")
        }
        _ => false,
    }
}

/// A single VNF started from its descriptor, as PyCOO's `VNF.py` does with `INTERFACES`: its
/// data NICs on the bridges the descriptor names, in order. To give it traffic, the Incoming
/// Point `IP` sits on the first interface's bridge and Outgoing Point `OP<k>` on interface k's.
/// The SCRIPT directory next to `VNF/` (if any) names its function, as for an SFC.
fn load_pycoo_vnf(
    path: &Path,
    src: &SourceText,
    opts: &LoadOptions,
) -> Result<Topology, LoadErrors> {
    let vnf_dir = path.parent().unwrap_or(Path::new("/"));
    let dir = if vnf_dir.file_name().is_some_and(|n| n == "VNF") {
        vnf_dir.parent().unwrap_or(vnf_dir)
    } else {
        vnf_dir
    };
    let desc: VnfDescriptor = src.parse().map_err(errs)?;
    let id = desc.id.clone().unwrap_or_default();
    let interfaces = desc.interfaces.clone().unwrap_or_default();
    if id.is_empty() || interfaces.len() < 2 {
        let (field, reason) = if id.is_empty() {
            ("ID", "is missing or empty".to_owned())
        } else {
            (
                "INTERFACES",
                format!(
                    "has {} item(s); a VNF started alone needs two or more (traffic enters on the first and leaves on the others)",
                    interfaces.len()
                ),
            )
        };
        return Err(errs(LoadError::new(
            ErrorKind::PycooVnfInvalidField {
                vnf: id,
                field: field.to_owned(),
                reason,
            },
            Some(src.find_key(field, 0)),
        )));
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let link = |i: usize| interfaces[i].id.clone().unwrap_or_default();
    let mac = |i: usize| interfaces[i].mac.clone().unwrap_or_default();
    let mut connections = vec![serde_json::json!({"OLL": "IP", "ILL": id, "ILL_MAC": mac(0)})];
    let mut ops = Vec::new();
    for k in 1..interfaces.len() {
        let op = format!("OP{k}");
        ops.push(serde_json::json!({"ID": op, "LINK": link(k)}));
        connections.push(serde_json::json!({"OLL": id, "OLL_MAC": mac(k), "ILL": op}));
    }
    let sfc_json = serde_json::json!({
        "ID": id,
        "VNFS": [{"ID": id, "PATH": file_name}],
        "IP": {"ID": "IP", "LINK": link(0)},
        "OPS": ops,
        "CONNECTIONS": connections,
    });
    let text = serde_json::to_string_pretty(&sfc_json).unwrap_or_default();
    let sfc_src = SourceText::new(path, text);
    let sfc: SfcDescriptor = sfc_src.parse().map_err(errs)?;
    pycoo_from_parts(dir, sfc_src, sfc, opts)
}

/// The single `*.json` in `dir` (editor back-ups `*~` are skipped); `preferred` breaks ties.
fn pick_descriptor(dir: &Path, preferred: &str) -> Result<Option<PathBuf>, LoadErrors> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(None);
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
        .collect();
    found.sort();
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => {
            let pref = dir.join(preferred);
            if found.contains(&pref) {
                return Ok(Some(pref));
            }
            Err(errs(LoadError::new(
                ErrorKind::AmbiguousDescriptor {
                    dir: dir.to_owned(),
                    candidates: found
                        .iter()
                        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                        .collect(),
                },
                None,
            )))
        }
    }
}

/// Parses unified topology text; `file` gives the base directory for relative paths.
pub(crate) fn unified_from_text(
    text: &str,
    file: &Path,
    opts: &LoadOptions,
) -> Result<Topology, LoadErrors> {
    unified_from_source(SourceText::new(file, text), opts)
}

fn unified_from_source(src: SourceText, opts: &LoadOptions) -> Result<Topology, LoadErrors> {
    validate(unified_spec(src)?, opts)
}

/// Reads unified topology text into a [`Spec`] (nothing checked beyond the file's own syntax).
pub(crate) fn unified_spec(src: SourceText) -> Result<Spec, LoadErrors> {
    let file: TopologyFile = src.parse().map_err(errs)?;
    let base_dir = src.path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut errors = Vec::new();
    let (traffic, traffic_source) = match &file.traffic {
        None => (TrafficProfile::default(), None),
        Some(TrafficRef::Inline(profile)) => (profile.clone(), None),
        Some(TrafficRef::File(rel)) => {
            let path = base_dir.join(rel);
            match read_source(&path) {
                Err(mut e) => {
                    e.at = Some(src.find_pair("traffic", rel));
                    errors.push(e);
                    (TrafficProfile::default(), None)
                }
                Ok(tsrc) => match tsrc.parse::<TrafficProfile>() {
                    Ok(p) => (p, Some(tsrc)),
                    Err(e) => {
                        errors.push(e);
                        (TrafficProfile::default(), None)
                    }
                },
            }
        }
    };
    let ip_id = file.incoming.id.clone();
    let op_ids: Vec<&String> = file.outgoing.iter().map(|o| &o.id).collect();
    let point = |p: &crate::raw::unified::PointEntry| SpecPoint {
        id: Some(p.id.clone()),
        link: Some(p.link.clone().unwrap_or_else(|| p.id.clone())),
        bridge_mac: p.bridge_mac.clone(),
    };
    let connections = file
        .connections
        .iter()
        .map(|c| {
            // `"fw:1"`: VNF `fw`, Click port 1 (ids cannot contain `:`).
            let split = |end: &str| match end.split_once(':') {
                Some((id, port)) => (id.to_owned(), Some(port.to_owned())),
                None => (end.to_owned(), None),
            };
            let ((from, from_port), (to, to_port)) = (split(&c.from), split(&c.to));
            let endpoint = from == ip_id || op_ids.contains(&&to);
            let link = c
                .link
                .clone()
                .or_else(|| (!endpoint).then(|| format!("{from}-{to}")));
            SpecConn {
                from: Some(from),
                to: Some(to),
                from_port,
                to_port,
                link,
                from_mac: c.from_mac.clone(),
                to_mac: c.to_mac.clone(),
                bridge_mac: c.bridge_mac.clone(),
                impairment: c.impairment.clone(),
            }
        })
        .collect();
    let spec = Spec {
        format: SourceFormat::Unified,
        keys: UNIFIED_KEYS,
        source: src.path.clone(),
        base_dir,
        id: Some(file.id.clone()),
        driver: file.driver,
        hosts: file.hosts.clone(),
        vnfs: Some(
            file.vnfs
                .iter()
                .map(|v| SpecVnf {
                    id: Some(v.id.clone()),
                    function: FunctionRef::Relative(v.function.clone()),
                    engine: v.engine.clone(),
                    memory_mib: i64::from(v.memory_mib.unwrap_or(DEFAULT_MEMORY_MIB)),
                    vcpus: i64::from(v.vcpus.unwrap_or(DEFAULT_VCPUS)),
                    management_mac: v.management_mac.clone(),
                    image: v.image.clone(),
                    cpu_model: v.cpu_model.clone(),
                    engine_options: v.engine_options.clone().unwrap_or_default(),
                    host: v.host.clone(),
                    descriptor: None,
                })
                .collect(),
        ),
        ip: Some(point(&file.incoming)),
        ops: Some(file.outgoing.iter().map(point).collect()),
        connections: Some(connections),
        require_macs: false,
        variants: file.variants.clone(),
        traffic,
        traffic_source,
        benchmark: file.benchmark.clone().unwrap_or_default(),
        script: None,
        errors,
        warnings: Vec::new(),
        main: src,
    };
    Ok(spec)
}

/// Loads a PyCOO SFC descriptor with its VNF descriptors and execution script from `dir`.
fn load_pycoo(dir: &Path, sfc_path: &Path, opts: &LoadOptions) -> Result<Topology, LoadErrors> {
    let src = read_source(sfc_path).map_err(errs)?;
    let sfc: SfcDescriptor = src.parse().map_err(errs)?;
    pycoo_from_parts(dir, src, sfc, opts)
}

/// Parses PyCOO SFC text (VNF descriptors and script are read from `dir`).
pub(crate) fn pycoo_from_text(
    dir: &Path,
    sfc_file: &Path,
    text: &str,
    opts: &LoadOptions,
) -> Result<Topology, LoadErrors> {
    let src = SourceText::new(sfc_file, text);
    let sfc: SfcDescriptor = src.parse().map_err(errs)?;
    pycoo_from_parts(dir, src, sfc, opts)
}

fn pycoo_from_parts(
    dir: &Path,
    src: SourceText,
    sfc: SfcDescriptor,
    opts: &LoadOptions,
) -> Result<Topology, LoadErrors> {
    let mut errors = Vec::new();
    let mut warnings = unknown_key_warnings(&src, true);

    let script_file = match pick_descriptor(&dir.join("SCRIPT"), "sfcscript.json") {
        Ok(found) => found,
        Err(mut e) => {
            errors.append(&mut e.0);
            None
        }
    };
    let script = script_file.and_then(|path| match script::load(&path) {
        Ok(s) => {
            warnings.extend(s.warnings.iter().cloned());
            Some(s)
        }
        Err(mut e) => {
            errors.append(&mut e.0);
            None
        }
    });

    let sfc_dir = src.path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut vnfs = Vec::new();
    for entry in sfc.vnfs.iter().flatten() {
        let Some(id) = &entry.id else {
            vnfs.push(empty_vnf(None));
            continue;
        };
        let path = match &entry.path {
            Some(rel) => sfc_dir.join(rel),
            None => dir.join("VNF").join(format!("{id}.json")),
        };
        let mut vnf = empty_vnf(Some(id.clone()));
        vnf.function = pycoo_function(dir, id, script.as_ref(), opts);
        match read_descriptor(id, &path, &src, &mut errors) {
            Some((desc, dsrc)) => {
                warnings.extend(unknown_key_warnings(&dsrc, false));
                vnf.memory_mib = desc.memory.unwrap_or(0);
                vnf.vcpus = desc.vcpu.unwrap_or(0);
                vnf.management_mac = desc.management_mac.clone().filter(|m| !m.is_empty());
                vnf.image = pycoo_image(dir, id, &desc, &dsrc, opts, &mut errors);
                vnf.descriptor = Some(dsrc);
            }
            None => {
                // Keep the VNF so graph rules still see it; its own error is already recorded.
                vnf.memory_mib = i64::from(DEFAULT_MEMORY_MIB);
                vnf.vcpus = i64::from(DEFAULT_VCPUS);
            }
        }
        vnfs.push(vnf);
    }

    let point = |p: &crate::raw::pycoo::SfcPoint| SpecPoint {
        id: p.id.clone(),
        link: p.link.clone(),
        bridge_mac: p.link_mac.clone(),
    };
    let spec = Spec {
        format: SourceFormat::Pycoo,
        keys: PYCOO_KEYS,
        source: dir.to_owned(),
        base_dir: dir.to_owned(),
        id: sfc.id.clone(),
        driver: None,
        hosts: Vec::new(),
        vnfs: sfc.vnfs.as_ref().map(|_| vnfs),
        ip: sfc.ip.as_ref().map(point),
        ops: sfc.ops.as_ref().map(|ops| ops.iter().map(point).collect()),
        connections: sfc.connections.as_ref().map(|conns| {
            conns
                .iter()
                .map(|c| SpecConn {
                    from: c.oll.clone(),
                    to: c.ill.clone(),
                    from_port: None,
                    to_port: None,
                    link: c.link.clone(),
                    from_mac: c.oll_mac.clone(),
                    to_mac: c.ill_mac.clone(),
                    bridge_mac: c.link_mac.clone(),
                    impairment: None,
                })
                .collect()
        }),
        require_macs: true,
        variants: Vec::new(),
        traffic: TrafficProfile::default(),
        traffic_source: None,
        benchmark: Default::default(),
        script,
        errors,
        warnings,
        main: src,
    };
    validate(spec, opts)
}

/// One warning per key PyCOO would ignore in an SFC (`sfc`) or VNF descriptor, naming the
/// closest known key there.
fn unknown_key_warnings(src: &SourceText, sfc: bool) -> Vec<Warning> {
    crate::raw::pycoo::unknown_keys(&src.text, sfc)
        .into_iter()
        .map(|u| {
            let at = src.find_key(&u.key, 0);
            Warning::new(
                WarningKind::PycooUnknownKey {
                    suggestion: closest(&u.key, u.known.iter().copied()),
                    place: u.place,
                    key: u.key,
                },
                Some(at),
            )
        })
        .collect()
}

/// Replaces the spec's traffic profile by the one in `path` (a read error is recorded).
pub(crate) fn replace_traffic(spec: &mut Spec, path: &Path) {
    // Recorded in reports: absolute, so a report says which file it was.
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    match read_source(&path) {
        Err(e) => spec.errors.push(e),
        Ok(tsrc) => match tsrc.parse::<TrafficProfile>() {
            Ok(profile) => {
                spec.traffic = profile;
                spec.traffic_source = Some(tsrc);
            }
            Err(e) => spec.errors.push(e),
        },
    }
}

fn empty_vnf(id: Option<String>) -> SpecVnf {
    SpecVnf {
        id,
        function: FunctionRef::Relative(DEFAULT_PYCOO_FUNCTION.to_owned()),
        engine: None,
        memory_mib: 0,
        vcpus: 0,
        management_mac: None,
        image: None,
        cpu_model: None,
        engine_options: Default::default(),
        host: None,
        descriptor: None,
    }
}

/// The disk image a PyCOO/NIEP VNF boots, relative to the PyCOO directory, as PyCOO and NIEP
/// pick it: the VNF's own copy `IMAGES/<ID>/<disk>.qcow2` when it exists (PyCOO reuses an
/// existing image directory instead of copying again), else the shared `IMAGES/<disk>.qcow2`;
/// `<disk>` is NIEP's `DISK` or PyCOO's fixed `click-on-osv`. Without `DISK` the image is
/// used only when one of the files exists (else our own guest boots); a `DISK` that names
/// no file is an error (NIEP refuses to create that VM).
fn pycoo_image(
    dir: &Path,
    vnf: &str,
    desc: &VnfDescriptor,
    dsrc: &SourceText,
    opts: &LoadOptions,
    errors: &mut Vec<LoadError>,
) -> Option<String> {
    let disk = match desc.disk.as_deref() {
        Some("") => {
            errors.push(LoadError::new(
                ErrorKind::PycooVnfInvalidField {
                    vnf: vnf.to_owned(),
                    field: "DISK".to_owned(),
                    reason: "is empty (NIEP names an image of IMAGES/ without .qcow2)".to_owned(),
                },
                Some(dsrc.find_key("DISK", 0)),
            ));
            return None;
        }
        Some(disk) => disk,
        None => "click-on-osv",
    };
    let own = format!("IMAGES/{vnf}/{disk}.qcow2");
    let shared = format!("IMAGES/{disk}.qcow2");
    if let Some(found) = [&own, &shared]
        .into_iter()
        .find(|rel| dir.join(rel).is_file())
    {
        return Some(found.clone());
    }
    let named = desc.disk.as_deref()?;
    if !opts.check_files {
        return Some(shared);
    }
    errors.push(LoadError::new(
        ErrorKind::ImageMissing {
            vnf: vnf.to_owned(),
            path: dir.join(&shared),
        },
        Some(dsrc.find_pair("DISK", named)),
    ));
    None
}

/// Where a PyCOO VNF's function comes from: the script's `path`+`function` relative to the
/// PyCOO directory (PyCOO runs from there), else a built-in function of the same file name;
/// without a script entry, the built-in forwarder.
fn pycoo_function(
    dir: &Path,
    vnf: &str,
    script: Option<&script::Script>,
    opts: &LoadOptions,
) -> FunctionRef {
    let named = script.and_then(|s| s.entry(vnf)).and_then(|e| {
        let file = e.function_file()?;
        Some((file, e.function.clone()?))
    });
    let (shown, file_name, mut candidates) = match named {
        Some((file, name)) => (file.clone(), name, vec![dir.join(&file)]),
        None => (
            format!("{DEFAULT_PYCOO_FUNCTION} (default)"),
            DEFAULT_PYCOO_FUNCTION.to_owned(),
            Vec::new(),
        ),
    };
    for builtin in &opts.function_dirs {
        candidates.push(builtin.join(&file_name));
    }
    FunctionRef::Candidates { shown, candidates }
}

fn read_descriptor(
    id: &str,
    path: &Path,
    sfc: &SourceText,
    errors: &mut Vec<LoadError>,
) -> Option<(VnfDescriptor, SourceText)> {
    if !path.is_file() {
        errors.push(LoadError::new(
            ErrorKind::PycooVnfDescriptorMissing {
                vnf: id.to_owned(),
                path: path.to_owned(),
            },
            Some(sfc.find_pair("ID", id)),
        ));
        return None;
    }
    let dsrc = match read_source(path) {
        Ok(s) => s,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    let desc: VnfDescriptor = match dsrc.parse() {
        Ok(d) => d,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    let field_err = |field: &str, reason: &str| {
        LoadError::new(
            ErrorKind::PycooVnfInvalidField {
                vnf: id.to_owned(),
                field: field.to_owned(),
                reason: reason.to_owned(),
            },
            Some(dsrc.find_key(field, 0)),
        )
    };
    match desc.id.as_deref() {
        None | Some("") => errors.push(field_err("ID", "is missing or empty")),
        Some(found) if found != id => errors.push(LoadError::new(
            ErrorKind::VnfDescriptorIdMismatch {
                expected: id.to_owned(),
                found: found.to_owned(),
                path: path.to_owned(),
            },
            Some(dsrc.find_pair("ID", found)),
        )),
        Some(_) => {}
    }
    if desc.memory.is_none_or(|m| m <= 0) {
        errors.push(field_err("MEMORY", "must be a number of MiB > 0"));
    }
    if desc.vcpu.is_none_or(|v| v <= 0) {
        errors.push(field_err("VCPU", "must be a number > 0"));
    }
    if desc.management_mac.as_deref().is_none_or(str::is_empty) {
        errors.push(field_err("MANAGEMENT_MAC", "is missing or empty"));
    }
    for (index, iface) in desc.interfaces.iter().flatten().enumerate() {
        for (field, value) in [("ID", &iface.id), ("MAC", &iface.mac)] {
            if value.is_none() {
                errors.push(LoadError::new(
                    ErrorKind::PycooVnfInterfaceIncomplete {
                        vnf: id.to_owned(),
                        index,
                        field: field.to_owned(),
                    },
                    Some(dsrc.find_key("INTERFACES", 0)),
                ));
            }
        }
    }
    Some((desc, dsrc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A scratch copy of the PyCOO example directory (VNF/, SFC/, SCRIPT/; no IMAGES/).
    fn pycoo_copy() -> PathBuf {
        static N: AtomicUsize = AtomicUsize::new(0);
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/pycoo/ClickOnOSvManager");
        let dst = std::env::temp_dir().join(format!(
            "topology-image-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dst);
        for sub in ["VNF", "SFC", "SCRIPT"] {
            std::fs::create_dir_all(dst.join(sub)).unwrap();
            for e in std::fs::read_dir(src.join(sub)).unwrap() {
                let e = e.unwrap();
                std::fs::copy(e.path(), dst.join(sub).join(e.file_name())).unwrap();
            }
        }
        dst
    }

    fn touch(dir: &Path, rel: &str) -> PathBuf {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"QFI\xfb").unwrap();
        std::fs::canonicalize(p).unwrap()
    }

    /// Adds `"DISK": disk` to `VNF/<vnf>.json`.
    fn set_disk(dir: &Path, vnf: &str, disk: &str) {
        let p = dir.join("VNF").join(format!("{vnf}.json"));
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        v["DISK"] = disk.into();
        std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    }

    fn images(dir: &Path) -> Vec<(String, Option<PathBuf>)> {
        let topo = load_path(dir, &LoadOptions::default()).unwrap();
        topo.vnfs
            .iter()
            .map(|v| (v.id.to_string(), v.image.clone()))
            .collect()
    }

    #[test]
    fn pycoo_without_images_dir_boots_our_guest() {
        let dir = pycoo_copy();
        assert!(images(&dir).iter().all(|(_, i)| i.is_none()));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn pycoo_shared_image_and_per_vnf_copy() {
        let dir = pycoo_copy();
        let shared = touch(&dir, "IMAGES/click-on-osv.qcow2");
        for (_, image) in images(&dir) {
            assert_eq!(image.as_deref(), Some(shared.as_path()));
        }
        // PyCOO reuses an existing IMAGES/<ID>/ instead of copying the shared image again.
        let own = touch(&dir, "IMAGES/y/click-on-osv.qcow2");
        let found = images(&dir);
        assert_eq!(found[0].1.as_deref(), Some(shared.as_path()));
        assert_eq!(found[1], ("y".into(), Some(own)));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn niep_disk_names_an_image_of_images_dir() {
        let dir = pycoo_copy();
        touch(&dir, "IMAGES/click-on-osv.qcow2");
        let tiny = touch(&dir, "IMAGES/tinycore12.qcow2");
        set_disk(&dir, "x", "tinycore12");
        let found = images(&dir);
        assert_eq!(found[0].1.as_deref(), Some(tiny.as_path()));
        assert!(found[1]
            .1
            .as_ref()
            .is_some_and(|p| p.ends_with("click-on-osv.qcow2")));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn niep_disk_without_its_file_is_named_in_the_descriptor() {
        let dir = pycoo_copy();
        set_disk(&dir, "z", "click-on-osv");
        let errors = load_path(&dir, &LoadOptions::default()).unwrap_err();
        let e = errors
            .iter()
            .find(|e| e.rule() == "image-missing")
            .unwrap_or_else(|| panic!("{errors}"));
        assert!(e.to_string().contains("IMAGES/click-on-osv.qcow2"), "{e}");
        let at = e.at.as_ref().unwrap();
        assert!(at.file.ends_with("VNF/z.json") && at.line > 0, "{at}");
        // Parser fuzzing does not look at files: the named path is kept.
        let opts = LoadOptions {
            check_files: false,
            ..LoadOptions::default()
        };
        let topo = load_path(&dir, &opts).unwrap();
        assert!(topo.vnfs[2]
            .image
            .as_ref()
            .unwrap()
            .ends_with("IMAGES/click-on-osv.qcow2"));
        set_disk(&dir, "z", "");
        let errors = load_path(&dir, &LoadOptions::default()).unwrap_err();
        assert!(
            errors.iter().any(|e| e.to_string().contains("DISK")),
            "{errors}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn imported_pycoo_keeps_the_image() {
        let dir = pycoo_copy();
        touch(&dir, "IMAGES/click-on-osv.qcow2");
        let topo = load_path(&dir, &LoadOptions::default()).unwrap();
        let out = dir.join("out");
        std::fs::create_dir_all(&out).unwrap();
        let file = crate::export::to_unified(&topo, &out);
        assert_eq!(
            file.vnfs[0].image.as_deref(),
            Some("../IMAGES/click-on-osv.qcow2")
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
