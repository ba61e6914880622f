//! What a ControlSocket needs from the router it serves.

/// Capabilities of one handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HandlerInfo {
    pub readable: bool,
    pub writable: bool,
}

/// A failed handler call: Click-style error messages (one per line in the reply), and
/// optionally a specific ControlSocket code (e.g. 530) instead of the default 520/590.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HandlerFailure {
    pub code: Option<u16>,
    pub messages: Vec<String>,
}

impl HandlerFailure {
    /// A failure with one message and the default code.
    pub fn msg(m: impl Into<String>) -> Self {
        HandlerFailure {
            code: None,
            messages: vec![m.into()],
        }
    }
}

/// Result of a successful write: warnings turn the reply into `220 ... OK with warnings`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriteOutcome {
    pub warnings: Vec<String>,
}

/// The router side of a ControlSocket. `element` is `None` for global handlers
/// (`version`, `list`, `config`, `stop`, ...).
pub trait HandlerHost {
    /// Whether a router is installed at all (no router: every handler request gets 540).
    fn has_router(&self) -> bool {
        true
    }
    /// Whether an element of that name exists.
    fn has_element(&self, name: &str) -> bool;
    /// The name of the element with 1-based configuration index `index` (Click's `N.handler`).
    fn element_name_by_index(&self, index: usize) -> Option<String>;
    /// The handler's capabilities, or `None` when the element has no (visible) handler of that name.
    fn handler_info(&self, element: Option<&str>, handler: &str) -> Option<HandlerInfo>;
    /// Calls a read handler (with optional parameters, for read handlers that take them).
    fn call_read(
        &mut self,
        element: Option<&str>,
        handler: &str,
        param: &[u8],
    ) -> Result<Vec<u8>, HandlerFailure>;
    /// Calls a write handler.
    fn call_write(
        &mut self,
        element: Option<&str>,
        handler: &str,
        value: &[u8],
    ) -> Result<WriteOutcome, HandlerFailure>;
}
