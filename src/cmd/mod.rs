//! One module per command area; each exposes clap `Args` and a function returning an exit code.
pub mod vm;
pub mod validate;
pub mod testbed;
pub mod exec;
pub mod run;
pub mod compare;
