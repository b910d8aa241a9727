//! The table printed on the terminal at the end of a run.

use std::fmt::Write;
use std::path::PathBuf;

use super::{Exporter, Report};
use crate::stats::Ratio;
use crate::summary::CellSummary;

/// Prints the table to standard output.
pub struct Table;

impl Exporter for Table {
    fn report(&mut self, report: &Report) -> anyhow::Result<Vec<PathBuf>> {
        print!("{}", table(report.cells));
        Ok(Vec::new())
    }
}

/// `value [low, high]`, or `-`.
pub fn interval(r: &Option<Ratio>, digits: usize) -> String {
    r.map_or_else(
        || "-".to_string(),
        |r| format!("{:.digits$} [{:.digits$}, {:.digits$}]", r.value, r.ci_low, r.ci_high),
    )
}

/// A plain-text table for the terminal.
pub fn table(cells: &[CellSummary]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<30} {:>4} {:>9} {:>9} {:>22} {:>6} {:>9} {:>6}",
        "cell", "reps", "wall_s", "tasks/s", "speedup [95% CI]", "cpu_%", "peak_MiB", "failed"
    );
    for c in cells {
        let mut notes = Vec::new();
        if c.oversubscribed {
            notes.push("oversubscribed: workers x intra-op threads > cores".to_string());
        }
        if !c.outliers.is_empty() {
            notes.push(format!("outlier reps {:?}", c.outliers));
        }
        if c.noisy_reps > 0 {
            notes.push(format!("{} noisy reps", c.noisy_reps));
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!("  ({})", notes.join("; "))
        };
        let _ = writeln!(
            s,
            "{:<30} {:>4} {:>9.3} {:>9.2} {:>22} {:>6.1} {:>9.1} {:>6}{notes}",
            c.cell,
            c.reps,
            c.wall_s.median,
            c.throughput_tps.median,
            interval(&c.speedup, 2),
            c.cpu_util_pct,
            c.peak_rss_mib,
            c.tasks_failed
        );
    }
    s
}
