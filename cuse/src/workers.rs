//! The threads that answer requests that may block.
//!
//! A thread a request costs a clone, a stack mapping and an exit for every
//! ioctl round trip: on slow CPUs (an emulated guest) that was most of the
//! daemon's CPU while a program played. Here a thread that finished a request
//! waits for the next one; another thread starts only when every thread is
//! busy (a request may block for long: a write waiting for room, a drain), so
//! one client blocked never stalls another, as before, up to
//! [`MAX_THREADS`]; past that, requests wait for a thread to come free.
//! Threads beyond [`KEEP`] leave after [`IDLE_EXIT`] without work.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Threads kept waiting for work however long it takes.
pub const KEEP: usize = 2;
/// How long a thread beyond [`KEEP`] waits for work before it leaves.
pub const IDLE_EXIT: Duration = Duration::from_secs(10);
/// Threads at most, per node: beyond, requests wait in the queue for a
/// thread to come free (every blocking request has its own deadline), so a
/// client that sends requests from many threads at once cannot make the
/// daemon start thousands.
pub const MAX_THREADS: usize = 256;

type Job = Box<dyn FnOnce() + Send + 'static>;

#[derive(Default)]
struct State {
    /// Jobs not taken yet, with their sequence numbers.
    queue: VecDeque<(u64, Job)>,
    next: u64,
    /// Threads waiting for work.
    idle: usize,
    /// Threads alive (or starting).
    threads: usize,
    /// The server is gone: threads leave once the queue is empty.
    closed: bool,
    /// Threads started so far.
    started: u64,
    /// The thread limit was reached and said so in the log (once).
    full_said: bool,
}

/// A pool of request threads named after its device.
pub struct Workers {
    name: String,
    max_threads: usize,
    state: Mutex<State>,
    work: Condvar,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Workers {
    pub fn new(name: &str) -> Arc<Workers> {
        Workers::with_limit(name, MAX_THREADS)
    }

    /// A pool of at most `max_threads` threads (at least 1).
    pub fn with_limit(name: &str, max_threads: usize) -> Arc<Workers> {
        Arc::new(Workers {
            name: name.to_string(),
            max_threads: max_threads.max(1),
            state: Mutex::default(),
            work: Condvar::new(),
        })
    }

    /// Run `job` on a waiting thread, or on a new one when none waits.
    /// Errs (and drops the job unrun) only when no thread could be started
    /// and none will take it.
    pub fn run(self: &Arc<Self>, job: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
        let seq = {
            let mut st = lock(&self.state);
            let seq = st.next;
            st.next += 1;
            st.queue.push_back((seq, Box::new(job)));
            if st.queue.len() <= st.idle {
                self.work.notify_one();
                return Ok(());
            }
            if st.threads >= self.max_threads {
                // Every thread is busy and no more may start: the job waits
                // for the first to come free.
                if !st.full_said {
                    st.full_said = true;
                    log::warn!("cuse {}: {} request threads busy; requests wait for one", self.name, st.threads);
                }
                return Ok(());
            }
            st.threads += 1;
            st.started += 1;
            seq
        };
        let me = self.clone();
        match std::thread::Builder::new().name(format!("cuse {}", self.name)).spawn(move || me.work()) {
            Ok(_) => Ok(()),
            Err(e) => {
                let mut st = lock(&self.state);
                st.threads -= 1;
                // Taken by a thread that came free meanwhile: it runs.
                match st.queue.iter().position(|(s, _)| *s == seq) {
                    Some(i) => {
                        st.queue.remove(i);
                        Err(e)
                    }
                    None => Ok(()),
                }
            }
        }
    }

    /// The server is done: every thread leaves once no work is left.
    pub fn close(&self) {
        let mut st = lock(&self.state);
        st.closed = true;
        log::debug!("cuse {}: {} request threads started, {} requests", self.name, st.started, st.next);
        drop(st);
        self.work.notify_all();
    }

    /// Threads alive now (tests and diagnostics).
    pub fn threads(&self) -> usize {
        lock(&self.state).threads
    }

    fn work(&self) {
        loop {
            let job = {
                let mut st = lock(&self.state);
                loop {
                    if let Some((_, job)) = st.queue.pop_front() {
                        break job;
                    }
                    if st.closed {
                        st.threads -= 1;
                        return;
                    }
                    st.idle += 1;
                    let (guard, waited) = self.work.wait_timeout(st, IDLE_EXIT).unwrap_or_else(|e| e.into_inner());
                    st = guard;
                    st.idle -= 1;
                    if waited.timed_out() && st.queue.is_empty() && st.threads > KEEP {
                        st.threads -= 1;
                        return;
                    }
                }
            };
            job();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    #[test]
    fn one_thread_serves_requests_one_after_another() {
        let w = Workers::new("test");
        let (tx, rx) = mpsc::channel();
        for i in 0..50 {
            let tx = tx.clone();
            w.run(move || tx.send((i, std::thread::current().id())).unwrap()).unwrap();
            // Each finishes before the next comes, as a client's round trips do.
            assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap().0, i);
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while lock(&w.state).idle == 0 && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        assert_eq!(w.threads(), 1, "the thread of the first request served the other 49");
    }

    #[test]
    fn past_the_thread_limit_requests_wait_for_a_thread_to_come_free() {
        let w = Workers::with_limit("test", 2);
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        let (done_tx, done_rx) = mpsc::channel();
        // Two requests that block until released, then a third.
        for _ in 0..2 {
            let rx = release_rx.clone();
            w.run(move || {
                let _ = rx.lock().unwrap().recv_timeout(Duration::from_secs(10));
            })
            .unwrap();
        }
        w.run(move || done_tx.send(()).unwrap()).unwrap();
        assert!(done_rx.recv_timeout(Duration::from_millis(200)).is_err(), "no third thread: it waits");
        assert_eq!(w.threads(), 2);
        release_tx.send(()).unwrap();
        done_rx.recv_timeout(Duration::from_secs(5)).expect("run once a thread came free");
        assert_eq!(w.threads(), 2, "never more than the limit");
        release_tx.send(()).unwrap();
        w.close();
    }

    #[test]
    fn a_blocked_request_does_not_stall_the_next() {
        let w = Workers::new("test");
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel();
        // A request that blocks until released (a write waiting for room).
        w.run(move || {
            let _ = release_rx.recv_timeout(Duration::from_secs(10));
        })
        .unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..3 {
            let (done, done_tx) = (done.clone(), done_tx.clone());
            w.run(move || {
                done.fetch_add(1, Ordering::SeqCst);
                done_tx.send(()).unwrap();
            })
            .unwrap();
        }
        for _ in 0..3 {
            done_rx.recv_timeout(Duration::from_secs(5)).expect("the others are answered while one blocks");
        }
        assert_eq!(done.load(Ordering::SeqCst), 3);
        assert!(w.threads() >= 2);
        release_tx.send(()).unwrap();
        // Closed, every thread leaves once it has no work.
        w.close();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while w.threads() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(w.threads(), 0, "no thread left behind by a closed server");
    }
}
