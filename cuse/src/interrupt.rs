//! FUSE_INTERRUPT: a client blocked in a request gets a signal.
//!
//! The kernel's rules (Documentation/filesystems/fuse.rst, "Interrupting
//! filesystem operations", and fs/fuse/dev.c): once a request has been read
//! by the server and its caller gets a signal, the kernel queues a
//! FUSE_INTERRUPT (unique = the request's | FUSE_INT_REQ_BIT, body = the
//! request's unique) ahead of other requests. The caller then waits,
//! killable only, for the original request's reply. The server may ignore
//! the interrupt, or honour it by answering the original request with EINTR
//! (or a short count). An interrupt for a request it does not know (already
//! answered, or not read yet) it answers, after a while, with EAGAIN: the
//! kernel queues the interrupt again if the request is still pending and
//! drops the reply otherwise.
//!
//! Here every request that runs on a thread of its own gets an [`Interrupt`]
//! token, registered under its unique in [`Inflight`] before the next
//! request is read; FUSE_INTERRUPT sets the token, and the handler, which
//! polls it while it waits, gives up with EINTR.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Set once the kernel asks to interrupt a request. Handlers that wait
/// check it between slices of their wait.
#[derive(Clone, Debug, Default)]
pub struct Interrupt(Option<Arc<AtomicBool>>);

impl Interrupt {
    /// A request that is never interrupted (run inline, or made up by a test).
    pub const NONE: Interrupt = Interrupt(None);

    /// A token that [`Interrupt::set`] can set.
    pub fn new() -> Interrupt {
        Interrupt(Some(Arc::new(AtomicBool::new(false))))
    }
    /// Has the caller been interrupted?
    pub fn is_set(&self) -> bool {
        self.0.as_ref().is_some_and(|f| f.load(Ordering::Acquire))
    }
    /// Interrupt the request (the server does this on FUSE_INTERRUPT).
    pub fn set(&self) {
        if let Some(f) = &self.0 {
            f.store(true, Ordering::Release);
        }
    }
}

/// Two tokens are equal when they are the same token (or both none).
impl PartialEq for Interrupt {
    fn eq(&self, other: &Interrupt) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}
impl Eq for Interrupt {}

/// The requests being handled on their own threads, by unique.
#[derive(Clone, Debug, Default)]
pub(crate) struct Inflight(Arc<Mutex<HashMap<u64, Interrupt>>>);

impl Inflight {
    /// Register a request; it stays known until the returned guard drops
    /// (after its reply, or if its handler panics).
    pub(crate) fn register(&self, unique: u64) -> (Interrupt, InflightGuard) {
        let token = Interrupt::new();
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(unique, token.clone());
        (token, InflightGuard { table: self.clone(), unique })
    }
    /// Interrupt request `unique`; false when it is not (or no longer) known.
    pub(crate) fn interrupt(&self, unique: u64) -> bool {
        match self.0.lock().unwrap_or_else(|e| e.into_inner()).get(&unique) {
            Some(token) => {
                token.set();
                true
            }
            None => false,
        }
    }
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Forgets its request when dropped.
pub(crate) struct InflightGuard {
    table: Inflight,
    unique: u64,
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.table.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.unique);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registered_request_is_interrupted_until_its_guard_drops() {
        let table = Inflight::default();
        let (token, guard) = table.register(4);
        assert!(!token.is_set());
        assert!(!table.interrupt(6), "an unknown request");
        assert!(table.interrupt(4));
        assert!(token.is_set());
        drop(guard);
        assert_eq!(table.len(), 0);
        assert!(!table.interrupt(4), "answered: forgotten");
        assert!(!Interrupt::NONE.is_set());
        Interrupt::NONE.set(); // nothing to set: no effect, no panic
        assert_eq!(Interrupt::NONE, Interrupt::default());
        assert_ne!(Interrupt::new(), Interrupt::new());
    }
}
