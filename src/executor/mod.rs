//! How a repetition's tasks run: the [`Executor`] trait, one engine file per pool, and [`ALL`],
//! the engines in the order of [`crate::pools::TABLE`], which says what each pool is (name,
//! language, shape, baseline, mirror, colour, capabilities). An engine only runs a job.
//!
//! A new executor is its row in the table, one new file here and one line in [`ALL`]. The fork
//! pool is the folder [`fork`] (the parent: dispatch, deaths, timeouts; `fork::worker`, a worker
//! process of one thread or several); Python's pools share [`python`], which runs
//! `python/pools.py`.

pub mod allocator;
mod batches;
mod fork;
mod hybrid;
pub mod pinning;
mod process;
mod py_interpreter;
mod py_process;
mod py_sequential;
mod py_thread;
pub mod python;
mod python_job;
mod python_lines;
mod sequential;
mod thread;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::measure::ms;
use crate::outcome::TaskFailure;
use crate::pools::{ExecutorKind, Shape};
use crate::task::{Task, WorkloadKind};
use crate::tasks::Tasks;
use crate::workload::{Context, TaskRecord, Worker};

pub use python::{Interpreter, MODULE as PYTHON_MODULE};

/// Every executor's engine, in the order of [`crate::pools::TABLE`] (a test checks it).
static ALL: &[&dyn Executor] = &[
    &sequential::Sequential,
    &thread::Thread,
    &process::Process,
    &hybrid::Hybrid,
    &py_sequential::PySequential,
    &py_thread::PyThread,
    &py_process::PyProcess,
    &py_interpreter::PyInterpreter,
];

/// The engine that runs `kind`'s pool.
pub fn engine(kind: ExecutorKind) -> &'static dyn Executor {
    ALL[kind.index()]
}

/// How a pool runs a repetition's tasks. What the pool is (name, language, shape, baseline,
/// mirror, colour, capabilities) is its row of [`crate::pools::TABLE`].
pub trait Executor: Sync {
    /// Its row in [`crate::pools::TABLE`].
    fn kind(&self) -> ExecutorKind;

    /// Runs every task of `job` exactly once and reports its events through `on_event` on the
    /// calling thread. An `Err` is the pool's own failure ([`PoolError`]: a worker that could
    /// not start, a child that could not be forked or reaped, an interpreter that died or said
    /// something out of protocol); the tasks' own failures are in their records.
    fn run(&self, job: &Job, on_event: &mut dyn FnMut(TaskEvent)) -> Result<PoolStats, PoolError>;

    /// How long a task may run before the supervisor stops the whole repetition. A pool that
    /// enforces `task_timeout` itself gets slack, so the supervisor is only its backstop.
    fn watchdog(&self, task_timeout: Duration) -> Duration {
        task_timeout
    }
}

/// The work of one repetition.
#[derive(Clone)]
pub struct Job {
    pub workload: WorkloadKind,
    pub tasks: Tasks,
    /// Shared by every worker: settings and the cell's axis values (pinning among them).
    pub ctx: Arc<Context>,
    pub shape: Shape,
    pub task_timeout: Option<Duration>,
    /// The Python executors: the interpreter and module to run.
    pub python: Option<Interpreter>,
}

pub use crate::outcome::{PoolStats, PythonFacts, PythonPool};

/// What an executor reports, on the calling thread, while it runs.
#[derive(Debug)]
// One event per task, moved once: boxing the record would add an allocation per task.
#[allow(clippy::large_enum_variant)]
pub enum TaskEvent {
    /// A worker took task `n` (lets a watchdog see a task that never ends).
    Started(usize),
    Finished(TaskRecord),
}

/// Why a pool failed as it ran: a worker that could not start, a process that could not be
/// forked or reaped, a pipe that broke, what an interpreter said. The repetition's failure
/// carries its words on to the orchestrator, across the process boundary, as text.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Proc(#[from] crate::proc::ProcError),
    #[error(transparent)]
    Work(#[from] crate::workload::WorkError),
    /// A pool's or an interpreter's own words.
    #[error("{0}")]
    Said(String),
}

impl From<String> for PoolError {
    fn from(s: String) -> PoolError {
        PoolError::Said(s)
    }
}

impl From<&str> for PoolError {
    fn from(s: &str) -> PoolError {
        PoolError::Said(s.to_string())
    }
}

impl From<PoolError> for String {
    fn from(e: PoolError) -> String {
        e.to_string()
    }
}

/// Why a worker could not start; its pool's failure says it in these words.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Pin(#[from] crate::proc::ProcError),
    #[error(transparent)]
    Allocator(#[from] allocator::NotPreloaded),
    #[error(transparent)]
    Work(#[from] crate::workload::WorkError),
}

/// A worker's failure to start travels on as words (across processes).
impl From<StartError> for String {
    fn from(e: StartError) -> String {
        e.to_string()
    }
}

/// Starts worker `index` on the calling thread: pinned (with pinning), its allocator checked
/// (with one preloaded), its state built.
fn start_worker(job: &Job, index: usize) -> Result<Worker, StartError> {
    pinning::pin(job, index)?;
    allocator::check(&job.ctx.values, index)?;
    Ok(Worker::new(&job.ctx, job.workload, index)?)
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
            TaskRecord::failed(task, Some(worker.id), TaskFailure::Panicked(msg))
        }
    };
    rec.wait_ms = wait_ms;
    rec.cpus.clone_from(&worker.cpus);
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_sits_at_its_rows_place() {
        assert_eq!(ALL.len(), ExecutorKind::all().count());
        for e in ExecutorKind::all() {
            assert_eq!(engine(e).kind(), e, "{e}");
        }
    }
}
