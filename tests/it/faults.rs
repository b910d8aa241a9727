//! What real machines and users do to a long run: killed workers (with tasks queued behind their
//! running one), stuck tasks, interrupts, resume, hostile images. After each run the process
//! table must hold no runner process.

use crate::common;

use std::time::{Duration, Instant};

use common::procs::*;
use common::*;

fn sleep_experiment(
    out: &std::path::Path,
    executor: &str,
    sleep_ms: u64,
    extra: &str,
) -> (tempfile::TempDir, std::path::PathBuf) {
    experiment(&format!(
        r#"name = "f"
workload = "sleep"
executor = "{executor}"
workers = 2
sets = 2
repetitions = 3
warmup = 0
[sleep]
ms = {sleep_ms}
[output]
dir = "{}"
{extra}"#,
        out.display()
    ))
}

#[test]
fn a_killed_worker_fails_only_its_task_and_is_replaced() {
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = sleep_experiment(out.path(), "process", 400, "");
    let child = spawn(&file, &[]);
    let top = child.id() as i32;
    until(Duration::from_secs(10), "the workers", || workers_of(top).len() == 2);
    let victim = workers_of(top)[0];
    until(Duration::from_secs(10), "a task in the worker", || sleeping(victim));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(victim), nix::sys::signal::Signal::SIGKILL).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_code(&output, 3);
    let dir = results_dir(out.path());
    let runs = read_csv(&dir.join("runs.csv"));
    assert_eq!(runs.len(), 3, "every repetition has its row");
    let hit = &runs[0];
    assert_eq!((num(hit, "tasks_ok"), num(hit, "tasks_failed")), (5.0, 1.0), "{hit:?}");
    assert_eq!(
        (num(hit, "workers_started"), num(hit, "workers_lost")),
        (3.0, 1.0),
        "{hit:?}"
    );
    assert!(
        runs[1..].iter().all(|r| r["tasks_ok"] == "6"),
        "later repetitions are whole"
    );
    let tasks = read_csv(&dir.join("tasks.csv"));
    let failed: Vec<_> = tasks.iter().filter(|t| t["status"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0]["error"].contains("SIGKILL"), "{:?}", failed[0]);
    assert_no_runner_left();
}

/// Runs 3 repetitions of 6 sleep tasks that all outlive `timeout_s`; checks the run ends in
/// time with exit 3 and leaves nothing behind; returns (runs.csv, tasks.csv).
fn run_stuck(executor: &str, sleep_ms: u64, timeout_s: f64, within: Duration) -> (Vec<Row>, Vec<Row>) {
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    let limits = format!("[limits]\ntask_timeout_s = {timeout_s}\n");
    let (_d, file) = sleep_experiment(out.path(), executor, sleep_ms, &limits);
    let start = Instant::now();
    let output = spawn(&file, &[]).wait_with_output().unwrap();
    assert!(
        start.elapsed() < within,
        "timeouts cut the run short: {:?}",
        start.elapsed()
    );
    assert_eq!(output.status.code(), Some(3));
    assert_no_runner_left();
    let dir = results_dir(out.path());
    (read_csv(&dir.join("runs.csv")), read_csv(&dir.join("tasks.csv")))
}

#[test]
fn a_stuck_task_in_the_process_pool_is_failed_and_its_worker_replaced() {
    let (runs, tasks) = run_stuck("process", 2000, 0.2, Duration::from_secs(10));
    assert_eq!(tasks.len(), 18);
    assert!(
        tasks.iter().all(|t| t["error"].contains("timed out after 0.200 s")),
        "{:?}",
        tasks[0]
    );
    for r in &runs {
        // Six tasks through two workers: each killed worker is replaced while tasks remain.
        assert_eq!(r["workers_lost"], "6", "{r:?}");
        assert!(r["workers_started"].parse::<usize>().unwrap() >= 6, "{r:?}");
    }
}

/// Twelve command tasks on two worker processes with two tasks queued behind each running one;
/// each task appends its index to a log first. After `during` (given the top process) and the
/// run's end with exit 3, checks that every task ran exactly once, one failed, one worker was
/// lost and the two tasks queued in it went elsewhere; returns the failed task's row.
fn run_queued(script: &str, limits: &str, during: impl FnOnce(i32)) -> Row {
    let _g = serial();
    let (out, logs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let log = logs.path().join("ran.log");
    let (_d, file) = experiment(&format!(
        r#"name = "q"
workload = "command"
executor = "process"
workers = 2
process_queue = 2
inputs = 12
sets = 1
repetitions = 1
warmup = 0
{limits}[command]
shell = true
argv = "echo {{index}} >> {}; {script}"
[output]
dir = "{}"
"#,
        log.display(),
        out.path().display()
    ));
    let child = spawn(&file, &[]);
    during(child.id() as i32);
    let output = child.wait_with_output().unwrap();
    assert_code(&output, 3);
    assert_no_runner_left();
    let mut ran = vec![0usize; 12];
    for line in std::fs::read_to_string(&log).unwrap().lines() {
        ran[line.trim().parse::<usize>().unwrap()] += 1;
    }
    let dir = results_dir(out.path());
    let (runs, tasks) = (read_csv(&dir.join("runs.csv")), read_csv(&dir.join("tasks.csv")));
    assert_eq!(ran, vec![1; 12], "every task ran exactly once");
    let r = &runs[0];
    assert_eq!((num(r, "tasks_ok"), num(r, "tasks_failed")), (11.0, 1.0), "{r:?}");
    assert_eq!((num(r, "workers_lost"), num(r, "tasks_requeued")), (1.0, 2.0), "{r:?}");
    let failed: Vec<&Row> = tasks.iter().filter(|t| t["status"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    failed[0].clone()
}

#[test]
fn a_worker_killed_with_two_tasks_queued_fails_only_its_running_task_and_each_task_runs_once() {
    let failed = run_queued("exec sleep 0.4", "", |top| {
        until(Duration::from_secs(10), "the workers", || workers_of(top).len() >= 2);
        let victim = workers_of(top)[0];
        // Its first task's program runs; two tasks wait queued behind it.
        until(Duration::from_secs(10), "the worker's first task", || {
            children(victim).into_iter().any(sleeping)
        });
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(victim), nix::sys::signal::Signal::SIGKILL).unwrap();
    });
    assert!(failed["error"].contains("SIGKILL"), "{:?}", failed);
}

#[test]
fn a_timeout_sends_the_tasks_queued_behind_the_stuck_one_elsewhere_and_each_runs_once() {
    // Worker 0 takes tasks 0, 1 and 2: 0 never ends, 1 and 2 wait behind it.
    let script = "if [ {index} = 0 ]; then exec sleep 30; fi; exec sleep 0.05";
    let failed = run_queued(script, "[limits]\ntask_timeout_s = 1\n", |_| {});
    assert_eq!(failed["task"], "0", "{:?}", failed);
    assert!(failed["error"].contains("timed out after 1.000 s"), "{:?}", failed);
}

#[test]
fn a_stuck_thread_task_stops_its_repetition_and_the_run_goes_on() {
    let (runs, _) = run_stuck("thread", 5000, 0.3, Duration::from_secs(8));
    assert_eq!(runs.len(), 3);
    assert!(
        runs.iter().all(|r| r["error"].contains("timed out after 0.300 s")),
        "{:?}",
        runs[0]
    );
}

#[test]
fn ctrl_c_finishes_the_repetition_and_resume_completes_without_duplicates() {
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = sleep_experiment(out.path(), "process", 150, "");
    let child = spawn(&file, &[]);
    // Inside the second repetition: the first one's row is written.
    until(Duration::from_secs(20), "the first row", || {
        !runs_in(out.path()).is_empty()
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("--resume"), "says how to resume: {stderr}");
    assert_no_runner_left();
    let dir = results_dir(out.path());
    let first = read_csv(&dir.join("runs.csv"));
    assert!(
        !first.is_empty() && first.len() < 3,
        "stopped early with whole rows: {}",
        first.len()
    );
    assert!(first.iter().all(|r| r["tasks_ok"] == "6" && r["error"].is_empty()));

    let resumed = command().arg(&file).arg("--resume").arg(&dir).output().unwrap();
    assert_code(&resumed, 0);
    let runs = read_csv(&dir.join("runs.csv"));
    assert_eq!(runs.len(), 3);
    let mut reps: Vec<&str> = runs.iter().map(|r| r["rep"].as_str()).collect();
    reps.sort();
    assert_eq!(reps, ["0", "1", "2"], "each repetition once");
    assert_eq!(&runs[..first.len()], &first[..], "finished rows untouched");
    assert_eq!(read_csv(&dir.join("tasks.csv")).len(), 18, "no task listed twice");
    assert_no_runner_left();

    // Nothing left to run: resuming again changes nothing.
    let again = command().arg(&file).arg("--resume").arg(&dir).output().unwrap();
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(read_csv(&dir.join("runs.csv")).len(), 3);
}

#[test]
fn sigterm_stops_at_once_and_reaps_everything() {
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = sleep_experiment(out.path(), "process", 3000, "");
    let child = spawn(&file, &[]);
    let top = child.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(10);
    while workers_of(top).len() < 2 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    sigterm_stops_at_once(child);
}

/// SIGTERM to the orchestrator: it exits with 130 within 2 s and leaves no runner process.
fn sigterm_stops_at_once(child: std::process::Child) {
    let start = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
    assert_code(&output, 130);
    assert_no_runner_left();
}

/// The same through a zygote (a cell with an allocator preloaded): the orchestrator, its
/// jemalloc zygote, the zygote's repetition and its two workers all go.
#[test]
fn sigterm_during_a_preloaded_repetition_stops_at_once_and_reaps_everything() {
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = experiment(&format!(
        r#"name = "z"
workload = "sleep"
executor = "process"
allocator = "jemalloc"
workers = 2
sets = 2
repetitions = 3
warmup = 0
[sleep]
ms = 3000
[output]
dir = "{}"
"#,
        out.path().display()
    ));
    let child = spawn(&file, &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    // The orchestrator, the zygote, the repetition and two workers.
    while runner_processes().iter().filter(|p| p.2 != 'Z').count() < 5 {
        assert!(
            Instant::now() < deadline,
            "the zygote's workers never appeared: {:?}",
            runner_processes()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    sigterm_stops_at_once(child);
}

#[test]
fn resume_refuses_a_changed_experiment_unless_forced() {
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = sleep_experiment(out.path(), "thread", 1, "");
    assert!(command().arg(&file).output().unwrap().status.success());
    let dir = results_dir(out.path());
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("repetitions = 3", "repetitions = 4");
    std::fs::write(&file, text).unwrap();
    let refused = command().arg(&file).arg("--resume").arg(&dir).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    assert_eq!(read_csv(&dir.join("runs.csv")).len(), 3);
    let forced = command()
        .arg(&file)
        .arg("--resume")
        .arg(&dir)
        .arg("--force")
        .output()
        .unwrap();
    assert!(forced.status.success());
    assert_eq!(read_csv(&dir.join("runs.csv")).len(), 4, "only the new repetition ran");
}

#[test]
fn hostile_images_fail_their_tasks_with_reasons_and_the_run_goes_on() {
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    let (d, file) = experiment(&format!(
        r#"name = "h"
workload = "resize"
executor = ["sequential", "process"]
workers = 2
sets = 12
repetitions = 1
warmup = 0
[images]
folders = ["../bad"]
noise = false
[output]
dir = "{}"
"#,
        out.path().display()
    ));
    let bad = d.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    let good = std::fs::read(project().join("assets/low-res/low-res-1.jpg")).unwrap();
    std::fs::write(bad.join("good.jpg"), &good).unwrap();
    std::fs::write(bad.join("zero.jpg"), b"").unwrap();
    std::fs::write(bad.join("truncated.jpg"), &good[..good.len() / 3]).unwrap();
    std::fs::write(bad.join("text.webp"), b"not an image at all").unwrap();
    let png = std::fs::read(project().join("assets/mixed-formats/mixed-2.png")).unwrap();
    let mut corrupt = png.clone();
    for b in corrupt.iter_mut().skip(200).take(5000) {
        *b ^= 0x5a;
    }
    std::fs::write(bad.join("corrupt.png"), &corrupt).unwrap();
    std::fs::write(bad.join(".._..escape.jpg"), &good).unwrap();
    let output = command().arg(&file).output().unwrap();
    assert_code(&output, 3);
    let dir = results_dir(out.path());
    let tasks = read_csv(&dir.join("tasks.csv"));
    assert_eq!(tasks.len(), 24, "every task has its row");
    for t in &tasks {
        let reason = &t["error"];
        match t["image"].as_str() {
            "good.jpg" | ".._..escape.jpg" => assert_eq!(t["status"], "ok", "{t:?}"),
            "zero.jpg" => assert!(reason.contains("empty file"), "{t:?}"),
            "text.webp" => assert!(reason.contains("not a supported image format"), "{t:?}"),
            "truncated.jpg" | "corrupt.png" => {
                assert!(!reason.is_empty() && reason.contains(t["image"].as_str()), "{t:?}")
            }
            other => panic!("unexpected image {other}"),
        }
    }
    // Outputs stay inside the output folder.
    for cell in std::fs::read_dir(dir.join("images")).unwrap().flatten() {
        for f in std::fs::read_dir(cell.path()).unwrap().flatten() {
            assert!(!f.file_name().to_string_lossy().starts_with('.'), "{:?}", f.path());
        }
    }
    assert!(!d.path().join("escape.jpg").exists());
    let log = std::fs::read_to_string(dir.join("run.log")).unwrap();
    assert!(log.contains("zero.jpg [bad]: FAILED: ") && log.contains(": ok "));
    assert_no_runner_left();
}
