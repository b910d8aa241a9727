//! The run loop: every cell, every repetition, in plan order; rows go to the sink as they come.

use std::io;

use crate::draw::{draw, Rep};
use crate::isolate::RepRunner;
use crate::plan::Cell;
use crate::sink::{RunMeta, RunRow, Sink, TaskRow};
use crate::spec::{Experiment, Order};
use crate::workload::TaskRecord;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Where the run is, for a progress display.
pub struct Progress<'a> {
    pub cell: &'a Cell,
    pub rep: Rep,
    /// Repetitions finished so far, and in all.
    pub done: usize,
    pub total: usize,
}

/// The (cell, repetition) pairs in the experiment's order. A cell's warm-ups come before its
/// measured repetitions; in interleaved and random order every warm-up runs first.
pub fn schedule(exp: &Experiment, cells: &[Cell]) -> Vec<(Cell, Rep)> {
    let (w, n) = (exp.warmup, exp.repetitions.get());
    let warmups = move |c: &Cell| {
        let c = *c;
        (0..w).map(move |index| (c, Rep { warmup: true, index }))
    };
    let measured = move |c: &Cell| {
        let c = *c;
        (0..n).map(move |index| (c, Rep { warmup: false, index }))
    };
    match exp.order {
        Order::Cells => cells.iter().flat_map(|c| warmups(c).chain(measured(c))).collect(),
        Order::Interleaved => {
            let mut out: Vec<(Cell, Rep)> = cells.iter().flat_map(warmups).collect();
            out.extend((0..n).flat_map(|index| cells.iter().map(move |c| (*c, Rep { warmup: false, index }))));
            out
        }
        Order::Random => {
            let mut rest: Vec<(Cell, Rep)> = cells.iter().flat_map(measured).collect();
            let mut rng = ChaCha8Rng::seed_from_u64(exp.seed);
            rng.set_stream(u64::MAX); // apart from every repetition's draws
            for i in (1..rest.len()).rev() {
                rest.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
            }
            cells.iter().flat_map(warmups).chain(rest).collect()
        }
    }
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
        progress(&Progress {
            cell,
            rep: *rep,
            done,
            total: schedule.len(),
        });
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
        let why = result
            .error
            .clone()
            .unwrap_or_else(|| "no result came back".to_string());
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
    use std::collections::HashMap;
    use std::num::NonZeroUsize;
    use std::path::PathBuf;

    use super::*;
    use crate::draw::Task;
    use crate::isolate::{RepMeasure, RepResult};
    use crate::plan::{expand, ExecutorKind, WorkloadKind};
    use crate::sink::MemorySink;
    use crate::spec::{Experiment, Overrides};

    /// Pretends to run: every task takes 1 ms, except that repetition 1 of process cells
    /// "crashes" after its first task.
    #[derive(Default)]
    struct Mock {
        seen: HashMap<(ExecutorKind, Rep), Vec<Task>>,
    }

    impl RepRunner for Mock {
        fn run(&mut self, cell: &Cell, rep: Rep, tasks: Vec<Task>, on_task: &mut dyn FnMut(TaskRecord)) -> RepResult {
            self.seen.insert((cell.executor, rep), tasks.clone());
            let crash = cell.executor == ExecutorKind::Process && !rep.warmup && rep.index == 1;
            for t in tasks.iter().take(if crash { 1 } else { tasks.len() }) {
                let mut rec = TaskRecord::failed(t, 0, String::new());
                rec.error = None;
                rec.ms = 1.0;
                on_task(rec);
            }
            let measure = RepMeasure {
                wall_s: tasks.len() as f64 / 1000.0 / cell.workers.get() as f64,
                ..Default::default()
            };
            if crash {
                RepResult {
                    measure: None,
                    error: Some("the repetition process killed by signal 9 (SIGKILL)".into()),
                    other_cpu_s: None,
                }
            } else {
                RepResult {
                    measure: Some(measure),
                    error: None,
                    other_cpu_s: None,
                }
            }
        }
    }

    fn experiment() -> Experiment {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("experiments/smoke.toml");
        let mut e = Experiment::load(&file, &Overrides::default()).unwrap();
        e.warmup = 1;
        e.repetitions = NonZeroUsize::new(3).unwrap();
        e
    }

    #[test]
    fn every_cell_and_repetition_gets_a_row_and_crashes_lose_only_their_tasks() {
        let exp = experiment();
        let cells = expand(&exp.axes, &exp.exclude);
        let sched = schedule(&exp, &cells);
        assert_eq!(sched.len(), cells.len() * 4);
        let meta = RunMeta {
            experiment: "smoke".into(),
            seed: exp.seed,
            cores: 2,
            model_sha256: None,
        };
        let (mut mock, mut sink) = (Mock::default(), MemorySink::default());
        let mut ticks = 0;
        let rows = run(&exp, &sched, &meta, &mut mock, &mut sink, &mut |_| ticks += 1, &|| {
            false
        })
        .unwrap();

        assert_eq!(rows, sink.runs);
        assert_eq!(rows.len(), 12);
        assert_eq!(ticks, 13, "one tick per repetition and one at the end");
        assert_eq!(rows.iter().filter(|r| r.warmup).count(), 3);
        assert!(rows[0].warmup && !rows[1].warmup);

        let crashed = rows
            .iter()
            .find(|r| r.executor == "process" && !r.warmup && r.rep == 1)
            .unwrap();
        assert_eq!((crashed.tasks, crashed.tasks_ok, crashed.tasks_failed), (6, 1, 5));
        assert!(crashed.error.as_deref().unwrap().contains("SIGKILL"));
        let lost: Vec<_> = sink
            .tasks
            .iter()
            .filter(|t| t.cell == crashed.cell && t.rep == 1 && !t.warmup && t.status == "failed")
            .collect();
        assert_eq!(lost.len(), 5);
        assert!(lost.iter().all(|t| t
            .error
            .as_deref()
            .unwrap()
            .starts_with("not run: the repetition process killed")));
        for r in rows.iter().filter(|r| r.error.is_none()) {
            assert_eq!(r.tasks_ok, 6);
            assert!(r.throughput_tps > 0.0);
        }
    }

    #[test]
    fn every_executor_gets_the_same_draws_and_repetitions_differ() {
        let exp = experiment();
        let cells = expand(&exp.axes, &exp.exclude);
        let sched = schedule(&exp, &cells);
        let meta = RunMeta::default();
        let mut mock = Mock::default();
        run(
            &exp,
            &sched,
            &meta,
            &mut mock,
            &mut MemorySink::default(),
            &mut |_| {},
            &|| false,
        )
        .unwrap();
        let rep = |index| Rep { warmup: false, index };
        for r in [rep(0), rep(1), Rep { warmup: true, index: 0 }] {
            let seq = &mock.seen[&(ExecutorKind::Sequential, r)];
            assert_eq!(seq, &mock.seen[&(ExecutorKind::Thread, r)]);
            assert_eq!(seq, &mock.seen[&(ExecutorKind::Process, r)]);
        }
        assert_ne!(
            mock.seen[&(ExecutorKind::Thread, rep(0))],
            mock.seen[&(ExecutorKind::Thread, rep(1))]
        );
        assert!(cells.iter().all(|c| c.workload == WorkloadKind::Resize));
    }

    #[test]
    fn orders_cover_the_same_pairs_with_warmups_first() {
        let mut exp = experiment();
        let cells = expand(&exp.axes, &exp.exclude);
        let by_cells = schedule(&exp, &cells);
        exp.order = Order::Interleaved;
        let inter = schedule(&exp, &cells);
        exp.order = Order::Random;
        let random = schedule(&exp, &cells);
        assert_eq!(random, schedule(&exp, &cells), "seeded");
        for s in [&by_cells, &inter, &random] {
            let mut sorted = s.clone();
            sorted.sort_by_key(|(c, r)| (c.id(), r.warmup, r.index));
            let mut want = by_cells.clone();
            want.sort_by_key(|(c, r)| (c.id(), r.warmup, r.index));
            assert_eq!(sorted, want);
        }
        assert!(
            by_cells[0].1.warmup && !by_cells[1].1.warmup && by_cells[4].1.warmup,
            "each cell's warm-up first"
        );
        for s in [&inter, &random] {
            assert!(s[..3].iter().all(|(_, r)| r.warmup), "all warm-ups first");
        }
        assert_eq!(inter[3].0, cells[0]);
        assert_eq!(inter[4].0, cells[1], "interleaved: one repetition of each cell in turn");
        assert_ne!(random, inter);
    }

    #[test]
    fn stop_ends_the_run_between_repetitions_keeping_rows() {
        let exp = experiment();
        let sched = schedule(&exp, &expand(&exp.axes, &exp.exclude));
        let mut sink = MemorySink::default();
        let calls = std::cell::Cell::new(0);
        let stop = || {
            calls.set(calls.get() + 1);
            calls.get() > 2
        };
        let rows = run(
            &exp,
            &sched,
            &RunMeta::default(),
            &mut Mock::default(),
            &mut sink,
            &mut |_| {},
            &stop,
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(sink.runs.len(), 2);
    }

    #[test]
    fn csv_headers_come_from_the_row_structs() {
        let mut w = csv::Writer::from_writer(vec![]);
        let exp = experiment();
        let cell = expand(&exp.axes, &exp.exclude)[0];
        let row = crate::sink::RunRow::new(
            &RunMeta::default(),
            &cell,
            Rep {
                warmup: false,
                index: 0,
            },
            &[],
            &RepResult::default(),
        );
        w.serialize(&row).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
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
        .remove(0);
        w.serialize(TaskRow::new(
            &cell,
            Rep {
                warmup: false,
                index: 0,
            },
            &TaskRecord::failed(&task, 0, "x".into()),
        ))
        .unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        insta::assert_snapshot!("tasks_csv_header", text.lines().next().unwrap().replace(',', "\n"));
    }
}
