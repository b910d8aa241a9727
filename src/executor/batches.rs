//! A bounded queue between a pool's threads and the thread that hands their events on: senders
//! wait only when it is full and the receiver takes everything at once, so a wait and a wake
//! happen once a batch, not once an event, when the receiver is the slower side (as it is for
//! no-op tasks, whose records the orchestrator writes more slowly than they are made).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};

pub(super) struct Batches<T> {
    state: Mutex<State<T>>,
    not_full: Condvar,
    not_empty: Condvar,
    cap: usize,
}

struct State<T> {
    queue: VecDeque<T>,
    senders: usize,
    /// Senders waiting for room, and whether the receiver waits for an item: a condition
    /// variable is notified only when someone waits on it (a notification is a system call).
    waiting_senders: usize,
    receiver_waits: bool,
    /// The receiver is gone (it panicked): senders stop, rather than wait for room for ever.
    closed: bool,
}

impl<T> Batches<T> {
    /// A queue of at most `cap` items, for `senders` senders (each takes a [`Sender`]).
    pub fn new(cap: usize, senders: usize) -> Batches<T> {
        Batches {
            state: Mutex::new(State {
                queue: VecDeque::with_capacity(cap),
                senders,
                waiting_senders: 0,
                receiver_waits: false,
                closed: false,
            }),
            not_full: Condvar::new(),
            not_empty: Condvar::new(),
            cap,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `false` once the receiver is gone.
    fn send(&self, item: T) -> bool {
        let mut s = self.lock();
        while s.queue.len() >= self.cap && !s.closed {
            s.waiting_senders += 1;
            s = self.not_full.wait(s).unwrap_or_else(|e| e.into_inner());
            s.waiting_senders -= 1;
        }
        if s.closed {
            return false;
        }
        s.queue.push_back(item);
        if s.receiver_waits {
            s.receiver_waits = false;
            self.not_empty.notify_one();
        }
        true
    }

    /// The receiver's handle: dropped (after the last batch, or by a panic while handing one
    /// on), it lets every sender go.
    pub fn receiver(&self) -> Receiver<'_, T> {
        Receiver(self)
    }

    /// A sender's handle that says it is finished when dropped, even by a panic.
    pub fn sender(&self) -> Sender<'_, T> {
        Sender(self)
    }

    fn done(&self) {
        let mut s = self.lock();
        s.senders -= 1;
        if s.receiver_waits {
            s.receiver_waits = false;
            self.not_empty.notify_one();
        }
    }

    /// Everything queued, into `into` (emptied first), waiting for at least one item; `false`
    /// once every sender is done and nothing is left.
    fn take_all(&self, into: &mut VecDeque<T>) -> bool {
        into.clear();
        let mut s = self.lock();
        while s.queue.is_empty() {
            if s.senders == 0 {
                return false;
            }
            s.receiver_waits = true;
            s = self.not_empty.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        std::mem::swap(&mut s.queue, into);
        if s.waiting_senders > 0 {
            self.not_full.notify_all();
        }
        true
    }
}

pub(super) struct Sender<'a, T>(&'a Batches<T>);

impl<T> Sender<'_, T> {
    /// `false` once the receiver is gone: the sender should stop.
    pub fn send(&self, item: T) -> bool {
        self.0.send(item)
    }
}

pub(super) struct Receiver<'a, T>(&'a Batches<T>);

impl<T> Receiver<'_, T> {
    pub fn take_all(&self, into: &mut VecDeque<T>) -> bool {
        self.0.take_all(into)
    }
}

impl<T> Drop for Receiver<'_, T> {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.closed = true;
        self.0.not_full.notify_all();
    }
}

impl<T> Drop for Sender<'_, T> {
    fn drop(&mut self) {
        self.0.done();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_arrives_once_in_each_senders_order_and_the_queue_stays_bounded() {
        let q = Batches::new(8, 3);
        let mut got: Vec<(usize, usize)> = Vec::new();
        std::thread::scope(|s| {
            for id in 0..3 {
                let q = &q;
                s.spawn(move || {
                    let tx = q.sender();
                    for i in 0..10_000 {
                        assert!(tx.send((id, i)));
                    }
                });
            }
            let (rx, mut batch) = (q.receiver(), VecDeque::new());
            while rx.take_all(&mut batch) {
                assert!(batch.len() <= 8, "{}", batch.len());
                got.extend(batch.drain(..));
            }
        });
        assert_eq!(got.len(), 30_000);
        for id in 0..3 {
            let mine: Vec<usize> = got.iter().filter(|g| g.0 == id).map(|g| g.1).collect();
            assert_eq!(mine, (0..10_000).collect::<Vec<_>>(), "sender {id}");
        }
    }
}

#[cfg(test)]
mod gone {
    use super::*;

    #[test]
    fn senders_stop_when_the_receiver_is_gone_instead_of_waiting_for_ever() {
        let q = Batches::new(2, 1);
        std::thread::scope(|s| {
            let sender = s.spawn(|| {
                let tx = q.sender();
                (0..100).take_while(|&i| tx.send(i)).count()
            });
            drop(q.receiver()); // as a panic while handing a batch on would
            assert!(sender.join().unwrap() <= 2);
        });
    }
}
