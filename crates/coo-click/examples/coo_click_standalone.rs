//! The `coo-click` command line built from this crate alone (same as the root package's
//! `coo-click` binary); handy for `cargo build --release -p coo-click --example
//! coo_click_standalone` while other workspace crates are mid-edit.
fn main() -> std::process::ExitCode {
    coo_click::main()
}
