//! Typed async client for the agent's REST API (COO `/click_plugin/*` and `/v1/*` extras),
//! over TCP or a UNIX socket, one HTTP/1.1 connection per call.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use tokio::net::{TcpStream, UnixStream};

use crate::endpoint::Endpoint;

/// Longest URL sent; `http::Uri` refuses more than 64 KiB.
const MAX_URL: usize = 60 * 1024;

/// Largest response body accepted.
const MAX_RESPONSE: usize = 64 * 1024 * 1024;

/// Query/path encoding: everything but unreserved characters.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Client settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Whole-call timeout (connect + request + response).
    pub timeout: Duration,
    /// Timeout of one connection attempt.
    pub connect_timeout: Duration,
    /// Extra connection attempts after a connect error (never after a request was sent).
    pub retries: u32,
    /// Bearer token, sent with every call (agents answer only a few reads without it).
    pub token: Option<coo_api::Token>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(3),
            retries: 3,
            token: None,
        }
    }
}

/// Client failures.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {endpoint}")]
    Connect {
        endpoint: Endpoint,
        #[source]
        source: std::io::Error,
    },
    #[error("{endpoint}: {what} timed out after {after:?}")]
    Timeout {
        endpoint: Endpoint,
        what: &'static str,
        after: Duration,
    },
    #[error("{endpoint}: http error")]
    Http {
        endpoint: Endpoint,
        #[source]
        source: hyper::Error,
    },
    #[error("{endpoint}: {method} {path}: HTTP {status}: {message}")]
    Status {
        endpoint: Endpoint,
        method: String,
        path: String,
        status: u16,
        message: String,
    },
    #[error("{endpoint}: {path}: unexpected response {body:?}")]
    UnexpectedBody {
        endpoint: Endpoint,
        path: String,
        body: String,
    },
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

impl ClientError {
    /// HTTP status of a `Status` error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A response as received.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
}

impl RawResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

use coo_api::{routes, EngineReply, HandlerWritten};
pub use coo_api::{
    Counters, ElementCounters, Health, InterfaceCounters, Metric, Metrics, StartOutcome,
    StopOutcome, VnfIdentification,
};

/// How `replace_function` delivered the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplaceVia {
    /// `PUT /v1/function` (body).
    PutFunction,
    /// `POST /click_plugin/write_file?path=func.click&content=…` (a plain COO agent).
    WriteFile,
}

/// Client of one agent.
#[derive(Debug, Clone)]
pub struct VnfClient {
    endpoint: Endpoint,
    options: Options,
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// Percent-encodes a query value or path segment (COO's PyCOO client did not: bug 3).
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, ENCODE).to_string()
}

fn parse_json_string(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<String>(body).ok()
}

impl VnfClient {
    pub fn new(endpoint: Endpoint, options: Options) -> Self {
        VnfClient { endpoint, options }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    async fn connect_once(&self) -> std::io::Result<Stream> {
        match &self.endpoint {
            Endpoint::Tcp(a) => TcpStream::connect(a).await.map(Stream::Tcp),
            Endpoint::Unix(p) => UnixStream::connect(p).await.map(Stream::Unix),
            Endpoint::NetnsTcp { netns_path, addr } => {
                crate::netns::connect_in(netns_path, *addr, self.options.connect_timeout)
                    .await
                    .map(Stream::Tcp)
            }
        }
    }

    /// Connects, retrying connect errors only (nothing was sent yet, so retrying is safe).
    async fn connect(&self) -> Result<Stream, ClientError> {
        let mut pause = Duration::from_millis(100);
        let mut attempt = 0;
        loop {
            let r = tokio::time::timeout(self.options.connect_timeout, self.connect_once()).await;
            let err = match r {
                Ok(Ok(s)) => return Ok(s),
                Ok(Err(e)) => e,
                Err(_) => std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"),
            };
            if attempt >= self.options.retries {
                return Err(ClientError::Connect {
                    endpoint: self.endpoint.clone(),
                    source: err,
                });
            }
            attempt += 1;
            tracing::debug!(endpoint = %self.endpoint, attempt, "connect failed: {err}; retrying");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    async fn send<S>(&self, io: S, req: Request<Full<Bytes>>) -> Result<RawResponse, ClientError>
    where
        S: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let http = |source| ClientError::Http {
            endpoint: self.endpoint.clone(),
            source,
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(http)?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        let resp = sender.send_request(req).await.map_err(http)?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = Limited::new(resp.into_body(), MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| ClientError::UnexpectedBody {
                endpoint: self.endpoint.clone(),
                path: String::new(),
                body: format!("reading body: {e}"),
            })?
            .to_bytes();
        driver.abort();
        Ok(RawResponse {
            status,
            content_type,
            body,
        })
    }

    /// Sends one request and returns the response whatever its status (for tests and tools).
    pub async fn request(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<Vec<u8>>,
        content_type: Option<&str>,
    ) -> Result<RawResponse, ClientError> {
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| ClientError::InvalidRequest(format!("method {method:?}")))?;
        let host = match &self.endpoint {
            Endpoint::Tcp(a) | Endpoint::NetnsTcp { addr: a, .. } => a.to_string(),
            Endpoint::Unix(_) => "localhost".to_owned(),
        };
        let mut builder = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(HOST, host);
        if let Some(t) = &self.options.token {
            let v = HeaderValue::from_str(&format!("Bearer {}", t.as_str())).map_err(|_| {
                ClientError::InvalidRequest("token is not a valid header value".into())
            })?;
            builder = builder.header(AUTHORIZATION, v);
        }
        if let Some(ct) = content_type {
            builder = builder.header(CONTENT_TYPE, ct);
        }
        let req = builder
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| ClientError::InvalidRequest(e.to_string()))?;
        let fut = async {
            match self.connect().await? {
                Stream::Tcp(s) => self.send(TokioIo::new(s), req).await,
                Stream::Unix(s) => self.send(TokioIo::new(s), req).await,
            }
        };
        tokio::time::timeout(self.options.timeout, fut)
            .await
            .map_err(|_| ClientError::Timeout {
                endpoint: self.endpoint.clone(),
                what: "request",
                after: self.options.timeout,
            })?
    }

    /// A request whose non-2xx status becomes `ClientError::Status` (with the agent's message).
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: Option<&str>,
    ) -> Result<RawResponse, ClientError> {
        let r = self.request(method, path, body, content_type).await?;
        if (200..300).contains(&r.status) {
            return Ok(r);
        }
        let message = serde_json::from_slice::<serde_json::Value>(&r.body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_else(|| r.text());
        Err(ClientError::Status {
            endpoint: self.endpoint.clone(),
            method: method.to_owned(),
            path: path.split('?').next().unwrap_or(path).to_owned(),
            status: r.status,
            message,
        })
    }

    fn unexpected(&self, path: &str, body: &[u8]) -> ClientError {
        let mut text = String::from_utf8_lossy(body).into_owned();
        text.truncate(500);
        ClientError::UnexpectedBody {
            endpoint: self.endpoint.clone(),
            path: path.to_owned(),
            body: text,
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let r = self.call("GET", path, None, None).await?;
        serde_json::from_slice(&r.body).map_err(|_| self.unexpected(path, &r.body))
    }

    async fn get_string(&self, path: &str) -> Result<String, ClientError> {
        let r = self.call("GET", path, None, None).await?;
        parse_json_string(&r.body).ok_or_else(|| self.unexpected(path, &r.body))
    }

    /// `GET /click_plugin/version` (COO: "2.0").
    pub async fn version(&self) -> Result<String, ClientError> {
        self.get_string(routes::VERSION).await
    }

    /// `GET /click_plugin/running`.
    pub async fn running(&self) -> Result<bool, ClientError> {
        self.get_json(routes::RUNNING).await
    }

    /// `POST /click_plugin/start`; a failed start is an error (the agent answers 4xx/5xx).
    pub async fn start(&self) -> Result<StartOutcome, ClientError> {
        let path = routes::START;
        let r = self.call("POST", path, None, None).await?;
        parse_json_string(&r.body)
            .and_then(|s| StartOutcome::from_coo_message(&s))
            .ok_or_else(|| self.unexpected(path, &r.body))
    }

    /// `POST /click_plugin/stop`.
    pub async fn stop(&self) -> Result<StopOutcome, ClientError> {
        let path = routes::STOP;
        let r = self.call("POST", path, None, None).await?;
        parse_json_string(&r.body)
            .and_then(|s| StopOutcome::from_coo_message(&s))
            .ok_or_else(|| self.unexpected(path, &r.body))
    }

    /// `GET /click_plugin/read_file`: the function file.
    pub async fn read_file(&self) -> Result<String, ClientError> {
        let path = routes::READ_FILE;
        let s = self.get_string(path).await?;
        if s == "Error Opening File" {
            return Err(self.unexpected(path, s.as_bytes()));
        }
        Ok(s)
    }

    /// `POST /click_plugin/write_file?path=…&content=…`, properly URL-encoded.
    /// Contents too long for a URL (the HTTP stack caps it near 64 KiB) go in the body, which
    /// coo-vnf accepts (a plain COO agent could not take them either way).
    pub async fn write_file(&self, file: &str, content: &str) -> Result<(), ClientError> {
        let mut path = format!(
            "{}?path={}&content={}",
            routes::WRITE_FILE,
            encode(file),
            encode(content)
        );
        let mut body = None;
        if path.len() > MAX_URL {
            path = format!("{}?path={}", routes::WRITE_FILE, encode(file));
            body = Some(content.as_bytes().to_vec());
        }
        let r = self.call("POST", &path, body, Some("text/plain")).await?;
        if r.body.as_ref() == b"OK!!" {
            Ok(())
        } else {
            Err(self.unexpected(routes::WRITE_FILE, &r.body))
        }
    }

    /// `GET /click_plugin/vnf_identification`; `None` when the header is invalid (`{}`).
    pub async fn vnf_identification(&self) -> Result<Option<VnfIdentification>, ClientError> {
        let path = routes::VNF_IDENTIFICATION;
        let r = self.call("GET", path, None, None).await?;
        let v: serde_json::Value =
            serde_json::from_slice(&r.body).map_err(|_| self.unexpected(path, &r.body))?;
        if v.as_object().is_some_and(|o| o.is_empty()) {
            return Ok(None);
        }
        serde_json::from_value(v)
            .map(Some)
            .map_err(|_| self.unexpected(path, &r.body))
    }

    /// `GET /click_plugin/metrics`.
    pub async fn metrics(&self) -> Result<Metrics, ClientError> {
        self.get_json(routes::METRICS).await
    }

    /// `GET /click_plugin/log`: the engine's output (or "Click is not running").
    pub async fn log(&self) -> Result<String, ClientError> {
        self.get_string(routes::LOG).await
    }

    /// `GET /v1/health`.
    pub async fn health(&self) -> Result<Health, ClientError> {
        self.get_json(routes::HEALTH).await
    }

    /// `GET /v1/counters`.
    pub async fn counters(&self) -> Result<Counters, ClientError> {
        self.get_json(routes::COUNTERS).await
    }

    /// `GET /v1/handlers/{elem.handler}`: the raw handler text.
    pub async fn read_handler(&self, name: &str) -> Result<String, ClientError> {
        let r = self
            .call(
                "GET",
                &format!("{}/{}", routes::HANDLERS, encode(name)),
                None,
                None,
            )
            .await?;
        Ok(r.text())
    }

    /// `POST /v1/handlers/{elem.handler}` with the value as body; returns the engine's message.
    pub async fn write_handler(&self, name: &str, value: &str) -> Result<String, ClientError> {
        let path = format!("{}/{}", routes::HANDLERS, encode(name));
        let r = self
            .call(
                "POST",
                &path,
                Some(value.as_bytes().to_vec()),
                Some("text/plain"),
            )
            .await?;
        let v: HandlerWritten =
            serde_json::from_slice(&r.body).map_err(|_| self.unexpected(&path, &r.body))?;
        Ok(v.message)
    }

    /// `GET /v1/function`: the function file as text.
    pub async fn get_function(&self) -> Result<String, ClientError> {
        Ok(self.call("GET", routes::FUNCTION, None, None).await?.text())
    }

    /// `PUT /v1/function` with the config as body.
    pub async fn put_function(&self, content: &str) -> Result<(), ClientError> {
        self.call(
            "PUT",
            routes::FUNCTION,
            Some(content.as_bytes().to_vec()),
            Some("text/plain"),
        )
        .await
        .map(|_| ())
    }

    /// `PUT /v1/function`, or COO's write_file when the agent has no `/v1` API.
    pub async fn replace_function(&self, content: &str) -> Result<ReplaceVia, ClientError> {
        match self.put_function(content).await {
            Ok(()) => Ok(ReplaceVia::PutFunction),
            Err(ClientError::Status {
                status: 404 | 405, ..
            }) => {
                self.write_file("func.click", content).await?;
                Ok(ReplaceVia::WriteFile)
            }
            Err(e) => Err(e),
        }
    }

    /// `GET /v1/engine`.
    pub async fn engine(&self) -> Result<String, ClientError> {
        let v: EngineReply = self.get_json(routes::ENGINE).await?;
        Ok(v.engine)
    }

    /// `GET /v1/engine/options`.
    pub async fn get_engine_options(&self) -> Result<coo_api::EngineOptions, ClientError> {
        self.get_json(routes::ENGINE_OPTIONS).await
    }

    /// `PUT /v1/engine/options`: burst, buffers, I/O mode and CPUs for the next start (the
    /// engine must be stopped; 422 for options the selected engine has no meaning for at start).
    pub async fn set_engine_options(
        &self,
        options: &coo_api::EngineOptions,
    ) -> Result<coo_api::EngineOptions, ClientError> {
        let body = serde_json::to_vec(options)
            .map_err(|_| self.unexpected(routes::ENGINE_OPTIONS, b""))?;
        let r = self
            .call(
                "PUT",
                routes::ENGINE_OPTIONS,
                Some(body),
                Some("application/json"),
            )
            .await?;
        serde_json::from_slice(&r.body)
            .map_err(|_| self.unexpected(routes::ENGINE_OPTIONS, &r.body))
    }

    /// `POST /v1/engine`: a built-in engine (`coo-click`, `click`, `kernel-forward`) or a name
    /// or path of the agent's `--allow-engine` list (403 otherwise); the engine must be stopped.
    pub async fn set_engine(&self, spec: &str) -> Result<String, ClientError> {
        let r = self
            .call(
                "POST",
                routes::ENGINE,
                Some(spec.as_bytes().to_vec()),
                Some("text/plain"),
            )
            .await?;
        let v: EngineReply = serde_json::from_slice(&r.body)
            .map_err(|_| self.unexpected(routes::ENGINE, &r.body))?;
        Ok(v.engine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_complete() {
        assert_eq!(
            encode("a b&c=d#e+f%g/h\n"),
            "a%20b%26c%3Dd%23e%2Bf%25g%2Fh%0A"
        );
        assert_eq!(encode("func.click"), "func.click");
    }

    #[tokio::test]
    async fn connect_error_after_bounded_retries() {
        let dir = tempfile::tempdir().unwrap();
        let c = VnfClient::new(
            Endpoint::Unix(dir.path().join("none.sock")),
            Options {
                retries: 2,
                ..Options::default()
            },
        );
        let e = c.version().await.unwrap_err();
        assert!(matches!(e, ClientError::Connect { .. }), "{e:?}");
    }

    #[test]
    fn metrics_lookup() {
        let m: Metrics = serde_json::from_str(
            r#"{"time_ms": 1, "list": [{"id": 0, "value": 7, "name": "CPU Usage"}]}"#,
        )
        .unwrap();
        assert_eq!(m.get("CPU Usage"), Some(7));
        assert_eq!(m.get("Net RX"), None);
    }
}
