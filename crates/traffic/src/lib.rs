//! traffic crate (under construction).
