//! `py-sequential`: a plain loop in the interpreter, the Python executors' baseline
//! ([`super::python`]).

use super::{python, Executor, Job, Language, PoolStats, ShapeKind, TaskEvent};

pub struct PySequential;

impl Executor for PySequential {
    fn name(&self) -> &'static str {
        "py-sequential"
    }

    fn language(&self) -> Language {
        Language::Python
    }

    fn shape(&self) -> ShapeKind {
        ShapeKind::Single
    }

    fn colour(&self) -> (u8, u8, u8) {
        (150, 150, 150)
    }

    fn run(&self, job: &Job, on_event: &mut dyn FnMut(TaskEvent)) -> Result<PoolStats, String> {
        python::run(job, self.name(), on_event)
    }
}
