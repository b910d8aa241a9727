//! Every repetition whole after any stop: hard stops mid-repetition and resume, a repetition
//! process killed under its workers, two runs on one folder, and the input classes that used to
//! hang or leak (FIFOs, control characters, formulas in file names). The process table is
//! checked right after the runner exits, with no grace period.

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::procs::*;
use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

fn signal(pid: i32, sig: Signal) {
    kill(Pid::from_raw(pid), sig).unwrap();
}

/// Nothing of ours in the process table the moment the runner has exited: every descendant
/// was reaped by it, none was left to init. The tests of this file run at once, so another
/// test's runner (a child of this process) and its descendants are not leftovers: an orphan is
/// one whose parent is neither this process nor a runner.
fn assert_nothing_left_now() {
    let all = runner_processes();
    let me = std::process::id() as i32;
    let left: Vec<_> = all
        .iter()
        .filter(|(_, ppid, _)| *ppid != me && !all.iter().any(|(pid, _, _)| pid == ppid))
        .collect();
    assert!(left.is_empty(), "left behind (pid, ppid, state): {left:?}");
}

/// Starts a run of 3 repetitions of a 2-worker process pool and returns once it is inside the
/// second: one row written, and that repetition's workers at work.
fn in_second_repetition(
    name: &str,
) -> (
    tempfile::TempDir,
    tempfile::TempDir,
    std::path::PathBuf,
    std::process::Child,
) {
    let out = tempfile::tempdir().unwrap();
    let (d, file) = experiment(&format!(
        r#"name = "{name}"
workload = "sleep"
executor = "process"
workers = 2
sets = 2
repetitions = 3
warmup = 0
[sleep]
ms = 300
[output]
dir = "{}"
"#,
        out.path().display()
    ));
    let child = spawn(&file, &[]);
    let top = child.id() as i32;
    until(Duration::from_secs(20), "the first repetition", || {
        runs_in(out.path()).len() == 1
    });
    until(Duration::from_secs(5), "the second repetition's workers", || {
        workers_of(top).len() == 2
    });
    (out, d, file, child)
}

#[test]
fn a_hard_stop_mid_repetition_leaves_no_row_and_resume_makes_every_repetition_whole() {
    let _g = serial();
    let (out, _d, file, child) = in_second_repetition("cut");
    let top = child.id() as i32;
    signal(top, Signal::SIGINT);
    // A second Ctrl-C as a person presses it: sent together, two signals would merge into one.
    std::thread::sleep(Duration::from_millis(50));
    signal(top, Signal::SIGINT);
    let output = child.wait_with_output().unwrap();
    assert_code(&output, 130);
    assert_nothing_left_now();
    let dir = results_dir(out.path());
    let runs = read_csv(&dir.join("runs.csv"));
    assert_eq!(runs.len(), 1, "the cut repetition left no row: {runs:?}");
    assert!(runs.iter().all(|r| r["error"].is_empty()));
    assert_eq!(read_csv(&dir.join("tasks.csv")).len(), 6, "nor any task row");

    let resumed = command().arg(&file).arg("--resume").arg(&dir).output().unwrap();
    assert_code(&resumed, 0);
    assert_nothing_left_now();
    let runs = read_csv(&dir.join("runs.csv"));
    let mut reps: Vec<&str> = runs.iter().map(|r| r["rep"].as_str()).collect();
    reps.sort();
    assert_eq!(reps, ["0", "1", "2"], "each repetition exactly once");
    assert!(
        runs.iter().all(|r| r["error"].is_empty() && r["tasks_ok"] == "6"),
        "{runs:?}"
    );
    assert_eq!(read_csv(&dir.join("tasks.csv")).len(), 18);
}

#[test]
fn sigterm_to_every_process_at_once_as_slurm_cancels_leaves_no_failed_row() {
    let _g = serial();
    let (out, _d, _file, child) = in_second_repetition("term");
    let top = child.id() as i32;
    // scancel and a job's time limit signal every process of the job, not one process group,
    // in no set order: here the repetition and its workers first, the orchestrator a little later.
    for (pid, _, _) in runner_processes().into_iter().filter(|p| p.0 != top) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    std::thread::sleep(Duration::from_millis(100));
    signal(top, Signal::SIGTERM);
    let output = child.wait_with_output().unwrap();
    assert_code(&output, 130);
    assert_nothing_left_now();
    let dir = results_dir(out.path());
    let runs = read_csv(&dir.join("runs.csv"));
    assert_eq!(runs.len(), 1, "the killed repetition is not a failed row: {runs:?}");
    assert!(runs.iter().all(|r| r["error"].is_empty()));
}

#[test]
fn a_repetition_process_killed_under_its_workers_is_recorded_within_a_second() {
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    // No timeout, tasks of 10 s: only the end of the results pipe can tell the orchestrator.
    let (_d, file) = experiment(&format!(
        r#"name = "killed"
workload = "sleep"
executor = "process"
workers = 1
sets = 1
repetitions = 2
warmup = 0
[sleep]
ms = 10000
[output]
dir = "{}"
"#,
        out.path().display()
    ));
    let child = spawn(&file, &[]);
    let top = child.id() as i32;
    until(Duration::from_secs(10), "a worker", || workers_of(top).len() == 1);
    let worker = workers_of(top)[0];
    let repetition = runner_processes().iter().find(|p| p.0 == worker).unwrap().1;
    let killed = Instant::now();
    signal(repetition, Signal::SIGKILL);
    until(Duration::from_secs(5), "the failed repetition's row", || {
        !runs_in(out.path()).is_empty()
    });
    let took = killed.elapsed();
    signal(top, Signal::SIGTERM);
    let output = child.wait_with_output().unwrap();
    assert_code(&output, 130);
    assert_nothing_left_now();
    assert!(took < Duration::from_secs(1), "recorded after {took:?}");
    let runs = runs_in(out.path());
    assert!(runs[0]["error"].contains("killed by signal 9"), "{:?}", runs[0]);
}

#[test]
fn a_second_run_on_the_same_results_folder_is_refused() {
    let _g = serial();
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = experiment(&format!(
        r#"name = "lock"
workload = "sleep"
executor = "thread"
workers = 2
sets = 2
repetitions = 4
warmup = 0
[sleep]
ms = 150
[output]
dir = "{}"
"#,
        out.path().display()
    ));
    let child = spawn(&file, &[]);
    until(Duration::from_secs(10), "the first row", || {
        !runs_in(out.path()).is_empty()
    });
    let dir = results_dir(out.path());
    let second = command().arg(&file).arg("--resume").arg(&dir).output().unwrap();
    assert_code(&second, 2);
    assert!(String::from_utf8_lossy(&second.stderr).contains("in use by another runner"));
    assert_code(&child.wait_with_output().unwrap(), 0);
    assert_eq!(read_csv(&dir.join("runs.csv")).len(), 4, "no row twice");
}

#[test]
fn ctrl_c_while_waiting_for_an_idle_machine_starts_nothing() {
    let _g = serial();
    // Two spinning threads keep the machine from going idle, so the runner waits.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spinners: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            })
        })
        .collect();
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = experiment(&format!(
        r#"name = "idle"
workload = "sleep"
executor = "thread"
sets = 1
repetitions = 2
warmup = 0
wait_for_idle_s = 30
[output]
dir = "{}"
"#,
        out.path().display()
    ));
    let child = spawn(&file, &[]);
    let top = child.id() as i32;
    // Waiting for idle: set up (env.json written), asleep between its looks at the machine,
    // and no repetition process started; still none a look later.
    let set_up = || {
        std::fs::read_dir(out.path()).into_iter().flatten().flatten().any(|e| {
            std::fs::read_dir(e.path())
                .into_iter()
                .flatten()
                .flatten()
                .any(|r| r.path().join("env.json").exists())
        })
    };
    let waiting = || set_up() && sleeping(top) && children(top).is_empty();
    until(
        Duration::from_secs(20),
        "the runner to wait for an idle machine",
        waiting,
    );
    // Longer than one look (200 ms): an idle machine would have started the repetition.
    std::thread::sleep(Duration::from_millis(300));
    assert!(children(top).is_empty(), "no repetition while the machine is busy");
    let sent = Instant::now();
    signal(child.id() as i32, Signal::SIGINT);
    let output = child.wait_with_output().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    spinners.into_iter().for_each(|s| s.join().unwrap());
    assert_code(&output, 130);
    assert!(sent.elapsed() < Duration::from_secs(3), "{:?}", sent.elapsed());
    assert!(
        runs_in(out.path()).is_empty(),
        "no repetition started after the interrupt"
    );
    assert_nothing_left_now();
}

#[test]
fn a_fifo_among_the_images_is_refused_at_validation_naming_it() {
    let (d, file) = experiment(
        r#"name = "fifo"
workload = "resize"
executor = "thread"
[images]
folders = ["../imgs"]
"#,
    );
    let imgs = d.path().join("imgs");
    std::fs::create_dir(&imgs).unwrap();
    std::os::unix::fs::symlink(project().join("assets/low-res/low-res-1.jpg"), imgs.join("a.jpg")).unwrap();
    nix::unistd::mkfifo(&imgs.join("b.jpg"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let child = command()
        .arg("validate")
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let guard = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(10));
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL); // a hang must not hang the suite
    });
    let output = child.wait_with_output().unwrap();
    drop(guard);
    assert_code(&output, 2);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("b.jpg") && err.contains("not a regular file"), "{err}");
}

#[test]
fn control_characters_in_names_and_paths_are_refused_at_validation() {
    for body in [
        "name = \"a\\u0000b\"\nworkload = \"spin\"\nexecutor = \"thread\"\n",
        "name = \"x\\nz\"\nworkload = \"spin\"\nexecutor = \"thread\"\n",
        r#"name = "t"
workload = "resize"
executor = "thread"
[images]
folders = ["../assets/low-res\u001b"]
"#,
        r#"name = "t"
workload = "spin"
executor = "thread"
[output]
dir = "out\rput"
"#,
    ] {
        let (_d, file) = experiment(body);
        let output = runner().arg("validate").arg(&file).output().unwrap();
        assert_code(&output, 2);
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(err.contains("control character"), "{body}: {err}");
    }
}

#[test]
fn names_a_spreadsheet_would_evaluate_are_written_as_text() {
    let out = tempfile::tempdir().unwrap();
    let (d, file) = experiment(&format!(
        r#"name = "csv"
workload = "resize"
executor = "sequential"
sets = 1
repetitions = 1
warmup = 0
[images]
folders = ["../imgs"]
noise = false
[resize]
save = false
[output]
dir = "{}"
"#,
        out.path().display()
    ));
    let imgs = d.path().join("imgs");
    std::fs::create_dir(&imgs).unwrap();
    std::os::unix::fs::symlink(project().join("assets/low-res/low-res-1.jpg"), imgs.join("=1+2.jpg")).unwrap();
    assert_code(&runner().arg(&file).output().unwrap(), 0);
    let dir = results_dir(out.path());
    let tasks = read_csv(&dir.join("tasks.csv"));
    assert_eq!(tasks[0]["image"], "'=1+2.jpg");
    let runs = read_csv(&dir.join("runs.csv"));
    assert!(num(&runs[0], "wall_s") > 0.0, "numbers stay numbers");
    spreadsheet_sees_no_formula(&dir.join("tasks.csv"));
}

/// Opens the CSV in LibreOffice Calc (headless, converting to xlsx) and checks that no cell of
/// the sheet is a formula. Without LibreOffice (`libreoffice-calc-nogui`) it says so and skips;
/// under CI it must be there.
fn spreadsheet_sees_no_formula(csv: &std::path::Path) {
    let Some(soffice) = ["soffice", "libreoffice"].into_iter().find(|b| {
        Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        skip("the spreadsheet check needs LibreOffice (apt-get install libreoffice-calc-nogui)");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let profile = format!("-env:UserInstallation=file://{}/profile", work.path().display());
    let conv = Command::new(soffice)
        .args([profile.as_str(), "--headless", "--convert-to", "xlsx", "--outdir"])
        .arg(work.path())
        .arg(csv)
        .output()
        .unwrap();
    assert!(conv.status.success(), "{}", String::from_utf8_lossy(&conv.stderr));
    let xlsx = work.path().join("tasks.xlsx");
    let unzip = Command::new("unzip")
        .arg("-p")
        .arg(&xlsx)
        .arg("xl/worksheets/sheet1.xml")
        .output()
        .unwrap();
    let sheet = String::from_utf8_lossy(&unzip.stdout);
    assert!(sheet.contains("<sheetData"), "read the sheet: {sheet}");
    assert!(
        !sheet.contains("<f>") && !sheet.contains("<f "),
        "a cell became a formula: {sheet}"
    );
}

#[test]
fn resume_keeps_every_sessions_environment_and_refuses_changed_images_unless_forced() {
    let out = tempfile::tempdir().unwrap();
    let (d, file) = experiment(&format!(
        r#"name = "env"
workload = "resize"
executor = "sequential"
sets = 1
repetitions = 2
warmup = 0
[images]
folders = ["../imgs"]
noise = false
[resize]
save = false
[output]
dir = "{}"
"#,
        out.path().display()
    ));
    let imgs = d.path().join("imgs");
    std::fs::create_dir(&imgs).unwrap();
    std::fs::copy(project().join("assets/low-res/low-res-1.jpg"), imgs.join("a.jpg")).unwrap();
    assert_code(&runner().arg(&file).output().unwrap(), 0);
    let dir = results_dir(out.path());
    let first = std::fs::read_to_string(dir.join("env.json")).unwrap();
    // Drop the last row so that there is something to resume, then change an image.
    let runs = std::fs::read_to_string(dir.join("runs.csv")).unwrap();
    let kept: Vec<&str> = runs.lines().take(2).collect();
    std::fs::write(dir.join("runs.csv"), kept.join("\n") + "\n").unwrap();
    std::fs::copy(project().join("assets/low-res/low-res-2.jpg"), imgs.join("a.jpg")).unwrap();

    let refused = runner().arg(&file).arg("--resume").arg(&dir).output().unwrap();
    assert_code(&refused, 2);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("images:") && err.contains("--force"), "{err}");
    assert_eq!(read_csv(&dir.join("runs.csv")).len(), 1, "nothing ran");

    let forced = runner()
        .arg(&file)
        .arg("--resume")
        .arg(&dir)
        .arg("--force")
        .output()
        .unwrap();
    assert_code(&forced, 0);
    assert_eq!(read_csv(&dir.join("runs.csv")).len(), 2);
    // env.json keeps the first session's environment; only how the run ended (its end time,
    // here) is the last session's.
    let json = |t: &str| -> serde_json::Map<String, serde_json::Value> { serde_json::from_str(t).unwrap() };
    let (mut before, mut after) = (
        json(&first),
        json(&std::fs::read_to_string(dir.join("env.json")).unwrap()),
    );
    let (end_before, end_after) = (before.remove("end_utc").unwrap(), after.remove("end_utc").unwrap());
    assert_eq!(after, before, "the first session's environment kept");
    assert!(
        end_after.as_str() >= end_before.as_str(),
        "{end_after} before {end_before}"
    );
    let resumed: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("env-resume-"))
        .collect();
    assert_eq!(resumed.len(), 1, "{resumed:?}");
    let env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(&resumed[0])).unwrap()).unwrap();
    assert_eq!(env["forced"], true);
    assert!(env["changed"][0].as_str().unwrap().starts_with("images:"), "{env}");
}
