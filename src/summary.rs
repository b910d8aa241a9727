//! Per-cell statistics over the measured repetitions, computed once from the typed records: the
//! median with its interval, speedup and parallel efficiency against the sequential cell that did
//! the same work, outliers, and the costs. The exporters print them.

use serde::Serialize;

use crate::plan::ExecutorKind;
use crate::record::RunRow;
use crate::stats::{median, outliers, ratio_of_medians, summarize as describe, Ratio, Summary};
use crate::workload::WorkloadKind;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellSummary {
    pub cell: String,
    pub workload: WorkloadKind,
    pub executor: ExecutorKind,
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
                b.executor == ExecutorKind::Sequential
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
            workload: first.workload,
            executor: first.executor,
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
