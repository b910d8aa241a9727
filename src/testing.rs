//! Builders the unit tests share: a cell and a measured row, as the statistics, the answer,
//! compare and the rounds until decided test them.

use std::num::NonZeroUsize;

use crate::outcome::{Ended, RepMeasure, RepResult};
use crate::plan::{expand, Axes, Cell, Input, Rep, Task};
use crate::pools::ExecutorKind;
use crate::record::{RunMeta, RunRow};
use crate::workload::{TaskRecord, WorkloadKind};

/// The spin cell of `executor` with `workers` workers and one task set.
pub fn cell(executor: ExecutorKind, workers: usize) -> Cell {
    let n = |v| NonZeroUsize::new(v).unwrap();
    let axes = Axes {
        workers: vec![n(workers)],
        sets: vec![n(1)],
        ..Axes::with_defaults(vec![WorkloadKind::named("spin").unwrap()], vec![executor])
    };
    expand(&axes, &[])[0]
}

/// A measured repetition of 3 tasks taking `wall_s`, failed with `error` if given.
pub fn row(cell: &Cell, rep: usize, wall_s: f64, error: Option<&str>) -> RunRow {
    let kind = cell.workload;
    let tasks: Vec<TaskRecord> = (0..3)
        .map(|index| {
            let t = Task {
                index,
                kind,
                input: Input::None,
                seed: 0,
            };
            TaskRecord::blank(&t, Some(0))
        })
        .collect();
    let measure = RepMeasure {
        wall_s,
        ..Default::default()
    };
    let result = RepResult::of(match error {
        None => Ended::Measured(measure),
        Some(text) => Ended::Failed {
            failure: crate::outcome::Failure::from_text(text),
            measure: Some(measure),
        },
    });
    let meta = RunMeta {
        cores: 2,
        ..RunMeta::default()
    };
    RunRow::new(
        &meta,
        cell,
        Rep {
            warmup: false,
            index: rep,
        },
        &tasks,
        &result,
    )
}
