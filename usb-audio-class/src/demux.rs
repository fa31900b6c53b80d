//! One device, several streams: completions sorted by endpoint.
//!
//! usbfs hands back finished URBs of a device in one queue, whichever
//! endpoint they belong to. With playback and capture running at once (two
//! pump threads on one device), each pump must get its own endpoints'
//! completions. [`Demux`] lets one caller at a time reap from the device and
//! files what it reaps under the endpoint; every caller takes only from its
//! own endpoints' queues.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use outboard_hal::usb::{Completion, UsbDevice};

/// How long one reap on the device may block, so that the others waiting
/// are served promptly.
const SLICE: Duration = Duration::from_millis(20);

#[derive(Default)]
struct State {
    queues: HashMap<u8, VecDeque<Completion>>,
    reaping: bool,
    gone: bool,
    failure: Option<String>,
}

/// Completions of one device, by endpoint.
pub struct Demux {
    dev: Arc<dyn UsbDevice>,
    state: Mutex<State>,
    ready: Condvar,
}

impl Demux {
    pub fn new(dev: Arc<dyn UsbDevice>) -> Arc<Demux> {
        Arc::new(Demux { dev, state: Mutex::new(State::default()), ready: Condvar::new() })
    }

    pub fn device(&self) -> &Arc<dyn UsbDevice> {
        &self.dev
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next completion on one of `endpoints`, waiting at most `timeout`.
    pub fn reap(&self, endpoints: &[u8], timeout: Duration) -> outboard_hal::Result<Option<Completion>> {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        loop {
            for ep in endpoints {
                if let Some(c) = st.queues.get_mut(ep).and_then(VecDeque::pop_front) {
                    return Ok(Some(c));
                }
            }
            if st.gone {
                return Err(outboard_hal::Error::Disconnected { device: self.dev.name().to_string() });
            }
            if let Some(f) = &st.failure {
                return Err(outboard_hal::Error::Transfer { device: self.dev.name().to_string(), what: f.clone() });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            if st.reaping {
                st = self.ready.wait_timeout(st, left.min(SLICE)).unwrap_or_else(|e| e.into_inner()).0;
                continue;
            }
            st.reaping = true;
            drop(st);
            let r = self.dev.reap(left.min(SLICE));
            st = self.lock();
            st.reaping = false;
            match r {
                Ok(Some(c)) => st.queues.entry(c.transfer.endpoint).or_default().push_back(c),
                Ok(None) => {}
                Err(outboard_hal::Error::Disconnected { .. }) => st.gone = true,
                Err(e) => st.failure = Some(format!("reaping a transfer failed: {e}")),
            }
            self.ready.notify_all();
        }
    }

    /// Forget what is queued for `endpoints` (a stream that stopped).
    pub fn discard(&self, endpoints: &[u8]) {
        let mut st = self.lock();
        for ep in endpoints {
            st.queues.remove(ep);
        }
    }
}
