//! The run's environment as recorded in env.json ([`Env`]: machine, versions, command line,
//! what each workload prepared), and the timestamps that name results folders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::experiment::Experiment;
use crate::measure::{cores, Noise};
use crate::plan::{Question, Split};
use crate::record::TaskLog;
use crate::results_dir::ResultsDir;
use crate::workload::RunFacts;

/// UTC time as `20261123T081500Z`.
pub fn timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The machine this runs on: Slurm's node name under Slurm, else the host name.
pub fn node() -> String {
    std::env::var("SLURMD_NODENAME")
        .ok()
        .filter(|n| !n.is_empty())
        .or_else(sysinfo::System::host_name)
        .unwrap_or_else(|| "unknown".into())
}

/// The Slurm partition this job runs in (`SLURM_JOB_PARTITION`); `None` outside Slurm.
pub fn partition() -> Option<String> {
    std::env::var("SLURM_JOB_PARTITION").ok().filter(|p| !p.is_empty())
}

/// What kind of machine this is, for telling rows that compare from rows that do not:
/// `Intel(R) Xeon(R) ... / 2 cores / 24 GiB`. Cores are the ones this process may use.
pub fn hardware() -> String {
    let mut sys = sysinfo::System::new();
    sys.refresh_memory();
    sys.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
    let cpu = sys
        .cpus()
        .first()
        .map_or("unknown CPU".to_string(), |c| c.brand().trim().to_string());
    let gib = (sys.total_memory() as f64 / (1u64 << 30) as f64).round();
    format!("{cpu} / {} cores / {gib} GiB", cores())
}

/// env.json: what one session of a run ran on and with, written and read through this one type
/// (resume, merge and the report read it). A merged folder's env.json has the same fields it
/// knows, and its own (`merged`, `shards`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Env {
    #[serde(default)]
    pub runner_version: String,
    #[serde(default)]
    pub git_commit: String,
    #[serde(default)]
    pub command_line: Vec<String>,
    #[serde(default)]
    pub experiment_file: Option<PathBuf>,
    #[serde(default)]
    pub experiment_sha256: String,
    #[serde(default)]
    pub experiment_text: String,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub start_utc: Option<String>,
    #[serde(default)]
    pub end_utc: Option<String>,
    #[serde(default)]
    pub cores: usize,
    #[serde(default)]
    pub cpu_model: Option<String>,
    #[serde(default)]
    pub memory_total_bytes: u64,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub kernel: Option<String>,
    #[serde(default)]
    pub node: Option<String>,
    #[serde(default)]
    pub hardware: Option<String>,
    /// The Slurm partition it ran in, under Slurm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    #[serde(default)]
    pub quiet: bool,
    /// The bound within which two pools count as equal (`equivalence`).
    #[serde(default)]
    pub equivalence: Option<f64>,
    /// Which pairs of pools the answer states (`[answer]`; absent: the default pairs).
    #[serde(default, skip_serializing_if = "Question::is_default")]
    pub question: Question,
    /// Which tasks' rows tasks.csv and run.log keep (`[output] task_log`; absent: all).
    #[serde(default, skip_serializing_if = "TaskLog::is_all")]
    pub task_log: TaskLog,
    /// A zip ties the sets to the workers: the work grew with them (weak scaling).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub weak_scaling: bool,
    /// What must not change between the sessions of one run (resume compares it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fingerprint: BTreeMap<String, String>,
    /// When the run was one shard of a larger one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardOf>,
    /// The machine's timing noise, measured at the start of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing_noise: Option<Noise>,
    /// The round counts at which the verdicts are looked at (one look: the repetitions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub looks: Option<Vec<usize>>,
    /// A run until decided: why its rounds stopped, as the last session left it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<Stopped>,
    /// A resumed session: whether `--force` let it resume, and what had changed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resumed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forced: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<Vec<String>>,
    /// A merged folder (`runner merge`): when, how the shards were split, and which shard ran
    /// where (each one's whole environment is its `env-shard-I.json`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub merged: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_utc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<MergedShard>,
    /// What the preparation found (the JPEG encoder, ONNX Runtime, the models, the Python
    /// interpreters), flat under its own keys.
    #[serde(flatten)]
    pub facts: RunFacts,
}

/// Why a run that repeats until decided stopped its rounds: env.json's `stopped`, by these
/// names, which scripts read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stopped {
    /// Every verdict was decided.
    #[serde(rename = "decided")]
    Decided,
    /// `max` rounds ran with some verdicts undecided.
    #[serde(rename = "max repetitions")]
    MaxRepetitions,
    /// The next look's rounds would have ended past `time_budget_s`.
    #[serde(rename = "budget")]
    Budget,
    /// Interrupted before it could decide.
    #[serde(rename = "interrupted")]
    Interrupted,
    /// A file the run reads changed while it ran.
    #[serde(rename = "inputs changed")]
    InputsChanged,
}

/// Where one shard of a merged run ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedShard {
    pub shard: String,
    pub folder: PathBuf,
    pub node: Option<String>,
    pub hardware: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    pub cpu_model: Option<String>,
    pub cores: usize,
    pub memory_total_bytes: u64,
    pub start_utc: Option<String>,
    pub end_utc: Option<String>,
}

/// Which shard a run was, as env.json records it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ShardOf {
    pub index: usize,
    pub count: std::num::NonZeroUsize,
    pub split: Split,
}

impl Env {
    /// This session's environment: the machine, runner, experiment and command line, plus the
    /// facts each workload's `prepare` recorded.
    pub fn now(exp: &Experiment, quiet: bool, start: SystemTime) -> Env {
        let mut sys = sysinfo::System::new();
        sys.refresh_memory();
        sys.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
        Env {
            runner_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: env!("RUNNER_GIT_COMMIT").to_string(),
            command_line: std::env::args().collect(),
            experiment_file: Some(exp.file.clone()),
            experiment_sha256: exp.sha256.clone(),
            experiment_text: exp.text.clone(),
            start_utc: Some(timestamp(start)),
            end_utc: None,
            cores: cores(),
            cpu_model: sys.cpus().first().map(|c| c.brand().to_string()),
            memory_total_bytes: sys.total_memory(),
            os: sysinfo::System::long_os_version(),
            kernel: sysinfo::System::kernel_version(),
            node: Some(node()),
            hardware: Some(hardware()),
            partition: partition(),
            quiet,
            ..Env::asked(exp)
        }
    }

    /// What the experiment asks of its answer, for a report read back from env.json: the
    /// seed, the equivalence bound, the question and whether the work grew with the workers.
    pub fn asked(exp: &Experiment) -> Env {
        Env {
            seed: exp.seed,
            equivalence: Some(exp.equivalence),
            question: exp.question.clone(),
            weak_scaling: exp.axes.zips.iter().any(|z| z.weak_scaling()),
            task_log: exp.task_log,
            ..Env::default()
        }
    }

    /// The env.json of a results folder; `None` when it has none, or not one of this shape.
    pub fn read(dir: &Path) -> Option<Env> {
        serde_json::from_str(&std::fs::read_to_string(ResultsDir::at(dir).env()).ok()?).ok()
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, serde_json::to_string_pretty(self).map_err(std::io::Error::other)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_civil_dates() {
        assert_eq!(timestamp(UNIX_EPOCH), "19700101T000000Z");
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_795_420_815);
        assert_eq!(timestamp(t), "20261123T080015Z");
        let leap = UNIX_EPOCH + std::time::Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(timestamp(leap), "20000229T000000Z");
    }
}
