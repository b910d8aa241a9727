//! What the workloads fail with: [`Refused`] (the leaf's) when one cannot run as set on this
//! machine (validation names the file and key), [`WorkError`] when it fails as it runs (a
//! worker's state, a task, the inputs). A task's or a repetition's failure carries the words
//! on, across the process boundary, as text.

use super::image::ImageError;
use super::jpeg::JpegError;
use super::model::ModelError;
use super::ort_lib::OrtError;
pub use crate::spec::Refused;

/// A cell's settings were not prepared for the workload that reads them (or not of the type
/// it reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the settings of workload `{0}` are missing or not prepared")]
pub struct NoSettings(pub &'static str);

impl From<NoSettings> for Refused {
    fn from(e: NoSettings) -> Refused {
        Refused::from(e.to_string())
    }
}

/// A check that runs part of the work (a library's open, an interpreter's probe) refuses in
/// the words the work failed with.
impl From<WorkError> for Refused {
    fn from(e: WorkError) -> Refused {
        Refused::from(e.to_string())
    }
}

/// Why a workload's part failed as it ran.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Jpeg(#[from] JpegError),
    #[error(transparent)]
    Ort(#[from] OrtError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    NoSettings(#[from] NoSettings),
    /// A child the work started could not be waited for.
    #[error(transparent)]
    Proc(#[from] crate::proc::ProcError),
    /// What the work or the harness said: a program's exit and stderr, a Python exception, a
    /// library's return code, a file that could not be written.
    #[error("{0}")]
    Said(String),
}

impl From<String> for WorkError {
    fn from(s: String) -> WorkError {
        WorkError::Said(s)
    }
}

impl From<&str> for WorkError {
    fn from(s: &str) -> WorkError {
        WorkError::Said(s.to_string())
    }
}

/// Where the words travel on: a task's failure, a pool's, across processes.
impl From<WorkError> for String {
    fn from(e: WorkError) -> String {
        e.to_string()
    }
}
