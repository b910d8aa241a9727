//! The orchestrator's side of a repetition: reads the repetition process's messages (one JSON
//! line each) and, when told to or under a task timeout, its task notes ([`Reader`]); watches
//! the task and repetition timeouts and an immediate stop, and samples the process tree's PSS
//! while it waits, so the peak is seen, not only the end.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use super::records::Reader;
use super::{Ended, Failure, RepMeasure};
use crate::interrupt;
use crate::measure::tree_pss_kib;
use crate::workload::TaskRecord;

/// How often the orchestrator samples the repetition's PSS.
const PSS_EVERY: Duration = Duration::from_millis(50);

/// What the repetition process says, one JSON line each (its task notes go through the ring).
#[derive(Serialize, Deserialize)]
pub enum Msg {
    /// The ring of task notes is half full: read it.
    Drain,
    /// A task's record too long for the ring.
    Task(TaskRecord),
    Done(RepMeasure),
    Failed {
        error: String,
        measure: RepMeasure,
    },
}

/// Writes one message as a line (the pipe is the repetition process's only link upward).
pub fn send(wr: &OwnedFd, msg: &Msg) {
    let mut line = serde_json::to_vec(msg).unwrap_or_default();
    line.push(b'\n');
    let mut rest = &line[..];
    while !rest.is_empty() {
        match nix::unistd::write(wr, rest) {
            Ok(n) => rest = &rest[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

/// What the orchestrator learnt of a repetition from its messages and its end.
#[derive(Debug, Default)]
pub struct Heard {
    pub measure: Option<RepMeasure>,
    pub failure: Option<Failure>,
    /// Stopped from outside before it ended.
    pub cut: bool,
    pub pss_peak_kib: Option<u64>,
}

impl Heard {
    pub fn ended(self) -> Ended {
        match (self.cut, self.failure, self.measure) {
            (true, ..) => Ended::Cut,
            (false, None, Some(m)) => Ended::Measured(m),
            (false, Some(failure), measure) => Ended::Failed { failure, measure },
            (false, None, None) => Ended::Failed {
                failure: Failure::Other("no result came back".into()),
                measure: None,
            },
        }
    }
}

/// The limits a repetition runs under.
pub struct Watch {
    /// A task running past the first duration stops the repetition; the second is the limit
    /// the experiment set (the first may be later: a pool that enforces it itself gets slack),
    /// and the one the message names.
    pub task: Option<(Duration, Duration)>,
    pub repetition: Option<Duration>,
}

/// Reads the repetition's messages until its pipe closes, stopping early (the caller kills the
/// process group) on a timeout or an immediate stop; returns what it learnt. The notes left in
/// the ring are the caller's to read once the process is gone.
pub fn supervise(
    rd: OwnedFd,
    child: Pid,
    watch: &Watch,
    notes: &mut Reader,
    on_task: &mut dyn FnMut(TaskRecord),
) -> Heard {
    let start = Instant::now();
    let mut result = Heard::default();
    let mut pipe = File::from(rd);
    let (mut buf, mut chunk) = (Vec::new(), vec![0u8; 64 * 1024]);
    let mut sampled = start - PSS_EVERY;
    loop {
        if sampled.elapsed() >= PSS_EVERY {
            sampled = Instant::now();
            if let Some(kib) = tree_pss_kib(child.as_raw()) {
                result.pss_peak_kib = Some(result.pss_peak_kib.map_or(kib, |p| p.max(kib)));
            }
        }
        if watch.task.is_some() {
            // Each task's start and end as they happen, for the task timeout.
            if let Err(e) = notes.drain(on_task) {
                result.failure = Some(Failure::Other(e.to_string()));
                return result;
            }
        }
        if let Some(why) = stop_reason(watch, start, &notes.running) {
            result.cut = interrupt::stop_now();
            result.failure = Some(why);
            return result;
        }
        let mut fds = [PollFd::new(pipe.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::try_from(PSS_EVERY).unwrap_or(PollTimeout::MAX)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => {
                result.failure = Some(Failure::Other(format!("poll failed: {e}")));
                return result;
            }
        }
        let n = match pipe.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                result.failure = Some(Failure::Other(format!("reading the repetition's results: {e}")));
                return result;
            }
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Some(end) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=end).collect();
            match serde_json::from_slice::<Msg>(&line) {
                Ok(Msg::Drain) => {
                    if let Err(e) = notes.drain(on_task) {
                        result.failure = Some(Failure::Other(e.to_string()));
                    }
                }
                Ok(Msg::Task(rec)) => {
                    // After its start, which may still be in the ring.
                    let _ = notes.drain(on_task);
                    notes.running.retain(|(t, _)| *t != rec.task);
                    on_task(rec);
                }
                Ok(Msg::Done(m)) => result.measure = Some(m),
                Ok(Msg::Failed { error, measure }) => {
                    result.measure = Some(measure);
                    result.failure = Some(Failure::Other(error));
                }
                Err(e) => {
                    result.failure = Some(Failure::Other(format!(
                        "garbled message from the repetition process: {e}"
                    )))
                }
            }
        }
    }
    result
}

/// Why the repetition must stop now, if it must: an immediate stop, a late task, or the
/// repetition's own time limit.
fn stop_reason(watch: &Watch, start: Instant, running: &[(usize, Instant)]) -> Option<Failure> {
    if interrupt::stop_now() {
        return Some(Failure::Interrupted);
    }
    if let Some((deadline, limit)) = watch.task {
        if let Some((task, _)) = running.iter().find(|(_, s)| s.elapsed() > deadline) {
            return Some(Failure::TaskTimedOut {
                task: *task,
                limit_ms: Failure::limit_ms(limit),
            });
        }
    }
    watch
        .repetition
        .filter(|t| start.elapsed() > *t)
        .map(|t| Failure::RepetitionTimedOut {
            limit_ms: Failure::limit_ms(t),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_task_is_named_with_the_configured_limit_not_the_watchdogs() {
        let watch = Watch {
            task: Some((Duration::from_millis(5), Duration::from_secs(2))),
            repetition: None,
        };
        let started = Instant::now() - Duration::from_millis(50);
        let why = stop_reason(&watch, Instant::now(), &[(3, started)]).unwrap();
        assert_eq!(
            why,
            Failure::TaskTimedOut {
                task: 3,
                limit_ms: 2000
            }
        );
        assert!(why.to_string().contains("task 3 timed out after 2.000 s"), "{why}");
    }
}
