//! Everything pure and seeded: the cells an experiment's axes expand into, the order their
//! repetitions run in ([`schedule`]), and what each repetition draws ([`draw`]).

mod draw;
mod schedule;
mod shard;
mod values;

use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

use crate::workload::WorkloadKind;

pub use draw::{draw, noise_pixels, ImageFolder, Images, Input, Rep, Task};
pub use schedule::{schedule, Order, Repetitions};
pub use shard::{assign, slice, Shard, Split};
pub use values::{ExecutorKind, Format, Pinning, StartMethod};

/// The values each axis takes; the plan is their cartesian product.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Axes {
    pub workload: Vec<WorkloadKind>,
    pub executor: Vec<ExecutorKind>,
    pub workers: Vec<NonZeroUsize>,
    /// Hybrid executor: worker processes, and threads in each (`workers` does not apply).
    pub processes: Vec<NonZeroUsize>,
    pub threads: Vec<NonZeroUsize>,
    pub intra_op_threads: Vec<NonZeroUsize>,
    pub pinning: Vec<Pinning>,
    /// What workloads that save images encode to (`[resize] format`).
    pub format: Vec<Format>,
    /// Workloads with a model: which of `[classify] model` (indices into that list).
    pub model: Vec<u8>,
    /// `py-process`: how its workers start.
    pub start_method: Vec<StartMethod>,
    pub sets: Vec<NonZeroUsize>,
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
            intra_op_threads: vec![NonZeroUsize::MIN],
            pinning: vec![Pinning::None],
            format: vec![Format::Jpeg],
            model: vec![0],
            start_method: vec![StartMethod::Fork],
            sets: vec![NonZeroUsize::MIN],
        }
    }
}

/// Drops every cell that matches all the keys it names.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Exclude {
    pub pinning: Option<Pinning>,
    pub format: Option<Format>,
    /// An index into `[classify] model`.
    pub model: Option<u8>,
    pub processes: Option<NonZeroUsize>,
    pub threads: Option<NonZeroUsize>,
    pub workload: Option<WorkloadKind>,
    pub executor: Option<ExecutorKind>,
    pub workers: Option<NonZeroUsize>,
    pub intra_op_threads: Option<NonZeroUsize>,
    pub sets: Option<NonZeroUsize>,
}

/// One combination of axis values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cell {
    pub workload: WorkloadKind,
    pub executor: ExecutorKind,
    /// Workers that run tasks at once: threads, processes, or processes x threads (hybrid).
    pub workers: NonZeroUsize,
    /// Hybrid: threads in each worker process; `None` for the other executors.
    pub threads: Option<NonZeroUsize>,
    /// ONNX Runtime intra-op threads per session; `None` for workloads without a model.
    pub intra_op_threads: Option<NonZeroUsize>,
    pub pinning: Pinning,
    /// The output format, for workloads that encode images; `None` for the others.
    pub format: Option<Format>,
    /// Which model of `[classify] model` (an index), for workloads with a model.
    pub model: Option<u8>,
    /// `py-process`: how its workers start; `None` for the other executors.
    pub start_method: Option<StartMethod>,
    /// Task sets per repetition.
    pub sets: NonZeroUsize,
}

impl Cell {
    /// A stable, readable name: `classify-process-w2-i1-s8`, `resize-hybrid-p2t2-pin-png-s8`,
    /// `classify-thread-w2-m2-i1-s8` (the second model listed). The defaults (no pinning, JPEG,
    /// the first model) add nothing, so ids stay as they were before those axes.
    pub fn id(&self) -> String {
        let mut s = match self.threads {
            Some(t) => format!("{}-{}-p{}t{t}", self.workload, self.executor, self.processes()),
            None => format!("{}-{}-w{}", self.workload, self.executor, self.workers),
        };
        if let Some(m) = self.start_method {
            s.push_str(&format!("-{m}"));
        }
        if self.pinning == Pinning::Cores {
            s.push_str("-pin");
        }
        if let Some(f) = self.format.filter(|&f| f != Format::Jpeg) {
            s.push_str(&format!("-{f}"));
        }
        if let Some(m) = self.model.filter(|&m| m > 0) {
            s.push_str(&format!("-m{}", m + 1));
        }
        if let Some(t) = self.intra_op_threads {
            s.push_str(&format!("-i{t}"));
        }
        s.push_str(&format!("-s{}", self.sets));
        s
    }

    /// Worker processes: `workers` for the process pool, P for hybrid, 1 otherwise (the
    /// repetition process itself).
    pub fn processes(&self) -> usize {
        match self.executor {
            ExecutorKind::Process | ExecutorKind::PyProcess => self.workers.get(),
            ExecutorKind::Hybrid => self.workers.get() / self.threads.map_or(1, |t| t.get()),
            _ => 1,
        }
    }

    /// Worker threads in each of those processes.
    pub fn threads_per_process(&self) -> usize {
        match self.executor {
            ExecutorKind::Thread | ExecutorKind::PyThread => self.workers.get(),
            ExecutorKind::Hybrid => self.threads.map_or(1, |t| t.get()),
            _ => 1,
        }
    }

    /// The sequential cell this one is compared against: the same language, work, pinning,
    /// format and model.
    pub fn baseline(&self) -> Cell {
        Cell {
            executor: self.executor.sequential(),
            workers: NonZeroUsize::MIN,
            threads: None,
            start_method: None,
            ..*self
        }
    }

    /// Threads that may compute at once: workers × intra-op threads.
    pub fn compute_threads(&self) -> usize {
        self.workers.get() * self.intra_op_threads.map_or(1, |t| t.get())
    }

    fn matches(&self, x: &Exclude) -> bool {
        x.pinning.is_none_or(|v| v == self.pinning)
            && x.format.is_none_or(|v| Some(v) == self.format)
            && x.model.is_none_or(|v| Some(v) == self.model)
            && x.processes
                .is_none_or(|v| self.threads.is_some() && v.get() == self.processes())
            && x.threads.is_none_or(|v| Some(v) == self.threads)
            && x.workload.is_none_or(|v| v == self.workload)
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
    // Each executor's (workers, threads per process) pairs: sequential has one worker, hybrid
    // takes processes x threads instead of `workers`.
    let shapes = |e: ExecutorKind| -> Vec<(NonZeroUsize, Option<NonZeroUsize>)> {
        match e {
            ExecutorKind::Sequential | ExecutorKind::PySequential => vec![(NonZeroUsize::MIN, None)],
            ExecutorKind::Thread | ExecutorKind::Process | ExecutorKind::PyThread | ExecutorKind::PyProcess => {
                axes.workers.iter().map(|&w| (w, None)).collect()
            }
            ExecutorKind::Hybrid => axes
                .processes
                .iter()
                .flat_map(|p| axes.threads.iter().map(move |&t| (p.saturating_mul(t), Some(t))))
                .collect(),
        }
    };
    let mut cells: Vec<Cell> = Vec::new();
    for &workload in &axes.workload {
        let encodes = workload.parts().iter().any(|p| p.encodes_images());
        for &sets in &axes.sets {
            for &format in &axes.format {
                for &model in &axes.model {
                    for &intra in &axes.intra_op_threads {
                        for &pinning in &axes.pinning {
                            for &executor in &axes.executor {
                                let methods: Vec<Option<StartMethod>> = match executor {
                                    ExecutorKind::PyProcess => axes.start_method.iter().map(|&m| Some(m)).collect(),
                                    _ => vec![None],
                                };
                                let shapes = shapes(executor);
                                let shapes = shapes.iter().flat_map(|&s| methods.iter().map(move |&m| (s, m)));
                                for ((workers, threads), start_method) in shapes {
                                    let cell = Cell {
                                        workload,
                                        executor,
                                        workers,
                                        threads,
                                        intra_op_threads: workload.uses_model().then_some(intra),
                                        pinning,
                                        format: encodes.then_some(format),
                                        model: workload.uses_model().then_some(model),
                                        start_method,
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

    fn axes() -> Axes {
        Axes {
            workload: vec![w("resize"), w("classify")],
            executor: vec![ExecutorKind::Sequential, ExecutorKind::Thread, ExecutorKind::Process],
            workers: vec![n(1), n(2), n(4)],
            processes: vec![n(2)],
            threads: vec![n(2)],
            intra_op_threads: vec![n(1), n(2)],
            pinning: vec![Pinning::None],
            format: vec![Format::Jpeg],
            model: vec![0],
            start_method: vec![StartMethod::Fork],
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
