//! `py-sequential`: a plain loop in the interpreter, the Python executors' baseline
//! ([`super::python`]).

use super::{python, Executor, Job, PoolStats, TaskEvent};
use crate::executor::PoolError;
use crate::pools::ExecutorKind;

pub struct PySequential;

impl Executor for PySequential {
    fn kind(&self) -> ExecutorKind {
        ExecutorKind::PY_SEQUENTIAL
    }

    fn run(&self, job: &Job, on_event: &mut dyn FnMut(TaskEvent)) -> Result<PoolStats, PoolError> {
        python::run(job, self.kind(), on_event)
    }
}
