//! A message ring in memory that processes share ([`SharedMap`], made before the fork): one
//! reader and one writer at a time, a message as a u32 length and bytes, costing a copy and two
//! atomic stores, no system call. What a writer published survives its death: the reader still
//! finds it. The fork pool's task and result rings and the repetition's records use it.

use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering::*};

use super::SharedMap;

/// The start of a ring: where the reader and the writer are (bytes written and read, ever) and
/// whether the reader is (going to be) asleep.
#[repr(C)]
struct Head {
    read: AtomicU64,
    write: AtomicU64,
    sleeping: AtomicU32,
}

/// Room for the head, rounded up to a cache line.
pub const HEAD: usize = 64;

/// One ring: `cap` bytes (a power of two) after its head, messages as a u32 length and bytes.
pub struct Ring {
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
    pub fn at(map: &SharedMap, offset: usize, cap: usize) -> Ring {
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

    /// Bytes written and not yet read, and bytes read ever: what the writer sees of the reader.
    pub fn used_and_read(&self) -> (usize, u64) {
        let h = self.head();
        let read = h.read.load(Acquire);
        ((h.write.load(Acquire) - read) as usize, read)
    }

    /// The data's size in bytes.
    pub fn capacity(&self) -> usize {
        self.cap
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
    pub fn pop(&self, out: &mut Vec<u8>) -> Result<bool, super::ProcError> {
        let h = self.head();
        let (read, write) = (h.read.load(Relaxed), h.write.load(Acquire));
        if read == write {
            return Ok(false);
        }
        let mut len = [0u8; 4];
        self.copy_out(read, &mut len);
        let len = u32::from_le_bytes(len) as usize;
        if 4 + len as u64 > write.saturating_sub(read) {
            return Err(super::ProcError::Torn {
                len,
                held: write - read,
            });
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

    pub(crate) fn copy_in(&self, at: u64, bytes: &[u8]) {
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
