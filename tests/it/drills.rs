//! Nothing lost, nothing left running, part three: a killed or hung-up runner, a cut CSV, a
//! lock whose file is deleted, control characters in image names, absurd counts, inputs that
//! change during a run, and the small ones. Each drill failed on the code before it.

use crate::common;

use std::time::{Duration, Instant};

use common::procs::*;
use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use predicates::str::contains;

/// A process pool of 2 workers whose repetitions last `ms` per task, 2 tasks per worker.
fn long_run(out: &std::path::Path, ms: u64, reps: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    experiment(&format!(
        r#"name = "d"
workload = "sleep"
executor = "process"
workers = 2
sets = 1
repetitions = {reps}
warmup = 0
[sleep]
ms = {ms}
[output]
dir = "{}"
"#,
        out.display()
    ))
}

#[test]
fn a_runner_killed_with_sigkill_leaves_nothing_running_within_a_second() {
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = long_run(out.path(), 4000, 2);
    let mut child = spawn(&file, &[]);
    let top = child.id() as i32;
    until(Duration::from_secs(10), "the workers", || workers_of(top).len() == 2);
    kill(Pid::from_raw(top), Signal::SIGKILL).unwrap();
    let _ = child.wait();
    let killed = Instant::now();
    // The repetition process and both workers notice at once (PR_SET_PDEATHSIG).
    loop {
        let left: Vec<_> = runner_processes().into_iter().filter(|p| p.2 != 'Z').collect();
        if left.is_empty() {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(1),
            "still running 1 s after the runner was killed (pid, ppid, state): {left:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sighup_stops_like_sigterm_with_no_row_for_the_cut_repetition_and_the_resume_hint() {
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = long_run(out.path(), 3000, 2);
    let child = spawn(&file, &[]);
    let top = child.id() as i32;
    until(Duration::from_secs(10), "the workers", || workers_of(top).len() == 2);
    kill(Pid::from_raw(top), Signal::SIGHUP).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    assert_no_runner_left();
    let runs =
        std::fs::read_to_string(results_dir(out.path()).join("runs.csv")).expect("runs.csv is made at the start");
    assert!(runs.lines().count() <= 1, "no row for the cut repetition: {runs}");
}

/// A finished 3-repetition run of quick tasks: its folder and experiment file.
fn finished(out: &std::path::Path) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let (d, file) = experiment(&format!(
        r#"name = "c"
workload = "sleep"
executor = "thread"
workers = 2
sets = 1
repetitions = 3
warmup = 0
[sleep]
ms = 1
[output]
dir = "{}"
"#,
        out.display()
    ));
    assert!(command().arg(&file).output().unwrap().status.success());
    let dir = results_dir(out);
    (d, file, dir)
}

#[test]
fn a_csv_cut_at_a_line_end_or_mid_row_is_repaired_on_resume_and_the_repetition_runs_again() {
    let _g = serial();
    for csv in ["runs.csv", "tasks.csv"] {
        for cut in ["line end", "mid row"] {
            let out = tempfile::tempdir().unwrap();
            let (_d, file, dir) = finished(out.path());
            let path = dir.join(csv);
            let bytes = std::fs::read(&path).unwrap();
            let last_row = bytes[..bytes.len() - 1].iter().rposition(|&b| b == b'\n').unwrap() + 1;
            // At a line end: one byte before the last row, losing it and the newline before.
            let keep = if cut == "line end" { last_row - 1 } else { last_row + 10 };
            std::fs::write(&path, &bytes[..keep]).unwrap();
            let resumed = command().arg(&file).arg("--resume").arg(&dir).output().unwrap();
            let stderr = String::from_utf8_lossy(&resumed.stderr);
            assert_eq!(resumed.status.code(), Some(0), "{csv}, {cut}: {stderr}");
            assert!(
                stderr.contains(&format!("{csv}: line")) && stderr.contains("cut short"),
                "{stderr}"
            );
            let runs = read_csv(&dir.join("runs.csv"));
            assert_eq!(runs.len(), 3, "{csv}, {cut}: every repetition once");
            let mut reps: Vec<&str> = runs.iter().map(|r| r["rep"].as_str()).collect();
            reps.sort();
            assert_eq!(reps, ["0", "1", "2"]);
            assert_eq!(read_csv(&dir.join("tasks.csv")).len(), 9, "{csv}, {cut}: no task twice");
            let kept = std::fs::read_dir(&dir)
                .unwrap()
                .filter_map(|e| e.ok())
                .any(|e| e.file_name().to_string_lossy().starts_with(&format!("{csv}.cut-")));
            assert!(kept, "{csv}, {cut}: what was cut is kept");
            // And the folder reads whole again.
            runner().arg("report").arg(&dir).assert().success();
        }
    }
}

#[test]
fn the_lock_holds_whatever_happens_to_a_file_name() {
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = long_run(out.path(), 600, 3);
    let child = spawn(&file, &[]);
    let top = child.id() as i32;
    until(Duration::from_secs(10), "the workers", || workers_of(top).len() == 2);
    let dir = results_dir(out.path());
    // A clean-up script deletes what looks like a stale lock: there is none to delete, and the
    // folder stays locked.
    let _ = std::fs::remove_file(dir.join(".lock"));
    let second = command().arg(&file).arg("--resume").arg(&dir).output().unwrap();
    assert_eq!(
        second.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(String::from_utf8_lossy(&second.stderr).contains("in use by another runner"));
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let runs = read_csv(&dir.join("runs.csv"));
    assert_eq!(runs.len(), 3, "each repetition written once");
    assert_eq!(read_csv(&dir.join("tasks.csv")).len(), 9);
    assert_no_runner_left();
}

#[test]
fn control_characters_and_non_utf8_in_image_names_are_refused_escaped() {
    use std::os::unix::ffi::OsStrExt;
    let _g = serial();
    let png = std::fs::read(project().join("assets/mixed-formats/mixed-2.png")).unwrap();
    for (name, shown) in [
        (&b"two\nlines.png"[..], "two\\nlines.png"),
        (&b"\x1b[31mred.png"[..], "\\u{1b}[31mred.png"),
        (&b"bad\xff.png"[..], "is not UTF-8"),
    ] {
        let images = tempfile::tempdir().unwrap();
        std::fs::write(images.path().join(std::ffi::OsStr::from_bytes(name)), &png).unwrap();
        let (_d, file) = experiment(&format!(
            r#"name = "x"
workload = "resize"
executor = "thread"
[images]
folders = ["{}"]
"#,
            images.path().display()
        ));
        runner()
            .arg("validate")
            .arg(&file)
            .assert()
            .code(2)
            .stderr(contains("images.folders").and(contains(shown)));
    }
}

use predicates::prelude::PredicateBooleanExt;

#[test]
fn counts_that_multiply_the_plan_are_bounded_before_anything_is_allocated() {
    let _g = serial();
    for (body, flag, says) in [
        ("repetitions = 1000000000", None, "key `repetitions`"),
        ("warmup = 1000000000", None, "key `warmup`"),
        ("sets = 100000000", Some("--allow-large"), "key `sets`"),
    ] {
        let (_d, file) = experiment(&format!(
            r#"name = "x"
workload = "spin"
executor = "thread"
{body}
"#
        ));
        for cmd in ["validate", "plan"] {
            let mut c = runner();
            c.arg(cmd).arg(&file);
            if let Some(f) = flag {
                c.arg(f);
            }
            c.assert().code(2).stderr(contains(says).and(contains("more than")));
        }
    }
}

#[test]
fn images_replaced_during_a_run_stop_it_naming_what_changed() {
    let _g = serial();
    let images = tempfile::tempdir().unwrap();
    for f in ["low-res-1.jpg", "low-res-2.jpg"] {
        std::fs::copy(project().join("assets/low-res").join(f), images.path().join(f)).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = experiment(&format!(
        r#"name = "r"
workload = "resize"
executor = "thread"
workers = 2
sets = 4
repetitions = 6
warmup = 0
[images]
folders = ["{}"]
noise = false
[output]
dir = "{}"
"#,
        images.path().display(),
        out.path().display()
    ));
    let child = spawn(&file, &[]);
    until(Duration::from_secs(20), "the first row", || {
        std::fs::read_dir(out.path())
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| std::fs::read_dir(e.ok()?.path()).ok()?.next())
            .and_then(|e| std::fs::read_to_string(e.ok()?.path().join("runs.csv")).ok())
            .is_some_and(|t| t.lines().count() >= 2)
    });
    let tiny = std::fs::read(project().join("assets/mixed-formats/mixed-2.png")).unwrap();
    std::fs::write(images.path().join("low-res-1.jpg"), &tiny[..]).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("low-res-1.jpg") && stderr.contains("--resume"),
        "{stderr}"
    );
    let runs = read_csv(&results_dir(out.path()).join("runs.csv"));
    assert!(!runs.is_empty() && runs.len() < 6, "stopped, rows kept: {}", runs.len());
    assert_no_runner_left();
}

#[test]
fn small_ones_a_long_name_and_a_merge_of_a_folder_without_its_experiment() {
    let _g = serial();
    let (_d, file) = experiment(&format!(
        "name = \"{}\"\nworkload = \"spin\"\nexecutor = \"thread\"\n",
        "n".repeat(300)
    ));
    runner()
        .arg("validate")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(contains("key `name`").and(contains("300 bytes")));
    let empty = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    runner()
        .arg("merge")
        .arg(out.path().join("merged"))
        .arg(empty.path())
        .assert()
        .code(2)
        .stderr(contains("experiment.toml"));
}
