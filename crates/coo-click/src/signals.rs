//! Process signals for Scripts of TYPE SIGNAL, delivered as Click's Master does: a script
//! registers for one signal at a time (again after `end`), the driver loop calls its `run`
//! handler, and a signal that no registration is waiting for, or whose handler failed, gets
//! its default action (Click resets it to SIG_DFL and raises it again).

use click::Router;
use signal_hook::SigId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The signals caught for the router's scripts.
#[derive(Debug, Default)]
pub struct Signals {
    caught: HashMap<i32, (Arc<AtomicBool>, SigId)>,
}

impl Signals {
    /// Whether any signal is caught (the driver then keeps its idle waits short).
    pub fn any(&self) -> bool {
        !self.caught.is_empty()
    }

    /// Catch the signals the router's scripts registered for and run the handlers of those
    /// that arrived. Returns whether a handler ran.
    pub fn service(&mut self, router: &mut Router) -> Result<bool, String> {
        for signo in router.signal_numbers() {
            if self.caught.contains_key(&signo) {
                continue;
            }
            let flag = Arc::new(AtomicBool::new(false));
            let id = signal_hook::flag::register(signo, flag.clone())
                .map_err(|e| format!("cannot catch signal {signo}: {e}"))?;
            self.caught.insert(signo, (flag, id));
        }
        let mut ran = false;
        for (&signo, (flag, _)) in &self.caught {
            if !flag.swap(false, Ordering::SeqCst) {
                continue;
            }
            let handlers = router.take_signal_handlers(signo);
            let mut handled = false;
            for h in &handlers {
                ran = true;
                handled |= router.write_handler(h, "").is_ok();
            }
            if !handled {
                // Nobody waits for this signal any more: the default action (termination
                // for the signals Script knows), as for an uncaught signal.
                signal_hook::low_level::emulate_default_handler(signo)
                    .map_err(|e| format!("signal {signo}: {e}"))?;
            }
        }
        Ok(ran)
    }
}
