//! `completions SHELL` and `man DIR`: generated from the clap definitions, so they cannot drift
//! from the real command line; and the `-v`/`-q` → log level mapping.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use clap_complete::Shell;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// Shell to generate for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory for the pages (created if missing), e.g. /usr/local/share/man/man1.
    pub dir: PathBuf,
    /// Print the written paths as a JSON array on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The tracing filter for `-v`/`-q` counts (default: warnings).
pub fn log_level(verbose: u8, quiet: u8) -> &'static str {
    match (verbose, quiet) {
        (0, 0) => "warn",
        (0, 1) => "error",
        (0, _) => "off",
        (1, _) => "info",
        (2, _) => "debug",
        _ => "trace",
    }
}

/// `coo-bench completions SHELL`
pub fn completions(args: CompletionsArgs, cmd: &mut clap::Command) -> anyhow::Result<ExitCode> {
    let name = cmd.get_name().to_string();
    clap_complete::generate(args.shell, cmd, name, &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

/// `coo-bench man DIR`: `coo-bench.1` plus `coo-bench-<command>.1` for every command.
pub fn man(args: ManArgs, cmd: clap::Command) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.dir).with_context(|| format!("create {}", args.dir.display()))?;
    let mut written = Vec::new();
    let mut write = |name: String, page: clap::Command| -> anyhow::Result<()> {
        let path = args.dir.join(format!("{name}.1"));
        let mut buf = Vec::new();
        clap_mangen::Man::new(page)
            .render(&mut buf)
            .with_context(|| format!("render {name}"))?;
        std::fs::write(&path, buf).with_context(|| format!("write {}", path.display()))?;
        written.push(path);
        Ok(())
    };
    let cmd = cmd.version(env!("CARGO_PKG_VERSION"));
    let top = cmd.get_name().to_string();
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        // `coo-bench-run(1)`: the page's name says which program it documents.
        let name = format!("{top}-{}", sub.get_name());
        write(name.clone(), sub.clone().name(name))?;
    }
    write(top, cmd)?;
    if args.json {
        let paths: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        println!("{}", serde_json::to_string(&paths)?);
    } else {
        for p in &written {
            eprintln!("wrote {}", p.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::log_level;

    #[test]
    fn verbosity_maps_onto_levels() {
        assert_eq!(log_level(0, 0), "warn");
        assert_eq!(log_level(0, 1), "error");
        assert_eq!(log_level(0, 2), "off");
        assert_eq!(log_level(1, 0), "info");
        assert_eq!(log_level(2, 0), "debug");
        assert_eq!(log_level(5, 0), "trace");
    }
}
