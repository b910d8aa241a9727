//! `runner compare OLD NEW`: per-cell change in median throughput between two results folders,
//! with its interval; exit 4 on a regression.

use std::fmt::Write;
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::exit::{ExitCode, UsageError};
use crate::export::csv::read_runs;
use crate::record::RunRow;
use crate::stats::{ratio_of_medians, Ratio};

pub fn run(old: &Path, new: &Path, threshold: f64) -> Result<ExitCode> {
    let read = |d: &Path| read_runs(d).with_context(|| format!("reading {}", d.display()));
    let changes = compare(&read(old)?, &read(new)?);
    if changes.is_empty() {
        return Err(UsageError("the two results folders have no cell in common".into()).into());
    }
    print!("{}", compare_markdown(&changes, threshold));
    let regressions = changes.iter().filter(|c| is_regression(c, threshold)).count();
    if regressions > 0 {
        eprintln!("runner: {regressions} cell(s) slower by more than {threshold} %");
        return Ok(ExitCode::Regression);
    }
    Ok(ExitCode::Ok)
}

/// How a cell's median throughput moved from one run to another.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub cell: String,
    pub old_tps: f64,
    pub new_tps: f64,
    /// new / old median throughput, with its 95 % interval.
    pub ratio: Ratio,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Faster,
    Slower,
    WithinNoise,
}

/// Matches cells by id; a change is real when its whole interval lies on one side of 1.
pub fn compare(old: &[RunRow], new: &[RunRow]) -> Vec<Change> {
    let tps = |rows: &[RunRow], cell: &str| -> Vec<f64> {
        rows.iter()
            .filter(|r| !r.warmup && r.cell == cell && r.wall_s > 0.0)
            .map(|r| r.throughput_tps)
            .collect()
    };
    let mut cells: Vec<&str> = Vec::new();
    for r in new {
        if !cells.contains(&r.cell.as_str()) {
            cells.push(&r.cell);
        }
    }
    cells
        .into_iter()
        .filter_map(|cell| {
            let (a, b) = (tps(old, cell), tps(new, cell));
            let ratio = ratio_of_medians(&b, &a)?;
            let verdict = if ratio.ci_low > 1.0 {
                Verdict::Faster
            } else if ratio.ci_high < 1.0 {
                Verdict::Slower
            } else {
                Verdict::WithinNoise
            };
            Some(Change {
                cell: cell.to_string(),
                old_tps: crate::stats::median(&a),
                new_tps: crate::stats::median(&b),
                ratio,
                verdict,
            })
        })
        .collect()
}

/// Slower beyond `threshold_pct` (the whole interval below it).
pub fn is_regression(c: &Change, threshold_pct: f64) -> bool {
    c.verdict == Verdict::Slower && (c.ratio.value - 1.0) * 100.0 < -threshold_pct
}

pub fn compare_markdown(changes: &[Change], threshold_pct: f64) -> String {
    let mut s = String::from(
        "| cell | old tasks/s | new tasks/s | change | 95% CI | verdict |\n|---|---:|---:|---:|---|---|\n",
    );
    for c in changes {
        let pct = |x: f64| (x - 1.0) * 100.0;
        let verdict = match c.verdict {
            Verdict::Faster => "faster",
            Verdict::Slower if is_regression(c, threshold_pct) => "SLOWER (regression)",
            Verdict::Slower => "slower",
            Verdict::WithinNoise => "within noise",
        };
        let _ = writeln!(
            s,
            "| {} | {:.2} | {:.2} | {:+.1} % | [{:+.1} %, {:+.1} %] | {verdict} |",
            c.cell,
            c.old_tps,
            c.new_tps,
            pct(c.ratio.value),
            pct(c.ratio.ci_low),
            pct(c.ratio.ci_high)
        );
    }
    s
}
