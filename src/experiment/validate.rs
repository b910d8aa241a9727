//! Turns an experiment file into an [`Experiment`]: the core keys, every axis's values (read by
//! the axis's own declaration), each workload's `[section]` (parsed by that workload) and the
//! excludes; every failure is one error naming file, key and line. Pure: it reads the file and
//! the folders it names, and nothing of the machine ([`super::machine`] does that).

use std::path::Path;

use sha2::{Digest, Sha256};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::exclude::exclude;
use super::raw::{RawExperiment, DEFAULT_OUTPUT_DIR, DEFAULT_SETS, DEFAULT_WARMUP, DEFAULT_WORKERS};
use super::repetitions::{order, repetitions};
use super::size::{check_product, check_size};
use super::{images, Experiment};
use crate::axis::AxisDef;
use crate::plan::{axes, Axes};
use crate::pools::axes::PYTHON;
use crate::pools::{ExecutorKind, ShapeKind};
use crate::spec::{hex, Fields, Refused, Section, SpecError};
use crate::workload::{Settings, WorkloadKind};

/// Limits that guard against absurd experiments, and the flag that lifts them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    pub allow_large: bool,
}

/// The interpreter axis's old key, still read where no `[python]` table stands.
const OLD_INTERPRETER_KEY: &str = "python";

/// The longest experiment name: it names a folder (file systems allow 255 bytes; the rest is room).
pub(super) const MAX_NAME: usize = 200;

/// What the file holds beside its core keys: each workload's section, each axis key given at
/// the top level, and the excludes.
struct Parts<'a> {
    sections: Vec<(WorkloadKind, Option<Spanned<DeValue<'a>>>)>,
    top: Vec<(&'static AxisDef, Spanned<DeValue<'a>>)>,
    exclude: Option<Spanned<DeValue<'a>>>,
}

/// The top-level value the file gives for `axis`, among the axes' keys taken out of it.
fn given<'t, 'a>(
    top: &'t [(&'static AxisDef, Spanned<DeValue<'a>>)],
    axis: &AxisDef,
) -> Option<&'t Spanned<DeValue<'a>>> {
    top.iter().find(|(a, _)| std::ptr::eq(*a, axis)).map(|(_, v)| v)
}

pub(super) fn parse(path: &Path, text: &str, overrides: &Overrides) -> Result<Experiment, SpecError> {
    let file = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let cx = Fields { file: &file, text };
    let mut doc = DeTable::parse(text).map_err(|e| cx.toml_error(None, &e))?;
    for (key, value) in doc.get_ref().iter() {
        if key.get_ref() != "description" {
            no_control_chars(&cx, key.get_ref(), value)?;
        }
    }
    let zips = super::zip::take(&cx, &mut doc)?;
    let mut parts = Parts {
        sections: WorkloadKind::all().map(|w| (w, section(&mut doc, w.name()))).collect(),
        top: axes::ALL
            .iter()
            .filter(|a| a.section.is_none())
            .filter_map(|a| doc.get_mut().remove(a.key).map(|v| (*a, v)))
            .collect(),
        exclude: doc.get_mut().remove("exclude"),
    };
    old_interpreter_key(&cx, &mut doc, &mut parts)?;
    let raw = RawExperiment::parse(&cx, doc)?;
    check_name(&cx, &raw)?;
    let mut axes = core_axes(&cx, &raw)?;
    axis_values(&cx, &mut axes, &parts)?;
    axes.zips = super::zip::entries(&cx, &zips, &axes)?;
    let given_python = given(&parts.top, &PYTHON);
    let settings = settings(&cx, &axes, parts.sections)?;
    check_size(&cx, &raw, &axes, overrides)?;
    check_pairs(&cx, &raw, &axes)?;
    let python = python(&cx, given_python, &axes, &settings)?;
    let exclude = match &parts.exclude {
        Some(v) => exclude(&cx, v, &axes)?,
        None => Vec::new(),
    };
    check_recycling(&cx, &axes, &exclude)?;
    let question = super::question::parse(&cx, &raw, &axes, &exclude)?;
    let images = images::parse(&cx, &raw, &axes.workload)?;
    let (repetitions, until) = repetitions(&cx, &raw)?;
    let warmup = cx.bounded("warmup", &raw.warmup, DEFAULT_WARMUP, u64::MAX)? as usize;
    check_product(
        &cx,
        &raw,
        &axes,
        &images,
        warmup,
        until.map_or(repetitions.get(), |u| u.max),
    )?;
    Ok(Experiment {
        name: raw.name.clone(),
        sha256: hex(&Sha256::digest(text.as_bytes())),
        text: text.to_string(),
        axes,
        exclude,
        repetitions,
        until,
        warmup,
        seed: cx.bounded("seed", &raw.seed, 0, u64::MAX)?,
        order: order(&cx, &raw)?,
        images,
        settings,
        output_dir: cx.resolve(raw.output.dir.as_deref().unwrap_or(DEFAULT_OUTPUT_DIR)),
        task_log: raw.output.task_log.unwrap_or_default(),
        task_timeout: cx.seconds("limits.task_timeout_s", &raw.limits.task_timeout_s)?,
        repetition_timeout: cx.seconds("limits.repetition_timeout_s", &raw.limits.repetition_timeout_s)?,
        wait_for_idle: cx.seconds("wait_for_idle_s", &raw.wait_for_idle_s)?,
        equivalence: equivalence(&cx, &raw)?,
        python,
        question,
        partitions: super::slurm::parse(&cx, &raw)?,
        file: file.clone(),
    })
}

/// `equivalence`: the band within which two pools count as the same, a fraction in (0, 1).
fn equivalence(cx: &Fields, raw: &RawExperiment) -> Result<f64, SpecError> {
    match &raw.equivalence {
        None => Ok(super::DEFAULT_EQUIVALENCE),
        Some(v) if v.get_ref().is_finite() && *v.get_ref() > 0.0 && *v.get_ref() < 1.0 => Ok(*v.get_ref()),
        Some(v) => cx.err(
            "equivalence",
            Some(v.span()),
            "must be a fraction between 0 and 1, e.g. 0.05 for ±5 %",
        ),
    }
}

/// `python = "..."`, the interpreter axis's old name: what is left of `python` once the python
/// workload's table has been taken out, read as `interpreter` (refused beside it).
fn old_interpreter_key<'a>(
    cx: &Fields,
    doc: &mut Spanned<DeTable<'a>>,
    parts: &mut Parts<'a>,
) -> Result<(), SpecError> {
    let Some(v) = doc.get_mut().remove(OLD_INTERPRETER_KEY) else {
        return Ok(());
    };
    if given(&parts.top, &PYTHON).is_some() {
        return cx.err(
            OLD_INTERPRETER_KEY,
            Some(v.span()),
            "is the old name of `interpreter`, which the file also sets: keep `interpreter`",
        );
    }
    parts.top.push((&PYTHON, v));
    Ok(())
}

/// The name names the results folder: not empty, no slashes, no leading dot, not too long.
fn check_name(cx: &Fields, raw: &RawExperiment) -> Result<(), SpecError> {
    if raw.name.trim().is_empty() || raw.name.contains(['/', '\\']) || raw.name.starts_with('.') {
        return cx.err(
            "name",
            None,
            "must be a non-empty name without slashes or a leading dot (it names the results folder)",
        );
    }
    if raw.name.len() > MAX_NAME {
        return cx.err(
            "name",
            None,
            format!(
                "is {} bytes long; it names the results folder, and a file name holds at most {MAX_NAME} here",
                raw.name.len()
            ),
        );
    }
    Ok(())
}

/// A workload's `[section]`, taken out of the file. A top-level key of the same name that is
/// not a table (`python = "/usr/bin/python3"`, the interpreter's old key) is left in it.
fn section<'a>(doc: &mut Spanned<DeTable<'a>>, name: &str) -> Option<Spanned<DeValue<'a>>> {
    let (key, v) = doc.get_mut().remove_entry(name)?;
    if matches!(v.get_ref(), DeValue::Table(_)) {
        return Some(v);
    }
    doc.get_mut().insert(key, v);
    None
}

/// Workloads, executors, and the keys that shape cells: workers, or processes and threads for
/// executors shaped processes x threads (hybrid), which need both and which nothing else takes.
fn core_axes(cx: &Fields, raw: &RawExperiment) -> Result<Axes, SpecError> {
    let executor: Vec<ExecutorKind> = cx.list("executor", Some(&raw.executor), &[])?;
    let shaped: Vec<&str> = executor
        .iter()
        .filter(|e| e.shape() == ShapeKind::ProcessesThreads)
        .map(|e| e.name())
        .collect();
    for (key, v) in [("processes", &raw.processes), ("threads", &raw.threads)] {
        match (v, shaped.first()) {
            (None, Some(e)) => {
                return cx.err(
                    key,
                    None,
                    format!(
                        "executor \"{e}\" needs `processes` and `threads` (e.g. processes = [1, 2], threads = [1, 2])"
                    ),
                )
            }
            (Some(v), None) => return cx.err(key, Some(v.span()), "applies only to executor \"hybrid\""),
            _ => {}
        }
    }
    Ok(Axes {
        workload: cx.list("workload", Some(&raw.workload), &[])?,
        executor,
        workers: cx.counts("workers", raw.workers.as_ref(), DEFAULT_WORKERS)?,
        processes: cx.counts("processes", raw.processes.as_ref(), 1)?,
        threads: cx.counts("threads", raw.threads.as_ref(), 1)?,
        sets: cx.counts("sets", raw.sets.as_ref(), DEFAULT_SETS)?,
        values: Vec::new(),
        zips: Vec::new(),
    })
}

/// Each axis's values, read by its declaration from where it sits (the top level, or its
/// workload's section). A pool or runtime axis (a knob of some executors) given in an
/// experiment without them is refused; a work axis may be set for the whole file.
fn axis_values(cx: &Fields, axes: &mut Axes, parts: &Parts) -> Result<(), SpecError> {
    for axis in axes::ALL {
        let given: Option<&Spanned<DeValue>> = match axis.section {
            None => given(&parts.top, axis),
            Some(section) => parts
                .sections
                .iter()
                .find(|(w, _)| w.name() == section)
                .and_then(|(_, v)| v.as_ref())
                .and_then(|v| match v.get_ref() {
                    DeValue::Table(t) => t.get(axis.key),
                    _ => None,
                }),
        };
        let applies = axes
            .workload
            .iter()
            .any(|&w| axes.executor.iter().any(|&e| (axis.applies)(&axes::facts(w, e))));
        if let (Some(v), false, crate::axis::Role::Pool | crate::axis::Role::Runtime) = (given, applies, axis.role) {
            return cx.err(
                axis.key,
                Some(v.span()),
                format!(
                    "applies to none of this experiment's cells (executors {}; workloads {})",
                    names(&axes.executor),
                    names(&axes.workload)
                ),
            );
        }
        let values = axis.values(cx, given)?;
        axes.set(axis, values);
    }
    Ok(())
}

fn names<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

/// Each workload's own section, parsed by that workload (checked even when no cell runs it;
/// its files must exist only when one does).
fn settings(
    cx: &Fields,
    axes: &Axes,
    sections: Vec<(WorkloadKind, Option<Spanned<DeValue>>)>,
) -> Result<Settings, SpecError> {
    let mut settings = Settings::default();
    for (workload, value) in sections {
        let used = axes.workload.iter().any(|w| w.parts().contains(&workload));
        let section = Section {
            fields: cx,
            name: workload.name(),
            value,
        };
        if let Some(s) = workload.get().settings(&section, used)? {
            settings.set_boxed(workload.name(), s);
        }
    }
    Ok(settings)
}

/// A pool of subinterpreters runs only Python sides that import no extension module that
/// refuses them (numpy, Pillow, onnxruntime).
fn subinterpreters_load(e: ExecutorKind, w: WorkloadKind) -> Result<(), Refused> {
    if !e.caps().subinterpreters {
        return Ok(());
    }
    let mut needs: Vec<&str> = w
        .parts()
        .iter()
        .flat_map(|p| p.get().python_imports())
        .copied()
        .collect();
    needs.sort();
    needs.dedup();
    if needs.is_empty() {
        return Ok(());
    }
    Err(format!(
        "its Python side imports {}, which cannot be loaded in a subinterpreter (their extension modules \
         do not support it); run it with py-thread or py-process",
        needs.join(" and ")
    )
    .into())
}

/// Every (workload, executor) pair must be one the executor can run.
fn check_pairs(cx: &Fields, raw: &RawExperiment, axes: &Axes) -> Result<(), SpecError> {
    for &w in &axes.workload {
        for &e in &axes.executor {
            let workload_ok = w.parts().iter().try_for_each(|p| p.get().runs_in(e.is_python()));
            if let Err(why) = subinterpreters_load(e, w).and(workload_ok) {
                return cx.err(
                    "executor",
                    Some(raw.executor.span()),
                    format!("executor \"{e}\" cannot run workload \"{w}\": {why}"),
                );
            }
        }
    }
    Ok(())
}

/// Cells that would recycle forked workers, which Python refuses.
fn check_recycling(cx: &Fields, axes: &Axes, exclude: &[crate::plan::Exclude]) -> Result<(), SpecError> {
    match crate::plan::expand(axes, exclude)
        .iter()
        .find_map(|c| crate::pools::axes::recycles_forked(&c.values))
    {
        Some(why) => cx.err("py_max_tasks_per_child", None, why),
        None => Ok(()),
    }
}

/// The Python executors' interpreters as the file names them (none: the project's venv, found
/// by the machine check). Python's pools resample with Pillow, which has every filter but
/// Mitchell's.
fn python(
    cx: &Fields,
    given: Option<&Spanned<DeValue>>,
    axes: &Axes,
    settings: &Settings,
) -> Result<Vec<std::path::PathBuf>, SpecError> {
    let python = axes.executor.iter().any(|e| e.is_python());
    if let (Some(v), false) = (given, python) {
        return cx.err(
            PYTHON.key,
            Some(v.span()),
            "applies only to the Python executors (py-*)",
        );
    }
    if !python {
        return Ok(Vec::new());
    }
    for w in WorkloadKind::all() {
        if let Err(why) = w.get().python_settings(settings) {
            return cx.err(why.key.unwrap_or(w.name()), None, why.message);
        }
    }
    given.map_or(Ok(Vec::new()), |v| {
        PYTHON.files(cx, v).map_err(|mut e| {
            e.message += setup_hint(&e.message);
            e
        })
    })
}

/// For an interpreter the set-up makes that is missing: the command that makes it.
fn setup_hint(message: &str) -> &'static str {
    let built = [
        ".deps/python313t/",
        ".deps/venv313t/",
        ".deps/python313/",
        ".deps/venv313s/",
    ];
    if built.iter().any(|p| message.contains(p)) {
        "; `scripts/setup --free-threaded` builds it (CPython 3.13 from Debian's source, free-threaded and with the GIL)"
    } else if message.contains(".deps/venv313/") {
        "; `scripts/setup` makes it where a CPython 3.13 is on the machine (pyenv's, or python3.13 on PATH)"
    } else if message.contains(".deps/venv/") {
        "; `scripts/setup` makes it"
    } else {
        ""
    }
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
