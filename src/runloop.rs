//! The run loop: every (cell, repetition) of the schedule in turn, each drawn, run by a
//! [`RepRunner`], turned into typed records once, and handed to the exporters as it ends.

use std::io;

use crate::export::Exporter;
use crate::isolate::RepRunner;
use crate::outcome::TaskFailure;
use crate::plan::{draw, Cell, Images, Rep};
use crate::record::{RunMeta, RunRow, TaskRow};
use crate::workload::TaskRecord;

/// Where the run is, for a progress display.
pub struct Progress<'a> {
    pub cell: &'a Cell,
    pub rep: Rep,
    /// Repetitions finished so far, and in all.
    pub done: usize,
    pub total: usize,
}

/// What the loop checks between repetitions: whether to stop (an interrupt), and whether what
/// the repetitions read is still what the run began with (`Err` names what changed).
pub struct Guards<'a> {
    pub stop: &'a dyn Fn() -> bool,
    pub inputs: &'a dyn Fn() -> Result<(), String>,
}

/// The rows the loop wrote, and why it ended early if it did because an input changed.
pub struct Outcome {
    pub rows: Vec<RunRow>,
    pub changed: Option<String>,
}

/// Runs the schedule; stops early (keeping every row written) when a guard says so.
pub fn run(
    images: &Images,
    schedule: &[(Cell, Rep)],
    meta: &RunMeta,
    reps: &mut dyn RepRunner,
    out: &mut dyn Exporter,
    progress: &mut dyn FnMut(&Progress),
    guards: &Guards,
) -> io::Result<Outcome> {
    let mut rows = Vec::new();
    for (done, (cell, rep)) in schedule.iter().enumerate() {
        if (guards.stop)() {
            break;
        }
        // Outside every wall time: this runs before the repetition's process starts.
        if let Err(changed) = (guards.inputs)() {
            return Ok(Outcome {
                rows,
                changed: Some(changed),
            });
        }
        progress(&Progress {
            cell,
            rep: *rep,
            done,
            total: schedule.len(),
        });
        let tasks = draw(meta.seed, *rep, cell.workload, cell.sets.get(), images);
        let n = tasks.len();
        let mut records: Vec<TaskRecord> = Vec::with_capacity(n);
        let mut out_error = None;
        let result = reps.run(cell, *rep, tasks.clone(), &mut |rec| {
            if let Err(e) = out.task(&TaskRow::new(cell, *rep, &rec)) {
                out_error.get_or_insert(e);
            }
            records.push(rec);
        });
        if result.is_cut() {
            // Stopped from outside before it ended: not a result. No row, so `--resume` runs
            // it again with the same draws.
            break;
        }
        let mut seen = vec![false; n];
        for r in &records {
            if let Some(s) = seen.get_mut(r.task) {
                *s = true;
            }
        }
        let why = result
            .failure()
            .map_or_else(|| "no result came back".to_string(), ToString::to_string);
        for task in tasks.iter().filter(|t| !seen[t.index]) {
            let rec = TaskRecord::failed(&task, None, TaskFailure::NotRun(why.clone()));
            out.task(&TaskRow::new(cell, *rep, &rec))?;
            records.push(rec);
        }
        if let Some(e) = out_error {
            return Err(e);
        }
        records.sort_by_key(|r| r.task);
        let task_rows: Vec<TaskRow> = records.iter().map(|r| TaskRow::new(cell, *rep, r)).collect();
        let row = RunRow::new(meta, cell, *rep, &records, &result);
        out.repetition(&row, &task_rows)?;
        rows.push(row);
    }
    progress_done(progress, schedule);
    Ok(Outcome { rows, changed: None })
}

fn progress_done(progress: &mut dyn FnMut(&Progress), schedule: &[(Cell, Rep)]) {
    if let Some((cell, rep)) = schedule.last() {
        progress(&Progress {
            cell,
            rep: *rep,
            done: schedule.len(),
            total: schedule.len(),
        });
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;
    use std::path::PathBuf;

    use super::*;
    use crate::experiment::{Experiment, Overrides};
    use crate::export::Collect;
    use crate::isolate::mock::Mock;
    use crate::isolate::RepResult;
    use crate::plan::{expand, schedule};
    use crate::pools::ExecutorKind;
    use crate::workload::WorkloadKind;

    const NEVER: Guards = Guards {
        stop: &|| false,
        inputs: &|| Ok(()),
    };

    fn experiment() -> Experiment {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("experiments/smoke.toml");
        let mut e = Experiment::load(&file, &Overrides::default()).unwrap();
        e.warmup = 1;
        e.repetitions = NonZeroUsize::new(3).unwrap();
        e.order = crate::plan::Order::Cells;
        e
    }

    #[test]
    fn every_cell_and_repetition_gets_a_row_and_crashes_lose_only_their_tasks() {
        let exp = experiment();
        let cells = expand(&exp.axes, &exp.exclude);
        let sched = schedule(&exp.repetition_plan(), &cells);
        assert_eq!(sched.len(), cells.len() * 4);
        let meta = RunMeta {
            experiment: "smoke".into(),
            seed: exp.seed,
            cores: 2,
            ..RunMeta::default()
        };
        let (mut mock, mut sink) = (Mock::default(), Collect::default());
        let mut ticks = 0;
        let rows = run(
            &exp.images,
            &sched,
            &meta,
            &mut mock,
            &mut sink,
            &mut |_| ticks += 1,
            &NEVER,
        )
        .unwrap()
        .rows;

        assert_eq!(rows, sink.runs);
        assert_eq!(rows.len(), 12);
        assert_eq!(ticks, 13, "one tick per repetition and one at the end");
        assert_eq!(rows.iter().filter(|r| r.warmup).count(), 3);
        assert!(rows[0].warmup && !rows[1].warmup);

        let crashed = rows
            .iter()
            .find(|r| r.cell.executor == ExecutorKind::named("process").unwrap() && !r.warmup && r.rep == 1)
            .unwrap();
        assert_eq!((crashed.m.tasks, crashed.m.tasks_ok, crashed.m.tasks_failed), (6, 1, 5));
        assert_eq!(
            crashed.m.error,
            Some(crate::outcome::Failure::Died(crate::proc::WaitStatus(libc::SIGKILL)))
        );
        let lost: Vec<_> = sink
            .tasks
            .iter()
            .filter(|t| {
                t.cell == crashed.cell.id() && t.rep == 1 && !t.warmup && t.status == crate::record::Status::Failed
            })
            .collect();
        assert_eq!(lost.len(), 5);
        assert!(lost.iter().all(|t| t
            .error
            .as_deref()
            .unwrap()
            .starts_with("not run: the repetition process killed")));
        for r in rows.iter().filter(|r| r.m.error.is_none()) {
            assert_eq!(r.m.tasks_ok, 6);
            assert!(r.m.throughput_tps > 0.0);
        }
    }

    #[test]
    fn every_executor_gets_the_same_draws_and_repetitions_differ() {
        let exp = experiment();
        let cells = expand(&exp.axes, &exp.exclude);
        let sched = schedule(&exp.repetition_plan(), &cells);
        let meta = RunMeta::default();
        let mut mock = Mock::default();
        run(
            &exp.images,
            &sched,
            &meta,
            &mut mock,
            &mut Collect::default(),
            &mut |_| {},
            &NEVER,
        )
        .unwrap();
        let rep = |index| Rep { warmup: false, index };
        for r in [rep(0), rep(1), Rep { warmup: true, index: 0 }] {
            let seq = &mock.seen[&(ExecutorKind::named("sequential").unwrap(), r)];
            assert_eq!(seq, &mock.seen[&(ExecutorKind::named("thread").unwrap(), r)]);
            assert_eq!(seq, &mock.seen[&(ExecutorKind::named("process").unwrap(), r)]);
        }
        assert_ne!(
            mock.seen[&(ExecutorKind::named("thread").unwrap(), rep(0))],
            mock.seen[&(ExecutorKind::named("thread").unwrap(), rep(1))]
        );
        assert!(cells
            .iter()
            .all(|c| c.workload == WorkloadKind::named("resize").unwrap()));
    }

    #[test]
    fn stop_ends_the_run_between_repetitions_keeping_rows() {
        let exp = experiment();
        let sched = schedule(&exp.repetition_plan(), &expand(&exp.axes, &exp.exclude));
        let mut sink = Collect::default();
        let calls = std::cell::Cell::new(0);
        let stop = || {
            calls.set(calls.get() + 1);
            calls.get() > 2
        };
        let rows = run(
            &exp.images,
            &sched,
            &RunMeta::default(),
            &mut Mock::default(),
            &mut sink,
            &mut |_| {},
            &Guards {
                stop: &stop,
                inputs: &|| Ok(()),
            },
        )
        .unwrap()
        .rows;
        assert_eq!(rows.len(), 2);
        assert_eq!(sink.runs.len(), 2);
    }

    #[test]
    fn csv_headers_come_from_the_row_structs() {
        let exp = experiment();
        let cell = expand(&exp.axes, &exp.exclude)[0];
        let row = RunRow::new(
            &RunMeta::default(),
            &cell,
            Rep {
                warmup: false,
                index: 0,
            },
            &[],
            &RepResult::of(crate::isolate::Ended::Measured(Default::default())),
        );
        let text = String::from_utf8(crate::export::csv::run_bytes(&row, true).unwrap()).unwrap();
        let header = text.lines().next().unwrap().replace(',', "\n");
        insta::assert_snapshot!("runs_csv_header", header);
        let mut w = csv::Writer::from_writer(vec![]);
        let task = draw(
            1,
            Rep {
                warmup: false,
                index: 0,
            },
            cell.workload,
            1,
            &exp.images,
        )
        .to_vec()
        .remove(0);
        w.serialize(TaskRow::new(
            &cell,
            Rep {
                warmup: false,
                index: 0,
            },
            &TaskRecord::failed(&task, Some(0), TaskFailure::Work("x".into())),
        ))
        .unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        insta::assert_snapshot!("tasks_csv_header", text.lines().next().unwrap().replace(',', "\n"));
    }
}
