//! Waking a node's pollers when their files become ready: a list of waiting
//! pollers ([`crate::Pollers`], one entry per kernel poll handle) and the
//! thread that looks at them every `step` while any waits, and sleeps with
//! no wakeup at all while none does.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Duration;

use crate::{keep_poller, PollWaker, Pollers};

/// How long an idle watcher sleeps before it checks that its node still
/// lives (a node that goes away with no poller waiting is noticed then).
const IDLE_CHECK: Duration = Duration::from_secs(60);

/// What a watcher's look at one poller found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// Ready: wake the poller and forget it.
    Ready,
    /// Not yet (or busy): look again next step.
    Wait,
    /// The file is gone: forget the poller.
    Gone,
}

/// A node's waiting pollers.
#[derive(Default)]
pub struct PollWatch {
    pollers: Mutex<Pollers>,
    arrived: Condvar,
}

impl PollWatch {
    pub fn new() -> Arc<PollWatch> {
        Arc::new(PollWatch::default())
    }

    fn lock(&self) -> MutexGuard<'_, Pollers> {
        self.pollers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keep `waker` until file `fh` is ready for `events` ([`keep_poller`]).
    pub fn keep(&self, fh: u64, events: u32, waker: PollWaker) {
        keep_poller(&mut self.lock(), fh, events, waker);
        self.arrived.notify_one();
    }

    /// Forget file `fh`'s pollers (it was released).
    pub fn forget(&self, fh: u64) {
        self.lock().retain(|(f, _, _)| *f != fh);
    }

    /// Pollers waiting now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Start the thread `name` that, while `node` lives, asks `look` about
    /// each waiting poller every `step` and wakes the ready ones; asleep
    /// while no poller waits.
    pub fn spawn<N, F>(self: &Arc<Self>, name: &str, node: Weak<N>, step: Duration, look: F) -> std::io::Result<()>
    where
        N: Send + Sync + 'static,
        F: Fn(&N, u64, u32) -> Readiness + Send + 'static,
    {
        let watch = self.clone();
        std::thread::Builder::new().name(name.into()).spawn(move || loop {
            {
                let mut pollers = watch.lock();
                while pollers.is_empty() {
                    let (p, timeout) =
                        watch.arrived.wait_timeout(pollers, IDLE_CHECK).unwrap_or_else(|e| e.into_inner());
                    pollers = p;
                    if timeout.timed_out() && node.strong_count() == 0 {
                        return;
                    }
                }
            }
            std::thread::sleep(step);
            let Some(node) = node.upgrade() else { return };
            watch.lock().retain(|(fh, events, waker)| match look(&node, *fh, *events) {
                Readiness::Ready => {
                    waker.wake();
                    false
                }
                Readiness::Wait => true,
                Readiness::Gone => false,
            });
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    fn waker(kh: u64) -> PollWaker {
        let null = std::fs::OpenOptions::new().write(true).open("/dev/null").unwrap();
        PollWaker { dev: Arc::new(null), kh }
    }

    struct Node {
        ready: AtomicBool,
        looks: AtomicUsize,
    }

    #[test]
    fn pollers_are_woken_when_ready_and_nothing_is_looked_at_while_none_waits() {
        let node = Arc::new(Node { ready: AtomicBool::new(false), looks: AtomicUsize::new(0) });
        let watch = PollWatch::new();
        let look = |n: &Node, _fh: u64, _events: u32| {
            n.looks.fetch_add(1, Ordering::SeqCst);
            if n.ready.load(Ordering::SeqCst) {
                Readiness::Ready
            } else {
                Readiness::Wait
            }
        };
        watch.spawn("test poll", Arc::downgrade(&node), Duration::from_millis(1), look).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(node.looks.load(Ordering::SeqCst), 0, "no poller: no look");
        // The same kernel poll handle polled twice is one entry.
        watch.keep(3, 1, waker(77));
        watch.keep(3, 4, waker(77));
        assert_eq!(watch.len(), 1);
        std::thread::sleep(Duration::from_millis(50));
        assert!(node.looks.load(Ordering::SeqCst) > 0, "a waiting poller is looked at");
        assert_eq!(watch.len(), 1, "not ready: still waiting");
        node.ready.store(true, Ordering::SeqCst);
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while !watch.is_empty() {
            assert!(std::time::Instant::now() < deadline, "a ready poller is woken and forgotten");
            std::thread::sleep(Duration::from_millis(1));
        }
        let looks = node.looks.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(node.looks.load(Ordering::SeqCst), looks, "none waits: asleep again");
        // A released file's pollers go.
        watch.keep(5, 1, waker(78));
        watch.forget(5);
        assert!(watch.is_empty());
    }
}
