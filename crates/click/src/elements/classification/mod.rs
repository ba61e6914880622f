//! Classification: Classifier (byte patterns), IPClassifier and IPFilter (tcpdump-like
//! expressions), in `classifier`.

pub mod classifier;

pub use classifier::{register, Classifier, IpFilter};
