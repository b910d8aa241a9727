//! Python's pools as executors (python/pools.py under the set-up's venv): the same draws as the
//! runner's own pools, the same top-1 on every classify task, every task run once, the tree
//! measured, and nothing left behind. They run for real: `scripts/test` runs `scripts/setup`.

use crate::common;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Mutex;

use common::*;
use sha2::{Digest, Sha256};

/// The drills look at the process table: one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn venv_python() -> std::path::PathBuf {
    let p = project().join(".deps/venv/bin/python");
    assert!(p.is_file(), "run scripts/setup first");
    p
}

/// The interpreter and every process it started for a run in `dir`, whatever their command
/// line (spawn's workers, the resource tracker, the forkserver): the runner marks them all in
/// their environment.
fn pythons_in(dir: &std::path::Path) -> Vec<String> {
    let marker = format!("RUNNER_PYTHON_MODULE={}", dir.join("pools.py").display());
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let env = std::fs::read(e.path().join("environ")).unwrap_or_default();
        if env.split(|&b| b == 0).any(|v| v == marker.as_bytes()) {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            out.push(format!(
                "{}: {}",
                e.file_name().to_string_lossy(),
                String::from_utf8_lossy(&cmd).replace('\0', " ")
            ));
        }
    }
    out
}

#[test]
fn python_draws_the_same_noise_as_rust() {
    for (seed, w, h) in [(0xb2fb_0d32_1234_5678u64, 1024, 1024), (7, 33, 17), (u64::MAX, 5, 3)] {
        let rust = runner::spec::hex(&Sha256::digest(runner::workload::noise_pixels(seed, w, h)));
        let code = format!(
            "import sys, hashlib; sys.path.insert(0, 'python'); import pools; \
             print(hashlib.sha256(pools.noise_pixels({seed}, {w}, {h})).hexdigest())"
        );
        let out = Command::new(venv_python())
            .args(["-c", &code])
            .current_dir(project())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), rust, "seed {seed} {w}x{h}");
    }
}

/// On the same draws every Python pool (each start method) and every Rust pool classify each
/// task to the same top-1, with probabilities within 1e-3; every task runs once; the rows carry
/// the interpreter's start-up, the pool's workers and their memory; nothing is left running.
#[test]
fn python_pools_agree_with_rust_on_every_task() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = experiment(&format!(
        r#"name = "py"
workload = ["classify", "mixed"]
executor = ["sequential", "process", "py-sequential", "py-thread", "py-process"]
py_start_method = ["fork", "spawn", "forkserver"]
workers = 2
sets = 2
repetitions = 1
warmup = 0
seed = 11
[output]
dir = "{}"
"#,
        out.path().display()
    ));
    runner().arg(&file).assert().success();
    let dir = results_dir(out.path());
    assert!(pythons_in(&dir).is_empty(), "left running: {:?}", pythons_in(&dir));
    let runs = read_csv(&dir.join("runs.csv"));
    assert_eq!(
        runs.len(),
        2 * 7,
        "2 workloads x (2 Rust + py-sequential + py-thread + 3 py-process)"
    );
    for r in &runs {
        assert_eq!(num(r, "tasks_ok"), num(r, "tasks"), "{r:?}");
        let python = r["executor"].starts_with("py-");
        assert_eq!(num(r, "interpreter_s") > 0.0, python, "{r:?}");
        if r["executor"] == "py-process" {
            assert_eq!(num(r, "workers_started"), 2.0, "{r:?}");
            assert!(num(r, "worker_pss_mib") > 10.0, "{r:?}");
            assert!(!r["start_method"].is_empty());
        }
        if python {
            // A state (an ORT session) per worker, built in the pool's start.
            let workers = if r["executor"] == "py-sequential" { 1.0 } else { 2.0 };
            assert_eq!(num(r, "sessions"), workers, "{r:?}");
            assert!(num(r, "session_s") > 0.0 && num(r, "pool_start_s") >= num(r, "session_s"));
            assert!(
                num(r, "user_s") > num(r, "interpreter_s") * 0.5,
                "the interpreter's CPU is counted: {r:?}"
            );
        }
    }
    let tasks = read_csv(&dir.join("tasks.csv"));
    type Key = (String, String, String);
    let mut by_task: BTreeMap<Key, Vec<(String, String, f64)>> = BTreeMap::new();
    for t in &tasks {
        assert_eq!(t["status"], "ok", "{t:?}");
        if t["kind"] != "classify" {
            continue;
        }
        let workload = t["cell"].split('-').next().unwrap().to_string();
        by_task
            .entry((workload, t["rep"].clone(), t["task"].clone()))
            .or_default()
            .push((t["cell"].clone(), t["top1"].clone(), num(t, "top1_prob")));
    }
    assert_eq!(by_task.len(), 6 + 6, "classify and mixed: 2 sets x 3 images each");
    for (key, results) in &by_task {
        assert_eq!(results.len(), 7, "{key:?}: one result per executor");
        let (_, top1, prob) = &results[0];
        for (cell, t, p) in results {
            assert_eq!(t, top1, "{key:?}: {cell} {results:?}");
            assert!((p - prob).abs() <= 1e-3, "{key:?}: {cell} {p} vs {prob}");
        }
    }
}

/// A Python task that outlives the task timeout ends its repetition as a failed row, and the
/// interpreter and every one of its workers are gone.
#[test]
fn a_stuck_python_pool_is_killed_whole() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = experiment(&format!(
        r#"name = "stuck"
workload = "sleep"
executor = "py-process"
workers = 2
sets = 2
repetitions = 1
warmup = 0
[sleep]
ms = 20000
[limits]
task_timeout_s = 1
[output]
dir = "{}"
"#,
        out.path().display()
    ));
    // The clock starts once this test has its share of the machine (a test holding it alone
    // can take longer than the window below).
    common::share_machine();
    let start = std::time::Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_runner"))
        .env(common::procs::TAG, common::procs::tag())
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // While it runs, the interpreter and its two workers are there to be seen...
    let mut seen = 0;
    while start.elapsed().as_secs() < 10 && seen < 3 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        if let Some(Ok(d)) = std::fs::read_dir(out.path().join("stuck"))
            .ok()
            .and_then(|mut d| d.next())
        {
            seen = pythons_in(&d.path()).len();
        }
    }
    assert!(seen >= 3, "the interpreter and 2 workers: saw {seen}");
    let output = child.wait_with_output().unwrap();
    assert!(
        start.elapsed().as_secs() < 15,
        "the watchdog stopped it: {:?}",
        start.elapsed()
    );
    assert_code(&output, 3);
    // ... and after it, none of them.
    let dir = results_dir(out.path());
    assert!(pythons_in(&dir).is_empty(), "left running: {:?}", pythons_in(&dir));
    let runs = read_csv(&dir.join("runs.csv"));
    assert_eq!(runs.len(), 1);
    assert!(
        runs[0]["error"].contains("timeout") || runs[0]["error"].contains("timed out"),
        "{:?}",
        runs[0]
    );
}

fn assert_code(output: &std::process::Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// With a task timeout, records stream during the task phase (so the watchdog sees each task
/// end): a healthy pool runs to the end, every task once.
#[test]
fn a_watched_python_pool_runs_whole() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = experiment(&format!(
        r#"name = "watched"
workload = ["sleep", "resize"]
executor = ["py-thread", "py-process"]
workers = 2
sets = 3
repetitions = 1
warmup = 0
[sleep]
ms = 10
[limits]
task_timeout_s = 60
[output]
dir = "{}"
"#,
        out.path().display()
    ));
    runner().arg(&file).assert().success();
    let dir = results_dir(out.path());
    let tasks = read_csv(&dir.join("tasks.csv"));
    let mut seen = std::collections::BTreeSet::new();
    for t in &tasks {
        assert_eq!(t["status"], "ok", "{t:?}");
        assert!(seen.insert((t["cell"].clone(), t["task"].clone())), "twice: {t:?}");
    }
    assert_eq!(seen.len(), 4 * 9, "4 cells x 3 sets x 3 tasks");
    // The resized outputs are named as the runner's own pools name them.
    let names = |cell: &str| -> std::collections::BTreeSet<String> {
        std::fs::read_dir(dir.join("images").join(cell))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names("resize-py-thread-w2-s3").len(), 9 * 2, "two targets per image");
    assert!(names("resize-py-thread-w2-s3")
        .iter()
        .all(|n| n.ends_with("-224x224.jpg") || n.ends_with("-50pct.jpg")));
}

/// What Python's pools cannot do is refused before anything runs, naming the key.
#[test]
fn python_pools_refuse_the_mitchell_filter() {
    let (_d, file) = experiment(
        r#"name = "m"
workload = "resize"
executor = ["thread", "py-thread"]
[resize]
filter = "mitchell"
"#,
    );
    let out = runner().arg("validate").arg(&file).output().unwrap();
    assert_code(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("resize.filter") && err.contains("Mitchell"), "{err}");
}

/// Pinning applies to Python's pools too: each thread and each worker process on one core of
/// the runner's mask, recorded per task.
#[test]
fn python_pools_pin_their_workers() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = experiment(&format!(
        r#"name = "pin"
workload = "sleep"
executor = ["py-thread", "py-process"]
workers = 2
pinning = "cores"
sets = 2
repetitions = 1
warmup = 0
[sleep]
ms = 10
[output]
dir = "{}"
"#,
        out.path().display()
    ));
    runner().arg(&file).assert().success();
    let tasks = read_csv(&results_dir(out.path()).join("tasks.csv"));
    assert_eq!(tasks.len(), 2 * 6);
    // One core per worker, and the two workers of a pool on different cores (pinned in
    // turn over the runner's mask; every worker on core 0 would not be pinning).
    let cores = std::thread::available_parallelism().unwrap().get();
    for pool in ["py-thread", "py-process"] {
        let mut by_worker: std::collections::BTreeMap<String, std::collections::BTreeSet<usize>> = Default::default();
        for t in tasks.iter().filter(|t| t["cell"].contains(pool)) {
            let core: usize = t["cpus"]
                .parse()
                .unwrap_or_else(|_| panic!("one core per worker: {t:?}"));
            by_worker.entry(t["worker"].clone()).or_default().insert(core);
        }
        assert!(
            by_worker.values().all(|c| c.len() == 1),
            "{pool}: a worker stays on its core: {by_worker:?}"
        );
        let used: std::collections::BTreeSet<usize> = by_worker.values().flatten().copied().collect();
        if cores >= 2 && by_worker.len() >= 2 {
            assert_eq!(used.len(), 2, "{pool}: two workers on two cores: {by_worker:?}");
        }
    }
}
