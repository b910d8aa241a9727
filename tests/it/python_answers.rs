//! Python's other answers: py-interpreter (subinterpreters, PEP 734), the interpreter as an axis
//! (`interpreter = [...]`, with each row's version, implementation and GIL as a worker read them),
//! chunked dispatch (`py_chunksize`) and worker recycling (`py_max_tasks_per_child`). They run
//! for real under the set-up's venvs; what needs .deps/venv313 says so and skips without it.

use crate::common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::*;

/// The 3.13 venv scripts/setup makes where a CPython 3.13 exists; `None` (and why) without,
/// outside CI.
fn venv313() -> Option<PathBuf> {
    needs(
        ".deps/venv313/bin/python",
        "scripts/setup makes it where a CPython 3.13 is on the machine",
    )
}

fn run(body: &str) -> (Vec<Row>, Vec<Row>, String) {
    let (_out, dir) = run_ok(body);
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    (
        read_csv(&dir.join("runs.csv")),
        read_csv(&dir.join("tasks.csv")),
        summary,
    )
}

fn refused(body: &str) -> String {
    let (_d, file) = experiment(body);
    let out = runner().arg("validate").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn subinterpreters_run_every_task_once_and_each_row_names_its_interpreter() {
    let Some(v313) = venv313() else { return };
    let venv = project().join(".deps/venv/bin/python");
    let (runs, tasks, summary) = run(&format!(
        r#"name = "sub"
workload = "spin"
executor = ["py-thread", "py-interpreter"]
workers = 2
sets = 4
interpreter = [{venv:?}, {v313:?}]
repetitions = 2
warmup = 0
[spin]
iterations = 20000
[[exclude]]
executor = "py-interpreter"
interpreter = {venv:?}
"#,
    ));
    let sub: Vec<&Row> = tasks.iter().filter(|t| t["cell"].contains("py-interpreter")).collect();
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for t in &sub {
        assert_eq!(t["status"], "ok", "{t:?}");
        *seen.entry((t["rep"].clone(), t["task"].clone())).or_default() += 1;
    }
    assert_eq!(seen.len(), 2 * 12, "every task of both repetitions");
    assert!(seen.values().all(|&n| n == 1), "each once: {seen:?}");
    for r in &runs {
        let want = if r["python"] == "venv313/bin/python" {
            "3.13."
        } else {
            "3.11."
        };
        assert!(
            r["python_version"].starts_with(want),
            "{} {}",
            r["python"],
            r["python_version"]
        );
        assert_eq!((r["python_impl"].as_str(), r["gil"].as_str()), ("cpython", "enabled"));
    }
    assert!(runs
        .iter()
        .any(|r| r["cell"].ends_with("-py2-s4") && r["executor"] == "py-interpreter"));
    // Verdicts compare within one interpreter, and name it by version and GIL when several
    // ran; the same pool is compared across them.
    assert!(summary.contains("spin, 2 workers, on 3.13."), "{summary}");
    assert!(summary.contains(" (GIL): py-thread"), "{summary}");
    assert!(!summary.contains("venv313/bin/python"), "{summary}");
    assert!(
        summary.contains("Across interpreters and GIL settings: the same pool:")
            && summary.contains("py-thread on 3.11."),
        "{summary}"
    );
}

#[test]
fn a_workload_that_needs_numpy_is_refused_for_subinterpreters() {
    let err = refused(
        r#"name = "x"
workload = "resize"
executor = "py-interpreter"
workers = 2
"#,
    );
    assert!(
        err.contains("executor \"py-interpreter\" cannot run workload \"resize\""),
        "{err}"
    );
    assert!(err.contains("cannot be loaded in a subinterpreter"), "{err}");
}

#[test]
fn recycling_forked_workers_is_refused_with_pythons_reason() {
    let err = refused(
        r#"name = "x"
workload = "sleep"
executor = "py-process"
workers = 2
py_max_tasks_per_child = [0, 2]
"#,
    );
    assert!(err.contains("py_max_tasks_per_child"), "{err}");
    assert!(
        err.contains("incompatible with the 'fork' multiprocessing start method"),
        "{err}"
    );
}

#[test]
fn a_chunk_goes_to_one_worker_and_comes_back_together() {
    let (runs, tasks, _) = run(r#"name = "chunks"
workload = "sleep"
executor = "py-process"
workers = 2
sets = 4
py_chunksize = 4
repetitions = 1
warmup = 0
[sleep]
ms = 20
"#);
    assert!(runs[0]["cell"].contains("-c4"), "{}", runs[0]["cell"]);
    assert_eq!(runs[0]["py_chunksize"], "4");
    let by_task: BTreeMap<usize, &Row> = tasks.iter().map(|t| (t["task"].parse().unwrap(), t)).collect();
    assert_eq!(by_task.len(), 12);
    for chunk in 0..3 {
        let workers: Vec<&str> = (4 * chunk..4 * chunk + 4)
            .map(|i| by_task[&i]["worker"].as_str())
            .collect();
        assert!(workers.iter().all(|w| *w == workers[0]), "chunk {chunk}: {workers:?}");
        // The first task's record waited for the three after it (20 ms each) in its worker.
        let first = num(by_task[&(4 * chunk)], "ipc_ms");
        assert!(
            first >= 55.0,
            "chunk {chunk}: the first record came back after {first} ms"
        );
    }
}

#[test]
fn recycled_workers_are_counted() {
    let (runs, tasks, _) = run(r#"name = "recycle"
workload = "sleep"
executor = "py-process"
workers = 2
sets = 4
py_start_method = "forkserver"
py_max_tasks_per_child = [0, 2]
repetitions = 1
warmup = 0
[sleep]
ms = 10
"#);
    let started = |recycle: &str| {
        let r = runs.iter().find(|r| r["py_max_tasks_per_child"] == recycle).unwrap();
        num(r, "workers_started")
    };
    assert_eq!(started("0"), 2.0);
    // Two calls each (its ready call and one task): 14 calls need about 7 workers.
    assert!(started("2") >= 6.0, "{}", started("2"));
    assert!(tasks.iter().all(|t| t["status"] == "ok"));
    assert_eq!(tasks.len(), 24);
}

/// A user's function whose module imports numpy cannot load in a subinterpreter: refused at
/// validation (exit 2), naming the module, instead of failing every task of py-interpreter.
#[test]
fn a_function_that_cannot_load_in_a_subinterpreter_is_refused_by_name() {
    let Some(v313) = venv313() else { return };
    let own = project().join("experiments/own");
    let body = |function: &str| {
        format!(
            r#"name = "x"
workload = "python"
executor = ["py-thread", "py-interpreter"]
workers = 2
interpreter = {v313:?}
[python]
function = "{function}"
path = [{own:?}]
"#
        )
    };
    let err = refused(&body("work:checksum"));
    assert!(err.contains("python.function"), "{err}");
    assert!(
        err.contains("module `work` cannot be loaded in a subinterpreter") && err.contains("numpy"),
        "{err}"
    );
    // A module of pure Python loads, and validates.
    let (d, file) = experiment("");
    std::fs::write(
        d.path().join("experiments/pure.py"),
        "def f(task):\n    return task['index']\n",
    )
    .unwrap();
    std::fs::write(
        &file,
        format!(
            r#"name = "x"
workload = "python"
executor = "py-interpreter"
workers = 2
interpreter = {v313:?}
[python]
function = "pure:f"
"#
        ),
    )
    .unwrap();
    let out = runner().arg("validate").arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
