//! Known answers, decided in paired rounds until decided: pure waiting is the same on threads
//! and processes (`≈`, never `faster than`), and pure-Python spinning is faster on processes
//! than on threads (the GIL). Verdict words and env.json's `stopped` are what scripts read.

mod common;

use common::*;

fn decided(body: &str) -> (String, serde_json::Value, Vec<Row>) {
    let (_out, dir) = run_ok(body);
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    let env: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("env.json")).unwrap()).unwrap();
    (summary, env, read_csv(&dir.join("runs.csv")))
}

#[test]
fn waiting_is_the_same_on_threads_and_processes() {
    let (summary, env, runs) = decided(
        "name = \"wait\"\nworkload = \"sleep\"\nexecutor = [\"sequential\", \"thread\", \"process\"]\nworkers = 2\n\
         sets = 4\nrepetitions = { min = 6, max = 30, until = \"decided\", time_budget_s = 120 }\nwarmup = 1\n\
         [sleep]\nms = 40\n",
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
    let (summary, env, _) = decided(
        "name = \"gil\"\nworkload = \"spin\"\nexecutor = [\"py-sequential\", \"py-thread\", \"py-process\"]\n\
         workers = 2\nsets = 4\nrepetitions = { min = 6, max = 30, until = \"decided\", time_budget_s = 120 }\n\
         warmup = 1\n[spin]\niterations = 60000\n",
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
