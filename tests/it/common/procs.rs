//! The process table, for the fault drills: which runner processes exist, with their parents
//! and states, and helpers to start and stop a run.

use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// These tests look at the process table: one at a time (each sees only its own runs, by
/// [`tag`], but their timings are tight). Taken through [`serial`].
static SERIAL: Mutex<()> = Mutex::new(());

/// One process-table test at a time. The machine is held shared first, as every runner does:
/// a test that holds it alone may take this too, so the two locks go in this order.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    super::share_machine();
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn bin() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_runner"))
}

/// The environment variable that marks the runner processes of one test (see [`tag`]).
pub const TAG: &str = "RUNNER_TEST_TAG";

/// This test's mark: every runner a test starts carries `RUNNER_TEST_TAG=<tag>` in its
/// environment, which its workers inherit, so the drills see (and signal) only their own
/// runs while other tests run beside them in this one binary. Each test has its own thread.
pub fn tag() -> String {
    format!("{}-{:?}", std::process::id(), std::thread::current().id())
}

/// (pid, ppid, state) of every process running the runner binary that this test started (by
/// [`tag`]), with their zombies (a zombie's environment is gone: it is this test's when its
/// parent is).
pub fn runner_processes() -> Vec<(i32, i32, char)> {
    let me = bin().canonicalize().unwrap();
    let mark = format!("{TAG}={}", tag());
    let mut ours = Vec::new();
    let mut zombies = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let exe = std::fs::read_link(e.path().join("exe")).ok();
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        // Zombies have no exe link; match them by name.
        let is_runner = exe.as_ref().is_some_and(|x| *x == me) || stat.contains("(runner)");
        if !is_runner {
            continue;
        }
        let after = stat
            .rsplit_once(')')
            .map(|(_, s)| s.trim().to_string())
            .unwrap_or_default();
        let mut f = after.split_whitespace();
        let state = f.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = f.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let environ = std::fs::read(e.path().join("environ")).unwrap_or_default();
        if environ.split(|b| *b == 0).any(|v| v == mark.as_bytes()) {
            ours.push((pid, ppid, state));
        } else if state == 'Z' {
            zombies.push((pid, ppid, state));
        }
    }
    let parents: Vec<i32> = ours.iter().map(|p| p.0).collect();
    ours.extend(zombies.into_iter().filter(|z| parents.contains(&z.1)));
    ours
}

pub fn assert_no_runner_left() {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = runner_processes();
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "runner processes left behind (pid, ppid, state): {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Worker processes: runner processes whose parent's parent is `top`.
pub fn workers_of(top: i32) -> Vec<i32> {
    let all = runner_processes();
    let reps: Vec<i32> = all.iter().filter(|p| p.1 == top).map(|p| p.0).collect();
    all.iter()
        .filter(|p| reps.contains(&p.1) && p.2 != 'Z')
        .map(|p| p.0)
        .collect()
}

pub fn assert_code(output: &std::process::Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The runner binary as a plain command, its timing-noise probe cut short.
pub fn command() -> Command {
    super::share_machine();
    let mut c = Command::new(bin());
    c.env("RUNNER_NOISE_PROBE_S", "0.1").env(TAG, tag());
    c
}

pub fn spawn(file: &std::path::Path, extra: &[&str]) -> Child {
    command()
        .arg(file)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits (polling every 10 ms) for `cond`, failing the test after `limit`: the condition itself,
/// never a sleep that stands in for it.
pub fn until(limit: Duration, what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The rows of runs.csv of the one run under `out` so far (none before it has any).
pub fn runs_in(out: &std::path::Path) -> Vec<super::Row> {
    let Ok(mut exp) = std::fs::read_dir(out) else {
        return Vec::new();
    };
    let Some(Ok(e)) = exp.next() else { return Vec::new() };
    let Some(Ok(run)) = std::fs::read_dir(e.path()).unwrap().next() else {
        return Vec::new();
    };
    let path = run.path().join("runs.csv");
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > 0) {
        super::read_csv(&path)
    } else {
        Vec::new()
    }
}

/// Whether process `pid` is asleep in a timed sleep (its task's `sleep` or `nanosleep`), as
/// /proc/PID/wchan says: it is inside a task, not between two.
pub fn sleeping(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/wchan")).is_ok_and(|w| w.contains("nanosleep"))
}

/// The children of process `pid`, by walking /proc.
pub fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
        if after.split_whitespace().nth(1).and_then(|p| p.parse::<i32>().ok()) == Some(pid) {
            out.push(child);
        }
    }
    out
}
