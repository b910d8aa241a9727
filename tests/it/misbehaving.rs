//! The user's own work misbehaving (issue 35's drills): what it prints, returns or leaves
//! behind reaches no channel or file the runner writes unescaped.

use crate::common;

use std::path::Path;

use common::*;

/// Runs `body` (with `[output] dir` added) and returns its results folder's tasks.csv and
/// run.log as bytes, whatever the run's exit code.
fn bytes_of(body: &str) -> (tempfile::TempDir, Vec<u8>, Vec<u8>) {
    let out = tempfile::tempdir().unwrap();
    let (d, file) = experiment("");
    let text = body.replace("{dir}", &d.path().display().to_string());
    std::fs::write(&file, format!("{text}\n[output]\ndir = {:?}\n", out.path())).unwrap();
    let run = runner().arg(&file).output().unwrap();
    assert!(
        matches!(run.status.code(), Some(0 | 3)),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let dir = results_dir(out.path());
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let (tasks, log) = (read("tasks.csv"), read("run.log"));
    (d, tasks, log)
}

/// No raw escape in either file, and every line of run.log is one task's (or a header's).
fn assert_escaped(tasks: &[u8], log: &[u8], tasks_per_rep: usize, shown: &str) {
    for (name, b) in [("tasks.csv", tasks), ("run.log", log)] {
        assert!(
            !b.contains(&0x1b),
            "{name} holds a raw ESC: {}",
            String::from_utf8_lossy(b)
        );
        assert!(
            String::from_utf8_lossy(b).contains(shown),
            "{name}: {}",
            String::from_utf8_lossy(b)
        );
    }
    let rows = String::from_utf8_lossy(tasks).lines().count();
    assert_eq!(
        rows,
        1 + tasks_per_rep,
        "a newline from the user's text broke no row: {}",
        String::from_utf8_lossy(tasks)
    );
}

fn module(dir: &Path, code: &str) {
    std::fs::write(dir.join("experiments/bad.py"), code).unwrap();
}

/// An experiment running `code` as module `bad` with `body` (its `[output] dir` added): the
/// results' folder, the experiment's folder and its file.
fn python_experiment(code: &str, body: &str) -> (tempfile::TempDir, tempfile::TempDir, std::path::PathBuf) {
    let out = tempfile::tempdir().unwrap();
    let (d, file) = experiment("");
    module(d.path(), code);
    std::fs::write(&file, format!("{body}[output]\ndir = {:?}\n", out.path())).unwrap();
    (out, d, file)
}

/// Builds the C source `c` into `dir`'s `lib<name>.so`.
fn plugin(dir: &Path, name: &str, c: &str) -> std::path::PathBuf {
    let (src, lib) = (dir.join(format!("{name}.c")), dir.join(format!("lib{name}.so")));
    std::fs::write(&src, c).unwrap();
    let cc = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&src)
        .status();
    assert!(cc.expect("cc is needed").success());
    lib
}

/// An exception whose text cannot be encoded as UTF-8 (a lone surrogate, as a file name that is
/// not UTF-8 gives) fails its own task, in words, on the pools whose workers write their
/// records (py-thread) and on those whose parent does (py-process, one chunk of both tasks):
/// the other task of the chunk keeps its result, and the pool is not taken for broken.
#[test]
fn a_task_whose_error_text_is_not_utf8_fails_alone() {
    for (executor, chunks) in [("py-thread", ""), ("py-process", "py_chunksize = 2\n")] {
        let (out, _d, file) = python_experiment(
            r#"def f(task):
    if task['index'] == 1:
        raise ValueError('bad \udcff name')
    return 'ok'
"#,
            &format!(
                r#"name = "surrogate"
workload = "python"
executor = "{executor}"
workers = 1
{chunks}inputs = 2
sets = 1
repetitions = 1
warmup = 0
[python]
function = "bad:f"
"#
            ),
        );
        let run = runner().arg(&file).output().unwrap();
        assert_eq!(
            run.status.code(),
            Some(3),
            "{executor}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let dir = results_dir(out.path());
        let runs = read_csv(&dir.join("runs.csv"));
        assert_eq!(runs[0]["tasks_failed"], "1", "{executor}: {runs:?}");
        let tasks = read_csv(&dir.join("tasks.csv"));
        let failed: Vec<_> = tasks.iter().filter(|t| t["status"] != "ok").collect();
        assert_eq!(failed.len(), 1, "{executor}: {tasks:?}");
        assert!(
            failed[0]["error"].contains("ValueError: bad ? name"),
            "{executor}: {failed:?}"
        );
    }
}

#[test]
fn text_from_a_function_a_plugin_and_a_command_is_escaped_in_tasks_csv_and_run_log() {
    // A Python function's result and a Python exception's message.
    let (out, d, file) = python_experiment(
        r#"def f(task):
    if task['index'] == 1:
        raise ValueError('boom \x1b[31mred\nnext')
    return 'esc \x1b[31mred\nx'
"#,
        r#"name = "esc"
workload = "python"
executor = "py-sequential"
inputs = 2
sets = 1
repetitions = 1
warmup = 0
[python]
function = "bad:f"
"#,
    );
    let run = runner().arg(&file).output().unwrap();
    assert_eq!(run.status.code(), Some(3), "{}", String::from_utf8_lossy(&run.stderr));
    let dir = results_dir(out.path());
    let (tasks, log) = (
        std::fs::read(dir.join("tasks.csv")).unwrap(),
        std::fs::read(dir.join("run.log")).unwrap(),
    );
    assert_escaped(&tasks, &log, 2, "boom \\u{1b}[31mred\\nnext");
    assert!(String::from_utf8_lossy(&tasks).contains("esc \\u{1b}[31mred\\nx"));

    // A plugin's error message.
    let plugin = plugin(
        d.path(),
        "bad",
        r#"#include <stdio.h>
#include <stdint.h>
uint32_t runner_plugin_abi(void) { return 1; }
int runner_run(void *s, const void *t, char *err, size_t n) { snprintf(err, n, "plugin \033[31mred\nline"); return 1; }
"#,
    );
    let (_d, tasks, log) = bytes_of(&format!(
        r#"name = "esc"
workload = "native"
executor = "thread"
inputs = 2
sets = 1
repetitions = 1
warmup = 0
[native]
library = {plugin:?}
"#
    ));
    assert_escaped(&tasks, &log, 2, "plugin \\u{1b}[31mred\\nline");

    // A command's stderr.
    let (_d, tasks, log) = bytes_of(
        r#"name = "esc"
workload = "command"
executor = "sequential"
inputs = 2
sets = 1
repetitions = 1
warmup = 0
[command]
argv = "printf 'cmd \\033[31mred\\nline' >&2; exit 1"
shell = true
"#,
    );
    assert_escaped(&tasks, &log, 2, "cmd \\u{1b}[31mred\\nline");
}

/// Processes of ours still in the process table: any whose environment carries the command
/// tasks' marker and this test's tag (other tests' commands run beside it).
fn marked_processes() -> Vec<String> {
    let mark = format!("{}={}", common::procs::TAG, common::procs::tag());
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let env = std::fs::read(e.path().join("environ")).unwrap_or_default();
        let mut vars = env.split(|&b| b == 0);
        let ours = env.split(|&b| b == 0).any(|v| v == mark.as_bytes());
        if ours && vars.any(|v| v.starts_with(b"RUNNER_COMMAND_TASK=")) {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            out.push(String::from_utf8_lossy(&cmd).replace('\0', " "));
        }
    }
    out
}

#[test]
fn a_commands_background_process_is_killed_and_reported_under_every_pool() {
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = experiment(&format!(
        r#"name = "leak"
workload = "command"
executor = ["sequential", "thread", "process"]
workers = 2
inputs = 6
sets = 1
repetitions = 1
warmup = 0
[command]
argv = "sleep 30 & echo started >&2"
shell = true
[output]
dir = {:?}
"#,
        out.path()
    ));
    let run = runner().arg(&file).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let err = String::from_utf8_lossy(&run.stderr);
    let dir = results_dir(out.path());
    let log = std::fs::read_to_string(dir.join("run.log")).unwrap();
    assert!(err.contains("left 18 process(es) running"), "{err}\n{log}");
    let left = marked_processes();
    assert!(left.is_empty(), "left running: {left:?}");
    let tasks = read_csv(&dir.join("tasks.csv"));
    assert_eq!(tasks.len(), 18);
    for t in &tasks {
        assert_eq!((t["status"].as_str(), t["leaked"].as_str()), ("ok", "1"), "{t:?}");
    }
    for r in read_csv(&dir.join("runs.csv")) {
        assert_eq!(r["leaked"], "6", "{r:?}");
    }
    let leaks: Vec<&str> = log.lines().filter(|l| l.contains("LEAKED")).collect();
    assert_eq!(leaks.len(), 18, "{log}");
    // Named by pid and by its command line as it stood when killed (a process caught between
    // its fork and its exec still reads as the shell).
    assert!(
        leaks.iter().all(|l| l.contains("1 process running, killed: pid ")),
        "{log}"
    );
}

#[test]
fn what_a_function_prints_reaches_no_channel_under_every_py_pool_and_is_kept() {
    // Lines shaped like the protocol's own records, by print, by a write to fd 1 (as C code
    // would) and by a program the task starts.
    let (out, _d, file) = python_experiment(
        r#"import json, os, subprocess
def f(task):
    line = json.dumps({'msg': 'task', 'task': 0, 'error': 'injected', 'worker': 0})
    print(line)
    print('printed by', task['index'])
    os.write(1, b'{"msg": "tasks_done"}\n')
    subprocess.run(['echo', line])
    return task['index']
"#,
        r#"name = "print"
workload = "python"
executor = ["py-sequential", "py-thread", "py-process"]
workers = 2
inputs = 6
sets = 1
repetitions = 1
warmup = 0
[python]
function = "bad:f"
stdout = "keep"
"#,
    );
    let run = runner().arg(&file).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let dir = results_dir(out.path());
    let tasks = read_csv(&dir.join("tasks.csv"));
    assert_eq!(tasks.len(), 18);
    for t in &tasks {
        assert_eq!(
            (t["status"].as_str(), t["result"].as_str()),
            ("ok", t["task"].as_str()),
            "{t:?}"
        );
        let own = dir.join(format!("images/{}/stdout/{:0>4}.out", t["cell"], t["task"]));
        let text = std::fs::read_to_string(&own).unwrap();
        assert!(
            text.contains(&format!("printed by {}\n", t["task"])),
            "{}: {text}",
            own.display()
        );
    }
    for cell in [
        "python-py-sequential-w1-s1",
        "python-py-thread-w2-s1",
        "python-py-process-w2-s1",
    ] {
        let fd1 = std::fs::read_to_string(dir.join(format!("images/{cell}/stdout/python.out"))).unwrap();
        assert_eq!(fd1.matches("tasks_done").count(), 6, "{cell}: {fd1}");
        assert_eq!(fd1.matches("injected").count(), 6, "{cell}: the program's echo: {fd1}");
    }
}

#[test]
fn an_interpreter_or_worker_that_exits_keeps_what_ended_and_names_its_status_and_task() {
    let (out, _d, file) = python_experiment(
        r#"import os
def f(task):
    if task['index'] == 2:
        os._exit(3)
    return task['index']
"#,
        r#"name = "exit"
workload = "python"
executor = ["py-thread", "py-process"]
workers = 1
inputs = 6
sets = 1
repetitions = 1
warmup = 0
[python]
function = "bad:f"
"#,
    );
    let run = runner().arg(&file).output().unwrap();
    assert_eq!(run.status.code(), Some(3), "{}", String::from_utf8_lossy(&run.stderr));
    let tasks = read_csv(&results_dir(out.path()).join("tasks.csv"));
    assert_eq!(tasks.len(), 12);
    for t in &tasks {
        let (status, error) = (t["status"].as_str(), t["error"].as_str());
        match t["task"].as_str() {
            "0" | "1" => assert_eq!((status, error), ("ok", ""), "{t:?}"),
            "2" => assert!(
                status == "failed" && error.contains("exited with status 3") && error.contains("task 2"),
                "{t:?}"
            ),
            _ => assert!(
                status == "failed" && error.starts_with("not run: ") && error.contains("exited with status 3"),
                "{t:?}"
            ),
        }
    }
}

#[test]
fn a_plugin_that_exits_under_the_runners_own_pools_keeps_the_finished_tasks() {
    // Task 2 works a moment before it exits, as a real one would: a record still on its way
    // from a worker thread to the pool's coordinator (microseconds) when the process dies is
    // lost, and its task reads as not run.
    let (d, _) = experiment("");
    let plugin = plugin(
        d.path(),
        "exit",
        r#"#include <stdlib.h>
#include <stdint.h>
#include <stddef.h>
#include <unistd.h>
typedef struct { uint64_t index; uint64_t seed; const char *input; } runner_task;
uint32_t runner_plugin_abi(void) { return 1; }
int runner_run(void *s, const runner_task *t, char *err, size_t n) { if (t->index == 2) { usleep(100000); exit(7); } return 0; }
"#,
    );
    let (_d, tasks, _) = bytes_of(&format!(
        r#"name = "exit"
workload = "native"
executor = ["sequential", "thread"]
workers = 1
inputs = 6
sets = 1
repetitions = 1
warmup = 0
[native]
library = {plugin:?}
"#
    ));
    let text = String::from_utf8_lossy(&tasks).to_string();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let head = rdr.headers().unwrap().clone();
    let rows: Vec<std::collections::HashMap<String, String>> = rdr
        .records()
        .map(|r| {
            head.iter()
                .map(String::from)
                .zip(r.unwrap().iter().map(String::from))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 12, "{text}");
    for t in &rows {
        let (status, error) = (t["status"].as_str(), t["error"].as_str());
        match t["task"].as_str() {
            "0" | "1" => assert_eq!((status, error), ("ok", ""), "{t:?}"),
            "2" => assert_eq!(
                error, "the repetition process exited with status 7 while task 2 ran",
                "{t:?}"
            ),
            _ => assert_eq!(error, "not run: the repetition process exited with status 7", "{t:?}"),
        }
    }
}
