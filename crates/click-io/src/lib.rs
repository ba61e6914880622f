//! click-io crate (under construction).
