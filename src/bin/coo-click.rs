//! `coo-click`: the Rust Click engine with a Click-compatible command line.
fn main() -> std::process::ExitCode {
    coo_click::main()
}
