//! `py-process`: Python's `concurrent.futures.ProcessPoolExecutor` with `workers` processes
//! ([`super::python`]), started by `py_start_method`, an axis of its own.

use super::{python, Executor, Job, Language, PoolStats, ShapeKind, TaskEvent};
use crate::spec::axis::{no_check, AxisDef, Kind, Role, Value};

pub struct PyProcess;

pub static START_METHOD: AxisDef = AxisDef {
    doc: "`py_start_method = [\"fork\", \"spawn\", \"forkserver\"]`: how `ProcessPoolExecutor` starts its workers (`multiprocessing` start methods); `auto`, the default, is what the interpreter's `multiprocessing` uses (fork up to 3.13 on Linux, forkserver from 3.14), as the user's own program gets it, and runs.csv's `start_method` records the method that ran. How the pool runs, not what it runs: cells that differ in it are compared with each other, and named `...-py-process-w2-spawn-...` (`auto` adds nothing).",
    key: "py_start_method",
    section: None,
    column: "py_start_method",
    role: Role::Pool,
    kind: Kind::Words(&["auto", "fork", "spawn", "forkserver"]),
    applies: |k| k.executor == "py-process",
    id: |v| (v != Value::Word("auto")).then(|| format!("-{}", v.text())),
    setting: |v| Some(v.text()),
    check: no_check,
};

pub static CHUNKSIZE: AxisDef = AxisDef {
    doc: "`py_chunksize = [1, 8, 64]`: how many tasks go to a worker in one message, as `ProcessPoolExecutor.map(chunksize=n)` sends them (py-process and py-interpreter); the records of a chunk come back together. Named `-c64` in a cell id (1 adds nothing).",
    key: "py_chunksize",
    section: None,
    column: "py_chunksize",
    role: Role::Pool,
    kind: Kind::Count {
        default: 1,
        min: 1,
        max: 1_000_000,
    },
    applies: |k| matches!(k.executor, "py-process" | "py-interpreter"),
    id: |v| (v != Value::Count(1)).then(|| format!("-c{}", v.text())),
    setting: |v| Some(format!("chunksize {}", v.text())),
    check: no_check,
};

pub static MAX_TASKS_PER_CHILD: AxisDef = AxisDef {
    doc: "`py_max_tasks_per_child = [0, 10]`: py-process replaces a worker after that many calls (its ready call and its chunks; 0: never). Python refuses it with the fork start method, and so does validation. Named `-r10` in a cell id (0 adds nothing).",
    key: "py_max_tasks_per_child",
    section: None,
    column: "py_max_tasks_per_child",
    role: Role::Pool,
    kind: Kind::Count {
        default: 0,
        min: 0,
        max: 1_000_000,
    },
    applies: |k| k.executor == "py-process",
    id: |v| (v != Value::Count(0)).then(|| format!("-r{}", v.text())),
    setting: |v| Some(format!("max_tasks_per_child {}", v.text())),
    check: no_check,
};

/// Python's own refusal, as validation states it for a cell that recycles forked workers.
pub fn recycles_forked(values: &crate::spec::Values) -> Option<String> {
    let recycle = MAX_TASKS_PER_CHILD.of(values)?;
    (recycle != Value::Count(0) && START_METHOD.word_of(values) == "fork").then(|| {
        "max_tasks_per_child is incompatible with the 'fork' multiprocessing start method (Python refuses it); \
         set py_start_method = \"spawn\" or \"forkserver\""
            .to_string()
    })
}

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
