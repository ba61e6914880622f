//! The `coo-click` command line (Click-compatible); the binary is `src/bin/coo-click.rs` of the
//! root package.
//!
//! `coo-click [OPTIONS] [FILE] [NAME=VALUE...]` with Click's options `-f FILE`, `-e EXPR`,
//! `-h ELEM.HANDLER`, `-x ELEM.HANDLER`, `-q`, `-o FILE`, `-p PORT`, `-u PATH`, `-R`,
//! `--simtime[=T]`, `-t`, `--help`, `--version`, plus `--ports IF0,IF1` and
//! `--io-mode balanced|throughput|latency` for the I/O glue.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod archive;
pub mod io_glue;
pub mod signals;

use click::{
    ConfinedEnv, Registry, Router, RouterOptions, SimClock, StdEnv, SystemClock, Timestamp,
};
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// I/O-related command-line values handed to [`io_glue::Glue`].
#[derive(Debug, Clone, Default)]
pub struct IoCli {
    /// `--ports IF0,IF1`: FromDPDKDevice(N)/ToDPDKDevice(N) → N-th interface.
    pub ports: Vec<String>,
    /// `--io-mode balanced|throughput|latency`.
    pub io_mode: Option<String>,
    /// `--rx-buffer-kib N`: receive ring size per device.
    pub rx_buffer_kib: Option<String>,
    /// `-p PORT` ControlSocket TCP port.
    pub control_port: Option<String>,
    /// `-u PATH` ControlSocket UNIX socket.
    pub control_unix: Option<String>,
}

/// Parsed command line.
#[derive(Debug, Default)]
pub struct Cli {
    /// Configuration file (`-` = stdin).
    pub file: Option<String>,
    /// `-e` expression.
    pub expr: Option<String>,
    /// `-h` handlers to print after the run.
    pub handlers: Vec<String>,
    /// `-x` exit handler.
    pub exit_handler: Option<String>,
    /// `-q`.
    pub quit: bool,
    /// `-o FILE`.
    pub output: Option<String>,
    /// `-R`.
    pub hotswap: bool,
    /// `--simtime[=T]`.
    pub simtime: Option<f64>,
    /// `-t`.
    pub timing: bool,
    /// `NAME=value` defines.
    pub defines: Vec<(String, String)>,
    /// I/O options.
    pub io: IoCli,
    /// `--confine-files DIR`: file outputs of elements only inside DIR (set by the agent).
    pub confine_files: Option<String>,
    /// `--help`.
    pub help: bool,
    /// `--version`.
    pub version: bool,
}

const HELP: &str = "'coo-click' runs a Click router configuration at user level (Rust engine,
command-line compatible with Click's 'click').

Usage: coo-click [OPTION]... [ROUTERFILE] [PARAM=VALUE]...

Options:
  -f, --file FILE               Read router configuration from FILE.
  -e, --expression EXPR         Use EXPR as router configuration.
  -p, --port PORT               Listen for control connections on TCP port.
  -u, --unix-socket FILE        Listen for control connections on Unix socket.
  -R, --allow-reconfigure       Provide a writable 'hotconfig' handler.
  -h, --handler ELEMENT.H       Call ELEMENT's read handler H after running
                                driver and print result to standard output.
  -x, --exit-handler ELEMENT.H  Use handler ELEMENT.H value for exit status.
  -o, --output FILE             Write flat configuration to FILE.
  -q, --quit                    Do not run driver.
  -t, --time                    Print information on how long driver took.
      --simtime                 Run in simulation time.
      --ports IF0,IF1,...       Interface for FromDPDKDevice(N)/ToDPDKDevice(N).
      --io-mode MODE            balanced (default: per-frame ring, sleeps when idle),
                                throughput (1 ms blocks) or latency (busy-poll).
      --rx-buffer-kib N         Receive ring per device, KiB (default 8192).
      --confine-files DIR       Elements may write files only inside DIR.
  -C, --clickpath PATH          Ignored (no dynamic packages).
  -j, --threads N               Ignored (one thread).
      --help                    Print this message and exit.
  -v, --version                 Print version number and exit.
";

/// Parse Click-style arguments (clustered short options such as `-qo-` or `-qh c.program`).
pub fn parse_args(args: &[String]) -> Result<Cli, String> {
    let mut cli = Cli::default();
    let mut i = 0;
    let take = |i: &mut usize, rest: &str, name: &str| -> Result<String, String> {
        if !rest.is_empty() {
            return Ok(rest.to_string());
        }
        *i += 1;
        args.get(*i)
            .cloned()
            .ok_or_else(|| format!("'{name}' requires a value"))
    };
    while i < args.len() {
        let a = &args[i];
        if let Some(long) = a.strip_prefix("--") {
            let (name, val) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let need = |i: &mut usize| -> Result<String, String> {
                match &val {
                    Some(v) => Ok(v.clone()),
                    None => take(i, "", name),
                }
            };
            match name {
                "help" => cli.help = true,
                "version" => cli.version = true,
                "file" => cli.file = Some(need(&mut i)?),
                "expression" => cli.expr = Some(need(&mut i)?),
                "handler" => cli.handlers.push(need(&mut i)?),
                "exit-handler" => cli.exit_handler = Some(need(&mut i)?),
                "output" => cli.output = Some(need(&mut i)?),
                "port" => cli.io.control_port = Some(need(&mut i)?),
                "unix-socket" => cli.io.control_unix = Some(need(&mut i)?),
                "quit" => cli.quit = true,
                "time" => cli.timing = true,
                "allow-reconfigure" | "hotswap" => cli.hotswap = true,
                "simtime" | "simulation-time" => {
                    cli.simtime = Some(match val {
                        Some(v) => v
                            .parse()
                            .map_err(|_| format!("bad --simtime value '{v}'"))?,
                        None => 1_000_000_000.0,
                    })
                }
                "ports" => {
                    cli.io.ports = need(&mut i)?
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                }
                "io-mode" => cli.io.io_mode = Some(need(&mut i)?),
                "rx-buffer-kib" => cli.io.rx_buffer_kib = Some(need(&mut i)?),
                "confine-files" => cli.confine_files = Some(need(&mut i)?),
                "clickpath" | "threads" | "cpu" | "affinity" => {
                    need(&mut i)?;
                }
                "warnings" | "no-warnings" | "no-threads" => {}
                _ => return Err(format!("unrecognized option '--{name}'")),
            }
        } else if a.starts_with('-') && a.len() > 1 {
            let chars: Vec<char> = a[1..].chars().collect();
            let mut k = 0;
            while k < chars.len() {
                let c = chars[k];
                let rest: String = chars[k + 1..].iter().collect();
                match c {
                    'q' => cli.quit = true,
                    't' => cli.timing = true,
                    'R' => cli.hotswap = true,
                    'v' => cli.version = true,
                    'w' => {}
                    'f' | 'e' | 'h' | 'x' | 'o' | 'p' | 'u' | 'C' | 'j' | 'a' => {
                        let v = take(&mut i, &rest, &format!("-{c}"))?;
                        match c {
                            'f' => cli.file = Some(v),
                            'e' => cli.expr = Some(v),
                            'h' => cli.handlers.push(v),
                            'x' => cli.exit_handler = Some(v),
                            'o' => cli.output = Some(v),
                            'p' => cli.io.control_port = Some(v),
                            'u' => cli.io.control_unix = Some(v),
                            _ => {}
                        }
                        break;
                    }
                    _ => return Err(format!("unrecognized option '-{c}'")),
                }
                k += 1;
            }
        } else if let Some((n, v)) = a.split_once('=').filter(|(n, _)| {
            !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }) {
            cli.defines.push((n.to_string(), v.to_string()));
        } else if cli.file.is_none() && cli.expr.is_none() {
            cli.file = Some(a.clone());
        } else {
            return Err(format!("router configuration specified twice ('{a}')"));
        }
        i += 1;
    }
    Ok(cli)
}

fn read_config(cli: &Cli) -> Result<(String, String), String> {
    if let Some(e) = &cli.expr {
        return Ok((e.clone(), "config".into()));
    }
    match cli.file.as_deref() {
        None | Some("-") => {
            let mut s = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut s)
                .map_err(|e| format!("<stdin>: {e}"))?;
            Ok((config_text(&s, "<stdin>")?, "<stdin>".into()))
        }
        Some(f) => {
            let s = std::fs::read(f).map_err(|e| format!("{f}: {e}"))?;
            Ok((config_text(&s, f)?, f.to_string()))
        }
    }
}

/// A configuration file's text; archives give their `config` member.
fn config_text(bytes: &[u8], name: &str) -> Result<String, String> {
    match archive::config(bytes) {
        Some(r) => r.map_err(|e| format!("{name}: {e}")),
        None => Ok(String::from_utf8_lossy(bytes).into_owned()),
    }
}

fn router_options(cli: &Cli) -> Result<RouterOptions, String> {
    let env: Box<dyn click::Env> = match &cli.confine_files {
        Some(dir) => Box::new(
            ConfinedEnv::new(std::path::Path::new(dir))
                .map_err(|e| format!("--confine-files {dir}: {e}"))?,
        ),
        None => Box::new(StdEnv),
    };
    Ok(RouterOptions {
        clock: match cli.simtime {
            Some(t) => Box::new(SimClock::new(Timestamp::from_secs_f64(t))),
            None => Box::new(SystemClock::default()),
        },
        env,
        defines: cli.defines.clone(),
    })
}

fn glob_match(pat: &str, s: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    fn m(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len()).any(|k| m(&p[1..], &t[k..])),
            Some('?') => !t.is_empty() && m(&p[1..], &t[1..]),
            Some(c) => t.first() == Some(c) && m(&p[1..], &t[1..]),
        }
    }
    m(&p, &t)
}

/// Expand `-h` arguments: globs on element names and class names (`Queue.length`).
fn expand_handlers(router: &Router, specs: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for s in specs {
        let Some((e, h)) = s.rsplit_once('.') else {
            out.push(s.clone());
            continue;
        };
        if router.element_index(e).is_some() {
            out.push(s.clone());
            continue;
        }
        let names = router.element_names();
        let mut found = false;
        for (i, n) in names.iter().enumerate() {
            let class = router.element_class(i).unwrap_or("");
            // Like Click, a glob or class name selects only elements with that handler.
            let name = format!("{n}.{h}");
            if (glob_match(e, n) || class == e) && router.handler_flags(&name).is_some() {
                out.push(name);
                found = true;
            }
        }
        if !found {
            out.push(s.clone());
        }
    }
    out
}

fn print_handlers(router: &mut Router, specs: &[String]) -> bool {
    let list = expand_handlers(router, specs);
    let mut ok = true;
    let mut stdout = std::io::stdout().lock();
    let multi = list.len() > 1;
    for h in &list {
        match router.handler_flags(h) {
            None => {
                eprintln!("no '{h}' handler");
                ok = false;
                continue;
            }
            Some((false, _)) => {
                eprintln!("'{h}' is a write handler");
                ok = false;
                continue;
            }
            _ => {}
        }
        match router.read_handler(h) {
            Ok(mut v) => {
                if !v.is_empty() && !v.ends_with('\n') {
                    v.push('\n');
                }
                if multi {
                    let _ = write!(stdout, "{h}:\n{v}\n");
                } else {
                    let _ = write!(stdout, "{v}");
                }
            }
            Err(e) => {
                eprintln!("{h}: {e}");
                ok = false;
            }
        }
    }
    let _ = stdout.flush();
    ok
}

fn exit_from_handler(router: &mut Router, h: &str) -> ExitCode {
    match router.read_handler(h) {
        Ok(v) => {
            let v = v.trim();
            if let Ok(n) = v.parse::<i64>() {
                ExitCode::from(n.clamp(0, 255) as u8)
            } else {
                match click::args::parse_bool(v) {
                    Some(true) => ExitCode::SUCCESS,
                    Some(false) => ExitCode::from(1),
                    None => {
                        eprintln!("{h}: expected integer or boolean exit value");
                        ExitCode::from(1)
                    }
                }
            }
        }
        Err(e) => {
            eprintln!("{h}: {e}");
            ExitCode::from(1)
        }
    }
}

fn report_config_error(e: &click::ConfigError) {
    for m in &e.messages {
        eprintln!("{m}");
    }
    if e.during_init {
        eprintln!("Router could not be initialized!");
    }
}

/// Run the driver loop until the router stops. Returns false on an I/O setup error.
pub fn drive(
    router: &mut Router,
    glue: &mut io_glue::Glue,
    cli: &Cli,
    registry: &Registry,
) -> bool {
    let mut signals = signals::Signals::default();
    loop {
        if router.stopped() {
            break;
        }
        if signals.any() || router.has_signal_handlers() {
            match signals.service(router) {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    eprintln!("coo-click: {e}");
                    return false;
                }
            }
        }
        let mut work = router.run_tasks_once();
        work |= glue.poll(router);
        if let Some(text) = router.take_hotconfig() {
            if cli.hotswap {
                let mut opts = match router_options(cli) {
                    Ok(o) => o,
                    Err(e) => {
                        eprintln!("coo-click: {e}");
                        continue;
                    }
                };
                // Time (simulated or warped) goes on across the swap, as Click's global clock.
                opts.clock = router.share_clock();
                match Router::with_options(&text, "hotconfig", registry, opts) {
                    Ok(mut new) => {
                        // A stop requested before the swap (the DriverManager that wrote
                        // hotconfig ended) belongs to the driver, not to the old router: as
                        // in Click, the new router gets one round of tasks, then the driver
                        // stops.
                        let stop_pending = router.stop_pending();
                        new.take_state_from(router);
                        router.cleanup();
                        *router = new;
                        if let Err(e) = glue.start(router, &cli.io) {
                            eprintln!("coo-click: {e}");
                        }
                        if stop_pending {
                            router.run_tasks_once();
                            router.stop();
                        }
                    }
                    Err(e) => report_config_error(&e),
                }
            }
            continue;
        }
        if work || router.has_scheduled_tasks() {
            continue;
        }
        let next = router.next_timer();
        if router.time_jumps() {
            match next {
                Some(t) => router.advance_clock(t),
                None if glue.keeps_alive(router) || !router.simulated_time() => {
                    glue.wait_idle(router, Duration::from_millis(10))
                }
                // Nothing can ever happen again in simulated time.
                None => break,
            }
            continue;
        }
        let wait = match next {
            Some(t) => {
                let now = router.now();
                if t <= now {
                    continue;
                }
                router.real_wait(t - now).min(Duration::from_millis(100))
            }
            None => Duration::from_millis(100),
        };
        // A caught signal is noticed between waits.
        let wait = if signals.any() {
            wait.min(Duration::from_millis(5))
        } else {
            wait
        };
        glue.wait_idle(router, wait);
    }
    true
}

/// Entry point of the `coo-click` binary.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = match parse_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("coo-click: {e}\nUsage: coo-click [OPTION]... [ROUTERFILE]\nTry 'coo-click --help' for more information.");
            return ExitCode::from(1);
        }
    };
    if cli.help {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    }
    if cli.version {
        println!("click (Click) {}", click::CLICK_VERSION);
        println!(
            "coo-click {} (Rust engine of coo-bench)",
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    let (text, file) = match read_config(&cli) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let mut registry = Registry::standard();
    let mut glue = match io_glue::Glue::install(&mut registry, &cli.io) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("coo-click: {e}");
            return ExitCode::from(1);
        }
    };
    if let Some(out) = &cli.output {
        match Router::flatten(&text, &file, &registry, &cli.defines) {
            Ok(flat) => {
                let s = flat.unparse();
                let r = if out == "-" {
                    std::io::stdout().write_all(s.as_bytes())
                } else {
                    std::fs::write(out, s)
                };
                if let Err(e) = r {
                    eprintln!("{out}: {e}");
                    return ExitCode::from(1);
                }
            }
            Err(e) => {
                report_config_error(&e);
                return ExitCode::from(1);
            }
        }
    }
    let opts = match router_options(&cli) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("coo-click: {e}");
            return ExitCode::from(1);
        }
    };
    let mut router = match Router::with_options(&text, &file, &registry, opts) {
        Ok(r) => r,
        Err(e) => {
            report_config_error(&e);
            return ExitCode::from(1);
        }
    };
    if let Err(e) = glue.start(&mut router, &cli.io) {
        eprintln!("coo-click: {e}");
        return ExitCode::from(1);
    }
    let t0 = Instant::now();
    if !cli.quit {
        drive(&mut router, &mut glue, &cli, &registry);
    }
    router.cleanup();
    if cli.timing {
        eprintln!("{:.6} real", t0.elapsed().as_secs_f64());
    }
    let ok = print_handlers(&mut router, &cli.handlers);
    if let Some(h) = &cli.exit_handler {
        return exit_from_handler(&mut router, h);
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn clustered_options() {
        let c = parse_args(&v(&["-qo-", "-e", "Idle"])).unwrap();
        assert!(c.quit);
        assert_eq!(c.output.as_deref(), Some("-"));
        let c = parse_args(&v(&[
            "-qh",
            "c.program",
            "f.click",
            "X=1",
            "--simtime",
            "--ports",
            "a,b",
        ]))
        .unwrap();
        assert_eq!(c.handlers, vec!["c.program"]);
        assert_eq!(c.file.as_deref(), Some("f.click"));
        assert_eq!(c.defines, vec![("X".to_string(), "1".to_string())]);
        assert_eq!(c.simtime, Some(1e9));
        assert_eq!(c.io.ports, vec!["a", "b"]);
    }

    #[test]
    fn globbing() {
        assert!(glob_match("c*", "counter"));
        assert!(!glob_match("c?", "counter"));
    }
}
