//! The parent's side of the fork pool, which the process and hybrid executors run: worker
//! processes ([`worker`]) forked from a single-threaded parent, talking over
//! `SOCK_SEQPACKET` socket pairs (one message per write, boundaries kept by the kernel).
//!
//! Each worker builds its own state (and ORT session) after the fork. The parent sends each
//! worker tasks for its threads and a few more to queue ([`queue`]), several to a
//! message, and sends more as results come back; a worker's threads take its tasks in the order
//! sent, so the first `threads` not done are running and the rest are queued. A worker that dies
//! (or is killed, its task late) fails only the tasks it was running; those queued in it go back
//! to the front of the pending ones, and the pool forks a replacement and goes on. Every task
//! runs at most once. With threads > 1 (hybrid) each worker process runs that many threads.

use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use nix::unistd::Pid;

use crate::executor::PoolError;
use crate::executor::{Job, PoolStats, TaskEvent};
use crate::measure::{monotonic_ns, pss_kib};
use crate::outcome::TaskFailure;
use crate::pools::axes::QUEUE;
use crate::proc;
use crate::workload::TaskRecord;
use pending::Pending;
use queue::Depth;
use ring::Rings;
use worker::{worker_main, MAX_BATCH, WAKE};

mod pending;
mod queue;
mod recv;
mod ring;
mod worker;

/// Most messages read from one worker before the others get their turn.
const ROUND: usize = 64;

/// A task sent to a worker: among the first `threads` of its worker's list it runs (since
/// `started`, as the parent saw it), behind them it waits in the worker's queue.
struct Sent {
    task: usize,
    started: Option<Instant>,
}

struct Slot {
    id: usize,
    pid: Pid,
    sock: OwnedFd,
    ready: bool,
    /// When it said it was ready ([`monotonic_ns`]).
    ready_ns: u64,
    /// The tasks sent to it and not yet done, in the order sent (its threads take them in it).
    sent: VecDeque<Sent>,
    /// Results read from it: with the tasks its threads took (`rings.taken()`), which of
    /// `sent` it had started when it died.
    done: u64,
    rings: Rings,
}

/// Why a worker is being removed: `None` when it died by itself, and the task that timed out.
type Gone = (Option<String>, Option<usize>);

/// The pool kills a late worker itself; the supervisor waits longer before it steps in.
pub(super) fn watchdog(task_timeout: Duration) -> Duration {
    task_timeout * 2 + Duration::from_secs(1)
}

/// Runs the job on `job.shape.processes` worker processes of `job.shape.threads` threads each.
pub(super) fn run(job: &Job, on_event: &mut dyn FnMut(TaskEvent)) -> Result<PoolStats, PoolError> {
    let start = Instant::now();
    let mut pool = Pool::new(job);
    for _ in 0..job.shape.processes.get() {
        pool.spawn(job)?;
    }
    // Wait until every worker is ready or has failed to start.
    while pool.slots.iter().any(|s| !s.ready) {
        pool.wait_events(job, &mut |_| {})?;
    }
    if pool.slots.is_empty() {
        let why = pool
            .init_error
            .take()
            .unwrap_or_else(|| "every worker died while starting".into());
        pool.shutdown();
        return Err(format!("no worker process could start: {why}").into());
    }
    pool.stats.pool_start_s = start.elapsed().as_secs_f64();

    let phase = Instant::now();
    pool.phase_ns = monotonic_ns();
    let n = job.tasks.len();
    pool.pending = Pending::new(n);
    let (mut done, mut respawns) = (0usize, 0usize);
    while done < n {
        pool.dispatch(on_event);
        let before = pool.slots.len();
        done += pool.wait_events(job, on_event)?;
        let lost = before.saturating_sub(pool.slots.len());
        for _ in 0..lost {
            if !pool.pending.is_empty() && respawns < n {
                respawns += 1;
                pool.spawn(job)?;
            }
        }
        if pool.slots.is_empty() {
            let why = pool.init_error.clone().unwrap_or_else(|| "every worker died".into());
            let left = pool.pending.len();
            for task in pool.pending.take(left) {
                let Some(task) = job.tasks.get(task) else { continue };
                on_event(TaskEvent::Finished(TaskRecord::failed(
                    &task,
                    None,
                    TaskFailure::NotRun(format!("no worker left ({why})")),
                )));
                done += 1;
            }
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
    /// Threads per worker process.
    threads: usize,
    /// Tasks not yet sent (a dead worker's queued tasks come back to the front).
    pending: Pending,
    depth: Depth,
    /// The task phase's start, and each worker thread's last task's end ([`monotonic_ns`]).
    phase_ns: u64,
    last_end_ns: HashMap<usize, u64>,
}

impl Pool {
    fn new(job: &Job) -> Pool {
        Pool {
            slots: Vec::new(),
            next_id: 0,
            stats: PoolStats::default(),
            init_error: None,
            threads: job.shape.threads.get(),
            pending: Pending::default(),
            depth: Depth::new(QUEUE.count_of(&job.ctx.values)),
            phase_ns: 0,
            last_end_ns: HashMap::new(),
        }
    }

    /// Forks one worker (refused unless this process is single-threaded: see [`proc::spawn`]).
    fn spawn(&mut self, job: &Job) -> Result<(), PoolError> {
        let (parent_end, child_end) =
            socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
                .map_err(|e| format!("socketpair failed: {e}"))?;
        let id = self.next_id;
        let rings = Rings::new()?;
        let pid = proc::spawn(|| {
            // Only its own socket: with the others' (or the repetition's results pipe) open
            // here, their readers would never see an end of file.
            proc::close_other_fds(&[child_end.as_raw_fd()]);
            worker_main(job, id, &child_end, &rings)
        })?;
        drop(child_end);
        self.next_id += 1;
        self.stats.workers_started += 1;
        self.slots.push(Slot {
            id,
            pid,
            sock: parent_end,
            ready: false,
            ready_ns: 0,
            sent: VecDeque::new(),
            done: 0,
            rings,
        });
        Ok(())
    }

    /// Sends each ready worker, in one message, the pending tasks that fill its threads and its
    /// queue; a task that lands on a free thread starts now.
    fn dispatch(&mut self, on_event: &mut dyn FnMut(TaskEvent)) {
        let running = self.slots.iter().filter(|s| s.ready).count() * self.threads;
        for slot in self.slots.iter_mut().filter(|s| s.ready) {
            let room = (self.threads + self.depth.queued(self.pending.len(), running))
                .saturating_sub(slot.sent.len())
                .min(self.pending.len())
                .min(MAX_BATCH);
            if room == 0 {
                continue;
            }
            let bytes: Vec<u8> = self
                .pending
                .first(room)
                .flat_map(|t| (t as u32).to_le_bytes())
                .collect();
            if !slot.rings.tasks.push(&bytes) {
                continue; // full: it has plenty to do
            }
            if slot.rings.tasks.needs_wake() && send(slot.sock.as_raw_fd(), WAKE, MsgFlags::MSG_NOSIGNAL).is_err() {
                slot.ready = false; // dead: the poll reaps it (its tasks are in its list)
            }
            let now = Instant::now();
            for task in self.pending.take(room) {
                let started = (slot.sent.len() < self.threads).then(|| {
                    on_event(TaskEvent::Started(task));
                    now
                });
                slot.sent.push_back(Sent { task, started });
            }
        }
    }

    /// Waits for messages (or deaths, or a task's time limit) and handles them; returns how many
    /// tasks finished.
    fn wait_events(&mut self, job: &Job, on_event: &mut dyn FnMut(TaskEvent)) -> Result<usize, PoolError> {
        // Sleep only when no results ring holds anything, each reader having said it will: a
        // worker writing after that wakes it.
        let waiting = self.slots.iter().any(|s| !s.rings.results.going_to_sleep());
        let timeout = if waiting {
            PollTimeout::ZERO
        } else {
            self.poll_timeout(job)
        };
        let mut fds: Vec<PollFd> = self
            .slots
            .iter()
            .map(|s| PollFd::new(s.sock.as_fd(), PollFlags::POLLIN))
            .collect();
        match poll(&mut fds, timeout) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(format!("poll failed: {e}").into()),
        }
        let ready: Vec<bool> = fds.iter().map(|f| f.revents().is_some_and(|r| !r.is_empty())).collect();
        drop(fds);
        let mut finished = 0;
        let mut dead: Vec<(usize, Gone)> = Vec::new();
        for (i, readable) in ready.into_iter().enumerate() {
            self.slots[i].rings.results.awake();
            let mut gone = if readable { self.drain_socket(i, on_event) } else { None };
            let (n, garbled) = self.drain_results(i, Some(ROUND), on_event);
            finished += n;
            gone = gone.or(garbled);
            dead.extend(gone.map(|g| (i, g)));
        }
        if let Some(limit) = job.task_timeout {
            for (i, slot) in self.slots.iter().enumerate() {
                let late = slot
                    .sent
                    .iter()
                    .take(self.threads)
                    .find(|s| s.started.is_some_and(|t| t.elapsed() > limit));
                if let (Some(late), false) = (late, dead.iter().any(|(d, _)| *d == i)) {
                    let why = TaskFailure::TimedOut {
                        limit_s: limit.as_secs_f64(),
                    }
                    .to_string();
                    dead.push((i, (Some(why), Some(late.task))));
                }
            }
        }
        dead.sort_by_key(|(i, _)| *i);
        Ok(finished + self.bury(job, dead, on_event))
    }

    /// Removes dead workers (in the order of their slots), killing and reaping each and reading
    /// what it sent before it died; fails the tasks they were running and puts the tasks queued
    /// in them back at the front of the pending ones; returns how many tasks finished.
    fn bury(&mut self, job: &Job, dead: Vec<(usize, Gone)>, on_event: &mut dyn FnMut(TaskEvent)) -> usize {
        let mut finished = 0;
        for (i, (reason, late)) in dead.into_iter().rev() {
            let status = self.reap(self.slots[i].pid, true);
            finished += self.drain_results(i, None, on_event).0;
            let slot = self.slots.remove(i);
            self.stats.workers_lost += 1;
            let why = reason.unwrap_or_else(|| format!("worker {} (pid {}) died: {status}", slot.id, slot.pid));
            if self.init_error.is_none() && !slot.ready {
                self.init_error = Some(why.clone());
            }
            // Its threads take tasks in the order sent, so those taken and not done are the
            // first of `sent`; the rest never started.
            let started = (slot.rings.taken().saturating_sub(slot.done) as usize).min(slot.sent.len());
            let (running, queued) = (slot.sent.range(..started), slot.sent.range(started..));
            for s in running {
                let Some(task) = job.tasks.get(s.task) else { continue };
                // A hybrid worker's other tasks die with the one that timed out.
                let why = match late {
                    Some(t) if t != s.task => TaskFailure::KilledWith { task: t },
                    Some(_) => TaskFailure::TimedOut {
                        limit_s: job.task_timeout.map_or(0.0, |l| l.as_secs_f64()),
                    },
                    None => TaskFailure::Died(why.clone()),
                };
                on_event(TaskEvent::Finished(TaskRecord::failed(&task, Some(slot.id), why)));
                finished += 1;
            }
            self.stats.tasks_requeued += queued.len();
            for s in queued.rev() {
                self.pending.push_front(s.task);
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
            .flat_map(|s| {
                s.sent
                    .iter()
                    .filter_map(|s| s.started)
                    .map(|t| limit.saturating_sub(t.elapsed()))
            })
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
            Err(e) => e.to_string(),
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
