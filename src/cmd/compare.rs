//! `runner compare OLD NEW`: per-cell change in median throughput between two results folders,
//! with its interval; exit 4 on a regression.

use std::fmt::Write;
use std::path::Path;

use anyhow::Context as _;

use crate::error::{Error, Result};
use crate::exit::ExitCode;
use crate::export::csv::read_runs;
use crate::plan::Cell;
use crate::record::RunRow;
use crate::stats::{median, ratio_of_medians, Ratio};

pub fn run(old: &Path, new: &Path, threshold: f64) -> Result<ExitCode> {
    let read = |d: &Path| read_runs(d).with_context(|| format!("reading {}", d.display()));
    let (old_rows, new_rows) = (read(old)?, read(new)?);
    let changes = compare(&old_rows, &new_rows);
    if changes
        .iter()
        .all(|c| matches!(c.verdict, Movement::Missing | Movement::New))
    {
        return Err(Error::usage("the two results folders have no cell in common"));
    }
    print!("{}", compare_markdown(&changes, threshold));
    let regressions: Vec<&Change> = changes.iter().filter(|c| is_regression(c, threshold)).collect();
    for c in &regressions {
        eprintln!("runner: regression: {}: {}", c.cell, why(c, threshold));
    }
    if !regressions.is_empty() {
        eprintln!("runner: {} cell(s) regressed", regressions.len());
        return Ok(ExitCode::Regression);
    }
    Ok(ExitCode::Ok)
}

/// How a cell's median throughput moved from one run to another.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub cell: String,
    pub old_tps: Option<f64>,
    pub new_tps: Option<f64>,
    /// new / old median throughput over whole repetitions, with its interval.
    pub ratio: Option<Ratio>,
    pub verdict: Movement,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Movement {
    /// The whole interval above 1.
    Faster,
    /// The whole interval below 1.
    Slower,
    WithinNoise,
    /// In OLD, absent from NEW.
    Missing,
    /// In NEW, but none of its repetitions there was whole.
    Failed,
    /// OLD has no whole repetition of it: nothing to compare against.
    NoBaseline,
    /// Only in NEW.
    New,
}

/// The throughput of a cell's whole measured repetitions.
fn tps(rows: &[RunRow], cell: &Cell) -> Vec<f64> {
    rows.iter()
        .filter(|r| !r.warmup && r.cell == *cell && r.is_whole())
        .map(|r| r.m.throughput_tps)
        .collect()
}

/// Matches cells (the same typed cell, so the same id), OLD's first; a change is real when its
/// whole interval lies on one side of 1. Only whole repetitions count.
pub fn compare(old: &[RunRow], new: &[RunRow]) -> Vec<Change> {
    let mut cells: Vec<Cell> = Vec::new();
    for r in old.iter().chain(new) {
        if !cells.contains(&r.cell) {
            cells.push(r.cell);
        }
    }
    cells
        .iter()
        .map(|cell| {
            let (in_old, in_new) = (old.iter().any(|r| r.cell == *cell), new.iter().any(|r| r.cell == *cell));
            let (a, b) = (tps(old, cell), tps(new, cell));
            let ratio = ratio_of_medians(&b, &a);
            let verdict = match (in_old, in_new, &ratio) {
                (true, false, _) => Movement::Missing,
                (false, true, _) => Movement::New,
                _ if b.is_empty() => Movement::Failed,
                _ if a.is_empty() => Movement::NoBaseline,
                (_, _, Some(r)) if r.ci_low > 1.0 => Movement::Faster,
                (_, _, Some(r)) if r.ci_high < 1.0 => Movement::Slower,
                _ => Movement::WithinNoise,
            };
            Change {
                cell: cell.id(),
                old_tps: (!a.is_empty()).then(|| median(&a)),
                new_tps: (!b.is_empty()).then(|| median(&b)),
                ratio,
                verdict,
            }
        })
        .collect()
}

/// A regression: slower beyond `threshold_pct` with the whole interval, or a cell of OLD that
/// is missing from NEW or has no whole repetition there.
pub fn is_regression(c: &Change, threshold_pct: f64) -> bool {
    match c.verdict {
        Movement::Missing | Movement::Failed => true,
        Movement::Slower => c.ratio.is_some_and(|r| r.ci_high < 1.0 - threshold_pct / 100.0),
        _ => false,
    }
}

fn why(c: &Change, threshold_pct: f64) -> String {
    match (c.verdict, c.ratio) {
        (Movement::Missing, _) => "in OLD, missing from NEW".into(),
        (Movement::Failed, _) => "no repetition in NEW was whole (see its runs.csv error column)".into(),
        (_, Some(r)) => format!(
            "throughput {:+.1} %, interval [{:+.1} %, {:+.1} %] wholly below -{threshold_pct} %",
            (r.value - 1.0) * 100.0,
            (r.ci_low - 1.0) * 100.0,
            (r.ci_high - 1.0) * 100.0
        ),
        _ => String::new(),
    }
}

pub fn compare_markdown(changes: &[Change], threshold_pct: f64) -> String {
    let mut s = String::from(
        "| cell | old tasks/s | new tasks/s | change | interval (confidence) | verdict |\n|---|---:|---:|---:|---|---|\n",
    );
    let tps = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
    for c in changes {
        let pct = |x: f64| (x - 1.0) * 100.0;
        let verdict = match c.verdict {
            _ if is_regression(c, threshold_pct) => match c.verdict {
                Movement::Missing => "MISSING (regression)",
                Movement::Failed => "FAILED (regression)",
                _ => "SLOWER (regression)",
            },
            Movement::Faster => "faster",
            Movement::Slower => "slower",
            Movement::WithinNoise => "within noise",
            Movement::NoBaseline => "no whole repetition in OLD",
            Movement::New => "new cell",
            Movement::Missing | Movement::Failed => unreachable!("always a regression"),
        };
        let (change, interval) = match (c.ratio, c.verdict) {
            (Some(r), Movement::Faster | Movement::Slower | Movement::WithinNoise) => (
                format!("{:+.1} %", pct(r.value)),
                format!(
                    "[{:+.1} %, {:+.1} %] ({:.1} %)",
                    pct(r.ci_low),
                    pct(r.ci_high),
                    r.confidence * 100.0
                ),
            ),
            _ => ("-".to_string(), "-".to_string()),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {change} | {interval} | {verdict} |",
            c.cell,
            tps(c.old_tps),
            tps(c.new_tps)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pools::ExecutorKind;
    use crate::testing::{cell, row};

    fn rows(executor: ExecutorKind, walls: &[f64]) -> Vec<RunRow> {
        let c = cell(executor, 2);
        walls.iter().enumerate().map(|(i, w)| row(&c, i, *w, None)).collect()
    }

    const SIX: [f64; 6] = [1.0, 1.01, 0.99, 1.02, 0.98, 1.0];

    #[test]
    fn slower_counts_only_with_the_whole_interval_beyond_the_threshold() {
        let old = rows(ExecutorKind::named("thread").unwrap(), &SIX);
        // 20 % slower with tight samples: the whole interval is beyond 5 %.
        let slow = rows(ExecutorKind::named("thread").unwrap(), &SIX.map(|w| w * 1.25));
        let c = &compare(&old, &slow)[0];
        assert_eq!(c.verdict, Movement::Slower);
        assert!(is_regression(c, 5.0));
        // 6 % slower: the point estimate is beyond 5 %, the interval is not.
        let a_bit = rows(ExecutorKind::named("thread").unwrap(), &SIX.map(|w| w * 1.064));
        let c = &compare(&old, &a_bit)[0];
        assert!(c.ratio.unwrap().value < 0.95, "{c:?}");
        assert!(!is_regression(c, 5.0), "{c:?}");
    }

    #[test]
    fn a_missing_or_failed_cell_is_a_regression() {
        let mut old = rows(ExecutorKind::named("thread").unwrap(), &SIX);
        old.extend(rows(ExecutorKind::named("process").unwrap(), &SIX));
        let only_thread = rows(ExecutorKind::named("thread").unwrap(), &SIX);
        let changes = compare(&old, &only_thread);
        let missing = changes.iter().find(|c| c.cell.contains("process")).unwrap();
        assert_eq!(missing.verdict, Movement::Missing);
        assert!(is_regression(missing, 5.0));

        let p = cell(ExecutorKind::named("process").unwrap(), 2);
        let mut failed = only_thread.clone();
        failed.extend((0..6).map(|i| row(&p, i, 0.1, Some("interrupted"))));
        let changes = compare(&old, &failed);
        let f = changes.iter().find(|c| c.cell.contains("process")).unwrap();
        assert_eq!(f.verdict, Movement::Failed);
        assert!(is_regression(f, 5.0));
        assert!(compare_markdown(&changes, 5.0).contains("FAILED (regression)"));
    }
}
