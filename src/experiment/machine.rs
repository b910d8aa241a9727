//! The checks of an experiment against this machine, in one step that `validate` and `run` call
//! before anything starts: what each axis needs of it (can threads be pinned?) and, for
//! Python's pools, an interpreter (the project's venv unless the file names one). Each failure
//! is a [`SpecError`] naming the key, as parsing errors are (exit 2).

use std::path::PathBuf;

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
        (axis.check)(values).map_err(|why| err(&axis.path(), why))?;
    }
    let python = exp.axes.executor.iter().find(|e| e.is_python());
    if let (Some(first), None) = (python, &exp.python) {
        let roots = crate::workload::search_roots(&exp.file);
        exp.python = Some(venv(&roots).ok_or_else(|| {
            err(
                "executor",
                format!(
                    "executor \"{first}\" runs Python's pools, and no Python was found: run `scripts/setup` \
                     (it makes .deps/venv with Pillow, numpy and onnxruntime), or name an interpreter \
                     with `python = \"/path/to/python\"`"
                ),
            )
        })?);
    }
    let mut parts: Vec<crate::workload::WorkloadKind> = exp.axes.workload.iter().flat_map(|w| w.parts()).collect();
    parts.sort();
    parts.dedup();
    for part in parts {
        part.get()
            .check(&exp.settings, exp.python.as_deref())
            .map_err(|why| match why.split_once(": ") {
                // "native.library: ..." names its key; the rest names the workload.
                Some((key, rest)) if key.starts_with(part.name()) && !key.contains(' ') => err(key, rest.to_string()),
                _ => err(part.name(), why),
            })?;
    }
    Ok(())
}

/// The project's venv: `.deps/venv/bin/python` above the experiment file, the binary or the
/// working directory.
fn venv(roots: &[PathBuf]) -> Option<PathBuf> {
    roots
        .iter()
        .flat_map(|r| {
            r.ancestors()
                .map(|a| a.join(".deps/venv/bin/python"))
                .collect::<Vec<_>>()
        })
        .find(|p| p.is_file())
}
