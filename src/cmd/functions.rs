//! The Click functions of a validated topology, checked before anything runs (`validate`,
//! and `run`/`up`, which validate first). The rules themselves are pure and live in
//! `topology::function`; this module does their I/O: it reads each function file, gives
//! coo-click's element classes (the standard ones plus click-io's device classes, as
//! coo-click registers them), and asks any other Click-compatible engine's binary with a dry
//! run (`BINARY -q FILE` on the configuration the agent would give it).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use topology::function::{self, Findings, FunctionUse};
use topology::{EngineSpec, ErrorKind, LoadError, Location, Topology, Warning, WarningKind};

/// A dry run that takes longer than this is abandoned (it should take milliseconds).
const DRY_RUN_TIMEOUT: Duration = Duration::from_secs(10);

/// Checks every function of `topo` for the engine that runs it, under every variant.
pub fn check(topo: &Topology) -> Findings {
    let mut findings = Findings::default();
    for usage in function::function_uses(topo) {
        let text = match std::fs::read_to_string(&usage.function) {
            Ok(text) => text,
            Err(e) => {
                findings.errors.push(LoadError::new(
                    ErrorKind::Io {
                        path: usage.function.clone(),
                        message: e.to_string(),
                    },
                    None,
                ));
                continue;
            }
        };
        let registry = coo_click_registry(usage.interfaces.len());
        let pure = function::check_text(&text, &usage, &registry);
        let sound = pure.errors.is_empty();
        findings.extend(pure);
        // Another engine judges classes, configurations and push/pull itself; its dry run only
        // makes sense once the language and the ports are right.
        if usage.engine != EngineSpec::CooClick && sound {
            match engine_binary(&usage.engine) {
                Ok(binary) => match dry_run(&binary, &text, &usage) {
                    Ok(errors) => findings.errors.extend(errors),
                    Err(reason) => findings.warnings.push(unchecked(&usage, reason)),
                },
                Err(reason) => findings.warnings.push(unchecked(&usage, reason)),
            }
        }
    }
    findings
}

fn unchecked(usage: &FunctionUse, reason: String) -> Warning {
    Warning::new(
        WarningKind::ClickEngineUnchecked {
            what: usage.what.clone(),
            engine: usage.engine.to_string(),
            reason,
        },
        Some(Location {
            file: usage.function.clone(),
            line: 0,
            column: 0,
        }),
    )
}

/// Stand-in interface names for the ports: only their count matters before the testbed exists.
fn placeholder_interfaces(ports: usize) -> Vec<String> {
    (0..ports).map(|p| format!("coo-port{p}")).collect()
}

/// coo-click's classes for a VNF with `ports` data interfaces (as `coo-click --ports` sets up).
fn coo_click_registry(ports: usize) -> click::Registry {
    let mut registry = click::Registry::standard();
    let ports = placeholder_interfaces(ports)
        .iter()
        .filter_map(|name| click_io::IfName::new(name).ok())
        .collect();
    click_io::register_elements(
        &mut registry,
        &click_io::IoOptions {
            ports,
            ..Default::default()
        },
    );
    registry
}

/// The binary of a reference or external engine, or why there is none to ask.
fn engine_binary(engine: &EngineSpec) -> Result<PathBuf, String> {
    match engine {
        EngineSpec::ReferenceClick => match std::env::var_os("COO_BENCH_REFERENCE_CLICK") {
            None => Err("COO_BENCH_REFERENCE_CLICK is not set, so the reference Click binary is not available".into()),
            Some(p) if !Path::new(&p).is_file() => Err(format!(
                "COO_BENCH_REFERENCE_CLICK={} is not a file",
                Path::new(&p).display()
            )),
            Some(p) => Ok(PathBuf::from(p)),
        },
        EngineSpec::FastClick => match std::env::var_os("COO_BENCH_FASTCLICK") {
            None => Err("COO_BENCH_FASTCLICK is not set, so the FastClick binary is not available".into()),
            Some(p) if !Path::new(&p).is_file() => Err(format!(
                "COO_BENCH_FASTCLICK={} is not a file",
                Path::new(&p).display()
            )),
            Some(p) => Ok(PathBuf::from(p)),
        },
        EngineSpec::External(p) if p.is_file() => Ok(p.clone()),
        EngineSpec::External(p) => Err(format!("{} does not exist", p.display())),
        EngineSpec::CooClick | EngineSpec::KernelForward => {
            Err("this engine has no binary to ask".into())
        }
    }
}

/// Removes a FastClick check's EAL runtime directory when dropped.
struct EalDir(Option<String>);

impl Drop for EalDir {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            agent::fastclick::remove_runtime_prefix(p);
        }
    }
}

fn scopeguard_remove(prefix: Option<String>) -> EalDir {
    EalDir(prefix)
}

/// Runs `binary -q FILE` on the configuration the agent would give the engine (DPDK devices
/// rewritten to FromDevice/ToDevice; unchanged for FastClick, whose DPDK devices then fail
/// only at initialization, which is ignored) and maps its complaints to the function's lines.
fn dry_run(binary: &Path, text: &str, usage: &FunctionUse) -> Result<Vec<LoadError>, String> {
    let interfaces = placeholder_interfaces(usage.interfaces.len());
    let rewritten = if usage.engine == EngineSpec::FastClick {
        // FastClick runs the function unchanged (null devices stand for the interfaces).
        text.to_owned()
    } else {
        agent::rewrite::rewrite_dpdk(text, &interfaces)
            .map_err(|e| format!("the DPDK rewrite failed: {e}"))?
    };
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let file = dir.path().join("function.click");
    std::fs::write(&file, rewritten).map_err(|e| format!("{}: {e}", file.display()))?;
    let fastclick = usage.engine == EngineSpec::FastClick;
    let prefix = format!("{}check-{}", agent::fastclick::PREFIX, std::process::id());
    let eal = if fastclick {
        agent::fastclick::check_args(usage.interfaces.len(), &prefix)
    } else {
        Vec::new()
    };
    let _eal_dir = scopeguard_remove(fastclick.then(|| prefix.clone()));
    let mut child = Command::new(binary)
        .args(&eal)
        .arg("-q")
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let mut stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_string(&mut out);
        }
        out
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > DRY_RUN_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} -q did not finish within {DRY_RUN_TIMEOUT:?}",
                    binary.display()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("waiting for {}: {e}", binary.display())),
        }
    };
    let output = reader.join().unwrap_or_default();
    let errors = function::engine_output(&output, &file.display().to_string(), text, usage);
    if errors.is_empty() && !status.success() && !output.contains("While initializing") {
        return Err(format!(
            "{} -q exited with {status} without a Click error: {}",
            binary.display(),
            output.trim()
        ));
    }
    Ok(errors)
}
