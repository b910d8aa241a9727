//! The pool axes, as plain data ([`AxisDef`]s): how a pool runs (`process_queue`,
//! `py_start_method`, `py_chunksize`, `py_max_tasks_per_child`), what runs Python's pools
//! (`interpreter`, `gil`) and what the work runs under (`pinning`, `allocator`). Which pools an
//! axis applies to is a capability of [`super::TABLE`]'s rows, never a name. How a pool honours
//! them at run time is `src/executor/`'s.

use std::path::PathBuf;

use crate::axis::{no_check, AxisDef, Kind, Role, Value, Values};
use crate::proc;
use crate::spec::Refused;

/// Most tasks `process_queue` may hold queued in a worker process.
pub const QUEUE_MAX: usize = 64;

pub static QUEUE: AxisDef = AxisDef {
    doc: "`process_queue = [0, 1, 8]`: tasks each worker process of `process` and `hybrid` holds queued behind those it runs; 0 (the default) adapts it to the tasks' time. How the pool runs, not what it runs: cells that differ in it are compared, and named `-q8` (0 adds nothing).",
    key: "process_queue",
    section: None,
    column: "process_queue",
    role: Role::Pool,
    kind: Kind::Count {
        default: 0,
        min: 0,
        max: QUEUE_MAX as u32,
    },
    applies: |k| k.caps.queue,
    id: |v| (v != Value::Count(0)).then(|| format!("-q{}", v.text())),
    setting: |v| (v != Value::Count(0)).then(|| format!(", queue {}", v.text())),
    check: no_check,
};

pub static START_METHOD: AxisDef = AxisDef {
    doc: "`py_start_method = [\"fork\", \"spawn\", \"forkserver\"]`: how `ProcessPoolExecutor` starts its workers (`multiprocessing` start methods); `auto`, the default, is what the interpreter's `multiprocessing` uses (fork up to 3.13 on Linux, forkserver from 3.14), as the user's own program gets it, and runs.csv's `start_method` records the method that ran. How the pool runs, not what it runs: cells that differ in it are compared with each other, and named `...-py-process-w2-spawn-...` (`auto` adds nothing).",
    key: "py_start_method",
    section: None,
    column: "py_start_method",
    role: Role::Pool,
    kind: Kind::Words(&["auto", "fork", "spawn", "forkserver"]),
    applies: |k| k.caps.start_method,
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
    applies: |k| k.caps.chunks,
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
    applies: |k| k.caps.recycles,
    id: |v| (v != Value::Count(0)).then(|| format!("-r{}", v.text())),
    setting: |v| Some(format!("max_tasks_per_child {}", v.text())),
    check: no_check,
};

/// Python's own refusal, as validation states it for a cell that recycles forked workers.
pub fn recycles_forked(values: &Values) -> Option<String> {
    let recycle = MAX_TASKS_PER_CHILD.of(values)?;
    (recycle != Value::Count(0) && START_METHOD.word_of(values) == "fork").then(|| {
        "max_tasks_per_child is incompatible with the 'fork' multiprocessing start method (Python refuses it); \
         set py_start_method = \"spawn\" or \"forkserver\""
            .to_string()
    })
}

pub static PYTHON: AxisDef = AxisDef {
    doc: "The Python that runs Python's pools (py-*): a path relative to this file, or a list (an axis; verdicts between pools compare cells of one interpreter, and the answer adds verdicts across them). Default: the project's .deps/venv, else the environment runner was installed into, else python3 on PATH.",
    key: "interpreter",
    section: None,
    column: "python",
    role: Role::Runtime,
    kind: Kind::Paths {
        default: "../.deps/venv/bin/python",
    },
    applies: |k| k.python,
    id: |v| match v {
        Value::Listed(i, _) if i > 0 => Some(format!("-py{}", i + 1)),
        _ => None,
    },
    setting: |v| Some(format!(", {}", v.text())),
    check: no_check,
};

pub static GIL: AxisDef = AxisDef {
    doc: "`gil = [\"off\", \"on\"]`: the GIL of a free-threaded build, turned off or on for the interpreter and every worker it starts (`PYTHON_GIL=0` or `1`); `default` leaves it as the build and its extensions make it. `off` on a build with the GIL is refused at validation. Named `-giloff`, `-gilon` in a cell id (the default adds nothing).",
    key: "gil",
    section: None,
    column: "python_gil",
    role: Role::Runtime,
    kind: Kind::Words(&["default", "off", "on"]),
    applies: |k| k.python,
    id: |v| (v != Value::Word("default")).then(|| format!("-gil{}", v.text())),
    setting: |v| (v != Value::Word("default")).then(|| format!(", GIL {}", v.text())),
    check: no_check,
};

/// What `PYTHON_GIL` a cell's interpreter gets: `Some("0")` for off, `Some("1")` for on, `None`
/// to leave the environment as it is.
pub fn python_gil(values: &Values) -> Option<&'static str> {
    match GIL.of(values)? {
        Value::Word("off") => Some("0"),
        Value::Word("on") => Some("1"),
        _ => None,
    }
}

pub static PINNING: AxisDef = AxisDef {
    doc: "`pinning`: part of the work (a pinned pool is compared with pinned pools and the pinned loop); `cores` names cells `...-pin-...`.",
    key: "pinning",
    section: None,
    column: "pinning",
    role: Role::Work,
    kind: Kind::Words(&["none", "cores"]),
    applies: |_| true,
    id: |v| (v == Value::Word("cores")).then(|| "-pin".to_string()),
    setting: |v| (v == Value::Word("cores")).then(|| ", pinned".to_string()),
    check: |values| {
        if values.contains(&Value::Word("cores")) {
            proc::can_pin().map_err(|why| Refused::from(format!("\"cores\" is not possible on this machine: {why}")))
        } else {
            Ok(())
        }
    },
};

pub static ALLOCATOR: AxisDef = AxisDef {
    doc: "`allocator`: part of the work (verdicts compare pools under one allocator, against the loop under it); `jemalloc` names cells `...-jemalloc-...` (`system`, glibc's malloc, adds nothing).",
    key: "allocator",
    section: None,
    column: "allocator",
    role: Role::Work,
    kind: Kind::Words(&["system", "jemalloc", "mimalloc"]),
    applies: |_| true,
    id: |v| (v != Value::Word("system")).then(|| format!("-{}", v.text())),
    setting: |v| (v != Value::Word("system")).then(|| format!(", {}", v.text())),
    check: |values| {
        for v in values {
            if let Value::Word(name) = v {
                library(name)?;
            }
        }
        Ok(())
    },
};

/// Each allocator other than glibc's: its library's file name and the Debian package with it.
const LIBRARIES: &[(&str, &str, &str)] = &[
    ("jemalloc", "libjemalloc.so.2", "libjemalloc2"),
    ("mimalloc", "libmimalloc.so.2", "libmimalloc2.0"),
];

const DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
];

/// The library to preload for `name` (`None` for `system`), or why it cannot be.
pub fn library(name: &str) -> Result<Option<PathBuf>, Refused> {
    let Some(&(_, file, package)) = LIBRARIES.iter().find(|(n, ..)| *n == name) else {
        return Ok(None);
    };
    DIRS.iter()
        .map(|d| PathBuf::from(d).join(file))
        .find(|p| p.exists())
        .map(Some)
        .ok_or_else(|| {
            Refused::from(format!(
                "\"{name}\" needs {file}, which is not on this machine (Debian's {package}; scripts/setup installs it as root)"
            ))
        })
}
