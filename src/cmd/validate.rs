//! `validate`, `graph`, `import-pycoo`: the topology commands.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use topology::{names, LoadErrors, Topology, Warning};

/// Exit code for invalid input (topology, descriptor, arguments).
const INVALID: u8 = 2;

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Unified topology file, PyCOO SFC file, or PyCOO directory (VNF/, SFC/, SCRIPT/).
    pub path: PathBuf,
    /// Print the result as JSON on stdout (the validated model, or the list of errors).
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct GraphArgs {
    /// Unified topology file, PyCOO SFC file, or PyCOO directory.
    pub path: PathBuf,
    /// Write the DOT text here instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Print only JSON on stdout: `{path, links, dot}` (errors as `validate --json`).
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ImportPycooArgs {
    /// PyCOO directory (VNF/, SFC/, SCRIPT/) or its SFC descriptor.
    pub dir: PathBuf,
    /// Unified topology file to write (paths inside are made relative to it).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,
    /// Print only JSON on stdout: `{output, vnfs, links, script}` (errors as `validate --json`).
    #[arg(long)]
    pub json: bool,
}

fn report_errors(path: &Path, errors: &LoadErrors, json: bool) -> ExitCode {
    report_invalid(path, errors, &[], json)
}

fn report_invalid(path: &Path, errors: &LoadErrors, warnings: &[Warning], json: bool) -> ExitCode {
    if json {
        let doc = serde_json::json!({
            "valid": false, "path": path, "errors": errors, "warnings": warnings,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        for w in warnings {
            eprintln!("{w}");
        }
        eprintln!("{errors}");
        eprintln!(
            "{}: invalid topology ({} error{})",
            path.display(),
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        );
    }
    ExitCode::from(INVALID)
}

/// A topology that passed every rule, with the warnings found on the way.
pub struct Checked {
    pub topology: Topology,
    pub warnings: Vec<Warning>,
}

/// Loads `path` and checks its Click functions (`validate`, and `run`/`up` before they create
/// anything). On errors prints them as `validate` does (JSON on stdout with `json`) and
/// returns the exit code; warnings of a valid topology are left to the caller.
pub fn load_checked(path: &Path, json: bool) -> Result<Checked, ExitCode> {
    let topology = topology::load(path).map_err(|errors| report_errors(path, &errors, json))?;
    let findings = crate::cmd::functions::check(&topology);
    if !findings.errors.is_empty() {
        let errors = LoadErrors(findings.errors);
        return Err(report_invalid(path, &errors, &findings.warnings, json));
    }
    Ok(Checked {
        topology,
        warnings: findings.warnings,
    })
}

/// Prints warnings on stderr (`file:line:column: warning[rule]: message`).
pub fn print_warnings(warnings: &[Warning]) {
    for w in warnings {
        eprintln!("{w}");
    }
}

/// `coo-bench validate PATH [--json]`: 0 valid (prints the port table), 2 invalid.
pub fn validate(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let checked = match load_checked(&args.path, args.json) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    if args.json {
        let doc = serde_json::json!({
            "valid": true, "topology": checked.topology, "warnings": checked.warnings,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print_warnings(&checked.warnings);
        print!("{}", port_table(&checked.topology));
    }
    Ok(ExitCode::SUCCESS)
}

/// `coo-bench graph PATH`: Graphviz DOT with links and Click ports labelled.
pub fn graph(args: GraphArgs) -> anyhow::Result<ExitCode> {
    let topo = match topology::load(&args.path) {
        Ok(t) => t,
        Err(errors) => return Ok(report_errors(&args.path, &errors, args.json)),
    };
    let dot = topology::graph::to_dot(&topo);
    match &args.output {
        Some(out) => {
            std::fs::write(out, &dot).with_context(|| format!("writing {}", out.display()))?
        }
        None if !args.json => print!("{dot}"),
        None => {}
    }
    if args.json {
        let doc = serde_json::json!({ "path": args.path, "links": topo.links, "dot": dot });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    }
    Ok(ExitCode::SUCCESS)
}

/// `coo-bench import-pycoo DIR -o FILE`: the equivalent unified topology.
pub fn import_pycoo(args: ImportPycooArgs) -> anyhow::Result<ExitCode> {
    let topo = match topology::load(&args.dir) {
        Ok(t) => t,
        Err(errors) => return Ok(report_errors(&args.dir, &errors, args.json)),
    };
    if topo.format != topology::SourceFormat::Pycoo {
        eprintln!(
            "{}: not a PyCOO directory or SFC descriptor",
            args.dir.display()
        );
        return Ok(ExitCode::from(INVALID));
    }
    if args.output.exists() && !args.force {
        eprintln!(
            "{} exists (use --force to overwrite)",
            args.output.display()
        );
        return Ok(ExitCode::from(INVALID));
    }
    let parent = match args.output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let out_dir = std::fs::canonicalize(&parent)
        .with_context(|| format!("output directory {}", parent.display()))?;
    let text = topology::export::to_unified_json(&topo, &out_dir);
    std::fs::write(&args.output, &text)
        .with_context(|| format!("writing {}", args.output.display()))?;
    // The written file must load back to the same chain; anything else is our bug.
    let back = topology::load(&args.output)
        .map_err(|e| anyhow::anyhow!("the written file does not validate:\n{e}"))?;
    anyhow::ensure!(
        back.links == topo.links && back.vnfs.len() == topo.vnfs.len(),
        "the written file describes a different chain"
    );
    if args.json {
        let summary = serde_json::json!({
            "output": args.output.display().to_string(),
            "vnfs": topo.vnfs.len(),
            "links": topo.links.len(),
            "script": topo.script.is_some(),
        });
        println!("{summary}");
    }
    eprintln!(
        "wrote {} ({} VNFs, {} links){}",
        args.output.display(),
        topo.vnfs.len(),
        topo.links.len(),
        if topo.script.is_some() {
            "; the execution script is not part of the unified file: run it with `coo-bench exec`"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn shown_path(path: &Path, base: &Path) -> String {
    match path.strip_prefix(base) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => path.display().to_string(),
    }
}

fn render(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ", w = widths[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The derived VNF / interface / Click port / bridge table.
pub fn port_table(topo: &Topology) -> String {
    let prefix = names::EXAMPLE_PREFIX;
    let kind = match topo.format {
        topology::SourceFormat::Unified => "topology file",
        topology::SourceFormat::Pycoo => "PyCOO directory",
    };
    let mut out = format!(
        "{}: valid ({kind} {}): {} VNFs, {} links, {} variant{}\n\n",
        topo.id,
        topo.source.display(),
        topo.vnfs.len(),
        topo.links.len(),
        topo.variants.len(),
        if topo.variants.len() == 1 { "" } else { "s" },
    );
    let mut rows = vec![vec![
        "VNF".to_owned(),
        "PORT".to_owned(),
        "DIR".to_owned(),
        "LINK".to_owned(),
        "BRIDGE".to_owned(),
        "INTERFACE".to_owned(),
        "PEER".to_owned(),
        "MAC".to_owned(),
    ]];
    for vnf in &topo.vnfs {
        for iface in &vnf.interfaces {
            rows.push(vec![
                vnf.id.to_string(),
                format!("FromDPDKDevice({})", iface.port),
                iface.direction.to_string(),
                iface.link.to_string(),
                names::bridge_name(prefix, &iface.link),
                names::interface_name(prefix, &vnf.id, iface.port),
                iface.peer.to_string(),
                iface
                    .mac
                    .map_or_else(|| "(generated)".to_owned(), |m| m.to_string()),
            ]);
        }
    }
    out.push_str(&render(&rows));
    out.push('\n');
    let mut rows = vec![vec![
        "VNF".to_owned(),
        "ENGINE".to_owned(),
        "MEMORY".to_owned(),
        "VCPUS".to_owned(),
        "MANAGEMENT MAC".to_owned(),
        "FUNCTION".to_owned(),
    ]];
    for vnf in &topo.vnfs {
        rows.push(vec![
            vnf.id.to_string(),
            vnf.engine.to_string(),
            format!("{} MiB", vnf.memory_mib),
            vnf.vcpus.to_string(),
            vnf.management_mac
                .map_or_else(|| "-".to_owned(), |m| m.to_string()),
            shown_path(&vnf.function, &topo.base_dir),
        ]);
    }
    out.push_str(&render(&rows));
    out.push('\n');
    let _ = writeln!(
        out,
        "incoming point {} on link {} ({}); outgoing point{} {}",
        topo.incoming.id,
        topo.incoming.link,
        names::bridge_name(prefix, &topo.incoming.link),
        if topo.outgoing.len() == 1 { "" } else { "s" },
        topo.outgoing
            .iter()
            .map(|o| format!(
                "{} on link {} ({})",
                o.id,
                o.link,
                names::bridge_name(prefix, &o.link)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for link in topo.links.iter().filter(|l| l.impairment.is_some()) {
        if let Some(imp) = &link.impairment {
            let _ = writeln!(
                out,
                "link {} impaired: delay {} us, jitter {} us, loss {} %, rate {}",
                link.name,
                imp.delay_us,
                imp.jitter_us,
                imp.loss_pct,
                imp.rate_mbit
                    .map_or_else(|| "unlimited".to_owned(), |r| format!("{r} Mbit/s"))
            );
        }
    }
    for variant in &topo.variants {
        let overrides: Vec<String> = variant
            .vnfs
            .iter()
            .map(|(id, o)| {
                let mut parts = Vec::new();
                if let Some(e) = &o.engine {
                    parts.push(format!("engine {e}"));
                }
                if let Some(f) = &o.function {
                    parts.push(format!("function {}", shown_path(f, &topo.base_dir)));
                }
                format!("{id}: {}", parts.join(", "))
            })
            .collect();
        let _ = writeln!(
            out,
            "variant {}{}",
            variant.name,
            if overrides.is_empty() {
                String::new()
            } else {
                format!(" ({})", overrides.join("; "))
            }
        );
    }
    if let Some(script) = &topo.script {
        let _ = writeln!(
            out,
            "execution script tasks: {}",
            script.task_names().join(", ")
        );
    }
    let _ = writeln!(
        out,
        "names shown with the placeholder run prefix {prefix}; Click port N is FromDPDKDevice(N)/ToDPDKDevice(N)"
    );
    out
}
