//! The pinning axis: `pinning = ["none", "cores"]`, applied by every pool as it starts each
//! worker (thread, process or hybrid thread): worker i runs only on core i mod N of the N cores
//! the runner may use (its own affinity mask); the sequential baseline on the first.

use super::Job;
use crate::pools::axes::PINNING;
use crate::proc;

/// The cores to deal workers onto, when the job's cell is pinned.
pub fn cores(job: &Job) -> Option<Vec<usize>> {
    (PINNING.word_of(&job.ctx.values) == "cores").then(proc::allowed_cores)
}

/// With pinning, puts the calling thread on the core of worker `index`.
pub fn pin(job: &Job, index: usize) -> Result<(), proc::ProcError> {
    match cores(job) {
        Some(cores) if !cores.is_empty() => proc::pin_to(cores[index % cores.len()]),
        _ => Ok(()),
    }
}
