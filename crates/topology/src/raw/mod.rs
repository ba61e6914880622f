//! Strict serde layer: the file formats exactly as written, before validation.

pub mod pycoo;
pub mod unified;
