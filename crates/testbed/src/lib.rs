//! testbed crate (under construction).
