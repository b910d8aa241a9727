//! `runner report DIR`: (re)writes a results folder's report (summary.md, the SVG charts,
//! report.html and results.json) from its runs.csv; a run and a merge write the same through
//! [`write`](fn@write).

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::envinfo::Env;
use crate::error::Result;
use crate::exit::ExitCode;
use crate::export::csv::read_runs;
use crate::export::table::Table;
use crate::export::{reports, Exporter, Report};
use crate::record::RunRow;

pub fn run(dir: &Path) -> Result<ExitCode> {
    let title = dir
        .parent()
        .and_then(|p| p.file_name())
        .map_or("results".into(), |n| n.to_string_lossy().into_owned());
    let rows = read_runs(dir).with_context(|| format!("reporting on {}", dir.display()))?;
    let report = Report::new(&title, &rows, env(dir))?;
    for f in reports(dir)
        .report(&report)
        .with_context(|| format!("reporting on {}", dir.display()))?
    {
        println!("{}", f.display());
    }
    Ok(ExitCode::Ok)
}

/// A results folder's env.json, if it has a readable one.
fn env(dir: &Path) -> Option<Env> {
    Env::read(dir)
}

/// The end of a run or a merge: the answer and table on the terminal, then the report's files
/// in `dir`. A report that cannot be written is a warning: the rows it is made from are safe
/// in runs.csv, and `runner report DIR` writes it again.
pub fn write(dir: &Path, title: &str, rows: &[RunRow]) -> Vec<PathBuf> {
    let written = Report::new(title, rows, env(dir)).and_then(|report| {
        Table.report(&report)?;
        reports(dir).report(&report)
    });
    match written {
        Ok(files) => files,
        Err(e) => {
            eprintln!(
                "runner: warning: the report could not be written ({e:#}); `runner report {}` tries again",
                dir.display()
            );
            Vec::new()
        }
    }
}
