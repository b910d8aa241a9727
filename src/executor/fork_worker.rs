//! A worker process of the fork pool ([`super::fork`] is the parent's side): it builds its
//! state (one per thread: the hybrid executor's processes run several) after the fork, says it
//! is ready, then runs each task index the parent sends, replying with one message per task.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

use nix::sys::socket::{recv, send, MsgFlags};
use serde::{Deserialize, Serialize};

use super::{run_task, Job};
use crate::task::Task;
use crate::workload::{TaskRecord, Worker};

/// Largest message a worker sends; longer error texts are cut to fit.
pub(super) const MAX_MSG: usize = 64 * 1024;

#[derive(Serialize, Deserialize)]
// One message per task, moved once: boxing the record would add an allocation per task.
#[allow(clippy::large_enum_variant)]
pub(super) enum FromWorker {
    Ready { session_s: f64, states: usize },
    InitFailed(String),
    Done(TaskRecord),
}

/// A worker process: builds its state (one per thread), says it is ready, then runs each task
/// index it receives until its socket closes; returns its exit code.
pub(super) fn worker_main(job: &Job, id: usize, sock: &OwnedFd) -> i32 {
    let fd = sock.as_raw_fd();
    let reply = |msg: &FromWorker| {
        let bytes = serde_json::to_vec(msg).unwrap_or_default();
        send(fd, &bytes, MsgFlags::MSG_NOSIGNAL).is_ok()
    };
    if job.shape.threads.get() > 1 {
        return threaded_worker(job, id, fd, &reply);
    }
    let started = super::pinning::pin(job, id).and_then(|_| Worker::new(&job.ctx, job.workload, id));
    let mut worker = match started {
        Ok(w) => w,
        Err(e) => {
            reply(&FromWorker::InitFailed(truncate(e)));
            return 1;
        }
    };
    if !reply(&FromWorker::Ready {
        session_s: worker.session_s,
        states: 1,
    }) {
        return 1;
    }
    while let Some(task) = next_task(job, fd) {
        let received = Instant::now();
        let mut rec = run_task(&mut worker, &job.ctx, task, received);
        rec.error = rec.error.map(truncate);
        if !reply(&FromWorker::Done(rec)) {
            break;
        }
    }
    drop(worker);
    0
}

/// The next task index from the parent; `None` when it closed the pool.
fn next_task(job: &Job, fd: RawFd) -> Option<&Task> {
    let mut buf = [0u8; 16];
    loop {
        match recv(fd, &mut buf, MsgFlags::empty()) {
            Ok(4) => {
                return job
                    .tasks
                    .get(u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize)
            }
            Err(nix::errno::Errno::EINTR) => continue,
            _ => return None, // EOF: the parent closed the pool
        }
    }
}

fn truncate(mut s: String) -> String {
    if s.len() > 4000 {
        let mut end = 4000;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

/// A hybrid worker process: `job.shape.threads` threads, each pinned (with pinning) and with its own
/// state, built after the fork; this thread hands them the task indices the parent sends.
fn threaded_worker(job: &Job, id: usize, fd: RawFd, reply: &(dyn Fn(&FromWorker) -> bool + Sync)) -> i32 {
    let (tx, rx) = mpsc::channel::<&Task>();
    let rx = Mutex::new(rx);
    let (ready_tx, ready_rx) = mpsc::channel::<Result<f64, String>>();
    std::thread::scope(|scope| {
        for t in 0..job.shape.threads.get() {
            let (rx, ready_tx) = (&rx, ready_tx.clone());
            let index = id * job.shape.threads.get() + t;
            scope.spawn(move || {
                let started = super::pinning::pin(job, index).and_then(|_| Worker::new(&job.ctx, job.workload, index));
                let mut worker = match started {
                    Ok(w) => {
                        let _ = ready_tx.send(Ok(w.session_s));
                        w
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                drop(ready_tx);
                loop {
                    let task = match rx.lock().unwrap_or_else(|e| e.into_inner()).recv() {
                        Ok(task) => task,
                        Err(_) => break,
                    };
                    let mut rec = run_task(&mut worker, &job.ctx, task, Instant::now());
                    rec.error = rec.error.map(truncate);
                    if !reply(&FromWorker::Done(rec)) {
                        break;
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
                    reply(&FromWorker::InitFailed(truncate(e)));
                    drop(tx);
                    return 1;
                }
            }
        }
        if !reply(&FromWorker::Ready { session_s, states }) {
            return 1;
        }
        while let Some(task) = next_task(job, fd) {
            if tx.send(task).is_err() {
                break;
            }
        }
        drop(tx);
        0
    })
}
