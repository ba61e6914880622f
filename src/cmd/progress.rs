//! Progress of long work on stderr (never stdout): indicatif bars on a terminal, plain
//! occasional lines with `-v` when stderr is not a terminal (CI logs), nothing with `-q`, or
//! with `--json` unless `-v` asks for lines. The libraries only emit events
//! ([`campaign::Progress`], [`testbed::VmProgress`], [`vmdriver::image::BuildStep`]); this
//! module renders them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bars redrawn in place (stderr is a terminal).
    Bars,
    /// A plain line now and then (`-v`, stderr not a terminal or `--json`).
    Lines,
    Silent,
}

/// (verbose, quiet) from the command line, set once by `main`.
static VERBOSITY: OnceLock<(u8, u8)> = OnceLock::new();

pub fn set_verbosity(verbose: u8, quiet: u8) {
    let _ = VERBOSITY.set((verbose, quiet));
}

/// The mode for `verbose`/`quiet`, a `--json` command and whether stderr is a terminal.
pub fn mode_for(verbose: u8, quiet: u8, json: bool, tty: bool) -> Mode {
    if quiet > 0 {
        Mode::Silent
    } else if tty && !json {
        Mode::Bars
    } else if verbose > 0 {
        Mode::Lines
    } else {
        Mode::Silent
    }
}

/// `-q` given: results lines (a variant's NDR, a failure) are not printed either.
pub fn quiet() -> bool {
    VERBOSITY.get().is_some_and(|(_, q)| *q > 0)
}

/// The mode of this process for a command with (`json`) or without `--json`.
pub fn mode(json: bool) -> Mode {
    let (v, q) = VERBOSITY.get().copied().unwrap_or((0, 0));
    mode_for(v, q, json, std::io::stderr().is_terminal())
}

/// Every bar of the process; log lines are written around it (see [`LogWriter`]).
fn bars() -> &'static MultiProgress {
    static BARS: OnceLock<MultiProgress> = OnceLock::new();
    BARS.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
}

/// tracing's writer: hides the bars while a log line is written, so lines never tear them.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        bars().suspend(|| std::io::stderr().write_all(buf))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// A line worth keeping, above the bars (or plain when there are none).
pub fn println(msg: &str) {
    bars().suspend(|| eprintln!("{msg}"));
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// `1h02m`, `3m20s`, `45s`.
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// "round 1/3, variant a, 64 B: trial 12 of about 180, about 14m left".
pub fn trial_line(at: &campaign::TrialProgress) -> String {
    let phase = if at.round == 0 {
        "latency".to_string()
    } else {
        format!("round {}/{}", at.round, at.rounds)
    };
    format!(
        "{phase}, variant {}, {} B: trial {} of about {}, about {} left",
        at.variant,
        at.frame_size,
        at.trial,
        at.trials_about,
        duration(at.seconds_left)
    )
}

/// How often [`Mode::Lines`] prints a progress line at most (a change of variant or frame
/// size prints one anyway).
const LINE_EVERY: Duration = Duration::from_secs(15);

/// The campaign's progress: a bar of trials (length = the estimate) with the current step.
pub struct Campaign {
    mode: Mode,
    bar: Option<ProgressBar>,
    /// (time, variant, frame size) of the last plain line.
    last_line: RefCell<Option<(Instant, String, String)>>,
    interrupted: fn() -> bool,
}

impl Campaign {
    pub fn new(mode: Mode, interrupted: fn() -> bool) -> Campaign {
        let bar = (mode == Mode::Bars).then(|| {
            let b = bars().add(ProgressBar::new(1));
            b.set_style(style(
                "{spinner} [{elapsed_precise}] [{bar:24}] {prefix}\n  {wide_msg}",
            ));
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        Campaign {
            mode,
            bar,
            last_line: RefCell::new(None),
            interrupted,
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
            bars().remove(b);
        }
    }
}

impl campaign::Progress for Campaign {
    fn status(&self, msg: &str) {
        if let Some(b) = &self.bar {
            b.set_message(msg.to_string());
        }
    }
    /// Result lines are kept (stderr) in every mode but `-q`: they are the run's log.
    fn line(&self, msg: &str) {
        if !quiet() {
            println(msg);
        }
    }
    fn trial(&self, at: &campaign::TrialProgress) {
        match self.mode {
            Mode::Bars => {
                if let Some(b) = &self.bar {
                    b.set_length(at.trials_about as u64);
                    b.set_position(at.trial.saturating_sub(1) as u64);
                    b.set_prefix(trial_line(at));
                }
            }
            Mode::Lines => {
                let mut last = self.last_line.borrow_mut();
                let size = at.frame_size.to_string();
                let due = last.as_ref().is_none_or(|(t, v, f)| {
                    t.elapsed() >= LINE_EVERY || *v != at.variant || *f != size
                });
                if due {
                    eprintln!("progress: {}", trial_line(at));
                    *last = Some((Instant::now(), at.variant.clone(), size));
                }
            }
            Mode::Silent => {}
        }
    }
    fn interrupted(&self) -> bool {
        (self.interrupted)()
    }
}

/// VM boots of `up --driver vm`: one spinner per VNF (created at its first event).
pub fn vm_progress(mode: Mode) -> Option<testbed::VmProgress> {
    if mode == Mode::Silent {
        return None;
    }
    let started = Instant::now();
    let per_vnf: Mutex<BTreeMap<String, ProgressBar>> = Mutex::default();
    Some(testbed::VmProgress(Arc::new(
        move |e: &testbed::VmEvent| {
            let at = duration(started.elapsed().as_secs_f64());
            if mode == Mode::Lines {
                eprintln!("progress: VM {}: {} (after {at})", e.vnf, e.stage);
                return;
            }
            let mut map = per_vnf.lock().unwrap_or_else(|p| p.into_inner());
            let bar = map.entry(e.vnf.clone()).or_insert_with(|| {
                let b = bars().add(ProgressBar::new_spinner());
                b.set_style(style(
                    "{spinner} [{elapsed_precise}] VM {prefix}: {wide_msg}",
                ));
                b.set_prefix(e.vnf.clone());
                b.enable_steady_tick(Duration::from_millis(200));
                b
            });
            if e.stage == testbed::VmStage::Configured {
                bar.finish_with_message(format!("ready after {at}"));
            } else {
                bar.set_message(e.stage.to_string());
            }
        },
    )))
}

/// Steps of `image build`: a bar of [`vmdriver::image::BuildStep::COUNT`] steps.
pub struct ImageBuild {
    mode: Mode,
    bar: Option<ProgressBar>,
}

impl ImageBuild {
    pub fn new(mode: Mode) -> ImageBuild {
        let bar = (mode == Mode::Bars).then(|| {
            let b = bars().add(ProgressBar::new(vmdriver::image::BuildStep::COUNT as u64));
            b.set_style(style(
                "{spinner} [{elapsed_precise}] image step {pos}/{len}: {wide_msg}",
            ));
            b.set_message("finding the kernel package (apt)");
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        ImageBuild { mode, bar }
    }

    pub fn step(&self, s: &vmdriver::image::BuildStep) {
        match (&self.bar, self.mode) {
            (Some(b), _) => {
                b.set_position(s.index() as u64);
                b.set_message(s.to_string());
            }
            (None, Mode::Lines) => eprintln!(
                "progress: image step {}/{}: {s}",
                s.index(),
                vmdriver::image::BuildStep::COUNT
            ),
            _ => {}
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
            bars().remove(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_follow_the_flags_and_the_terminal() {
        assert_eq!(mode_for(0, 0, false, true), Mode::Bars);
        assert_eq!(mode_for(0, 1, false, true), Mode::Silent, "-q");
        assert_eq!(mode_for(0, 0, true, true), Mode::Silent, "--json");
        assert_eq!(mode_for(1, 0, true, true), Mode::Lines, "--json -v");
        assert_eq!(mode_for(0, 0, false, false), Mode::Silent, "not a terminal");
        assert_eq!(
            mode_for(1, 0, false, false),
            Mode::Lines,
            "-v, not a terminal"
        );
    }

    #[test]
    fn durations_and_trial_lines_read_well() {
        assert_eq!(duration(0.4), "0s");
        assert_eq!(duration(200.0), "3m20s");
        assert_eq!(duration(3725.0), "1h02m");
        let at = campaign::TrialProgress {
            variant: "a".into(),
            frame_size: measure::FrameSize::Bytes(64),
            purpose: measure::TrialPurpose::Search,
            round: 1,
            rounds: 3,
            trial: 12,
            trials_about: 180,
            seconds_left: 840.0,
        };
        assert_eq!(
            trial_line(&at),
            "round 1/3, variant a, 64 B: trial 12 of about 180, about 14m00s left"
        );
    }
}
