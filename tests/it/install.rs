//! Installed like a tool: the schema editors check files with (it is `runner schema`, every
//! shipped experiment passes it, and the fixtures `runner validate` refuses fail it too), the
//! bash completions in a real bash, and the wheel and `cargo install` used from a folder with no
//! checkout.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// A tool of `.deps/tools` (`scripts/setup --tools`).
fn tool(name: &str) -> Option<PathBuf> {
    needs(
        &format!(".deps/tools/bin/{name}"),
        "`scripts/setup --tools` makes .deps/tools with maturin, auditwheel and check-jsonschema",
    )
}

/// Every experiment file shipped in experiments/.
fn shipped() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["experiments", "experiments/own"] {
        for e in std::fs::read_dir(project().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 15, "{files:?}");
    files
}

fn schema_file() -> PathBuf {
    project().join("docs/experiment.schema.json")
}

#[test]
fn the_schema_file_is_what_runner_schema_prints_and_every_experiment_names_it() {
    let out = runner().arg("schema").output().unwrap();
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(schema_file()).unwrap()).unwrap();
    assert!(
        printed == file,
        "docs/experiment.schema.json is stale: run `runner schema > docs/experiment.schema.json`"
    );
    assert_eq!(printed["$schema"], "https://json-schema.org/draft/2020-12/schema");
    // Every property an editor shows on hover has words.
    for (key, p) in printed["properties"].as_object().unwrap() {
        assert!(p["description"].as_str().is_some_and(|d| !d.is_empty()), "{key}: {p}");
    }
    let want = schema_file().canonicalize().unwrap();
    for f in shipped() {
        let text = std::fs::read_to_string(&f).unwrap();
        let first = text.lines().next().unwrap_or_default();
        let rel = first
            .strip_prefix("#:schema ")
            .unwrap_or_else(|| panic!("{}: the first line is not `#:schema ...`", f.display()));
        let at = f.parent().unwrap().join(rel).canonicalize().unwrap();
        assert_eq!(at, want, "{}", f.display());
    }
}

/// `check-jsonschema` on `files`: its success and what it said.
fn check_jsonschema(check: &Path, files: &[PathBuf]) -> (bool, String) {
    let out = Command::new(check)
        .arg("--schemafile")
        .arg(schema_file())
        .args(files)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), said)
}

#[test]
fn shipped_experiments_pass_the_schema_and_what_validate_refuses_fails_it() {
    let Some(check) = tool("check-jsonschema") else { return };
    let (ok, said) = check_jsonschema(&check, &shipped());
    assert!(ok, "{said}");
    let dir = project().join("tests/fixtures/invalid");
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    fixtures.sort();
    assert!(fixtures.len() >= 12, "{fixtures:?}");
    for f in &fixtures {
        let text = std::fs::read_to_string(f).unwrap();
        let key = text
            .lines()
            .find_map(|l| l.strip_prefix("# key: "))
            .unwrap_or_else(|| panic!("{}: no `# key:` line", f.display()));
        let out = runner().arg("validate").arg(f).output().unwrap();
        procs::assert_code(&out, 2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("key `{key}")), "{}: {stderr}", f.display());
        let (ok, said) = check_jsonschema(&check, std::slice::from_ref(f));
        assert!(!ok, "{}: the schema took it", f.display());
        assert!(
            said.contains(&format!("$.{key}")) || said.contains(&format!("'{key}'")),
            "{}: {said}",
            f.display()
        );
    }
}

/// What bash's completion of `line` offers, with `runner completions bash` sourced in a real
/// bash in the project's folder (COMP_WORDS as readline would set them).
fn complete(line: &str) -> Vec<String> {
    let script = runner().args(["completions", "bash"]).output().unwrap();
    assert!(script.status.success());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("runner.bash");
    std::fs::write(&file, &script.stdout).unwrap();
    let probe = format!(
        r#"source {file}
f=$(complete -p runner | sed -E 's/.* -F ([^ ]+) .*/\1/')
COMP_LINE={line:?}; read -ra COMP_WORDS <<< "$COMP_LINE"; COMP_CWORD=$((${{#COMP_WORDS[@]}}-1))
COMP_POINT=${{#COMP_LINE}}; COMPREPLY=()
"$f" runner "${{COMP_WORDS[-1]}}" "${{COMP_WORDS[-2]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        file = file.display()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(probe)
        .current_dir(project())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_subcommands_and_experiment_files() {
    assert_eq!(complete("runner va"), ["validate"]);
    assert_eq!(complete("runner experiments/mi"), ["experiments/mixed.toml"]);
    assert_eq!(complete("runner validate experiments/sm"), ["experiments/smoke.toml"]);
    // Folders are offered on the way to a file; other files are not.
    assert_eq!(complete("runner experiments/ow"), ["experiments/own"]);
    assert!(complete("runner experiments/own/")
        .iter()
        .all(|f| f.ends_with(".toml") || f.ends_with("plugins") || f.ends_with("rust-plugin")));
    assert!(complete("runner --qu").contains(&"--quiet".to_string()));
}

#[test]
fn the_manual_page_is_the_help_text() {
    let man = runner().arg("man").output().unwrap();
    assert!(man.status.success());
    let man = String::from_utf8_lossy(&man.stdout);
    assert!(
        man.starts_with(".ie") || man.contains(".TH runner"),
        "{}",
        &man[..200.min(man.len())]
    );
    for sub in ["validate", "schema", "init", "completions", "model"] {
        assert!(man.contains(sub), "{sub} missing from the manual page");
    }
    let init = runner().args(["man", "init"]).output().unwrap();
    assert!(init.status.success());
    let init = String::from_utf8_lossy(&init.stdout);
    assert!(
        init.contains("runner\\-init") && init.contains("\\-\\-python"),
        "{init}"
    );
}

/// A folder outside the clone, and a clean environment for a command in it: PATH holds `bin`
/// (the install's) and the system's, HOME and XDG_DATA_HOME are the folder's own (where
/// `runner model` writes), and nothing of the clone is in reach.
struct Elsewhere {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Elsewhere {
    fn new(bin: impl Fn(&Path) -> PathBuf) -> Elsewhere {
        let dir = tempfile::Builder::new()
            .prefix("runner-installed")
            .tempdir_in("/tmp")
            .unwrap();
        assert!(!dir.path().starts_with(project()));
        std::fs::create_dir_all(dir.path().join("work")).unwrap();
        let bin = bin(dir.path());
        Elsewhere { dir, bin }
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// `program` (a name found on this PATH first) run in work/.
    fn cmd(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        c.current_dir(self.work())
            .env_clear()
            .env("PATH", format!("{}:/usr/local/bin:/usr/bin:/bin", self.bin.display()))
            .env("HOME", self.dir.path())
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env("RUNNER_NOISE_PROBE_S", "0.1")
            .env("LANG", "C.UTF-8");
        // pip's own settings (a mirror, a proxy) and its cache, from the real home.
        for (k, v) in std::env::vars_os() {
            let k = k.to_string_lossy().to_string();
            if k.starts_with("PIP_") || k.to_ascii_lowercase().ends_with("_proxy") {
                c.env(k, v);
            }
        }
        if let Some(home) = std::env::var_os("HOME") {
            c.env("PIP_CACHE_DIR", PathBuf::from(home).join(".cache/pip"));
        }
        c
    }

    /// `runner args` in work/.
    fn output(&self, args: &[&str]) -> std::process::Output {
        self.cmd(&self.bin.join("runner")).args(args).output().unwrap()
    }

    /// `runner args` in work/, which must succeed; its stdout.
    fn runner(&self, args: &[&str]) -> String {
        let out = self.output(args);
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "runner {args:?}: {said}{err}");
        said
    }

    /// The results folder of `runner --quiet extra.. file`, from the `results: ` line it printed.
    fn ran(&self, file: &str, extra: &[&str]) -> PathBuf {
        let mut args = vec!["--quiet"];
        args.extend(extra);
        args.push(file);
        let said = self.runner(&args);
        let dir = said
            .lines()
            .find_map(|l| l.strip_prefix("results: "))
            .unwrap_or_else(|| panic!("{said}"));
        self.work().join(dir)
    }

    /// Copies `n` files of the clone's `assets/from` into work/`to`.
    fn images(&self, from: &str, to: &str, n: usize) {
        let dir = self.work().join(to);
        std::fs::create_dir_all(&dir).unwrap();
        let mut files: Vec<PathBuf> = std::fs::read_dir(project().join("assets").join(from))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for p in files.into_iter().take(n) {
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
}

/// Pure Python that holds the GIL: a thread pool cannot run two at once, a process pool can.
const WORK_PY: &str = r#"def checksum(task):
    x = task["seed"] & 0x7FFFFFFF
    for _ in range(400_000):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x
"#;

/// `runner init --python work:checksum`, run as written: summary.md states the verdict of
/// py-thread against py-process, and env.json names `python` as the interpreter.
fn init_and_run_a_function(at: &Elsewhere, python: &Path) {
    std::fs::write(at.work().join("work.py"), WORK_PY).unwrap();
    let said = at.runner(&["init", "--python", "work:checksum", "--inputs", "8"]);
    assert!(said.contains("wrote checksum.toml"), "{said}");
    let dir = at.ran("checksum.toml", &[]);
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    let verdict = summary
        .lines()
        .find(|l| l.contains("workers: py-") && l.contains("py-thread") && l.contains("py-process"))
        .unwrap_or_else(|| panic!("no verdict of py-thread against py-process: {summary}"));
    assert!(
        ["faster than", "≈", "undecided"].iter().any(|w| verdict.contains(w)),
        "{verdict}"
    );
    let env = std::fs::read_to_string(dir.join("env.json")).unwrap();
    let named = format!("{:?}", python.display().to_string());
    assert!(env.contains(&named), "{named} in {env}");
}

/// `runner init --command` on an images folder, run as written under runner's own pools; a
/// command reading `{input}` with no images is refused before a file is written.
fn init_and_run_a_command(at: &Elsewhere) {
    let out = at.output(&["init", "--command", "gzip -c {input}"]);
    procs::assert_code(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--images"));
    at.images("low-res", "photos", 2);
    at.runner(&["init", "--command", "gzip -c {input}", "--images", "photos"]);
    let dir = at.ran("gzip.toml", &[]);
    let runs = read_csv(&dir.join("runs.csv"));
    assert!(runs.len() >= 18, "3 cells, 6 rounds at least: {}", runs.len());
    assert!(
        runs.iter()
            .all(|r| r["error"].is_empty() && r["tasks"] == r["tasks_ok"]),
        "{runs:?}"
    );
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(summary.contains("thread") && summary.contains("process"), "{summary}");
}

/// classify under `executors` on the default model, every repetition whole.
fn run_classify(at: &Elsewhere, executors: &str, extra: &[&str]) {
    at.images("classify", "images", 2);
    std::fs::write(
        at.work().join("classify.toml"),
        format!(
            r#"name = "classify"
workload = "classify"
executor = {executors}
workers = 2
sets = 2
repetitions = 2
warmup = 0

[images]
folders = ["images"]
noise = false
"#
        ),
    )
    .unwrap();
    let dir = at.ran("classify.toml", extra);
    let runs = read_csv(&dir.join("runs.csv"));
    assert!(!runs.is_empty() && runs.len().is_multiple_of(2), "{runs:?}");
    assert!(
        runs.iter().all(|r| r["error"].is_empty() && r["tasks_ok"] == "2"),
        "{runs:?}"
    );
}

/// The wheel's manylinux tag as `auditwheel show` states it.
fn manylinux_tag(auditwheel: &Path, wheel: &Path) -> String {
    let out = Command::new(auditwheel).arg("show").arg(wheel).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("auditwheel show: {said}");
    said.split(|c: char| c.is_whitespace() || c == '"' || c == '.')
        .find(|w| w.starts_with("manylinux_"))
        .unwrap_or_else(|| panic!("no manylinux tag: {said}"))
        .to_string()
}

/// Runs `c`, which must succeed.
fn ok(mut c: Command) {
    let status = c.status().unwrap();
    assert!(status.success(), "{c:?}: {status}");
}

#[test]
fn the_wheel_installed_in_a_fresh_venv_runs_from_a_folder_with_no_checkout() {
    let _alone = alone();
    let (Some(maturin), Some(auditwheel)) = (tool("maturin"), tool("auditwheel")) else {
        return;
    };
    let at = Elsewhere::new(|d| d.join("env/bin"));
    let wheels = at.dir.path().join("wheels");
    let mut build = Command::new(&maturin);
    build
        .args(["build", "--release", "--quiet", "--out"])
        .arg(&wheels)
        .current_dir(project());
    ok(build);
    let wheel = std::fs::read_dir(&wheels).unwrap().next().unwrap().unwrap().path();
    let tag = manylinux_tag(&auditwheel, &wheel);
    assert!(wheel.to_string_lossy().contains(&tag), "{}: {tag}", wheel.display());
    let mut venv = at.cmd(Path::new("python3"));
    venv.args(["-m", "venv"]).arg(at.dir.path().join("env"));
    ok(venv);
    let python = at.bin.join("python");
    let mut pip = at.cmd(&python);
    pip.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("{}[ml]", wheel.display()));
    ok(pip);
    init_and_run_a_function(&at, &python);
    init_and_run_a_command(&at);
    // classify on the model `runner model` built, with ONNX Runtime from the [ml] extra.
    let model = at.runner(&["model"]);
    assert!(model.trim().ends_with("data/runner/models/resnet18.onnx"), "{model}");
    run_classify(&at, r#"["sequential", "thread", "py-thread"]"#, &[]);
    let mut gone = at.cmd(&python);
    gone.args(["-m", "pip", "uninstall", "--yes", "--quiet", "pool-runner"]);
    ok(gone);
    assert!(!at.bin.join("runner").exists(), "pip uninstall removes the command");
}

#[test]
fn cargo_install_runs_from_a_folder_with_no_checkout() {
    let _alone = alone();
    // Only cargo is needed, but it runs where the wheel's test does, so that a machine without
    // the set-up skips both alike.
    if tool("maturin").is_none() {
        return;
    }
    let at = Elsewhere::new(|d| d.join("root/bin"));
    let mut install = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    install
        .args(["install", "--locked", "--quiet", "--path"])
        .arg(project())
        .arg("--root")
        .arg(at.dir.path().join("root"))
        .env("CARGO_TARGET_DIR", project().join("target"));
    ok(install);
    // No environment of its own: Python's pools run python3 on PATH.
    let python3 = ["/usr/local/bin/python3", "/usr/bin/python3"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap();
    init_and_run_a_function(&at, &python3);
    init_and_run_a_command(&at);
    // classify: with no ONNX Runtime in reach the refusal says how to get it; with the library
    // and the model `runner model` builds (here with the clone's venv), it runs.
    at.images("classify", "images", 2);
    std::fs::write(
        at.work().join("bare.toml"),
        r#"name = "bare"
workload = "classify"
executor = "thread"
[images]
folders = ["images"]
"#,
    )
    .unwrap();
    let out = at.output(&["validate", "bare.toml"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("runner model") || said.contains("[ml]"), "{said}");
    let venv = project().join(".deps/venv/bin/python");
    at.runner(&["model", "--python", venv.to_str().unwrap()]);
    let out = at.output(&["--quiet", "bare.toml"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && said.contains("ONNX Runtime") && said.contains("[ml]"),
        "the library's refusal: {said}"
    );
    let lib = std::fs::read_dir(project().join(".deps/onnxruntime"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    run_classify(
        &at,
        r#"["sequential", "thread"]"#,
        &["--ort-lib", lib.to_str().unwrap()],
    );
}
