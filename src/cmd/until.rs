//! Repetitions until decided (`repetitions = { min, max, until = "decided", time_budget_s }`):
//! after the first `min` rounds, the runner looks at the verdicts at the planned points
//! (`stats::adaptive::looks`) and runs rounds of only the undecided comparisons' cells and their
//! baselines, until every verdict is decided, `max` rounds ran, or the budget is spent. Each
//! look's interval aims high enough that the stated confidence holds whenever the run stops.

use std::collections::HashSet;
use std::time::Instant;

use crate::answer::{verdicts, Bound, Form};
use crate::experiment::{Experiment, Until};
use crate::plan::{round, Cell, Rep};
use crate::record::RunRow;
use crate::runloop::Outcome;
use crate::stats::adaptive::looks;
use crate::summary::summarize;

/// Why the rounds ended: "decided", "max repetitions", "budget", or "interrupted".
pub type Stopped = &'static str;

/// Runs some (cell, repetition) pairs, as the run does.
pub type RunPairs<'a> = dyn FnMut(&[(Cell, Rep)]) -> std::io::Result<Outcome> + 'a;

/// The bound verdicts are stated with in a run that repeats until decided.
pub fn bound(exp: &Experiment) -> Bound {
    Bound {
        equivalence: exp.equivalence,
        looks: exp.until.map_or(1, |u| looks(exp.repetitions.get(), u.max).len()),
    }
}

/// Runs the rounds after the first `min`, appending their rows to `rows`; returns why it
/// stopped, and what changed if an input did.
pub fn rounds(
    exp: &Experiment,
    until: Until,
    plan: &[Cell],
    rows: &mut Vec<RunRow>,
    started: Instant,
    run: &mut RunPairs,
) -> std::io::Result<(Stopped, Option<String>)> {
    let bound = bound(exp);
    let plan_cells: HashSet<Cell> = plan.iter().copied().collect();
    let points = looks(exp.repetitions.get(), until.max);
    for pair in points.windows(2) {
        let (now, next) = (pair[0], pair[1]);
        let cells = undecided(&summarize(rows), &bound, &plan_cells);
        if cells.is_empty() {
            return Ok(("decided", None));
        }
        if until.budget.is_some_and(|b| started.elapsed() >= b) {
            return Ok(("budget", None));
        }
        if crate::interrupt::stop_requested() {
            return Ok(("interrupted", None));
        }
        let done: HashSet<(Cell, Rep)> = rows.iter().map(|r| (r.cell, r.repetition())).collect();
        let todo: Vec<(Cell, Rep)> = (now..next)
            .flat_map(|i| round(&cells, exp.seed, i))
            .filter(|p| !done.contains(p))
            .collect();
        let outcome = run(&todo)?;
        rows.extend(outcome.rows);
        if outcome.changed.is_some() {
            return Ok(("inputs changed", outcome.changed));
        }
    }
    let decided = undecided(&summarize(rows), &bound, &plan_cells).is_empty();
    Ok((if decided { "decided" } else { "max repetitions" }, None))
}

/// The cells of every undecided verdict, with their baselines, in the plan's order.
fn undecided(cells: &[crate::summary::CellSummary], bound: &Bound, plan: &HashSet<Cell>) -> Vec<Cell> {
    let mut out: Vec<Cell> = Vec::new();
    for v in verdicts(cells, bound) {
        if !matches!(v.form(), Some(Form::Undecided { .. })) {
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
