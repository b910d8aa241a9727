//! The fork pool's parent reading what a worker sent: its socket (start-up messages, wake-ups,
//! its death) and its results ring, and what each result means for the tasks it holds.

use std::os::fd::AsRawFd;
use std::time::Instant;

use nix::errno::Errno;
use nix::sys::socket::{recv, MsgFlags};

use super::worker::{FromWorker, MAX_MSG, WAKE};
use super::{Gone, Pool};
use crate::executor::PoolError;
use crate::executor::TaskEvent;
use crate::measure::monotonic_ns;

impl Pool {
    /// Reads worker `i`'s socket: its start-up messages and wake-ups; why it is gone, if it is.
    pub(super) fn drain_socket(&mut self, i: usize, on_event: &mut dyn FnMut(TaskEvent)) -> Option<Gone> {
        let mut buf = vec![0u8; MAX_MSG];
        loop {
            let msg = match recv(self.slots[i].sock.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
                Ok(0) => return Some((None, None)),
                Ok(len) if buf[..len] == *WAKE => continue,
                Ok(len) => {
                    serde_json::from_slice::<FromWorker>(&buf[..len]).map_err(|e| PoolError::Said(e.to_string()))
                }
                Err(Errno::EAGAIN) => return None,
                // A worker that dies with wake-ups unread resets the socket; what it sent
                // before is still there to read, then the end of file.
                Err(Errno::ECONNRESET | Errno::EINTR) => continue,
                Err(_) => return Some((None, None)),
            };
            if let Err(why) = self.handle(i, msg, on_event) {
                return Some((Some(why.to_string()), None));
            }
        }
    }

    /// Reads worker `i`'s results ring, up to `limit` results (all, with `None`); returns how
    /// many tasks finished, and why the worker must go if a result was garbled.
    pub(super) fn drain_results(
        &mut self,
        i: usize,
        limit: Option<usize>,
        on_event: &mut dyn FnMut(TaskEvent),
    ) -> (usize, Option<Gone>) {
        let mut buf = Vec::new();
        let mut finished = 0;
        for _ in 0..limit.unwrap_or(usize::MAX) {
            match self.slots[i].rings.results.pop(&mut buf) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    return (
                        finished,
                        Some((
                            Some(format!("garbled results from worker {}: {e}", self.slots[i].id)),
                            None,
                        )),
                    )
                }
            }
            let msg = postcard::from_bytes::<FromWorker>(&buf).map_err(|e| PoolError::Said(e.to_string()));
            match self.handle(i, msg, on_event) {
                Ok(n) => finished += n,
                Err(why) => return (finished, Some((Some(why.to_string()), None))),
            }
        }
        (finished, None)
    }

    /// Handles one message from worker `i`; returns how many tasks it finished (0 or 1), or why
    /// the worker must go.
    pub(super) fn handle(
        &mut self,
        i: usize,
        msg: Result<FromWorker, PoolError>,
        on_event: &mut dyn FnMut(TaskEvent),
    ) -> Result<usize, PoolError> {
        let slot = &mut self.slots[i];
        match msg {
            Ok(FromWorker::Ready { session_s, states }) => {
                slot.ready = true;
                slot.ready_ns = monotonic_ns();
                self.stats.sessions += states;
                self.stats.session_s = self.stats.session_s.max(session_s);
                Ok(0)
            }
            Ok(FromWorker::InitFailed(why)) => {
                self.init_error = Some(why.clone());
                Err(format!("worker failed to start: {why}").into())
            }
            Ok(FromWorker::Done(mut rec, started_ns)) => {
                let Some(at) = slot.sent.iter().position(|s| s.task == rec.task) else {
                    return Err(format!("worker {} sent a task it was not given", slot.id).into());
                };
                slot.sent.remove(at);
                slot.done += 1;
                // The thread it freed takes the next task queued in its worker.
                let now = Instant::now();
                for next in slot.sent.iter_mut().take(self.threads).filter(|s| s.started.is_none()) {
                    next.started = Some(now);
                    on_event(TaskEvent::Started(next.task));
                }
                // Its wait since the phase began, and the time its thread spent between its
                // last task (or its start) and this one: dispatch and IPC.
                let thread = rec.worker.unwrap_or(usize::MAX);
                let from = self
                    .phase_ns
                    .max(slot.ready_ns)
                    .max(self.last_end_ns.get(&thread).copied().unwrap_or(0));
                rec.wait_ms = started_ns.saturating_sub(self.phase_ns) as f64 / 1e6;
                rec.ipc_ms = started_ns.saturating_sub(from) as f64 / 1e6;
                self.last_end_ns.insert(thread, started_ns + (rec.ms * 1e6) as u64);
                self.depth.record(rec.ms);
                on_event(TaskEvent::Finished(rec));
                Ok(1)
            }
            Err(e) => Err(format!("garbled message from worker {}: {e}", slot.id).into()),
        }
    }
}
