//! Shards and merge without a cluster: `runner FILE --shard I/N` slices, `runner merge` puts the
//! slices back together into exactly the rows a single-machine run writes, and refuses folders
//! that do not make a whole run.

use crate::common;

use std::path::{Path, PathBuf};

use common::procs::assert_code;
use common::{assert_same_rows, experiment, read_csv, runner};
use predicates::str::contains;

const BODY: &str = r#"name = "sh"
workload = ["resize", "spin"]
executor = ["sequential", "thread", "process"]
workers = 2
sets = 1
repetitions = 2
warmup = 1
order = "random"
seed = 11
[spin]
iterations = 100000
[resize]
targets = ["64x64"]
save = false
"#;

fn run_into(file: &Path, dir: &Path, extra: &[&str]) {
    runner()
        .arg("run")
        .arg(file)
        .arg("-q")
        .args(extra)
        .arg("--into")
        .arg(dir)
        .assert()
        .success();
}

fn merge(out: &Path, dirs: &[PathBuf]) -> std::process::Output {
    runner().arg("merge").arg(out).args(dirs).output().unwrap()
}

#[test]
fn merged_shards_hold_the_rows_of_a_single_run_in_its_order() {
    let (d, file) = experiment(BODY);
    let single = d.path().join("single");
    run_into(&file, &single, &[]);
    for (split, n) in [("cells", 3), ("repetitions", 2)] {
        let dirs: Vec<PathBuf> = (1..=n).map(|i| d.path().join(format!("{split}-{i}"))).collect();
        for (i, dir) in dirs.iter().enumerate() {
            run_into(&file, dir, &["--shard", &format!("{}/{n}", i + 1), "--split", split]);
            let env: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("env.json")).unwrap()).unwrap();
            assert_eq!(env["shard"]["index"], i + 1);
            assert!(read_csv(&dir.join("runs.csv"))
                .iter()
                .all(|r| r["shard"] == format!("{}/{n}", i + 1)));
        }
        // Disjoint, and each a proper slice.
        let sizes: Vec<usize> = dirs.iter().map(|d| read_csv(&d.join("runs.csv")).len()).collect();
        assert_eq!(sizes.iter().sum::<usize>(), 6 * 3, "{split}: {sizes:?}");
        assert!(sizes.iter().all(|&s| s > 0 && s < 18), "{split}: {sizes:?}");
        if split == "cells" {
            for dir in &dirs {
                let rows = read_csv(&dir.join("runs.csv"));
                let cells: std::collections::HashSet<&str> = rows.iter().map(|r| r["cell"].as_str()).collect();
                assert_eq!(rows.len(), cells.len() * 3, "every repetition of a cell on one shard");
            }
        }
        // Given in any order.
        let out = d.path().join(format!("merged-{split}"));
        let mut given = dirs.clone();
        given.reverse();
        let o = merge(&out, &given);
        assert_code(&o, 0);
        assert_same_rows(&out, &single);
        for f in [
            "summary.md",
            "report.html",
            "env.json",
            "env-shard-1.json",
            "experiment.toml",
        ] {
            assert!(out.join(f).exists(), "{f}");
        }
        let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
        assert!(
            summary.contains("## The answer") && !summary.contains("## Hardware"),
            "{summary}"
        );
        let env: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("env.json")).unwrap()).unwrap();
        assert_eq!(env["shards"].as_array().unwrap().len(), n);
    }
}

#[test]
fn merge_refuses_folders_that_do_not_make_one_whole_run() {
    let (d, file) = experiment(BODY);
    let p = |name: &str| d.path().join(name);
    run_into(&file, &p("s1"), &["--shard", "1/2"]);
    run_into(&file, &p("s2"), &["--shard", "2/2"]);
    run_into(&file, &p("whole"), &[]);
    let (_e, other) = experiment(&BODY.replace("seed = 11", "seed = 12"));
    run_into(&other, &p("other2"), &["--shard", "2/2"]);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["s1"], "missing shard(s) 2/2"),
        (vec!["s1", "s1"], "shard 1/2 appears twice"),
        (vec!["s1", "whole"], "not a shard"),
        (vec!["s1", "other2"], "ran different experiments"),
        (vec!["s1", "nowhere"], "no such results folder"),
    ];
    for (dirs, says) in cases {
        let dirs: Vec<PathBuf> = dirs.iter().map(|x| p(x)).collect();
        let o = merge(&p("m"), &dirs);
        assert_code(&o, 2);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{dirs:?}: {err}");
        assert!(!p("m").exists(), "nothing written for {dirs:?}");
    }

    // A shard cut short: named with the command that finishes it; that command resumes it as
    // the same shard, and the merge then succeeds.
    let runs = std::fs::read_to_string(p("s2").join("runs.csv")).unwrap();
    let kept: Vec<&str> = runs.lines().take(3).collect();
    std::fs::write(p("s2").join("runs.csv"), kept.join("\n") + "\n").unwrap();
    let o = merge(&p("m"), &[p("s1"), p("s2")]);
    assert_code(&o, 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("shard 2/2") && err.contains(&format!("--resume {}", p("s2").display())),
        "{err}"
    );
    runner()
        .arg(&file)
        .args(["-q", "--shard", "1/2", "--resume"])
        .arg(p("s2"))
        .assert()
        .code(2)
        .stderr(contains("was run as shard 2/2"));
    runner()
        .arg(&file)
        .arg("-q")
        .arg("--resume")
        .arg(p("s2"))
        .assert()
        .success();
    assert_code(&merge(&p("m"), &[p("s1"), p("s2")]), 0);
    assert_same_rows(&p("m"), &p("whole"));

    // --into never writes over results.
    runner()
        .arg(&file)
        .arg("--into")
        .arg(p("s1"))
        .assert()
        .code(2)
        .stderr(contains("not empty"));
}

#[test]
fn shards_that_repeat_until_decided_merge_with_the_rounds_each_added() {
    // Two rounds decide nothing, so each shard adds rounds of its own cells up to four.
    let (d, file) = experiment(
        r#"name = "ud"
workload = "sleep"
executor = ["sequential", "thread", "process"]
workers = 2
sets = 1
repetitions = { min = 2, max = 4, until = "decided" }
warmup = 0
[sleep]
ms = 2
"#,
    );
    let dirs: Vec<PathBuf> = (1..=2).map(|i| d.path().join(format!("s{i}"))).collect();
    for (i, dir) in dirs.iter().enumerate() {
        run_into(&file, dir, &["--shard", &format!("{}/2", i + 1)]);
    }
    let count: usize = dirs.iter().map(|d| read_csv(&d.join("runs.csv")).len()).sum();
    let out = d.path().join("m");
    let o = merge(&out, &dirs);
    assert_code(&o, 0);
    let rows = read_csv(&out.join("runs.csv"));
    assert_eq!(rows.len(), count);
    assert!(
        rows.iter().any(|r| r["rep"].parse::<usize>().unwrap() >= 2),
        "no added round: {rows:?}"
    );
    // Dealing repetitions out would let every shard add rounds of every cell: refused.
    let o = runner()
        .arg("run")
        .arg(&file)
        .args(["-q", "--shard", "1/2", "--split", "repetitions", "--into"])
        .arg(d.path().join("r"))
        .output()
        .unwrap();
    assert_code(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("use --split cells"));
}

#[test]
fn plan_shows_which_shard_runs_each_cell() {
    let (_d, file) = experiment(BODY);
    let out = runner()
        .arg("plan")
        .arg(&file)
        .args(["--shards", "2"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 shards, split by cells"), "{text}");
    for cell in ["resize-sequential-w1-s1", "spin-process-w2-s1"] {
        let line = text
            .lines()
            .find(|l| l.trim_end().ends_with(cell) && l.trim_start().starts_with(['1', '2']));
        assert!(line.is_some(), "{cell} assigned: {text}");
    }
}
