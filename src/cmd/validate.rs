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
    /// Write the graph here instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// `dot` (Graphviz text), or `svg`/`png` rendered by Graphviz's `dot` when it is installed
    /// (else the DOT text, with a note).
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
    /// Print only JSON on stdout: `{path, links, dot}` (errors as `validate --json`).
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    Svg,
    Png,
}

/// `dot -T<format>` on `dot_text`; None when Graphviz is not installed.
fn render_graphviz(dot_text: &str, format: &str) -> anyhow::Result<Option<Vec<u8>>> {
    use std::io::Write;
    let child = std::process::Command::new("dot")
        .arg(format!("-T{format}"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).context("running Graphviz `dot`"),
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(dot_text.as_bytes())
            .context("writing to Graphviz `dot`")?;
    }
    let out = child.wait_with_output().context("Graphviz `dot`")?;
    if !out.status.success() {
        anyhow::bail!(
            "Graphviz `dot -T{format}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(Some(out.stdout))
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
    load_checked_with(path, json, &topology::LoadOptions::default())
}

/// [`load_checked`] with loading options (e.g. a traffic profile that replaces the topology's).
pub fn load_checked_with(
    path: &Path,
    json: bool,
    opts: &topology::LoadOptions,
) -> Result<Checked, ExitCode> {
    let topology =
        topology::load_with(path, opts).map_err(|errors| report_errors(path, &errors, json))?;
    let findings = crate::cmd::functions::check(&topology);
    let mut warnings = topology.warnings.clone();
    warnings.extend(findings.warnings);
    if !findings.errors.is_empty() {
        let errors = LoadErrors(findings.errors);
        return Err(report_invalid(path, &errors, &warnings, json));
    }
    Ok(Checked { topology, warnings })
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
    let format = match args.format {
        GraphFormat::Dot => None,
        GraphFormat::Svg => Some("svg"),
        GraphFormat::Png => Some("png"),
    };
    let (bytes, output) = match format {
        None => (dot.into_bytes(), args.output.clone()),
        Some(f) => match render_graphviz(&dot, f)? {
            Some(bytes) => (bytes, args.output.clone()),
            None => {
                // Without Graphviz: the DOT text, never a file named .svg holding DOT.
                let output = args.output.as_ref().map(|o| o.with_extension("dot"));
                eprintln!(
                    "note: Graphviz `dot` is not installed (scripts/setup.sh installs it): writing DOT{}",
                    output
                        .as_ref()
                        .map(|o| format!(" to {}", o.display()))
                        .unwrap_or_default()
                );
                (dot.into_bytes(), output)
            }
        },
    };
    match &output {
        Some(out) => {
            std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?
        }
        None if args.json => {}
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(&bytes)
                .context("writing to stdout")?;
        }
    }
    if args.json {
        let dot = topology::graph::to_dot(&topo);
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
