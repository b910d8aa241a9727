//! The parent's side of the fork pool, which the process and hybrid executors run: worker
//! processes ([`super::fork_worker`]) forked from a single-threaded parent, talking over
//! `SOCK_SEQPACKET` socket pairs (one message per write, boundaries kept by the kernel).
//!
//! Each worker builds its own state (and ORT session) after the fork. A worker that dies fails
//! only the tasks it was running; the pool forks a replacement and goes on. With threads > 1
//! (hybrid) each worker process runs that many threads and takes that many tasks at once.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use nix::unistd::Pid;

use super::fork_worker::{worker_main, FromWorker, MAX_MSG};
use super::{Job, PoolStats, TaskEvent};
use crate::measure::pss_kib;
use crate::proc;
use crate::workload::TaskRecord;

struct Slot {
    id: usize,
    pid: Pid,
    sock: OwnedFd,
    ready: bool,
    /// The tasks this worker runs and when each was sent.
    busy: Vec<(usize, Instant)>,
}

/// The pool kills a late worker itself; the supervisor waits longer before it steps in.
pub(super) fn watchdog(task_timeout: Duration) -> Duration {
    task_timeout * 2 + Duration::from_secs(1)
}

/// Runs the job on `job.shape.processes` worker processes of `job.shape.threads` threads each.
pub(super) fn run(job: &Job, on_event: &mut dyn FnMut(TaskEvent)) -> Result<PoolStats, String> {
    let start = Instant::now();
    let threads = job.shape.threads.get();
    let mut pool = Pool {
        slots: Vec::new(),
        next_id: 0,
        stats: PoolStats::default(),
        init_error: None,
    };
    for _ in 0..job.shape.processes.get() {
        pool.spawn(job)?;
    }
    // Wait until every worker is ready or has failed to start.
    while pool.slots.iter().any(|s| !s.ready) {
        pool.wait_events(job, None, &mut |_| {})?;
    }
    if pool.slots.is_empty() {
        let why = pool
            .init_error
            .take()
            .unwrap_or_else(|| "every worker died while starting".into());
        pool.shutdown();
        return Err(format!("no worker process could start: {why}"));
    }
    pool.stats.pool_start_s = start.elapsed().as_secs_f64();

    let phase = Instant::now();
    let n = job.tasks.len();
    let (mut next, mut done) = (0usize, 0usize);
    let mut respawns = 0usize;
    while done < n {
        for slot in pool.slots.iter_mut().filter(|s| s.ready) {
            while next < n && slot.ready && slot.busy.len() < threads {
                match send(
                    slot.sock.as_raw_fd(),
                    &(next as u32).to_le_bytes(),
                    MsgFlags::MSG_NOSIGNAL,
                ) {
                    Ok(_) => {
                        on_event(TaskEvent::Started(next));
                        slot.busy.push((next, Instant::now()));
                        next += 1;
                    }
                    Err(_) => slot.ready = false, // dead: the poll below reaps it
                }
            }
        }
        let before = pool.slots.len();
        done += pool.wait_events(job, Some(phase), &mut |rec| on_event(TaskEvent::Finished(rec)))?;
        let lost = before.saturating_sub(pool.slots.len());
        for _ in 0..lost {
            if next < n && respawns < n {
                respawns += 1;
                pool.spawn(job)?;
            }
        }
        if pool.slots.is_empty() {
            let why = pool.init_error.clone().unwrap_or_else(|| "every worker died".into());
            for task in &job.tasks[next..] {
                on_event(TaskEvent::Finished(TaskRecord::failed(
                    task,
                    None,
                    format!("not run: no worker left ({why})"),
                )));
            }
            done += n - next;
            next = n;
        }
    }
    pool.stats.task_phase_s = phase.elapsed().as_secs_f64();
    let workers_pss: u64 = pool.slots.iter().filter_map(|s| pss_kib(Some(s.pid.as_raw()))).sum();
    pool.stats.workers_pss_kib = Some(workers_pss);
    pool.stats.pss_kib = pss_kib(None).unwrap_or(0) + workers_pss;
    let t = Instant::now();
    pool.shutdown();
    pool.stats.shutdown_s = t.elapsed().as_secs_f64();
    Ok(pool.stats)
}

struct Pool {
    slots: Vec<Slot>,
    next_id: usize,
    stats: PoolStats,
    init_error: Option<String>,
}

impl Pool {
    /// Forks one worker (refused unless this process is single-threaded: see [`proc::spawn`]).
    fn spawn(&mut self, job: &Job) -> Result<(), String> {
        let (parent_end, child_end) =
            socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
                .map_err(|e| format!("socketpair failed: {e}"))?;
        let id = self.next_id;
        let pid = proc::spawn(|| {
            // Only its own socket: with the others' (or the repetition's results pipe) open
            // here, their readers would never see an end of file.
            proc::close_other_fds(&[child_end.as_raw_fd()]);
            worker_main(job, id, &child_end)
        })?;
        drop(child_end);
        self.next_id += 1;
        self.stats.workers_started += 1;
        self.slots.push(Slot {
            id,
            pid,
            sock: parent_end,
            ready: false,
            busy: Vec::new(),
        });
        Ok(())
    }

    /// Waits for messages (or deaths) and handles them; returns how many tasks finished.
    fn wait_events(
        &mut self,
        job: &Job,
        phase: Option<Instant>,
        on_task: &mut dyn FnMut(TaskRecord),
    ) -> Result<usize, String> {
        let timeout = self.poll_timeout(job);
        let mut fds: Vec<PollFd> = self
            .slots
            .iter()
            .map(|s| PollFd::new(s.sock.as_fd(), PollFlags::POLLIN))
            .collect();
        match poll(&mut fds, timeout) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(format!("poll failed: {e}")),
        }
        let ready: Vec<bool> = fds.iter().map(|f| f.revents().is_some_and(|r| !r.is_empty())).collect();
        drop(fds);
        let mut finished = 0;
        let mut buf = vec![0u8; MAX_MSG];
        // (slot, why, the task that timed out)
        let mut dead: Vec<(usize, Option<String>, Option<usize>)> = Vec::new();
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if let Some(limit) = job.task_timeout {
                if let Some(&(task, _)) = slot.busy.iter().find(|(_, sent)| sent.elapsed() > limit) {
                    dead.push((
                        i,
                        Some(format!("timed out after {:.3} s; worker killed", limit.as_secs_f64())),
                        Some(task),
                    ));
                    continue;
                }
            }
            if !ready[i] {
                continue;
            }
            let msg = match recv(slot.sock.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Ok(0) | Err(_) => {
                    dead.push((i, None, None));
                    continue;
                }
                Ok(len) => serde_json::from_slice::<FromWorker>(&buf[..len]),
            };
            match msg {
                Ok(FromWorker::Ready { session_s, states }) => {
                    slot.ready = true;
                    self.stats.sessions += states;
                    self.stats.session_s = self.stats.session_s.max(session_s);
                }
                Ok(FromWorker::InitFailed(why)) => {
                    self.init_error = Some(why.clone());
                    dead.push((i, Some(format!("worker failed to start: {why}")), None));
                }
                Ok(FromWorker::Done(mut rec)) => {
                    let Some(at) = slot.busy.iter().position(|(t, _)| *t == rec.task) else {
                        dead.push((
                            i,
                            Some(format!("worker {} sent a task it was not given", slot.id)),
                            None,
                        ));
                        continue;
                    };
                    let (_, sent) = slot.busy.swap_remove(at);
                    if let Some(start) = phase {
                        // Queueing happens here, in the parent: until the task was sent.
                        rec.wait_ms = sent.saturating_duration_since(start).as_secs_f64() * 1e3;
                        rec.ipc_ms = (sent.elapsed().as_secs_f64() * 1e3 - rec.ms).max(0.0);
                    }
                    finished += 1;
                    on_task(rec);
                }
                Err(e) => dead.push((i, Some(format!("garbled message from worker {}: {e}", slot.id)), None)),
            }
        }
        Ok(finished + self.bury(job, dead, on_task))
    }

    /// Removes dead workers (`(slot, why, the task that timed out)`), reaping each, and fails
    /// the tasks they were running; returns how many.
    fn bury(
        &mut self,
        job: &Job,
        dead: Vec<(usize, Option<String>, Option<usize>)>,
        on_task: &mut dyn FnMut(TaskRecord),
    ) -> usize {
        let mut finished = 0;
        for (i, reason, late) in dead.into_iter().rev() {
            let slot = self.slots.remove(i);
            let status = self.reap(slot.pid, true);
            self.stats.workers_lost += 1;
            let why = reason.unwrap_or_else(|| format!("worker {} (pid {}) died: {status}", slot.id, slot.pid));
            if self.init_error.is_none() && !slot.ready {
                self.init_error = Some(why.clone());
            }
            for &(task, _) in &slot.busy {
                // A hybrid worker's other tasks die with the one that timed out.
                let why = match late {
                    Some(t) if t != task => format!("its worker process was killed: task {t} timed out"),
                    _ => why.clone(),
                };
                on_task(TaskRecord::failed(&job.tasks[task], Some(slot.id), why));
                finished += 1;
            }
        }
        finished
    }

    fn poll_timeout(&self, job: &Job) -> PollTimeout {
        let Some(limit) = job.task_timeout else {
            return PollTimeout::NONE;
        };
        let soonest = self
            .slots
            .iter()
            .flat_map(|s| s.busy.iter().map(|(_, t)| limit.saturating_sub(t.elapsed())))
            .min();
        match soonest {
            Some(d) => PollTimeout::try_from(d + Duration::from_millis(1)).unwrap_or(PollTimeout::MAX),
            None => PollTimeout::NONE,
        }
    }

    /// Reaps a worker (killing it first if `kill`) and adds its CPU time and peak memory;
    /// returns how it ended.
    fn reap(&mut self, pid: Pid, kill: bool) -> String {
        let waited = if kill {
            proc::kill_and_wait(pid)
        } else {
            proc::wait(pid)
        };
        match waited {
            Ok((status, usage)) => {
                self.stats.children = self.stats.children.plus(usage);
                self.stats.children_peak_kib += usage.maxrss_kib;
                status.describe()
            }
            Err(e) => e,
        }
    }

    /// Closes every socket (workers see EOF and exit) and reaps every worker.
    fn shutdown(&mut self) {
        let slots: Vec<Slot> = self.slots.drain(..).collect();
        let pids: Vec<Pid> = slots.iter().map(|s| s.pid).collect();
        drop(slots);
        for pid in pids {
            self.reap(pid, false);
        }
    }
}
