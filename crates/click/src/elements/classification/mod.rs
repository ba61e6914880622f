//! Classification: Classifier (byte patterns), IPClassifier and IPFilter (tcpdump-like
//! expressions), in `classifier` (with its jump tables in `classifier/jumps.rs`), and the
//! decision-key fast paths they share (`words`).

pub mod classifier;
pub mod words;

pub use classifier::{register, Classifier, IpFilter};
