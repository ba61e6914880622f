//! `coo-vnf`: the VNF agent speaking the Click-On-OSv REST API.
fn main() -> std::process::ExitCode {
    agent::main()
}
