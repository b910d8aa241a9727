//! A rayon pool of exactly `workers` threads, built for the repetition (never the global pool).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::batches::Batches;
use super::{run_task, Executor, Job, PoolStats, TaskEvent};
use crate::executor::PoolError;
use crate::pools::ExecutorKind;
use crate::workload::Worker;

pub struct Thread;

impl Executor for Thread {
    fn kind(&self) -> ExecutorKind {
        ExecutorKind::THREAD
    }

    fn run(&self, job: &Job, on_event: &mut dyn FnMut(TaskEvent)) -> Result<PoolStats, PoolError> {
        let start = Instant::now();
        let workers = job.shape.threads.get();
        let exited = Arc::new((Mutex::new(0usize), Condvar::new()));
        let on_exit = exited.clone();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("runner-t{i}"))
            .exit_handler(move |_| {
                *on_exit.0.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                on_exit.1.notify_all();
            })
            .build()
            .map_err(|e| format!("cannot build a pool of {} threads: {e}", workers))?;

        // Each thread builds its own worker (and ORT session) on itself.
        let slots: Arc<Vec<Mutex<Option<Worker>>>> = Arc::new((0..workers).map(|_| Mutex::new(None)).collect());
        let inits: Vec<Result<f64, String>> = pool.broadcast(|b| {
            let worker = super::start_worker(job, b.index())?;
            let s = worker.session_s;
            *slots[b.index()].lock().unwrap_or_else(|e| e.into_inner()) = Some(worker);
            Ok(s)
        });
        let mut session_s = 0f64;
        for init in inits {
            session_s = session_s.max(init?);
        }
        let pool_start_s = start.elapsed().as_secs_f64();

        let phase = Instant::now();
        task_phase(&pool, job, &slots, phase, on_event);
        let task_phase_s = phase.elapsed().as_secs_f64();
        let pss_kib = crate::measure::pss_kib(None).unwrap_or(0);

        let t = Instant::now();
        drop(pool);
        let (count, cvar) = &*exited;
        let guard = count.lock().unwrap_or_else(|e| e.into_inner());
        let (_guard, waited) = cvar
            .wait_timeout_while(guard, Duration::from_secs(30), |n| *n < workers)
            .unwrap_or_else(|e| e.into_inner());
        if waited.timed_out() {
            return Err("the thread pool did not shut down within 30 s".to_string().into());
        }
        drop(slots);
        Ok(PoolStats {
            pool_start_s,
            task_phase_s,
            shutdown_s: t.elapsed().as_secs_f64(),
            session_s,
            workers_started: workers,
            sessions: workers,
            pss_kib,
            ..PoolStats::default()
        })
    }
}

/// Events in flight between the threads and the repetition's ring: at most twice this many (a
/// batch being handed on, the next filling), about 150 KiB of records.
const EVENTS: usize = 256;

/// Every task once: each thread takes the next one as it becomes free (from one shared reader,
/// so a million tasks are never queued at once), and its events come back through a bounded
/// queue ([`Batches`]), so the pool holds O(threads) of tasks and records however many there are.
fn task_phase(
    pool: &rayon::ThreadPool,
    job: &Job,
    slots: &[Mutex<Option<Worker>>],
    phase: Instant,
    on_event: &mut dyn FnMut(TaskEvent),
) {
    let tasks = Mutex::new((0usize, job.tasks.cursor()));
    let events = Batches::new(EVENTS, slots.len());
    pool.in_place_scope(|scope| {
        for _ in 0..slots.len() {
            let (events, tasks) = (&events, &tasks);
            scope.spawn(move |_| {
                let events = events.sender();
                let me = rayon::current_thread_index().expect("spawned on the pool");
                let mut slot = slots[me].lock().unwrap_or_else(|e| e.into_inner());
                let worker = slot.as_mut().expect("every thread has a worker");
                loop {
                    let task = {
                        let mut next = tasks.lock().unwrap_or_else(|e| e.into_inner());
                        let i = next.0;
                        next.0 += 1;
                        match next.1.at(i) {
                            Some(t) => t,
                            None => break,
                        }
                    };
                    if !events.send(TaskEvent::Started(task.index))
                        || !events.send(TaskEvent::Finished(run_task(worker, &job.ctx, &task, phase)))
                    {
                        break; // the receiver is gone
                    }
                }
            });
        }
        let (rx, mut batch) = (events.receiver(), VecDeque::with_capacity(EVENTS));
        while rx.take_all(&mut batch) {
            for event in batch.drain(..) {
                on_event(event);
            }
        }
    });
}
