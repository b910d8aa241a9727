//! What each executor is, as plain data: [`TABLE`] names every pool with its language, shape,
//! baseline, mirror, colour and capabilities, and [`ExecutorKind`] indexes it; [`axes`] holds
//! the pool axes. A leaf: the plan, validation and the exporters read these tables, and only
//! `src/executor/` (the engines behind the `Executor` trait) knows how a pool runs.
//!
//! A new executor is one row here, one file in `src/executor/` and one line in its `ALL` (same
//! order, checked by a test). Baselines and mirrors are [`ExecutorKind`]s, checked when the
//! table is compiled ([`check`]), so no name is looked up at run time.

pub mod axes;

use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

pub use crate::axis::Caps;

/// Which language's pool it is: verdicts group by it, and a cell's baseline is its language's loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Rust,
    Python,
}

/// How an executor's workers are counted, and so which keys shape its cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeKind {
    /// One worker, whatever `workers` says (the baselines).
    Single,
    /// `workers` threads in one process.
    Threads,
    /// `workers` processes of one thread each.
    Processes,
    /// `processes` x `threads` (keys of their own; `workers` does not apply).
    ProcessesThreads,
}

/// A cell's workers: processes, and threads in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shape {
    pub processes: NonZeroUsize,
    pub threads: NonZeroUsize,
}

impl Shape {
    pub const ONE: Shape = Shape {
        processes: NonZeroUsize::MIN,
        threads: NonZeroUsize::MIN,
    };

    /// Workers that run tasks at once: processes x threads.
    pub fn workers(self) -> usize {
        self.processes.get() * self.threads.get()
    }
}

/// One executor, as the rest of the code sees it.
#[derive(Debug)]
pub struct ExecutorDef {
    /// Its name in experiment files, cell ids and the `executor` column.
    pub name: &'static str,
    pub language: Language,
    pub shape: ShapeKind,
    /// What its speedup is measured against: its language's plain loop.
    pub baseline: ExecutorKind,
    /// The other language's pool of the same design: compared in "Rust vs Python".
    pub mirror: Option<ExecutorKind>,
    /// Its colour in the charts.
    pub colour: (u8, u8, u8),
    pub caps: Caps,
}

/// An executor, by its row in [`TABLE`]: one byte, written and read as its name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExecutorKind(u8);

impl ExecutorKind {
    pub const SEQUENTIAL: ExecutorKind = ExecutorKind(0);
    pub const THREAD: ExecutorKind = ExecutorKind(1);
    pub const PROCESS: ExecutorKind = ExecutorKind(2);
    pub const HYBRID: ExecutorKind = ExecutorKind(3);
    pub const PY_SEQUENTIAL: ExecutorKind = ExecutorKind(4);
    pub const PY_THREAD: ExecutorKind = ExecutorKind(5);
    pub const PY_PROCESS: ExecutorKind = ExecutorKind(6);
    pub const PY_INTERPRETER: ExecutorKind = ExecutorKind(7);
}

/// Every executor an experiment may name, in the order `runner --help` lists them.
pub static TABLE: [ExecutorDef; 8] = [
    ExecutorDef {
        name: "sequential",
        language: Language::Rust,
        shape: ShapeKind::Single,
        baseline: ExecutorKind::SEQUENTIAL,
        mirror: None,
        colour: (60, 60, 60),
        caps: Caps::NONE,
    },
    ExecutorDef {
        name: "thread",
        language: Language::Rust,
        shape: ShapeKind::Threads,
        baseline: ExecutorKind::SEQUENTIAL,
        mirror: Some(ExecutorKind::PY_THREAD),
        colour: (31, 119, 180),
        caps: Caps::NONE,
    },
    ExecutorDef {
        name: "process",
        language: Language::Rust,
        shape: ShapeKind::Processes,
        baseline: ExecutorKind::SEQUENTIAL,
        mirror: Some(ExecutorKind::PY_PROCESS),
        colour: (214, 39, 40),
        caps: Caps {
            queue: true,
            ..Caps::NONE
        },
    },
    ExecutorDef {
        name: "hybrid",
        language: Language::Rust,
        shape: ShapeKind::ProcessesThreads,
        baseline: ExecutorKind::SEQUENTIAL,
        mirror: None,
        colour: (148, 103, 189),
        caps: Caps {
            queue: true,
            ..Caps::NONE
        },
    },
    ExecutorDef {
        name: "py-sequential",
        language: Language::Python,
        shape: ShapeKind::Single,
        baseline: ExecutorKind::PY_SEQUENTIAL,
        mirror: None,
        colour: (150, 150, 150),
        caps: Caps::NONE,
    },
    ExecutorDef {
        name: "py-thread",
        language: Language::Python,
        shape: ShapeKind::Threads,
        baseline: ExecutorKind::PY_SEQUENTIAL,
        mirror: Some(ExecutorKind::THREAD),
        colour: (120, 180, 230),
        caps: Caps::NONE,
    },
    ExecutorDef {
        name: "py-process",
        language: Language::Python,
        shape: ShapeKind::Processes,
        baseline: ExecutorKind::PY_SEQUENTIAL,
        mirror: Some(ExecutorKind::PROCESS),
        colour: (245, 140, 130),
        caps: Caps {
            start_method: true,
            chunks: true,
            recycles: true,
            ..Caps::NONE
        },
    },
    ExecutorDef {
        name: "py-interpreter",
        language: Language::Python,
        shape: ShapeKind::Threads,
        baseline: ExecutorKind::PY_SEQUENTIAL,
        mirror: None,
        colour: (150, 200, 120),
        caps: Caps {
            chunks: true,
            subinterpreters: true,
            ..Caps::NONE
        },
    },
];

/// The table's rules, checked when it is compiled: distinct names, each baseline its language's
/// single-worker loop, and mirrors in pairs across the two languages.
const fn check(table: &[ExecutorDef]) {
    let mut i = 0;
    while i < table.len() {
        let e = &table[i];
        let b = &table[e.baseline.0 as usize];
        assert!(matches!(b.shape, ShapeKind::Single), "a baseline runs one worker");
        assert!(
            b.language as u8 == e.language as u8,
            "a baseline is in its pool's language"
        );
        if let Some(m) = e.mirror {
            let m = &table[m.0 as usize];
            assert!(
                m.language as u8 != e.language as u8,
                "a mirror is in the other language"
            );
            assert!(
                matches!(m.mirror, Some(back) if back.0 as usize == i),
                "mirrors come in pairs"
            );
        }
        let mut j = 0;
        while j < i {
            assert!(!same(table[j].name, e.name), "executor names are distinct");
            j += 1;
        }
        i += 1;
    }
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const _: () = check(&TABLE);

static NAMES: [&str; TABLE.len()] = {
    let mut names = [""; TABLE.len()];
    let mut i = 0;
    while i < TABLE.len() {
        names[i] = TABLE[i].name;
        i += 1;
    }
    names
};

impl ExecutorKind {
    pub fn named(name: &str) -> Option<ExecutorKind> {
        TABLE.iter().position(|e| e.name == name).map(|i| ExecutorKind(i as u8))
    }

    pub fn all() -> impl Iterator<Item = ExecutorKind> {
        (0..TABLE.len()).map(|i| ExecutorKind(i as u8))
    }

    /// Every name, for error messages.
    pub fn names() -> &'static [&'static str] {
        &NAMES
    }

    /// Its row in [`TABLE`] (and the place of its engine in `executor::ALL`).
    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub fn def(self) -> &'static ExecutorDef {
        &TABLE[self.index()]
    }

    pub fn name(self) -> &'static str {
        self.def().name
    }

    pub fn shape(self) -> ShapeKind {
        self.def().shape
    }

    pub fn caps(self) -> Caps {
        self.def().caps
    }

    pub fn colour(self) -> (u8, u8, u8) {
        self.def().colour
    }

    pub fn is_python(self) -> bool {
        self.def().language == Language::Python
    }

    /// Its language's plain loop: the baseline of its speedups.
    pub fn baseline(self) -> ExecutorKind {
        self.def().baseline
    }

    pub fn is_sequential(self) -> bool {
        self.shape() == ShapeKind::Single
    }

    /// Its mirror in the other language, if it has one.
    pub fn mirror(self) -> Option<ExecutorKind> {
        self.def().mirror
    }
}

crate::spec::by_name!(ExecutorKind);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_executor_is_named_once_with_a_baseline_and_true_mirrors() {
        for e in ExecutorKind::all() {
            assert_eq!(ExecutorKind::named(e.name()), Some(e));
            let b = e.baseline();
            assert!(b.is_sequential() && b.is_python() == e.is_python(), "{e}: baseline {b}");
            if let Some(m) = e.mirror() {
                assert_eq!(m.mirror(), Some(e), "{e}: mirrors come in pairs");
            }
        }
        let e = serde_json::from_str::<ExecutorKind>("\"fibers\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("fibers") && e.contains("py-process"), "{e}");
    }
}
