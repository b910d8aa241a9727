//! The allocator axis: `allocator = ["system", "jemalloc", "mimalloc"]`. A cell's repetition
//! process runs with that allocator preloaded (`LD_PRELOAD`, which needs an exec: see
//! `isolate::zygote`), and so every worker it forks and every interpreter or program it starts;
//! each worker checks at its start that the library is mapped, and fails its tasks if not.

use std::path::PathBuf;

use crate::axis::Values;
use crate::pools::axes::{library, ALLOCATOR};
use crate::spec::Refused;

/// The cell's allocator, when it is not glibc's: its name and library.
pub fn preload(values: &Values) -> Option<(&'static str, PathBuf)> {
    let name = ALLOCATOR.word_of(values);
    library(name).ok().flatten().map(|lib| (name, lib))
}

/// Why a worker does not run under its cell's allocator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotPreloaded {
    /// Its library is not on this machine (validation refuses this before anything runs).
    #[error(transparent)]
    Missing(#[from] Refused),
    #[error("allocator {name} did not take effect: {} is not mapped in worker {worker}", lib.display())]
    NotMapped {
        name: &'static str,
        lib: PathBuf,
        worker: usize,
    },
}

/// In a worker: `Ok` when the cell's allocator is glibc's or its library (the file it resolves
/// to: `libmimalloc.so.2` is a link) is mapped here.
pub fn check(values: &Values, worker: usize) -> Result<(), NotPreloaded> {
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
        Err(NotPreloaded::NotMapped {
            name,
            lib: real,
            worker,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::axis::Value;

    #[test]
    fn a_worker_without_its_allocator_mapped_refuses_to_start() {
        let mut values = Values::default();
        assert!(check(&values, 0).is_ok(), "glibc's needs nothing");
        values.set(&ALLOCATOR, Value::Word("jemalloc"));
        // This test process was not started with jemalloc preloaded.
        let err = check(&values, 3).unwrap_err();
        assert!(matches!(err, NotPreloaded::NotMapped { worker: 3, .. }), "{err}");
        let err = err.to_string();
        assert!(
            err.contains("allocator jemalloc did not take effect") && err.contains("worker 3"),
            "{err}"
        );
    }
}
