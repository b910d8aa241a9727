//! `py-process`: Python's `concurrent.futures.ProcessPoolExecutor` with `workers` processes
//! ([`super::python`]), started by `py_start_method`, an axis of its own.

use super::{python, Executor, Job, Language, PoolStats, ShapeKind, TaskEvent};
use crate::spec::axis::{no_check, AxisDef, Kind, Role};

pub struct PyProcess;

/// `py_start_method = ["fork", "spawn", "forkserver"]`: how `ProcessPoolExecutor` starts its
/// workers (`multiprocessing` start methods). How the pool runs, not what it runs: cells that
/// differ in it are compared with each other, and named `...-py-process-w2-spawn-...`.
pub static START_METHOD: AxisDef = AxisDef {
    key: "py_start_method",
    section: None,
    column: "start_method",
    role: Role::Pool,
    kind: Kind::Words(&["fork", "spawn", "forkserver"]),
    applies: |k| k.executor == "py-process",
    id: |v| Some(format!("-{}", v.text())),
    setting: |v| Some(v.text()),
    check: no_check,
};

impl Executor for PyProcess {
    fn name(&self) -> &'static str {
        "py-process"
    }

    fn language(&self) -> Language {
        Language::Python
    }

    fn shape(&self) -> ShapeKind {
        ShapeKind::Processes
    }

    fn mirror(&self) -> Option<&'static str> {
        Some("process")
    }

    fn colour(&self) -> (u8, u8, u8) {
        (245, 140, 130)
    }

    fn run(&self, job: &Job, on_event: &mut dyn FnMut(TaskEvent)) -> Result<PoolStats, String> {
        python::run(job, self.name(), on_event)
    }
}
