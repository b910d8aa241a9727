//! A user's own workload, end to end: a command, a Python function and a C plugin, each run
//! under every pool its shape allows. Each writes down the task it received; every task must
//! arrive exactly once per repetition, with its own index, seed and input. Failures and every
//! validation refusal are reported as documented.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::procs::serial;
use common::*;
use predicates::str::contains;

/// (rep, index, seed, input's file name) for every task of a cell, from tasks.csv.
fn given(dir: &Path) -> BTreeMap<String, Vec<(String, String, String)>> {
    let mut by_cell: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    for t in read_csv(&dir.join("tasks.csv")) {
        assert_eq!(t["status"], "ok", "{t:?}");
        let input = match t["image"].as_str() {
            "" => "-".to_string(),
            i if i.starts_with("noise-") => format!("{i}.png"),
            i => i.to_string(),
        };
        by_cell
            .entry(t["cell"].clone())
            .or_default()
            .push((t["task"].clone(), t["seed"].clone(), input));
    }
    by_cell.values_mut().for_each(|v| v.sort());
    by_cell
}

/// The (index, seed, input's file name) lines a workload wrote, from `index seed input` lines.
fn received(log: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    let mut v: Vec<(String, String, String)> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let input = Path::new(f[f.len() - 1])
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (f[f.len() - 3].to_string(), f[f.len() - 2].to_string(), input)
        })
        .collect();
    v.sort();
    v
}

/// Every cell's log holds exactly the tasks tasks.csv says it was given.
fn assert_each_task_once(dir: &Path, log_of: impl Fn(&str) -> PathBuf) {
    let want = given(dir);
    assert!(!want.is_empty());
    for (cell, tasks) in &want {
        let got = received(&log_of(cell));
        assert_eq!(&got, tasks, "{cell}: what the workload received");
        let mut seen = std::collections::HashSet::new();
        assert!(
            tasks.iter().all(|t| seen.insert((t.0.clone(), t.1.clone()))),
            "{cell}: a task twice"
        );
    }
}

#[test]
fn a_command_gets_every_task_once_under_every_pool() {
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = experiment(&format!(
        r#"name = "cmd"
workload = "command"
executor = ["sequential", "thread", "process", "hybrid", "py-sequential", "py-thread", "py-process"]
workers = 2
processes = 2
threads = 2
sets = 2
repetitions = 2
warmup = 0
seed = 9
[images]
folders = ["../assets/low-res"]
noise_size = [64, 48]
[command]
argv = ["echo {{index}} {{seed}} {{input}} >> {{out}}/log.txt; test -s {{input}}"]
shell = true
[output]
dir = "{}"
"#,
        out.path().display()
    ));
    let run = runner().arg(&file).output().unwrap();
    let dir = results_dir(out.path());
    let log = std::fs::read_to_string(dir.join("run.log")).unwrap();
    assert!(
        run.status.success(),
        "{}",
        log.lines()
            .filter(|l| l.contains("FAILED"))
            .take(3)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_each_task_once(&dir, |cell| dir.join("images").join(cell).join("log.txt"));
    let runs = read_csv(&dir.join("runs.csv"));
    assert_eq!(runs.len(), 14);
    for r in &runs {
        assert!(num(r, "child_peak_rss_mib") > 0.0, "the commands' peak RSS: {r:?}");
        assert!(num(r, "user_s") + num(r, "sys_s") > 0.0, "{r:?}");
    }
}

#[test]
fn a_failing_command_fails_its_task_with_status_and_stderr_and_a_missing_one_is_refused() {
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    let body = |argv: &str| {
        format!(
            r#"name = "cmd"
workload = "command"
executor = ["thread", "process"]
workers = 2
inputs = 2
sets = 1
repetitions = 1
warmup = 0
[command]
argv = {argv}
[output]
dir = "{}"
"#,
            out.path().display()
        )
    };
    let (_d, file) = experiment(&body(r#"["sh", "-c", "echo boom >&2; exit 3"]"#));
    runner().arg(&file).assert().code(3);
    let dir = results_dir(out.path());
    let tasks = read_csv(&dir.join("tasks.csv"));
    assert_eq!(tasks.len(), 4);
    for t in &tasks {
        assert_eq!(t["status"], "failed");
        assert!(t["error"].contains("exited with status 3: boom"), "{t:?}");
    }
    let (_d, file) = experiment(&body(r#"["no-such-program-here", "{input}"]"#));
    runner()
        .arg("validate")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(contains("command.argv").and(contains("`no-such-program-here` was not found on PATH")));
}

/// A module that logs each call's task, and one that raises on task 1.
fn python_module(dir: &Path) {
    std::fs::write(
        dir.join("mine.py"),
        r#"import os
def setup(config):
    return config
def record(log, task):
    with open(log, 'a') as f:
        f.write(f"{task['index']} {task['seed']} {task['input'] or '-'}\n")
    return task['index'] * 2
def picky(log, task):
    if task['index'] == 1:
        raise ValueError('no task 1')
    return 'ok'
"#,
    )
    .unwrap();
}

#[test]
fn a_python_function_gets_every_task_once_under_every_python_pool() {
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    let (d, file) = experiment("");
    python_module(&d.path().join("experiments"));
    let log = d.path().join("calls.log");
    std::fs::write(
        &file,
        format!(
            r#"name = "py"
workload = "python"
executor = ["py-sequential", "py-thread", "py-process"]
py_start_method = ["fork", "spawn"]
workers = 2
inputs = 3
sets = 2
repetitions = 2
warmup = 0
[python]
function = "mine:record"
setup = "mine:setup"
config = "{}"
[output]
dir = "{}"
"#,
            log.display(),
            out.path().display()
        ),
    )
    .unwrap();
    runner().arg(&file).assert().success();
    let dir = results_dir(out.path());
    // One log for all cells: every cell's tasks, each once, in all.
    let want: Vec<_> = given(&dir).into_values().flatten().collect::<Vec<_>>();
    let mut want = want;
    want.sort();
    assert_eq!(received(&log), want);
    let tasks = read_csv(&dir.join("tasks.csv"));
    assert_eq!(tasks.len(), 4 * 2 * 6);
    assert!(tasks
        .iter()
        .all(|t| t["result"] == (t["task"].parse::<usize>().unwrap() * 2).to_string()));
}

#[test]
fn python_exceptions_fail_their_task_and_bad_modules_or_pools_are_refused() {
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    let (d, file) = experiment("");
    python_module(&d.path().join("experiments"));
    let body = |executor: &str, function: &str| {
        format!(
            r#"name = "py"
workload = "python"
executor = "{executor}"
workers = 2
inputs = 2
sets = 1
repetitions = 1
warmup = 0
[python]
function = "{function}"
setup = "mine:setup"
config = "x"
[output]
dir = "{}"
"#,
            out.path().display()
        )
    };
    std::fs::write(&file, body("py-thread", "mine:picky")).unwrap();
    runner().arg(&file).assert().code(3);
    let tasks = read_csv(&results_dir(out.path()).join("tasks.csv"));
    let failed: Vec<_> = tasks.iter().filter(|t| t["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{tasks:?}");
    assert_eq!(failed[0]["task"], "1");
    assert!(failed[0]["error"].contains("ValueError: no task 1"), "{:?}", failed[0]);
    for (executor, function, says) in [
        ("py-thread", "mine:nothing", "has no attribute 'nothing'"),
        ("py-thread", "missing_module:f", "No module named 'missing_module'"),
        ("thread", "mine:record", "workload python runs under the py-* executors"),
    ] {
        std::fs::write(&file, body(executor, function)).unwrap();
        runner()
            .arg("validate")
            .arg(&file)
            .assert()
            .code(2)
            .stderr(contains(says));
    }
}

/// Builds the example C plugin (or a variant of it) into `dir`; returns the library's path.
fn plugin(dir: &Path, name: &str, extra: &str) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    let code = std::fs::read_to_string(project().join("experiments/own/plugins/work.c"))
        .unwrap()
        .replace(
            "../../../include/runner_plugin.h",
            &project().join("include/runner_plugin.h").display().to_string(),
        );
    std::fs::write(&src, format!("{code}\n{extra}")).unwrap();
    let lib = dir.join(format!("lib{name}.so"));
    let status = std::process::Command::new("cc")
        .args(["-O1", "-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&src)
        .status()
        .expect("cc is needed for the native tests");
    assert!(status.success());
    lib
}

fn native(out: &Path, library: &Path, executors: &str, config: &str) -> (tempfile::TempDir, PathBuf) {
    let hybrid = if executors.contains("hybrid") {
        "processes = 2\nthreads = 2\n"
    } else {
        ""
    };
    experiment(&format!(
        r#"name = "nat"
workload = "native"
executor = [{executors}]
workers = 2
{hybrid}sets = 2
repetitions = 2
warmup = 0
seed = 4
[images]
folders = ["../assets/low-res"]
noise_size = [32, 32]
[native]
library = "{}"
config = "{config}"
[output]
dir = "{}"
"#,
        library.display(),
        out.display()
    ))
}

#[test]
fn a_plugin_gets_every_task_once_under_every_rust_pool() {
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    let lib = plugin(out.path(), "work", "");
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("calls.log");
    let (_d, file) = native(
        out.path(),
        &lib,
        "\"sequential\", \"thread\", \"process\", \"hybrid\"",
        &format!("mode=malloc n=1000 log={}", log.display()),
    );
    runner().arg(&file).assert().success();
    let dir = std::fs::read_dir(out.path().join("nat"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut want: Vec<_> = given(&dir).into_values().flatten().collect();
    want.sort();
    assert_eq!(received(&log), want, "every task of every cell, once");
    let runs = read_csv(&dir.join("runs.csv"));
    assert_eq!(runs.len(), 8);
    assert!(
        runs.iter().all(|r| r["sessions"] != "0"),
        "runner_init ran in each worker"
    );
}

#[test]
fn a_plugin_crash_fails_its_task_in_the_process_pool_and_its_repetition_in_the_thread_pool() {
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    let lib = plugin(out.path(), "work", "");
    let (_d, file) = native(out.path(), &lib, "\"thread\", \"process\"", "n=10 crash=1");
    runner().arg(&file).assert().code(3);
    let dir = std::fs::read_dir(out.path().join("nat"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let runs = read_csv(&dir.join("runs.csv"));
    for r in &runs {
        if r["executor"] == "process" {
            assert_eq!(r["tasks_failed"], "1", "{r:?}");
            assert_eq!(r["workers_lost"], "1", "{r:?}");
        } else {
            assert!(
                r["error"].contains("SIGSEGV"),
                "the thread pool's repetition is lost: {r:?}"
            );
        }
    }
    let tasks = read_csv(&dir.join("tasks.csv"));
    let crashed = tasks
        .iter()
        .find(|t| t["cell"].contains("process") && t["status"] == "failed")
        .unwrap();
    assert_eq!(crashed["task"], "1");
    assert!(crashed["error"].contains("SIGSEGV"), "{crashed:?}");
}

#[test]
fn bad_plugins_are_refused_naming_the_file_and_the_symbol() {
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    let text = out.path().join("libtext.so");
    std::fs::write(&text, "not a library").unwrap();
    let no_run = out.path().join("libnorun.so");
    // The same code with runner_run renamed away, and one that speaks ABI version 2.
    let src = std::fs::read_to_string(project().join("experiments/own/plugins/work.c")).unwrap();
    let renamed = out.path().join("norun.c");
    std::fs::write(
        &renamed,
        src.replace("int runner_run(", "int runner_go(").replace(
            "../../../include/runner_plugin.h",
            &project().join("include/runner_plugin.h").display().to_string(),
        ),
    )
    .unwrap();
    assert!(std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&no_run)
        .arg(&renamed)
        .status()
        .unwrap()
        .success());
    let v2 = out.path().join("v2.c");
    std::fs::write(&v2, "unsigned runner_plugin_abi(void) { return 2; }\nint runner_run(void *s, const void *t, char *e, unsigned long n) { return 0; }\n").unwrap();
    let lib_v2 = out.path().join("libv2.so");
    assert!(std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib_v2)
        .arg(&v2)
        .status()
        .unwrap()
        .success());
    for (lib, says) in [
        (out.path().join("missing.so"), "missing.so"),
        (text.clone(), "is not a shared object"),
        (no_run.clone(), "has no symbol `runner_run`"),
        (lib_v2.clone(), "speaks plugin ABI version 2"),
    ] {
        let (_d, file) = native(out.path(), &lib, "\"thread\"", "");
        runner()
            .arg("validate")
            .arg(&file)
            .assert()
            .code(2)
            .stderr(contains("native.library").and(contains(says)));
    }
    let (_d, file) = native(out.path(), &no_run, "\"py-thread\"", "");
    runner().arg("validate").arg(&file).assert().code(2).stderr(contains(
        "workload native runs under sequential, thread, process and hybrid",
    ));
}

#[test]
fn the_gil_bound_function_runs_faster_in_python_processes_than_threads() {
    let _alone = alone();
    // A comparison of times: no build, measurement or process-table drill runs meanwhile.
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    let (d, file) = experiment("");
    std::fs::copy(
        project().join("experiments/own/work.py"),
        d.path().join("experiments/work.py"),
    )
    .unwrap();
    std::fs::write(
        &file,
        format!(
            r#"name = "gil"
workload = "python"
executor = ["py-thread", "py-process"]
workers = 2
inputs = 3
sets = 4
repetitions = 6
warmup = 1
[python]
function = "work:checksum"
setup = "work:load"
config = "10"
[output]
dir = "{}"
"#,
            out.path().display()
        ),
    )
    .unwrap();
    let run = runner().arg(&file).assert().success();
    let stdout = String::from_utf8_lossy(&run.get_output().stdout).into_owned();
    println!("{stdout}");
    assert!(
        stdout.contains("py-process faster than py-thread"),
        "the GIL: pure-Python work runs faster in processes: {stdout}"
    );
}

use predicates::prelude::PredicateBooleanExt;
