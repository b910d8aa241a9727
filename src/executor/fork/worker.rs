//! A worker process of the fork pool ([`super`] is the parent's side): it builds its
//! state (one per thread: the hybrid executor's processes run several) after the fork, says it
//! is ready, then runs the task indices the parent writes in its tasks ring, in the order
//! written, writing each result in its results ring as soon as the task ends
//! ([`super::ring`]). The parent keeps some tasks queued here, so the worker goes from one
//! task to the next without waiting for it; a thread starts a queued task only after it has
//! written the result of its last, which is how the parent knows which tasks are running and
//! which are still queued.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

use nix::sys::socket::{recv, send, MsgFlags};
use serde::{Deserialize, Serialize};

use super::ring::Rings;
use crate::executor::{run_task, start_worker, Job};
use crate::measure::monotonic_ns;
use crate::outcome::truncate;
use crate::task::Task;
use crate::tasks::{Cursor, Tasks};
use crate::workload::{TaskRecord, Worker};

/// Largest message a worker sends; longer error texts are cut to fit.
pub(super) const MAX_MSG: usize = 64 * 1024;

/// Most task indices the parent sends in one message (4 bytes each, little-endian).
pub(super) const MAX_BATCH: usize = 256;

/// What a side writes on the socket to wake the other, asleep on it, when its ring has more.
pub(super) const WAKE: &[u8] = b"w";

#[derive(Serialize, Deserialize)]
// One message per task, moved once: boxing the record would add an allocation per task.
#[allow(clippy::large_enum_variant)]
pub(super) enum FromWorker {
    Ready {
        session_s: f64,
        states: usize,
    },
    InitFailed(String),
    /// A task's record, and when it started ([`monotonic_ns`]).
    Done(TaskRecord, u64),
}

/// A worker process: builds its state (one per thread), says it is ready, then runs the tasks
/// its ring brings until its socket closes; returns its exit code.
pub(super) fn worker_main(job: &Job, id: usize, sock: &OwnedFd, rings: &Rings) -> i32 {
    let out = Outbox {
        fd: sock.as_raw_fd(),
        rings,
        buf: Mutex::new(Vec::with_capacity(1024)),
    };
    if job.shape.threads.get() > 1 {
        return threaded_worker(job, id, &out);
    }
    let started = start_worker(job, id);
    let mut worker = match started {
        Ok(w) => w,
        Err(e) => {
            out.send(&FromWorker::InitFailed(truncate(e.to_string(), MAX_TEXT)));
            return 1;
        }
    };
    if !out.send(&FromWorker::Ready {
        session_s: worker.session_s,
        states: 1,
    }) {
        return 1;
    }
    let mut inbox = Inbox::new(out.fd, rings, &job.tasks);
    while let Some(task) = inbox.next() {
        if !out.send(&run(&mut worker, job, &task, rings)) {
            break;
        }
    }
    drop(worker);
    0
}

/// Runs one task, counting it as taken first: its reply to the parent.
fn run(worker: &mut Worker, job: &Job, task: &Task, rings: &Rings) -> FromWorker {
    rings.take();
    let started_ns = monotonic_ns();
    let mut rec = run_task(worker, &job.ctx, task, Instant::now());
    rec.error = rec.error.map(|e| e.truncated(MAX_TEXT));
    FromWorker::Done(rec, started_ns)
}

/// How a worker's messages reach the parent: results through the results ring (waking the
/// parent if it sleeps), in postcard, and the rest over the socket, in JSON.
struct Outbox<'r> {
    fd: RawFd,
    rings: &'r Rings,
    /// The encoding buffer; also the lock that keeps a hybrid worker's threads to one writer.
    buf: Mutex<Vec<u8>>,
}

impl Outbox<'_> {
    /// Sends a message; `false` when the parent is gone.
    fn send(&self, msg: &FromWorker) -> bool {
        let mut buf = self.buf.lock().unwrap_or_else(|e| e.into_inner());
        if !matches!(msg, FromWorker::Done(..)) {
            let bytes = serde_json::to_vec(msg).unwrap_or_default();
            return send(self.fd, &bytes, MsgFlags::MSG_NOSIGNAL).is_ok();
        }
        // Results in postcard: a tenth of JSON's cost on each side, which is most of a no-op
        // task's.
        buf.clear();
        let Ok(bytes) = postcard::to_extend(msg, std::mem::take(&mut *buf)) else {
            return false;
        };
        *buf = bytes;
        let results = &self.rings.results;
        if !results.fits(buf.len()) {
            return false; // cannot happen (records are cut to MAX_MSG); fail loudly, not hang
        }
        while !results.push(&buf) {
            // Full (the parent is behind): wake it and give it time.
            if send(self.fd, WAKE, MsgFlags::MSG_NOSIGNAL).is_err() {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_micros(100));
        }
        !results.needs_wake() || send(self.fd, WAKE, MsgFlags::MSG_NOSIGNAL).is_ok()
    }
}

/// The task indices the parent has sent and this process has not yet taken, in order, and the
/// tasks they name (made as they are taken: the parent sends runs of consecutive indices).
struct Inbox<'r> {
    fd: RawFd,
    rings: &'r Rings,
    queued: VecDeque<usize>,
    msg: Vec<u8>,
    tasks: Cursor<'r>,
}

impl<'r> Inbox<'r> {
    fn new(fd: RawFd, rings: &'r Rings, tasks: &'r Tasks) -> Inbox<'r> {
        Inbox {
            fd,
            rings,
            queued: VecDeque::with_capacity(MAX_BATCH),
            msg: Vec::with_capacity(4 * MAX_BATCH),
            tasks: tasks.cursor(),
        }
    }

    /// The next task, from the tasks ring, sleeping on the socket until the parent writes one;
    /// `None` when the parent closed the pool.
    fn next(&mut self) -> Option<Cow<'r, Task>> {
        while self.queued.is_empty() {
            let ring = &self.rings.tasks;
            if ring.pop(&mut self.msg).unwrap_or(false) {
                let indices = self
                    .msg
                    .chunks_exact(4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
                self.queued.extend(indices);
                continue;
            }
            if !ring.going_to_sleep() {
                continue;
            }
            let mut buf = [0u8; 16];
            let got = recv(self.fd, &mut buf, MsgFlags::empty());
            ring.awake();
            match got {
                Ok(len) if len > 0 => {} // woken: look again
                Err(nix::errno::Errno::EINTR) => {}
                _ => return None, // EOF: the parent closed the pool
            }
        }
        let i = self.queued.pop_front()?;
        self.tasks.at(i)
    }
}

/// Most bytes of a task's or a worker's own words it sends (a result must fit the ring).
const MAX_TEXT: usize = 4000;

/// A hybrid worker process: `job.shape.threads` threads, each pinned (with pinning) and with its own
/// state, built after the fork; this thread hands them the task indices the parent sends.
fn threaded_worker(job: &Job, id: usize, out: &Outbox) -> i32 {
    let (tx, rx) = mpsc::channel::<Cow<Task>>();
    let rx = Mutex::new(rx);
    let (ready_tx, ready_rx) = mpsc::channel::<Result<f64, String>>();
    std::thread::scope(|scope| {
        for t in 0..job.shape.threads.get() {
            let (rx, ready_tx) = (&rx, ready_tx.clone());
            let index = id * job.shape.threads.get() + t;
            scope.spawn(move || {
                let started = start_worker(job, index);
                let mut worker = match started {
                    Ok(w) => {
                        let _ = ready_tx.send(Ok(w.session_s));
                        w
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                drop(ready_tx);
                loop {
                    let task = match rx.lock().unwrap_or_else(|e| e.into_inner()).recv() {
                        Ok(task) => task,
                        Err(_) => break,
                    };
                    if !out.send(&run(&mut worker, job, &task, out.rings)) {
                        // The parent is gone: so is this process (its other threads' tasks
                        // cannot be reported either).
                        crate::proc::exit_now(1);
                    }
                }
            });
        }
        drop(ready_tx);
        let (mut session_s, mut states) = (0f64, 0usize);
        for init in ready_rx.iter() {
            match init {
                Ok(s) => {
                    session_s = session_s.max(s);
                    states += 1;
                }
                Err(e) => {
                    out.send(&FromWorker::InitFailed(truncate(e, MAX_TEXT)));
                    drop(tx);
                    return 1;
                }
            }
        }
        if !out.send(&FromWorker::Ready { session_s, states }) {
            return 1;
        }
        let mut inbox = Inbox::new(out.fd, out.rings, &job.tasks);
        while let Some(task) = inbox.next() {
            if tx.send(task).is_err() {
                break;
            }
        }
        drop(tx);
        0
    })
}
