//! Where runner finds what it needs beside itself, checked out or installed: the project's
//! `.deps/` above the experiment file, the binary or the working directory (a clone after
//! `scripts/setup`), else the Python environment the binary was installed into (a wheel's venv,
//! a pipx venv), else `python3` on PATH; the folder for files it makes for itself (the model);
//! and how to install what is missing, said the way this copy was installed.

use std::path::{Path, PathBuf};

/// The wheel's distribution name on PyPI (the command is `runner`).
pub const DISTRIBUTION: &str = "pool-runner";

/// How this copy of runner came to be: decides where to look and what a refusal tells the user
/// to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Install {
    /// Inside a clone: `.deps/` above one of the search roots (its folder is held).
    Checkout(PathBuf),
    /// Installed into a Python environment (a wheel): its interpreter.
    Wheel(PathBuf),
    /// Anywhere else (`cargo install`, a copied binary).
    Bare,
}

impl Install {
    /// Where this binary stands, seen from `roots` (the experiment's folder, the binary, the
    /// working directory): the first `.deps/` above them, else the binary's own environment.
    pub fn find(roots: &[PathBuf]) -> Install {
        if let Some(deps) = deps_above(roots) {
            return Install::Checkout(deps);
        }
        match std::env::current_exe().ok().and_then(|exe| env_python(&exe)) {
            Some(python) => Install::Wheel(python),
            None => Install::Bare,
        }
    }

    /// The interpreter Python's pools run when the file names none: the project's venv, the
    /// environment's own, or `python3` on PATH (None when there is none).
    pub fn default_python(&self) -> Option<PathBuf> {
        match self {
            Install::Checkout(deps) => Some(deps.join("venv/bin/python")).filter(|p| p.is_file()),
            Install::Wheel(python) => Some(python.clone()),
            Install::Bare => None,
        }
        .or_else(|| on_path("python3"))
    }

    /// What to do to get the packages of `extra` (`images`: numpy and Pillow; `ml`:
    /// onnxruntime and onnx), as a refusal says it.
    pub fn how_to_get(&self, extra: &str) -> String {
        let pins = packages_of(extra).join(" ");
        match self {
            Install::Checkout(_) => {
                "run `scripts/setup` (it makes .deps/venv with Pillow, numpy and onnxruntime)".into()
            }
            Install::Wheel(python) => format!(
                "install the wheel with its `[{extra}]` extra (`pip install '<the {DISTRIBUTION} wheel>[{extra}]'`, \
                 likewise for pipx and uv tool), or its packages into this environment: `{} -m pip install {pins}`",
                python.display()
            ),
            Install::Bare => format!(
                "install `{pins}` for the interpreter runner uses (python3 on PATH), or name one that has \
                 them with `interpreter = \"/path/to/python\"`"
            ),
        }
    }
}

/// The wheel's extras and the pinned packages each brings, as pyproject.toml lists them (a test
/// reads it): the versions of scripts/requirements.txt, on which the model's SHA-256 and the
/// rows' library versions depend.
pub const EXTRAS: [(&str, &[&str]); 2] = [
    ("images", &["numpy==2.4.6", "pillow==12.0.0"]),
    (
        "ml",
        &[
            "onnxruntime==1.31.1",
            "onnx==1.23.2",
            "numpy==2.4.6",
            "protobuf==7.36.2",
            "pillow==12.0.0",
        ],
    ),
];

/// The packages of `extra` (none for an unknown one).
fn packages_of(extra: &str) -> &'static [&'static str] {
    EXTRAS.iter().find(|(e, _)| *e == extra).map_or(&[], |(_, p)| p)
}

/// The wheel's extra that brings Python module `module`, for the image workloads (`images`) or
/// classify (`ml`).
pub fn extra_of(module: &str) -> Option<&'static str> {
    match module.split('.').next()? {
        "onnxruntime" | "onnx" => Some("ml"),
        "numpy" | "PIL" => Some("images"),
        _ => None,
    }
}

/// The first `.deps/` folder above any of `roots` that a set-up filled.
fn deps_above(roots: &[PathBuf]) -> Option<PathBuf> {
    roots
        .iter()
        .flat_map(|r| r.ancestors().map(|a| a.join(".deps")).collect::<Vec<_>>())
        .find(|d| d.join("venv").is_dir() || d.join("onnxruntime").is_dir())
}

/// The interpreter of the Python environment holding `exe` (`<env>/bin/runner` beside
/// `<env>/bin/python`, `<env>/pyvenv.cfg` marking a venv), if it is one.
fn env_python(exe: &Path) -> Option<PathBuf> {
    let bin = exe.parent()?;
    let env = bin.parent()?;
    if !env.join("pyvenv.cfg").is_file() {
        return None;
    }
    ["python", "python3"].iter().map(|n| bin.join(n)).find(|p| p.is_file())
}

/// `name` as PATH finds it.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The folder for files runner makes for itself outside a clone (the default model):
/// `$XDG_DATA_HOME/runner`, else `~/.local/share/runner`.
pub fn data_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .map(|d| d.join("runner"))
}

/// Where `runner model` writes classify's default model, and where classify looks for it when
/// the file names none and no clone's models/ holds it.
pub fn default_model() -> Option<PathBuf> {
    data_dir().map(|d| d.join("models/resnet18.onnx"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_venv_holding_the_binary_is_its_environment_and_a_bare_folder_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("python"), "").unwrap();
        assert_eq!(env_python(&bin.join("runner")), None, "no pyvenv.cfg: not a venv");
        std::fs::write(dir.path().join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        assert_eq!(env_python(&bin.join("runner")), Some(bin.join("python")));
    }

    #[test]
    fn a_checkout_is_found_above_any_root_and_names_its_set_up() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::create_dir_all(dir.path().join(".deps/venv")).unwrap();
        let found = Install::find(&[deep]);
        assert_eq!(found, Install::Checkout(dir.path().join(".deps")));
        assert!(found.how_to_get("images").contains("scripts/setup"));
        let wheel = Install::Wheel("/env/bin/python".into()).how_to_get("ml");
        assert!(
            wheel.contains("[ml]") && wheel.contains("/env/bin/python -m pip install onnxruntime==1.31.1 onnx==1.23.2"),
            "{wheel}"
        );
    }

    #[test]
    fn the_extras_are_pyproject_tomls_and_pin_what_scripts_setup_pins() {
        let project: toml::Table = include_str!("../pyproject.toml").parse().unwrap();
        let extras = project["project"]["optional-dependencies"].as_table().unwrap();
        assert_eq!(extras.len(), EXTRAS.len());
        let pinned = include_str!("../scripts/requirements.txt");
        for (extra, packages) in EXTRAS {
            let listed: Vec<&str> = extras[extra]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            assert_eq!(listed, packages, "[{extra}]");
            for p in packages {
                assert!(
                    pinned.lines().any(|l| l == *p),
                    "{p} is not pinned so in scripts/requirements.txt"
                );
            }
        }
        assert_eq!(project["project"]["name"].as_str(), Some(DISTRIBUTION));
    }
}
