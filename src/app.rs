//! The commands: experiment file → plan → repetitions → results folder, and exit codes.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::cli::{CheckArgs, Cli, Command, RunArgs};
use crate::interrupt;
use crate::isolate::Forked;
use crate::measure::cores;
use crate::plan::{expand, tasks_per_repetition, Cell};
use crate::runner::{self, Progress};
use crate::sink::{drop_orphan_tasks, read_runs, CsvSink, RunMeta, RunRow};
use crate::spec::{Experiment, Overrides, SpecError};
use crate::summary::{summarize, table};
use crate::workload::{ort_lib, Context, ModelSource};

pub const EXIT_OK: i32 = 0;
pub const EXIT_ERROR: i32 = 1;
pub const EXIT_BAD_INPUT: i32 = 2;
pub const EXIT_TASKS_FAILED: i32 = 3;
pub const EXIT_REGRESSION: i32 = 4;
pub const EXIT_INTERRUPTED: i32 = 130;

/// A mistake in what the user asked for (exit 2), as opposed to a failure to carry it out.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

pub fn exit_code_of(e: &anyhow::Error) -> i32 {
    if e.downcast_ref::<SpecError>().is_some() || e.downcast_ref::<UsageError>().is_some() {
        EXIT_BAD_INPUT
    } else {
        EXIT_ERROR
    }
}

pub fn main(cli: Cli) -> Result<i32> {
    match cli.command {
        Some(Command::Run(args)) => run(args),
        Some(Command::Plan(args)) => plan(args),
        Some(Command::Validate(args)) => validate(args),
        Some(Command::Report { dir }) => {
            let title = dir
                .parent()
                .and_then(|p| p.file_name())
                .map_or("results".into(), |n| n.to_string_lossy().into_owned());
            for f in
                crate::report::write_report(&dir, &title).with_context(|| format!("reporting on {}", dir.display()))?
            {
                println!("{}", f.display());
            }
            Ok(EXIT_OK)
        }
        Some(Command::Compare { old, new, threshold }) => {
            let read = |d: &PathBuf| read_runs(d).with_context(|| format!("reading {}", d.display()));
            let changes = crate::report::compare(&read(&old)?, &read(&new)?);
            if changes.is_empty() {
                return Err(UsageError("the two results folders have no cell in common".into()).into());
            }
            print!("{}", crate::report::compare_markdown(&changes, threshold));
            let regressions = changes
                .iter()
                .filter(|c| crate::report::is_regression(c, threshold))
                .count();
            if regressions > 0 {
                eprintln!("runner: {regressions} cell(s) slower by more than {threshold} %");
                return Ok(EXIT_REGRESSION);
            }
            Ok(EXIT_OK)
        }
        None => run(cli.run),
    }
}

fn load(file: &Path, allow_large: bool) -> Result<(Experiment, Vec<Cell>)> {
    let exp = Experiment::load(file, &Overrides { allow_large })?;
    let cells = expand(&exp.axes, &exp.exclude);
    if cells.is_empty() {
        return Err(UsageError(format!(
            "{}: key `exclude`: every cell is excluded; nothing to run",
            exp.file.display()
        ))
        .into());
    }
    Ok((exp, cells))
}

fn validate(args: CheckArgs) -> Result<i32> {
    let (exp, cells) = load(&args.file, args.allow_large)?;
    println!(
        "{}: ok: {} cells x ({} warm-up + {} measured) repetitions",
        exp.file.display(),
        cells.len(),
        exp.warmup,
        exp.repetitions
    );
    Ok(EXIT_OK)
}

fn plan(args: CheckArgs) -> Result<i32> {
    let (exp, cells) = load(&args.file, args.allow_large)?;
    print!("{}", plan_table(&exp, &cells));
    Ok(EXIT_OK)
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
        let per = tasks_per_repetition(exp, c);
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

fn run(args: RunArgs) -> Result<i32> {
    let file = args
        .file
        .clone()
        .ok_or_else(|| UsageError("no experiment file given; try `runner experiments/smoke.toml`".into()))?;
    let (exp, cells) = load(&file, args.allow_large)?;
    let started = SystemTime::now();

    // Resuming: the same experiment (by hash), and only what runs.csv lacks.
    let previous = match &args.resume {
        Some(dir) => resume_state(&exp, dir, args.force)?,
        None => Vec::new(),
    };

    let loaded = if exp.needs_model() {
        Some(load_model(&exp, &args)?)
    } else {
        None
    };
    let mut model = loaded.as_ref().map(|l| l.model.clone());
    let ort = loaded.as_ref().map(|l| (l.found.clone(), l.version.clone()));

    let dir = match &args.resume {
        Some(dir) => dir.clone(),
        None => {
            let out_root = args.out.clone().unwrap_or_else(|| exp.output_dir.clone());
            unique_dir(&out_root.join(&exp.name), &timestamp(started))
        }
    };
    let mut sink =
        CsvSink::open(&dir).with_context(|| format!("cannot create the results folder {}", dir.display()))?;
    if args.resume.is_none() {
        std::fs::write(dir.join("experiment.toml"), &exp.text)
            .with_context(|| format!("cannot write into {}", dir.display()))?;
    }
    // Optimise the graph once for this run (in a throwaway child); workers then load it ready.
    let mut preoptimize_s = None;
    if let Some(m) = model.clone().filter(|_| exp.classify.preoptimize) {
        let path = dir.join("model.optimized.onnx");
        match crate::workload::preoptimize(&m.bytes, &path) {
            Ok(secs) => {
                preoptimize_s = Some(secs);
                model = Some(Arc::new(ModelSource {
                    optimized: Some(path),
                    ..(*m).clone()
                }));
            }
            Err(e) => eprintln!("runner: warning: could not pre-optimise the model ({e}); every session optimises it"),
        }
    }
    let env_json = |end: Option<SystemTime>| {
        crate::app::env_json(&exp, &args, ort.as_ref(), model.as_deref(), preoptimize_s, started, end)
    };
    std::fs::write(dir.join("env.json"), env_json(None))
        .with_context(|| format!("cannot write into {}", dir.display()))?;

    let base = Context {
        resize: exp.resize.clone(),
        classify: model.clone(),
        intra_op_threads: 1,
        spin_iterations: exp.spin_iterations,
        sleep: exp.sleep,
        alloc_bytes: exp.alloc_mib << 20,
        alloc_hold: exp.alloc_hold,
        max_pixels: exp.images.max_pixels,
        out_dir: None,
    };
    let mut reps = Forked {
        base,
        images_root: exp.resize.save.then(|| dir.join("images")),
        task_timeout: exp.task_timeout,
        repetition_timeout: exp.repetition_timeout,
        wait_for_idle: exp.wait_for_idle,
    };
    let meta = RunMeta {
        experiment: exp.name.clone(),
        seed: exp.seed,
        cores: cores(),
        model_sha256: model.as_ref().map(|m| m.sha256.clone()),
    };
    let done: HashSet<(String, bool, usize)> = previous.iter().map(|r| (r.cell.clone(), r.warmup, r.rep)).collect();
    let schedule: Vec<_> = runner::schedule(&exp, &cells)
        .into_iter()
        .filter(|(c, r)| !done.contains(&(c.id(), r.warmup, r.index)))
        .collect();
    let bar = progress_bar(args.quiet, schedule.len());
    let mut on_progress = |p: &Progress| {
        if let Some(bar) = &bar {
            bar.set_position(p.done as u64);
            let what = if p.rep.warmup { "warm-up" } else { "rep" };
            bar.set_message(format!("{} {what} {}", p.cell.id(), p.rep.index));
        }
    };
    interrupt::install();
    let stop = || {
        let stop = interrupt::stop_requested();
        if stop && !interrupt::stop_now() {
            eprintln!("runner: interrupted; stopping after this repetition (Ctrl-C again to stop now)");
        }
        stop
    };
    let new_rows = runner::run(&exp, &schedule, &meta, &mut reps, &mut sink, &mut on_progress, &stop)
        .with_context(|| format!("writing results to {}", dir.display()))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    std::fs::write(dir.join("env.json"), env_json(Some(SystemTime::now())))?;

    let rows: Vec<RunRow> = previous.into_iter().chain(new_rows).collect();
    print!("{}", table(&summarize(&rows)));
    let noisy = rows.iter().filter(|r| r.noisy).count();
    if noisy > 0 {
        eprintln!(
            "runner: warning: in {noisy} repetition(s) other processes used more than {:.0} % of the machine (column other_cpu_s); \
             consider wait_for_idle_s or a quieter machine",
            crate::sink::NOISY_SHARE * 100.0
        );
    }
    if let Err(e) = crate::report::write_report(&dir, &exp.name) {
        eprintln!("runner: warning: the report could not be written: {e:#}");
    }
    println!("results: {}", dir.display());
    if interrupt::stop_requested() {
        eprintln!(
            "runner: interrupted: {} of {} repetitions ran; every finished row is in {}.\n\
             runner: to run the rest: runner {} --resume {}",
            rows.len(),
            runner::schedule(&exp, &cells).len(),
            dir.join("runs.csv").display(),
            exp.file.display(),
            dir.display()
        );
        return Ok(EXIT_INTERRUPTED);
    }
    let failed: usize = rows.iter().map(|r| r.tasks_failed).sum();
    let rep_errors = rows.iter().filter(|r| r.error.is_some()).count();
    if failed > 0 || rep_errors > 0 {
        eprintln!(
            "runner: {failed} task(s) failed in {rep_errors} repetition(s); see {}",
            dir.join("run.log").display()
        );
        return Ok(EXIT_TASKS_FAILED);
    }
    Ok(EXIT_OK)
}

/// The rows a results folder already holds, after checking that it ran this same experiment.
fn resume_state(exp: &Experiment, dir: &Path, force: bool) -> Result<Vec<RunRow>> {
    let old = std::fs::read_to_string(dir.join("experiment.toml"))
        .map_err(|e| UsageError(format!("{}: not a results folder to resume ({e})", dir.display())))?;
    if crate::spec::hex(&Sha256::digest(old.as_bytes())) != exp.sha256 && !force {
        return Err(UsageError(format!(
            "{} has changed since {} was run (its SHA-256 differs); resuming would mix two experiments. \
             Pass --force to resume anyway.",
            exp.file.display(),
            dir.display()
        ))
        .into());
    }
    let rows = if dir.join("runs.csv").exists() {
        read_runs(dir)?
    } else {
        Vec::new()
    };
    let dropped = drop_orphan_tasks(dir, &rows)?;
    if dropped > 0 {
        eprintln!("runner: resume: dropped {dropped} task row(s) of a repetition that never finished");
    }
    Ok(rows)
}

/// The classifier as the orchestrator loaded it, and the ONNX Runtime library behind it.
struct Loaded {
    model: Arc<ModelSource>,
    found: ort_lib::Found,
    version: String,
}

/// Finds and loads ONNX Runtime and reads the model, once, in the orchestrator.
fn load_model(exp: &Experiment, args: &RunArgs) -> Result<Loaded> {
    let explicit = args.ort_lib.as_deref().or(exp.classify.ort_library.as_deref());
    let roots: Vec<PathBuf> = [
        exp.file.parent().map(Path::to_path_buf),
        std::env::current_exe().ok(),
        std::env::current_dir().ok(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let found = ort_lib::find(explicit, &roots).map_err(anyhow::Error::msg)?;
    let version = ort_lib::load(&found).map_err(anyhow::Error::msg)?;
    let s = &exp.classify;
    let bytes = std::fs::read(&s.model).with_context(|| format!("cannot read the model {}", s.model.display()))?;
    let labels = match &s.labels {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .with_context(|| format!("cannot read the labels {}", p.display()))?
                .lines()
                .map(|l| l.trim().to_string())
                .collect(),
        ),
        None => None,
    };
    let sha256 = crate::spec::hex(&Sha256::digest(&bytes));
    let model = Arc::new(ModelSource {
        settings: s.clone(),
        bytes,
        sha256,
        labels,
        optimized: None,
    });
    Ok(Loaded { model, found, version })
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

/// `base/stamp`, or `base/stamp-2`, … if that exists already.
fn unique_dir(base: &Path, stamp: &str) -> PathBuf {
    let mut dir = base.join(stamp);
    let mut n = 2;
    while dir.exists() {
        dir = base.join(format!("{stamp}-{n}"));
        n += 1;
    }
    dir
}

/// UTC time as `20261123T081500Z`.
pub fn timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn env_json(
    exp: &Experiment,
    args: &RunArgs,
    ort: Option<&(ort_lib::Found, String)>,
    model: Option<&ModelSource>,
    preoptimize_s: Option<f64>,
    start: SystemTime,
    end: Option<SystemTime>,
) -> String {
    let mut sys = sysinfo::System::new();
    sys.refresh_memory();
    sys.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
    let v = serde_json::json!({
        "runner_version": env!("CARGO_PKG_VERSION"),
        "git_commit": env!("RUNNER_GIT_COMMIT"),
        "command_line": std::env::args().collect::<Vec<_>>(),
        "experiment_file": exp.file,
        "experiment_sha256": exp.sha256,
        "experiment_text": exp.text,
        "seed": exp.seed,
        "start_utc": timestamp(start),
        "end_utc": end.map(timestamp),
        "cores": cores(),
        "cpu_model": sys.cpus().first().map(|c| c.brand().to_string()),
        "memory_total_bytes": sys.total_memory(),
        "os": sysinfo::System::long_os_version(),
        "kernel": sysinfo::System::kernel_version(),
        "ort_library": ort.map(|(f, _)| f.path.display().to_string()),
        "ort_library_found_by": ort.map(|(f, _)| f.how),
        "ort_version": ort.map(|(_, v)| v.clone()),
        "model": model.map(|m| m.settings.model.display().to_string()),
        "model_sha256": model.map(|m| m.sha256.clone()),
        "model_note": model.map(|_| "the default model has ResNet-18's architecture and cost but seeded random weights: its labels are meaningless"),
        "model_preoptimized": model.and_then(|m| m.optimized.as_ref()),
        "model_preoptimize_s": preoptimize_s,
        "quiet": args.quiet,
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_civil_dates() {
        assert_eq!(timestamp(UNIX_EPOCH), "19700101T000000Z");
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_795_420_815);
        assert_eq!(timestamp(t), "20261123T080015Z");
        let leap = UNIX_EPOCH + std::time::Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(timestamp(leap), "20000229T000000Z");
    }
}
