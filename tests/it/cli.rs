//! The binary end to end: the smoke experiment on every executor, plan, validate, bad input.

use crate::common;

use common::*;
use predicates::str::contains;
use sha2::Digest;

#[test]
fn smoke_runs_every_executor_and_writes_whole_rows() {
    let out = tempfile::tempdir().unwrap();
    runner()
        .arg(project().join("experiments/smoke.toml"))
        .arg("--out")
        .arg(out.path())
        .current_dir("/")
        .assert()
        .success()
        .stdout(contains("resize-sequential-w1-s2"))
        .stdout(contains("resize-process-w2-s2"))
        .stdout(contains("results: "));
    let dir = results_dir(out.path());
    let runs = read_csv(&dir.join("runs.csv"));
    assert_eq!(runs.len(), 18, "3 executors x 6 repetitions");
    for r in &runs {
        let workers = if r["executor"] == "sequential" { 1.0 } else { 2.0 };
        assert_eq!(num(r, "workers"), workers, "{r:?}");
        assert_eq!(num(r, "tasks"), 6.0);
        assert_eq!(r["tasks_ok"], r["tasks"], "{r:?}");
        assert_eq!(r["error"], "");
        assert_eq!(r["warmup"], "false");
        assert_eq!(num(r, "seed"), 7.0);
        // The three phases tile the wall time: only reading the PSS lies between them.
        let phases = num(r, "pool_start_s") + num(r, "task_phase_s") + num(r, "shutdown_s");
        let wall = num(r, "wall_s");
        assert!(
            wall > 0.0 && (wall - phases).abs() <= 0.005 + 0.03 * wall,
            "phases {phases} vs wall {wall}: {r:?}"
        );
        assert!((num(r, "throughput_tps") - 6.0 / wall).abs() < 0.01, "{r:?}");
        assert!(num(r, "user_s") + num(r, "sys_s") > 0.0, "CPU seconds measured: {r:?}");
        assert!(num(r, "throughput_tps") > 0.0);
        assert!(num(r, "cpu_util_pct") > 0.0 && num(r, "cpu_util_pct") <= 100.0 * 1.05);
        assert!(num(r, "peak_rss_mib") > 1.0);
        assert!(num(r, "task_p95_ms") >= num(r, "task_p50_ms"));
        assert_eq!(num(r, "resize_tasks_ok"), 6.0);
        assert!(num(r, "decode_ms") > 0.0 && num(r, "resize_ms") > 0.0 && num(r, "encode_ms") > 0.0);
        assert_eq!(num(r, "workers_started"), workers);
    }
    // Process-pool memory is summed over the parent and each worker.
    let process = runs.iter().find(|r| r["executor"] == "process").unwrap();
    assert!(num(process, "peak_rss_mib") > num(process, "parent_peak_rss_mib"));

    let tasks = read_csv(&dir.join("tasks.csv"));
    assert_eq!(tasks.len(), 108);
    assert!(tasks.iter().all(|t| t["status"] == "ok" && t["error"].is_empty()));
    let sources: std::collections::BTreeSet<&str> = tasks.iter().map(|t| t["source"].as_str()).collect();
    assert_eq!(
        sources.into_iter().collect::<Vec<_>>(),
        ["high-res", "low-res", "noise"]
    );
    // Same draws for every executor: the (rep, task) -> image map is identical.
    let draws = |exec: &str| -> Vec<(String, String, String)> {
        let mut v: Vec<_> = tasks
            .iter()
            .filter(|t| t["cell"].contains(exec))
            .map(|t| (t["rep"].clone(), t["task"].clone(), t["image"].clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(draws("sequential"), draws("thread"));
    assert_eq!(draws("sequential"), draws("process"));

    let log = std::fs::read_to_string(dir.join("run.log")).unwrap();
    assert_eq!(log.lines().count(), 108);
    assert!(log.lines().all(|l| l.contains(": ok ")));
    let saved = std::fs::read_dir(dir.join("images/resize-thread-w2-s2"))
        .unwrap()
        .count();
    assert!(saved >= 2 * 3, "resized images are saved: {saved}");
    assert!(dir.join("experiment.toml").exists() && dir.join("summary.md").exists());
    assert!(dir.join("throughput-resize.svg").exists() && dir.join("cost-resize.svg").exists());
    for r in &runs {
        assert!(num(r, "pss_mib") > 1.0, "{r:?}");
        assert!(r["noisy"] == "true" || r["noisy"] == "false");
    }
    let env: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("env.json")).unwrap()).unwrap();
    assert!(env["cores"].as_u64().unwrap() >= 1);
    assert!(env["memory_total_bytes"].as_u64().unwrap() > 0);
    for key in [
        "git_commit",
        "runner_version",
        "kernel",
        "os",
        "start_utc",
        "end_utc",
        "experiment_text",
    ] {
        assert!(env[key].is_string(), "env.json {key}: {}", env[key]);
    }
    let text = std::fs::read(project().join("experiments/smoke.toml")).unwrap();
    assert_eq!(
        env["experiment_sha256"].as_str().unwrap(),
        runner::spec::hex(&sha2::Sha256::digest(&text))
    );
    assert!(env["command_line"].as_array().unwrap().len() >= 2);

    // results.json holds the same records as runs.csv, typed, with the summaries and verdicts.
    let results = runner::export::json::read(&dir.join("results.json")).unwrap();
    assert_eq!(results.schema, runner::export::json::SCHEMA);
    let csv = runner::export::csv::read_runs(&dir).unwrap();
    assert_eq!(results.runs.len(), 18);
    assert_eq!(results.runs, csv, "results.json and runs.csv hold the same typed rows");
    assert!(results.runs.iter().any(|r| r.cell.id() == "resize-sequential-w1-s2"));
    assert!(
        results.runs.iter().all(|r| r.round == Some(r.rep)),
        "paired rounds by default"
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["cells"].as_array().unwrap().len(), 3);
    let verdicts = json["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 1, "thread vs process: {verdicts:?}");
    assert!(verdicts[0]["line"].as_str().unwrap().starts_with("resize, 2 workers: "));
    assert_eq!(json["env"]["experiment_sha256"], env["experiment_sha256"]);
}

#[test]
fn plan_lists_cells_and_runs_nothing() {
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = experiment(&format!(
        r#"name = "p"
workload = ["resize", "classify"]
executor = ["sequential", "thread", "process"]
workers = [1, 2, 4]
intra_op_threads = [1, 2]
sets = 2
repetitions = 3
warmup = 1
[[exclude]]
executor = "process"
workers = 4
[output]
dir = "{}"
"#,
        out.path().display()
    ));
    runner()
        .arg("plan")
        .arg(&file)
        .assert()
        .success()
        .stdout(contains("classify-thread-w4-i2-s2"))
        .stdout(contains("resize-sequential-w1-s2"))
        .stdout(contains(
            "18 cells x (1 warm-up + 3 measured) repetitions = 72 repetitions, 432 tasks",
        ));
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0, "plan writes nothing");
    runner()
        .arg("validate")
        .arg(&file)
        .assert()
        .success()
        .stdout(contains("ok: 18 cells"));
}

#[test]
fn bad_experiments_exit_2_naming_file_key_and_line_and_run_nothing() {
    let cases = [
        (
            r#"name = "b"
workload = "resize"
executor = "thread"
workers = 0
"#,
            "key `workers`",
            ":4",
        ),
        (
            r#"name = "b"
workload = "resize"
executor = "thread"
worker = 2
"#,
            "unknown field `worker`",
            ":4",
        ),
        (
            r#"name = "b"
workload = "resize"
executor = "thread"
workers = "2"
"#,
            "invalid type",
            ":4",
        ),
        (
            "name = \"b\"\nworkload = \"resize\"\nexecutor = []\n",
            "key `executor`",
            ":3",
        ),
        (
            r#"name = "b"
workload = "resize"
executor = "thread"
[images]
folders = ["../missing"]
"#,
            "key `images.folders`",
            ":5",
        ),
        (
            r#"name = "b"
workload = "resize"
executor = "thread"
workers = [1, 1]
"#,
            "twice",
            ":4",
        ),
        (
            r#"name = "b"
workload = "resize"
executor = "thread"
workers = 1000000
"#,
            "--allow-large",
            ":4",
        ),
        ("name = \"b\"\nworkload = \"resize\n", "x.toml", ":2"),
        (
            r#"name = "b"
workload = "resize"
executor = "thread"
[[exclude]]
workload = "resize"
"#,
            "every cell is excluded",
            "",
        ),
    ];
    for (body, says, line) in cases {
        let out = tempfile::tempdir().unwrap();
        let (_d, file) = experiment(body);
        let assert = runner().arg(&file).arg("--out").arg(out.path()).assert().code(2);
        let err = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert!(err.contains("x.toml"), "names the file: {err}");
        assert!(err.contains(says), "{body:?} should say {says:?}: {err}");
        assert!(
            err.contains(&format!("x.toml{line}")),
            "{body:?} should give line {line:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(
            std::fs::read_dir(out.path()).unwrap().count(),
            0,
            "nothing written for {body:?}"
        );
        runner().arg("validate").arg(&file).assert().code(2);
    }
}

#[test]
fn usage_errors_exit_2() {
    runner().assert().code(2).stderr(contains("no experiment file"));
    runner()
        .arg("/nonexistent/exp.toml")
        .assert()
        .code(2)
        .stderr(contains("cannot read"));
    assert_cmd::Command::cargo_bin("runner")
        .unwrap()
        .env(common::procs::TAG, common::procs::tag())
        .arg("--bogus")
        .assert()
        .code(2);
}

#[test]
fn a_results_folder_that_cannot_be_created_is_a_clear_error() {
    let blocker = tempfile::NamedTempFile::new().unwrap();
    runner()
        .arg(project().join("experiments/smoke.toml"))
        .arg("--out")
        .arg(blocker.path())
        .assert()
        .code(1)
        .stderr(contains("cannot create the results folder"));
}

#[test]
fn synthetic_spin_and_sleep_run_on_every_executor() {
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = experiment(&format!(
        r#"name = "syn"
workload = ["spin", "sleep"]
executor = ["sequential", "thread", "process"]
workers = 2
sets = 2
repetitions = 1
warmup = 0
[spin]
iterations = 200000
[sleep]
ms = 20
[output]
dir = "{}"
"#,
        out.path().display()
    ));
    runner().arg(&file).assert().success();
    let runs = read_csv(&results_dir(out.path()).join("runs.csv"));
    assert_eq!(runs.len(), 6);
    for r in &runs {
        assert_eq!(r["tasks_ok"], "6", "{r:?}");
    }
    // Sleeping: 6 x 20 ms in sequence, about half of it with two workers.
    let sleep = |exec: &str| {
        num(
            runs.iter()
                .find(|r| r["workload"] == "sleep" && r["executor"] == exec)
                .unwrap(),
            "task_phase_s",
        )
    };
    assert!(sleep("sequential") >= 0.12, "{}", sleep("sequential"));
    assert!(sleep("thread") < sleep("sequential") * 0.8);
    assert!(sleep("process") < sleep("sequential") * 0.8);
}
