//! The table printed at the end: per cell, medians over the measured repetitions and the
//! speedup against the sequential cell that did the same work.

use std::fmt::Write;

use crate::measure::percentile;
use crate::sink::RunRow;

#[derive(Debug, Clone, PartialEq)]
pub struct CellSummary {
    pub cell: String,
    pub workload: String,
    pub executor: String,
    pub workers: usize,
    pub intra_op_threads: Option<usize>,
    pub sets: usize,
    pub reps: usize,
    pub wall_s: f64,
    pub throughput_tps: f64,
    pub speedup: Option<f64>,
    pub cpu_util_pct: f64,
    pub peak_rss_mib: f64,
    pub tasks_failed: usize,
    pub oversubscribed: bool,
}

fn median(v: impl Iterator<Item = f64>) -> f64 {
    percentile(&v.collect::<Vec<_>>(), 50.0).unwrap_or(f64::NAN)
}

/// One summary per cell, in the order the cells ran; warm-ups are left out.
pub fn summarize(rows: &[RunRow]) -> Vec<CellSummary> {
    let measured: Vec<&RunRow> = rows.iter().filter(|r| !r.warmup).collect();
    let mut cells: Vec<&str> = Vec::new();
    for r in &measured {
        if !cells.contains(&r.cell.as_str()) {
            cells.push(&r.cell);
        }
    }
    let mut out: Vec<CellSummary> = cells
        .iter()
        .map(|cell| {
            let rs: Vec<&&RunRow> = measured.iter().filter(|r| r.cell == *cell).collect();
            let first = rs[0];
            CellSummary {
                cell: cell.to_string(),
                workload: first.workload.clone(),
                executor: first.executor.clone(),
                workers: first.workers,
                intra_op_threads: first.intra_op_threads,
                sets: first.sets,
                reps: rs.len(),
                wall_s: median(rs.iter().map(|r| r.wall_s)),
                throughput_tps: median(rs.iter().map(|r| r.throughput_tps)),
                speedup: None,
                cpu_util_pct: median(rs.iter().map(|r| r.cpu_util_pct)),
                peak_rss_mib: median(rs.iter().map(|r| r.peak_rss_mib)),
                tasks_failed: rs.iter().map(|r| r.tasks_failed).sum(),
                oversubscribed: first.oversubscribed,
            }
        })
        .collect();
    let baselines: Vec<CellSummary> = out.iter().filter(|c| c.executor == "sequential").cloned().collect();
    for c in &mut out {
        let base = baselines
            .iter()
            .find(|b| b.workload == c.workload && b.sets == c.sets && b.intra_op_threads == c.intra_op_threads);
        if let Some(b) = base {
            if c.wall_s > 0.0 && b.wall_s.is_finite() {
                c.speedup = Some(b.wall_s / c.wall_s);
            }
        }
    }
    out
}

/// A plain-text table for the terminal.
pub fn table(cells: &[CellSummary]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<34} {:>4} {:>9} {:>10} {:>8} {:>7} {:>9} {:>6}",
        "cell", "reps", "wall_s", "tasks/s", "speedup", "cpu_%", "peak_MiB", "failed"
    );
    for c in cells {
        let speedup = c.speedup.map_or_else(|| "-".to_string(), |x| format!("{x:.2}x"));
        let mark = if c.oversubscribed {
            " (oversubscribed: workers x intra-op threads > cores)"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "{:<34} {:>4} {:>9.3} {:>10.2} {:>8} {:>7.1} {:>9.1} {:>6}{mark}",
            c.cell, c.reps, c.wall_s, c.throughput_tps, speedup, c.cpu_util_pct, c.peak_rss_mib, c.tasks_failed
        );
    }
    s
}
