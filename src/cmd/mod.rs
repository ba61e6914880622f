//! One module per command area; each exposes clap `Args` and a function returning an exit code.
