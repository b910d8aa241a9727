//! A real Slurm cluster on this machine (loopback only, started by `scripts/slurm-up`): an
//! experiment runs as a job array of shards with a dependent merge job, and a shard that fails
//! is named by the merge, resumed by resubmitting its index, and merged. CI installs Slurm
//! (`scripts/test`) and runs these for real; elsewhere, without Slurm, they say so and skip.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::procs::assert_no_runner_left;
use common::{assert_same_rows, experiment, project, read_csv, runner, skip};

/// One cluster at a time: its ports are fixed.
static CLUSTER: Mutex<()> = Mutex::new(());

struct Cluster {
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts the cluster, or says why it cannot and returns `None` (never outside CI's view:
    /// in CI a missing Slurm fails the test).
    fn up() -> Option<Cluster> {
        let missing: Vec<&str> = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel"]
            .into_iter()
            .filter(|c| {
                !Command::new("sh")
                    .arg("-c")
                    .arg(format!("command -v {c}"))
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
            .collect();
        if !missing.is_empty() {
            skip(&format!(
                "no Slurm here ({missing:?} missing); `scripts/slurm-up --install DIR` installs it as root"
            ));
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(project().join("scripts/slurm-up"))
            .arg(dir.path())
            .output()
            .unwrap();
        let cluster = Cluster { dir };
        assert!(
            out.status.success(),
            "slurm-up failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Some(cluster)
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("slurm.conf")
    }

    /// A Slurm client command against this cluster, bounded in time.
    fn client(&self, cmd: &str, args: &[&str]) -> String {
        let out = Command::new("timeout")
            .arg("30")
            .arg(cmd)
            .args(args)
            .env("SLURM_CONF", self.conf())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{cmd} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The states of a job (an array: one per task), e.g. `["COMPLETED", "FAILED"]`.
    fn states(&self, job: &str) -> Vec<String> {
        self.client("squeue", &["-h", "-t", "all", "-j", job, "-o", "%T"])
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Waits until every task of `job` has ended; returns their states.
    fn wait(&self, job: &str, logs: &Path) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            let s = self.states(job);
            let ended = |x: &String| {
                [
                    "COMPLETED",
                    "FAILED",
                    "CANCELLED",
                    "TIMEOUT",
                    "NODE_FAIL",
                    "OUT_OF_MEMORY",
                    "BOOT_FAIL",
                    "DEADLINE",
                ]
                .iter()
                .any(|e| x.starts_with(e))
            };
            if !s.is_empty() && s.iter().all(ended) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "job {job} still {s:?} after 240 s; logs:\n{}",
                read_logs(logs)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(project().join("scripts/slurm-down"))
            .arg(self.dir.path())
            .status();
    }
}

fn read_logs(dir: &Path) -> String {
    let mut s = String::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        s += &format!(
            "--- {}\n{}\n",
            e.path().display(),
            std::fs::read_to_string(e.path()).unwrap_or_default()
        );
    }
    s
}

/// `runner slurm FILE --shards 2 --submit`: (job folder, array id, merge id).
fn submit(cluster: &Cluster, file: &Path, out: &Path) -> (PathBuf, String, String) {
    let (job, arrays, merge) = submit_with(cluster, file, out, &["--shards", "2"]);
    let [array] = &arrays[..] else { panic!("{arrays:?}") };
    (job, array.clone(), merge)
}

/// `runner slurm FILE ARGS --submit`: (job folder, each array's id, merge id).
fn submit_with(cluster: &Cluster, file: &Path, out: &Path, args: &[&str]) -> (PathBuf, Vec<String>, String) {
    let o = runner()
        .arg("slurm")
        .arg(file)
        .args(args)
        .args(["--submit", "--out"])
        .arg(out)
        .env("SLURM_CONF", cluster.conf())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{text}{}", String::from_utf8_lossy(&o.stderr));
    let after = |key: &str| -> Vec<String> {
        text.lines()
            .filter_map(|line| {
                let rest = &line[line.find(key)? + key.len()..];
                Some(rest.trim().split([' ', ',']).next().unwrap().to_string())
            })
            .collect()
    };
    let one = |key: &str| after(key).pop().unwrap_or_else(|| panic!("no {key:?} in {text}"));
    (PathBuf::from(one("job folder:")), after("array job"), one("merge job"))
}

#[test]
fn an_experiment_runs_as_a_job_array_and_merges_into_the_rows_of_a_single_run() {
    let _g = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let Some(cluster) = Cluster::up() else { return };
    let (d, file) = experiment(
        r#"name = "cl"
workload = ["resize", "spin"]
executor = ["sequential", "thread", "process"]
workers = 2
sets = 1
repetitions = 2
warmup = 1
seed = 5
[spin]
iterations = 100000
[resize]
targets = ["64x64"]
save = false
"#,
    );
    let (job, array, merge) = submit(&cluster, &file, d.path());
    let logs = job.join("logs");
    assert_eq!(
        cluster.wait(&array, &logs),
        ["COMPLETED", "COMPLETED"],
        "{}",
        read_logs(&logs)
    );
    assert_eq!(cluster.wait(&merge, &logs), ["COMPLETED"], "{}", read_logs(&logs));

    let single = d.path().join("single");
    runner()
        .arg("run")
        .arg(&file)
        .arg("-q")
        .arg("--into")
        .arg(&single)
        .assert()
        .success();
    let merged = job.join("merged");
    assert_same_rows(&merged, &single);
    // Each shard ran on its own node, whole (--exclusive), and says so in every row.
    let rows = read_csv(&merged.join("runs.csv"));
    let mut nodes: Vec<(&str, &str)> = rows.iter().map(|r| (r["shard"].as_str(), r["node"].as_str())).collect();
    nodes.sort();
    nodes.dedup();
    assert_eq!(nodes.len(), 2, "{nodes:?}");
    assert_ne!(nodes[0].1, nodes[1].1, "two nodes: {nodes:?}");
    let summary = std::fs::read_to_string(merged.join("summary.md")).unwrap();
    assert!(
        summary.contains("## The answer") && !summary.contains("## Hardware"),
        "{summary}"
    );
    assert!(std::fs::read_to_string(job.join("shards.sbatch"))
        .unwrap()
        .contains("#SBATCH --exclusive"));
    assert_no_runner_left();
}

#[test]
fn a_failed_shard_is_named_by_the_merge_and_resubmitting_it_completes_the_run() {
    let _g = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let Some(cluster) = Cluster::up() else { return };
    // Two cells of about 7 s and 5 s: one per shard, long enough to cancel the second mid-way.
    let (d, file) = experiment(
        r#"name = "cut"
workload = "sleep"
executor = ["sequential", "thread"]
workers = 2
sets = 1
repetitions = 6
warmup = 0
[sleep]
ms = 300
"#,
    );
    let (job, array, merge) = submit(&cluster, &file, d.path());
    let logs = job.join("logs");
    let second = job.join("shard-2-of-2");
    // Cancel shard 2 once it has measured something.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !second.join("runs.csv").exists() {
        assert!(
            Instant::now() < deadline,
            "shard 2 never wrote a row; logs:\n{}",
            read_logs(&logs)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    cluster.client("scancel", &[&format!("{array}_2")]);
    let states = cluster.wait(&array, &logs);
    assert!(
        states.contains(&"COMPLETED".to_string()) && states.iter().any(|s| s.starts_with("CANCELLED")),
        "{states:?}"
    );
    // The merge still runs (afterany), names the shard and how to finish it, and fails.
    assert_eq!(cluster.wait(&merge, &logs), ["FAILED"]);
    let log = std::fs::read_to_string(logs.join("merge.out")).unwrap();
    assert!(log.contains("shard 2/2") && log.contains("--resume"), "{log}");
    assert!(!job.join("merged").exists());
    assert_no_runner_left();

    // Resubmitting index 2 continues its folder; the merge then completes.
    let again = cluster.client(
        "sbatch",
        &["--parsable", "--array=2", job.join("shards.sbatch").to_str().unwrap()],
    );
    let again = again.trim().split(';').next().unwrap().to_string();
    assert_eq!(cluster.wait(&again, &logs), ["COMPLETED"], "{}", read_logs(&logs));
    let m = cluster.client("sbatch", &["--parsable", job.join("merge.sbatch").to_str().unwrap()]);
    assert_eq!(
        cluster.wait(m.trim().split(';').next().unwrap(), &logs),
        ["COMPLETED"],
        "{}",
        read_logs(&logs)
    );
    let rows = read_csv(&job.join("merged/runs.csv"));
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().all(|r| r["error"].is_empty()));
    assert_no_runner_left();
}

#[test]
fn two_partitions_answer_side_by_side_and_agree_within_their_bounds() {
    // It compares intervals: no other test's runs beside it. The cluster first: the other
    // cluster tests take it before any runner holds the machine shared.
    let _g = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let _alone = common::alone();
    let Some(cluster) = Cluster::up() else { return };
    // Sleep tasks: their ratios hold however busy the cores are. The two partitions' nodes are
    // this machine, so their arrays run in turn (--in-turn). The partitions come from the file.
    let (d, file) = experiment(
        r#"name = "kinds"
workload = "sleep"
executor = ["sequential", "thread", "process"]
workers = 2
sets = 2
repetitions = 6
warmup = 0
[sleep]
ms = 20
[slurm]
partitions = ["a", "b"]
"#,
    );
    let (job, arrays, merge) = submit_with(&cluster, &file, d.path(), &["--shards", "1", "--in-turn"]);
    let logs = job.join("logs");
    assert_eq!(arrays.len(), 2, "one array per partition: {arrays:?}");
    for a in &arrays {
        assert_eq!(cluster.wait(a, &logs), ["COMPLETED"], "{}", read_logs(&logs));
    }
    assert_eq!(cluster.wait(&merge, &logs), ["COMPLETED"], "{}", read_logs(&logs));
    let merged = job.join("merged");
    // Every row keeps its kind: each partition ran the whole matrix on its own node.
    let rows = read_csv(&merged.join("runs.csv"));
    assert_eq!(rows.len(), 2 * 3 * 6);
    for p in ["a", "b"] {
        let on: Vec<_> = rows.iter().filter(|r| r["partition"] == p).collect();
        assert_eq!(on.len(), 18, "partition {p}");
        assert!(
            on.iter().all(|r| r["node"] == if p == "a" { "n1" } else { "n2" }),
            "{on:?}"
        );
    }
    let env = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(merged.join(name)).unwrap()).unwrap()
    };
    let (on_a, on_b) = (env("env-shard-a-1.json"), env("env-shard-b-1.json"));
    assert!(
        on_b["start_utc"].as_str().unwrap() >= on_a["end_utc"].as_str().unwrap(),
        "in turn: b started {} before a ended {}",
        on_b["start_utc"],
        on_a["end_utc"]
    );
    let summary = std::fs::read_to_string(merged.join("summary.md")).unwrap();
    assert!(
        summary.contains("## The answer, per kind of machine") && summary.contains("| comparison | a | b |"),
        "{summary}"
    );
    assert!(summary.contains("sleep, 2 workers: thread vs process |"), "{summary}");
    assert!(
        summary.contains("Where the answer changes between kinds of machine:"),
        "{summary}"
    );
    assert!(
        summary.contains("### On a (") && summary.contains("### On b ("),
        "{summary}"
    );
    let html = std::fs::read_to_string(merged.join("report.html")).unwrap();
    assert!(html.contains("id=\"kinds\"") && html.contains("<th title="), "{html}");
    // The same hardware: each comparison's two intervals overlap, and no line says otherwise.
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(merged.join("results.json")).unwrap()).unwrap();
    let verdicts = results["verdicts"].as_array().unwrap();
    let interval = |kind: &str| -> (f64, f64) {
        let v = verdicts
            .iter()
            .find(|v| v["kind"] == kind && v["a_name"] == "thread" && v["b_name"] == "process")
            .unwrap_or_else(|| panic!("no verdict on {kind}: {verdicts:?}"));
        (
            v["ratio"]["ci_low"].as_f64().unwrap(),
            v["ratio"]["ci_high"].as_f64().unwrap(),
        )
    };
    let (a, b) = (interval("a"), interval("b"));
    assert!(
        a.0 <= b.1 && b.0 <= a.1,
        "the intervals on a {a:?} and b {b:?} do not overlap\n{summary}"
    );
    let changes = &results["by_kind"]["changes"];
    assert!(changes.as_array().unwrap().is_empty(), "{changes}\n{summary}");
    assert!(summary.contains("- the same on every kind"), "{summary}");
    assert_no_runner_left();
}

#[test]
fn partitions_on_the_command_line_replace_the_files_and_each_gets_an_array() {
    // No cluster: without --submit, `runner slurm` writes the scripts and says how to submit.
    let (d, file) = experiment(
        r#"name = "kinds"
workload = "sleep"
executor = ["thread", "process"]
workers = 2
[sleep]
ms = 1
[slurm]
partitions = ["x"]
"#,
    );
    let out = runner()
        .args(["slurm", file.to_str().unwrap(), "--shards", "2"])
        .args(["--partition", "a", "--partition", "b", "--out"])
        .arg(d.path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let job = PathBuf::from(
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("job folder: "))
            .unwrap_or_else(|| panic!("{stdout}")),
    );
    for p in ["a", "b"] {
        let script = std::fs::read_to_string(job.join(format!("shards-{p}.sbatch"))).unwrap();
        assert!(script.contains(&format!("#SBATCH --partition={p}\n")), "{script}");
        assert!(script.contains("#SBATCH --array=1-2\n"), "{script}");
        assert!(stdout.contains(&format!("shards-{p}.sbatch")), "{stdout}");
    }
    assert!(
        !job.join("shards-x.sbatch").exists(),
        "the command line replaces the file's list"
    );
    let merge = std::fs::read_to_string(job.join("merge.sbatch")).unwrap();
    assert!(
        merge.contains("#SBATCH --partition=a\n"),
        "the merge runs on the first: {merge}"
    );
    assert!(
        stdout.contains("--dependency=afterany:${id0%%;*}:${id1%%;*}"),
        "{stdout}"
    );
    assert!(
        stdout.contains("id1=$(sbatch --parsable /"),
        "at once by default: {stdout}"
    );
    // --in-turn: each partition's array waits for the one before it to end.
    let turn = tempfile::tempdir().unwrap();
    let out = runner()
        .args(["slurm", file.to_str().unwrap(), "--shards", "2", "--in-turn"])
        .args(["--partition", "a", "--partition", "b", "--out"])
        .arg(turn.path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains("id1=$(sbatch --parsable --dependency=afterany:${id0%%;*} "),
        "{stdout}"
    );
    assert!(
        stdout.contains("id0=$(sbatch --parsable /"),
        "the first waits for none: {stdout}"
    );
    // With one array there is nothing to order: it says so.
    let one = tempfile::tempdir().unwrap();
    runner()
        .args([
            "slurm",
            file.to_str().unwrap(),
            "--shards",
            "2",
            "--in-turn",
            "--partition",
            "a",
            "--out",
        ])
        .arg(one.path())
        .assert()
        .success()
        .stderr(predicates::str::contains("with one array it changes nothing"));
    // A name sbatch cannot take is refused before any file is written.
    let empty = tempfile::tempdir().unwrap();
    runner()
        .args(["slurm", file.to_str().unwrap(), "--partition", "a b", "--out"])
        .arg(empty.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--partition"));
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
}
