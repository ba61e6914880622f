//! Classification: Classifier (byte patterns), IPClassifier and IPFilter (tcpdump-like
//! expressions), in `classifier`, on the pattern languages and compiled programs of
//! `crate::classification`; `oracle` is the direct evaluator the tests check them against.

pub mod classifier;
#[cfg(test)]
mod oracle;

pub use classifier::{register, Classifier, IpFilter};
