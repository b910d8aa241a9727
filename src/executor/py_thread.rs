//! `py-thread`: Python's `concurrent.futures.ThreadPoolExecutor` with `workers` threads
//! ([`super::python`]).

use super::{python, Executor, Job, Language, PoolStats, ShapeKind, TaskEvent};

pub struct PyThread;

impl Executor for PyThread {
    fn name(&self) -> &'static str {
        "py-thread"
    }

    fn language(&self) -> Language {
        Language::Python
    }

    fn shape(&self) -> ShapeKind {
        ShapeKind::Threads
    }

    fn mirror(&self) -> Option<&'static str> {
        Some("thread")
    }

    // The lighter shade of the Rust pool it mirrors.
    fn colour(&self) -> (u8, u8, u8) {
        (120, 180, 230)
    }

    fn run(&self, job: &Job, on_event: &mut dyn FnMut(TaskEvent)) -> Result<PoolStats, String> {
        python::run(job, self.name(), on_event)
    }
}
