//! Per-cell statistics over the measured repetitions, and the table printed at the end: the
//! median with its 95 % interval, speedup and parallel efficiency against the sequential cell
//! that did the same work, outliers, and the costs.

use std::fmt::Write;

use serde::Serialize;

use crate::sink::RunRow;
use crate::stats::{median, outliers, ratio_of_medians, summarize as describe, Ratio, Summary};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellSummary {
    pub cell: String,
    pub workload: String,
    pub executor: String,
    pub workers: usize,
    pub intra_op_threads: Option<usize>,
    pub sets: usize,
    pub reps: usize,
    pub wall_s: Summary,
    pub throughput_tps: Summary,
    /// T1 / TN: the baseline's median wall time over this cell's.
    pub speedup: Option<Ratio>,
    /// T1 / (N × TN), N = workers.
    pub efficiency: Option<Ratio>,
    /// Repetition indices whose wall time is an outlier (|modified Z| > 3.5).
    pub outliers: Vec<usize>,
    pub cpu_util_pct: f64,
    pub cpu_s: f64,
    pub peak_rss_mib: f64,
    pub pss_mib: f64,
    pub other_cpu_s: Option<f64>,
    pub noisy_reps: usize,
    pub tasks_failed: usize,
    pub oversubscribed: bool,
    /// Median per-task milliseconds of each stage: decode, resize, encode, save, preprocess,
    /// inference, wait, ipc.
    pub stage_ms: [f64; 8],
}

pub const STAGES: [&str; 8] = [
    "decode",
    "resize",
    "encode",
    "save",
    "preprocess",
    "inference",
    "wait",
    "ipc",
];

/// One summary per cell, in the order the cells first appear; warm-ups are left out.
pub fn summarize(rows: &[RunRow]) -> Vec<CellSummary> {
    let measured: Vec<&RunRow> = rows.iter().filter(|r| !r.warmup).collect();
    let mut cells: Vec<&str> = Vec::new();
    for r in &measured {
        if !cells.contains(&r.cell.as_str()) {
            cells.push(&r.cell);
        }
    }
    let of = |cell: &str| -> Vec<&RunRow> { measured.iter().filter(|r| r.cell == cell).copied().collect() };
    let walls = |rs: &[&RunRow]| -> Vec<f64> { rs.iter().filter(|r| r.wall_s > 0.0).map(|r| r.wall_s).collect() };
    let mut out = Vec::new();
    for cell in &cells {
        let rs = of(cell);
        let first = rs[0];
        let med = |f: &dyn Fn(&RunRow) -> f64| median(&rs.iter().map(|r| f(r)).collect::<Vec<_>>());
        let wall = walls(&rs);
        let Some(wall_s) = describe(&wall) else { continue };
        let throughput_tps = describe(&rs.iter().map(|r| r.throughput_tps).collect::<Vec<_>>()).unwrap_or(wall_s);
        let baseline = measured
            .iter()
            .find(|b| {
                b.executor == "sequential"
                    && b.workload == first.workload
                    && b.sets == first.sets
                    && b.intra_op_threads == first.intra_op_threads
            })
            .map(|b| walls(&of(&b.cell)));
        let speedup = baseline.and_then(|b| ratio_of_medians(&b, &wall));
        let per_task =
            |f: &dyn Fn(&RunRow) -> f64| med(&|r| if r.tasks_ok > 0 { f(r) / r.tasks_ok as f64 } else { 0.0 });
        let waits = med(&|r| r.wait_p50_ms.unwrap_or(0.0));
        let other: Vec<f64> = rs.iter().filter_map(|r| r.other_cpu_s).collect();
        let outlier_reps = outliers(&rs.iter().map(|r| r.wall_s).collect::<Vec<_>>())
            .into_iter()
            .map(|i| rs[i].rep)
            .collect();
        out.push(CellSummary {
            cell: cell.to_string(),
            workload: first.workload.clone(),
            executor: first.executor.clone(),
            workers: first.workers,
            intra_op_threads: first.intra_op_threads,
            sets: first.sets,
            reps: rs.len(),
            wall_s,
            throughput_tps,
            speedup,
            efficiency: speedup.map(|s| s.scale(1.0 / first.workers as f64)),
            outliers: outlier_reps,
            cpu_util_pct: med(&|r| r.cpu_util_pct),
            cpu_s: med(&|r| r.user_s + r.sys_s),
            peak_rss_mib: med(&|r| r.peak_rss_mib),
            pss_mib: med(&|r| r.pss_mib),
            other_cpu_s: (!other.is_empty()).then(|| median(&other)),
            noisy_reps: rs.iter().filter(|r| r.noisy).count(),
            tasks_failed: rs.iter().map(|r| r.tasks_failed).sum(),
            oversubscribed: first.oversubscribed,
            stage_ms: [
                per_task(&|r| r.decode_ms),
                per_task(&|r| r.resize_ms),
                per_task(&|r| r.encode_ms),
                per_task(&|r| r.save_ms),
                per_task(&|r| r.preprocess_ms),
                per_task(&|r| r.inference_ms),
                waits,
                per_task(&|r| r.ipc_ms),
            ],
        });
    }
    out
}

fn interval(r: &Option<Ratio>, digits: usize) -> String {
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
