//! Free-threaded Python (`scripts/setup --free-threaded`: CPython 3.13.5 from Debian's source,
//! built with and without the GIL): the `gil` axis as every worker reads it, the verdicts across
//! interpreters, the same outputs and top-1 on the free-threaded build's threads, and the
//! refusals. Outside CI, without the builds, each test says why and skips.

use crate::common;

use std::collections::BTreeMap;

use common::*;
use sha2::{Digest, Sha256};

/// The two interpreters, the GIL off and on for the free-threaded one (off is refused for the
/// build with the GIL: excluded).
fn runtimes(ft: &std::path::Path, gil: &std::path::Path) -> String {
    format!(
        r#"interpreter = [{gil:?}, {ft:?}]
gil = ["off", "on"]
[[exclude]]
interpreter = {gil:?}
gil = "off"
"#
    )
}

#[test]
fn every_rows_gil_is_what_its_cell_asked_and_the_answer_compares_across_interpreters() {
    let Some((ft, gil)) = free_threaded() else { return };
    let (_out, dir) = run_ok(&format!(
        r#"name = "ft"
workload = "spin"
executor = ["py-sequential", "py-thread", "py-process"]
workers = [1, 2]
sets = 2
repetitions = 2
warmup = 0
{}[spin]
iterations = 20000
"#,
        runtimes(&ft, &gil)
    ));
    let runs = read_csv(&dir.join("runs.csv"));
    assert_eq!(
        runs.len(),
        2 * 3 * 5,
        "3 runtimes x (loop + 2 pools x 2 workers), 2 repetitions"
    );
    for r in &runs {
        let free = r["python"] == "venv313t/bin/python";
        let want = match (free, r["python_gil"].as_str()) {
            (true, "off") => "disabled",
            (_, "on") => "enabled",
            other => panic!("no such cell: {other:?}"),
        };
        assert_eq!(r["gil"], want, "{r:?}");
        assert_eq!(r["free_threaded"], free.to_string(), "{r:?}");
        assert_eq!(r["python_version"], "3.13.5", "{r:?}");
        assert_eq!(num(r, "tasks_ok"), 6.0, "{r:?}");
        if r["executor"] == "py-process" {
            // `auto`: what 3.13's multiprocessing uses on Linux.
            assert_eq!(
                (r["py_start_method"].as_str(), r["start_method"].as_str()),
                ("auto", "fork")
            );
        }
    }
    let ids: Vec<&str> = runs.iter().map(|r| r["cell"].as_str()).collect();
    assert!(ids.contains(&"spin-py-thread-w2-py2-giloff-s2") && ids.contains(&"spin-py-thread-w2-gilon-s2"));
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    for words in [
        "- Across interpreters and GIL settings: the same pool:",
        "- Across interpreters and GIL settings: each one's best pool:",
        "- Across interpreters and GIL settings: one thread (py-sequential), the build's own price:",
        "py-thread on 3.13.5t (GIL off)",
        "py-thread on 3.13.5 (GIL)",
        "py-sequential on 3.13.5t (GIL on)",
        "spin, 2 workers, on 3.13.5t (GIL off): ",
    ] {
        assert!(summary.contains(words), "{words}: {summary}");
    }
    assert!(
        !summary.contains("venv313t/bin/python"),
        "the words name the interpreter by version and GIL"
    );
    let env = std::fs::read_to_string(dir.join("env.json")).unwrap();
    let env: serde_json::Value = serde_json::from_str(&env).unwrap();
    let builds = env["interpreters"].as_array().unwrap();
    assert_eq!(builds.len(), 2);
    assert_eq!(builds[0]["free_threaded"], false);
    assert_eq!(builds[1]["free_threaded"], true);
    assert!(
        builds[1]["config_args"].as_str().unwrap().contains("--disable-gil"),
        "{env}"
    );
    assert_eq!(builds[1]["pgo"], false);
}

/// resize and classify on the free-threaded build's threads, the GIL off, against the GIL
/// build's threads: the same output files, byte for byte, and the same top-1 on every task.
#[test]
fn resize_and_classify_on_free_threaded_threads_give_what_the_gil_build_gives() {
    let Some((ft, gil)) = free_threaded() else { return };
    let (_out, dir) = run_ok(&format!(
        r#"name = "ftout"
workload = ["resize", "classify"]
executor = "py-thread"
workers = 2
sets = 2
repetitions = 1
warmup = 0
seed = 5
interpreter = [{gil:?}, {ft:?}]
gil = ["off", "on"]
[resize]
targets = ["224x224", "25%"]
[[exclude]]
interpreter = {gil:?}
gil = "off"
[[exclude]]
interpreter = {ft:?}
gil = "on"
"#
    ));
    let runs = read_csv(&dir.join("runs.csv"));
    assert_eq!(runs.len(), 2 * 2, "two workloads on two interpreters: {runs:?}");
    assert!(runs.iter().all(|r| r["gil"]
        == if r["free_threaded"] == "true" {
            "disabled"
        } else {
            "enabled"
        }));
    // Output files by name, per interpreter.
    let files = |cell: &str| -> BTreeMap<String, String> {
        std::fs::read_dir(dir.join("images").join(cell))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| {
                let hash = runner::spec::hex(&Sha256::digest(std::fs::read(&p).unwrap()));
                (p.file_name().unwrap().to_string_lossy().to_string(), hash)
            })
            .collect()
    };
    let (on_gil, on_ft) = (
        files("resize-py-thread-w2-gilon-s2"),
        files("resize-py-thread-w2-py2-giloff-s2"),
    );
    assert_eq!(on_gil.len(), 2 * 3 * 2, "2 sets x 3 images x 2 targets");
    assert_eq!(on_gil, on_ft, "the same files, byte for byte");
    let tasks = read_csv(&dir.join("tasks.csv"));
    let mut top1: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in tasks.iter().filter(|t| t["kind"] == "classify") {
        assert_eq!(t["status"], "ok", "{t:?}");
        top1.entry(t["task"].clone()).or_default().push(t["top1"].clone());
    }
    assert_eq!(top1.len(), 6);
    for (task, v) in &top1 {
        assert!(v.len() == 2 && v[0] == v[1], "task {task}: {v:?}");
    }
}

#[test]
fn the_gil_off_on_a_build_with_the_gil_is_refused_and_a_gil_not_as_asked_fails_its_tasks() {
    let Some((ft, gil)) = free_threaded() else { return };
    let (_d, file) = experiment(&format!(
        r#"name = "x"
workload = "spin"
executor = "py-thread"
interpreter = {gil:?}
gil = "off"
"#
    ));
    let out = runner().arg("validate").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("gil") && err.contains("Py_GIL_DISABLED") && err.contains("[[exclude]]"),
        "{err}"
    );
    // An interpreter that always runs without the GIL, whatever the cell asks: the cell that
    // asked for it on fails every task, saying which worker read what.
    let (dir, file) = experiment("");
    let wrapper = dir.path().join("always-off");
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\nPYTHON_GIL=0 exec {} \"$@\"\n", ft.display()),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = tempfile::tempdir().unwrap();
    std::fs::write(
        &file,
        format!(
            r#"name = "x"
workload = "spin"
executor = "py-thread"
workers = 2
sets = 1
repetitions = 1
warmup = 0
interpreter = {wrapper:?}
gil = "on"
[spin]
iterations = 1000
[output]
dir = {:?}
"#,
            out.path()
        ),
    )
    .unwrap();
    let run = runner().arg(&file).output().unwrap();
    assert_eq!(run.status.code(), Some(3), "{}", String::from_utf8_lossy(&run.stderr));
    let runs = read_csv(&results_dir(out.path()).join("runs.csv"));
    let error = &runs[0]["error"];
    assert!(
        error.contains("asked for gil = on") && error.contains("the GIL is disabled in worker"),
        "{error}"
    );
}
