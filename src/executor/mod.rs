//! How a repetition's tasks run: the [`Executor`] trait, one file per pool, and [`ALL`], the
//! list that names them (as `src/workload/` names workloads). An executor says what the rest of
//! the code needs of it: its name, language, shape (workers; processes x threads), baseline,
//! mirror in the other language, colour, which workloads it runs, and how it runs a job.
//!
//! A new executor is one new file here and one line in [`ALL`]. The fork pool's two sides are
//! [`fork`] (the parent: dispatch, deaths, timeouts) and [`fork_worker`] (a worker process, one
//! thread or several); Python's pools share [`python`], which runs `python/pools.py`.

pub mod allocator;
mod batches;
mod fork;
mod fork_queue;
mod fork_ring;
mod fork_worker;
mod hybrid;
mod interpreters;
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

use std::num::NonZeroUsize;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::measure::{ms, Usage};
use crate::task::{Task, WorkloadKind};
use crate::tasks::Tasks;
use crate::workload::{Context, TaskRecord, Worker};

pub use allocator::ALLOCATOR;
pub use fork_queue::QUEUE;
pub use interpreters::{python_gil, GIL, PYTHON};
pub use pinning::PINNING;
pub use py_process::{recycles_forked, CHUNKSIZE, MAX_TASKS_PER_CHILD, START_METHOD};
pub use python::{Interpreter, MODULE as PYTHON_MODULE};

/// Every executor an experiment may name, in the order `runner --help` lists them.
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

/// Which language's pool it is: verdicts group by it, and a cell's baseline is its language's loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Rust,
    Python,
}

/// How an executor's workers are counted, and so which keys shape its cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeKind {
    /// One worker, whatever `workers` says (the baselines).
    Single,
    /// `workers` threads in one process.
    Threads,
    /// `workers` processes of one thread each.
    Processes,
    /// `processes` x `threads` (keys of their own; `workers` does not apply).
    ProcessesThreads,
}

/// A cell's workers: processes, and threads in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shape {
    pub processes: NonZeroUsize,
    pub threads: NonZeroUsize,
}

impl Shape {
    pub const ONE: Shape = Shape {
        processes: NonZeroUsize::MIN,
        threads: NonZeroUsize::MIN,
    };

    /// Workers that run tasks at once: processes x threads.
    pub fn workers(self) -> usize {
        self.processes.get() * self.threads.get()
    }
}

/// What an executor is, and how it runs a repetition's tasks.
pub trait Executor: Sync {
    /// Its name in experiment files, cell ids and the `executor` column.
    fn name(&self) -> &'static str;

    fn language(&self) -> Language {
        Language::Rust
    }

    fn shape(&self) -> ShapeKind;

    /// The executor its speedup is measured against: its language's plain loop.
    fn baseline(&self) -> &'static str {
        match self.language() {
            Language::Rust => "sequential",
            Language::Python => "py-sequential",
        }
    }

    /// The other language's pool of the same design: compared in "Rust vs Python".
    fn mirror(&self) -> Option<&'static str> {
        None
    }

    /// Its colour in the charts.
    fn colour(&self) -> (u8, u8, u8);

    /// Whether it can run `workload`'s tasks; `Err` says why not (refused at validation).
    fn runs(&self, _workload: WorkloadKind) -> Result<(), String> {
        Ok(())
    }

    /// Runs every task of `job` exactly once and reports its events through `on_event` on the
    /// calling thread. An `Err` means the pool could not run at all (every worker failed to start).
    fn run(&self, job: &Job, on_event: &mut dyn FnMut(TaskEvent)) -> Result<PoolStats, String>;

    /// How long a task may run before the supervisor stops the whole repetition. A pool that
    /// enforces `task_timeout` itself gets slack, so the supervisor is only its backstop.
    fn watchdog(&self, task_timeout: Duration) -> Duration {
        task_timeout
    }
}

/// An executor, by its place in [`ALL`]: one byte, written and read as its name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExecutorKind(u8);

static NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| ALL.iter().map(|e| e.name()).collect());

impl ExecutorKind {
    pub fn named(name: &str) -> Option<ExecutorKind> {
        ALL.iter().position(|e| e.name() == name).map(|i| ExecutorKind(i as u8))
    }

    pub fn all() -> impl Iterator<Item = ExecutorKind> {
        (0..ALL.len()).map(|i| ExecutorKind(i as u8))
    }

    /// Every name, for error messages.
    pub fn names() -> &'static [&'static str] {
        &NAMES
    }

    pub fn get(self) -> &'static dyn Executor {
        ALL[self.0 as usize]
    }

    pub fn name(self) -> &'static str {
        self.get().name()
    }

    pub fn is_python(self) -> bool {
        self.get().language() == Language::Python
    }

    /// Its language's plain loop: the baseline of its speedups.
    pub fn baseline(self) -> ExecutorKind {
        let name = self.get().baseline();
        ExecutorKind::named(name).unwrap_or_else(|| panic!("{}: no baseline executor `{name}`", self.name()))
    }

    pub fn is_sequential(self) -> bool {
        self.get().shape() == ShapeKind::Single
    }

    /// Its mirror in the other language, if it has one.
    pub fn mirror(self) -> Option<ExecutorKind> {
        self.get().mirror().and_then(ExecutorKind::named)
    }
}

crate::spec::by_name!(ExecutorKind);

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
    /// Python's pools: what a worker runs on.
    #[serde(default)]
    pub python: Option<PythonFacts>,
    /// py-process: the start method its workers started by.
    #[serde(default)]
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

/// What an executor reports, on the calling thread, while it runs.
#[derive(Debug)]
// One event per task, moved once: boxing the record would add an allocation per task.
#[allow(clippy::large_enum_variant)]
pub enum TaskEvent {
    /// A worker took task `n` (lets a watchdog see a task that never ends).
    Started(usize),
    Finished(TaskRecord),
}

/// Starts worker `index` on the calling thread: pinned (with pinning), its allocator checked
/// (with one preloaded), its state built.
fn start_worker(job: &Job, index: usize) -> Result<Worker, String> {
    pinning::pin(job, index)?;
    allocator::check(&job.ctx.values, index)?;
    Worker::new(&job.ctx, job.workload, index)
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
            TaskRecord::failed(task, Some(worker.id), format!("task panicked: {msg}"))
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
    fn every_executor_is_named_once_with_a_baseline_and_true_mirrors() {
        let names = ExecutorKind::names();
        let mut sorted = names.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "{names:?}");
        for e in ExecutorKind::all() {
            assert_eq!(ExecutorKind::named(e.name()), Some(e));
            let b = e.baseline();
            assert!(b.is_sequential() && b.is_python() == e.is_python(), "{e}: baseline {b}");
            if let Some(m) = e.mirror() {
                assert_ne!(m.is_python(), e.is_python(), "{e}: a mirror is in the other language");
                assert_eq!(m.mirror(), Some(e), "{e}: mirrors come in pairs");
            }
        }
        let e = serde_json::from_str::<ExecutorKind>("\"fibers\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("fibers") && e.contains("py-process"), "{e}");
    }
}
