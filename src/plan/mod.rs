//! Everything pure and seeded: the cells an experiment's axes expand into ([`cell`], with the
//! axes themselves in [`axes`]), the order their repetitions run in ([`schedule`](fn@schedule)), what each
//! repetition draws ([`draw`](fn@draw)) and which shard runs what ([`shard`]).

pub mod axes;
mod cell;
mod draw;
mod question;
mod schedule;
mod shard;

use std::num::NonZeroUsize;

use crate::axis::{AxisDef, AxisId, Value, Values};
use crate::pools::{ExecutorKind, Shape, ShapeKind};
use crate::workload::WorkloadKind;

pub use crate::task::{Input, Rep, Task};
pub use cell::{Cell, Setting, Work};
pub use draw::{draw, inputs_per_set, ImageFolder, Images};
pub use question::{meet, Question};
pub use schedule::{round, schedule, Order, Repetitions};
pub use shard::{assign, slice, Shard, Split};

/// The values each axis takes; the plan is their cartesian product.
#[derive(Debug, Clone)]
pub struct Axes {
    pub workload: Vec<WorkloadKind>,
    pub executor: Vec<ExecutorKind>,
    pub workers: Vec<NonZeroUsize>,
    /// Executors shaped processes x threads (hybrid): its processes, and threads in each
    /// (`workers` does not apply).
    pub processes: Vec<NonZeroUsize>,
    pub threads: Vec<NonZeroUsize>,
    pub sets: Vec<NonZeroUsize>,
    /// Every other axis's values, in [`axes::ALL`]'s order.
    pub values: Vec<(&'static AxisDef, Vec<Value>)>,
    /// Keys tied entry by entry (`zip = { workers = [1, 2, 4], sets = [8, 16, 32] }`): their
    /// lists above hold each key's values, and a cell is kept only where some entry agrees.
    pub zips: Vec<Zip>,
}

/// `zip = { workers = [1, 2, 4], sets = [8, 16, 32] }`: one axis of tuples. Its keys' values
/// are multiplied with the other axes only as the entries pair them.
#[derive(Debug, Clone, PartialEq)]
pub struct Zip {
    /// The keys it ties, as the file names them.
    pub keys: Vec<&'static str>,
    /// Entry `i` of every list, as a partial cell.
    pub entries: Vec<Exclude>,
}

impl Zip {
    /// Whether some entry agrees with the cell on every key that applies to it.
    pub fn keeps(&self, c: &Cell) -> bool {
        self.entries.iter().any(|e| e.agrees(c))
    }

    /// Whether the work grows with the workers: the zip ties the sets to the workers (or to
    /// the processes or threads of a hybrid shape). Efficiency is then per worker against the
    /// same pool with fewest workers, not against the loop.
    pub fn weak_scaling(&self) -> bool {
        self.keys.contains(&"sets")
            && self
                .keys
                .iter()
                .any(|k| ["workers", "processes", "threads"].contains(k))
    }
}

impl Axes {
    /// The given workloads and executors, every other axis at its one default value (as an
    /// experiment file that names only those two keys).
    pub fn with_defaults(workload: Vec<WorkloadKind>, executor: Vec<ExecutorKind>) -> Axes {
        Axes {
            workload,
            executor,
            workers: vec![NonZeroUsize::MIN],
            processes: vec![NonZeroUsize::MIN],
            threads: vec![NonZeroUsize::MIN],
            sets: vec![NonZeroUsize::MIN],
            values: axes::ALL.iter().map(|a| (*a, vec![a.default_value()])).collect(),
            zips: Vec::new(),
        }
    }

    /// The values listed for the axis with this key.
    pub fn of(&self, key: &str) -> &[Value] {
        self.values
            .iter()
            .find(|(a, _)| a.key == key)
            .map_or(&[], |(_, v)| v.as_slice())
    }

    /// Replaces the values of one axis.
    pub fn set(&mut self, axis: &'static AxisDef, values: Vec<Value>) {
        match self.values.iter_mut().find(|(a, _)| std::ptr::eq(*a, axis)) {
            Some(slot) => slot.1 = values,
            None => self.values.push((axis, values)),
        }
    }

    /// The (processes, threads) shapes of an executor's cells.
    fn shapes(&self, e: ExecutorKind) -> Vec<Shape> {
        let shape = |processes, threads| Shape { processes, threads };
        match e.shape() {
            ShapeKind::Single => vec![Shape::ONE],
            ShapeKind::Threads => self.workers.iter().map(|&w| shape(NonZeroUsize::MIN, w)).collect(),
            ShapeKind::Processes => self.workers.iter().map(|&w| shape(w, NonZeroUsize::MIN)).collect(),
            ShapeKind::ProcessesThreads => self
                .processes
                .iter()
                .flat_map(|&p| self.threads.iter().map(move |&t| shape(p, t)))
                .collect(),
        }
    }
}

/// Drops every cell that matches all the keys it names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exclude {
    pub workload: Option<WorkloadKind>,
    pub executor: Option<ExecutorKind>,
    pub workers: Option<NonZeroUsize>,
    /// Match only cells shaped processes x threads (hybrid).
    pub processes: Option<NonZeroUsize>,
    pub threads: Option<NonZeroUsize>,
    pub sets: Option<NonZeroUsize>,
    /// Axis values, by axis.
    pub values: Vec<(AxisId, Value)>,
}

impl Exclude {
    fn matches(&self, c: &Cell) -> bool {
        let hybrid = c.executor.shape() == ShapeKind::ProcessesThreads;
        self.workload.is_none_or(|v| v == c.workload)
            && self.executor.is_none_or(|v| v == c.executor)
            && self.workers.is_none_or(|v| v.get() == c.workers())
            && self.processes.is_none_or(|v| hybrid && v == c.shape.processes)
            && self.threads.is_none_or(|v| hybrid && v == c.shape.threads)
            && self.sets.is_none_or(|v| v == c.sets)
            && self.values.iter().all(|(k, v)| c.values.get(k.0) == Some(*v))
    }

    /// Every key it names that applies to the cell holds its value there; a key that does not
    /// apply (workers for the loop, threads for the process pool, an axis the cell has none
    /// of) says nothing. So a zip of workers and sets keeps the loop at every sets value.
    fn agrees(&self, c: &Cell) -> bool {
        let shape = c.executor.shape();
        let pooled = matches!(shape, ShapeKind::Threads | ShapeKind::Processes);
        let hybrid = shape == ShapeKind::ProcessesThreads;
        self.workload.is_none_or(|v| v == c.workload)
            && self.executor.is_none_or(|v| v == c.executor)
            && self.workers.is_none_or(|v| !pooled || v.get() == c.workers())
            && self.processes.is_none_or(|v| !hybrid || v == c.shape.processes)
            && self.threads.is_none_or(|v| !hybrid || v == c.shape.threads)
            && self.sets.is_none_or(|v| v == c.sets)
            && self
                .values
                .iter()
                .all(|(k, v)| c.values.get(k.0).is_none_or(|x| x == *v))
    }
}

/// The cartesian product of the axes, in file order, without excluded cells and with each zip's
/// keys only as its entries pair them: per workload and sets, the work and runtime axes
/// outside, then the executors and their shapes, then the pool axes.
///
/// An axis that does not apply to a cell's workload and executor is left out of it, so such
/// cells collapse instead of multiplying (the loop has one worker; resize has no model).
pub fn expand(axes: &Axes, exclude: &[Exclude]) -> Vec<Cell> {
    let mut cells: Vec<Cell> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for &workload in &axes.workload {
        for &sets in &axes.sets {
            for work in combinations(axes, |a| a.role != crate::axis::Role::Pool, Values::default()) {
                for &executor in &axes.executor {
                    let facts = axes::facts(workload, executor);
                    for shape in axes.shapes(executor) {
                        for values in combinations(axes, |a| a.role == crate::axis::Role::Pool, work) {
                            let mut values = values;
                            values.retain(|a| (a.applies)(&facts));
                            let cell = Cell {
                                workload,
                                executor,
                                shape,
                                sets,
                                values,
                            };
                            let kept = axes.zips.iter().all(|z| z.keeps(&cell));
                            if kept && !exclude.iter().any(|x| x.matches(&cell)) && seen.insert(cell) {
                                cells.push(cell);
                            }
                        }
                    }
                }
            }
        }
    }
    cells
}

/// Every combination of the values of the axes `pick` selects, on top of `base`.
fn combinations(axes: &Axes, pick: impl Fn(&AxisDef) -> bool, base: Values) -> Vec<Values> {
    let mut out = vec![base];
    for (axis, values) in axes.values.iter().filter(|(a, _)| pick(a)) {
        out = out
            .iter()
            .flat_map(|v| {
                values.iter().map(move |&x| {
                    let mut v = *v;
                    v.set(axis, x);
                    v
                })
            })
            .collect();
    }
    out
}

/// Tasks one repetition of `cell` runs: what a set draws, times its parts, times its sets.
pub fn tasks_per_repetition(cell: &Cell, images: &Images) -> usize {
    draw::inputs_per_set(cell.workload, images) * cell.workload.parts().len() * cell.sets.get()
}

/// One repetition's estimated cost, for balancing shards: its inputs times the estimated
/// milliseconds of each part's task (`task_ms`). Only ratios between cells matter.
pub fn estimated_cost(cell: &Cell, images: &Images, task_ms: &dyn Fn(WorkloadKind) -> f64) -> f64 {
    let inputs = draw::inputs_per_set(cell.workload, images) * cell.sets.get();
    // Python's pools took 1.7-4x the runner's time per task on the image workloads
    // (docs/performance.md), and start an interpreter besides.
    let language = if cell.executor.is_python() { 3.0 } else { 1.0 };
    language * inputs as f64 * cell.workload.parts().iter().map(|&p| task_ms(p)).sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: usize) -> NonZeroUsize {
        NonZeroUsize::new(v).unwrap()
    }

    fn w(name: &str) -> WorkloadKind {
        WorkloadKind::named(name).unwrap()
    }

    fn e(name: &str) -> ExecutorKind {
        ExecutorKind::named(name).unwrap()
    }

    fn axes() -> Axes {
        let mut a = Axes {
            workers: vec![n(1), n(2), n(4)],
            processes: vec![n(2)],
            threads: vec![n(2)],
            sets: vec![n(8)],
            ..Axes::with_defaults(
                vec![w("resize"), w("classify")],
                vec![e("sequential"), e("thread"), e("process")],
            )
        };
        a.set(
            &crate::workload::INTRA_OP_THREADS,
            vec![Value::Count(1), Value::Count(2)],
        );
        a
    }

    #[test]
    fn plan_snapshot() {
        let ids: Vec<String> = expand(&axes(), &[]).iter().map(Cell::id).collect();
        insta::assert_yaml_snapshot!(ids);
    }

    #[test]
    fn sequential_does_not_multiply_by_workers_and_resize_not_by_intra_op() {
        let cells = expand(&axes(), &[]);
        let seq_resize = cells
            .iter()
            .filter(|c| c.workload == w("resize") && c.executor == e("sequential"))
            .count();
        assert_eq!(seq_resize, 1);
        // resize: 1 sequential + 3 thread + 3 process; classify: twice that (intra 1, 2).
        assert_eq!(cells.len(), 7 + 14);
    }

    #[test]
    fn exclude_drops_only_full_matches() {
        let x = Exclude {
            executor: Some(e("process")),
            workers: Some(n(4)),
            ..Default::default()
        };
        let cells = expand(&axes(), &[x]);
        assert_eq!(cells.len(), 21 - 3);
        assert!(!cells.iter().any(|c| c.executor == e("process") && c.workers() == 4));
        assert!(cells.iter().any(|c| c.executor == e("thread") && c.workers() == 4));
    }

    #[test]
    fn baseline_is_the_sequential_cell_with_the_same_work() {
        let cells = expand(&axes(), &[]);
        let c = cells[5];
        let b = c.baseline();
        assert_eq!(
            (b.executor, b.workers(), b.workload, b.sets),
            (e("sequential"), 1, c.workload, c.sets)
        );
        assert!(cells.contains(&b), "the baseline is one of the cells");
        // Every classify cell's baseline has its intra-op threads; the pools' settings match
        // only with the same workers.
        for c in cells.iter().filter(|c| c.workload == w("classify")) {
            assert_eq!(
                c.baseline().values.get(&crate::workload::INTRA_OP_THREADS),
                c.values.get(&crate::workload::INTRA_OP_THREADS)
            );
            assert!(cells.contains(&c.baseline()), "{}", c.id());
        }
        let thread2 = cells.iter().find(|c| c.id() == "classify-thread-w2-i2-s8").unwrap();
        let process2 = cells.iter().find(|c| c.id() == "classify-process-w2-i2-s8").unwrap();
        let process1 = cells.iter().find(|c| c.id() == "classify-process-w1-i2-s8").unwrap();
        assert!(thread2.setting().matches(&process2.setting()));
        assert!(!thread2.setting().matches(&process1.setting()));
    }
}
