//! tasks.csv's row: one per task, with how it ended.

use serde::{Deserialize, Serialize};

use super::round;
use crate::plan::{Cell, Rep};
use crate::spec::printable;
use crate::workload::{TaskRecord, WorkloadKind};

/// How a task ended, as tasks.csv's `status` writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
}

/// `[output] task_log`: which tasks' rows tasks.csv and run.log keep. runs.csv's per-task
/// columns (percentiles, stage times) are computed from every task either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TaskLog {
    /// Every task: the per-image status log.
    #[default]
    All,
    /// Only the tasks that failed, for runs of millions of tiny tasks.
    Failed,
    /// No task rows.
    None,
}

impl TaskLog {
    pub fn keeps(self, t: &TaskRow) -> bool {
        match self {
            TaskLog::All => true,
            TaskLog::Failed => t.status == Status::Failed,
            TaskLog::None => false,
        }
    }

    /// The task rows a repetition leaves in tasks.csv.
    pub fn rows_of(self, run: &super::RunRow) -> usize {
        match self {
            TaskLog::All => run.m.tasks,
            TaskLog::Failed => run.m.tasks_failed,
            TaskLog::None => 0,
        }
    }

    pub fn is_all(&self) -> bool {
        *self == TaskLog::All
    }
}

/// One row per task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRow {
    pub cell: String,
    pub rep: usize,
    pub warmup: bool,
    pub task: usize,
    /// The task's own seed (what a user's workload gets).
    #[serde(default)]
    pub seed: u64,
    pub kind: WorkloadKind,
    pub source: String,
    pub image: String,
    pub status: Status,
    pub ms: f64,
    pub wait_ms: f64,
    pub ipc_ms: f64,
    pub worker: Option<usize>,
    pub decode_ms: f64,
    pub resize_ms: f64,
    pub encode_ms: f64,
    pub save_ms: f64,
    pub preprocess_ms: f64,
    pub inference_ms: f64,
    pub top1: Option<usize>,
    pub top1_label: Option<String>,
    pub top1_prob: Option<f32>,
    /// A user's function's result (workload python), at most 64 characters.
    #[serde(default)]
    pub result: Option<String>,
    /// The cores the task's thread could run on (`0`, `0-1`): one core when pinned.
    #[serde(default)]
    pub cpus: String,
    /// With `task_counters = "on"`: the task's thread's minor and major faults, voluntary and
    /// involuntary context switches while it ran (empty otherwise).
    #[serde(default)]
    pub minflt: Option<u64>,
    #[serde(default)]
    pub majflt: Option<u64>,
    #[serde(default)]
    pub nvcsw: Option<u64>,
    #[serde(default)]
    pub nivcsw: Option<u64>,
    /// A command task: how many processes its program left running when it ended (each found,
    /// killed and named in run.log).
    #[serde(default)]
    pub leaked: usize,
    /// ... and which: `pid 123 (sleep 30)`, for run.log (not a CSV column).
    #[serde(skip)]
    pub leaked_processes: Vec<String>,
    pub error: Option<String>,
}

impl TaskRow {
    pub fn new(cell: &Cell, rep: Rep, t: &TaskRecord) -> TaskRow {
        let s = &t.stages;
        TaskRow {
            cell: cell.id(),
            rep: rep.index,
            warmup: rep.warmup,
            task: t.task,
            seed: t.seed,
            kind: t.kind,
            source: t.source.clone(),
            image: t.image.clone(),
            status: if t.ok() { Status::Ok } else { Status::Failed },
            ms: round(t.ms, 3),
            wait_ms: round(t.wait_ms, 3),
            ipc_ms: round(t.ipc_ms, 3),
            worker: t.worker,
            decode_ms: round(s.decode_ms, 3),
            resize_ms: round(s.resize_ms, 3),
            encode_ms: round(s.encode_ms, 3),
            save_ms: round(s.save_ms, 3),
            preprocess_ms: round(s.preprocess_ms, 3),
            inference_ms: round(s.inference_ms, 3),
            top1: t.top1.as_ref().map(|p| p.index),
            top1_label: t.top1.as_ref().and_then(|p| p.label.as_deref()).map(printable),
            top1_prob: t.top1.as_ref().map(|p| (p.prob * 1e6).round() / 1e6),
            result: t.result.as_deref().map(printable),
            cpus: t.cpus.clone(),
            minflt: t.counters.map(|c| c.minflt),
            majflt: t.counters.map(|c| c.majflt),
            nvcsw: t.counters.map(|c| c.nvcsw),
            nivcsw: t.counters.map(|c| c.nivcsw),
            leaked: t.leaked.len(),
            leaked_processes: t.leaked.clone(),
            error: t.error.as_ref().map(|e| printable(&e.to_string())),
        }
    }
}
