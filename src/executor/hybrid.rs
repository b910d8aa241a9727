//! The hybrid executor's worker process: `threads` threads in each process of the fork pool
//! ([`super::fork`]), each with its own state (and ORT session) built after the fork; the
//! process takes as many tasks at once as it has threads.

use std::os::fd::RawFd;
use std::sync::{mpsc, Mutex};
use std::time::Instant;

use super::fork::{next_task, truncate, FromWorker};
use super::{run_task, Job};
use crate::plan::Task;
use crate::workload::Worker;

/// A hybrid worker process: `job.threads` threads, each pinned (with pinning) and with its own
/// state, built after the fork; this thread hands them the task indices the parent sends.
pub(super) fn threaded_worker(job: &Job, id: usize, fd: RawFd, reply: &(dyn Fn(&FromWorker) -> bool + Sync)) -> i32 {
    let (tx, rx) = mpsc::channel::<&Task>();
    let rx = Mutex::new(rx);
    let (ready_tx, ready_rx) = mpsc::channel::<Result<f64, String>>();
    std::thread::scope(|scope| {
        for t in 0..job.threads {
            let (rx, ready_tx) = (&rx, ready_tx.clone());
            let index = id * job.threads + t;
            scope.spawn(move || {
                let started = super::pin(job, index).and_then(|_| Worker::new(&job.ctx, job.workload, index));
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
