//! The engine's [`click::Router`] as a ControlSocket [`HandlerHost`].

use click::{HandlerError, Router};

use crate::controlsocket::{code, HandlerFailure, HandlerHost, HandlerInfo, WriteOutcome};

fn full_name(element: Option<&str>, handler: &str) -> String {
    match element {
        Some(e) => format!("{e}.{handler}"),
        None => handler.to_owned(),
    }
}

fn failure(e: HandlerError) -> HandlerFailure {
    match e {
        HandlerError::NoElement(n) => HandlerFailure {
            code: Some(code::NO_SUCH_ELEMENT),
            messages: vec![format!("No element named '{n}'")],
        },
        HandlerError::NoHandler(n) => HandlerFailure {
            code: Some(code::NO_SUCH_HANDLER),
            messages: vec![format!("No handler named '{n}'")],
        },
        HandlerError::Permission(m) => HandlerFailure {
            code: Some(code::PERMISSION),
            messages: vec![m],
        },
        HandlerError::Failed(m) => HandlerFailure {
            code: None,
            messages: m.lines().map(str::to_owned).collect(),
        },
    }
}

impl HandlerHost for Router {
    fn has_element(&self, name: &str) -> bool {
        self.element_index(name).is_some()
    }
    fn element_name_by_index(&self, index: usize) -> Option<String> {
        self.element_names().get(index.checked_sub(1)?).cloned()
    }
    fn handler_info(&self, element: Option<&str>, handler: &str) -> Option<HandlerInfo> {
        self.handler_flags(&full_name(element, handler))
            .map(|(readable, writable)| HandlerInfo { readable, writable })
    }
    fn call_read(
        &mut self,
        element: Option<&str>,
        handler: &str,
        param: &[u8],
    ) -> Result<Vec<u8>, HandlerFailure> {
        let param = String::from_utf8_lossy(param);
        self.read_handler_param(&full_name(element, handler), &param)
            .map(String::into_bytes)
            .map_err(failure)
    }
    fn call_write(
        &mut self,
        element: Option<&str>,
        handler: &str,
        value: &[u8],
    ) -> Result<WriteOutcome, HandlerFailure> {
        let value = String::from_utf8_lossy(value);
        self.write_handler(&full_name(element, handler), &value)
            .map(|()| WriteOutcome::default())
            .map_err(failure)
    }
}
