//! Element class registry: class name → factory.

use crate::element::Element;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Creates a fresh, unconfigured element.
pub type Factory = Arc<dyn Fn() -> Box<dyn Element> + Send + Sync>;

/// Element classes known to a router. [`Registry::standard`] has every built-in class; other
/// crates add theirs with [`Registry::register`] (e.g. FromDevice/ToDevice in click-io).
#[derive(Clone, Default)]
pub struct Registry {
    classes: BTreeMap<String, Factory>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("classes", &self.classes.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }
    /// All built-in element classes.
    pub fn standard() -> Self {
        let mut r = Registry::new();
        crate::elements::register_all(&mut r);
        r
    }
    /// Add or replace a class.
    pub fn register(
        &mut self,
        class: &str,
        factory: impl Fn() -> Box<dyn Element> + Send + Sync + 'static,
    ) {
        self.classes.insert(class.to_string(), Arc::new(factory));
    }
    /// Is `class` known?
    pub fn contains(&self, class: &str) -> bool {
        self.classes.contains_key(class)
    }
    /// Instantiate `class`.
    pub fn create(&self, class: &str) -> Option<Box<dyn Element>> {
        self.classes.get(class).map(|f| f())
    }
    /// Class names, sorted.
    pub fn class_names(&self) -> Vec<String> {
        self.classes.keys().cloned().collect()
    }
    /// Up to three known classes close to `name` (for "unknown class" errors).
    pub fn suggestions(&self, name: &str) -> Vec<String> {
        let lname = name.to_lowercase();
        let mut v: Vec<(f64, &String)> = self
            .classes
            .keys()
            .map(|k| (strsim::jaro_winkler(&lname, &k.to_lowercase()), k))
            .filter(|(s, _)| *s > 0.85)
            .collect();
        v.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
        v.into_iter().take(3).map(|(_, k)| k.clone()).collect()
    }
}
