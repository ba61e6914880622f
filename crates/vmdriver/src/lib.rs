//! vmdriver crate (under construction).
