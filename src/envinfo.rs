//! The run's environment as recorded in env.json (machine, versions, command line, what each
//! workload prepared), and the timestamps that name results folders.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::experiment::Experiment;
use crate::measure::cores;

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

/// env.json: the machine, runner, experiment and command line, plus the facts each workload's
/// `prepare` recorded (ONNX Runtime, the model and its hash, pre-optimisation time).
pub fn env_json(
    exp: &Experiment,
    quiet: bool,
    prepared: &serde_json::Map<String, serde_json::Value>,
    start: SystemTime,
    end: Option<SystemTime>,
) -> String {
    let mut sys = sysinfo::System::new();
    sys.refresh_memory();
    sys.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
    let mut v = serde_json::json!({
        "runner_version": env!("CARGO_PKG_VERSION"),
        "git_commit": env!("RUNNER_GIT_COMMIT"),
        "command_line": std::env::args().collect::<Vec<_>>(),
        "experiment_file": exp.file,
        "experiment_sha256": exp.sha256,
        "experiment_text": exp.text,
        "seed": exp.seed,
        "start_utc": timestamp(start),
        "end_utc": end.map(timestamp),
        "cores": cores(),
        "cpu_model": sys.cpus().first().map(|c| c.brand().to_string()),
        "memory_total_bytes": sys.total_memory(),
        "os": sysinfo::System::long_os_version(),
        "kernel": sysinfo::System::kernel_version(),
        "node": node(),
        "hardware": hardware(),
        "quiet": quiet,
    });
    if let Some(map) = v.as_object_mut() {
        map.extend(prepared.clone());
    }
    serde_json::to_string_pretty(&v).unwrap_or_default()
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
