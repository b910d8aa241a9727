//! The values an axis takes that are not plain counts: the executors (Rust's pools and
//! Python's), Python's start methods, pinning and output formats.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Whether each worker (thread, process, hybrid thread) runs on one core of its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pinning {
    /// The scheduler places every thread.
    #[default]
    None,
    /// Worker i runs only on core i mod N of the N cores the runner may use (its own affinity
    /// mask); the sequential baseline on the first.
    Cores,
}

impl fmt::Display for Pinning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pinning::None => "none",
            Pinning::Cores => "cores",
        })
    }
}

/// The image format resized outputs are encoded to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Jpeg,
    Png,
    /// Lossless: the `image` crate encodes lossless WebP only.
    Webp,
    /// Each input's own format (JPEG, PNG or WebP; others, and noise, as JPEG).
    Same,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Same => "same",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the tasks of a repetition are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutorKind {
    /// A plain loop in one thread: the baseline.
    Sequential,
    /// A rayon pool of `workers` threads, built for each repetition.
    Thread,
    /// `workers` processes forked from a single-threaded parent.
    Process,
    /// `processes` forked processes with `threads` threads each.
    Hybrid,
    /// Python, a plain loop in the interpreter: the Python executors' baseline.
    #[serde(rename = "py-sequential")]
    PySequential,
    /// Python's `concurrent.futures.ThreadPoolExecutor` with `workers` threads.
    #[serde(rename = "py-thread")]
    PyThread,
    /// Python's `concurrent.futures.ProcessPoolExecutor` with `workers` processes, started by
    /// `py_start_method`.
    #[serde(rename = "py-process")]
    PyProcess,
}

impl ExecutorKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sequential => "sequential",
            Self::Thread => "thread",
            Self::Process => "process",
            Self::Hybrid => "hybrid",
            Self::PySequential => "py-sequential",
            Self::PyThread => "py-thread",
            Self::PyProcess => "py-process",
        }
    }

    /// Runs in Python (the project's `python/pools.py`), not in the runner's own pools.
    pub fn is_python(self) -> bool {
        matches!(self, Self::PySequential | Self::PyThread | Self::PyProcess)
    }

    /// The baseline of its language: what its speedup is measured against.
    pub fn sequential(self) -> ExecutorKind {
        if self.is_python() {
            Self::PySequential
        } else {
            Self::Sequential
        }
    }

    pub fn is_sequential(self) -> bool {
        self == self.sequential()
    }

    pub fn language(self) -> &'static str {
        if self.is_python() {
            "Python"
        } else {
            "Rust"
        }
    }
}

/// How Python's process pool starts its workers (`multiprocessing` start methods).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartMethod {
    Fork,
    Spawn,
    Forkserver,
}

impl StartMethod {
    pub fn name(self) -> &'static str {
        match self {
            Self::Fork => "fork",
            Self::Spawn => "spawn",
            Self::Forkserver => "forkserver",
        }
    }
}

impl fmt::Display for StartMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for ExecutorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
