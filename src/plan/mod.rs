//! Everything pure and seeded: the cells an experiment's axes expand into, the order their
//! repetitions run in ([`schedule`]), and what each repetition draws ([`draw`]).

mod draw;
mod schedule;
mod shard;

use std::fmt;
use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

use crate::workload::WorkloadKind;

pub use draw::{draw, noise_pixels, ImageFolder, Images, Input, Rep, Task};
pub use schedule::{schedule, Order, Repetitions};
pub use shard::{assign, slice, Shard, Split};

/// The values each axis takes; the plan is their cartesian product.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Axes {
    pub workload: Vec<WorkloadKind>,
    pub executor: Vec<ExecutorKind>,
    pub workers: Vec<NonZeroUsize>,
    pub intra_op_threads: Vec<NonZeroUsize>,
    pub sets: Vec<NonZeroUsize>,
}

/// Drops every cell that matches all the keys it names.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Exclude {
    pub workload: Option<WorkloadKind>,
    pub executor: Option<ExecutorKind>,
    pub workers: Option<NonZeroUsize>,
    pub intra_op_threads: Option<NonZeroUsize>,
    pub sets: Option<NonZeroUsize>,
}

/// How the tasks of a repetition are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutorKind {
    /// A plain loop in one thread: the baseline.
    Sequential,
    /// A rayon pool of `workers` threads, built for each repetition.
    Thread,
    /// `workers` processes forked from a single-threaded parent.
    Process,
}

impl ExecutorKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sequential => "sequential",
            Self::Thread => "thread",
            Self::Process => "process",
        }
    }
}

impl fmt::Display for ExecutorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One combination of axis values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cell {
    pub workload: WorkloadKind,
    pub executor: ExecutorKind,
    pub workers: NonZeroUsize,
    /// ONNX Runtime intra-op threads per session; `None` for workloads without a model.
    pub intra_op_threads: Option<NonZeroUsize>,
    /// Task sets per repetition.
    pub sets: NonZeroUsize,
}

impl Cell {
    /// A stable, readable name: `classify-process-w2-i1-s8`.
    pub fn id(&self) -> String {
        let mut s = format!("{}-{}-w{}", self.workload, self.executor, self.workers);
        if let Some(t) = self.intra_op_threads {
            s.push_str(&format!("-i{t}"));
        }
        s.push_str(&format!("-s{}", self.sets));
        s
    }

    /// The sequential cell this one is compared against.
    pub fn baseline(&self) -> Cell {
        Cell {
            executor: ExecutorKind::Sequential,
            workers: NonZeroUsize::MIN,
            ..*self
        }
    }

    /// Threads that may compute at once: workers × intra-op threads.
    pub fn compute_threads(&self) -> usize {
        self.workers.get() * self.intra_op_threads.map_or(1, |t| t.get())
    }

    fn matches(&self, x: &Exclude) -> bool {
        x.workload.is_none_or(|v| v == self.workload)
            && x.executor.is_none_or(|v| v == self.executor)
            && x.workers.is_none_or(|v| v == self.workers)
            && x.intra_op_threads.is_none_or(|v| Some(v) == self.intra_op_threads)
            && x.sets.is_none_or(|v| v == self.sets)
    }
}

/// The cartesian product of the axes, in file order, without excluded cells.
///
/// `sequential` ignores the workers axis (it always has one worker) and workloads without a
/// model ignore the intra-op axis, so those collapse instead of multiplying.
pub fn expand(axes: &Axes, exclude: &[Exclude]) -> Vec<Cell> {
    let mut cells: Vec<Cell> = Vec::new();
    for &workload in &axes.workload {
        for &sets in &axes.sets {
            for &intra in &axes.intra_op_threads {
                for &executor in &axes.executor {
                    for &workers in &axes.workers {
                        let cell = Cell {
                            workload,
                            executor,
                            workers: if executor == ExecutorKind::Sequential {
                                NonZeroUsize::MIN
                            } else {
                                workers
                            },
                            intra_op_threads: workload.uses_model().then_some(intra),
                            sets,
                        };
                        if !cells.contains(&cell) && !exclude.iter().any(|x| cell.matches(x)) {
                            cells.push(cell);
                        }
                    }
                }
            }
        }
    }
    cells
}

/// Tasks one repetition of `cell` runs: what a set draws, times its parts, times its sets.
pub fn tasks_per_repetition(cell: &Cell, images: &Images) -> usize {
    draw::inputs_per_set(cell.workload, images) * cell.workload.parts().len() * cell.sets.get()
}

/// One repetition's estimated cost, for balancing shards: its inputs times the estimated
/// milliseconds of each part's task (`task_ms`). Only ratios between cells matter.
pub fn estimated_cost(cell: &Cell, images: &Images, task_ms: &dyn Fn(WorkloadKind) -> f64) -> f64 {
    let inputs = draw::inputs_per_set(cell.workload, images) * cell.sets.get();
    inputs as f64 * cell.workload.parts().iter().map(|&p| task_ms(p)).sum::<f64>()
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

    fn axes() -> Axes {
        Axes {
            workload: vec![w("resize"), w("classify")],
            executor: vec![ExecutorKind::Sequential, ExecutorKind::Thread, ExecutorKind::Process],
            workers: vec![n(1), n(2), n(4)],
            intra_op_threads: vec![n(1), n(2)],
            sets: vec![n(8)],
        }
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
            .filter(|c| c.workload == w("resize") && c.executor == ExecutorKind::Sequential)
            .count();
        assert_eq!(seq_resize, 1);
        // resize: 1 sequential + 3 thread + 3 process; classify: twice that (intra 1, 2).
        assert_eq!(cells.len(), 7 + 14);
    }

    #[test]
    fn exclude_drops_only_full_matches() {
        let x = Exclude {
            executor: Some(ExecutorKind::Process),
            workers: Some(n(4)),
            ..Default::default()
        };
        let cells = expand(&axes(), &[x]);
        assert_eq!(cells.len(), 21 - 3);
        assert!(!cells
            .iter()
            .any(|c| c.executor == ExecutorKind::Process && c.workers == n(4)));
        assert!(cells
            .iter()
            .any(|c| c.executor == ExecutorKind::Thread && c.workers == n(4)));
    }

    #[test]
    fn baseline_is_the_sequential_cell_with_the_same_work() {
        let c = expand(&axes(), &[])[5];
        let b = c.baseline();
        assert_eq!(
            (b.executor, b.workers, b.workload, b.sets),
            (ExecutorKind::Sequential, n(1), c.workload, c.sets)
        );
    }
}
