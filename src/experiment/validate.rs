//! Turns the core keys of an experiment file into an [`Experiment`], routing each workload's
//! `[section]` to that workload; every failure is one error naming file, key and line.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::de::{DeTable, DeValue, Deserializer};
use toml::Spanned;

use super::raw::RawExperiment;
use super::*;
use crate::plan::{ExecutorKind, Format, Pinning, StartMethod};
use crate::workload::{ClassifySettings, ResizeSettings, WorkloadKind};

/// Limits that guard against absurd experiments, and the flag that lifts them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    pub allow_large: bool,
}

pub const DEFAULT_MAX_CELLS: u64 = 10_000;
pub const DEFAULT_MAX_WORKERS: u64 = 256;

pub(super) fn parse(path: &Path, text: &str, overrides: &Overrides) -> Result<Experiment, SpecError> {
    let file = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let cx = Fields { file: &file, text };
    let mut doc = DeTable::parse(text).map_err(|e| cx.toml_error(None, &e))?;
    for (key, value) in doc.get_ref().iter() {
        if key.get_ref() != "description" {
            no_control_chars(&cx, key.get_ref(), value)?;
        }
    }
    // Each workload's section goes to that workload; the rest must be core keys.
    let sections: Vec<(WorkloadKind, Option<Spanned<toml::de::DeValue>>)> = WorkloadKind::all()
        .map(|w| (w, doc.get_mut().remove(w.name())))
        .collect();
    let raw = RawExperiment::deserialize(Deserializer::from(doc)).map_err(|e| cx.toml_error(None, &e))?;

    if raw.name.trim().is_empty() || raw.name.contains(['/', '\\']) || raw.name.starts_with('.') {
        return cx.err(
            "name",
            None,
            "must be a non-empty name without slashes or a leading dot (it names the results folder)",
        );
    }
    let executor: Vec<ExecutorKind> = cx.list("executor", Some(&raw.executor), &[])?;
    let hybrid = executor.contains(&ExecutorKind::Hybrid);
    for (key, v) in [("processes", &raw.processes), ("threads", &raw.threads)] {
        match v {
            None if hybrid => {
                return cx.err(
                    key,
                    None,
                    "executor \"hybrid\" needs `processes` and `threads` (e.g. processes = [1, 2], threads = [1, 2])",
                )
            }
            Some(v) if !hybrid => return cx.err(key, Some(v.span()), "applies only to executor \"hybrid\""),
            _ => {}
        }
    }
    let mut axes = Axes {
        workload: cx.list("workload", Some(&raw.workload), &[])?,
        executor,
        workers: cx.counts("workers", raw.workers.as_ref(), 1)?,
        processes: cx.counts("processes", raw.processes.as_ref(), 1)?,
        threads: cx.counts("threads", raw.threads.as_ref(), 1)?,
        intra_op_threads: cx.counts("intra_op_threads", raw.intra_op_threads.as_ref(), 1)?,
        pinning: cx.list("pinning", raw.pinning.as_ref(), &[Pinning::None])?,
        format: vec![Format::Jpeg],
        model: vec![0],
        start_method: cx.list("py_start_method", raw.py_start_method.as_ref(), &[StartMethod::Fork])?,
        sets: cx.counts("sets", raw.sets.as_ref(), 16)?,
    };
    if axes.pinning.contains(&Pinning::Cores) {
        if let Err(why) = crate::proc::can_pin() {
            return cx.err(
                "pinning",
                raw.pinning.as_ref().map(|v| v.span()),
                format!("\"cores\" is not possible on this machine: {why}"),
            );
        }
    }
    if let (Some(v), false) = (&raw.py_start_method, axes.executor.contains(&ExecutorKind::PyProcess)) {
        return cx.err(
            "py_start_method",
            Some(v.span()),
            "applies only to executor \"py-process\"",
        );
    }
    let python = python(&cx, &raw, &axes.executor, &crate::workload::search_roots(&file))?;

    let repetitions = match &raw.repetitions {
        Some(v) => cx.count("repetitions", v)?,
        None => NonZeroUsize::new(6).unwrap(),
    };
    let warmup = cx.bounded("warmup", &raw.warmup, 1, u64::MAX)? as usize;
    let seed = cx.bounded("seed", &raw.seed, 0, u64::MAX)?;
    let uses_images = axes.workload.iter().any(|w| w.uses_images());
    let images = images::parse(&cx, &raw.images, uses_images)?;

    let mut settings = Settings::default();
    for (workload, value) in sections {
        let used = axes.workload.iter().any(|w| w.parts().contains(&workload));
        let section = Section {
            fields: &cx,
            name: workload.name(),
            value,
        };
        if let Some(s) = workload.get().settings(&section, used)? {
            settings.set_boxed(workload.name(), s);
        }
    }
    // `[resize] format` is an axis of the cells that encode images.
    if let Ok(r) = settings.get::<ResizeSettings>("resize") {
        axes.format = r.formats.clone();
    }
    // So is `[classify] model` for the cells with a model.
    let models = settings
        .get::<ClassifySettings>("classify")
        .map(|c| c.models.clone())
        .unwrap_or_default();
    axes.model = (0..models.len().max(1) as u8).collect();
    check_size(&cx, &raw, &axes, overrides)?;
    // Python's pools resample with Pillow, which has every filter but Mitchell's.
    if python.is_some() {
        let resize = settings.get::<ResizeSettings>("resize").map(|r| r.filter);
        let classify = settings.get::<ClassifySettings>("classify").map(|c| c.filter);
        for (key, filter) in [("resize.filter", resize), ("classify.filter", classify)] {
            if filter == Ok(crate::workload::Filter::Mitchell) {
                return cx.err(
                    key,
                    None,
                    "Pillow has no Mitchell filter, so the py-* executors cannot resample with it; choose another filter or drop them",
                );
            }
        }
    }
    let exclude = exclude(&cx, &raw, &models)?;

    let task_timeout = cx.seconds("limits.task_timeout_s", &raw.limits.task_timeout_s)?;
    let repetition_timeout = cx.seconds("limits.repetition_timeout_s", &raw.limits.repetition_timeout_s)?;
    let wait_for_idle = cx.seconds("wait_for_idle_s", &raw.wait_for_idle_s)?;
    let order = match &raw.order {
        None => Order::Cells,
        Some(v) => match v.get_ref().as_str() {
            "cells" => Order::Cells,
            "interleaved" => Order::Interleaved,
            "random" => Order::Random,
            other => {
                return cx.err(
                    "order",
                    Some(v.span()),
                    format!("unknown order `{other}`; expected cells, interleaved or random"),
                )
            }
        },
    };

    Ok(Experiment {
        name: raw.name.clone(),
        description: raw.description.clone(),
        sha256: hex(&Sha256::digest(text.as_bytes())),
        text: text.to_string(),
        axes,
        exclude,
        repetitions,
        warmup,
        seed,
        order,
        images,
        settings,
        output_dir: cx.resolve(raw.output.dir.as_deref().unwrap_or("../results")),
        task_timeout,
        repetition_timeout,
        wait_for_idle,
        python,
        file,
    })
}

/// Strings become folder names, paths and CSV fields: a control character (a newline, a NUL, an
/// escape) in any of them is refused, wherever it stands.
fn no_control_chars(cx: &Fields, key: &str, v: &Spanned<DeValue>) -> Result<(), SpecError> {
    match v.get_ref() {
        DeValue::String(s) => match s.chars().find(|c| c.is_control()) {
            Some(c) => cx.err(
                key,
                Some(v.span()),
                format!("holds the control character {c:?}; names and paths may not"),
            ),
            None => Ok(()),
        },
        DeValue::Array(items) => items.into_iter().try_for_each(|item| no_control_chars(cx, key, item)),
        DeValue::Table(t) => t
            .iter()
            .try_for_each(|(k, item)| no_control_chars(cx, &format!("{key}.{}", k.get_ref()), item)),
        _ => Ok(()),
    }
}

/// The interpreter of the Python executors: `python` from the file, else the project's venv
/// (`.deps/venv/bin/python` above the experiment file, the binary or the working directory).
pub(super) fn python(
    cx: &Fields,
    raw: &RawExperiment,
    executors: &[ExecutorKind],
    roots: &[PathBuf],
) -> Result<Option<PathBuf>, SpecError> {
    let Some(first) = executors.iter().find(|e| e.is_python()) else {
        if let Some(v) = &raw.python {
            return cx.err("python", Some(v.span()), "applies only to the Python executors (py-*)");
        }
        return Ok(None);
    };
    if let Some(v) = &raw.python {
        return cx.existing("python", Some(v.span()), v.get_ref(), false).map(Some);
    }
    let venv = roots
        .iter()
        .flat_map(|r| {
            r.ancestors()
                .map(|a| a.join(".deps/venv/bin/python"))
                .collect::<Vec<_>>()
        })
        .find(|p| p.is_file());
    match venv {
        Some(p) => Ok(Some(p)),
        None => cx.err(
            "executor",
            Some(raw.executor.span()),
            format!(
                "executor \"{first}\" runs Python's pools, and no Python was found: run `scripts/setup` \
                 (it makes .deps/venv with Pillow, numpy and onnxruntime), or name an interpreter \
                 with `python = \"/path/to/python\"`"
            ),
        ),
    }
}

fn exclude(cx: &Fields, raw: &RawExperiment, models: &[PathBuf]) -> Result<Vec<Exclude>, SpecError> {
    let mut out = Vec::new();
    for e in &raw.exclude {
        let pos = |key: &str, v: Option<i64>| -> Result<Option<NonZeroUsize>, SpecError> {
            v.map(|n| cx.count(&format!("exclude.{key}"), &Spanned::new(e.span(), n)))
                .transpose()
        };
        let r = e.get_ref();
        let model = match &r.model {
            None => None,
            Some(name) => {
                let p = cx.resolve(name);
                let found = models
                    .iter()
                    .position(|m| *m == p || m.file_name().is_some_and(|f| f.to_string_lossy() == *name));
                match found {
                    Some(i) => Some(i as u8),
                    None => {
                        return cx.err(
                            "exclude.model",
                            Some(e.span()),
                            format!("`{name}` is not one of the models of [classify] model"),
                        )
                    }
                }
            }
        };
        let x = Exclude {
            model,
            processes: pos("processes", r.processes)?,
            threads: pos("threads", r.threads)?,
            workload: r.workload,
            executor: r.executor,
            workers: pos("workers", r.workers)?,
            intra_op_threads: pos("intra_op_threads", r.intra_op_threads)?,
            pinning: r.pinning,
            format: r.format,
            sets: pos("sets", r.sets)?,
        };
        if x == Exclude::default() {
            return cx.err("exclude", Some(e.span()), "an exclude entry must name at least one key");
        }
        out.push(x);
    }
    Ok(out)
}

fn check_size(cx: &Fields, raw: &RawExperiment, axes: &Axes, o: &Overrides) -> Result<(), SpecError> {
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
    let cells = [
        axes.workload.len(),
        axes.executor.len(),
        axes.workers.len() + axes.processes.len() * axes.threads.len(),
        axes.intra_op_threads.len(),
        axes.pinning.len(),
        axes.format.len(),
        axes.model.len(),
        axes.start_method.len(),
        axes.sets.len(),
    ]
    .iter()
    .fold(1u64, |acc, &n| acc.saturating_mul(n as u64));
    if cells > max_cells {
        return cx.err(
            "workers",
            None,
            format!("the axes make up to {cells} cells, more than the limit of {max_cells}; raise `limits.max_cells` or pass --allow-large"),
        );
    }
    for (key, values, span) in [
        ("workers", &axes.workers, raw.workers.as_ref().map(|v| v.span())),
        ("processes", &axes.processes, raw.processes.as_ref().map(|v| v.span())),
        ("threads", &axes.threads, raw.threads.as_ref().map(|v| v.span())),
        (
            "intra_op_threads",
            &axes.intra_op_threads,
            raw.intra_op_threads.as_ref().map(|v| v.span()),
        ),
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
    let sets = raw.sets.as_ref().map(|v| v.span());
    if let Some(big) = axes.sets.iter().find(|n| n.get() > 100_000) {
        return cx.err(
            "sets",
            sets,
            format!("{big} task sets per repetition is more than the limit of 100000"),
        );
    }
    Ok(())
}
