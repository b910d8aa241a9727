//! `runner report DIR`: (re)writes summary.md, the SVG charts and report.html of a results folder from its
//! runs.csv; the end of a run writes the same through [`write`].

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::exit::ExitCode;
use crate::export::csv::read_runs;
use crate::export::html::Html;
use crate::export::markdown::Markdown;
use crate::export::svg::Svg;
use crate::export::{Exporter, Exporters, Report};
use crate::summary::summarize;

pub fn run(dir: &Path) -> Result<ExitCode> {
    let title = dir
        .parent()
        .and_then(|p| p.file_name())
        .map_or("results".into(), |n| n.to_string_lossy().into_owned());
    let rows = read_runs(dir).with_context(|| format!("reporting on {}", dir.display()))?;
    let cells = summarize(&rows);
    let env: serde_json::Value = std::fs::read_to_string(dir.join("env.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let report = Report {
        title: &title,
        rows: &rows,
        cells: &cells,
        preoptimize_s: env["model_preoptimize_s"].as_f64(),
    };
    for f in write(dir, &report).with_context(|| format!("reporting on {}", dir.display()))? {
        println!("{}", f.display());
    }
    Ok(ExitCode::Ok)
}

/// Writes summary.md and the charts into `dir`; returns the files written.
pub fn write(dir: &Path, report: &Report) -> Result<Vec<PathBuf>> {
    // The page embeds the charts: it comes after them.
    let mut out = Exporters(vec![
        Box::new(Markdown(dir.to_path_buf())),
        Box::new(Svg(dir.to_path_buf())),
        Box::new(Html(dir.to_path_buf())),
    ]);
    out.report(report)
}
