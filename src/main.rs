//! `coo-bench`: prototyping testbed for service function chains of Click network functions.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "coo-bench", version, about, long_about = None)]
struct Cli {
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `coo_bench=debug`.
    #[arg(long, global = true, env = "COO_BENCH_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    // Each variant: one command; added only when it works.
    /// Check a topology (unified file or PyCOO directory); print its VNF/port/bridge table.
    Validate(cmd::validate::ValidateArgs),
    /// Graph of a topology (DOT, or SVG/PNG through Graphviz), links and Click ports labelled.
    Graph(cmd::validate::GraphArgs),
    /// Convert a PyCOO directory (VNF/, SFC/, SCRIPT/) into a unified topology file.
    ImportPycoo(cmd::validate::ImportPycooArgs),
    /// Guest image for the VM driver (`image build [--print-path]`).
    Image(cmd::vm::ImageArgs),
    /// What this host can run: root, netns, bridges, KVM/TCG, libvirt, QEMU, guest image.
    Doctor(cmd::vm::DoctorArgs),
    /// Instantiate a topology as namespaces, bridges and agents; print its table.
    Up(cmd::testbed::UpArgs),
    /// Remove a testbed (run id, or topology id with one testbed) exactly as its ledger lists.
    Down(cmd::testbed::DownArgs),
    /// List testbeds: VNFs, interfaces, bridges, agents (alive?), REST endpoints.
    Status(cmd::testbed::StatusArgs),
    /// Remove every testbed's leftovers, also after a crash or SIGKILL.
    Clean(cmd::testbed::CleanArgs),
    /// Run a PyCOO execution script task against VNF agents (`--endpoint VNF=EP` or `--run ID`).
    Exec(cmd::exec::ExecArgs),
    /// Control one VNF of a running testbed: start, stop, status, function [FILE], handler NAME [VALUE].
    Vnf(cmd::vnf::VnfArgs),
    /// Replace a VNF's function in a running testbed (checked first; PyCOO's modify, per VNF).
    Modify(cmd::vnf::ModifyArgs),
    /// Measure a topology: up → baseline + every variant (NDR/PDR, latency, per-NF counters) → report → down.
    Run(cmd::run::RunArgs),
    /// Compare two reports: per-metric difference, confidence interval, verdict; CI gate.
    Compare(cmd::compare::CompareArgs),
    /// A/A calibration: run a topology 2N times (or read reports), write per-metric noise thresholds.
    Calibrate(cmd::calibrate::CalibrateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log))
        .with_writer(std::io::stderr)
        .init();
    let result: anyhow::Result<ExitCode> = match cli.command {
        Command::Validate(a) => cmd::validate::validate(a),
        Command::Graph(a) => cmd::validate::graph(a),
        Command::ImportPycoo(a) => cmd::validate::import_pycoo(a),
        Command::Image(a) => cmd::vm::image(a),
        Command::Doctor(a) => cmd::vm::doctor(a),
        Command::Up(a) => cmd::testbed::up(a),
        Command::Down(a) => cmd::testbed::down(a),
        Command::Status(a) => cmd::testbed::status(a),
        Command::Clean(a) => cmd::testbed::clean(a),
        Command::Exec(a) => cmd::exec::exec(a),
        Command::Vnf(a) => cmd::vnf::vnf(a),
        Command::Modify(a) => cmd::vnf::modify(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Compare(a) => cmd::compare::compare(a),
        Command::Calibrate(a) => cmd::calibrate::calibrate(a),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
