//! summary.md: the statistics table, where the time goes, and what it costs.

use std::fmt::Write;
use std::path::PathBuf;

use super::table::interval;
use super::{Exporter, Report};
use crate::summary::{CellSummary, STAGES};

/// Writes `summary.md` into a results folder.
pub struct Markdown(pub PathBuf);

impl Exporter for Markdown {
    fn report(&mut self, report: &Report) -> anyhow::Result<Vec<PathBuf>> {
        let path = self.0.join("summary.md");
        std::fs::write(&path, markdown(report.title, report.cells))?;
        Ok(vec![path])
    }
}

/// The Markdown report: the statistics table, where the time goes, and what it costs.
pub fn markdown(title: &str, cells: &[CellSummary]) -> String {
    let mut s = format!("# {title}\n\nMedians over the measured repetitions; intervals are 95 % bootstrap intervals of the median \
(2000 resamples, fixed seed). Speedup is T1/TN against the sequential cell with the same work; efficiency is T1/(N x TN), N = workers. \
Outliers: repetitions whose wall time has |modified Z| > 3.5.\n\n");
    s += "| cell | reps | wall s (median) | mean | sd | min | max | wall 95% CI | tasks/s | speedup [95% CI] | efficiency [95% CI] | outliers |\n";
    s += "|---|---:|---:|---:|---:|---:|---:|---|---:|---|---|---|\n";
    for c in cells {
        let w = &c.wall_s;
        let _ = writeln!(
            s,
            "| {} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | [{:.4}, {:.4}] | {:.2} | {} | {} | {} |",
            c.cell,
            c.reps,
            w.median,
            w.mean,
            w.std_dev,
            w.min,
            w.max,
            w.ci_low,
            w.ci_high,
            c.throughput_tps.median,
            interval(&c.speedup, 2),
            interval(&c.efficiency, 2),
            if c.outliers.is_empty() {
                "-".to_string()
            } else {
                format!("{:?}", c.outliers)
            }
        );
    }
    s += "\n## Cost\n\n| cell | CPU s | CPU util % | peak RSS MiB (summed) | PSS MiB (end of tasks) | other processes' CPU s | noisy reps | failed tasks | note |\n";
    s += "|---|---:|---:|---:|---:|---:|---:|---:|---|\n";
    for c in cells {
        let _ = writeln!(
            s,
            "| {} | {:.3} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} |",
            c.cell,
            c.cpu_s,
            c.cpu_util_pct,
            c.peak_rss_mib,
            c.pss_mib,
            c.other_cpu_s.map_or("-".to_string(), |v| format!("{v:.3}")),
            c.noisy_reps,
            c.tasks_failed,
            if c.oversubscribed { "oversubscribed" } else { "" }
        );
    }
    s += "\n## Where the time goes (median ms per task)\n\n| cell |";
    for st in STAGES {
        s += &format!(" {st} |");
    }
    s += "\n|---|";
    s += &"---:|".repeat(STAGES.len());
    s += "\n";
    for c in cells {
        s += &format!("| {} |", c.cell);
        for v in c.stage_ms {
            s += &format!(" {v:.2} |");
        }
        s += "\n";
    }
    s += "\n`wait` is the median time from the start of the task phase until a worker took the task; `ipc` is the \
process pool's round trip beyond the task's own time. Peak RSS is summed over the parent and every worker, so pages \
shared copy-on-write after fork count once per process; PSS splits them and adds up to what the pool really occupies.\n";
    s
}
