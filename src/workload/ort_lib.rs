//! Finding and loading the ONNX Runtime shared library, without ever downloading it.
//!
//! Search order: an explicit path (experiment key `classify.ort_library` or `--ort-lib`),
//! `ORT_DYLIB_PATH`, the project-local `.deps/onnxruntime/` made by `scripts/setup`, and last the
//! `onnxruntime` package (whose wheel ships the library) of the Python runner uses: the
//! environment it was installed into (with the `[ml]` extra), else `python3` on PATH.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use ort::environment::Environment;

use crate::proc::ChildFailure;

/// Where `scripts/setup` puts the library, relative to the project root.
pub const LOCAL_DIR: &str = ".deps/onnxruntime";

const HOW_TO_INSTALL: &str = "in a clone, run `scripts/setup` (it installs ONNX Runtime from PyPI's \
onnxruntime wheel into .deps/); installed with pip, pipx or uv, the wheel's `[ml]` extra (or `pip install onnxruntime==1.31.1` \
into its environment); or point ORT_DYLIB_PATH or `--ort-lib` at libonnxruntime.so.1.31.x";

/// Why ONNX Runtime cannot be used here; each says how to install it where that is the cure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrtError {
    #[error("ONNX Runtime library not found; {HOW_TO_INSTALL}")]
    NotFound,
    #[error("ONNX Runtime library {} (from {how}) does not exist; {HOW_TO_INSTALL}", path.display())]
    Missing { path: PathBuf, how: &'static str },
    /// dlopen refused it, or it is not ONNX Runtime.
    #[error("cannot load ONNX Runtime ({how}): {message}; {HOW_TO_INSTALL}")]
    Load { how: &'static str, message: String },
    /// The child that loaded it to learn its version died doing so.
    #[error("loading ONNX Runtime: the probing process {0}")]
    ProbeDied(String),
    /// The child that loaded it could not be started or said why it failed.
    #[error("{0}")]
    Probe(String),
    #[error("ONNX Runtime is not loaded; {HOW_TO_INSTALL}")]
    NotLoaded,
    #[error("cannot create the ORT environment: {0}")]
    Environment(String),
}

/// A task's or a worker's failure travels on as words (across processes).
impl From<OrtError> for String {
    fn from(e: OrtError) -> String {
        e.to_string()
    }
}

/// A library that was found, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub path: PathBuf,
    pub how: &'static str,
}

/// Looks for the library; `roots` are folders whose ancestors may hold the project's `.deps/`.
pub fn find(explicit: Option<&Path>, roots: &[PathBuf]) -> Result<Found, OrtError> {
    if let Some(p) = explicit {
        return exists(p, "explicit path");
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return exists(Path::new(&p), "ORT_DYLIB_PATH");
    }
    for root in roots {
        for dir in root.ancestors() {
            if let Some(p) = versioned_lib_in(&dir.join(LOCAL_DIR)) {
                return Ok(Found {
                    path: p,
                    how: "project .deps",
                });
            }
        }
    }
    if let Some(p) = crate::home::Install::find(roots)
        .default_python()
        .and_then(|py| python_onnxruntime(&py))
    {
        return Ok(Found {
            path: p,
            how: "python onnxruntime",
        });
    }
    Err(OrtError::NotFound)
}

fn exists(p: &Path, how: &'static str) -> Result<Found, OrtError> {
    if p.is_file() {
        Ok(Found {
            path: p.to_path_buf(),
            how,
        })
    } else {
        Err(OrtError::Missing {
            path: p.to_path_buf(),
            how,
        })
    }
}

/// `libonnxruntime.so.<version>` in `dir` (the wheel ships no unversioned name).
fn versioned_lib_in(dir: &Path) -> Option<PathBuf> {
    let mut libs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so."))
        })
        .collect();
    libs.sort();
    libs.pop()
}

/// The library inside the `onnxruntime` package that `python` imports.
fn python_onnxruntime(python: &Path) -> Option<PathBuf> {
    let out = Command::new(python)
        .args([
            "-c",
            "import os, onnxruntime; print(os.path.dirname(onnxruntime.__file__))",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    versioned_lib_in(&dir.join("capi"))
}

static LOADED: Mutex<Option<String>> = Mutex::new(None);

/// Loads the library into this process (dlopen only: no environment, no threads) and returns
/// its version. Call it in the single-threaded parent; forked children inherit it.
pub fn load(found: &Found) -> Result<String, OrtError> {
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(v) = &*loaded {
        return Ok(v.clone());
    }
    // A failed load must stay a LoadDynamicError: building an `ort::Error` calls into the library.
    ort::init_from(&found.path).map_err(|e| OrtError::Load {
        how: found.how,
        message: e.to_string(),
    })?;
    // The build string names the release on official builds; else the file name does (`.so.1.31.1`).
    let from_name = found
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("libonnxruntime.so."))
        .map(str::to_string);
    let version = version_of(ort::info())
        .or(from_name)
        .unwrap_or_else(|| "unknown".to_string());
    *loaded = Some(version.clone());
    Ok(version)
}

/// "ORT Build Info: git-branch=rel-1.31.1, ..." → "1.31.1".
fn version_of(info: &str) -> Option<String> {
    let at = info.find("rel-")? + 4;
    let v: String = info[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    (!v.is_empty()).then_some(v)
}

/// Loads the library in a throwaway child and returns its version, so that the orchestrator
/// learns that it loads (and which release it is) without mapping it: only the processes that
/// build sessions do, and every other fork stays free of it.
pub fn probe(found: &Found) -> Result<String, OrtError> {
    crate::proc::in_child(|| load(found)).map_err(|e| match e {
        ChildFailure::Died(status) => OrtError::ProbeDied(status.describe()),
        other => OrtError::Probe(other.to_string()),
    })
}

static ENV: Mutex<Option<Environment>> = Mutex::new(None);

/// This process's ORT environment, built on first use. ORT allows one per process, ever, so it
/// must first be built in the process (or forked worker) that runs sessions, never before a fork.
pub fn environment() -> Result<Environment, OrtError> {
    if LOADED.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
        return Err(OrtError::NotLoaded);
    }
    let mut env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = &*env {
        return Ok(e.clone());
    }
    let built = ort::init()
        .with_name("runner")
        .build()
        .map_err(|e| OrtError::Environment(e.to_string()))?;
    *env = Some(built.clone());
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_from_build_info() {
        assert_eq!(
            version_of("ORT Build Info: git-branch=rel-1.31.1, git-commit-id=abc").as_deref(),
            Some("1.31.1")
        );
        assert_eq!(version_of("nothing here"), None);
    }

    #[test]
    fn a_missing_explicit_path_says_how_to_install() {
        let e = find(Some(Path::new("/nonexistent/libonnxruntime.so.1.31.1")), &[]).unwrap_err();
        assert!(
            matches!(
                e,
                OrtError::Missing {
                    how: "explicit path",
                    ..
                }
            ),
            "{e}"
        );
        let e = e.to_string();
        assert!(e.contains("does not exist") && e.contains("scripts/setup"), "{e}");
    }

    #[test]
    fn a_bad_library_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("libonnxruntime.so.1.31.1");
        std::fs::write(&bad, b"not a shared object").unwrap();
        let found = find(Some(&bad), &[]).unwrap();
        let e = load(&found).unwrap_err();
        assert!(matches!(e, OrtError::Load { .. }), "{e}");
        assert!(e.to_string().contains("cannot load ONNX Runtime"), "{e}");
    }
}
