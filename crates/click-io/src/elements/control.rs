//! The ControlSocket element: configuration only. The driver (coo-click's io_glue) finds
//! these elements after initialisation and opens their listeners on its control server,
//! because serving handlers needs the whole router, which an element cannot hold.

use std::path::PathBuf;

use click::args::{self, Kind};
use click::element::ReadResult;
use click::{ConfigureCx, Ctx, Element, HandlerSpec};

use crate::controlsocket::{Endpoint, SessionConfig};

/// What a `ControlSocket(...)` element asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlSocketSpec {
    pub endpoint: Endpoint,
    pub session: SessionConfig,
}

/// `ControlSocket(TCP, PORT [, READONLY, LOCALHOST, VERBOSE, PROXY, RETRIES, RETRY_WARNINGS])`
/// or `ControlSocket(UNIX, FILENAME [, ...])`.
#[derive(Debug, Default)]
pub struct ControlSocketElement {
    spec: Option<ControlSocketSpec>,
    /// The port actually bound (for `PORT+`), set by the driver.
    bound_port: Option<u16>,
}

const ARGS: &[(&str, Kind)] = &[
    ("TYPE", Kind::Mp),
    ("ADDR", Kind::Mp),
    ("READONLY", Kind::K),
    ("PROXY", Kind::K),
    ("VERBOSE", Kind::K),
    ("LOCALHOST", Kind::K),
    ("RETRIES", Kind::K),
    ("RETRY_WARNINGS", Kind::K),
];

impl ControlSocketElement {
    /// The configured socket.
    pub fn spec(&self) -> Option<&ControlSocketSpec> {
        self.spec.as_ref()
    }

    /// Records the TCP port the driver bound.
    pub fn set_bound_port(&mut self, port: u16) {
        self.bound_port = Some(port);
    }
}

impl Element for ControlSocketElement {
    click::element_class!(class: "ControlSocket");
    fn configure(&mut self, conf: &str, cx: &mut ConfigureCx<'_>) -> Result<(), String> {
        // Click names the second argument PORT or FILENAME depending on TYPE.
        let conf = conf
            .replacen("PORT ", "ADDR ", 1)
            .replacen("FILENAME ", "ADDR ", 1);
        let b = args::bind(&conf, ARGS)?;
        let ty = b.str("TYPE").unwrap_or("").trim().to_ascii_uppercase();
        let addr = args::unquote(b.str("ADDR").unwrap_or("").trim());
        let mut session = SessionConfig::default();
        if let Some(r) = b.bool("READONLY")? {
            session.readonly = r;
        }
        if b.str("PROXY").is_some_and(|p| !p.trim().is_empty()) {
            return Err("PROXY is not supported".into());
        }
        if b.has("VERBOSE") || b.has("RETRIES") || b.has("RETRY_WARNINGS") {
            cx.warnings
                .push("VERBOSE, RETRIES and RETRY_WARNINGS are accepted and ignored".into());
        }
        let endpoint = match ty.as_str() {
            "TCP" => {
                let (digits, plus) = match addr.strip_suffix('+') {
                    Some(d) => (d, true),
                    None => (addr.as_str(), false),
                };
                let port: u16 = digits
                    .parse()
                    .map_err(|_| "PORT requires TCP port".to_string())?;
                Endpoint::Tcp {
                    port,
                    port_plus: plus,
                    localhost: b.bool("LOCALHOST")?.unwrap_or(false),
                }
            }
            "UNIX" => {
                if addr.is_empty() || addr.len() >= 108 {
                    return Err("filename too long or empty".into());
                }
                Endpoint::Unix(PathBuf::from(addr))
            }
            other => return Err(format!("unknown socket type '{other}'")),
        };
        self.spec = Some(ControlSocketSpec { endpoint, session });
        Ok(())
    }
    fn handlers(&self) -> Vec<HandlerSpec> {
        match self.spec.as_ref().map(|s| &s.endpoint) {
            Some(Endpoint::Tcp { .. }) => vec![HandlerSpec::r("port")],
            Some(Endpoint::Unix(_)) => vec![HandlerSpec::r("filename")],
            None => Vec::new(),
        }
    }
    fn read_handler(&mut self, name: &str, _param: &str, _ctx: &mut Ctx<'_>) -> ReadResult {
        match (name, self.spec.as_ref().map(|s| &s.endpoint)) {
            ("port", Some(Endpoint::Tcp { port, .. })) => {
                Some(Ok(self.bound_port.unwrap_or(*port).to_string()))
            }
            ("filename", Some(Endpoint::Unix(p))) => Some(Ok(p.display().to_string())),
            _ => None,
        }
    }
}
