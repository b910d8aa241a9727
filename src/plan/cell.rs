//! One cell: a workload, an executor in one shape, a number of task sets and a value for each
//! axis that applies. The one place that says what a cell is called ([`Cell::id`]), what "the
//! same work" is ([`Cell::work`]), which cells a verdict compares ([`Cell::setting`]) and what a
//! cell's speedup is measured against ([`Cell::baseline`]): every later stage asks these.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

use super::axes::{self, ID_ORDER};
use crate::axis::{AxisDef, Role, Value, Values};
use crate::pools::{ExecutorKind, Shape, ShapeKind};
use crate::workload::{WorkloadKind, INTRA_OP_THREADS};

/// One combination of axis values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    pub workload: WorkloadKind,
    pub executor: ExecutorKind,
    /// Worker processes and threads in each: thread pool 1 x N, process pool N x 1, hybrid P x T.
    pub shape: Shape,
    /// Task sets per repetition.
    pub sets: NonZeroUsize,
    /// A value for each axis that applies to this workload and executor, and none for the others.
    pub values: Values,
}

/// The work a cell does, whatever runs it: its workload, sets and every work axis (format,
/// model, pinning, ...). A cell's baseline does the same work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Work {
    pub workload: WorkloadKind,
    pub sets: NonZeroUsize,
    pub values: Values,
}

/// What a verdict holds fixed: the work, the number of workers and what runs the work (the
/// runtime axes: Python's interpreter and GIL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Setting {
    pub work: Work,
    pub runtime: Values,
    pub workers: usize,
}

/// Every value both hold agrees (an axis only one of them has does not keep them apart).
fn agree(a: &Values, b: &Values) -> bool {
    a.iter().all(|(k, v)| b.get(k).is_none_or(|w| w == v))
}

impl Setting {
    /// Whether two cells may be compared: the same workload, sets and workers, and the same
    /// value of every work and runtime axis that applies to both (an axis of one language's
    /// pools only, such as Python's interpreter, does not keep a pool from its mirror).
    pub fn matches(&self, o: &Setting) -> bool {
        self.across(o) && agree(&self.runtime, &o.runtime)
    }

    /// Whether two cells do the same work with the same workers, whatever runs it: what a
    /// verdict across interpreters or GIL settings compares.
    pub fn across(&self, o: &Setting) -> bool {
        let (a, b) = (&self.work, &o.work);
        a.workload == b.workload && a.sets == b.sets && self.workers == o.workers && agree(&a.values, &b.values)
    }
}

impl Cell {
    /// Workers that run tasks at once.
    pub fn workers(&self) -> usize {
        self.shape.workers()
    }

    /// Worker processes (the repetition process itself for the loop and the thread pool).
    pub fn processes(&self) -> usize {
        self.shape.processes.get()
    }

    /// Threads in each of those processes.
    pub fn threads_per_process(&self) -> usize {
        self.shape.threads.get()
    }

    /// A stable, readable name: `classify-process-w2-i1-s8`, `resize-hybrid-p2t2-pin-png-s8`,
    /// `classify-thread-w2-m2-i1-s8` (the second model listed). Default values add nothing, so
    /// ids stay as they were before their axes existed.
    pub fn id(&self) -> String {
        let mut s = match self.executor.shape() {
            ShapeKind::ProcessesThreads => format!(
                "{}-{}-p{}t{}",
                self.workload, self.executor, self.shape.processes, self.shape.threads
            ),
            _ => format!("{}-{}-w{}", self.workload, self.executor, self.workers()),
        };
        for axis in ID_ORDER {
            if let Some(part) = axis.of(&self.values).and_then(|v| (axis.id)(v)) {
                s.push_str(&part);
            }
        }
        let _ = write!(s, "-s{}", self.sets);
        s
    }

    /// Its values of the axes with this role.
    fn with_role(&self, role: Role) -> Values {
        let mut values = self.values;
        values.retain(|a| a.role == role);
        values
    }

    pub fn work(&self) -> Work {
        Work {
            workload: self.workload,
            sets: self.sets,
            values: self.with_role(Role::Work),
        }
    }

    /// What runs its work: its values of the runtime axes (Python's interpreter and GIL).
    pub fn runtime(&self) -> Values {
        self.with_role(Role::Runtime)
    }

    pub fn setting(&self) -> Setting {
        Setting {
            work: self.work(),
            runtime: self.runtime(),
            workers: self.workers(),
        }
    }

    /// The sequential cell this one is compared against: its language's loop doing the same
    /// work on the same runtime.
    pub fn baseline(&self) -> Cell {
        let executor = self.executor.baseline();
        let mut values = self.work().values;
        for (k, v) in self.runtime().iter() {
            values.set(k, v);
        }
        let applies: Vec<&str> = axes::applying(self.workload, executor).map(|a| a.key).collect();
        values.retain(|a| applies.contains(&a.key));
        Cell {
            executor,
            shape: Shape::ONE,
            values,
            ..*self
        }
    }

    /// How a verdict names this side: the executor, its processes x threads where it has both,
    /// and how its pool runs, for the pool axes `show` picks (`hybrid 2x1`, `py-process (spawn)`).
    pub fn side(&self, show: &dyn Fn(&AxisDef) -> bool) -> String {
        let mut s = self.executor.to_string();
        if self.executor.shape() == ShapeKind::ProcessesThreads {
            let _ = write!(s, " {}x{}", self.shape.processes, self.shape.threads);
        }
        let pool: Vec<String> = axes::ALL
            .iter()
            .filter(|a| a.role == Role::Pool && show(a))
            .filter_map(|a| a.of(&self.values).and_then(|v| (a.setting)(v)))
            .collect();
        if !pool.is_empty() {
            let _ = write!(s, " ({})", pool.join(", "));
        }
        s
    }

    /// Threads that may compute at once: workers x intra-op threads.
    pub fn compute_threads(&self) -> usize {
        self.workers()
            * INTRA_OP_THREADS
                .of(&self.values)
                .map_or(1, |_| INTRA_OP_THREADS.count_of(&self.values) as usize)
    }

    /// The cell's value of `axis`, as its runs.csv column writes it.
    pub fn text(&self, axis: &AxisDef) -> Option<String> {
        self.values.get(axis).map(Value::text)
    }
}

/// A cell as results.json writes it: its id, workload, executor, shape, sets and each axis
/// value that applies, by the axis's column name.
#[derive(Serialize, Deserialize)]
struct CellJson {
    id: String,
    workload: WorkloadKind,
    executor: ExecutorKind,
    processes: NonZeroUsize,
    threads: NonZeroUsize,
    sets: NonZeroUsize,
    axes: BTreeMap<String, String>,
}

impl Serialize for Cell {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        CellJson {
            id: self.id(),
            workload: self.workload,
            executor: self.executor,
            processes: self.shape.processes,
            threads: self.shape.threads,
            sets: self.sets,
            axes: axes::ALL
                .iter()
                .filter_map(|a| a.of(&self.values).map(|v| (a.column.to_string(), v.text())))
                .collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = CellJson::deserialize(d)?;
        let mut values = Values::default();
        for (column, text) in &j.axes {
            let axis = axes::by_key(column).ok_or_else(|| serde::de::Error::custom(format!("no axis `{column}`")))?;
            let v = axis
                .read(text, &j.id)
                .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a value of `{column}`")))?;
            values.set(axis, v);
        }
        Ok(Cell {
            workload: j.workload,
            executor: j.executor,
            shape: Shape {
                processes: j.processes,
                threads: j.threads,
            },
            sets: j.sets,
            values,
        })
    }
}
