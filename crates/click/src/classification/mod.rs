//! Packet classification as Click compiles it: byte patterns (Classifier) and
//! tcpdump-like IP patterns (IPFilter, IPClassifier) become one wordwise decision
//! program, which both classifies packets and is what the `program` handler prints.

pub mod byte_pattern;
pub mod ip_pattern;
pub mod wordwise;
