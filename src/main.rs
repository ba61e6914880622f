//! `coo-bench`: prototyping testbed for service function chains of Click network functions.

mod cmd;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "coo-bench", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 success, 1 runtime failure, 2 invalid input (see each command's --help and docs/exit-codes.md)."
)]
struct Cli {
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `coo_bench=debug`; overrides -v/-q.
    #[arg(long, global = true, env = "COO_BENCH_LOG")]
    log: Option<String>,
    /// More log output on stderr (-v info, -vv debug, -vvv trace; default: warnings).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    verbose: u8,
    /// Less log output on stderr (-q errors only, -qq none).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    quiet: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    // Each variant: one command; added only when it works.
    /// Check a topology (unified file or PyCOO directory); print its VNF/port/bridge table.
    #[command(after_help = cmd::exit_codes::VALIDATE)]
    Validate(cmd::validate::ValidateArgs),
    /// Graph of a topology (DOT, or SVG/PNG through Graphviz), links and Click ports labelled.
    #[command(after_help = cmd::exit_codes::GRAPH)]
    Graph(cmd::validate::GraphArgs),
    /// Convert a PyCOO directory (VNF/, SFC/, SCRIPT/) into a unified topology file.
    #[command(after_help = cmd::exit_codes::IMPORT_PYCOO)]
    ImportPycoo(cmd::validate::ImportPycooArgs),
    /// Guest image for the VM driver (`image build [--print-path]`).
    #[command(after_help = cmd::exit_codes::IMAGE)]
    Image(cmd::vm::ImageArgs),
    /// What this host can run: root, netns, bridges, KVM/TCG, libvirt, QEMU, guest image.
    #[command(after_help = cmd::exit_codes::DOCTOR)]
    Doctor(cmd::vm::DoctorArgs),
    /// Instantiate a topology as namespaces, bridges and agents; print its table.
    #[command(after_help = cmd::exit_codes::UP)]
    Up(cmd::testbed::UpArgs),
    /// Remove a testbed (run id, or topology id with one testbed) exactly as its ledger lists.
    #[command(after_help = cmd::exit_codes::DOWN)]
    Down(cmd::testbed::DownArgs),
    /// List testbeds: VNFs, interfaces, bridges, agents (alive?), REST endpoints.
    #[command(after_help = cmd::exit_codes::STATUS)]
    Status(cmd::testbed::StatusArgs),
    /// Remove every testbed's leftovers, also after a crash or SIGKILL.
    #[command(after_help = cmd::exit_codes::CLEAN)]
    Clean(cmd::testbed::CleanArgs),
    /// Run a PyCOO execution script task against VNF agents (`--endpoint VNF=EP` or `--run ID`).
    #[command(after_help = cmd::exit_codes::EXEC)]
    Exec(cmd::exec::ExecArgs),
    /// Control one VNF of a running testbed: start, stop, status, function [FILE], handler NAME [VALUE].
    Vnf(cmd::vnf::VnfArgs),
    /// Replace a VNF's function in a running testbed (checked first; PyCOO's modify, per VNF).
    Modify(cmd::vnf::ModifyArgs),
    /// Measure a topology: up → baseline + every variant (NDR/PDR, latency, per-NF counters) → report → down.
    #[command(after_help = cmd::exit_codes::RUN)]
    Run(cmd::run::RunArgs),
    /// Compare two reports: per-metric difference, confidence interval, verdict; CI gate.
    #[command(after_help = cmd::exit_codes::COMPARE)]
    Compare(cmd::compare::CompareArgs),
    /// A/A calibration: run a topology 2N times (or read reports), write per-metric noise thresholds.
    #[command(after_help = cmd::exit_codes::CALIBRATE)]
    Calibrate(cmd::calibrate::CalibrateArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    #[command(after_help = cmd::exit_codes::COMPLETIONS)]
    Completions(cmd::shell::CompletionsArgs),
    /// Write man pages (coo-bench.1 and one per command) into DIR.
    #[command(after_help = cmd::exit_codes::MAN)]
    Man(cmd::shell::ManArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = cli
        .log
        .clone()
        .unwrap_or_else(|| cmd::shell::log_level(cli.verbose, cli.quiet).to_string());
    cmd::progress::set_verbosity(cli.verbose, cli.quiet);
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(|| cmd::progress::LogWriter)
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
        Command::Completions(a) => cmd::shell::completions(a, &mut Cli::command()),
        Command::Man(a) => cmd::shell::man(a, Cli::command()),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
