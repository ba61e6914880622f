//! click crate (under construction).
