//! A child's wait status: whether it succeeded, was stopped from outside, and its words
//! ("exited with status 1"), which [`WaitStatus::parse`] reads back.

use nix::sys::signal::Signal;

/// A child's wait status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitStatus(pub i32);

impl WaitStatus {
    pub fn success(self) -> bool {
        libc::WIFEXITED(self.0) && libc::WEXITSTATUS(self.0) == 0
    }

    /// Killed by a signal that asks a program to stop (SIGTERM, SIGINT, SIGHUP): someone outside
    /// stopped it. The runner itself only ever kills with SIGKILL.
    pub fn stopped_from_outside(self) -> bool {
        libc::WIFSIGNALED(self.0) && [libc::SIGTERM, libc::SIGINT, libc::SIGHUP].contains(&libc::WTERMSIG(self.0))
    }

    /// "exited with status 1", "killed by signal 9 (SIGKILL)".
    pub fn describe(self) -> String {
        let status = self.0;
        if libc::WIFEXITED(status) {
            format!("exited with status {}", libc::WEXITSTATUS(status))
        } else if libc::WIFSIGNALED(status) {
            let sig = libc::WTERMSIG(status);
            let name = Signal::try_from(sig).map_or_else(|_| "unknown".to_string(), |s| s.as_str().to_string());
            format!("killed by signal {sig} ({name})")
        } else {
            format!("wait status {status:#x}")
        }
    }

    /// The status a [`describe`](WaitStatus::describe) text names, exactly.
    pub fn parse(text: &str) -> Option<WaitStatus> {
        if let Some(code) = text.strip_prefix("exited with status ") {
            let code: i32 = code.parse().ok().filter(|c| (0..=255).contains(c))?;
            return Some(WaitStatus(code << 8));
        }
        if let Some(raw) = text.strip_prefix("wait status 0x") {
            return i32::from_str_radix(raw, 16).ok().map(WaitStatus);
        }
        let (sig, _) = text.strip_prefix("killed by signal ")?.split_once(' ')?;
        let status = WaitStatus(sig.parse().ok()?);
        (status.describe() == text).then_some(status)
    }
}
