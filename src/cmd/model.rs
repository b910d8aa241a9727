//! `runner model`: builds classify's default model where no clone's `scripts/setup` did, with
//! the same script (models/make_resnet18.py, built into the binary) and the same SHA-256 check:
//! ResNet-18's architecture and cost, seeded random weights, byte-identical with the `[ml]`
//! extra's pinned numpy and onnx.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::exit::ExitCode;

const SCRIPT: &str = include_str!("../../models/make_resnet18.py");
const EXPECTED: &str = include_str!("../../models/resnet18.onnx.sha256");

pub fn run(out: Option<PathBuf>, python: Option<PathBuf>) -> Result<ExitCode> {
    let out = match out.or_else(crate::home::default_model) {
        Some(out) => out,
        None => bail!("no folder for the model (neither XDG_DATA_HOME nor HOME is set): give --out PATH"),
    };
    let expected = EXPECTED.split_whitespace().next().unwrap_or_default();
    if crate::spec::sha256_file(&out).is_ok_and(|h| h == expected) {
        println!("{}", out.display());
        eprintln!("runner: the model is already built (SHA-256 {expected})");
        return Ok(ExitCode::Ok);
    }
    let roots: Vec<PathBuf> = [std::env::current_dir().ok(), std::env::current_exe().ok()]
        .into_iter()
        .flatten()
        .collect();
    let install = crate::home::Install::find(&roots);
    let Some(python) = python.or_else(|| install.default_python()) else {
        bail!(
            "no Python to build the model with (it needs numpy and onnx): {}, or give --python",
            install.how_to_get("ml")
        );
    };
    build(&python, &out, expected).map_err(|e| e.context(format!("building the model with {}", python.display())))?;
    println!("{}", out.display());
    Ok(ExitCode::Ok)
}

/// Runs the script with `python` into `out.tmp`, and keeps it as `out` if its hash is `expected`.
fn build(python: &Path, out: &Path, expected: &str) -> Result<()> {
    let dir = out.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let script = dir.join("make_resnet18.py");
    std::fs::write(&script, SCRIPT).with_context(|| format!("cannot write {}", script.display()))?;
    let tmp = out.with_extension("onnx.tmp");
    eprintln!(
        "runner: building {} (ResNet-18 architecture, seeded random weights)",
        out.display()
    );
    let status = std::process::Command::new(python)
        .arg(&script)
        .arg(&tmp)
        .stdout(std::process::Stdio::null())
        .status()
        .with_context(|| format!("cannot run {}", python.display()));
    let _ = std::fs::remove_file(&script);
    let status = status?;
    if !status.success() {
        let _ = std::fs::remove_file(&tmp);
        bail!(
            "the script failed ({status}): it needs numpy and onnx, which the wheel's `[ml]` extra brings \
             (or `{} -m pip install onnx==1.23.2 numpy==2.4.6`)",
            python.display()
        );
    }
    let got = crate::spec::sha256_file(&tmp)?;
    if got != expected {
        let _ = std::fs::remove_file(&tmp);
        bail!(
            "the SHA-256 of the model is {got}, expected {expected}: this numpy and onnx did not reproduce it \
             (the `[ml]` extra pins the versions that do)"
        );
    }
    std::fs::rename(&tmp, out).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}
