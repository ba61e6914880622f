//! The `coo-vnf` agent (COO REST API); the binary is `src/bin/coo-vnf.rs` of the root package.

use std::process::ExitCode;

/// Entry point of the `coo-vnf` binary.
pub fn main() -> ExitCode {
    eprintln!("coo-vnf: under construction");
    ExitCode::from(1)
}
