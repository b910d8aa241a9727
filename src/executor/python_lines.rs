//! The Python interpreter's output, as the py-* executors read it: the protocol's pipe as typed
//! messages ([`FromPython`]), one per line, with stderr kept (its last 4 KiB) for error messages.

use crate::executor::PoolError;
use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::time::Instant;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::python::FromPython;

/// The protocol's pipe as JSON lines, with the interpreter's stderr kept (the last 4 KiB).
pub(super) struct Lines {
    out: File,
    err: std::process::ChildStderr,
    buf: Vec<u8>,
    stderr: Vec<u8>,
    out_open: bool,
    err_open: bool,
}

impl Lines {
    pub(super) fn new(out: File, err: std::process::ChildStderr) -> Lines {
        Lines {
            out,
            err,
            buf: Vec::new(),
            stderr: Vec::new(),
            out_open: true,
            err_open: true,
        }
    }

    /// The next message; `None` at the end of the pipe. Only `pools.py` writes there, so a line
    /// that is not one of its messages is an error.
    pub(super) fn next(&mut self) -> Option<Result<FromPython, PoolError>> {
        loop {
            if let Some(n) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=n).collect();
                return Some(
                    serde_json::from_slice(&line)
                        .map_err(|e| PoolError::Said(format!("a message from Python of another shape: {e}"))),
                );
            }
            if !self.out_open {
                return None;
            }
            self.pump(PollTimeout::NONE);
        }
    }

    fn keep_stderr(&mut self, bytes: &[u8]) {
        self.stderr.extend_from_slice(bytes);
        let cut = self.stderr.len().saturating_sub(4096);
        self.stderr.drain(..cut);
    }

    /// Reads whatever is ready on stdout and stderr, waiting up to `timeout` for something.
    fn pump(&mut self, timeout: PollTimeout) {
        let mut chunk = [0u8; 64 * 1024];
        let (o, e) = (self.out_open, self.err_open);
        let mut fds = Vec::new();
        if o {
            fds.push(PollFd::new(self.out.as_fd(), PollFlags::POLLIN));
        }
        if e {
            fds.push(PollFd::new(self.err.as_fd(), PollFlags::POLLIN));
        }
        if fds.is_empty() || poll(&mut fds, timeout).is_err() {
            return;
        }
        let ready: Vec<bool> = fds.iter().map(|f| f.revents().is_some_and(|r| !r.is_empty())).collect();
        drop(fds);
        let mut k = 0;
        if o {
            if ready[k] {
                match self.out.read(&mut chunk) {
                    Ok(0) | Err(_) => self.out_open = false,
                    Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                }
            }
            k += 1;
        }
        if e && ready[k] {
            match self.err.read(&mut chunk) {
                Ok(0) | Err(_) => self.err_open = false,
                Ok(n) => self.keep_stderr(&chunk[..n]),
            }
        }
    }

    /// Reads both pipes to their end (the interpreter and its workers have exited or are
    /// exiting); `false` if they are still open at `deadline`.
    pub(super) fn drain(&mut self, deadline: Instant) -> bool {
        while self.out_open || self.err_open {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let ms = left.as_millis().min(1000) as u16;
            self.pump(PollTimeout::from(ms.max(1)));
        }
        self.buf.clear();
        true
    }

    pub(super) fn stderr_tail(&self) -> String {
        let text = String::from_utf8_lossy(&self.stderr);
        let text = text.trim();
        match text.lines().last() {
            Some(last) => format!(": {last}"),
            None => String::new(),
        }
    }
}
