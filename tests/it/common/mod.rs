//! Helpers shared by the CLI tests: run the binary, read the CSVs it wrote.
#![allow(dead_code)]

pub mod procs;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Held shared by every test that starts a runner ([`runner`], [`procs::command`]), and
/// exclusively by [`alone`].
static MACHINE: RwLock<()> = RwLock::new(());

thread_local! {
    /// This test's shared hold, taken at its first runner and let go when its thread ends
    /// (each test has its own thread).
    static SHARED: RefCell<Option<RwLockReadGuard<'static, ()>>> = const { RefCell::new(None) };
    /// This thread holds the machine alone.
    static ALONE: Cell<bool> = const { Cell::new(false) };
}

/// Waits until no test holds the machine alone, then holds it shared for the rest of this
/// test: a test that measures never has another test's runs beside it.
pub fn share_machine() {
    if ALONE.get() {
        return;
    }
    SHARED.with(|s| {
        if s.borrow().is_none() {
            *s.borrow_mut() = Some(MACHINE.read().unwrap_or_else(|e| e.into_inner()));
        }
    });
}

/// The machine to this test alone, while the guard lives.
pub struct Alone(#[allow(dead_code)] RwLockWriteGuard<'static, ()>);

impl Drop for Alone {
    fn drop(&mut self) {
        ALONE.set(false);
    }
}

/// Taken by the tests that measure (CPU and memory against independent meters, verdicts on
/// timing) and by those that load both cores for minutes (building the wheel, `cargo install`):
/// the integration tests share one binary and run side by side, so it waits until every other
/// test that started a runner has ended, and holds new ones back at their first runner.
pub fn alone() -> Alone {
    SHARED.with(|s| s.borrow_mut().take());
    let guard = MACHINE.write().unwrap_or_else(|e| e.into_inner());
    ALONE.set(true);
    Alone(guard)
}

pub fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn runner() -> assert_cmd::Command {
    // stderr is a pipe here, so no progress bar is drawn; the noise probe is cut short.
    let mut c = assert_cmd::Command::cargo_bin("runner").unwrap();
    share_machine();
    c.env("RUNNER_NOISE_PROBE_S", "0.1").env(procs::TAG, procs::tag());
    c
}

/// The one results folder a run wrote under `out`.
pub fn results_dir(out: &Path) -> PathBuf {
    let exp: Vec<_> = std::fs::read_dir(out).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(exp.len(), 1, "one experiment folder: {exp:?}");
    let runs: Vec<_> = std::fs::read_dir(&exp[0]).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(runs.len(), 1, "one run folder: {runs:?}");
    runs[0].clone()
}

pub type Row = HashMap<String, String>;

pub fn read_csv(path: &Path) -> Vec<Row> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

pub fn num(row: &Row, key: &str) -> f64 {
    row[key]
        .parse()
        .unwrap_or_else(|_| panic!("{key} = {:?} is not a number", row[key]))
}

/// Writes an experiment into a temporary folder that mirrors the project (assets, models),
/// so `../assets/...` paths work; returns the folder and the file.
pub fn experiment(body: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("experiments")).unwrap();
    std::os::unix::fs::symlink(project().join("assets"), dir.path().join("assets")).unwrap();
    std::os::unix::fs::symlink(project().join("models"), dir.path().join("models")).unwrap();
    let file = dir.path().join("experiments/x.toml");
    std::fs::write(&file, body).unwrap();
    (dir, file)
}

/// Runs the experiment `body` (as [`experiment`] writes it) to success; returns the folder
/// holding the results (kept alive by the first) and the run's results folder.
pub fn run_ok(body: &str) -> (tempfile::TempDir, PathBuf) {
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = experiment(body);
    let run = runner().arg(&file).arg("--out").arg(out.path()).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let dir = results_dir(out.path());
    (out, dir)
}

/// The columns of runs.csv and tasks.csv that say what ran (not how long it took, nor where).
const RUN_KEYS: &[&str] = &[
    "experiment",
    "cell",
    "workload",
    "executor",
    "workers",
    "intra_op_threads",
    "sets",
    "rep",
    "warmup",
    "seed",
    "tasks",
    "tasks_ok",
    "tasks_failed",
    "resize_tasks_ok",
    "classify_tasks_ok",
    "cores",
    "oversubscribed",
    "model_sha256",
    "error",
];
const TASK_KEYS: &[&str] = &[
    "cell",
    "rep",
    "warmup",
    "task",
    "kind",
    "source",
    "image",
    "status",
    "top1",
    "top1_label",
    "error",
];

/// Asserts that two results folders hold the same rows, in the same order, in every column but
/// timing and node ones: the same (cell, repetition) pairs, draws, counts and outcomes.
pub fn assert_same_rows(a: &Path, b: &Path) {
    for (file, keys) in [("runs.csv", RUN_KEYS), ("tasks.csv", TASK_KEYS)] {
        let (x, y) = (read_csv(&a.join(file)), read_csv(&b.join(file)));
        assert_eq!(x.len(), y.len(), "{file}: {} vs {} rows", a.display(), b.display());
        for (i, (r, s)) in x.iter().zip(&y).enumerate() {
            for k in keys {
                assert_eq!(
                    r.get(*k),
                    s.get(*k),
                    "{file} row {i}, column {k}: {} vs {}",
                    a.display(),
                    b.display()
                );
            }
        }
    }
}

/// A file the set-up makes (an interpreter, a venv), or `None` when it is missing outside CI,
/// after saying why the test skips. Under CI (`CI` set to anything) a missing one fails the
/// test with that reason: nothing skips there.
pub fn needs(relative: &str, how: &str) -> Option<PathBuf> {
    let p = project().join(relative);
    if p.exists() {
        return Some(p);
    }
    skip(&format!("no {relative} ({how})"));
    None
}

/// The one CI guard: a test that cannot run here (a tool or interpreter missing) says why and
/// the caller returns; under CI (`CI` set to anything non-empty; `.ci/run` exports `CI=true`)
/// the same reason fails the test instead, so nothing skips there.
pub fn skip(why: &str) {
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{why}; under CI nothing skips (scripts/test installs it)");
    }
    eprintln!("SKIPPED: {why}");
}

/// The free-threaded venv and the GIL build's venv of the same source, from
/// `scripts/setup --free-threaded`.
pub fn free_threaded() -> Option<(PathBuf, PathBuf)> {
    let how = "`scripts/setup --free-threaded` builds CPython 3.13.5 from Debian's source";
    Some((
        needs(".deps/venv313t/bin/python", how)?,
        needs(".deps/venv313s/bin/python", how)?,
    ))
}
