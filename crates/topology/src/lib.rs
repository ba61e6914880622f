//! topology crate (under construction).
