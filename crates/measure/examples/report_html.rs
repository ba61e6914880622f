//! Renders report.html from an existing report.json (e.g. one written before report.html
//! existed): `cargo run -p measure --example report_html -- RUN_DIR/report.json`; the page is
//! written next to it.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: report_html REPORT.json");
        return ExitCode::from(2);
    };
    let report = match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| measure::Report::from_json(&t).map_err(|e| e.to_string()))
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let out = path.with_file_name("report.html");
    let html = measure::html::report_html(&report);
    if let Err(e) = std::fs::write(&out, &html) {
        eprintln!("{}: {e}", out.display());
        return ExitCode::from(1);
    }
    eprintln!("wrote {} ({} bytes)", out.display(), html.len());
    ExitCode::SUCCESS
}
