//! The fork pool's message rings: for each worker, one ring of task indices (parent to worker)
//! and one of results (worker to parent), in memory both processes map ([`crate::proc::SharedMap`],
//! made before the fork). A message costs a copy and two atomic stores, no system call: a side
//! writes a wake-up byte on the worker's socket only when the reader said it was going to sleep.
//!
//! Each ring has one reader and one writer at a time (a hybrid worker's threads take a lock to
//! write). A result written here survives its worker's death: the parent reads what a dead
//! worker wrote before it died, so a task that ended is never counted lost.

use std::sync::atomic::{AtomicU64, Ordering::*};

use crate::proc::ring::{Ring, HEAD};
use crate::proc::SharedMap;

/// A worker's two rings, in one mapping, and how many tasks its threads have taken.
pub(super) struct Rings {
    /// Task indices, 4 bytes each, several to a message.
    pub tasks: Ring,
    /// One result message per task (and nothing else).
    pub results: Ring,
    /// Tasks the worker's threads have started, ever: a thread counts a task here before it
    /// runs it, so after the worker's death the parent knows exactly which tasks it had taken.
    taken: *const AtomicU64,
    _map: SharedMap,
}

// SAFETY: as for `Ring`; `taken` is an atomic inside the mapping the value owns.
unsafe impl Send for Rings {}
unsafe impl Sync for Rings {}

impl Rings {
    const TASKS: usize = 64 * 1024;
    /// Room for the results of every task a worker can hold (its threads and the deepest
    /// queue) at the longest error text; a writer that finds it full waits for room.
    const RESULTS: usize = 256 * 1024;

    pub fn new() -> Result<Rings, crate::proc::ProcError> {
        let map = SharedMap::new(3 * HEAD + Self::TASKS + Self::RESULTS)?;
        Ok(Rings {
            tasks: Ring::at(&map, 0, Self::TASKS),
            results: Ring::at(&map, HEAD + Self::TASKS, Self::RESULTS),
            taken: map.ptr().wrapping_add(2 * HEAD + Self::TASKS + Self::RESULTS) as *const AtomicU64,
            _map: map,
        })
    }

    fn taken_counter(&self) -> &AtomicU64 {
        // SAFETY: an aligned, zero-initialised u64 at the end of the live mapping.
        unsafe { &*self.taken }
    }

    /// A worker thread takes a task (before running it).
    pub fn take(&self) {
        self.taken_counter().fetch_add(1, SeqCst);
    }

    /// How many tasks the worker's threads have taken.
    pub fn taken(&self) -> u64 {
        self.taken_counter().load(SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_cross_in_order_whole_and_around_the_end() {
        let rings = Rings::new().unwrap();
        let ring = &rings.tasks;
        let n = 20_000u32;
        std::thread::scope(|s| {
            s.spawn(|| {
                for i in 0..n {
                    let msg: Vec<u8> = (0..(i % 700)).map(|b| (b ^ i) as u8).collect();
                    while !ring.push(&msg) {
                        std::hint::spin_loop();
                    }
                }
            });
            let mut got = Vec::new();
            for i in 0..n {
                while !ring.pop(&mut got).unwrap() {
                    std::hint::spin_loop();
                }
                let want: Vec<u8> = (0..(i % 700)).map(|b| (b ^ i) as u8).collect();
                assert_eq!(got, want, "message {i}");
            }
        });
        assert!(!ring.pop(&mut Vec::new()).unwrap());
    }

    #[test]
    fn a_full_ring_refuses_and_a_sleeping_reader_is_woken_once() {
        let rings = Rings::new().unwrap();
        let ring = &rings.tasks;
        let big = vec![7u8; Rings::TASKS / 2];
        assert!(ring.push(&big));
        assert!(!ring.push(&big), "no room for a second half plus its length");
        let mut out = Vec::new();
        assert!(!ring.going_to_sleep(), "a message is waiting");
        assert!(ring.pop(&mut out).unwrap() && out == big);
        assert!(ring.going_to_sleep());
        assert!(ring.push(b"x"));
        assert!(ring.needs_wake());
        assert!(!ring.needs_wake(), "woken once");
        assert!(!ring.fits(Rings::TASKS) && ring.fits(Rings::TASKS - 4));
    }

    #[test]
    fn a_length_beyond_what_was_written_is_refused() {
        let rings = Rings::new().unwrap();
        let ring = &rings.tasks;
        assert!(ring.push(b"abcd"));
        ring.copy_in(0, &1000u32.to_le_bytes()); // as a worker's stray write would
        assert!(ring.pop(&mut Vec::new()).is_err());
        rings.take();
        rings.take();
        assert_eq!(rings.taken(), 2);
    }
}
