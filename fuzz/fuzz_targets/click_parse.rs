//! Fuzz the Click language parser and element configuration: any text must give a router or
//! a ConfigError, never a panic; a router that builds runs a bounded number of rounds.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let reg = click::Registry::standard();
    let _ = click::Router::flatten(text, "fuzz", &reg, &[]);
    let opts = click::RouterOptions {
        clock: Box::new(click::SimClock::default()),
        env: Box::new(click::MemEnv::default()),
        defines: Vec::new(),
    };
    if let Ok(mut r) = click::Router::with_options(text, "fuzz", &reg, opts) {
        r.run_to_completion(200);
        for name in r.element_names().to_vec() {
            let _ = r.read_handler(&format!("{name}.config"));
        }
    }
});
