//! The run loop: every cell, every repetition, in plan order; rows go to the sink as they come.

use std::io;

use crate::draw::{draw, Rep};
use crate::isolate::RepRunner;
use crate::plan::Cell;
use crate::sink::{RunMeta, RunRow, Sink, TaskRow};
use crate::spec::Experiment;
use crate::workload::TaskRecord;

/// Where the run is, for a progress display.
pub struct Progress<'a> {
    pub cell: &'a Cell,
    pub rep: Rep,
    /// Repetitions finished so far, and in all.
    pub done: usize,
    pub total: usize,
}

/// Warm-ups first, then the measured repetitions, for each cell in turn.
pub fn schedule(exp: &Experiment, cells: &[Cell]) -> Vec<(Cell, Rep)> {
    let reps: Vec<Rep> = (0..exp.warmup)
        .map(|index| Rep { warmup: true, index })
        .chain((0..exp.repetitions.get()).map(|index| Rep { warmup: false, index }))
        .collect();
    cells.iter().flat_map(|c| reps.iter().map(move |r| (*c, *r))).collect()
}

/// Runs the schedule; stops early (keeping every row written) when `stop` says so.
pub fn run(
    exp: &Experiment,
    schedule: &[(Cell, Rep)],
    meta: &RunMeta,
    reps: &mut dyn RepRunner,
    sink: &mut dyn Sink,
    progress: &mut dyn FnMut(&Progress),
    stop: &dyn Fn() -> bool,
) -> io::Result<Vec<RunRow>> {
    let mut rows = Vec::new();
    for (done, (cell, rep)) in schedule.iter().enumerate() {
        if stop() {
            break;
        }
        progress(&Progress { cell, rep: *rep, done, total: schedule.len() });
        let tasks = draw(exp.seed, *rep, cell.workload, cell.sets.get(), &exp.images);
        let n = tasks.len();
        let mut records: Vec<TaskRecord> = Vec::with_capacity(n);
        let mut sink_error = None;
        let result = reps.run(cell, *rep, tasks.clone(), &mut |rec| {
            if let Err(e) = sink.task(&TaskRow::new(cell, *rep, &rec)) {
                sink_error.get_or_insert(e);
            }
            records.push(rec);
        });
        let mut seen = vec![false; n];
        for r in &records {
            if let Some(s) = seen.get_mut(r.task) {
                *s = true;
            }
        }
        let why = result.error.clone().unwrap_or_else(|| "no result came back".to_string());
        for task in tasks.iter().filter(|t| !seen[t.index]) {
            let rec = TaskRecord::failed(task, usize::MAX, format!("not run: {why}"));
            sink.task(&TaskRow::new(cell, *rep, &rec))?;
            records.push(rec);
        }
        if let Some(e) = sink_error {
            return Err(e);
        }
        records.sort_by_key(|r| r.task);
        let row = RunRow::new(meta, cell, *rep, &records, &result);
        sink.run(&row)?;
        rows.push(row);
    }
    progress_done(progress, schedule);
    Ok(rows)
}

fn progress_done(progress: &mut dyn FnMut(&Progress), schedule: &[(Cell, Rep)]) {
    if let Some((cell, rep)) = schedule.last() {
        progress(&Progress { cell, rep: *rep, done: schedule.len(), total: schedule.len() });
    }
}
