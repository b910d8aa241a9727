//! The runner's own numbers against independent meters, one at a time and beside no other
//! measuring or building test ([`alone`]). The kernel's account of the CPU is `wait4`'s of the
//! runner's own process, so that other tests' children in this binary do not enter it.

use crate::common;

use std::io::{Read, Seek};
use std::process::{Command, Stdio};

use common::*;

/// Runs the experiment `body`; returns its rows and the CPU seconds that the kernel accounts to
/// the runner's process and every descendant it reaped (`wait4` on the runner itself).
fn run(body: &str) -> (Vec<Row>, f64) {
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = experiment(&format!("{body}\n[output]\ndir = \"{}\"\n", out.path().display()));
    let mut log = tempfile::tempfile().unwrap();
    common::share_machine();
    // No timing-noise probe: its CPU is the orchestrator's, outside every row.
    // Reaped by wait4 below, which std cannot do while keeping the rusage.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_runner"))
        .env("RUNNER_NOISE_PROBE_S", "0")
        .env(common::procs::TAG, common::procs::tag())
        .arg(&file)
        .arg("--quiet")
        .stdout(Stdio::null())
        .stderr(log.try_clone().unwrap())
        .spawn()
        .unwrap();
    let (mut status, mut r): (libc::c_int, libc::rusage) = (0, unsafe { std::mem::zeroed() });
    // SAFETY: wait4 writes the status and the struct; the child is ours and not yet reaped.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut r) };
    assert_eq!(
        pid,
        child.id() as libc::pid_t,
        "wait4: {}",
        std::io::Error::last_os_error()
    );
    let mut stderr = String::new();
    log.rewind().and_then(|()| log.read_to_string(&mut stderr)).ok();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{status}: {stderr}"
    );
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu = s(r.ru_utime) + s(r.ru_stime);
    (read_csv(&results_dir(out.path()).join("runs.csv")), cpu)
}

#[test]
fn cpu_time_and_summed_peak_memory_match_independent_meters() {
    let _alone = alone();
    // CPU: the kernel's account of the runner's whole process tree against the sum of
    // user_s + sys_s over every row. Spin work makes the runner's own start-up and bookkeeping
    // outside the measured windows small beside it.
    let (rows, meter) = run(r#"name = "cpu"
workload = "spin"
executor = ["thread", "process"]
workers = 2
sets = 4
repetitions = 3
warmup = 0
[spin]
iterations = 40000000"#);
    let ours: f64 = rows.iter().map(|r| num(r, "user_s") + num(r, "sys_s")).sum();
    let diff = (ours - meter).abs() / meter;
    println!(
        "CPU: runner says {ours:.3} s, kernel (RUSAGE_CHILDREN) says {meter:.3} s: {:.2} % apart",
        diff * 100.0
    );
    assert!(
        meter > 2.0,
        "enough work to measure (faster machines need more iterations): {meter}"
    );
    assert!(
        diff <= 0.02,
        "CPU seconds {ours} vs {meter}: {:.2} % apart",
        diff * 100.0
    );

    // Memory: every alloc task allocates and touches a known amount. The summed peak of a run
    // with 129 MiB tasks minus one with 1 MiB tasks must be 128 MiB per worker holding it.
    let peaks = |mib: usize| -> Vec<(String, f64)> {
        run(&format!(
            r#"name = "mem"
workload = "alloc"
executor = ["sequential", "thread", "process"]
workers = 2
sets = 1
repetitions = 1
warmup = 0
[alloc]
mib = {mib}
hold_ms = 150"#
        ))
        .0
        .iter()
        .map(|r| (r["executor"].clone(), num(r, "peak_rss_mib")))
        .collect()
    };
    let (small, big) = (peaks(1), peaks(129));
    for ((exec, a), (_, b)) in small.iter().zip(&big) {
        let holders = if exec == "sequential" { 1.0 } else { 2.0 };
        let expected = 128.0 * holders;
        let got = b - a;
        println!("memory: {exec}: summed peak grew by {got:.1} MiB, expected {expected} MiB");
        assert!(
            (got - expected).abs() / expected <= 0.05,
            "{exec}: {got} MiB vs {expected} MiB"
        );
    }
}

/// Other processes' CPU: a thread of this test spins on one core while the runner's tasks only
/// sleep, so every repetition must report about one core's worth of its wall time as others'
/// (a clamped or mis-subtracted figure reads 0 or counts the runner's own work).
#[test]
fn other_processes_cpu_is_what_they_used() {
    let _alone = alone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let spinner = std::thread::spawn(move || {
        let mut x = 0u64;
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(100));
    let (rows, _) = run(r#"name = "other"
workload = "sleep"
executor = ["sequential", "process"]
workers = 2
sets = 4
repetitions = 2
warmup = 0
[sleep]
ms = 60"#);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    spinner.join().unwrap();
    for r in &rows {
        let (other, wall) = (num(r, "other_cpu_s"), num(r, "wall_s"));
        println!("{}: other processes {other:.3} CPU s over {wall:.3} s", r["cell"]);
        assert!(other >= 0.6 * wall, "the spinning thread is not seen: {r:?}");
        assert!(
            other <= num(r, "cores") * wall + 0.1,
            "more than the machine has: {r:?}"
        );
        // The rule runs.csv applies, on whatever machine this runs: a busy core is more than
        // NOISY_SHARE of a machine of up to 9 cores (this one has 2), and on such a machine it
        // must be flagged.
        let cores = num(r, "cores");
        let rule = other > runner::record::NOISY_SHARE * cores * wall && other > runner::record::NOISY_FLOOR_S;
        assert_eq!(
            r["noisy"] == "true",
            rule,
            "noisy is not the rule applied to this row: {r:?}"
        );
        if cores < 10.0 {
            assert_eq!(r["noisy"], "true", "one busy core of {cores} is noise: {r:?}");
        }
    }
}

/// PSS peak, sampled while the pool runs: two process workers each holding 256 MiB at once
/// must raise the peak by 512 MiB (against the same run holding 1 MiB each), within 5 %.
/// The end-of-task-phase PSS misses it: the blocks are freed by then.
#[test]
fn the_sampled_pss_peak_sees_what_the_workers_held() {
    let _alone = alone();
    let peak = |mib: usize| -> (f64, f64) {
        let (rows, _) = run(&format!(
            r#"name = "pss"
workload = "alloc"
executor = "process"
workers = 2
sets = 1
repetitions = 1
warmup = 0
[alloc]
mib = {mib}
hold_ms = 400"#
        ));
        (num(&rows[0], "pss_peak_mib"), num(&rows[0], "pss_mib"))
    };
    let ((small, _), (big, end)) = (peak(1), peak(257));
    let rise = big - small;
    println!("PSS peak rose by {rise:.1} MiB (expected 512); PSS at the end of the tasks: {end:.1} MiB");
    assert!((rise - 512.0).abs() <= 0.05 * 512.0, "rise {rise} MiB");
    assert!(
        end < small + 100.0,
        "the end-of-phase reading cannot see the freed blocks: {end}"
    );
}
