//! The table printed on the terminal at the end of a run.

use std::fmt::Write;
use std::io;
use std::path::PathBuf;

use super::{Exporter, Report};
use crate::stats::Ratio;
use crate::summary::CellSummary;

/// Prints the table to standard output.
pub struct Table;

impl Exporter for Table {
    fn report(&mut self, report: &Report) -> io::Result<Vec<PathBuf>> {
        let answer = crate::answer::text(&report.verdicts, &report.best);
        if !answer.is_empty() {
            println!("The answer:\n{answer}");
        }
        if let Some(k) = report.by_kind.as_ref().filter(|k| !k.rows.is_empty()) {
            println!("Where the answer changes between kinds of machine (summary.md sets them side by side):");
            for c in k.change_lines() {
                println!("- {c}");
            }
            println!();
        }
        for (heading, cells) in report.cell_tables() {
            if let Some(h) = heading {
                println!("{h}:");
            }
            print!("{}", table(cells));
        }
        Ok(Vec::new())
    }
}

/// `value [low, high] (confidence %)`, or `-`.
pub fn interval(r: &Option<Ratio>, digits: usize) -> String {
    r.map_or_else(
        || "-".to_string(),
        |r| {
            format!(
                "{:.digits$} [{:.digits$}, {:.digits$}] {:.1}%",
                r.value,
                r.ci_low,
                r.ci_high,
                (r.confidence * 1000.0).floor() / 10.0
            )
        },
    )
}

/// The notes behind a cell: failed repetitions first, then oversubscription, outliers, noise.
pub fn notes(c: &CellSummary) -> Vec<String> {
    let mut notes: Vec<String> = c.failure_note().into_iter().chain(c.hardware_note.clone()).collect();
    if let Some(st) = &c.stats {
        if st.oversubscribed {
            notes.push("oversubscribed: workers x intra-op threads > cores".to_string());
        }
        if !st.outliers.is_empty() {
            notes.push(format!("outlier reps {:?}", st.outliers));
        }
        if st.noisy_reps > 0 {
            notes.push(format!("{} noisy reps", st.noisy_reps));
        }
    }
    notes
}

/// A plain-text table for the terminal. Intervals are for the median (speedup: of the ratio of
/// medians), with the confidence they have at least.
pub fn table(cells: &[CellSummary]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<30} {:>4} {:>9} {:>9} {:>28} {:>6} {:>9} {:>6}",
        "cell", "reps", "wall_s", "tasks/s", "speedup [interval] conf", "cpu_%", "peak_MiB", "failed"
    );
    for c in cells {
        let notes = notes(c);
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!("  ({})", notes.join("; "))
        };
        let Some(st) = &c.stats else {
            let _ = writeln!(
                s,
                "{:<30} {:>4} {:>9} {:>9} {:>28} {:>6} {:>9} {:>6}  (no whole repetition){notes}",
                c.id, 0, "-", "-", "-", "-", "-", c.failed_reps
            );
            continue;
        };
        let _ = writeln!(
            s,
            "{:<30} {:>4} {:>9.3} {:>9.2} {:>28} {:>6.1} {:>9.1} {:>6}{notes}",
            c.id,
            c.reps,
            st.wall_s.median,
            st.throughput_tps.median,
            interval(&st.speedup, 2),
            st.cpu_util_pct,
            st.peak_rss_mib,
            c.failed_reps
        );
    }
    s
}
