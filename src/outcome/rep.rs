//! A repetition's outcome as the orchestrator receives it ([`RepResult`]): how it ended, what
//! its process measured ([`RepMeasure`], with its pool's [`PoolStats`]), and what the
//! orchestrator saw of the machine meanwhile. Plain data: the records are made from it, the
//! engines fill it.

use serde::{Deserialize, Serialize};

use super::Failure;
use crate::measure::Usage;

/// Everything measured about one repetition, beside its tasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RepMeasure {
    /// Pool start, tasks and shutdown.
    pub wall_s: f64,
    pub pool: PoolStats,
    /// CPU of the repetition's own process (all its threads) during `wall_s`.
    pub parent: Usage,
    /// CPU of every process the repetition's process reaped during `wall_s`: its worker
    /// processes, an interpreter and its pool, and a command task's program (each counting
    /// what it reaped in turn).
    #[serde(default)]
    pub descendants: Usage,
    /// Peak RSS of the repetition's own process during the repetition, KiB.
    pub parent_peak_kib: u64,
}

impl RepMeasure {
    pub fn user_s(&self) -> f64 {
        self.parent.user_s + self.descendants.user_s
    }
    pub fn sys_s(&self) -> f64 {
        self.parent.sys_s + self.descendants.sys_s
    }
    /// The contention counters of the whole tree: the repetition process and every
    /// descendant it reaped.
    pub fn counters(&self) -> crate::measure::Usage {
        self.parent.plus(self.descendants)
    }
    /// Peak RSS summed over the parent and every worker process, KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        self.parent_peak_kib + self.pool.children_peak_kib
    }
}

/// How one repetition ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Ended {
    /// It ran to its end and sent its measure (its tasks' records say which failed).
    Measured(RepMeasure),
    /// It failed, with what it had measured when it got that far.
    Failed {
        failure: Failure,
        measure: Option<RepMeasure>,
    },
    /// Stopped from outside (an interrupt) before it ended: not a result, leaves no row.
    Cut,
}

/// The outcome of one repetition, and what the orchestrator saw of the machine meanwhile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepResult {
    pub ended: Ended,
    /// CPU seconds other processes used on the machine while the repetition ran.
    pub other_cpu_s: Option<f64>,
    /// CPU seconds the orchestrator itself used while the repetition ran.
    pub orchestrator_cpu_s: Option<f64>,
    /// Peak PSS of the repetition's process tree, sampled by the orchestrator, KiB.
    pub pss_peak_kib: Option<u64>,
}

impl RepResult {
    pub fn of(ended: Ended) -> RepResult {
        RepResult {
            ended,
            other_cpu_s: None,
            orchestrator_cpu_s: None,
            pss_peak_kib: None,
        }
    }

    pub fn failed(failure: Failure) -> RepResult {
        RepResult::of(Ended::Failed { failure, measure: None })
    }

    pub fn measure(&self) -> Option<&RepMeasure> {
        match &self.ended {
            Ended::Measured(m) | Ended::Failed { measure: Some(m), .. } => Some(m),
            _ => None,
        }
    }

    pub fn failure(&self) -> Option<&Failure> {
        match &self.ended {
            Ended::Failed { failure, .. } => Some(failure),
            Ended::Cut => Some(&Failure::Interrupted),
            Ended::Measured(_) => None,
        }
    }

    pub fn is_cut(&self) -> bool {
        self.ended == Ended::Cut
    }
}

/// What the pool itself cost, beside the tasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolStats {
    /// From the start until every worker is ready (sessions built).
    pub pool_start_s: f64,
    /// From the first dispatch until the last result.
    pub task_phase_s: f64,
    /// From the last result until every worker is gone.
    pub shutdown_s: f64,
    /// Longest session creation among the workers (0 without a model).
    pub session_s: f64,
    /// CPU time of reaped worker processes (process pool only; threads count in the parent).
    pub children: Usage,
    /// Sum of each worker process's own peak RSS, KiB.
    pub children_peak_kib: u64,
    pub workers_started: usize,
    pub workers_lost: usize,
    /// Process pool: tasks queued in a worker that died (or was killed) and sent again.
    #[serde(default)]
    pub tasks_requeued: usize,
    /// Worker states built (one per thread of each worker; each holds its own ORT session when
    /// the workload has a model).
    #[serde(default)]
    pub sessions: usize,
    /// PSS summed over the pool's processes at the end of the task phase, KiB.
    pub pss_kib: u64,
    /// Process pool: PSS of the worker processes alone at the same moment, KiB.
    pub workers_pss_kib: Option<u64>,
    /// Python's pools: what only they have.
    #[serde(default)]
    pub python: Option<PythonPool>,
}

/// What only Python's pools report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PythonPool {
    /// From the interpreter's start until it has imported its modules and reads its job (before
    /// `pool_start_s`).
    pub interpreter_s: f64,
    /// What a worker runs on.
    pub facts: Option<PythonFacts>,
    /// py-process: the start method its workers started by.
    pub start_method: Option<String>,
}

/// What a Python worker runs on, read inside it after its workloads' imports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PythonFacts {
    /// `3.13.0`
    pub version: String,
    /// `cpython`
    pub implementation: String,
    /// `enabled` or `disabled` (`sys._is_gil_enabled()`, where it exists; enabled without it).
    pub gil: String,
    /// A free-threaded build (`sysconfig`'s `Py_GIL_DISABLED`), whatever its GIL is set to.
    #[serde(default)]
    pub free_threaded: bool,
}
