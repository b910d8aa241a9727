//! Installed like a tool: the schema editors check files with (it is `runner schema`, every
//! shipped experiment passes it, and the fixtures `runner validate` refuses fail it too), the
//! bash completions in a real bash, and the wheel and `cargo install` used from a folder with no
//! checkout.

mod common;

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
}
