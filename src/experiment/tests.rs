//! Parsing and every kind of bad experiment file.

use std::path::PathBuf;

use super::*;
use crate::workload::{Filter, ResizeSettings, Subsampling, Target};

fn resize(e: &Experiment) -> &ResizeSettings {
    e.settings.get("resize").unwrap()
}

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes `body` as `experiments/x.toml` inside a temporary copy of the project layout
/// (assets linked), so that relative paths resolve as they do in the real project.
fn write(body: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("experiments")).unwrap();
    std::os::unix::fs::symlink(project().join("assets"), dir.path().join("assets")).unwrap();
    std::fs::create_dir(dir.path().join("models")).unwrap();
    std::fs::write(dir.path().join("models/tiny.onnx"), [0x08, 0x07, 0x12]).unwrap();
    let file = dir.path().join("experiments/x.toml");
    std::fs::write(&file, body).unwrap();
    (dir, file)
}

fn load(body: &str) -> Result<Experiment, SpecError> {
    let (_dir, file) = write(body);
    Experiment::load(&file, &Overrides::default())
}

fn err(body: &str) -> SpecError {
    load(body).expect_err("this experiment must be refused")
}

const MIN: &str = "name = \"t\"\nworkload = \"resize\"\nexecutor = \"thread\"\n";

#[test]
fn minimal_file_gets_the_documented_defaults() {
    let e = load(MIN).unwrap();
    assert_eq!(e.axes.workers, vec![NonZeroUsize::MIN]);
    assert_eq!(e.axes.sets[0].get(), 16);
    assert_eq!((e.repetitions.get(), e.warmup, e.seed), (6, 1, 0));
    assert_eq!(
        e.images.folders.iter().map(|f| f.label.as_str()).collect::<Vec<_>>(),
        ["high-res", "low-res"]
    );
    assert_eq!(e.images.folders[0].files.len(), 5);
    assert_eq!(e.images.noise, Some((1024, 1024)));
    assert_eq!(
        resize(&e).targets,
        vec![
            Target::Exact {
                width: 224,
                height: 224
            },
            Target::Percent(50)
        ]
    );
    assert_eq!(
        (resize(&e).filter, resize(&e).quality, resize(&e).save),
        (Filter::Lanczos3, 90, true)
    );
    assert!(e.output_dir.ends_with("results") && !e.output_dir.to_string_lossy().contains(".."));
    assert_eq!(e.sha256.len(), 64);
}

#[test]
fn lists_become_axes_and_scalars_single_values() {
    let e = load(
        "name = \"t\"\nworkload = [\"resize\", \"spin\"]\nexecutor = [\"sequential\", \"process\"]\n\
         workers = [1, 2, 4]\nintra_op_threads = 2\nsets = [1, 3]\n",
    )
    .unwrap();
    assert_eq!(e.axes.workload.len(), 2);
    assert_eq!(e.axes.workers.iter().map(|w| w.get()).collect::<Vec<_>>(), [1, 2, 4]);
    assert_eq!(e.axes.of("intra_op_threads"), [crate::axis::Value::Count(2)]);
    assert_eq!(e.axes.sets.len(), 2);
}

#[test]
fn mixed_formats_folder_is_an_image_source() {
    let e = load(&format!(
        "{MIN}[images]\nfolders = [\"../assets/mixed-formats\"]\nnoise = false\n"
    ))
    .unwrap();
    let names: Vec<String> = e.images.folders[0]
        .files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into())
        .collect();
    assert_eq!(names, ["mixed-1.jpg", "mixed-2.png", "mixed-3.webp"]);
    assert_eq!(e.images.noise, None);
}

#[test]
fn malformed_toml_names_file_and_line() {
    let e = err("name = \"t\"\nworkload = [\"resize\"\n");
    assert!(e.file.ends_with("experiments/x.toml"));
    assert!(e.line.is_some(), "{e}");
}

#[test]
fn unknown_key_is_refused_with_its_name_and_line() {
    let e = err(&format!("{MIN}wrokers = 2\n"));
    assert!(e.message.contains("wrokers"), "{e}");
    assert_eq!(e.line, Some(4), "{e}");
    let e = err(&format!("{MIN}[resize]\nquallity = 3\n"));
    assert!(e.message.contains("quallity"), "{e}");
}

#[test]
fn wrong_types_are_refused() {
    let e = err("name = \"t\"\nworkload = \"resize\"\nexecutor = \"thread\"\nworkers = \"two\"\n");
    assert_eq!(e.line, Some(4), "{e}");
    let e = err("name = \"t\"\nworkload = \"resize\"\nexecutor = \"fibers\"\n");
    assert!(e.message.contains("fibers") && e.message.contains("process"), "{e}");
    let e = err(&format!("{MIN}repetitions = 2.5\n"));
    assert_eq!(e.line, Some(4), "{e}");
}

#[test]
fn zero_negative_and_empty_counts_are_refused_by_key() {
    for (body, key) in [
        ("workers = 0", "workers"),
        ("workers = [2, 0]", "workers"),
        ("workers = -1", "workers"),
        ("workers = []", "workers"),
        ("repetitions = 0", "repetitions"),
        ("sets = 0", "sets"),
        ("intra_op_threads = 0", "intra_op_threads"),
        ("warmup = -1", "warmup"),
        ("seed = -5", "seed"),
    ] {
        let e = err(&format!("{MIN}{body}\n"));
        assert_eq!(e.key.as_deref(), Some(key), "{body}: {e}");
        assert_eq!(e.line, Some(4), "{body}: {e}");
    }
    let e = err("name = \"t\"\nworkload = []\nexecutor = \"thread\"\n");
    assert_eq!(e.key.as_deref(), Some("workload"));
}

#[test]
fn duplicate_axis_values_are_refused() {
    let e = err(&format!("{MIN}workers = [2, 2]\n"));
    assert!(e.message.contains("twice"), "{e}");
    let e = err("name = \"t\"\nworkload = [\"resize\", \"resize\"]\nexecutor = \"thread\"\n");
    assert_eq!(e.key.as_deref(), Some("workload"));
}

#[test]
fn absurd_matrices_are_refused_unless_allowed() {
    let many: Vec<String> = (1..=200).map(|n| n.to_string()).collect();
    let body = format!(
        "name = \"t\"\nworkload = [\"resize\", \"spin\", \"sleep\"]\nexecutor = [\"thread\", \"process\"]\n\
         workers = [{}]\nsets = [{}]\n",
        many.join(","),
        many[..50].join(",")
    );
    let e = err(&body);
    assert!(e.message.contains("--allow-large"), "{e}");
    let e = err(&format!("{MIN}workers = 1000000\n"));
    assert!(e.message.contains("limit"), "{e}");
    let (_d, file) = write(&format!("{MIN}workers = 1000\n"));
    assert!(Experiment::load(&file, &Overrides { allow_large: true }).is_ok());
}

#[test]
fn missing_or_empty_image_folder_is_refused() {
    let e = err(&format!("{MIN}[images]\nfolders = [\"../nowhere\"]\n"));
    assert_eq!(e.key.as_deref(), Some("images.folders"));
    assert!(e.message.contains("nowhere"), "{e}");
    let (dir, file) = write(&format!("{MIN}[images]\nfolders = [\"../empty\"]\n"));
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let e = Experiment::load(&file, &Overrides::default()).unwrap_err();
    assert!(e.message.contains("no image files"), "{e}");
}

#[test]
fn synthetic_workloads_need_no_images() {
    let e = load("name = \"t\"\nworkload = \"spin\"\nexecutor = \"thread\"\n[images]\nfolders = [\"../nowhere\"]\n")
        .unwrap();
    assert!(e.images.folders.is_empty());
}

#[test]
fn model_must_exist_and_look_like_onnx_when_used() {
    let e = err(
        "name = \"t\"\nworkload = \"classify\"\nexecutor = \"thread\"\n[classify]\nmodel = \"../models/none.onnx\"\n",
    );
    assert_eq!(e.key.as_deref(), Some("classify.model"));
    let (dir, file) = write(
        "name = \"t\"\nworkload = \"classify\"\nexecutor = \"thread\"\n[classify]\nmodel = \"../models/fake.onnx\"\n",
    );
    std::fs::write(dir.path().join("models/fake.onnx"), "this is text").unwrap();
    let e = Experiment::load(&file, &Overrides::default()).unwrap_err();
    assert!(e.message.contains("not an ONNX model"), "{e}");
    let ok = load(
        "name = \"t\"\nworkload = \"classify\"\nexecutor = \"thread\"\n[classify]\nmodel = \"../models/tiny.onnx\"\n",
    );
    assert!(ok.is_ok(), "{ok:?}");
    // Not used, not checked:
    assert!(load(&format!("{MIN}[classify]\nmodel = \"../models/none.onnx\"\n")).is_ok());
}

#[test]
fn resize_settings_are_checked() {
    assert_eq!(
        err(&format!("{MIN}[resize]\nquality = 101\n")).key.as_deref(),
        Some("resize.quality")
    );
    assert_eq!(
        err(&format!("{MIN}[resize]\nfilter = \"blurry\"\n")).key.as_deref(),
        Some("resize.filter")
    );
    let e = err(&format!("{MIN}[resize]\ntargets = [\"224x\"]\n"));
    assert_eq!(e.key.as_deref(), Some("resize.targets"));
    let e = load(&format!(
        "{MIN}[resize]\ntargets = [\"64x32\", \"10%\"]\nfilter = \"bilinear\"\n"
    ))
    .unwrap();
    assert_eq!(
        resize(&e).targets,
        vec![Target::Exact { width: 64, height: 32 }, Target::Percent(10)]
    );
    assert_eq!(Target::Percent(50).dims(1792, 1024), (896, 512));
    assert_eq!(
        resize(&load(MIN).unwrap()).subsampling,
        Subsampling::S420,
        "Pillow's default"
    );
    let e = load(&format!("{MIN}[resize]\nsubsampling = \"4:4:4\"\n")).unwrap();
    assert_eq!(resize(&e).subsampling, Subsampling::S444);
    assert_eq!(
        err(&format!("{MIN}[resize]\nsubsampling = \"4:1:1\"\n")).key.as_deref(),
        Some("resize.subsampling")
    );
}

#[test]
fn bad_names_and_excludes_are_refused() {
    assert_eq!(
        err("name = \"../up\"\nworkload = \"resize\"\nexecutor = \"thread\"\n")
            .key
            .as_deref(),
        Some("name")
    );
    assert_eq!(err(&format!("{MIN}[[exclude]]\n")).key.as_deref(), Some("exclude"));
    let e = err(&format!("{MIN}[[exclude]]\nworkers = 0\n"));
    assert_eq!(e.key.as_deref(), Some("exclude.workers"));
    let e = load(&format!("{MIN}executor = [\"thread\"]\n"));
    assert!(e.is_err(), "a key given twice is a TOML error");
}

#[test]
fn a_missing_file_is_a_spec_error() {
    let e = Experiment::load(std::path::Path::new("/nonexistent/x.toml"), &Overrides::default()).unwrap_err();
    assert!(e.message.contains("cannot read"), "{e}");
}

#[test]
fn relative_paths_resolve_from_the_file_not_the_working_directory() {
    // Without changing the process's working directory (the other tests run beside this one):
    // the default image folders are found from the file, and held as absolute paths. The CLI
    // smoke test runs from `/`.
    let (dir, file) = write(MIN);
    let e = Experiment::load(&file, &Overrides::default()).unwrap();
    assert!(!e.images.folders.is_empty());
    for f in &e.images.folders {
        assert!(f.path.is_absolute(), "{}", f.path.display());
        assert!(
            f.path.starts_with(dir.path()),
            "{} is not from the file's folder",
            f.path.display()
        );
    }
}

#[test]
fn a_list_of_models_is_an_axis_of_the_cells_with_a_model() {
    let body = "name = \"t\"\nworkload = [\"resize\", \"classify\"]\nexecutor = \"thread\"\n\
                [classify]\nmodel = [\"../models/tiny.onnx\", \"../models/tiny2.onnx\"]\n";
    let (dir, file) = write(body);
    std::fs::copy(
        dir.path().join("models/tiny.onnx"),
        dir.path().join("models/tiny2.onnx"),
    )
    .unwrap();
    let e = Experiment::load(&file, &Overrides::default()).unwrap();
    let ids: Vec<String> = crate::plan::expand(&e.axes, &e.exclude)
        .iter()
        .map(|c| c.id())
        .collect();
    assert_eq!(
        ids,
        [
            "resize-thread-w1-s16",
            "classify-thread-w1-i1-s16",
            "classify-thread-w1-m2-i1-s16"
        ]
    );
    // exclude names a model as listed or by its file name.
    for name in ["../models/tiny2.onnx", "tiny2.onnx"] {
        std::fs::write(&file, format!("{body}[[exclude]]\nmodel = \"{name}\"\n")).unwrap();
        let e = Experiment::load(&file, &Overrides::default()).unwrap();
        assert_eq!(crate::plan::expand(&e.axes, &e.exclude).len(), 2, "{name}");
    }
    std::fs::write(&file, format!("{body}[[exclude]]\nmodel = \"other.onnx\"\n")).unwrap();
    let e = Experiment::load(&file, &Overrides::default()).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("exclude.model"), "{e}");
    // Rows name a model by its file name, so two files of one name are refused.
    let e = err("name = \"t\"\nworkload = \"classify\"\nexecutor = \"thread\"\n\
                 [classify]\nmodel = [\"../models/tiny.onnx\", \"../experiments/../models/./tiny.onnx\"]\n");
    assert_eq!(e.key.as_deref(), Some("classify.model"), "{e}");
}

#[test]
fn python_executors_need_python_and_name_the_setup_command() {
    let (dir, file) = write("name = \"t\"\nworkload = \"resize\"\nexecutor = [\"thread\", \"py-thread\"]\n");
    let mut e = Experiment::load(&file, &Overrides::default()).unwrap();
    assert!(e.python.is_empty(), "parsing looks at nothing of the machine");
    // Nowhere above the file (a temporary folder) is a .deps/venv, unless the binary or the
    // working directory has one: the project's own, when its set-up ran.
    let found = check_machine(&mut e);
    if project().join(".deps/venv/bin/python").is_file() {
        // A venv above the binary or the working directory (the project's, or the one of the
        // checkout whose target folder built this test).
        let p = e.python.first().cloned().unwrap_or_else(|| panic!("{found:?}"));
        assert!(p.ends_with(".deps/venv/bin/python") && p.is_file(), "{p:?}");
    } else {
        // No venv: python3 on PATH, which either has resize's modules or is refused with the
        // module and what to install.
        match found {
            Ok(()) => assert_eq!(e.python, vec![crate::home::on_path("python3").unwrap()]),
            Err(err) => assert!(
                err.message.contains("cannot import") && err.message.contains("install"),
                "{err}"
            ),
        }
    }
    // A venv above the experiment file is found first (here a script that runs the project's,
    // which the machine check then runs: it must import what resize needs).
    let real = project().join(".deps/venv/bin/python");
    if real.is_file() {
        use std::os::unix::fs::PermissionsExt;
        let fake = dir.path().join(".deps/venv/bin/python");
        std::fs::create_dir_all(fake.parent().unwrap()).unwrap();
        std::fs::write(&fake, format!("#!/bin/sh\nexec {} \"$@\"\n", real.display())).unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut e = Experiment::load(&file, &Overrides::default()).unwrap();
        check_machine(&mut e).unwrap();
        assert_eq!(e.python, [fake]);
    }
    // Without Python executors none is looked for.
    let mut e = load(MIN).unwrap();
    check_machine(&mut e).unwrap();
    assert!(e.python.is_empty());
    // py_start_method, the interpreter (by its key or its old name) and gil apply only where
    // they mean something.
    let e = err(&format!("{MIN}py_start_method = \"spawn\"\n"));
    assert_eq!(e.key.as_deref(), Some("py_start_method"), "{e}");
    for key in ["interpreter", "python"] {
        let e = err(&format!("{MIN}{key} = \"/usr/bin/python3\"\n"));
        assert_eq!(e.key.as_deref(), Some("interpreter"), "{e}");
    }
    let e = err(&format!("{MIN}gil = \"off\"\n"));
    assert_eq!(e.key.as_deref(), Some("gil"), "{e}");
}

#[test]
fn the_interpreter_key_stands_beside_the_python_table_and_its_old_name_does_not() {
    let py = "name = \"t\"\nworkload = \"python\"\nexecutor = \"py-thread\"\n";
    let table = "[python]\nfunction = \"work:checksum\"\npath = [\".\"]\n";
    let body = format!("{py}interpreter = \"/usr/bin/python3\"\ngil = [\"off\", \"on\"]\n{table}");
    let e = load(&body).unwrap();
    assert_eq!(e.python, [std::path::PathBuf::from("/usr/bin/python3")]);
    let ids: Vec<String> = crate::plan::expand(&e.axes, &e.exclude)
        .iter()
        .map(|c| c.id())
        .collect();
    assert_eq!(ids, ["python-py-thread-w1-giloff-s16", "python-py-thread-w1-gilon-s16"]);
    // The old name, alone, still names the interpreter; beside the new one it is refused.
    let e =
        load("name = \"t\"\nworkload = \"spin\"\nexecutor = \"py-thread\"\npython = \"/usr/bin/python3\"\n").unwrap();
    assert_eq!(e.python, [std::path::PathBuf::from("/usr/bin/python3")]);
    let e = err(
        "name = \"t\"\nworkload = \"spin\"\nexecutor = \"py-thread\"\npython = \"/usr/bin/python3\"\ninterpreter = \"/usr/bin/python3\"\n"
    );
    assert_eq!(e.key.as_deref(), Some("python"), "{e}");
    assert!(e.message.contains("old name of `interpreter`"), "{e}");
    // A free-threaded interpreter the set-up has not built names the command that builds it.
    let e = err(&format!("{py}interpreter = \"../.deps/venv313t/bin/python\"\n{table}"));
    assert!(e.message.contains("scripts/setup --free-threaded"), "{e}");
}
