//! Per-cell statistics over the measured repetitions, computed once from the typed records: the
//! median with its interval, speedup and parallel efficiency against the sequential cell that did
//! the same work, outliers, and the costs. The exporters print them.

use serde::Serialize;

use crate::plan::Cell;
use crate::record::RunRow;
use crate::stats::{median, outliers, paired_ratio, ratio_of_medians, summarize as describe, Ratio, Summary};

/// One cell: what it is, how many repetitions were whole, and its statistics over those.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellSummary {
    /// The cell's id, as tables name it.
    pub id: String,
    pub cell: Cell,
    /// Whole repetitions: every task ran and nothing went wrong. Only these enter the statistics.
    pub reps: usize,
    /// Measured repetitions that were not whole, and why (distinct reasons).
    pub failed_reps: usize,
    pub failures: Vec<String>,
    /// The paired rounds of those repetitions that were not whole.
    pub failed_rounds: Vec<usize>,
    /// The kinds of machine its measured repetitions ran on ([`RunRow::kind`]: the partition,
    /// CPU, cores, memory): one, unless shards of several kinds were merged.
    pub hardware: Vec<String>,
    /// Why its figures are not comparable as they stand: several kinds of hardware in one cell,
    /// or a sequential baseline measured on another kind (then there is no speedup).
    pub hardware_note: Option<String>,
    /// Python's pools: what ran the work, as its rows read it inside a worker (`3.13.5t (GIL
    /// off)`, `3.13.5 (GIL)`); `None` for the runner's own pools, or when no worker reported.
    pub runtime: Option<String>,
    /// `None` when no repetition was whole.
    pub stats: Option<CellStats>,
}

/// "3.13.5t (GIL off)": the version (`t` for a free-threaded build) and the GIL as a worker
/// read it after its imports; a build with the GIL says "(GIL)".
fn runtime(rows: &[&RunRow]) -> Option<String> {
    let r = rows
        .iter()
        .find(|r| r.m.python_version.is_some() && r.m.gil.is_some())?;
    let (version, gil) = (r.m.python_version.as_deref()?, r.m.gil.as_deref()?);
    Some(match (r.m.free_threaded == Some(true), gil) {
        (true, "disabled") => format!("{version}t (GIL off)"),
        (true, _) => format!("{version}t (GIL on)"),
        (false, _) => format!("{version} (GIL)"),
    })
}

/// Statistics over a cell's whole repetitions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellStats {
    pub wall_s: Summary,
    pub throughput_tps: Summary,
    /// Each whole repetition's throughput, for comparisons between cells.
    pub tps: Vec<f64>,
    /// Each whole paired repetition: (round, throughput, wall time); empty when unpaired.
    pub rounds: Vec<(usize, f64, f64)>,
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
    /// Median of each repetition's sampled PSS peak, when sampled.
    pub pss_peak_mib: Option<f64>,
    pub other_cpu_s: Option<f64>,
    pub noisy_reps: usize,
    pub oversubscribed: bool,
    /// Median per-task milliseconds of each stage: decode, resize, encode, save, preprocess,
    /// inference, wait, ipc.
    pub stage_ms: [f64; 8],
    /// Where a repetition's wall time goes, as means (which add up, as medians do not).
    pub parts: Parts,
}

impl CellSummary {
    /// The executor with every pool axis it has: `thread`, `hybrid 2x1`, `py-process (fork)`.
    pub fn executor_name(&self) -> String {
        self.cell.side(&|_| true)
    }

    /// A cell with no row yet (one that another shard runs): no repetition, no statistics.
    pub fn unmeasured(cell: Cell) -> CellSummary {
        CellSummary {
            id: cell.id(),
            cell,
            reps: 0,
            failed_reps: 0,
            failures: Vec::new(),
            failed_rounds: Vec::new(),
            hardware: Vec::new(),
            hardware_note: None,
            runtime: None,
            stats: None,
        }
    }

    /// "2 of 6 repetitions failed: timeout", or nothing when all were whole.
    pub fn failure_note(&self) -> Option<String> {
        (self.failed_reps > 0).then(|| {
            format!(
                "{} of {} repetitions failed: {}",
                self.failed_reps,
                self.failed_reps + self.reps,
                self.failures.join("; ")
            )
        })
    }
}

mod parts;
mod weak;
pub use parts::Parts;
pub use weak::{weak, Scaling, Step};

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

/// One summary per cell, in the cells' natural order (workload, executor, shape, sets, axis
/// values), whatever order they ran in; warm-ups are left out.
pub fn summarize(rows: &[RunRow]) -> Vec<CellSummary> {
    let measured: Vec<&RunRow> = rows.iter().filter(|r| !r.warmup).collect();
    let mut cells: Vec<Cell> = Vec::new();
    for r in &measured {
        if !cells.contains(&r.cell) {
            cells.push(r.cell);
        }
    }
    cells.sort();
    let of = |cell: &Cell| -> Vec<&RunRow> { measured.iter().filter(|r| r.cell == *cell).copied().collect() };
    cells
        .iter()
        .map(|cell| {
            let all = of(cell);
            let mut failures: Vec<String> = Vec::new();
            for f in all.iter().filter_map(|r| r.failure()) {
                if !failures.contains(&f.to_string()) {
                    failures.push(f.to_string());
                }
            }
            let hardware = kinds(&all);
            let mut hardware_note =
                (hardware.len() > 1).then(|| format!("measured on {} kinds of machine", hardware.len()));
            let base = of(&cell.baseline());
            // A speedup against a baseline measured on other hardware would be a guess.
            let baseline = (!base.is_empty()).then_some(base).filter(|b| {
                let same = hardware.len() <= 1 && kinds(b) == hardware;
                if !same && hardware_note.is_none() {
                    hardware_note = Some("its sequential baseline ran on another kind of machine: no speedup".into());
                }
                same
            });
            let rs: Vec<&RunRow> = all.iter().filter(|r| r.is_whole()).copied().collect();
            CellSummary {
                id: cell.id(),
                cell: *cell,
                reps: rs.len(),
                failed_reps: all.len() - rs.len(),
                failures,
                failed_rounds: all.iter().filter(|r| !r.is_whole()).filter_map(|r| r.round).collect(),
                hardware,
                hardware_note,
                runtime: runtime(&all),
                stats: stats(
                    &rs,
                    baseline
                        .map(|b| b.into_iter().filter(|r| r.is_whole()).collect::<Vec<_>>())
                        .as_deref(),
                ),
            }
        })
        .collect()
}

/// T1 / TN against the whole repetitions `base` of the baseline: the median of per-round
/// ratios when both ran in paired rounds, else the ratio of the two medians.
fn speedup(base: &[&RunRow], rs: &[&RunRow], rounds: &[(usize, f64, f64)]) -> Option<Ratio> {
    let base_rounds: std::collections::HashMap<usize, f64> =
        base.iter().filter_map(|b| b.round.map(|k| (k, b.m.wall_s))).collect();
    if !rounds.is_empty() && !base_rounds.is_empty() {
        let ratios: Vec<f64> = rounds
            .iter()
            .filter_map(|(k, _, wall)| base_rounds.get(k).map(|b| b / wall))
            .collect();
        return paired_ratio(&ratios, crate::stats::TARGET);
    }
    let walls = |rows: &[&RunRow]| -> Vec<f64> { rows.iter().map(|r| r.m.wall_s).collect() };
    ratio_of_medians(&walls(base), &walls(rs))
}

/// The distinct kinds of machine rows ran on ([`RunRow::kind`]), sorted.
pub fn kinds(rows: &[&RunRow]) -> Vec<String> {
    let mut k: Vec<String> = rows.iter().filter_map(|r| r.kind()).collect();
    k.sort();
    k.dedup();
    k
}

/// Statistics over whole repetitions `rs`; `baseline` holds the sequential cell's wall times.
fn stats(rs: &[&RunRow], baseline: Option<&[&RunRow]>) -> Option<CellStats> {
    let first = rs.first()?;
    let wall: Vec<f64> = rs.iter().map(|r| r.m.wall_s).collect();
    let wall_s = describe(&wall)?;
    let tps: Vec<f64> = rs.iter().map(|r| r.m.throughput_tps).collect();
    let throughput_tps = describe(&tps)?;
    let med = |f: &dyn Fn(&RunRow) -> f64| median(&rs.iter().map(|r| f(r)).collect::<Vec<_>>());
    let rounds: Vec<(usize, f64, f64)> = rs
        .iter()
        .filter_map(|r| r.round.map(|k| (k, r.m.throughput_tps, r.m.wall_s)))
        .collect();
    let speedup = baseline.and_then(|b| speedup(b, rs, &rounds));
    let per_task = |f: &dyn Fn(&RunRow) -> f64| med(&|r| f(r) / r.m.tasks_ok.max(1) as f64);
    let other: Vec<f64> = rs.iter().filter_map(|r| r.m.other_cpu_s).collect();
    let peaks: Vec<f64> = rs.iter().filter_map(|r| r.m.pss_peak_mib).collect();
    Some(CellStats {
        wall_s,
        throughput_tps,
        tps,
        rounds,
        speedup,
        efficiency: speedup.map(|s| s.scale(1.0 / first.cell.workers() as f64)),
        outliers: outliers(&wall).into_iter().map(|i| rs[i].rep).collect(),
        cpu_util_pct: med(&|r| r.m.cpu_util_pct),
        cpu_s: med(&|r| r.m.user_s + r.m.sys_s),
        peak_rss_mib: med(&|r| r.m.peak_rss_mib),
        pss_mib: med(&|r| r.m.pss_mib),
        pss_peak_mib: (!peaks.is_empty()).then(|| median(&peaks)),
        other_cpu_s: (!other.is_empty()).then(|| median(&other)),
        noisy_reps: rs.iter().filter(|r| r.m.noisy).count(),
        oversubscribed: first.m.oversubscribed,
        stage_ms: [
            per_task(&|r| r.m.decode_ms),
            per_task(&|r| r.m.resize_ms),
            per_task(&|r| r.m.encode_ms),
            per_task(&|r| r.m.save_ms),
            per_task(&|r| r.m.preprocess_ms),
            per_task(&|r| r.m.inference_ms),
            med(&|r| r.m.wait_p50_ms.unwrap_or(0.0)),
            per_task(&|r| r.m.ipc_ms),
        ],
        parts: Parts::of(rs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pools::ExecutorKind;
    use crate::testing::{cell, row};

    #[test]
    fn failed_repetitions_are_counted_not_averaged_in() {
        let seq = cell(ExecutorKind::named("sequential").unwrap(), 1);
        let thr = cell(ExecutorKind::named("thread").unwrap(), 2);
        let mut rows: Vec<RunRow> = (0..6).map(|i| row(&seq, i, 1.0, None)).collect();
        rows.extend((0..4).map(|i| row(&thr, i, 0.5, None)));
        // Cut short: a tiny wall time that would inflate the speedup if it counted.
        rows.push(row(
            &thr,
            4,
            0.01,
            Some("task 2 timed out after 1.000 s (limits.task_timeout_s); the repetition was stopped"),
        ));
        rows.push(row(
            &thr,
            5,
            0.02,
            Some("the repetition process killed by signal 9 (SIGKILL)"),
        ));
        let cells = summarize(&rows);
        let t = &cells[1];
        assert_eq!((t.reps, t.failed_reps), (4, 2));
        let st = t.stats.as_ref().unwrap();
        assert_eq!(st.wall_s.n, 4);
        assert_eq!(st.wall_s.min, 0.5, "no failed repetition's wall time");
        assert_eq!(st.throughput_tps.min, 6.0, "no failed repetition's throughput");
        assert!((st.speedup.unwrap().value - 2.0).abs() < 1e-12);
        assert_eq!(
            t.failure_note().unwrap(),
            "2 of 6 repetitions failed: timeout; the repetition process killed by signal 9 (SIGKILL)"
        );
    }

    #[test]
    fn a_cell_with_no_whole_repetition_is_listed_as_such() {
        let seq = cell(ExecutorKind::named("sequential").unwrap(), 1);
        let rows = vec![
            row(&seq, 0, 0.0, Some("interrupted")),
            row(&seq, 1, 0.3, Some("timed out")),
        ];
        let cells = summarize(&rows);
        assert_eq!(cells.len(), 1);
        assert_eq!((cells[0].reps, cells[0].failed_reps), (0, 2));
        assert!(cells[0].stats.is_none());
        let table = crate::export::table::table(&cells);
        assert!(
            table.contains("no whole repetition") && table.contains("2 of 2 repetitions failed"),
            "{table}"
        );
    }

    #[test]
    fn no_speedup_or_verdict_across_kinds_of_hardware() {
        let on = |mut r: RunRow, hw: &str| {
            r.m.hardware = Some(hw.to_string());
            r
        };
        let (seq, thread, process) = (
            cell(ExecutorKind::named("sequential").unwrap(), 1),
            cell(ExecutorKind::named("thread").unwrap(), 2),
            cell(ExecutorKind::named("process").unwrap(), 2),
        );
        let mut rows = Vec::new();
        for i in 0..6 {
            rows.push(on(row(&seq, i, 1.0, None), "A"));
            rows.push(on(row(&thread, i, 0.5, None), "A"));
            rows.push(on(row(&process, i, 0.6, None), "B"));
        }
        let cells = summarize(&rows);
        let by = |e| cells.iter().find(|c| c.cell.executor == e).unwrap();
        // Same hardware: a speedup. Other hardware: none, and the cell says why.
        assert!(by(ExecutorKind::named("thread").unwrap())
            .stats
            .as_ref()
            .unwrap()
            .speedup
            .is_some());
        assert_eq!(by(ExecutorKind::named("thread").unwrap()).hardware_note, None);
        assert!(by(ExecutorKind::named("process").unwrap())
            .stats
            .as_ref()
            .unwrap()
            .speedup
            .is_none());
        assert!(by(ExecutorKind::named("process").unwrap())
            .hardware_note
            .as_ref()
            .unwrap()
            .contains("another kind of machine"));
        let v = crate::answer::verdicts(&cells, &crate::answer::Bound::DEFAULT);
        assert_eq!(v.len(), 1);
        assert!(v[0].ratio.is_none() && v[0].winner.is_none(), "{v:?}");
        assert!(v[0].caveats.iter().any(|c| c.contains("different hardware")), "{v:?}");
        let report = crate::export::Report::new("x", &rows, None).unwrap();
        // Each kind's own charts: pooled cells would mix them.
        let names: Vec<&str> = report.charts.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            names.contains(&"throughput-spin-on-A.svg") && names.contains(&"cost-spin-on-B.svg"),
            "{names:?}"
        );
        let md = crate::export::markdown::markdown(&report);
        assert!(
            md.contains("### On B") && md.contains("nothing is compared") && !md.contains("## Hardware"),
            "{md}"
        );
        // One cell over two kinds: flagged, and no speedup against a one-kind baseline.
        rows.push(on(row(&thread, 6, 0.5, None), "B"));
        let cells = summarize(&rows);
        let t = cells
            .iter()
            .find(|c| c.cell.executor == ExecutorKind::named("thread").unwrap())
            .unwrap();
        assert_eq!(t.hardware_note.as_deref(), Some("measured on 2 kinds of machine"));
        assert!(t.stats.as_ref().unwrap().speedup.is_none());
    }
}
