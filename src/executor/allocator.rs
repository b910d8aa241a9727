//! The allocator axis: `allocator = ["system", "jemalloc", "mimalloc"]`. A cell's repetition
//! process runs with that allocator preloaded (`LD_PRELOAD`, which needs an exec: see
//! `isolate::zygote`), and so every worker it forks and every interpreter or program it starts;
//! each worker checks at its start that the library is mapped, and fails its tasks if not.

use std::path::PathBuf;

use crate::spec::axis::{AxisDef, Kind, Role, Value, Values};

pub static ALLOCATOR: AxisDef = AxisDef {
    doc: "`allocator`: part of the work (verdicts compare pools under one allocator, against the loop under it); `jemalloc` names cells `...-jemalloc-...` (`system`, glibc's malloc, adds nothing).",
    key: "allocator",
    section: None,
    column: "allocator",
    role: Role::Work,
    kind: Kind::Words(&["system", "jemalloc", "mimalloc"]),
    applies: |_| true,
    id: |v| (v != Value::Word("system")).then(|| format!("-{}", v.text())),
    setting: |v| (v != Value::Word("system")).then(|| format!(", {}", v.text())),
    check: |values| {
        for v in values {
            if let Value::Word(name) = v {
                library(name)?;
            }
        }
        Ok(())
    },
};

/// Each allocator other than glibc's: its library's file name and the Debian package with it.
const LIBRARIES: &[(&str, &str, &str)] = &[
    ("jemalloc", "libjemalloc.so.2", "libjemalloc2"),
    ("mimalloc", "libmimalloc.so.2", "libmimalloc2.0"),
];

const DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
];

/// The library to preload for `name` (`None` for `system`), or why it cannot be.
pub fn library(name: &str) -> Result<Option<PathBuf>, String> {
    let Some(&(_, file, package)) = LIBRARIES.iter().find(|(n, ..)| *n == name) else {
        return Ok(None);
    };
    DIRS.iter()
        .map(|d| PathBuf::from(d).join(file))
        .find(|p| p.exists())
        .map(Some)
        .ok_or_else(|| format!("\"{name}\" needs {file}, which is not on this machine (Debian's {package}; scripts/setup installs it as root)"))
}

/// The cell's allocator, when it is not glibc's: its name and library.
pub fn preload(values: &Values) -> Option<(&'static str, PathBuf)> {
    let name = ALLOCATOR.word_of(values);
    library(name).ok().flatten().map(|lib| (name, lib))
}

/// In a worker: `Ok` when the cell's allocator is glibc's or its library (the file it resolves
/// to: `libmimalloc.so.2` is a link) is mapped here.
pub fn check(values: &Values, worker: usize) -> Result<(), String> {
    let name = ALLOCATOR.word_of(values);
    let Some(lib) = library(name)? else {
        return Ok(());
    };
    let real = std::fs::canonicalize(&lib).unwrap_or_else(|_| lib.clone());
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    // A line ends with the mapped file's path, after five fields.
    if maps.lines().any(|l| {
        l.split_whitespace()
            .nth(5)
            .is_some_and(|p| std::path::Path::new(p) == real)
    }) {
        Ok(())
    } else {
        Err(format!(
            "allocator {name} did not take effect: {} is not mapped in worker {worker}",
            real.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::axis::Value;

    #[test]
    fn a_worker_without_its_allocator_mapped_refuses_to_start() {
        let mut values = Values::default();
        assert!(check(&values, 0).is_ok(), "glibc's needs nothing");
        values.set("allocator", Value::Word("jemalloc"));
        // This test process was not started with jemalloc preloaded.
        let err = check(&values, 3).unwrap_err();
        assert!(
            err.contains("allocator jemalloc did not take effect") && err.contains("worker 3"),
            "{err}"
        );
    }
}
