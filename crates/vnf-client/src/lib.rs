//! vnf-client crate (under construction).
