//! Route paths, and which requests an agent answers without the bearer token.

pub const VERSION: &str = "/click_plugin/version";
pub const RUNNING: &str = "/click_plugin/running";
pub const START: &str = "/click_plugin/start";
pub const STOP: &str = "/click_plugin/stop";
pub const READ_FILE: &str = "/click_plugin/read_file";
pub const WRITE_FILE: &str = "/click_plugin/write_file";
pub const VNF_IDENTIFICATION: &str = "/click_plugin/vnf_identification";
pub const METRICS: &str = "/click_plugin/metrics";
pub const LOG: &str = "/click_plugin/log";
pub const HEALTH: &str = "/v1/health";
pub const COUNTERS: &str = "/v1/counters";
/// Prefix of `/v1/handlers/{element.handler}`.
pub const HANDLERS: &str = "/v1/handlers";
pub const FUNCTION: &str = "/v1/function";
pub const ENGINE: &str = "/v1/engine";
/// `PUT` JSON `EngineOptions` (applied at the next start), `GET` them back.
pub const ENGINE_OPTIONS: &str = "/v1/engine/options";

/// Reads that are always open: liveness and readiness probes, which reveal nothing a
/// neighbour could use.
pub const OPEN_READS: &[&str] = &[VERSION, RUNNING, HEALTH];

/// COO's other reads, open only with the agent's `--compat-open-reads` (for a plain PyCOO
/// client or monitor that cannot send a token). They reveal the function and its output.
pub const COMPAT_OPEN_READS: &[&str] = &[READ_FILE, VNF_IDENTIFICATION, METRICS, LOG];

/// Whether `method path` may be answered without the token. Everything else (every write,
/// every handler call, even by GET, since a read handler may run code) needs it.
pub fn is_open(method: &str, path: &str, compat_open_reads: bool) -> bool {
    if method != "GET" && method != "HEAD" {
        return false;
    }
    OPEN_READS.contains(&path) || (compat_open_reads && COMPAT_OPEN_READS.contains(&path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert!(is_open("GET", VERSION, false));
        assert!(is_open("HEAD", HEALTH, false));
        assert!(!is_open("POST", VERSION, true));
        assert!(!is_open("GET", METRICS, false));
        assert!(is_open("GET", METRICS, true));
        assert!(!is_open("GET", "/v1/handlers/s.run", true));
        assert!(!is_open("GET", COUNTERS, true));
        assert!(!is_open("GET", ENGINE, true));
        assert!(!is_open("GET", FUNCTION, true));
    }
}
