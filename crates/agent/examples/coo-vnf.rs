//! The agent built from this crate alone (`cargo run -p agent --example coo-vnf -- ...`), for
//! development while the root package does not build; the installed binary is the root's.
fn main() -> std::process::ExitCode {
    agent::main()
}
