//! measure crate (under construction).
