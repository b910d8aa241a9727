//! The python workload: a user's Python function (`[python] function = "module:name"`), called
//! once per task by Python's pools (the py-* executors, which run it in `python/pools.py`), with
//! an optional `setup(config)` per worker whose result every call gets. Before any repetition
//! the module is imported once in a throwaway interpreter; an exception there refuses the run.

use super::{Refused, WorkError};
use crate::tasks::Tasks;
use std::any::Any;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::own::write_noise;
use super::{Context, Draws, Settings, TaskState, Workload};
use crate::axis::{no_check, AxisDef, Kind, Role, Value};
use crate::spec::{OneOrMany, Section, SpecError};

pub struct PythonFn;

pub static FUNCTION: AxisDef = AxisDef {
    doc: "`[python] function = \"module:name\"`, or a list of them: an axis of the python cells (the second function's cells are `...-f2-...`; the first adds nothing to a cell id).",
    key: "function",
    section: Some("python"),
    column: "function",
    role: Role::Work,
    kind: Kind::Paths { default: "" },
    applies: |k| k.workload == "python",
    id: |v| match v {
        Value::Listed(i, _) if i > 0 => Some(format!("-f{}", i + 1)),
        _ => None,
    },
    setting: |v| Some(format!(", {}", v.text())),
    check: no_check,
};

/// `[python]` as the file spells it.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// Read by the `function` axis.
    #[schemars(skip)]
    function: Option<Spanned<OneOrMany<String>>>,
    /// `module:name` called once per worker with `config`; its result is passed to each call.
    #[schemars(with = "Option<String>", regex(pattern = r"^[^:]+:[^:]+$"))]
    setup: Option<Spanned<String>>,
    /// Folders (relative to this file) put first on `sys.path`; without it, this file's folder.
    #[serde(default)]
    path: Vec<String>,
    /// Text handed to `setup`.
    config: Option<String>,
    /// What becomes of what the function prints: `discard`, or `keep` (a file per task,
    /// `stdout/NNNN.out`, and the interpreter's own fd 1 as `stdout/python.out`).
    #[schemars(with = "Option<super::command::Stdout>", extend("default" = "discard"))]
    stdout: Option<Spanned<String>>,
}

#[derive(Debug, Clone)]
struct PySettings {
    /// Every function listed (the [`FUNCTION`] axis picks one per cell).
    functions: Vec<String>,
    setup: Option<String>,
    /// Folders put first on `sys.path`, absolute.
    path: Vec<PathBuf>,
    config: String,
    keep_stdout: bool,
}

/// `module:name`, both non-empty.
fn entry(cx: &crate::spec::Fields, key: &str, v: &Spanned<String>) -> Result<String, SpecError> {
    match v.get_ref().split_once(':') {
        Some((m, f)) if !m.is_empty() && !f.is_empty() && !f.contains(':') => Ok(v.get_ref().clone()),
        _ => cx.err(
            key,
            Some(v.span()),
            format!("`{}` is not module:function (e.g. \"work:checksum\")", v.get_ref()),
        ),
    }
}

impl Workload for PythonFn {
    fn section_schema(&self, generator: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(<Raw as schemars::JsonSchema>::json_schema(generator))
    }

    fn name(&self) -> &'static str {
        "python"
    }

    fn draws(&self) -> Draws {
        Draws::Inputs
    }

    fn runs_in(&self, python: bool) -> Result<(), Refused> {
        match python {
            true => Ok(()),
            false => Err("workload python runs under the py-* executors".into()),
        }
    }

    fn settings(&self, section: &Section, used: bool) -> Result<Option<Box<dyn Any + Send + Sync>>, SpecError> {
        let raw: Raw = section.parse()?;
        let cx = section.fields;
        let functions = match &raw.function {
            Some(v) => v
                .get_ref()
                .0
                .iter()
                .map(|f| entry(cx, "python.function", &Spanned::new(v.span(), f.clone())))
                .collect::<Result<Vec<_>, _>>()?,
            None if used => {
                return cx.err(
                    "python.function",
                    None,
                    "required: the function to call, as module:function",
                )
            }
            None => return Ok(None),
        };
        let setup = raw.setup.as_ref().map(|v| entry(cx, "python.setup", v)).transpose()?;
        let mut path = Vec::new();
        for p in &raw.path {
            path.push(cx.existing("python.path", None, p, true)?);
        }
        if raw.path.is_empty() {
            path.push(cx.file.parent().unwrap_or(Path::new(".")).to_path_buf());
        }
        Ok(Some(Box::new(PySettings {
            functions,
            setup,
            path,
            config: raw.config.unwrap_or_default(),
            keep_stdout: super::command::keep_stdout(cx, "python.stdout", raw.stdout.as_ref())?,
        })))
    }

    /// Imports the module (and finds the functions) once in a throwaway interpreter.
    fn check(&self, settings: &Settings, python: Option<&Path>) -> Result<(), Refused> {
        let s: &PySettings = settings.get(self.name())?;
        let python = python.ok_or("workload python needs a Python interpreter")?;
        let probe = "import importlib, sys\n\
                     sys.path[:0] = sys.argv[1].split('\\n')\n\
                     for entry in sys.argv[2:]:\n    \
                       module, name = entry.split(':')\n    \
                       getattr(importlib.import_module(module), name)\n";
        let out = s.probe(python, probe)?;
        if out.status.success() {
            return Ok(());
        }
        let err = String::from_utf8_lossy(&out.stderr);
        Err(Refused::at(
            "python.function",
            format!(
                "importing {} failed: {}",
                s.functions.join(", "),
                err.trim().lines().last().unwrap_or("")
            ),
        ))
    }

    /// The user's modules imported in a subinterpreter of `python` (3.14's
    /// `concurrent.interpreters`, or the 3.13 backport's), as py-interpreter's workers import
    /// them: a module that imports numpy, or any extension without subinterpreter support, is
    /// refused here by name instead of failing every task.
    fn check_subinterpreter(&self, settings: &Settings, python: &Path) -> Result<(), Refused> {
        let s: &PySettings = settings.get(self.name())?;
        let probe = r#"
import sys
try:
    from concurrent import interpreters
except ImportError:
    from interpreters_backport import interpreters
paths = sys.argv[1].split("\n")
for entry in sys.argv[2:]:
    module = entry.split(":")[0]
    try:
        interpreters.create().exec(f"import sys; sys.path[:0] = {paths!r}; import {module}")
    except Exception as e:
        info = getattr(e, "excinfo", None)
        lines = [l for l in str(getattr(info, "msg", "") or e).splitlines() if l.strip()]
        why = next((l for l in reversed(lines) if "subinterpreter" in l), lines[-1] if lines else "")
        print(f"{module}\t{why.strip()}")
        sys.exit(1)
"#;
        let out = s.probe(python, probe)?;
        if out.status.success() {
            return Ok(());
        }
        let said = String::from_utf8_lossy(&out.stdout);
        let (module, why) = said.trim().split_once('\t').unwrap_or(("", said.trim()));
        let why = if why.is_empty() {
            String::from_utf8_lossy(&out.stderr)
                .trim()
                .lines()
                .last()
                .unwrap_or("")
                .to_string()
        } else {
            why.to_string()
        };
        Err(Refused::at(
            "python.function",
            format!(
                "module `{module}` cannot be loaded in a subinterpreter of {}, where executor \
                 \"py-interpreter\" runs it ({why}); run it on py-thread or py-process",
                python.display()
            ),
        ))
    }

    /// Every Python file in the folders put on `sys.path`.
    fn watched(&self, settings: &Settings) -> Vec<PathBuf> {
        let Ok(s) = settings.get::<PySettings>(self.name()) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = s
            .path
            .iter()
            .filter_map(|d| std::fs::read_dir(d).ok())
            .flat_map(|d| d.flatten().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "py"))
            .collect();
        files.sort();
        files
    }

    fn inputs(&self, ctx: &Context, tasks: &Tasks) -> Result<(), WorkError> {
        write_noise(ctx, tasks)
    }

    fn python(&self, ctx: &Context) -> Result<Option<serde_json::Value>, WorkError> {
        let s: &PySettings = ctx.settings.get(self.name())?;
        let function = s
            .functions
            .get(FUNCTION.index_of(&ctx.values))
            .ok_or("no such function in [python] function")?;
        Ok(Some(serde_json::json!({
            "function": function,
            "setup": s.setup,
            "path": s.path,
            "config": s.config,
            "keep_stdout": s.keep_stdout,
        })))
    }

    fn keeps_python_stdout(&self, ctx: &Context) -> bool {
        ctx.settings.get::<PySettings>(self.name()).is_ok_and(|s| s.keep_stdout)
    }

    fn state(&self, _ctx: &Context, _worker: usize) -> Result<Box<dyn TaskState>, WorkError> {
        Err("workload python runs under the py-* executors".into())
    }
}

impl PySettings {
    /// Runs `probe` (Python source) on `python` with the folders to put on `sys.path` (one
    /// argument, a line each) and then every `module:function` entry as arguments.
    fn probe(&self, python: &Path, probe: &str) -> Result<std::process::Output, WorkError> {
        let paths: Vec<String> = self.path.iter().map(|p| p.display().to_string()).collect();
        std::process::Command::new(python)
            .arg("-c")
            .arg(probe)
            .arg(paths.join("\n"))
            .args(&self.functions)
            .args(&self.setup)
            .output()
            .map_err(|e| WorkError::Said(format!("cannot run {}: {e}", python.display())))
    }
}
