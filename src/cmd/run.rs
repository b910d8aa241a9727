//! `runner FILE` / `runner run FILE`: experiment file → cells → schedule → one isolated process
//! per repetition → records → exporters; then the summary and the exit code.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;

use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{RunArgs, ZygoteArgs};
use crate::envinfo::{hardware, node, partition};
use crate::error::{Error, Result};
use crate::executor::{Interpreter, PYTHON_MODULE};
use crate::exit::ExitCode;
use crate::experiment::Experiment;
use crate::export::csv::Csv;
use crate::export::log::Log;
use crate::export::{Exporters, Kept};
use crate::interrupt;
use crate::isolate::zygote::{self, Preloading};
use crate::isolate::Isolated;
use crate::measure::cores;
use crate::plan::{schedule, slice, Cell, Rep};
use crate::record::{RunMeta, RunRow, NOISY_SHARE};
use crate::results_dir::ResultsDir;
use crate::runloop::{self, Progress};
use crate::session::until::Clock;
use crate::workload::{search_roots, Context, PrepareEnv, Prepared, PythonFound, WorkloadKind};

pub fn run(args: RunArgs) -> Result<ExitCode> {
    let file = args
        .file
        .clone()
        .ok_or_else(|| Error::usage("no experiment file given; try `runner experiments/smoke.toml`"))?;
    let (mut exp, cells) = super::load_checked(&file, args.allow_large)?;
    let started = SystemTime::now();
    // From here on SIGINT, SIGTERM and SIGHUP stop the run with its rows kept.
    interrupt::install();
    let session = crate::session::Session::open(&exp, &args, started)?;
    let dir = session.dir.clone();
    // Every descendant that outlives its parent comes back here, to be reaped before we exit.
    crate::proc::become_subreaper();
    let mut out = streaming_outputs(&exp, &dir, args.resume.is_none())?;
    let prepared = match prepare(&mut exp, &args, &dir) {
        Ok(p) => p,
        Err(e) => {
            if args.resume.is_none() {
                let _ = std::fs::remove_dir_all(&dir); // nothing was measured in it
            }
            return Err(e);
        }
    };
    let mut env = session.environment(&exp, &args, &prepared, started)?;
    env.env.timing_noise = noise();
    env.write(None)?;
    let mut reps = Preloading::new(
        isolated(&exp, &dir)?,
        zygote_args(&file, &args),
        dir.clone(),
        exp.sha256.clone(),
    );
    let meta = meta(&exp, &prepared, session.shard.map(|(s, _)| s));
    let all = schedule(&exp.repetition_plan(), &cells);
    let all = match session.shard {
        Some((s, split)) => slice(&all, s, split, &super::cost(&exp)),
        None => all,
    };
    let done: HashSet<(Cell, Rep)> = session.previous.iter().map(|r| (r.cell, r.repetition())).collect();
    let todo: Vec<_> = all.iter().filter(|p| !done.contains(p)).copied().collect();
    let clock = std::time::Instant::now();
    let outcome = run_schedule(&exp, &todo, &meta, &mut reps, &mut out, args.quiet)
        .with_context(|| format!("writing results to {}", dir.display()))?;
    let mut rows: Vec<RunRow> = session.previous.into_iter().chain(outcome.rows).collect();
    let mut changed = outcome.changed;
    env.env.looks = Some(crate::session::until::bound(&exp).looks.rounds().to_vec());
    if let (Some(until), None) = (exp.until, &changed) {
        let plan: Vec<Cell> = all.iter().map(|(c, _)| *c).collect();
        let mine: HashSet<Cell> = plan.iter().copied().collect();
        let elsewhere: Vec<Cell> = cells.iter().filter(|c| !mine.contains(c)).copied().collect();
        let (stopped, moved) = crate::session::until::rounds(
            &exp,
            until,
            &plan,
            &elsewhere,
            &mut rows,
            &Clock {
                started: clock,
                stop: &interrupt::stop_requested,
            },
            &mut |todo| run_schedule(&exp, todo, &meta, &mut reps, &mut out, args.quiet),
        )
        .with_context(|| format!("writing results to {}", dir.display()))?;
        env.env.stopped = Some(stopped);
        changed = moved;
    }
    env.finish(args.resume.is_some(), &dir)?;
    summarise(&dir, &exp, &rows);
    println!("results: {}", dir.display());
    if let Some(changed) = changed {
        return Ok(inputs_changed(&exp, &dir, &changed));
    }
    Ok(exit_code(&exp, &dir, &rows, all.len()))
}

/// The files rows stream into as repetitions end (runs.csv and tasks.csv, run.log), each
/// seeing the task rows `[output] task_log` keeps; a new folder also gets experiment.toml.
fn streaming_outputs(exp: &Experiment, dir: &Path, new: bool) -> Result<Exporters> {
    let out = Exporters(vec![
        Box::new(Kept {
            log: exp.task_log,
            inner: Csv::open(dir).with_context(|| format!("cannot create the results folder {}", dir.display()))?,
        }),
        Box::new(Kept {
            log: exp.task_log,
            inner: Log::open(dir)?,
        }),
    ]);
    if new {
        std::fs::write(ResultsDir::at(dir).experiment(), &exp.text)
            .with_context(|| format!("cannot write into {}", dir.display()))?;
    }
    Ok(out)
}

/// What the run reads changed while it ran: says so, and how to go on once it is put back.
fn inputs_changed(exp: &Experiment, dir: &Path, changed: &str) -> ExitCode {
    eprintln!(
        "runner: error: what the run reads changed while it ran, so the next repetitions would measure other work: {changed}.\n\
         runner: every finished row is in {}; put the files back and continue with: runner {} --resume {}",
        ResultsDir::at(dir).runs().display(),
        exp.file.display(),
        dir.display()
    );
    ExitCode::Error
}

/// `runner zygote`: serves the repetitions of a run's cells under the allocator it was started
/// with preloaded, until the orchestrator closes its stdin ([`zygote::serve`]).
pub fn zygote(z: ZygoteArgs) -> Result<ExitCode> {
    let args = z.run;
    let file = args
        .file
        .clone()
        .ok_or_else(|| Error::usage("a zygote needs the experiment file"))?;
    let (mut exp, cells) = super::load_checked(&file, args.allow_large)?;
    if z.sha256 != exp.sha256 {
        return Err(anyhow::anyhow!(
            "{} changed since the run started; its allocator cells cannot run",
            exp.file.display()
        )
        .into());
    }
    let dir = z.dir;
    interrupt::install();
    crate::proc::become_subreaper();
    // What it prepares (an optimised model) goes to a folder of its own, not over the run's.
    let own = dir.join(format!("prepared-{}", z.allocator));
    std::fs::create_dir_all(&own).with_context(|| format!("cannot create {}", own.display()))?;
    prepare(&mut exp, &args, &own)?;
    let mut reps = isolated(&exp, &dir)?;
    zygote::serve(&cells, &mut reps)?;
    Ok(ExitCode::Ok)
}

/// A zygote's command line: the experiment and what shapes its preparation.
fn zygote_args(file: &Path, args: &RunArgs) -> Vec<String> {
    let mut out = vec![file.display().to_string()];
    if let Some(lib) = &args.ort_lib {
        out.extend(["--ort-lib".to_string(), lib.display().to_string()]);
    }
    if args.allow_large {
        out.push("--allow-large".into());
    }
    out
}

/// What every row of this session shares.
fn meta(exp: &Experiment, prepared: &Prepared, shard: Option<crate::plan::Shard>) -> RunMeta {
    RunMeta {
        experiment: exp.name.clone(),
        seed: exp.seed,
        cores: cores(),
        models: prepared.models.clone(),
        node: node(),
        hardware: hardware(),
        partition: partition(),
        shard,
        paired: exp.order == crate::plan::Order::Paired,
    }
}

/// The machine's timing noise, stated: at most 1.5 s, before any repetition.
/// RUNNER_NOISE_PROBE_S sets its budget (0: skip it), as the tests do.
fn noise() -> Option<crate::measure::Noise> {
    let budget = std::env::var("RUNNER_NOISE_PROBE_S")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(1.5);
    crate::measure::noise_probe(std::time::Duration::from_secs_f64(budget))
}

/// The runner of repetitions: one process each, with the Python executors' module written
/// into the results folder when a cell needs it.
fn isolated(exp: &Experiment, dir: &Path) -> Result<Isolated> {
    let module = dir.join("pools.py");
    if !exp.python.is_empty() {
        std::fs::write(&module, PYTHON_MODULE).with_context(|| format!("cannot write {}", module.display()))?;
    }
    let python = exp
        .python
        .iter()
        .map(|interpreter| Interpreter {
            interpreter: interpreter.clone(),
            module: module.clone(),
        })
        .collect();
    Ok(Isolated {
        base: Context {
            settings: exp.settings.clone(),
            max_pixels: exp.images.max_pixels,
            out_dir: PathBuf::new(),
            values: Default::default(),
        },
        outputs: ResultsDir::at(dir).outputs(),
        task_timeout: exp.task_timeout,
        repetition_timeout: exp.repetition_timeout,
        wait_for_idle: exp.wait_for_idle,
        python,
    })
}

/// Runs the pairs in `todo` with a progress bar, stopping between repetitions on Ctrl-C or
/// when what the repetitions read (images, models, a user's module) has changed.
pub(super) fn run_schedule(
    exp: &Experiment,
    todo: &[(Cell, Rep)],
    meta: &RunMeta,
    reps: &mut Preloading,
    out: &mut Exporters,
    quiet: bool,
) -> std::io::Result<runloop::Outcome> {
    let bar = progress_bar(quiet, todo.len());
    let mut on_progress = |p: &Progress| {
        if let Some(bar) = &bar {
            bar.set_position(p.done as u64);
            let what = if p.rep.warmup { "warm-up" } else { "rep" };
            bar.set_message(format!("{} {what} {}", p.cell.id(), p.rep.index));
        }
    };
    let stop = || {
        let stop = interrupt::stop_requested();
        if stop && !interrupt::stop_now() {
            eprintln!("runner: interrupted; stopping after this repetition (Ctrl-C again to stop now)");
        }
        stop
    };
    let before = crate::session::resume::inputs(exp);
    let inputs = || match crate::session::resume::inputs_changed(&before, &crate::session::resume::inputs(exp)) {
        Some(what) => Err(what),
        None => Ok(()),
    };
    let guards = runloop::Guards {
        stop: &stop,
        inputs: &inputs,
    };
    let rows = runloop::run(&exp.images, todo, meta, reps, out, &mut on_progress, &guards);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    rows
}

/// The run's exit code, saying on stderr what it means: interrupted (with the command that
/// finishes the run), some tasks failed, or all went well.
fn exit_code(exp: &Experiment, dir: &Path, rows: &[RunRow], planned: usize) -> ExitCode {
    if interrupt::stop_requested() && rows.len() < planned {
        eprintln!(
            "runner: interrupted: {} of {planned} repetitions ran; every finished row is in {}.\n\
             runner: to run the rest: runner {} --resume {}",
            rows.len(),
            ResultsDir::at(dir).runs().display(),
            exp.file.display(),
            dir.display()
        );
        return ExitCode::Interrupted;
    }
    let failed: usize = rows.iter().map(|r| r.m.tasks_failed).sum();
    let rep_errors = rows.iter().filter(|r| r.m.error.is_some()).count();
    if failed > 0 || rep_errors > 0 {
        eprintln!(
            "runner: {failed} task(s) failed in {rep_errors} repetition(s); see {}",
            ResultsDir::at(dir).log().display()
        );
        return ExitCode::TasksFailed;
    }
    ExitCode::Ok
}

/// Runs each used workload's once-per-run preparation (its parts', for a composite), which may
/// replace its settings; returns what they recorded.
fn prepare(exp: &mut Experiment, args: &RunArgs, dir: &Path) -> Result<Prepared> {
    let env = PrepareEnv {
        results_dir: dir.to_path_buf(),
        ort_lib: args.ort_lib.clone(),
        search_roots: search_roots(&exp.file),
    };
    let mut parts: Vec<WorkloadKind> = Vec::new();
    for part in exp.axes.workload.iter().flat_map(|w| w.parts()) {
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    let mut all = Prepared::default();
    for part in parts {
        let p = part.get().prepare(&mut exp.settings, &env)?;
        all.found.add(p.found);
        if all.models.is_empty() {
            all.models = p.models;
        }
    }
    // The first interpreter as `python` (as before there were several), every one in order.
    let interpreters: Vec<PythonFound> = exp.python.iter().map(|p| python_facts(p)).collect::<Result<_>>()?;
    all.found.python = interpreters.first().cloned();
    all.found.interpreters = interpreters;
    Ok(all)
}

/// A Python executors' interpreter and the versions of what its pools may use (null where it
/// lacks one: validation has checked what its cells need), for env.json and the resume
/// fingerprint.
fn python_facts(python: &Path) -> Result<PythonFound> {
    // Its build too: a comparison across interpreters also compares how each was built.
    let probe = "import json, sys, sysconfig, multiprocessing\n\
                 v = sysconfig.get_config_var\nargs = v('CONFIG_ARGS') or ''\nflags = (v('PY_CFLAGS') or '') + ' ' + (v('PY_LDFLAGS') or '')\n\
                 out = {'version': sys.version.split()[0], 'implementation': sys.implementation.name,\n       \
                 'build': sys.version.split(None, 1)[1] if ' ' in sys.version else '', 'free_threaded': bool(v('Py_GIL_DISABLED')),\n       \
                 'config_args': args, 'pgo': '--enable-optimizations' in args, 'lto': '--with-lto' in args or '-flto' in flags,\n       \
                 'shared': bool(v('Py_ENABLE_SHARED')), 'start_method': multiprocessing.get_start_method()}\n\
                 for key, module in [('pillow', 'PIL'), ('numpy', 'numpy'), ('onnxruntime', 'onnxruntime')]:\n    \
                 try:\n        out[key] = __import__(module).__version__\n    except Exception:\n        out[key] = None\n\
                 print(json.dumps(out))";
    let out = std::process::Command::new(python)
        .args(["-c", probe])
        .output()
        .with_context(|| format!("cannot run the Python executors' interpreter {}", python.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(anyhow::anyhow!(
            "{} did not run: {}",
            python.display(),
            err.trim().lines().last().unwrap_or("")
        )
        .into());
    }
    let mut facts: PythonFound =
        serde_json::from_slice(&out.stdout).context("the Python probe printed no JSON of its facts")?;
    facts.path = python.to_path_buf();
    Ok(facts)
}

/// The report, computed once: the answer and table on the terminal, summary.md, the charts,
/// report.html and results.json; and a warning for noisy repetitions.
fn summarise(dir: &Path, exp: &Experiment, rows: &[RunRow]) {
    super::report::write(dir, &exp.name, rows);
    let leaked: usize = rows.iter().map(|r| r.m.leaked).sum();
    if leaked > 0 {
        eprintln!(
            "runner: warning: command tasks left {leaked} process(es) running after their program ended, beside the \
             measured work; each was killed, and run.log names it with its task (tasks.csv: leaked)",
        );
    }
    let noisy = rows.iter().filter(|r| r.m.noisy).count();
    if noisy > 0 {
        eprintln!(
            "runner: warning: in {noisy} repetition(s) other processes used more than {:.0} % of the machine (column other_cpu_s); \
             consider wait_for_idle_s or a quieter machine",
            NOISY_SHARE * 100.0
        );
    }
}

fn progress_bar(quiet: bool, total: usize) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} repetitions  eta {eta}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Some(bar)
}
