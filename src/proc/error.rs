//! What the process plumbing fails with ([`ProcError`]), each variant naming what was tried. A
//! caller that only reports it (a repetition's or a worker's failure) takes its sentence.

use nix::errno::Errno;

use super::WaitStatus;

/// Why a fork, a wait, a mapping, a pin or a ring read failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcError {
    /// Forking from a threaded process could inherit a lock another thread held.
    #[error("refusing to fork: this process has {0} threads (it must be single-threaded)")]
    Threaded(usize),
    /// A system call failed: what it was for, and the system's word for why.
    #[error("{what} failed: {errno}")]
    Sys { what: &'static str, errno: Errno },
    /// `wait4` on a child failed (not interrupted).
    #[error("could not be reaped ({0})")]
    Unreaped(Errno),
    /// The shared mapping a pool's rings live in could not be made.
    #[error("mmap of {len} shared bytes failed: {errno}")]
    Map { len: usize, errno: Errno },
    /// The machine refuses to pin this thread to `core`.
    #[error("cannot pin to core {core}: {errno}")]
    Pin { core: usize, errno: Errno },
    /// A core the affinity set cannot hold.
    #[error("core {0}: no such core in an affinity set")]
    NoCore(usize),
    /// The runner's own affinity mask cannot be read.
    #[error("the runner cannot read its own CPU affinity mask")]
    NoMask,
    /// The thread that tried pinning panicked.
    #[error("the pinning check panicked")]
    PinPanicked,
    /// A ring's next message runs past what the ring holds (a writer died mid-write).
    #[error("a message of {len} bytes in a ring holding {held}")]
    Torn { len: usize, held: u64 },
}

/// Why a check run in a throwaway child ([`super::in_child`]) did not pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChildFailure {
    /// The check's own words, as it returned them.
    #[error("{0}")]
    Refused(String),
    /// The child died before it could say (a library that crashes as it loads).
    #[error("the checking process {}", .0.describe())]
    Died(WaitStatus),
    #[error(transparent)]
    Proc(#[from] ProcError),
}

impl From<ChildFailure> for String {
    fn from(e: ChildFailure) -> String {
        e.to_string()
    }
}

/// Where a failure only travels on as words (a task's or a pool's failure, across processes).
impl From<ProcError> for String {
    fn from(e: ProcError) -> String {
        e.to_string()
    }
}
