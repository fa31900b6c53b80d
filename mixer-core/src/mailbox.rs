//! A fixed-size single-producer single-consumer queue of boxed values: how
//! the control side hands new clients to the real-time engine (and the engine
//! hands finished ones back, so nothing is freed on the real-time thread).
//! Sending and receiving never allocate, lock or block.

use std::ptr;

use crate::sync::{Arc, AtomicPtr, AtomicUsize, Ordering};

struct Slots<T> {
    /// Invariant: slot `i` is non-null exactly when it holds a value the
    /// sender put there and the receiver has not taken yet; each slot is
    /// written by the sender only when null and cleared by the receiver only
    /// when non-null.
    slots: Box<[AtomicPtr<T>]>,
    head: AtomicUsize,
    tail: AtomicUsize,
}

impl<T> Drop for Slots<T> {
    fn drop(&mut self) {
        for s in self.slots.iter() {
            let p = s.swap(ptr::null_mut(), Ordering::AcqRel);
            if !p.is_null() {
                // SAFETY: a non-null slot holds a pointer from Box::into_raw
                // that nobody else owns (the invariant); we are the last user.
                drop(unsafe { Box::from_raw(p) });
            }
        }
    }
}

/// The sending end.
pub struct Sender<T> {
    q: Arc<Slots<T>>,
}

/// The receiving end.
pub struct Receiver<T> {
    q: Arc<Slots<T>>,
}

// SAFETY: values move between threads through the slots (T: Send), and each
// end is used by one thread at a time (&mut self on the operations).
unsafe impl<T: Send> Send for Sender<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for Receiver<T> {}

/// A queue holding up to `capacity` values.
pub fn mailbox<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let slots = (0..capacity.max(1)).map(|_| AtomicPtr::new(ptr::null_mut())).collect();
    let q = Arc::new(Slots { slots, head: AtomicUsize::new(0), tail: AtomicUsize::new(0) });
    (Sender { q: q.clone() }, Receiver { q })
}

impl<T> Sender<T> {
    /// Queue `value`; gives it back if the queue is full.
    pub fn send(&mut self, value: Box<T>) -> Result<(), Box<T>> {
        let tail = self.q.tail.load(Ordering::Relaxed);
        let slot = &self.q.slots[tail % self.q.slots.len()];
        if !slot.load(Ordering::Acquire).is_null() {
            return Err(value);
        }
        slot.store(Box::into_raw(value), Ordering::Release);
        self.q.tail.store(tail.wrapping_add(1), Ordering::Relaxed);
        Ok(())
    }
}

impl<T> Receiver<T> {
    /// Take the oldest value, if any.
    pub fn recv(&mut self) -> Option<Box<T>> {
        let head = self.q.head.load(Ordering::Relaxed);
        let slot = &self.q.slots[head % self.q.slots.len()];
        // A plain load first: the engine asks every period and the queue is
        // nearly always empty, and a load leaves the sender's cache line
        // alone where a swap would take it. A slot seen non-null stays so
        // until this end clears it (the invariant), so the swap then takes
        // exactly the value the load saw.
        if slot.load(Ordering::Acquire).is_null() {
            return None;
        }
        let p = slot.swap(ptr::null_mut(), Ordering::AcqRel);
        if p.is_null() {
            return None;
        }
        self.q.head.store(head.wrapping_add(1), Ordering::Relaxed);
        // SAFETY: the pointer came from Box::into_raw in send, and swapping
        // it out of the slot made us its only owner (the invariant).
        Some(unsafe { Box::from_raw(p) })
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn fifo_full_and_drop() {
        let (mut tx, mut rx) = mailbox::<String>(2);
        tx.send(Box::new("a".into())).unwrap();
        tx.send(Box::new("b".into())).unwrap();
        assert_eq!(*tx.send(Box::new("c".into())).unwrap_err(), "c");
        assert_eq!(*rx.recv().unwrap(), "a");
        tx.send(Box::new("d".into())).unwrap();
        assert_eq!(*rx.recv().unwrap(), "b");
        assert_eq!(*rx.recv().unwrap(), "d");
        assert!(rx.recv().is_none());
        tx.send(Box::new("left in the queue is freed on drop".into())).unwrap();
    }

    #[test]
    fn crosses_threads_in_order() {
        let (mut tx, mut rx) = mailbox::<u32>(4);
        let t = std::thread::spawn(move || {
            for i in 0..10_000u32 {
                let mut v = Box::new(i);
                while let Err(back) = tx.send(v) {
                    v = back;
                    std::thread::yield_now();
                }
            }
        });
        let mut next = 0;
        while next < 10_000 {
            if let Some(v) = rx.recv() {
                assert_eq!(*v, next);
                next += 1;
            }
        }
        t.join().unwrap();
    }
}
