//! `py-interpreter`: `concurrent.futures.InterpreterPoolExecutor` (PEP 734; Python 3.14, or
//! 3.13 with the `interpreters-pep-734` backport) with `workers` subinterpreters, each with its
//! own GIL, in one process ([`super::python`]). Only workloads whose Python side imports no
//! extension module that refuses subinterpreters (numpy, Pillow, onnxruntime) run there.

use super::{python, Executor, Job, PoolStats, TaskEvent};
use crate::executor::PoolError;
use crate::pools::ExecutorKind;

pub struct PyInterpreter;

impl Executor for PyInterpreter {
    fn kind(&self) -> ExecutorKind {
        ExecutorKind::PY_INTERPRETER
    }

    fn run(&self, job: &Job, on_event: &mut dyn FnMut(TaskEvent)) -> Result<PoolStats, PoolError> {
        python::run(job, self.kind(), on_event)
    }
}
