//! `py-process`: Python's `concurrent.futures.ProcessPoolExecutor` with `workers` processes
//! ([`super::python`]), started by `py_start_method`, an axis of its own.

use super::{python, Executor, Job, PoolStats, TaskEvent};
use crate::executor::PoolError;
use crate::pools::ExecutorKind;

pub struct PyProcess;

impl Executor for PyProcess {
    fn kind(&self) -> ExecutorKind {
        ExecutorKind::PY_PROCESS
    }

    fn run(&self, job: &Job, on_event: &mut dyn FnMut(TaskEvent)) -> Result<PoolStats, PoolError> {
        python::run(job, self.kind(), on_event)
    }
}
