//! Repetitions until decided (`repetitions = { min, max, until = "decided", time_budget_s }`):
//! after the first `min` rounds, the runner looks at the verdicts at the planned points
//! (`stats::adaptive::Looks`) and runs rounds of only the undecided comparisons' cells and their
//! baselines, until every verdict is decided, `max` rounds ran, or the next look's rounds would
//! not end within the budget. Each look's interval aims high enough that the stated confidence
//! holds whenever the run stops.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::answer::{verdicts, Bound, Form};
use crate::envinfo::Stopped;
use crate::experiment::{Experiment, Until};
use crate::plan::{round, Cell, Rep};
use crate::record::RunRow;
use crate::runloop::Outcome;
use crate::stats::adaptive::Looks;
use crate::summary::{summarize, CellSummary};

/// Runs some (cell, repetition) pairs, as the run does.
pub type RunPairs<'a> = dyn FnMut(&[(Cell, Rep)]) -> std::io::Result<Outcome> + 'a;

/// The bound verdicts are stated with in a run that repeats until decided.
pub fn bound(exp: &Experiment) -> Bound {
    Bound {
        equivalence: exp.equivalence,
        looks: exp
            .until
            .map_or(Looks::SINGLE, |u| Looks::plan(exp.repetitions.get(), u.max)),
        question: exp.question.clone(),
    }
}

/// When the rounds began (the budget counts from it), and whether to stop before the next
/// round (an interrupt): the same guard the run loop is given.
pub struct Clock<'a> {
    pub started: Instant,
    pub stop: &'a dyn Fn() -> bool,
}

/// Runs the rounds after the first `min`, appending their rows to `rows`; returns why it
/// stopped, and what changed if an input did. `elsewhere` holds the matrix's cells that other
/// shards run: a comparison with one of them cannot be looked at here, so its cell here runs
/// on to `max` (or the budget), never stopping as if decided.
pub fn rounds(
    exp: &Experiment,
    until: Until,
    plan: &[Cell],
    elsewhere: &[Cell],
    rows: &mut Vec<RunRow>,
    clock: &Clock,
    run: &mut RunPairs,
) -> std::io::Result<(Stopped, Option<String>)> {
    let started = clock.started;
    let bound = bound(exp);
    let plan_cells: HashSet<Cell> = plan.iter().copied().collect();
    let mut cost = Cost::default();
    for pair in bound.looks.rounds().windows(2) {
        let (now, next) = (pair[0], pair[1]);
        // A look sees the rounds before it and no more: a resumed run (whose rows may reach
        // past this look, cut short where it was interrupted) decides at each look what the
        // uninterrupted run decided there.
        let seen: Vec<RunRow> = rows
            .iter()
            .filter(|r| r.round.is_none_or(|k| k < now))
            .cloned()
            .collect();
        let cells = undecided(&summarize(&seen), &bound, &plan_cells, elsewhere);
        if cells.is_empty() {
            return Ok((Stopped::Decided, None));
        }
        if (clock.stop)() {
            return Ok((Stopped::Interrupted, None));
        }
        let done: HashSet<(Cell, Rep)> = rows.iter().map(|r| (r.cell, r.repetition())).collect();
        let todo: Vec<(Cell, Rep)> = (now..next)
            .flat_map(|i| round(&cells, exp.seed, i))
            .filter(|p| !done.contains(p))
            .collect();
        let expected = cost.of(&todo, rows, started.elapsed());
        if until.budget.is_some_and(|b| started.elapsed() + expected > b) {
            return Ok((Stopped::Budget, None));
        }
        let clock = Instant::now();
        let outcome = run(&todo)?;
        cost.learn(&todo, rows, clock.elapsed());
        rows.extend(outcome.rows);
        if outcome.changed.is_some() {
            return Ok((Stopped::InputsChanged, outcome.changed));
        }
    }
    let decided = undecided(&summarize(rows), &bound, &plan_cells, elsewhere).is_empty();
    Ok((
        if decided {
            Stopped::Decided
        } else {
            Stopped::MaxRepetitions
        },
        None,
    ))
}

/// The cells of every undecided verdict, with their baselines, in the plan's order; a verdict
/// with a side on another shard (`elsewhere`, unmeasured here) counts as undecided.
fn undecided(cells: &[CellSummary], bound: &Bound, plan: &HashSet<Cell>, elsewhere: &[Cell]) -> Vec<Cell> {
    let mut all = cells.to_vec();
    all.extend(elsewhere.iter().map(|c| CellSummary::unmeasured(*c)));
    all.sort_by_key(|c| c.cell);
    let mut out: Vec<Cell> = Vec::new();
    for v in verdicts(&all, bound) {
        let apart = elsewhere.contains(&v.a) || elsewhere.contains(&v.b);
        if !apart && !matches!(v.form(), Some(Form::Undecided { .. })) {
            continue;
        }
        for c in [v.a, v.b, v.a.baseline(), v.b.baseline()] {
            if plan.contains(&c) && !out.contains(&c) {
                out.push(c);
            }
        }
    }
    out
}

/// What a batch of repetitions is expected to take: each cell's median wall time so far, times
/// what running a repetition adds to its wall time (starting it, measuring, writing its row),
/// learnt from the batches run so far (before the first, from the whole run's time).
#[derive(Debug, Default)]
struct Cost {
    overhead: Option<f64>,
}

impl Cost {
    fn walls(todo: &[(Cell, Rep)], rows: &[RunRow]) -> f64 {
        todo.iter()
            .map(|(c, _)| {
                let mut w: Vec<f64> = rows.iter().filter(|r| r.cell == *c).map(|r| r.m.wall_s).collect();
                w.sort_by(f64::total_cmp);
                w.get(w.len() / 2).copied().unwrap_or(0.0)
            })
            .sum()
    }

    fn of(&self, todo: &[(Cell, Rep)], rows: &[RunRow], elapsed: Duration) -> Duration {
        let overhead = self.overhead.unwrap_or_else(|| {
            let walls: f64 = rows.iter().map(|r| r.m.wall_s).sum();
            (elapsed.as_secs_f64() / walls.max(1e-9)).clamp(1.0, 3.0)
        });
        Duration::from_secs_f64(Self::walls(todo, rows) * overhead)
    }

    fn learn(&mut self, todo: &[(Cell, Rep)], rows: &[RunRow], took: Duration) {
        let walls = Self::walls(todo, rows);
        if walls > 0.0 {
            self.overhead = Some((took.as_secs_f64() / walls).clamp(1.0, 3.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::Overrides;
    use crate::testing::row;
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::path::Path;

    /// spin, sequential vs thread vs process at 1 and 2 workers, until decided.
    fn experiment(budget: &str) -> (Experiment, Vec<Cell>) {
        let text = format!(
            "name = \"u\"\nworkload = \"spin\"\nexecutor = [\"sequential\", \"thread\", \"process\"]\nworkers = [1, 2]\n\
             repetitions = {{ min = 6, max = 20, until = \"decided\"{budget} }}\n"
        );
        let exp = Experiment::from_text(Path::new("/tmp/u.toml"), &text, &Overrides::default()).unwrap();
        let cells = crate::plan::expand(&exp.axes, &exp.exclude);
        (exp, cells)
    }

    /// A mock run: each repetition's wall time is its cell's speed (`speed`) times 10 % noise.
    fn mock<'a>(
        rng: &'a mut ChaCha8Rng,
        speed: &'a dyn Fn(&Cell) -> f64,
        log: &'a mut Vec<(Cell, Rep)>,
    ) -> impl FnMut(&[(Cell, Rep)]) -> std::io::Result<Outcome> + 'a {
        move |todo| {
            log.extend_from_slice(todo);
            let rows = todo
                .iter()
                .map(|(c, r)| {
                    let noise = 1.0 + 0.1 * ((rng.next_u64() % 1000) as f64 / 500.0 - 1.0);
                    let mut row = row(c, r.index, speed(c) * noise, None);
                    row.round = Some(r.index);
                    row
                })
                .collect();
            Ok(Outcome { rows, changed: None })
        }
    }

    /// Runs `cells` until decided, as a shard would whose matrix also has `elsewhere`.
    fn run_shard(
        exp: &Experiment,
        cells: &[Cell],
        elsewhere: &[Cell],
        speed: &dyn Fn(&Cell) -> f64,
    ) -> (Stopped, Vec<RunRow>, Vec<(Cell, Rep)>) {
        run_until(exp, cells, elsewhere, speed, &|| false)
    }

    fn run_until(
        exp: &Experiment,
        cells: &[Cell],
        elsewhere: &[Cell],
        speed: &dyn Fn(&Cell) -> f64,
        stop: &dyn Fn() -> bool,
    ) -> (Stopped, Vec<RunRow>, Vec<(Cell, Rep)>) {
        let (mut rng, mut log) = (ChaCha8Rng::seed_from_u64(5), Vec::new());
        let mut rows = Vec::new();
        let first: Vec<(Cell, Rep)> = (0..exp.repetitions.get()).flat_map(|i| round(cells, 1, i)).collect();
        rows.extend(mock(&mut rng, speed, &mut Vec::new())(&first).unwrap().rows);
        let until = exp.until.unwrap();
        let (stopped, _) = rounds(
            exp,
            until,
            cells,
            elsewhere,
            &mut rows,
            &Clock {
                started: Instant::now(),
                stop,
            },
            &mut mock(&mut rng, speed, &mut log),
        )
        .unwrap();
        (stopped, rows, log)
    }

    fn run(exp: &Experiment, cells: &[Cell], speed: &dyn Fn(&Cell) -> f64) -> (Stopped, Vec<RunRow>, Vec<(Cell, Rep)>) {
        run_shard(exp, cells, &[], speed)
    }

    #[test]
    fn an_interrupt_stops_before_the_next_round_with_the_rows_kept() {
        let (exp, cells) = experiment("");
        let first = exp.repetitions.get() * cells.len();
        let (stopped, rows, log) = run_until(&exp, &cells, &[], &|_| 1.0, &|| true);
        assert_eq!(stopped, Stopped::Interrupted);
        assert_eq!(
            (rows.len(), log.len()),
            (first, 0),
            "the first rounds kept, no round added"
        );
    }

    #[test]
    fn a_comparison_with_a_cell_on_another_shard_runs_to_max() {
        let (exp, cells) = experiment("");
        // This shard runs the loop and thread; process is on another: thread's verdicts cannot
        // be looked at here, so it never stops as if decided (however clear they would be).
        let (mine, elsewhere): (Vec<Cell>, Vec<Cell>) = cells.iter().partition(|c| c.executor.name() != "process");
        let speed = |c: &Cell| if c.executor.name() == "thread" { 0.5 } else { 1.0 };
        let (stopped, rows, _) = run_shard(&exp, &mine, &elsewhere, &speed);
        assert_eq!(stopped, Stopped::MaxRepetitions);
        assert!(rows.iter().all(|r| r.cell.executor.name() != "process"));
        let n = |e: &str, w: usize| {
            rows.iter()
                .filter(|r| r.cell.workers() == w && r.cell.executor.name() == e)
                .count()
        };
        // Both thread cells, and the loop that is their baseline.
        assert_eq!((n("thread", 1), n("thread", 2), n("sequential", 1)), (20, 20, 20));
    }

    #[test]
    fn rounds_go_on_for_only_the_undecided_comparisons_until_decided() {
        let (exp, cells) = experiment("");
        // At 1 worker process takes 1.5x thread's time; at 2 they differ by 1 % (within ±5 %,
        // but 10 % noise needs rounds to show it).
        let speed = |c: &Cell| match (c.executor.name(), c.workers()) {
            ("process", 1) => 1.5,
            ("process", 2) => 0.505,
            (_, 1) => 1.0,
            _ => 0.5,
        };
        let (stopped, rows, log) = run(&exp, &cells, &speed);
        let v = verdicts(&summarize(&rows), &bound(&exp));
        assert_eq!(v.len(), 2);
        assert!(v[0].line().contains("thread faster than process"), "{}", v[0].line());
        let rounds_of = |w: usize, e: &str| {
            rows.iter()
                .filter(|r| r.cell.workers() == w && r.cell.executor.name() == e)
                .count()
        };
        // The clear one decided at the first look that can (8 rounds: 6 cannot reach 97.85 %).
        assert_eq!(rounds_of(1, "thread"), 8);
        let looks = bound(&exp).looks;
        assert!(looks.rounds().contains(&rounds_of(2, "thread")), "ends at a look");
        let decided_pools = |c: &Cell| c.workers() == 1 && !c.executor.is_sequential();
        assert!(
            log.iter().all(|(c, r)| !decided_pools(c) || r.index < 8),
            "a decided comparison gets no more rounds"
        );
        // The sequential baseline of the undecided one ran with it.
        assert_eq!(rounds_of(1, "sequential"), rounds_of(2, "thread"));
        match stopped {
            Stopped::Decided => assert!(v[1].line().contains("thread ≈ process"), "{}", v[1].line()),
            Stopped::MaxRepetitions => assert_eq!(rounds_of(2, "thread"), 20),
            other => panic!("stopped: {other:?}"),
        }
    }

    #[test]
    fn the_budget_keeps_a_look_from_starting_that_would_end_past_it() {
        let (exp, cells) = experiment(", time_budget_s = 3");
        // Nothing decides; a look's two rounds of six 1 s cells would take 12 s.
        let (stopped, rows, log) = run(&exp, &cells, &|_| 1.0);
        assert_eq!(stopped, Stopped::Budget);
        assert!(log.is_empty(), "nothing ran past the minimum: {}", log.len());
        assert_eq!(rows.len(), 6 * cells.len());
    }
}
