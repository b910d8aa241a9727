//! The typed records of a run: one [`RunRow`] per (cell, repetition) and one [`TaskRow`] per
//! task, each computed once here from what the executor measured. Their field names are the CSV
//! headers; every exporter (CSV, log, table, Markdown, SVG) writes from them, and `report` and
//! `compare` read the CSVs back into them.

use serde::{Deserialize, Serialize};

use crate::measure::percentile;
use crate::outcome::RepResult;
use crate::outcome::{Failure, Kind};
use crate::plan::{Cell, Rep, Shard};
use crate::workload::{ModelId, Stages, TaskRecord, MODEL};

mod task_row;
pub use task_row::{Status, TaskLog, TaskRow};

/// Above this share of the machine used by other processes, a repetition is `noisy`.
pub const NOISY_SHARE: f64 = 0.10;
/// ... and above this many CPU seconds: `/proc/stat` counts in 10 ms ticks, so in a repetition
/// of a few milliseconds one tick of anyone's work would read as a busy machine.
pub const NOISY_FLOOR_S: f64 = 0.02;

/// Facts shared by every row of a run.
#[derive(Debug, Clone, Default)]
pub struct RunMeta {
    pub experiment: String,
    pub seed: u64,
    pub cores: usize,
    /// The models the `model` axis ([`MODEL`]) indexes.
    pub models: Vec<ModelId>,
    /// The machine: `SLURMD_NODENAME` under Slurm, else the host name.
    pub node: String,
    /// What the machine is, for telling comparable rows apart: CPU model, cores, memory.
    pub hardware: String,
    /// The Slurm partition the run ran in (`SLURM_JOB_PARTITION`), when it ran under Slurm.
    pub partition: Option<String>,
    /// When this run is one shard of a larger one.
    pub shard: Option<Shard>,
    /// The repetitions ran in paired rounds (`order = "paired"`): each row records its round.
    pub paired: bool,
}

/// One row per (cell, repetition): the typed cell, the repetition, and what was measured
/// (`row.m.wall_s`); runs.csv writes the cell flat, one column per axis
/// (`src/export/csv.rs`), and results.json writes it as an object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub experiment: String,
    pub cell: Cell,
    pub rep: usize,
    /// The paired round it ran in (measured repetitions of a paired run; its index there):
    /// verdicts and speedups compare the cells of one round with each other.
    #[serde(default)]
    pub round: Option<usize>,
    pub warmup: bool,
    pub seed: u64,
    #[serde(flatten)]
    pub m: Measured,
}

/// What one repetition measured: its runs.csv columns after the cell's, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    pub tasks: usize,
    pub tasks_ok: usize,
    pub tasks_failed: usize,
    pub wall_s: f64,
    pub pool_start_s: f64,
    pub task_phase_s: f64,
    pub shutdown_s: f64,
    pub session_s: f64,
    /// Python executors: the interpreter's start-up (with its imports) before pool start; a
    /// part of `wall_s`, not of `pool_start_s`. 0 for the runner's own pools.
    #[serde(default)]
    pub interpreter_s: f64,
    /// Python's pools: the interpreter's version, implementation and GIL (`enabled` or
    /// `disabled`) as a worker read them after its imports; empty for the runner's own pools.
    #[serde(default)]
    pub python_version: Option<String>,
    #[serde(default)]
    pub python_impl: Option<String>,
    #[serde(default)]
    pub gil: Option<String>,
    /// Python's pools: a free-threaded build (`Py_GIL_DISABLED`), whatever its GIL is set to.
    #[serde(default)]
    pub free_threaded: Option<bool>,
    /// py-process: the start method its workers started by (what `py_start_method = "auto"`
    /// chose, or the one asked for).
    #[serde(default)]
    pub start_method: Option<String>,
    pub throughput_tps: f64,
    pub user_s: f64,
    pub sys_s: f64,
    /// The whole tree's page faults (minor, major) and context switches (voluntary,
    /// involuntary) during the repetition, from getrusage/wait4.
    #[serde(default)]
    pub minflt: u64,
    #[serde(default)]
    pub majflt: u64,
    #[serde(default)]
    pub nvcsw: u64,
    #[serde(default)]
    pub nivcsw: u64,
    pub cpu_util_pct: f64,
    pub peak_rss_mib: f64,
    pub parent_peak_rss_mib: f64,
    /// Command tasks: the peak RSS of the largest program they ran (empty without one).
    #[serde(default)]
    pub child_peak_rss_mib: Option<f64>,
    /// Command tasks: processes their programs left running, found and killed (run.log names
    /// each with its task).
    #[serde(default)]
    pub leaked: usize,
    /// PSS summed over the pool's processes at the end of the task phase (shared pages split).
    pub pss_mib: f64,
    /// Peak PSS of the repetition's process tree: the orchestrator samples it every 50 ms while
    /// the repetition runs (and the end-of-task-phase reading counts as a sample).
    #[serde(default)]
    pub pss_peak_mib: Option<f64>,
    /// Process pool: mean PSS of one worker process at the end of the task phase.
    pub worker_pss_mib: Option<f64>,
    pub workers_started: usize,
    pub workers_lost: usize,
    /// Process pool: tasks queued in a worker that died or was killed, sent again (none ran).
    #[serde(default)]
    pub tasks_requeued: usize,
    /// Worker states built: one per worker thread (hybrid: processes x threads), each with its
    /// own ORT session for model workloads.
    #[serde(default)]
    pub sessions: usize,
    pub task_p50_ms: Option<f64>,
    pub task_p95_ms: Option<f64>,
    pub wait_p50_ms: Option<f64>,
    /// Process pool: summed dispatch and IPC time beyond the tasks' own time.
    pub ipc_ms: f64,
    /// The tasks' own time, summed over the whole tasks (inside the workers).
    #[serde(default)]
    pub tasks_ms: f64,
    /// Workers idle at the end of the task phase, summed: for each worker, from its last
    /// task's end to the phase's end (a worker that ran none: the whole phase).
    #[serde(default)]
    pub idle_ms: f64,
    pub resize_tasks_ok: usize,
    pub resize_task_ms: f64,
    pub classify_tasks_ok: usize,
    pub classify_task_ms: f64,
    pub decode_ms: f64,
    pub resize_ms: f64,
    pub encode_ms: f64,
    pub save_ms: f64,
    pub preprocess_ms: f64,
    pub inference_ms: f64,
    /// CPU seconds other processes used during the repetition (from /proc/stat).
    pub other_cpu_s: Option<f64>,
    /// CPU seconds the orchestrator used during the repetition (reading results, sampling PSS).
    #[serde(default)]
    pub orchestrator_cpu_s: Option<f64>,
    /// Other processes used more than 10 % of the machine during the repetition.
    pub noisy: bool,
    pub cores: usize,
    pub oversubscribed: bool,
    pub model_sha256: Option<String>,
    /// The machine it ran on (`SLURMD_NODENAME` under Slurm, else the host name).
    #[serde(default)]
    pub node: Option<String>,
    /// CPU model, cores and memory of that machine: rows compare only with the same hardware.
    #[serde(default)]
    pub hardware: Option<String>,
    /// The Slurm partition it ran in: with the hardware, the kind of machine ([`RunRow::kind`]).
    #[serde(default)]
    pub partition: Option<String>,
    /// `I/N` when the run was one shard of a larger one (`runner FILE --shard I/N`).
    #[serde(default)]
    pub shard: Option<Shard>,
    /// Why it is not whole, typed; its sentence on disk ([`Failure`]).
    pub error: Option<Failure>,
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f + 0.0 // `+ 0.0` turns -0.0 into 0.0
}

impl RunRow {
    /// One field per runs.csv column, computed once here: longer than a screen, on purpose.
    pub fn new(meta: &RunMeta, cell: &Cell, rep: Rep, tasks: &[TaskRecord], result: &RepResult) -> RunRow {
        let m = result.measure().cloned().unwrap_or_default();
        let counters = m.counters();
        let ok: Vec<&TaskRecord> = tasks.iter().filter(|t| t.ok()).collect();
        // The per-kind columns of mixed runs, by the kinds' names (a fixed CSV schema).
        let of_kind = |name: &'static str| ok.iter().filter(move |t| t.kind.name() == name);
        let ms_of = |name| of_kind(name).map(|t| t.ms).sum::<f64>();
        let count_of = |name| of_kind(name).count();
        let latencies: Vec<f64> = ok.iter().map(|t| t.ms).collect();
        let waits: Vec<f64> = ok.iter().map(|t| t.wait_ms).collect();
        let mut stages = Stages::default();
        for t in &ok {
            stages.add(&t.stages);
        }
        let cpu = m.user_s() + m.sys_s();
        let py = m.pool.python.as_ref();
        let facts = py.and_then(|p| p.facts.as_ref());
        let model = MODEL
            .of(&cell.values)
            .and_then(|_| meta.models.get(MODEL.index_of(&cell.values)));
        let failed = tasks.len() - ok.len();
        let error = match (result.failure(), failed) {
            // Text from the user's work (a program's stderr, an exception) is escaped here, once,
            // for every file and page that shows it.
            (Some(Failure::Other(e)), _) => Some(Failure::Other(crate::spec::printable(e))),
            (Some(f), _) => Some(f.clone()),
            (None, 0) => None,
            (None, n) => Some(Failure::TasksFailed(n)),
        };
        RunRow {
            experiment: meta.experiment.clone(),
            cell: *cell,
            rep: rep.index,
            round: (meta.paired && !rep.warmup).then_some(rep.index),
            warmup: rep.warmup,
            seed: meta.seed,
            m: Measured {
                tasks: tasks.len(),
                tasks_ok: ok.len(),
                tasks_failed: failed,
                wall_s: round(m.wall_s, 6),
                pool_start_s: round(m.pool.pool_start_s, 6),
                task_phase_s: round(m.pool.task_phase_s, 6),
                shutdown_s: round(m.pool.shutdown_s, 6),
                session_s: round(m.pool.session_s, 6),
                interpreter_s: round(py.map_or(0.0, |p| p.interpreter_s), 6),
                python_version: facts.map(|p| p.version.clone()),
                python_impl: facts.map(|p| p.implementation.clone()),
                gil: facts.map(|p| p.gil.clone()),
                free_threaded: facts.map(|p| p.free_threaded),
                start_method: py.and_then(|p| p.start_method.clone()),
                throughput_tps: if m.wall_s > 0.0 {
                    round(ok.len() as f64 / m.wall_s, 3)
                } else {
                    0.0
                },
                user_s: round(m.user_s(), 4),
                sys_s: round(m.sys_s(), 4),
                minflt: counters.minflt,
                majflt: counters.majflt,
                nvcsw: counters.nvcsw,
                nivcsw: counters.nivcsw,
                cpu_util_pct: if m.wall_s > 0.0 {
                    round(100.0 * cpu / (m.wall_s * meta.cores as f64), 2)
                } else {
                    0.0
                },
                peak_rss_mib: round(m.peak_rss_kib() as f64 / 1024.0, 2),
                parent_peak_rss_mib: round(m.parent_peak_kib as f64 / 1024.0, 2),
                leaked: tasks.iter().map(|t| t.leaked.len()).sum(),
                child_peak_rss_mib: ok
                    .iter()
                    .map(|t| t.child_peak_kib)
                    .max()
                    .filter(|&k| k > 0)
                    .map(|k| round(k as f64 / 1024.0, 2)),
                pss_mib: round(m.pool.pss_kib as f64 / 1024.0, 2),
                // The end-of-task-phase reading is one more sample of the same tree.
                pss_peak_mib: result
                    .pss_peak_kib
                    .map(|k| round(k.max(m.pool.pss_kib) as f64 / 1024.0, 2)),
                worker_pss_mib: m
                    .pool
                    .workers_pss_kib
                    .map(|k| round(k as f64 / 1024.0 / cell.processes() as f64, 2)),
                workers_started: m.pool.workers_started,
                workers_lost: m.pool.workers_lost,
                tasks_requeued: m.pool.tasks_requeued,
                sessions: m.pool.sessions,
                task_p50_ms: percentile(&latencies, 50.0).map(|v| round(v, 3)),
                task_p95_ms: percentile(&latencies, 95.0).map(|v| round(v, 3)),
                wait_p50_ms: percentile(&waits, 50.0).map(|v| round(v, 3)),
                ipc_ms: round(ok.iter().map(|t| t.ipc_ms).sum::<f64>(), 3),
                tasks_ms: round(latencies.iter().sum::<f64>(), 3),
                idle_ms: round(idle_ms(&ok, cell.workers(), m.pool.task_phase_s * 1e3), 3),
                resize_tasks_ok: count_of("resize"),
                resize_task_ms: round(ms_of("resize"), 3),
                classify_tasks_ok: count_of("classify"),
                classify_task_ms: round(ms_of("classify"), 3),
                decode_ms: round(stages.decode_ms, 3),
                resize_ms: round(stages.resize_ms, 3),
                encode_ms: round(stages.encode_ms, 3),
                save_ms: round(stages.save_ms, 3),
                preprocess_ms: round(stages.preprocess_ms, 3),
                inference_ms: round(stages.inference_ms, 3),
                other_cpu_s: result.other_cpu_s.map(|v| round(v, 3)),
                orchestrator_cpu_s: result.orchestrator_cpu_s.map(|v| round(v, 4)),
                noisy: result.other_cpu_s.is_some_and(|o| {
                    m.wall_s > 0.0 && o > NOISY_SHARE * m.wall_s * meta.cores as f64 && o > NOISY_FLOOR_S
                }),
                cores: meta.cores,
                oversubscribed: cell.compute_threads() > meta.cores,
                model_sha256: model.map(|m| m.sha256.clone()),
                node: Some(meta.node.clone()),
                hardware: Some(meta.hardware.clone()),
                partition: meta.partition.clone(),
                shard: meta.shard,
                error,
            },
        }
    }

    /// The kind of machine it ran on: its Slurm partition and its hardware (`a: Intel ... / 2
    /// cores / 24 GiB`), or the hardware alone. Rows of two kinds are never compared.
    pub fn kind(&self) -> Option<String> {
        match (&self.m.partition, &self.m.hardware) {
            (Some(p), Some(h)) => Some(format!("{p}: {h}")),
            (Some(p), None) => Some(p.clone()),
            (None, h) => h.clone(),
        }
    }

    /// The repetition, as the plan names it.
    pub fn repetition(&self) -> Rep {
        Rep {
            warmup: self.warmup,
            index: self.rep,
        }
    }

    /// A repetition is whole when every task ran and nothing went wrong; the statistics use
    /// only these. A failed repetition's wall time (cut short, or inflated by a respawn) and
    /// throughput (its failed tasks count as zero) would bias every figure.
    pub fn is_whole(&self) -> bool {
        self.m.error.is_none() && self.m.tasks_failed == 0 && self.m.wall_s > 0.0
    }

    /// Why it is not whole, by kind, for the per-cell count.
    pub fn failure(&self) -> Option<Kind> {
        if self.is_whole() {
            return None;
        }
        Some(
            self.m
                .error
                .as_ref()
                .map_or(Kind::Other("no time measured".into()), Failure::kind),
        )
    }
}

/// Workers idle at the end of a task phase of `phase_ms`, summed (ms): each worker's time from
/// its last task's end (its start in the phase plus its own time) to the phase's end; a worker
/// that ran no task idled the whole phase. Recycled workers (more ids than `workers`) count each.
fn idle_ms(tasks: &[&TaskRecord], workers: usize, phase_ms: f64) -> f64 {
    let mut last: std::collections::BTreeMap<usize, f64> = std::collections::BTreeMap::new();
    for t in tasks {
        if let Some(w) = t.worker {
            let end = last.entry(w).or_insert(0.0);
            *end = end.max(t.wait_ms + t.ms);
        }
    }
    let after_last: f64 = last.values().map(|end| (phase_ms - end).max(0.0)).sum();
    after_last + workers.saturating_sub(last.len()) as f64 * phase_ms
}
