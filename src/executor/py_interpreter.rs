//! `py-interpreter`: `concurrent.futures.InterpreterPoolExecutor` (PEP 734; Python 3.14, or
//! 3.13 with the `interpreters-pep-734` backport) with `workers` subinterpreters, each with its
//! own GIL, in one process ([`super::python`]). Only workloads whose Python side imports no
//! extension module that refuses subinterpreters (numpy, Pillow, onnxruntime) run there.

use super::{python, Executor, Job, Language, PoolStats, ShapeKind, TaskEvent};
use crate::task::WorkloadKind;

pub struct PyInterpreter;

impl Executor for PyInterpreter {
    fn name(&self) -> &'static str {
        "py-interpreter"
    }

    fn language(&self) -> Language {
        Language::Python
    }

    fn shape(&self) -> ShapeKind {
        ShapeKind::Threads
    }

    fn colour(&self) -> (u8, u8, u8) {
        (150, 200, 120)
    }

    fn runs(&self, workload: WorkloadKind) -> Result<(), String> {
        let mut needs: Vec<&str> = workload
            .parts()
            .iter()
            .flat_map(|p| p.get().python_imports())
            .copied()
            .collect();
        needs.sort();
        needs.dedup();
        if needs.is_empty() {
            return Ok(());
        }
        Err(format!(
            "its Python side imports {}, which cannot be loaded in a subinterpreter (their extension modules \
             do not support it); run it with py-thread or py-process",
            needs.join(" and ")
        ))
    }

    fn run(&self, job: &Job, on_event: &mut dyn FnMut(TaskEvent)) -> Result<PoolStats, String> {
        python::run(job, self.name(), on_event)
    }
}
