//! Exit codes of every command, shown after its `--help` (`after_help`) and listed in one
//! place in docs/exit-codes.md (a test keeps the two in step). Across commands: 0 success,
//! 1 a runtime failure (or a gate/soundness check that failed), 2 invalid input; clap's usage
//! errors exit 2 as well.

pub const VALIDATE: &str =
    "Exit codes: 0 valid; 2 invalid (every error named, with file:line:column); 1 internal error.";
pub const GRAPH: &str = "Exit codes: 0 DOT printed; 2 invalid topology; 1 internal error.";
pub const IMPORT_PYCOO: &str = "Exit codes: 0 written; 2 not a PyCOO directory, invalid descriptors, or the output exists (without --force); 1 I/O error.";
pub const IMAGE: &str = "Exit codes: 0 image built or reused; 1 failed (binary missing, kernel package unavailable, I/O).";
pub const DOCTOR: &str = "Exit codes: 0 every needed check passes; 1 otherwise.";
pub const UP: &str = "Exit codes: 0 up; 2 invalid topology, unknown variant, invalid or existing run id; 1 runtime failure (everything made is rolled back), also when not root.";
pub const DOWN: &str =
    "Exit codes: 0 removed; 2 unknown or ambiguous run; 1 removal failed or not root.";
pub const STATUS: &str = "Exit codes: 0 listed; 1 the run root could not be read.";
pub const CLEAN: &str =
    "Exit codes: 0 nothing left behind; 1 something could not be removed, or not root.";
pub const EXEC: &str = "Exit codes: 0 the task succeeded; 1 an action failed or an agent was unreachable; 2 invalid input (script, unknown task, endpoint, missing function file).";
pub const RUN: &str = "Exit codes: 0 every variant has a sound NDR at every frame size; 1 a variant failed, has no NDR or is limited by the measurement, or the run was interrupted; 2 invalid topology, variant or option.";
pub const COMPARE: &str = "Exit codes: 0 compared (gate passed); 1 the --fail-if-worse gate failed; 2 unreadable report, other schema version, malformed --pair, not a calibration file.";
pub const CALIBRATE: &str = "Exit codes: 0 calibration written; 1 a run failed; 2 bad input (no PATH and no --reports, odd number of reports, unreadable report).";
pub const COMPLETIONS: &str = "Exit codes: 0 script printed; 2 unknown shell.";
pub const MAN: &str = "Exit codes: 0 pages written; 1 the directory could not be written.";
