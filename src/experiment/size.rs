//! The size guards: what the axes multiply into (cells, workers, sets) against the limits a
//! file may lift, and what the runner holds in memory (pairs, tasks), bounded even with
//! `--allow-large`, all before anything is allocated.

use std::num::NonZeroUsize;

use super::raw::RawExperiment;
use super::validate::Overrides;
use crate::plan::Axes;
use crate::spec::{Fields, SpecError};
use toml::Spanned;

pub const DEFAULT_MAX_CELLS: u64 = 10_000;
pub const DEFAULT_MAX_WORKERS: u64 = 256;
/// What the runner holds in memory however large `--allow-large` lets a plan be: the (cell,
/// repetition) pairs of the plan, and the tasks of one repetition.
pub const MAX_PAIRS: u64 = 1_000_000;
pub const MAX_TASKS_PER_REPETITION: u64 = 1_000_000;

/// The most cells the axes can make (before excludes): their product, where a zip counts its
/// entries once and each of its keys as one value.
fn cells_bound(axes: &Axes) -> u64 {
    let len = |key: &str, n: usize| {
        if axes.zips.iter().any(|z| z.keys.contains(&key)) {
            1
        } else {
            n
        }
    };
    [
        len("workload", axes.workload.len()),
        len("executor", axes.executor.len()),
        len("workers", axes.workers.len())
            + len("processes", axes.processes.len()) * len("threads", axes.threads.len()),
        len("sets", axes.sets.len()),
    ]
    .into_iter()
    .chain(axes.values.iter().map(|(a, v)| len(a.key, v.len())))
    .chain(axes.zips.iter().map(|z| z.entries.len()))
    .fold(1u64, |acc, n| acc.saturating_mul(n as u64))
}

/// Every count that multiplies what the runner holds in memory, bounded before anything is
/// allocated, `--allow-large` or not: the plan's (cell, repetition) pairs, and one
/// repetition's tasks.
pub(super) fn check_product(
    cx: &Fields,
    raw: &RawExperiment,
    axes: &Axes,
    images: &crate::plan::Images,
    warmup: usize,
    repetitions: usize,
) -> Result<(), SpecError> {
    let runs = (warmup as u64).saturating_add(repetitions as u64);
    let pairs = cells_bound(axes).saturating_mul(runs);
    if pairs > MAX_PAIRS {
        let key = if warmup > repetitions { "warmup" } else { "repetitions" };
        let span = match key {
            "warmup" => raw.warmup.as_ref().map(|v| v.span()),
            _ => raw.repetitions.as_ref().map(|v| v.span()),
        };
        return cx.err(
            key,
            span,
            format!(
                "up to {} cells x ({warmup} warm-up + {repetitions} measured) repetitions = {pairs} repetitions, more than the {MAX_PAIRS} a plan may hold",
                cells_bound(axes)
            ),
        );
    }
    let per_set = axes
        .workload
        .iter()
        .map(|w| crate::plan::inputs_per_set(*w, images) * w.parts().len())
        .max()
        .unwrap_or(1) as u64;
    let most_sets = axes.sets.iter().map(|s| s.get() as u64).max().unwrap_or(1);
    let tasks = per_set.saturating_mul(most_sets);
    if tasks > MAX_TASKS_PER_REPETITION {
        return cx.err(
            "sets",
            raw.sets.as_ref().map(|v| v.span()),
            format!(
                "{most_sets} sets x {per_set} tasks = {tasks} tasks per repetition, more than the {MAX_TASKS_PER_REPETITION} a repetition may hold"
            ),
        );
    }
    Ok(())
}

pub(super) fn check_size(cx: &Fields, raw: &RawExperiment, axes: &Axes, o: &Overrides) -> Result<(), SpecError> {
    let limit = |v: &Option<Spanned<i64>>, key: &str, default: u64| -> Result<u64, SpecError> {
        Ok(v.as_ref()
            .map(|v| cx.count(key, v))
            .transpose()?
            .map_or(default, |n| n.get() as u64))
    };
    let max_cells = limit(&raw.limits.max_cells, "limits.max_cells", DEFAULT_MAX_CELLS)?;
    let max_workers = limit(&raw.limits.max_workers, "limits.max_workers", DEFAULT_MAX_WORKERS)?;
    if o.allow_large {
        return Ok(());
    }
    let cells = cells_bound(axes);
    if cells > max_cells {
        return cx.err(
            "workers",
            None,
            format!("the axes make up to {cells} cells, more than the limit of {max_cells}; raise `limits.max_cells` or pass --allow-large"),
        );
    }
    let intra: Vec<NonZeroUsize> = axes
        .of("intra_op_threads")
        .iter()
        .filter_map(|v| match v {
            crate::axis::Value::Count(n) => NonZeroUsize::new(*n as usize),
            _ => None,
        })
        .collect();
    for (key, values, span) in [
        ("workers", &axes.workers, raw.workers.as_ref().map(|v| v.span())),
        ("processes", &axes.processes, raw.processes.as_ref().map(|v| v.span())),
        ("threads", &axes.threads, raw.threads.as_ref().map(|v| v.span())),
        ("intra_op_threads", &intra, None),
    ] {
        if let Some(big) = values.iter().find(|n| n.get() as u64 > max_workers) {
            return cx.err(
                key,
                span,
                format!(
                    "{big} is more than the limit of {max_workers}; raise `limits.max_workers` or pass --allow-large"
                ),
            );
        }
    }
    if let Some(big) = axes.sets.iter().find(|n| n.get() > 100_000) {
        return cx.err(
            "sets",
            raw.sets.as_ref().map(|v| v.span()),
            format!("{big} task sets per repetition is more than the limit of 100000"),
        );
    }
    Ok(())
}
