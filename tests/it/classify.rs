//! Classification checked against an independent implementation (Pillow + onnxruntime's Python
//! API, tests/golden/make_golden.py) and across executors. These run for real: they need
//! `scripts/setup` (ONNX Runtime and the model), which `scripts/test` runs first.

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use runner::workload::{decode, ort_lib, preprocess_into, resample, ClassifySettings, Filter, Model, ModelSource};
use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Deserialize)]
struct Golden {
    images: Vec<Image>,
    models: Vec<GoldenModel>,
}

#[derive(Deserialize)]
struct Image {
    image: String,
    pillow_png: String,
}

/// One model's logits for every image, from onnxruntime's Python API.
#[derive(Deserialize, Clone)]
struct GoldenModel {
    file: String,
    sha256: String,
    items: Vec<Item>,
}

#[derive(Deserialize, Clone)]
struct Item {
    image: String,
    top1: usize,
    logits: Vec<f32>,
}

fn golden() -> Golden {
    let text = std::fs::read_to_string(project().join("tests/golden/logits.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The models `scripts/setup` builds: the default one and its int8 quantisation.
const MODELS: [&str; 2] = ["resnet18.onnx", "resnet18-int8.onnx"];

fn settings(model: &str) -> ClassifySettings {
    ClassifySettings {
        models: vec![project().join("models").join(model)],
        input: (224, 224),
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
        labels: None,
        filter: Filter::Bilinear,
        ort_library: None,
        preoptimize: false,
    }
}

fn model_source(model: &str) -> Arc<ModelSource> {
    let found = ort_lib::find(None, &[project()]).expect("ONNX Runtime: run scripts/setup first");
    ort_lib::load(&found).expect("ONNX Runtime loads");
    let s = settings(model);
    Arc::new(ModelSource {
        model: s.models[0].clone(),
        settings: s,
        ort: found,
        labels: None,
        optimized: None,
    })
}

/// The golden logits of a model: the committed ones, or, for a model file this machine built
/// with other bytes (see above), onnxruntime's Python API run now on the committed PNGs.
/// The reference logits of a model: the committed ones, where they hold on this machine. The
/// int8 model runs the CPU's integer kernels (VNNI, AVX2, ...), which round differently on
/// another kind of CPU (seen: 1.7e-2 relative error on an AMD EPYC against logits made on an
/// Intel Xeon), and it may be built with other bytes; its reference is onnxruntime's Python
/// API, run live on this machine.
fn golden_of(g: &GoldenModel) -> GoldenModel {
    if sha256(&g.file) == g.sha256 && g.file != MODELS[1] {
        return g.clone();
    }
    let out = std::process::Command::new(project().join(".deps/venv/bin/python"))
        .args(["tests/golden/make_golden.py", "--print", &g.file])
        .current_dir(project())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sha256(model: &str) -> String {
    let bytes = std::fs::read(project().join("models").join(model)).expect("run scripts/setup first");
    runner::spec::hex(&Sha256::digest(&bytes))
}

/// Each model is the one `scripts/setup` checks (its committed SHA-256) and the one the golden
/// logits were made with; the int8 one is smaller than the fp32 one, as int8 weights are. The
/// int8 model's calibration runs the fp32 model on this CPU's float kernels, so a CPU of
/// another kind may build other bytes: then set-up warns, and the golden check of the int8
/// model compares against onnxruntime's Python API live instead ([`golden_of`]).
#[test]
fn the_models_are_the_ones_the_golden_files_were_made_with() {
    let golden = golden();
    for model in MODELS {
        let committed = std::fs::read_to_string(project().join(format!("models/{model}.sha256"))).unwrap();
        let committed = committed.split_whitespace().next().unwrap().to_string();
        let g = golden
            .models
            .iter()
            .find(|g| g.file == model)
            .expect("golden logits for every model");
        assert_eq!(committed, g.sha256, "{model}: re-run tests/golden/make_golden.py");
        if model == MODELS[1] && sha256(model) != committed {
            eprintln!("note: {model} was built with other bytes on this CPU; its logits are checked live");
            continue;
        }
        assert_eq!(sha256(model), committed, "{model}");
    }
    let size = |m: &str| std::fs::metadata(project().join("models").join(m)).unwrap().len();
    assert!(
        size(MODELS[1]) * 3 < size(MODELS[0]),
        "int8 weights take a quarter of fp32's bytes"
    );
}

/// The runner's 224x224 input (decode + bilinear resample) against Pillow's, before
/// normalisation: mean absolute difference at most 0.5 grey levels per image.
#[test]
fn preprocessing_matches_pillow() {
    let mut resizer = fast_image_resize::Resizer::new();
    for item in golden().images {
        let px = decode(&project().join("assets").join(&item.image), 1 << 30).unwrap();
        let ours = resample(&mut resizer, &px, 224, 224, Filter::Bilinear).unwrap();
        let pillow = decode(&project().join("tests/golden").join(&item.pillow_png), 1 << 30).unwrap();
        assert_eq!((pillow.width, pillow.height), (224, 224));
        let diffs: Vec<f64> = ours
            .iter()
            .zip(&pillow.rgb)
            .map(|(a, b)| (*a as f64 - *b as f64).abs())
            .collect();
        let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
        let max = diffs.iter().cloned().fold(0.0, f64::max);
        println!("{:32} mean |diff| {mean:.3} grey levels, max {max}", item.image);
        assert!(mean <= 0.5, "{}: mean |diff| {mean} > 0.5 (max {max})", item.image);
    }
}

/// The same input tensor through the runner's ORT session and through onnxruntime's Python
/// API, for the fp32 model and its int8 quantisation: logits within 1e-4 relative error
/// (max |diff| / max |logit|) and the same top-1.
#[test]
fn inference_matches_onnxruntime_python() {
    let golden = golden();
    let mut resizer = fast_image_resize::Resizer::new();
    for g in golden.models.iter().map(golden_of) {
        let mut model = Model::new(model_source(&g.file), 1).unwrap();
        for (image, item) in golden.images.iter().zip(&g.items) {
            assert_eq!(image.image, item.image);
            let pillow = decode(&project().join("tests/golden").join(&image.pillow_png), 1 << 30).unwrap();
            let mut input = Vec::new();
            preprocess_into(&mut resizer, &pillow, &settings(&g.file), &mut input).unwrap();
            model.set_input(input);
            let logits = model.infer().unwrap();
            assert_eq!(logits.len(), 1000);
            let max_diff = logits
                .iter()
                .zip(&item.logits)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            let scale = item.logits.iter().map(|v| v.abs()).fold(0.0, f32::max);
            let rel = max_diff / scale;
            let top1 = logits.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
            println!(
                "{} {:32} relative error {rel:.2e}, top-1 {top1} (python {})",
                g.file, item.image, item.top1
            );
            assert!(rel <= 1e-4, "{} {}: relative error {rel}", g.file, item.image);
            assert_eq!(top1, item.top1, "{} {}", g.file, item.image);
        }
    }
}

/// Every executor classifies the same draws to the same top-1 with the same probability; the
/// hybrid one (2 processes x 2 threads) runs each task once and builds a session per thread.
#[test]
fn top1_is_identical_across_executors() {
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = experiment(&format!(
        r#"name = "cls"
workload = ["classify", "mixed"]
executor = ["sequential", "thread", "process", "hybrid"]
workers = 2
processes = 2
threads = 2
sets = 2
repetitions = 2
warmup = 0
seed = 11
[output]
dir = "{}"
"#,
        out.path().display()
    ));
    runner().arg(&file).assert().success();
    let dir = results_dir(out.path());
    let tasks = read_csv(&dir.join("tasks.csv"));
    // (workload, rep, task) -> (image, top1, prob) from each executor
    type Key = (String, String, String);
    let mut by_task: BTreeMap<Key, Vec<Key>> = BTreeMap::new();
    for t in tasks.iter().filter(|t| t["kind"] == "classify") {
        assert_eq!(t["status"], "ok", "{t:?}");
        let workload = t["cell"].split('-').next().unwrap().to_string();
        by_task
            .entry((workload, t["rep"].clone(), t["task"].clone()))
            .or_default()
            .push((t["image"].clone(), t["top1"].clone(), t["top1_prob"].clone()));
    }
    assert_eq!(
        by_task.len(),
        2 * 6 + 2 * 6,
        "classify: 2 reps x 6; mixed: 2 reps x 6 classify tasks"
    );
    for (key, results) in &by_task {
        assert_eq!(results.len(), 4, "{key:?}: one result per executor");
        assert!(results.iter().all(|r| r == &results[0]), "{key:?}: {results:?}");
    }
    let runs = read_csv(&dir.join("runs.csv"));
    let sha = sha256(MODELS[0]);
    for r in &runs {
        if r["executor"] == "hybrid" {
            assert_eq!(
                (num(r, "processes"), num(r, "threads"), num(r, "workers")),
                (2.0, 2.0, 4.0)
            );
            assert_eq!(num(r, "sessions"), 4.0, "a session per thread of each process: {r:?}");
            assert_eq!(num(r, "workers_started"), 2.0);
        }
        assert_eq!(r["model_sha256"], sha);
        assert!(num(r, "inference_ms") > 0.0 && num(r, "preprocess_ms") > 0.0 && num(r, "session_s") > 0.0);
        if r["workload"] == "mixed" {
            assert_eq!(
                (num(r, "resize_tasks_ok"), num(r, "classify_tasks_ok")),
                (6.0, 6.0),
                "{r:?}"
            );
            assert!(num(r, "resize_task_ms") > 0.0 && num(r, "classify_task_ms") > 0.0);
        }
    }
}

/// Sessions on the graph optimised once per run (weights mapped from `model.optimized.onnx.data`)
/// classify as sessions that load and optimise the model themselves.
#[test]
fn the_preoptimised_graph_classifies_like_the_model_itself() {
    let run = |preoptimize: bool| {
        let out = tempfile::tempdir().unwrap();
        let (_d, file) = experiment(&format!(
            r#"name = "pre"
workload = "classify"
executor = "process"
workers = 2
sets = 2
repetitions = 1
warmup = 0
seed = 5
[classify]
preoptimize = {preoptimize}
[output]
dir = "{}"
"#,
            out.path().display()
        ));
        runner().arg(&file).assert().success();
        let dir = results_dir(out.path());
        assert_eq!(dir.join("model.optimized.onnx.data").is_file(), preoptimize);
        let tasks = read_csv(&dir.join("tasks.csv"));
        assert_eq!(tasks.len(), 6);
        tasks
            .into_iter()
            .map(|t| {
                (
                    t["task"].clone(),
                    (t["image"].clone(), t["top1"].clone(), num(&t, "top1_prob")),
                )
            })
            .collect::<BTreeMap<_, _>>()
    };
    let (plain, optimised) = (run(false), run(true));
    assert_eq!(plain.len(), 6);
    for (task, (image, top1, prob)) in &plain {
        let (o_image, o_top1, o_prob) = &optimised[task];
        assert_eq!((image, top1), (o_image, o_top1), "task {task}");
        assert!(
            (prob - o_prob).abs() <= 1e-5 * prob.abs().max(1.0),
            "task {task}: {prob} vs {o_prob}"
        );
    }
}

/// A cell's memory does not depend on what else the experiment holds: the resize cells of an
/// experiment that also classifies (model hashed, graph optimised, ONNX Runtime probed) cost
/// what they cost alone, within 3 % or 2 MiB. (Before, every fork inherited the model's bytes.)
/// One process worker: forked like any other, but with a dispatch that load cannot reorder.
/// Peak RSS (the kernel's) and PSS at the end of the task phase are read at fixed points, so
/// both directions count; the PSS peak is sampled every 50 ms and a loaded machine can make a
/// sample miss it, so of the peak only the direction that inheriting would move is asserted.
/// Alone: PSS splits the pages the runner's binary and libraries share among every process
/// mapping them, so other tests' runners beside it would move it by a MiB or more.
#[test]
fn a_cells_memory_does_not_depend_on_the_rest_of_the_experiment() {
    let _alone = alone();
    let medians = |workloads: &str| -> BTreeMap<String, [f64; 3]> {
        let out = tempfile::tempdir().unwrap();
        let (_d, file) = experiment(&format!(
            r#"name = "mem"
workload = {workloads}
executor = ["sequential", "process"]
workers = 1
sets = 2
repetitions = 3
warmup = 0
[output]
dir = "{}"
"#,
            out.path().display()
        ));
        runner().arg(&file).assert().success();
        let runs = read_csv(&results_dir(out.path()).join("runs.csv"));
        let mut by: BTreeMap<String, Vec<[f64; 3]>> = BTreeMap::new();
        for r in runs.iter().filter(|r| r["workload"] == "resize") {
            by.entry(r["cell"].clone()).or_default().push([
                num(r, "peak_rss_mib"),
                num(r, "pss_mib"),
                num(r, "pss_peak_mib"),
            ]);
        }
        let median = |v: &[[f64; 3]], i: usize| {
            let mut x: Vec<f64> = v.iter().map(|m| m[i]).collect();
            x.sort_by(f64::total_cmp);
            x[x.len() / 2]
        };
        by.into_iter()
            .map(|(c, v)| (c, [median(&v, 0), median(&v, 1), median(&v, 2)]))
            .collect()
    };
    let alone = medians("\"resize\"");
    let mixed = medians("[\"resize\", \"classify\"]");
    assert_eq!(alone.len(), 2);
    for (cell, a) in &alone {
        let b = mixed[cell];
        println!(
            "{cell}: peak RSS {} vs {} MiB, PSS at the phase's end {} vs {} MiB, PSS peak {} vs {} MiB",
            a[0], b[0], a[1], b[1], a[2], b[2]
        );
        let tolerance = |x: f64| f64::max(2.0, 0.03 * x);
        for (i, what) in [(0, "peak RSS"), (1, "PSS at the task phase's end")] {
            assert!(
                (a[i] - b[i]).abs() <= tolerance(a[i]),
                "{cell}: {what} {} MiB alone, {} MiB beside a classifier",
                a[i],
                b[i]
            );
        }
        assert!(
            b[2] - a[2] <= tolerance(a[2]),
            "{cell}: PSS peak {} MiB alone, {} MiB beside a classifier",
            a[2],
            b[2]
        );
    }
}

/// `[classify] model` as a list is an axis: each cell runs one model, every row names its file
/// and hash, and within a model every executor gives each task the same top-1.
#[test]
fn the_model_is_an_axis() {
    let out = tempfile::tempdir().unwrap();
    let (_d, file) = experiment(&format!(
        r#"name = "models"
workload = "classify"
executor = ["sequential", "thread", "process"]
workers = 2
sets = 1
repetitions = 1
warmup = 0
seed = 3
[classify]
model = ["{0}/models/resnet18.onnx", "{0}/models/resnet18-int8.onnx"]
[output]
dir = "{1}"
"#,
        project().display(),
        out.path().display()
    ));
    runner().arg(&file).assert().success();
    let dir = results_dir(out.path());
    let runs = read_csv(&dir.join("runs.csv"));
    assert_eq!(runs.len(), 6, "3 executors x 2 models");
    for r in &runs {
        let model = r["model"].as_str();
        assert!(MODELS.contains(&model), "{r:?}");
        assert_eq!(r["model_sha256"], sha256(model));
        assert_eq!(r["cell"].contains("-m2-"), model == MODELS[1], "{}", r["cell"]);
    }
    let tasks = read_csv(&dir.join("tasks.csv"));
    let mut by: BTreeMap<(bool, String), Vec<String>> = BTreeMap::new();
    for t in &tasks {
        assert_eq!(t["status"], "ok", "{t:?}");
        by.entry((t["cell"].contains("-m2-"), t["task"].clone()))
            .or_default()
            .push(t["top1"].clone());
    }
    assert_eq!(by.len(), 2 * 3, "a set draws 3 images; each model classifies them");
    for (key, top1) in &by {
        assert_eq!(top1.len(), 3, "{key:?}");
        assert!(top1.iter().all(|t| t == &top1[0]), "{key:?}: {top1:?}");
    }
}
