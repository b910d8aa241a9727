//! The matrix: expands an experiment's axes into the cells to run (a pure function).

use std::fmt;
use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

use crate::spec::{Axes, Exclude, Experiment};

/// What each task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkloadKind {
    /// Decode, resize to each target, encode and save as JPEG.
    Resize,
    /// Decode, preprocess and run the ONNX classifier.
    Classify,
    /// Every image both resized and classified, in a seeded order.
    Mixed,
    /// Pure CPU: a fixed count of integer operations.
    Spin,
    /// Pure waiting, like I/O.
    Sleep,
    /// Memory calibration: allocate and touch a known amount, hold it, free it.
    Alloc,
}

impl WorkloadKind {
    pub fn uses_images(self) -> bool {
        matches!(self, Self::Resize | Self::Classify | Self::Mixed)
    }
    pub fn uses_model(self) -> bool {
        matches!(self, Self::Classify | Self::Mixed)
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Resize => "resize",
            Self::Classify => "classify",
            Self::Mixed => "mixed",
            Self::Spin => "spin",
            Self::Sleep => "sleep",
            Self::Alloc => "alloc",
        }
    }
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

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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

/// Tasks one repetition of `cell` runs.
pub fn tasks_per_repetition(exp: &Experiment, cell: &Cell) -> usize {
    let per_set = if cell.workload.uses_images() {
        exp.images.folders.len() + usize::from(exp.images.noise.is_some())
    } else {
        3
    };
    let kinds = if cell.workload == WorkloadKind::Mixed { 2 } else { 1 };
    cell.sets.get() * per_set * kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: usize) -> NonZeroUsize {
        NonZeroUsize::new(v).unwrap()
    }

    fn axes() -> Axes {
        Axes {
            workload: vec![WorkloadKind::Resize, WorkloadKind::Classify],
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
            .filter(|c| c.workload == WorkloadKind::Resize && c.executor == ExecutorKind::Sequential)
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
