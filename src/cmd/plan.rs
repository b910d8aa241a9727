//! `runner plan FILE`: the cells an experiment would run, with their task counts; runs nothing.

use anyhow::Result;

use crate::cli::CheckArgs;
use crate::exit::ExitCode;
use crate::experiment::Experiment;
use crate::plan::{tasks_per_repetition, Cell};

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let (exp, cells) = super::load(&args.file, args.allow_large)?;
    print!("{}", plan_table(&exp, &cells));
    Ok(ExitCode::Ok)
}

/// The plan as a table: one line per cell with its axis values and task counts.
pub fn plan_table(exp: &Experiment, cells: &[Cell]) -> String {
    let reps = exp.warmup + exp.repetitions.get();
    let mut s = format!(
        "{:>3}  {:<34} {:<9} {:<10} {:>7} {:>5} {:>4} {:>9} {:>11}\n",
        "#", "cell", "workload", "executor", "workers", "intra", "sets", "tasks/rep", "tasks(all)"
    );
    let mut total = 0;
    for (i, c) in cells.iter().enumerate() {
        let per = tasks_per_repetition(c, &exp.images);
        total += per * reps;
        s += &format!(
            "{:>3}  {:<34} {:<9} {:<10} {:>7} {:>5} {:>4} {:>9} {:>11}\n",
            i + 1,
            c.id(),
            c.workload,
            c.executor,
            c.workers,
            c.intra_op_threads.map_or("-".to_string(), |t| t.to_string()),
            c.sets,
            per,
            per * reps
        );
    }
    s += &format!(
        "{} cells x ({} warm-up + {} measured) repetitions = {} repetitions, {} tasks\n",
        cells.len(),
        exp.warmup,
        exp.repetitions,
        cells.len() * reps,
        total
    );
    s
}
