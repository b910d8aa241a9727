//! `runner plan FILE [--shards N]`: the cells an experiment would run, with their task counts,
//! and which shard runs each; runs nothing.

use crate::error::Result;

use std::num::NonZeroUsize;

use crate::axis::Kind;
use crate::cli::PlanArgs;
use crate::exit::ExitCode;
use crate::experiment::Experiment;
use crate::plan::{assign, schedule, tasks_per_repetition, Cell, Split};

pub fn run(args: PlanArgs) -> Result<ExitCode> {
    let (exp, cells) = super::load(&args.check.file, args.check.allow_large)?;
    print!("{}", plan_table(&exp, &cells));
    if let Some(n) = args.shards {
        print!("\n{}", shard_table(&exp, &cells, n, args.split));
    }
    Ok(ExitCode::Ok)
}

/// Which shard runs what, and each shard's estimated cost (task milliseconds on one core).
pub fn shard_table(exp: &Experiment, cells: &[Cell], count: NonZeroUsize, split: Split) -> String {
    let all = schedule(&exp.repetition_plan(), cells);
    let cost = super::cost(exp);
    let of = assign(&all, count, split, &cost);
    let mut s = format!("{count} shards, split by {split}\n");
    if split == Split::Cells {
        s += &format!("{:>5}  {:<34}\n", "shard", "cell");
        for c in cells {
            let i = all.iter().position(|(d, _)| d == c).map_or(0, |i| of[i]);
            s += &format!("{i:>5}  {}\n", c.id());
        }
    }
    let total: f64 = all.iter().map(|(c, _)| cost(c)).sum();
    s += &format!(
        "{:>5} {:>6} {:>12} {:>10} {:>18}\n",
        "shard", "cells", "repetitions", "tasks", "est. s (one core)"
    );
    for index in 1..=count.get() {
        let mine: Vec<&Cell> = all
            .iter()
            .zip(&of)
            .filter(|(_, &i)| i == index)
            .map(|((c, _), _)| c)
            .collect();
        let mut distinct: Vec<&Cell> = mine.clone();
        distinct.sort();
        distinct.dedup();
        let secs: f64 = mine.iter().map(|c| cost(c)).sum::<f64>() / 1e3;
        s += &format!(
            "{index:>5} {:>6} {:>12} {:>10} {:>12.0} ({:>3.0} %)\n",
            distinct.len(),
            mine.len(),
            mine.iter().map(|c| tasks_per_repetition(c, &exp.images)).sum::<usize>(),
            secs,
            if total > 0.0 { 100.0 * secs * 1e3 / total } else { 0.0 }
        );
    }
    s
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
            c.workers(),
            c.text(&crate::workload::INTRA_OP_THREADS)
                .unwrap_or_else(|| "-".to_string()),
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
    // What a listed axis's part of a cell id (`-m2`, `-py2`) names: its value as the cell's
    // column writes it.
    for (axis, values) in &exp.axes.values {
        if !matches!(axis.kind, Kind::Paths { .. }) || values.len() < 2 {
            continue;
        }
        let names: Vec<String> = values
            .iter()
            .map(|&v| match (axis.id)(v) {
                Some(part) => format!("{} = {}", part.trim_start_matches('-'), v.text()),
                None => format!("{} (adds nothing to a cell id)", v.text()),
            })
            .collect();
        s += &format!("{}: {}\n", axis.key, names.join(", "));
    }
    s
}
