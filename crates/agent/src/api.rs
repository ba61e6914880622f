//! REST layer: COO's `/click_plugin/*` API with byte-identical success bodies, plus `/v1/*`
//! extras. Real failures get a 4xx/5xx status and COO's error shape
//! `{"message": "...", "code": N}`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use coo_api::{routes, EngineReply, TokenDigest};

use crate::control::ControlError;
use crate::engine::StartError;
use crate::osv_json::OsvJson;
use crate::query;
use crate::service::{Agent, AgentError, Identification};

/// Largest accepted request body.
pub const MAX_BODY: usize = 1024 * 1024;
/// Largest accepted query string (COO's write_file carries a whole config in it). The HTTP
/// stack refuses URIs above 64 KiB itself (414); bigger configs go in the body.
pub const MAX_QUERY: usize = 60 * 1024;

/// How much of the agent one client may hold, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Requests handled at once; more get 503 at once (they do not queue).
    pub concurrent_requests: usize,
    /// Time to receive a whole request body (a trickling client gets 408).
    pub body: Duration,
    /// Time for a whole request, body included (engine start is the slowest call).
    pub request: Duration,
}

/// Overall deadline of `/v1/counters` (one ControlSocket read per element and handler, each
/// with its own timeout: without a cap a slow engine could hold the call for minutes).
pub const COUNTERS_DEADLINE: Duration = Duration::from_secs(10);

impl Default for Limits {
    fn default() -> Self {
        Limits {
            concurrent_requests: 64,
            body: Duration::from_secs(10),
            request: Duration::from_secs(60),
        }
    }
}

/// State shared by all handlers.
pub struct AppState {
    pub agent: Agent,
    /// Digest of the bearer token; `None` only for an agent started without one (loopback or
    /// UNIX socket, or `--insecure`), which then answers everyone.
    pub token: Option<TokenDigest>,
    /// `--compat-open-reads`: COO's read endpoints answer without the token.
    pub compat_open_reads: bool,
}

/// The router's own state for its limit layers.
#[derive(Clone)]
struct Guard {
    limits: Limits,
    in_flight: Arc<Semaphore>,
}

type Shared = Arc<AppState>;

/// An error response in COO's shape.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = OsvJson::Object(vec![
            ("message", OsvJson::Str(self.message)),
            ("code", OsvJson::Int(i64::from(self.status.as_u16()))),
        ]);
        let mut r = json_response(body.render());
        *r.status_mut() = self.status;
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

fn control_status(e: &ControlError) -> StatusCode {
    match e {
        ControlError::Handler { code, .. } => match code {
            510 | 511 => StatusCode::NOT_FOUND,
            530 => StatusCode::FORBIDDEN,
            500 | 501 => StatusCode::BAD_REQUEST,
            520 | 521 => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::BAD_GATEWAY,
        },
        ControlError::BadHandlerName(_) => StatusCode::BAD_REQUEST,
        ControlError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::BAD_GATEWAY,
    }
}

impl From<crate::allow::EngineNotAllowed> for ApiError {
    fn from(e: crate::allow::EngineNotAllowed) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, e.to_string())
    }
}

impl From<AgentError> for ApiError {
    fn from(e: AgentError) -> Self {
        let status = match &e {
            AgentError::NotRunning | AgentError::NoControlSocket(_) | AgentError::Busy => {
                StatusCode::CONFLICT
            }
            AgentError::EngineNotAllowed(_) => StatusCode::FORBIDDEN,
            AgentError::Options(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AgentError::Start(s) => match s {
                StartError::EarlyExit { .. } | StartError::Config(_) => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                StartError::NotReady { .. } => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            AgentError::Control(c) => control_status(c),
            AgentError::FunctionMissing { .. } => StatusCode::NOT_FOUND,
            AgentError::FunctionIo { .. } | AgentError::Stop(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let message = match &e {
            AgentError::FunctionMissing { .. } | AgentError::FunctionIo { .. } => {
                format!("Error Opening File: {e}")
            }
            _ => e.to_string(),
        };
        ApiError::new(status, message)
    }
}

fn json_response(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

fn coo(v: OsvJson) -> Response {
    json_response(v.render())
}

fn text(body: impl Into<Bytes>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body.into(),
    )
        .into_response()
}

fn body_or_error(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|r| {
        let status = r.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("request body larger than {MAX_BODY} bytes")
        } else {
            r.body_text()
        };
        ApiError::new(status, message)
    })
}

fn utf8(body: Bytes, what: &str) -> Result<String, ApiError> {
    String::from_utf8(body.to_vec()).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{what} is not valid UTF-8"),
        )
    })
}

async fn version() -> Response {
    coo(OsvJson::Str("2.0".into()))
}

async fn running(State(s): State<Shared>) -> Response {
    coo(OsvJson::Bool(s.agent.running().await))
}

async fn start(State(s): State<Shared>) -> Result<Response, ApiError> {
    Ok(coo(OsvJson::Str(s.agent.start().await?.coo_message())))
}

async fn stop(State(s): State<Shared>) -> Result<Response, ApiError> {
    Ok(coo(OsvJson::Str(
        s.agent.stop().await?.coo_message().into(),
    )))
}

async fn read_file(State(s): State<Shared>) -> Result<Response, ApiError> {
    Ok(coo(OsvJson::Str(s.agent.read_function()?)))
}

/// `path` must name the VNF's function file; COO wrote anywhere (arbitrary file write).
fn allowed_write_path(agent: &Agent, path: &str) -> bool {
    let function = &agent.config().function;
    let name = function
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path == "func.click"
        || path == "/func.click"
        || (!name.is_empty() && (path == name || path.strip_prefix('/') == Some(name.as_str())))
        || std::path::Path::new(path) == function.as_path()
}

async fn write_file(
    State(s): State<Shared>,
    req_query: axum::extract::RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let pairs = query::parse(req_query.0.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let path = query::get(&pairs, "path").unwrap_or("");
    if path.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Missing mandatory parameter 'path'",
        ));
    }
    let body = body_or_error(body)?;
    // Extension: the content may come in the body instead of the URL.
    let content = match query::get(&pairs, "content") {
        Some(c) if !c.is_empty() => c.to_owned(),
        _ if !body.is_empty() => utf8(body, "request body")?,
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "Missing mandatory parameter 'content'",
            ))
        }
    };
    if !allowed_write_path(&s.agent, path) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("write_file may only write the VNF function file (func.click), not {path:?}"),
        ));
    }
    s.agent.write_function(&content)?;
    Ok(text("OK!!"))
}

async fn vnf_identification(State(s): State<Shared>) -> Response {
    let fields = |h: Option<crate::header::VnfHeader>| {
        let h = h.unwrap_or_default();
        OsvJson::Object(vec![
            ("provider", OsvJson::Str(h.provider)),
            ("description", OsvJson::Str(h.description)),
            ("version", OsvJson::Str(h.version)),
            ("id", OsvJson::Str(h.id)),
            ("name", OsvJson::Str(h.name)),
        ])
    };
    coo(match s.agent.identification().await {
        Identification::NotRunning => fields(None),
        Identification::Valid(h) => fields(Some(h)),
        Identification::Invalid => OsvJson::Object(vec![]),
    })
}

async fn metrics(State(s): State<Shared>) -> Response {
    let m = s.agent.metrics().await;
    // COO's exact rendering of the shared type.
    let list = m
        .list
        .into_iter()
        .map(|x| {
            OsvJson::Object(vec![
                ("id", OsvJson::Int(i64::from(x.id))),
                ("value", OsvJson::Int(x.value)),
                ("name", OsvJson::Str(x.name)),
            ])
        })
        .collect();
    coo(OsvJson::Object(vec![
        ("time_ms", OsvJson::Int(m.time_ms)),
        ("list", OsvJson::List(list)),
    ]))
}

async fn log(State(s): State<Shared>) -> Response {
    // Unlike COO, the last run's output survives a stop (so an error script's `log` is useful).
    let body = s
        .agent
        .log()
        .unwrap_or_else(|| "Click is not running".to_owned());
    coo(OsvJson::Str(body))
}

async fn health(State(s): State<Shared>) -> Response {
    axum::Json(s.agent.health().await).into_response()
}

async fn counters(State(s): State<Shared>) -> Result<Response, ApiError> {
    let deadline = COUNTERS_DEADLINE;
    let c = tokio::time::timeout(deadline, s.agent.counters())
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!("counters not collected within {deadline:?}"),
            )
        })??;
    Ok(axum::Json(c).into_response())
}

async fn read_handler(
    State(s): State<Shared>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(text(s.agent.read_handler(&name).await?))
}

async fn write_handler(
    State(s): State<Shared>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_or_error(body)?;
    let message = s.agent.write_handler(&name, &body).await?;
    Ok(axum::Json(coo_api::HandlerWritten { message }).into_response())
}

async fn get_function(State(s): State<Shared>) -> Result<Response, ApiError> {
    Ok(text(s.agent.read_function()?))
}

async fn put_function(
    State(s): State<Shared>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let content = utf8(body_or_error(body)?, "function")?;
    s.agent.write_function(&content)?;
    Ok(axum::Json(coo_api::FunctionWritten {
        path: s.agent.config().function.display().to_string(),
        bytes: content.len(),
    })
    .into_response())
}

async fn get_engine(State(s): State<Shared>) -> Response {
    axum::Json(EngineReply {
        engine: s.agent.engine().await.to_string(),
    })
    .into_response()
}

async fn set_engine(
    State(s): State<Shared>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let text = utf8(body_or_error(body)?, "engine")?;
    // Only a name (or exact path) from the start-up allow-list: never a program of the caller's.
    let spec = s.agent.config().allowed_engines.resolve(&text)?;
    s.agent.set_engine(spec.clone()).await?;
    Ok(axum::Json(EngineReply {
        engine: spec.to_string(),
    })
    .into_response())
}

async fn get_engine_options(State(s): State<Shared>) -> Response {
    axum::Json(s.agent.options().await).into_response()
}

async fn set_engine_options(
    State(s): State<Shared>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_or_error(body)?;
    let options: coo_api::EngineOptions = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("engine options: {e}"),
        )
    })?;
    s.agent.set_options(options.clone()).await?;
    Ok(axum::Json(options).into_response())
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Not found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
}

fn token_ok(headers: &HeaderMap, token: &TokenDigest) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(coo_api::auth::bearer)
        .is_some_and(|given| token.verify(given))
}

/// Every request but the open reads ([`coo_api::routes::is_open`]) needs the bearer token.
async fn auth(State(s): State<Shared>, req: Request, next: Next) -> Response {
    if let Some(token) = &s.token {
        let open = routes::is_open(req.method().as_str(), req.uri().path(), s.compat_open_reads);
        if !open && !token_ok(req.headers(), token) {
            return ApiError::new(StatusCode::UNAUTHORIZED, "missing or wrong bearer token")
                .into_response();
        }
    }
    next.run(req).await
}

/// Bounds the requests in flight and each one's duration; buffers the body under its own
/// deadline so a trickling client cannot hold a handler.
async fn guard_limits(State(g): State<Guard>, req: Request, next: Next) -> Response {
    let Ok(_permit) = g.in_flight.clone().try_acquire_owned() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "more than {} requests in flight; retry",
                g.limits.concurrent_requests
            ),
        )
        .into_response();
    };
    let work = async {
        let (parts, body) = req.into_parts();
        let body =
            match tokio::time::timeout(g.limits.body, axum::body::to_bytes(body, MAX_BODY)).await {
                Err(_) => {
                    return ApiError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        format!("request body not received within {:?}", g.limits.body),
                    )
                    .into_response()
                }
                Ok(Err(e)) => {
                    let too_big = std::error::Error::source(&e)
                        .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                        || e.to_string().contains("length limit");
                    return if too_big {
                        ApiError::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            format!("request body larger than {MAX_BODY} bytes"),
                        )
                    } else {
                        ApiError::new(StatusCode::BAD_REQUEST, format!("request body: {e}"))
                    }
                    .into_response();
                }
                Ok(Ok(b)) => b,
            };
        next.run(Request::from_parts(parts, axum::body::Body::from(body)))
            .await
    };
    match tokio::time::timeout(g.limits.request, work).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("request not completed within {:?}", g.limits.request),
        )
        .into_response(),
    }
}

async fn query_limit(req: Request, next: Next) -> Response {
    if req.uri().query().map_or(0, str::len) > MAX_QUERY {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("query string larger than {MAX_QUERY} bytes"),
        )
        .into_response();
    }
    next.run(req).await
}

/// One event per request: method, path (never the query: it may carry a handler value),
/// status and time, at debug (`coo-vnf --log debug`); refusals (4xx/5xx) at info.
async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let t = std::time::Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    let ms = t.elapsed().as_millis() as u64;
    if resp.status().is_client_error() || resp.status().is_server_error() {
        tracing::info!(%method, %path, status, ms, "request refused");
    } else {
        tracing::debug!(%method, %path, status, ms, "request");
    }
    resp
}

/// The full router with the default [`Limits`].
pub fn router(state: Shared) -> Router {
    router_with(state, Limits::default())
}

/// The full router.
pub fn router_with(state: Shared, limits: Limits) -> Router {
    use axum::routing::post;
    let guard = Guard {
        limits,
        in_flight: Arc::new(Semaphore::new(limits.concurrent_requests.max(1))),
    };
    Router::new()
        .route(routes::VERSION, get(version))
        .route(routes::RUNNING, get(running))
        .route(routes::START, post(start))
        .route(routes::STOP, post(stop))
        .route(routes::READ_FILE, get(read_file))
        .route(routes::WRITE_FILE, post(write_file))
        .route(routes::VNF_IDENTIFICATION, get(vnf_identification))
        .route(routes::METRICS, get(metrics))
        .route(routes::LOG, get(log))
        .route(routes::HEALTH, get(health))
        .route(routes::COUNTERS, get(counters))
        .route(
            &format!("{}/{{name}}", routes::HANDLERS),
            get(read_handler).post(write_handler),
        )
        .route(routes::FUNCTION, get(get_function).put(put_function))
        .route(routes::ENGINE, get(get_engine).post(set_engine))
        .route(
            routes::ENGINE_OPTIONS,
            get(get_engine_options).put(set_engine_options),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), auth))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(guard, guard_limits))
        .layer(middleware::from_fn(query_limit))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_check() {
        let d = TokenDigest::of("s3cret");
        let mut h = HeaderMap::new();
        assert!(!token_ok(&h, &d));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert!(token_ok(&h, &d));
        assert!(!token_ok(&h, &TokenDigest::of("s3cre")));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic s3cret"),
        );
        assert!(!token_ok(&h, &d));
    }

    #[test]
    fn error_shape() {
        let r = ApiError::new(StatusCode::NOT_FOUND, "Not found").into_response();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}
