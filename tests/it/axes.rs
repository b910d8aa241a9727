//! The axes beyond executor and workers: hybrid processes x threads, CPU pinning, and the output
//! format of resized images, each run end to end through the binary.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use common::{experiment, read_csv, run_ok as run, runner};
use predicates::str::contains;

#[test]
fn hybrid_runs_every_task_once_on_processes_times_threads_workers() {
    let (_out, dir) = run(r#"name = "hy"
workload = "spin"
executor = "hybrid"
processes = [1, 2]
threads = [1, 3]
sets = 4
repetitions = 2
warmup = 0
[spin]
iterations = 200000"#);
    let runs = read_csv(&dir.join("runs.csv"));
    let cells: BTreeSet<&str> = runs.iter().map(|r| r["cell"].as_str()).collect();
    assert_eq!(
        cells,
        BTreeSet::from([
            "spin-hybrid-p1t1-s4",
            "spin-hybrid-p1t3-s4",
            "spin-hybrid-p2t1-s4",
            "spin-hybrid-p2t3-s4"
        ])
    );
    for r in &runs {
        let (p, t): (usize, usize) = (r["processes"].parse().unwrap(), r["threads"].parse().unwrap());
        assert_eq!(r["workers"], (p * t).to_string(), "{r:?}");
        assert_eq!(
            r["sessions"],
            (p * t).to_string(),
            "a state per thread of each process: {r:?}"
        );
        assert_eq!(r["workers_started"], p.to_string());
        assert_eq!(r["tasks_ok"], "12");
    }
    // Every task exactly once per repetition, by worker ids 0 .. P x T.
    let tasks = read_csv(&dir.join("tasks.csv"));
    let mut seen: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for t in &tasks {
        seen.entry((t["cell"].clone(), t["rep"].clone()))
            .or_default()
            .push(t["task"].parse().unwrap());
    }
    for (key, mut v) in seen {
        v.sort();
        assert_eq!(v, (0..12).collect::<Vec<_>>(), "{key:?}");
    }
    let p2t3: BTreeSet<usize> = tasks
        .iter()
        .filter(|t| t["cell"] == "spin-hybrid-p2t3-s4")
        .map(|t| t["worker"].parse().unwrap())
        .collect();
    assert!(p2t3.iter().all(|&w| w < 6) && p2t3.len() > 1, "{p2t3:?}");
}

#[test]
fn pinned_workers_each_run_on_exactly_one_core_dealt_round_robin() {
    let (_out, dir) = run(r#"name = "pin"
workload = "spin"
executor = ["sequential", "thread", "process", "hybrid"]
workers = 2
processes = 2
threads = 2
pinning = ["none", "cores"]
sets = 4
repetitions = 1
warmup = 0
[spin]
iterations = 200000"#);
    let cores = runner::proc::allowed_cores();
    let tasks = read_csv(&dir.join("tasks.csv"));
    let mut pinned = 0;
    for t in &tasks {
        if t["cell"].contains("-pin") {
            pinned += 1;
            let core: usize = t["cpus"]
                .parse()
                .unwrap_or_else(|_| panic!("one core, not {:?}: {t:?}", t["cpus"]));
            let worker: usize = t["worker"].parse().unwrap();
            assert_eq!(
                core,
                cores[worker % cores.len()],
                "worker {worker} on its own core: {t:?}"
            );
        } else {
            assert_eq!(t["cpus"], runner::proc::affinity(), "unpinned: the runner's own mask");
        }
    }
    assert_eq!(pinned, 4 * 12);
    let runs = read_csv(&dir.join("runs.csv"));
    assert_eq!(runs.iter().filter(|r| r["pinning"] == "cores").count(), 4);
}

#[test]
fn each_output_format_saves_files_that_decode_at_the_target_size() {
    let (_out, dir) = run(r#"name = "fmt"
workload = "resize"
executor = "sequential"
sets = 12
seed = 3
repetitions = 1
warmup = 0
[images]
folders = ["../assets/mixed-formats"]
noise = false
[resize]
format = ["jpeg", "png", "webp", "same"]
targets = ["40x30"]
png_compression = 9"#);
    let runs = read_csv(&dir.join("runs.csv"));
    let formats: Vec<&str> = runs.iter().map(|r| r["format"].as_str()).collect();
    assert_eq!(formats, ["jpeg", "png", "webp", "same"]);
    for r in &runs {
        assert!(r["encode_ms"].parse::<f64>().unwrap() > 0.0, "{r:?}");
        let cell = &r["cell"];
        let mut exts = Vec::new();
        for f in std::fs::read_dir(dir.join("images").join(cell)).unwrap() {
            let path = f.unwrap().path();
            let img = image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!((img.width(), img.height()), (40, 30), "{}", path.display());
            let want = match r["format"].as_str() {
                "jpeg" => image::ImageFormat::Jpeg,
                "png" => image::ImageFormat::Png,
                "webp" => image::ImageFormat::WebP,
                _ => image::ImageFormat::from_path(&path).unwrap(),
            };
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(image::guess_format(&bytes).unwrap(), want, "{}", path.display());
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            exts.push((name, path.extension().unwrap().to_string_lossy().into_owned()));
        }
        assert_eq!(exts.len(), 12, "{cell}");
        let kinds: BTreeSet<&str> = exts.iter().map(|(_, e)| e.as_str()).collect();
        match r["format"].as_str() {
            "jpeg" => assert_eq!(kinds, BTreeSet::from(["jpg"])),
            "png" => assert_eq!(kinds, BTreeSet::from(["png"])),
            "webp" => assert_eq!(kinds, BTreeSet::from(["webp"])),
            _ => {
                // `same`: each input's own format; these draws hold all three.
                assert_eq!(kinds, BTreeSet::from(["jpg", "png", "webp"]), "{exts:?}");
                for (name, ext) in &exts {
                    let input = ["mixed-1", "mixed-2", "mixed-3"]
                        .iter()
                        .position(|m| name.contains(m))
                        .unwrap();
                    assert_eq!(ext, ["jpg", "png", "webp"][input], "{name}");
                }
            }
        }
    }
}

#[test]
fn hybrid_keys_are_checked() {
    for (body, says) in [
        (
            "executor = \"hybrid\"\nprocesses = 2",
            "needs `processes` and `threads`",
        ),
        (
            "executor = \"thread\"\nthreads = 2",
            "applies only to executor \\\"hybrid\\\"",
        ),
        (
            "executor = \"thread\"\npinning = \"all\"",
            "x.toml:4: key `pinning`: unknown variant `all`, expected `none` or `cores`",
        ),
    ] {
        let (_d, file) = experiment(&format!("name = \"x\"\nworkload = \"spin\"\n{body}\n"));
        runner()
            .arg("validate")
            .arg(&file)
            .assert()
            .code(2)
            .stderr(contains(says.replace("\\\"", "\"")));
    }
}

/// Each task prints the allocators mapped in its worker (its parent process): the thread pool's
/// repetition process, a process pool's worker, a Python worker.
#[test]
fn each_worker_runs_under_its_cells_allocator() {
    let (_out, dir) = run(r#"name = "al"
workload = "command"
executor = ["sequential", "thread", "process", "hybrid", "py-process"]
workers = 2
processes = 2
threads = 2
allocator = ["system", "jemalloc", "mimalloc"]
inputs = 4
sets = 1
repetitions = 1
warmup = 0
[command]
shell = true
stdout = "keep"
argv = "grep -o -e libjemalloc.so.2 -e libmimalloc.so.2 /proc/$PPID/maps | sort -u; true""#);
    let runs = read_csv(&dir.join("runs.csv"));
    assert_eq!(runs.len(), 15, "5 executors x 3 allocators");
    for r in &runs {
        let cell = r["cell"].as_str();
        let want = match r["allocator"].as_str() {
            "system" => "",
            "jemalloc" => "libjemalloc.so.2\n",
            "mimalloc" => "libmimalloc.so.2\n",
            other => panic!("{other}"),
        };
        assert_eq!(r["error"], "", "{r:?}");
        assert_eq!(
            cell.contains("-jemalloc") || cell.contains("-mimalloc"),
            !want.is_empty(),
            "{cell}"
        );
        let outs: Vec<_> = std::fs::read_dir(dir.join("images").join(cell).join("stdout"))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(outs.len(), 4, "{cell}");
        for f in outs {
            assert_eq!(
                std::fs::read_to_string(f.path()).unwrap(),
                want,
                "{cell}: {:?}",
                f.path()
            );
        }
    }
}
