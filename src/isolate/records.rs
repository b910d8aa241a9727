//! A repetition's task notes on their way to the orchestrator: the repetition process writes one
//! into a ring both processes map ([`Ring`], made before the fork) as each task starts and ends;
//! the orchestrator reads them when the ring is half full (woken by a line on the pipe), on each
//! tick under a task timeout, and once the process is gone. So a repetition process that dies
//! keeps every record it made, the orchestrator knows which tasks it was running, and the
//! measured process holds at most [`RING`] bytes of records, however many tasks it runs.

use crate::tasks::Tasks;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::supervise::{send, Msg};

use crate::outcome::{Failure, TaskFailure};
use crate::proc::ring::{Ring, HEAD};
use crate::proc::{ProcError, SharedMap};
use crate::workload::TaskRecord;

/// The ring's size: room for about 600 records at their longest texts. It counts in the
/// repetition process's RSS once written through (and half of it in its PSS, shared with the
/// orchestrator).
pub const RING: usize = 256 * 1024;

/// What crosses the ring.
#[derive(Serialize, Deserialize)]
// One note per task event, moved once.
#[allow(clippy::large_enum_variant)]
pub enum Note {
    /// A worker took task `n`.
    Started(usize),
    /// A task's record.
    Ended(TaskRecord),
}

/// The ring, in memory the repetition process inherits.
pub struct Records {
    ring: Ring,
    _map: SharedMap,
}

/// The repetition process's side: a buffer for each note, and where the reader stood when it
/// was last woken (it is not woken again until it has read past there).
pub struct Writer<'a> {
    records: &'a Records,
    wr: &'a OwnedFd,
    buf: Vec<u8>,
    woken_at: Option<u64>,
}

/// The orchestrator's side: the tasks started and not ended (O(workers)), with their start.
pub struct Reader<'a> {
    records: &'a Records,
    pub running: Vec<(usize, Instant)>,
    buf: Vec<u8>,
}

impl Records {
    pub fn new() -> Result<Records, ProcError> {
        let map = SharedMap::new(HEAD + RING)?;
        Ok(Records {
            ring: Ring::at(&map, 0, RING),
            _map: map,
        })
    }

    pub fn writer<'a>(&'a self, wr: &'a OwnedFd) -> Writer<'a> {
        Writer {
            records: self,
            wr,
            buf: Vec::with_capacity(4096),
            woken_at: None,
        }
    }

    pub fn reader(&self) -> Reader<'_> {
        Reader {
            records: self,
            running: Vec::new(),
            buf: Vec::new(),
        }
    }
}

impl Writer<'_> {
    /// Writes one note. A note too long for the ring (never, at today's bounds on texts) goes
    /// up the pipe instead; with the ring full it waits for the reader, whom it has woken.
    pub fn note(&mut self, note: &Note) {
        let ring = &self.records.ring;
        self.buf.clear();
        if serde_json::to_writer(&mut self.buf, note).is_err() {
            return;
        }
        if !ring.fits(self.buf.len()) {
            if let Note::Ended(rec) = note {
                send(self.wr, &Msg::Task(rec.clone()));
            }
            return;
        }
        while !ring.push(&self.buf) {
            self.wake();
            std::thread::sleep(Duration::from_micros(100));
        }
        if ring.used_and_read().0 >= ring.capacity() / 2 {
            self.wake();
        }
    }

    /// Tells the orchestrator to read the ring, once per time it has read past the last call.
    fn wake(&mut self) {
        let read = self.records.ring.used_and_read().1;
        if self.woken_at != Some(read) {
            self.woken_at = Some(read);
            send(self.wr, &Msg::Drain);
        }
    }
}

/// A record ring that holds something other than the notes its writer sends.
#[derive(Debug, thiserror::Error)]
pub enum Garbled {
    #[error("garbled record from the repetition process: {0}")]
    Json(String),
    #[error(transparent)]
    Ring(#[from] ProcError),
}

impl Reader<'_> {
    /// Reads every note in the ring, handing each record to `on_task`.
    pub fn drain(&mut self, on_task: &mut dyn FnMut(TaskRecord)) -> Result<(), Garbled> {
        while self.records.ring.pop(&mut self.buf)? {
            match serde_json::from_slice::<Note>(&self.buf) {
                Ok(Note::Started(i)) => self.running.push((i, Instant::now())),
                Ok(Note::Ended(rec)) => {
                    self.running.retain(|(t, _)| *t != rec.task);
                    on_task(rec);
                }
                Err(e) => return Err(Garbled::Json(e.to_string())),
            }
        }
        Ok(())
    }

    /// After a repetition that failed (`why`): the tasks it was running fail with that reason
    /// and their index; the caller marks those never started as not run.
    pub fn fail_running(&mut self, tasks: &Tasks, why: &Failure, on_task: &mut dyn FnMut(TaskRecord)) {
        for (i, _) in std::mem::take(&mut self.running) {
            let Some(task) = tasks.get(i) else { continue };
            let task = &*task;
            let why = TaskFailure::Stopped {
                failure: why.clone(),
                task: i,
            };
            on_task(TaskRecord::failed(task, None, why));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Input, Task};
    use crate::workload::WorkloadKind;

    fn tasks(n: usize) -> Tasks {
        let kind = WorkloadKind::named("sleep").unwrap();
        Tasks::listed(
            (0..n)
                .map(|index| Task {
                    index,
                    kind,
                    input: Input::None,
                    seed: 0,
                })
                .collect(),
        )
    }

    #[test]
    fn every_record_crosses_once_in_order_through_a_full_ring_and_a_death_keeps_them() {
        let (rd, wr) = nix::unistd::pipe().unwrap();
        let records = Records::new().unwrap();
        let tasks = tasks(3000); // several times the ring
        let mut got = Vec::new();
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut w = records.writer(&wr);
                for t in tasks.iter() {
                    w.note(&Note::Started(t.index));
                    w.note(&Note::Ended(TaskRecord::failed(
                        &t,
                        Some(0),
                        TaskFailure::Work("x".repeat(t.index % 300)),
                    )));
                }
                w.note(&Note::Started(tasks.len() - 1)); // in flight when it "dies"
                drop(wr);
            });
            let mut reader = records.reader();
            let mut pipe = std::fs::File::from(rd);
            let mut line = [0u8; 4096];
            // Woken by the writer's lines until it is gone, then one last read.
            while std::io::Read::read(&mut pipe, &mut line).unwrap() > 0 {
                reader.drain(&mut |r| got.push(r)).unwrap();
            }
            reader.drain(&mut |r| got.push(r)).unwrap();
            assert_eq!(reader.running.iter().map(|r| r.0).collect::<Vec<_>>(), [2999]);
            let died = Failure::Died(crate::proc::WaitStatus(7 << 8));
            reader.fail_running(&tasks, &died, &mut |r| got.push(r));
        });
        assert_eq!(got.len(), 3001);
        for (i, r) in got.iter().take(3000).enumerate() {
            assert_eq!(
                (r.task, r.error.as_ref().map(|e| e.to_string().len())),
                (i, Some(i % 300))
            );
        }
        let last = got[3000].error.as_ref().unwrap().to_string();
        assert_eq!(last, "the repetition process exited with status 7 while task 2999 ran");
    }
}
