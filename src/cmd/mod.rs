//! One module per command area; each exposes clap `Args` and a function returning an exit code.
pub mod calibrate;
pub mod compare;
pub mod exec;
pub mod exit_codes;
pub mod functions;
pub mod progress;
pub mod run;
pub mod shell;
pub mod testbed;
pub mod validate;
pub mod vm;
pub mod vnf;
