//! The runner's own numbers against independent meters. One test in its own binary, so that
//! `RUSAGE_CHILDREN` of this process counts the runner's process tree and nothing else.

mod common;

use std::process::Command;

use common::*;

fn children_cpu_s() -> f64 {
    // SAFETY: getrusage only writes the struct.
    let mut r: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut r) };
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    s(r.ru_utime) + s(r.ru_stime)
}

fn run(body: &str) -> Vec<Row> {
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = experiment(&format!("{body}\n[output]\ndir = \"{}\"\n", out.path().display()));
    let status = Command::new(env!("CARGO_BIN_EXE_runner"))
        .arg(&file)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    read_csv(&results_dir(out.path()).join("runs.csv"))
}

#[test]
fn cpu_time_and_summed_peak_memory_match_independent_meters() {
    // CPU: the kernel's account of the whole process tree (reaped children of this test)
    // against the sum of user_s + sys_s over every row. Spin work makes the runner's own
    // start-up and bookkeeping outside the measured windows small beside it.
    let before = children_cpu_s();
    let rows = run(
        "name = \"cpu\"\nworkload = \"spin\"\nexecutor = [\"thread\", \"process\"]\nworkers = 2\nsets = 4\n\
         repetitions = 3\nwarmup = 0\n[spin]\niterations = 20000000",
    );
    let meter = children_cpu_s() - before;
    let ours: f64 = rows.iter().map(|r| num(r, "user_s") + num(r, "sys_s")).sum();
    let diff = (ours - meter).abs() / meter;
    println!(
        "CPU: runner says {ours:.3} s, kernel (RUSAGE_CHILDREN) says {meter:.3} s: {:.2} % apart",
        diff * 100.0
    );
    assert!(meter > 2.0, "enough work to measure: {meter}");
    assert!(
        diff <= 0.02,
        "CPU seconds {ours} vs {meter}: {:.2} % apart",
        diff * 100.0
    );

    // Memory: every alloc task allocates and touches a known amount. The summed peak of a run
    // with 129 MiB tasks minus one with 1 MiB tasks must be 128 MiB per worker holding it.
    let peaks = |mib: usize| -> Vec<(String, f64)> {
        run(&format!(
            "name = \"mem\"\nworkload = \"alloc\"\nexecutor = [\"sequential\", \"thread\", \"process\"]\nworkers = 2\n\
             sets = 1\nrepetitions = 1\nwarmup = 0\n[alloc]\nmib = {mib}\nhold_ms = 150"
        ))
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
