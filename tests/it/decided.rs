//! Known answers, decided in paired rounds until decided: pure waiting is the same on threads
//! and processes (`≈`, never `faster than`), and pure-Python spinning is faster on processes
//! than on threads (the GIL). Verdict words and env.json's `stopped` are what scripts read.

use crate::common;

use common::*;

fn decided(body: &str) -> (String, serde_json::Value, Vec<Row>) {
    let (_out, dir) = run_ok(body);
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    let env: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("env.json")).unwrap()).unwrap();
    (summary, env, read_csv(&dir.join("runs.csv")))
}

#[test]
fn waiting_is_the_same_on_threads_and_processes() {
    let _alone = alone();
    // Tasks long against the pools' own costs (forking two workers is about 1 % of 80 ms, a
    // real difference a noisy early look could call), and four a worker, so the interval is
    // narrow and settles inside ±5 % rather than on a true 1.01x.
    let (summary, env, runs) = decided(
        r#"name = "wait"
workload = "sleep"
executor = ["sequential", "thread", "process"]
workers = 2
sets = 8
repetitions = { min = 6, max = 30, until = "decided", time_budget_s = 120 }
warmup = 1
[sleep]
ms = 100
"#,
    );
    let line = summary
        .lines()
        .find(|l| l.contains("thread") && l.contains("process") && l.starts_with("- sleep"))
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(!line.contains("faster than"), "{line}");
    assert!(line.contains("thread ≈ process (within ±5 %"), "{line}");
    assert_eq!(env["stopped"], "decided", "{line}");
    // Rounds recorded; the rounds ended at a planned look.
    let looks: Vec<u64> = serde_json::from_value(env["looks"].clone()).unwrap();
    let rounds = runs
        .iter()
        .filter(|r| r["executor"] == "thread" && r["warmup"] == "false")
        .count();
    assert!(looks.contains(&(rounds as u64)), "{rounds} rounds, looks {looks:?}");
    assert!(runs.iter().all(|r| r["warmup"] == "true" || !r["round"].is_empty()));
    // Every row carries the tree's contention counters: waiting tasks switch voluntarily, and
    // every repetition faults pages in.
    for r in &runs {
        assert!(
            num(r, "nvcsw") >= 12.0 && num(r, "minflt") > 0.0,
            "{} {} {}",
            r["cell"],
            r["nvcsw"],
            r["minflt"]
        );
    }
}

#[test]
fn python_spinning_is_faster_on_processes_than_on_threads() {
    let _alone = alone();
    let (summary, env, _) = decided(
        r#"name = "gil"
workload = "spin"
executor = ["py-sequential", "py-thread", "py-process"]
workers = 2
sets = 4
repetitions = { min = 6, max = 30, until = "decided", time_budget_s = 120 }
warmup = 1
[spin]
iterations = 60000
"#,
    );
    let line = summary
        .lines()
        .find(|l| l.starts_with("- spin") && l.contains("py-thread"))
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(line.contains("py-process faster than py-thread ("), "{line}");
    // A decided verdict says why, in parts that add up (or says they do not).
    let why = summary.lines().skip_while(|l| *l != line).nth(1).unwrap_or_default();
    assert!(why.trim_start().starts_with("- why: py-thread takes "), "{why}");
    assert_eq!(env["stopped"], "decided", "{line}");
}

/// A run until decided, interrupted by Ctrl-C in its third round and resumed: it finishes
/// with every repetition once, and env.json and the summary say why it stopped at the end, not
/// that it was interrupted; the resumed looks are the planned ones.
#[test]
fn an_interrupted_run_until_decided_resumed_says_why_it_stopped_at_the_end() {
    use nix::sys::signal::{kill, Signal};
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = experiment(&format!(
        r#"name = "resumed"
workload = "sleep"
executor = ["thread", "process"]
workers = 2
sets = 2
repetitions = {{ min = 6, max = 10, until = "decided" }}
warmup = 0
[sleep]
ms = 30
[output]
dir = {:?}
"#,
        out.path()
    ));
    let child = common::procs::spawn(&file, &[]);
    let runs = |dir: &std::path::Path| {
        let p = dir.join("runs.csv");
        if std::fs::metadata(&p).is_ok_and(|m| m.len() > 0) {
            read_csv(&p)
        } else {
            Vec::new()
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let dir = loop {
        let found = std::fs::read_dir(out.path().join("resumed"))
            .ok()
            .and_then(|mut d| d.next());
        if let Some(Ok(e)) = found {
            // Two rounds of both cells written: the third has begun.
            if runs(&e.path()).len() >= 4 {
                break e.path();
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run never reached its third round"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    kill(nix::unistd::Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let first = child.wait_with_output().unwrap();
    assert_eq!(
        first.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let env = |dir: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("env.json")).unwrap()).unwrap()
    };
    assert_eq!(env(&dir)["stopped"], "interrupted");
    let cut = runs(&dir).len();
    assert!(
        (4..12).contains(&cut),
        "interrupted within the first six rounds: {cut} rows"
    );

    let resumed = runner().arg(&file).arg("--resume").arg(&dir).output().unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let rows = runs(&dir);
    let mut seen = std::collections::BTreeSet::new();
    for r in &rows {
        assert!(
            seen.insert((r["cell"].clone(), r["rep"].clone())),
            "a repetition twice: {r:?}"
        );
        assert_eq!(r["round"], r["rep"], "{r:?}");
    }
    let rounds = rows.len() / 2;
    let env = env(&dir);
    let stopped = env["stopped"].as_str().unwrap();
    assert!(matches!(stopped, "decided" | "max repetitions"), "{env}");
    let looks: Vec<usize> = serde_json::from_value(env["looks"].clone()).unwrap();
    assert!(
        looks.contains(&rounds),
        "the run ended at a planned look: {rounds} of {looks:?}"
    );
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(summary.contains("Rounds until decided: the run stopped "), "{summary}");
    assert!(!summary.contains("interrupted"), "{summary}");
}
