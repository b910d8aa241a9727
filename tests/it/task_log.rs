//! `[output] task_log`: tasks.csv and run.log keep every task's row, only the failed ones', or
//! none; runs.csv counts every task either way, and resume knows how many rows a whole
//! repetition leaves.

use crate::common;

use common::{experiment, read_csv, results_dir, runner};

#[test]
fn task_log_keeps_all_failed_or_no_task_rows_and_runs_csv_counts_every_task() {
    // Tasks 0 and 3 of each repetition's six fail; two pools, two repetitions each.
    for (log, kept) in [("all", 6), ("failed", 2), ("none", 0)] {
        let out = tempfile::tempdir().unwrap();
        let (_d, file) = experiment(&format!(
            r#"name = "tl"
workload = "command"
executor = ["sequential", "thread"]
workers = 2
inputs = 6
sets = 1
repetitions = 2
warmup = 0
[command]
argv = "test $(({{index}} % 3)) -ne 0"
shell = true
[output]
dir = {:?}
task_log = "{log}"
"#,
            out.path()
        ));
        let o = runner().arg(&file).arg("-q").output().unwrap();
        let dir = results_dir(out.path());
        let runs = read_csv(&dir.join("runs.csv"));
        assert_eq!(runs.len(), 4, "{log}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(runs
            .iter()
            .all(|r| r["tasks"] == "6" && r["tasks_failed"] == "2" && !r["task_p50_ms"].is_empty()));
        let tasks = match dir.join("tasks.csv").exists() {
            true => read_csv(&dir.join("tasks.csv")),
            false => Vec::new(),
        };
        assert_eq!(tasks.len(), 4 * kept, "{log}");
        if log == "failed" {
            assert!(tasks.iter().all(|t| t["status"] == "failed"), "{tasks:?}");
        }
        let text = std::fs::read_to_string(dir.join("run.log")).unwrap_or_default();
        let lines = |what: &str| text.lines().filter(|l| l.contains(what)).count();
        assert_eq!(lines(": FAILED: ") + lines(": ok "), 4 * kept, "{log}: {text}");
        let env: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("env.json")).unwrap()).unwrap();
        let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
        match log {
            "all" => assert!(env.get("task_log").is_none() && !summary.contains("`[output] task_log`")),
            _ => assert!(
                env["task_log"] == log && summary.contains("`[output] task_log`"),
                "{summary}"
            ),
        }
        // Resuming the whole run finds nothing lacking: no repetition runs again.
        runner()
            .arg(&file)
            .arg("-q")
            .arg("--resume")
            .arg(&dir)
            .output()
            .unwrap();
        assert_eq!(
            read_csv(&dir.join("runs.csv")).len(),
            4,
            "{log}: a resume ran whole repetitions again"
        );
    }
}
