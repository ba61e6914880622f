//! Scripting: Script and DriverManager, Click's small control language (`script`).

pub mod script;

pub use script::Script;

use crate::registry::Registry;

/// Register the scripting classes.
pub fn register(r: &mut Registry) {
    r.register("Script", || Box::new(Script::new(false)));
    r.register("DriverManager", || Box::new(Script::new(true)));
}
