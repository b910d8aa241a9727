//! How a repetition's tasks run: the [`Executor`] trait and one file per pool (sequential,
//! threads, fork; hybrid is the fork pool with [`hybrid`]'s threaded workers; Python's pools
//! through [`python`]), plus the
//! per-repetition process that hosts each pool ([`isolate`]) behind [`RepRunner`], which the run
//! loop drives (and a mock of it in tests).

mod fork;
mod hybrid;
mod isolate;
#[cfg(test)]
pub mod mock;
mod python;
mod sequential;
mod supervise;
mod threads;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::measure::{ms, Usage};
use crate::plan::{Cell, ExecutorKind, Rep, Task};
use crate::workload::{Context, TaskRecord, Worker, WorkloadKind};

pub use isolate::{Isolated, RepMeasure, RepResult};
pub use python::{Interpreter, PyJob, MODULE as PYTHON_MODULE};

/// Runs one repetition of a cell, reporting each finished task through `on_task`.
pub trait RepRunner {
    fn run(&mut self, cell: &Cell, rep: Rep, tasks: Vec<Task>, on_task: &mut dyn FnMut(TaskRecord)) -> RepResult;
}

/// The work of one repetition.
#[derive(Clone)]
pub struct Job {
    pub workload: WorkloadKind,
    pub tasks: Arc<Vec<Task>>,
    pub ctx: Arc<Context>,
    /// Threads of the thread pool, or processes of the process pool.
    pub workers: usize,
    /// Threads in each worker process (hybrid); 1 otherwise.
    pub threads: usize,
    /// Pinning: the cores to deal workers onto; `None` leaves placement to the scheduler.
    pub pin: Option<Arc<Vec<usize>>>,
    pub task_timeout: Option<Duration>,
    /// The Python executors: the interpreter, module and pool to run.
    pub python: Option<PyJob>,
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
    /// Python executors: from the interpreter's start until it has imported its modules and
    /// reads its job (before `pool_start_s`).
    #[serde(default)]
    pub interpreter_s: f64,
    /// CPU time of reaped worker processes (process pool only; threads count in the parent).
    pub children: Usage,
    /// Sum of each worker process's own peak RSS, KiB.
    pub children_peak_kib: u64,
    pub workers_started: usize,
    pub workers_lost: usize,
    /// Worker states built (one per thread of each worker; each holds its own ORT session when
    /// the workload has a model).
    #[serde(default)]
    pub sessions: usize,
    /// PSS summed over the pool's processes at the end of the task phase, KiB.
    pub pss_kib: u64,
    /// Process pool: PSS of the worker processes alone at the same moment, KiB.
    pub workers_pss_kib: Option<u64>,
}

/// What an executor reports, on the calling thread, while it runs.
#[derive(Debug)]
// One event per task, moved once: boxing the record would add an allocation per task.
#[allow(clippy::large_enum_variant)]
pub enum TaskEvent {
    /// A worker took task `n` (lets a watchdog see a task that never ends).
    Started(usize),
    Finished(TaskRecord),
}

/// Runs every task of `job` exactly once and reports its events through `on_event` on the
/// calling thread. An `Err` means the pool could not run at all (every worker failed to start).
pub trait Executor {
    fn run(&self, job: &Job, on_event: &mut dyn FnMut(TaskEvent)) -> Result<PoolStats, String>;

    /// How long a task may run before the supervisor stops the whole repetition. A pool that
    /// enforces `task_timeout` itself gets slack, so the supervisor is only its backstop.
    fn watchdog(&self, task_timeout: Duration) -> Duration {
        task_timeout
    }
}

pub fn executor(kind: ExecutorKind) -> &'static dyn Executor {
    match kind {
        ExecutorKind::Sequential => &sequential::Sequential,
        ExecutorKind::Thread => &threads::Threads,
        ExecutorKind::Process | ExecutorKind::Hybrid => &fork::ForkPool,
        ExecutorKind::PySequential | ExecutorKind::PyThread | ExecutorKind::PyProcess => &python::PyPool,
    }
}

/// Runs a task, turning a panic into a failed record; `phase` is the task phase's start.
fn run_task(worker: &mut Worker, ctx: &Context, task: &Task, phase: Instant) -> TaskRecord {
    let wait_ms = ms(phase.elapsed());
    let mut rec = match catch_unwind(AssertUnwindSafe(|| worker.run(ctx, task))) {
        Ok(rec) => rec,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            TaskRecord::failed(task, worker.id, format!("task panicked: {msg}"))
        }
    };
    rec.wait_ms = wait_ms;
    rec.cpus.clone_from(&worker.cpus);
    rec
}

/// With pinning, the core worker `index` runs on: round-robin over the cores the runner may use.
fn pin(job: &Job, index: usize) -> Result<(), String> {
    match &job.pin {
        Some(cores) if !cores.is_empty() => crate::proc::pin_to(cores[index % cores.len()]),
        _ => Ok(()),
    }
}
