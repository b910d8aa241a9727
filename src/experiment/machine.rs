//! The checks of an experiment against this machine, in one step that `validate` and `run` call
//! before anything starts: what each axis needs of it (can threads be pinned?) and, for
//! Python's pools, an interpreter (the project's venv unless the file names one). Each failure
//! is a [`SpecError`] naming the key, as parsing errors are (exit 2).

use super::Experiment;
use crate::spec::SpecError;

/// Checks `exp` against the machine, and finds the Python executors' interpreter.
pub fn check(exp: &mut Experiment) -> Result<(), SpecError> {
    let err = |key: &str, message: String| SpecError {
        file: exp.file.clone(),
        key: Some(key.to_string()),
        line: None,
        message,
    };
    for (axis, values) in &exp.axes.values {
        (axis.check)(values).map_err(|why| err(why.key.unwrap_or(&axis.path()[..]), why.message))?;
    }
    let python = exp.axes.executor.iter().find(|e| e.is_python());
    if let (Some(first), true) = (python, exp.python.is_empty()) {
        let install = crate::home::Install::find(&crate::workload::search_roots(&exp.file));
        exp.python = vec![install.default_python().ok_or_else(|| {
            err(
                "executor",
                format!(
                    "executor \"{first}\" runs Python's pools, and no Python was found (no .deps/venv of a \
                     checkout, no environment runner was installed into, no python3 on PATH): {}, or name \
                     an interpreter with `interpreter = \"/path/to/python\"`",
                    install.how_to_get("images")
                ),
            )
        })?];
    }
    for (i, interpreter) in exp.python.iter().enumerate() {
        interpreter_can(exp, i, interpreter).map_err(|(key, why)| err(key, why))?;
    }
    let mut parts: Vec<crate::workload::WorkloadKind> = exp.axes.workload.iter().flat_map(|w| w.parts()).collect();
    parts.sort();
    parts.dedup();
    let interpreters: Vec<Option<&std::path::Path>> = match &exp.python[..] {
        [] => vec![None],
        some => some.iter().map(|p| Some(p.as_path())).collect(),
    };
    for cell in crate::plan::expand(&exp.axes, &exp.exclude) {
        if !cell.executor.caps().subinterpreters {
            continue;
        }
        let Some(python) = exp.python.get(crate::pools::axes::PYTHON.index_of(&cell.values)) else {
            continue;
        };
        for part in cell.workload.parts() {
            part.get()
                .check_subinterpreter(&exp.settings, python)
                .map_err(|why| err(why.key.unwrap_or(part.name()), why.message))?;
        }
    }
    for part in parts {
        for &python in &interpreters {
            part.get()
                .check(&exp.settings, python)
                .map_err(|why| err(why.key.unwrap_or(part.name()), why.message))?;
        }
    }
    Ok(())
}

/// What the cells run by interpreter `index` need of it: the modules their workloads import in
/// Python's pools and, for py-interpreter, a pool of subinterpreters. One probe names every
/// missing piece.
/// A failure names its key: `gil` or `py_max_tasks_per_child` for what the build refuses,
/// `interpreter` for the rest.
fn interpreter_can(
    exp: &Experiment,
    index: usize,
    interpreter: &std::path::Path,
) -> Result<(), (&'static str, String)> {
    let key = crate::pools::axes::PYTHON.key;
    let mut needs: Vec<(&str, String)> = Vec::new();
    for cell in crate::plan::expand(&exp.axes, &exp.exclude) {
        if !cell.executor.is_python() || crate::pools::axes::PYTHON.index_of(&cell.values) != index {
            continue;
        }
        let mut add = |module: &'static str, why: String| {
            if !needs.iter().any(|(m, _)| *m == module) {
                needs.push((module, why));
            }
        };
        for part in cell.workload.parts() {
            for m in part.get().python_imports() {
                add(m, format!("workload \"{part}\""));
            }
        }
        if cell.executor.caps().subinterpreters {
            add(SUBINTERPRETERS, format!("executor \"{}\"", cell.executor));
        }
    }
    let probe = format!(
        "import importlib, json, multiprocessing, sys, sysconfig\nout = {{}}\nfor m in sys.argv[1:]:\n    try:\n        \
         if m == {SUBINTERPRETERS:?}:\n            try:\n                from concurrent.futures import InterpreterPoolExecutor\n            \
         except ImportError:\n                import interpreters_backport.concurrent.futures\n        \
         else:\n            importlib.import_module(m)\n    except Exception as e:\n        \
         out[m] = f'{{type(e).__name__}}: {{e}}'\n\
         print(json.dumps({{'missing': out, 'free_threaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED')), \
         'start_method': multiprocessing.get_start_method()}}))\n"
    );
    let out = std::process::Command::new(interpreter)
        .arg("-c")
        .arg(&probe)
        .args(needs.iter().map(|(m, _)| *m))
        .output()
        .map_err(|e| (key, format!("cannot run {}: {e}", interpreter.display())))?;
    let build: Probe = serde_json::from_slice(&out.stdout).map_err(|_| {
        let why = format!(
            "{} did not run: {}",
            interpreter.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        (key, why)
    })?;
    build_can(exp, index, interpreter, &build)?;
    let missing = build.missing;
    let Some((module, why)) = needs.iter().find(|(m, _)| missing.contains_key(*m)) else {
        return Ok(());
    };
    if *module == SUBINTERPRETERS {
        return Err((
            key,
            format!(
                "{} has no InterpreterPoolExecutor, which {why} needs: it is in Python 3.14, and 3.13 has it from \
             `pip install interpreters-pep-734` (scripts/setup makes .deps/venv313 with it)",
                interpreter.display()
            ),
        ));
    }
    Err((
        key,
        format!(
            "{} cannot import {module}, which {why} needs in Python's pools ({}){}",
            interpreter.display(),
            missing[*module],
            crate::home::extra_of(module)
                .map(|extra| {
                    let roots = crate::workload::search_roots(&exp.file);
                    format!("; {}", crate::home::Install::find(&roots).how_to_get(extra))
                })
                .unwrap_or_default()
        ),
    ))
}

/// What the probe of an interpreter reads: the modules it cannot import (with why), whether it
/// is a free-threaded build, and its `multiprocessing`'s default start method.
#[derive(serde::Deserialize)]
struct Probe {
    missing: std::collections::BTreeMap<String, String>,
    free_threaded: bool,
    start_method: String,
}

/// What the cells run by interpreter `index` ask of its build: the GIL off only on a
/// free-threaded one (a build with the GIL refuses `PYTHON_GIL=0` at start-up); recycling
/// workers (`py_max_tasks_per_child`) not with the fork start method, which `auto` is on this
/// interpreter when its `multiprocessing` defaults to it.
fn build_can(
    exp: &Experiment,
    index: usize,
    interpreter: &std::path::Path,
    build: &Probe,
) -> Result<(), (&'static str, String)> {
    use crate::axis::Value;
    use crate::pools::axes::{GIL, MAX_TASKS_PER_CHILD, PYTHON, START_METHOD};
    for cell in crate::plan::expand(&exp.axes, &exp.exclude) {
        if !cell.executor.is_python() || PYTHON.index_of(&cell.values) != index {
            continue;
        }
        if GIL.of(&cell.values) == Some(Value::Word("off")) && !build.free_threaded {
            let shown = interpreter.display();
            return Err((
                GIL.key,
                format!(
                    "{shown} is a build with the GIL (sysconfig's Py_GIL_DISABLED is 0), which refuses \
                 PYTHON_GIL=0; only a free-threaded build (python3.13t, `scripts/setup --free-threaded` makes \
                 .deps/venv313t) runs without it. Drop that cell: [[exclude]] interpreter = \"{shown}\", gil = \"off\""
                ),
            ));
        }
        let recycles = MAX_TASKS_PER_CHILD
            .of(&cell.values)
            .is_some_and(|v| v != Value::Count(0));
        if recycles && START_METHOD.of(&cell.values) == Some(Value::Word("auto")) && build.start_method == "fork" {
            return Err((
                MAX_TASKS_PER_CHILD.key,
                format!(
                    "{} starts its workers by fork by default, and max_tasks_per_child is \
                 incompatible with the 'fork' multiprocessing start method (Python refuses it); set \
                 py_start_method = \"spawn\" or \"forkserver\"",
                    interpreter.display()
                ),
            ));
        }
    }
    Ok(())
}

/// The probe's name for "a pool of subinterpreters".
const SUBINTERPRETERS: &str = "InterpreterPoolExecutor";
