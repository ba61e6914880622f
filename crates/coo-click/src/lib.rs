//! The `coo-click` command line (Click-compatible); the binary is `src/bin/coo-click.rs` of the root package.

use std::process::ExitCode;

/// Entry point of the `coo-click` binary.
pub fn main() -> ExitCode {
    eprintln!("coo-click: under construction");
    ExitCode::from(1)
}
