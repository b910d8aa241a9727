//! The matrix, part two, through the binary: zipped axes (weak scaling, hybrid shapes, unequal
//! lengths refused) and the question the answer states (`[answer] compare` and `reference`).

use crate::common;

use std::collections::BTreeSet;

use common::procs::assert_code;
use common::{experiment, read_csv, run_ok as run, runner};
use predicates::str::contains;

/// Runs `body` to success; returns the results root (kept alive) and the run's folder.
fn cells(dir: &std::path::Path) -> BTreeSet<String> {
    read_csv(&dir.join("runs.csv"))
        .into_iter()
        .map(|r| r["cell"].clone())
        .collect()
}

/// The answer's verdict lines of summary.md (not the group headings, the why lines or best).
fn verdict_lines(dir: &std::path::Path) -> Vec<String> {
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    let answer = summary.split("## The answer").nth(1).unwrap_or_default();
    let answer = answer.split("## The numbers").next().unwrap_or_default();
    answer
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("- sleep, "))
        .map(str::to_string)
        .collect()
}

#[test]
fn weak_scaling_by_zip_runs_one_cell_per_entry_and_says_the_work_grew() {
    let (_out, dir) = run(r#"name = "weak"
workload = "sleep"
executor = "thread"
zip = { workers = [1, 2, 4], sets = [8, 16, 32] }
repetitions = 3
warmup = 0
[sleep]
ms = 1
"#);
    assert_eq!(
        cells(&dir),
        BTreeSet::from(["sleep-thread-w1-s8", "sleep-thread-w2-s16", "sleep-thread-w4-s32"].map(String::from))
    );
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    let weak = summary
        .split("## Weak scaling")
        .nth(1)
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(weak.contains("The work grew with the workers"), "{weak}");
    for id in ["sleep-thread-w2-s16", "sleep-thread-w4-s32"] {
        let line = weak
            .lines()
            .find(|l| l.contains(id))
            .unwrap_or_else(|| panic!("{weak}"));
        assert!(line.contains(" ["), "an efficiency with its interval: {line}");
    }
    assert!(weak.contains("| sleep-thread-w1-s8 | 1 | 8 |"), "{weak}");
}

#[test]
fn a_hybrid_zip_gives_exactly_its_shapes_and_unequal_lengths_are_refused() {
    let (_d, file) = experiment(
        r#"name = "hz"
workload = "sleep"
executor = "hybrid"
zip = { processes = [1, 2, 4], threads = [4, 2, 1] }
sets = 2
"#,
    );
    let o = runner().arg("plan").arg(&file).output().unwrap();
    assert_code(&o, 0);
    let text = String::from_utf8_lossy(&o.stdout);
    let ids: BTreeSet<&str> = text
        .split_whitespace()
        .filter(|w| w.starts_with("sleep-hybrid-"))
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from(["sleep-hybrid-p1t4-s2", "sleep-hybrid-p2t2-s2", "sleep-hybrid-p4t1-s2"])
    );
    let (_d, file) = experiment(
        r#"name = "bad"
workload = "sleep"
executor = "thread"
zip = { workers = [1, 2, 4], sets = [8, 16] }
"#,
    );
    runner()
        .arg("validate")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(contains("key `zip.workers`: has 3 values and `sets` has 2"));
}

const POOLS: &str = r#"name = "ask"
workload = "sleep"
executor = ["thread", "process", "hybrid"]
workers = 2
processes = 1
threads = 2
sets = 2
repetitions = 3
warmup = 0
[sleep]
ms = 1
"#;

#[test]
fn the_answer_states_the_pairs_asked_or_every_pool_against_the_reference() {
    let pairs = |body: &str| -> Vec<(String, String)> {
        let (_out, dir) = run(body);
        let mut p: Vec<(String, String)> = verdict_lines(&dir)
            .iter()
            .map(|l| {
                let verdict = l.trim_start_matches("- sleep, 2 workers: ");
                let names: Vec<&str> = ["thread", "process", "hybrid 1x2"]
                    .into_iter()
                    .filter(|n| verdict.split(" (").next().unwrap_or_default().contains(n))
                    .collect();
                assert_eq!(names.len(), 2, "{l}");
                (names[0].to_string(), names[1].to_string())
            })
            .collect();
        p.sort();
        p
    };
    let p = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        pairs(POOLS),
        [
            p("process", "hybrid 1x2"),
            p("thread", "hybrid 1x2"),
            p("thread", "process")
        ]
    );
    assert_eq!(
        pairs(&format!("{POOLS}[answer]\ncompare = [[\"process\", \"thread\"]]\n")),
        [p("thread", "process")]
    );
    assert_eq!(
        pairs(&format!("{POOLS}[answer]\nreference = \"hybrid\"\n")),
        [p("process", "hybrid 1x2"), p("thread", "hybrid 1x2")]
    );
    let (_d, file) = experiment(&format!("{POOLS}[answer]\ncompare = [[\"thread\", \"py-process\"]]\n"));
    runner()
        .arg("validate")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(contains("`py-process` is not among this experiment's executors"));
}
