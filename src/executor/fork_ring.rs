//! The fork pool's message rings: for each worker, one ring of task indices (parent to worker)
//! and one of results (worker to parent), in memory both processes map ([`proc::SharedMap`],
//! made before the fork). A message costs a copy and two atomic stores, no system call: a side
//! writes a wake-up byte on the worker's socket only when the reader said it was going to sleep.
//!
//! Each ring has one reader and one writer at a time (a hybrid worker's threads take a lock to
//! write). A result written here survives its worker's death: the parent reads what a dead
//! worker wrote before it died, so a task that ended is never counted lost.

use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering::*};

use crate::proc::SharedMap;

/// The start of a ring: where the reader and the writer are (bytes written and read, ever) and
/// whether the reader is (going to be) asleep.
#[repr(C)]
struct Head {
    read: AtomicU64,
    write: AtomicU64,
    sleeping: AtomicU32,
}

/// Room for the head, rounded up to a cache line.
const HEAD: usize = 64;

/// One ring: `cap` bytes (a power of two) after its head, messages as a u32 length and bytes.
pub(super) struct Ring {
    head: *const Head,
    data: *mut u8,
    cap: usize,
}

// SAFETY: the pointers are into a mapping that outlives the ring (the pool holds both), and
// every access to the data is ordered by the head's atomics (one reader, one writer).
unsafe impl Send for Ring {}
unsafe impl Sync for Ring {}

impl Ring {
    /// The ring at `offset` in `map`, `cap` bytes of data; `map` is zeroed at first.
    fn at(map: &SharedMap, offset: usize, cap: usize) -> Ring {
        assert!(cap.is_power_of_two() && offset + HEAD + cap <= map.size());
        let base = map.ptr().wrapping_add(offset);
        Ring {
            head: base as *const Head,
            data: base.wrapping_add(HEAD),
            cap,
        }
    }

    fn head(&self) -> &Head {
        // SAFETY: `head` points at a zero-initialised, aligned Head inside the live mapping.
        unsafe { &*self.head }
    }

    /// Whether a message of `len` bytes can ever fit.
    pub fn fits(&self, len: usize) -> bool {
        4 + len <= self.cap
    }

    /// Writes one message; `false` when there is no room for it now (see [`Ring::fits`]).
    pub fn push(&self, msg: &[u8]) -> bool {
        let h = self.head();
        let (read, write) = (h.read.load(Acquire), h.write.load(Relaxed));
        let need = 4 + msg.len();
        if need > self.cap - (write - read) as usize {
            return false;
        }
        self.copy_in(write, &(msg.len() as u32).to_le_bytes());
        self.copy_in(write + 4, msg);
        h.write.store(write + need as u64, Release);
        true
    }

    /// Reads the next message into `out` (replacing what it held); `Ok(false)` when there is
    /// none, an error when the ring holds no whole message where one should start.
    pub fn pop(&self, out: &mut Vec<u8>) -> Result<bool, String> {
        let h = self.head();
        let (read, write) = (h.read.load(Relaxed), h.write.load(Acquire));
        if read == write {
            return Ok(false);
        }
        let mut len = [0u8; 4];
        self.copy_out(read, &mut len);
        let len = u32::from_le_bytes(len) as usize;
        if 4 + len as u64 > write.saturating_sub(read) {
            return Err(format!("a message of {len} bytes in a ring holding {}", write - read));
        }
        out.resize(len, 0);
        self.copy_out(read + 4, out);
        h.read.store(read + 4 + len as u64, Release);
        Ok(true)
    }

    /// The reader is about to sleep until woken: `true` when the ring is still empty after it
    /// said so (then it must sleep; a writer will wake it), `false` when a message came first.
    pub fn going_to_sleep(&self) -> bool {
        let h = self.head();
        h.sleeping.store(1, SeqCst);
        if h.read.load(Relaxed) != h.write.load(SeqCst) {
            h.sleeping.store(0, SeqCst);
            return false;
        }
        true
    }

    /// The reader is awake again (it reads the ring next): writers need not wake it.
    pub fn awake(&self) {
        self.head().sleeping.store(0, SeqCst);
    }

    /// After a write: whether the reader sleeps and must be woken (then it is counted as woken).
    pub fn needs_wake(&self) -> bool {
        fence(SeqCst);
        self.head().sleeping.swap(0, SeqCst) == 1
    }

    fn copy_in(&self, at: u64, bytes: &[u8]) {
        let start = at as usize & (self.cap - 1);
        let first = bytes.len().min(self.cap - start);
        // SAFETY: both ranges lie in the ring's data, which only this writer touches until it
        // publishes them with the `write` store.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.data.add(start), first);
            std::ptr::copy_nonoverlapping(bytes.as_ptr().add(first), self.data, bytes.len() - first);
        }
    }

    fn copy_out(&self, at: u64, bytes: &mut [u8]) {
        let start = at as usize & (self.cap - 1);
        let first = bytes.len().min(self.cap - start);
        // SAFETY: both ranges lie in the ring's data, published by the writer's `write` store
        // (read with Acquire) and not reused until this reader's `read` store.
        unsafe {
            std::ptr::copy_nonoverlapping(self.data.add(start), bytes.as_mut_ptr(), first);
            std::ptr::copy_nonoverlapping(self.data, bytes.as_mut_ptr().add(first), bytes.len() - first);
        }
    }
}

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

    pub fn new() -> Result<Rings, String> {
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
