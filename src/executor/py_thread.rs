//! `py-thread`: Python's `concurrent.futures.ThreadPoolExecutor` with `workers` threads
//! ([`super::python`]).

use super::{python, Executor, Job, PoolStats, TaskEvent};
use crate::executor::PoolError;
use crate::pools::ExecutorKind;

pub struct PyThread;

impl Executor for PyThread {
    fn kind(&self) -> ExecutorKind {
        ExecutorKind::PY_THREAD
    }

    fn run(&self, job: &Job, on_event: &mut dyn FnMut(TaskEvent)) -> Result<PoolStats, PoolError> {
        python::run(job, self.kind(), on_event)
    }
}
