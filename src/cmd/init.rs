//! `runner init`: writes a commented experiment file for the user's own work (a program, a
//! Python function or a C-ABI library) that compares its pools with the sequential baseline,
//! paired until decided, and checks it as `validate` would before saying it is ready.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::InitArgs;
use crate::error::{Error, Result};
use crate::exit::ExitCode;

/// The work the file is about, as its sections spell it.
enum Work<'a> {
    Command(&'a str),
    Python(&'a str),
    Native(&'a Path),
}

pub fn run(args: InitArgs) -> Result<ExitCode> {
    let work = match (&args.command, &args.python, &args.native) {
        (Some(c), _, _) => Work::Command(c),
        (_, Some(f), _) => Work::Python(f),
        (_, _, Some(l)) => Work::Native(l),
        _ => return Err(Error::usage("give the work: --command, --python or --native")),
    };
    if let Work::Python(f) = work {
        if f.split_once(':').is_none_or(|(m, n)| m.is_empty() || n.is_empty()) {
            return Err(Error::usage(format!(
                "--python {f:?} is not module:function (e.g. work:checksum)"
            )));
        }
    }
    if let (Work::Command(c), None) = (&work, &args.images) {
        if c.contains("{input}") {
            return Err(Error::usage(format!(
                "--command {c:?} reads {{input}}, a drawn file: give --images DIR (with --inputs N each task has only {{index}} and {{seed}})"
            )));
        }
    }
    let name = name_of(&work);
    let file = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{name}.toml")));
    if file.exists() {
        return Err(Error::usage(format!(
            "{} exists; not overwritten (give --output)",
            file.display()
        )));
    }
    let folder = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let text = experiment(&name, &work, &args, folder)?;
    std::fs::write(&file, text).with_context(|| format!("cannot write {}", file.display()))?;
    match super::load_checked(&file, false) {
        Ok((exp, cells)) => {
            println!(
                "wrote {}: {} cells, paired rounds until decided (at least {} repetitions); run it with `runner {}`",
                file.display(),
                cells.len(),
                exp.repetitions,
                file.display()
            );
            Ok(ExitCode::Ok)
        }
        Err(e) => Err(e.within(format!(
            "wrote {}, but it does not validate on this machine yet (edit it, then `runner validate` it)",
            file.display()
        ))),
    }
}

/// The file's name: the function's, the program's or the library's.
fn name_of(work: &Work) -> String {
    let raw = match work {
        Work::Command(c) => c
            .split_whitespace()
            .next()
            .unwrap_or("command")
            .rsplit('/')
            .next()
            .unwrap_or("command"),
        Work::Python(f) => f.rsplit(':').next().unwrap_or("function"),
        Work::Native(l) => l.file_stem().and_then(|s| s.to_str()).unwrap_or("native"),
    };
    let name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if name.is_empty() {
        "work".into()
    } else {
        name
    }
}

/// A path as the file writes it: relative to the file's folder when under it, else absolute.
fn written(path: &Path, folder: &Path) -> Result<String> {
    let abs = std::fs::canonicalize(path).with_context(|| format!("{}", path.display()))?;
    let base = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    let shown = abs.strip_prefix(&base).map(Path::to_path_buf).unwrap_or(abs);
    Ok(shown.display().to_string())
}

/// The experiment's text.
fn experiment(name: &str, work: &Work, args: &InitArgs, folder: &Path) -> Result<String> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut t = String::new();
    let (what, executors, section) = parts(work, folder)?;
    let _ = writeln!(
        t,
        "# Written by `runner init`: is a thread pool or a process pool faster for {what}?"
    );
    let _ = writeln!(
        t,
        "# The sequential loop is the baseline; summary.md gives the verdict per worker count."
    );
    let _ = writeln!(t, "name = {}", q(name));
    let kind = match work {
        Work::Command(_) => "command",
        Work::Python(_) => "python",
        Work::Native(_) => "native",
    };
    let _ = writeln!(t, "workload = {}", q(kind));
    let _ = writeln!(t, "executor = {executors}");
    let _ = writeln!(
        t,
        "workers = {cores}              # this machine's cores; a list is an axis, e.g. [1, {cores}]"
    );
    let mut tables = section;
    match &args.images {
        Some(dir) => {
            let _ = writeln!(
                t,
                "sets = 16                # one image per set: 16 tasks per repetition"
            );
            let _ = write!(
                tables,
                "\n[images]\nfolders = [{}]\nnoise = false\n",
                q(&written(dir, folder)?)
            );
        }
        None => {
            let n = args.inputs.map_or(64, |n| n.get());
            let _ = writeln!(
                t,
                "inputs = {n}              # tasks per set, no file: each gets its index and seed"
            );
            let _ = writeln!(t, "sets = 1");
        }
    }
    let _ = writeln!(
        t,
        "# Paired rounds (every pool once per round, in a shuffled order) until each verdict is"
    );
    let _ = writeln!(t, "# decided, or the next look would end past the budget.");
    let _ = writeln!(
        t,
        "repetitions = {{ min = 6, max = 40, until = \"decided\", time_budget_s = 300 }}"
    );
    let _ = writeln!(t, "warmup = 1\nseed = 1\n");
    let _ = writeln!(t, "{tables}");
    let _ = writeln!(t, "[output]\ndir = \"results\"");
    Ok(t)
}

/// What the file is about, its executors and its workload's section.
fn parts(work: &Work, folder: &Path) -> Result<(String, &'static str, String)> {
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    Ok(match work {
        Work::Command(c) => (
            format!("the program `{c}`, one run per task, from threads and from processes"),
            r#"["sequential", "thread", "process"]"#,
            format!(
                "[command]\n# Run by /bin/sh; {{input}} (the task's image), {{index}}, {{seed}} and {{out}} are filled in.\nargv = {}\nshell = true\n",
                q(c)
            ),
        ),
        Work::Python(f) => (
            format!("the Python function `{f}` under Python's pools (concurrent.futures)"),
            r#"["py-sequential", "py-thread", "py-process"]"#,
            format!(
                "[python]\n# Called as function(task) once per task, task = {{\"index\", \"seed\", \"input\"}}; with\n# `setup = \"module:load\"` (called once per worker with `config`) it is function(state, task).\n# The module is found beside this file (`path = [...]` names other folders) or on sys.path.\nfunction = {}\n",
                q(f)
            ),
        ),
        Work::Native(l) => (
            format!("the C-ABI library {} (include/runner_plugin.h) under runner's pools", l.display()),
            r#"["sequential", "thread", "process"]"#,
            format!("[native]\nlibrary = {}\n", q(&written(l, folder)?)),
        ),
    })
}
