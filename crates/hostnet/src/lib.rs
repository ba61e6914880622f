//! hostnet crate (under construction).
