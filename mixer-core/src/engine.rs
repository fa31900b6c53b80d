//! The real-time engine: one thread per device, woken once per period by the
//! device, mixing every playback client into the device's ring and fanning
//! what it plays out to monitor captures.
//!
//! The real-time loop allocates nothing, takes no lock and makes no system
//! call beyond the device wait and client wakeups: clients arrive through a
//! [`crate::mailbox`] and leave through another (so they are freed on the
//! control side), and every buffer is sized when a client is added.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use outboard_hal::pcm::{Direction, PcmConfig, PcmStream};

use crate::chmap::ChannelMatrix;
use crate::format::decode;
use crate::mailbox::{mailbox, Receiver, Sender};
use crate::mix::MixBuffer;
use crate::ring::{ring, Consumer, Producer};
use crate::stream::{Capture, Playback, Shared, StreamError, StreamParams, StreamState};

/// Most clients one engine serves at once.
pub const MAX_CLIENTS: usize = 64;

/// What the engine counts (all readable while it runs).
#[derive(Debug, Default)]
pub struct EngineStats {
    /// Periods rendered.
    pub periods: AtomicU64,
    /// Wakeups later than a whole period after the previous one.
    pub late_wakeups: AtomicU64,
    /// Worst gap between wakeups beyond one period, in microseconds.
    pub worst_lateness_us: AtomicU64,
    /// Device waits that failed (timeouts, errors).
    pub device_errors: AtomicU64,
    /// Clients refused because the engine was full.
    pub refused: AtomicU64,
}

enum Ends {
    Playback { ring: Consumer, raw: Vec<u8>, decoded: Vec<f32>, mapped: Vec<f32> },
    Monitor { ring: Producer, bytes: Vec<u8>, mapped: Vec<f32> },
}

/// The engine's side of one client.
struct Slot {
    shared: Arc<Shared>,
    ends: Ends,
    matrix: ChannelMatrix,
    /// Draining: the device frame count at which the client's last frame
    /// has left the device ring (then the drain is complete).
    drained_at: Option<u64>,
}

impl Slot {
    /// Mix up to `frames` frames of this playback client into `mix`, the
    /// period that starts at device frame `at` (counting from the start).
    fn render(&mut self, mix: &mut MixBuffer, frames: usize, at: u64) {
        let Ends::Playback { ring, raw, decoded, mapped } = &mut self.ends else { return };
        let p = self.shared.params;
        let fb = p.frame_bytes();
        if self.shared.drop_request.load(Ordering::Acquire) {
            let n = ring.available();
            ring.discard(n);
            self.shared.drop_request.store(false, Ordering::Release);
            self.shared.notify();
        }
        let state = self.shared.state();
        if !matches!(state, StreamState::Running | StreamState::Draining) {
            return;
        }
        let want = frames * fb;
        let got = ring.read(&mut raw[..want]) / fb;
        let samples = got * usize::from(p.channels);
        decode(p.format, &raw[..got * fb], &mut decoded[..samples]);
        let out_samples = got * self.matrix.outputs();
        self.matrix.apply(&decoded[..samples], &mut mapped[..out_samples]);
        mix.add(&mapped[..out_samples], self.shared.effective_gain());
        if got < frames {
            if state == StreamState::Draining {
                if self.drained_at.is_none() {
                    self.drained_at = Some(at + got as u64);
                }
            } else {
                self.shared.xruns.fetch_add(1, Ordering::Relaxed);
                if p.stop_on_xrun {
                    self.shared.set_state(StreamState::Xrun);
                }
            }
            self.shared.notify();
        } else if ring.capacity() - ring.available() >= p.avail_min * fb {
            self.shared.notify();
        }
    }

    /// Finish a drain once the device has played the client's last frame.
    fn check_drained(&mut self, consumed: u64) {
        if let Some(mark) = self.drained_at {
            if self.shared.state() != StreamState::Draining {
                self.drained_at = None;
            } else if consumed >= mark {
                self.drained_at = None;
                self.shared.set_state(StreamState::Prepared);
                self.shared.notify();
            }
        }
    }

    /// Feed a monitor capture with what the device is playing.
    fn monitor(&mut self, mixed: &[f32], format: crate::format::SampleFormat) {
        let Ends::Monitor { ring, bytes, mapped } = &mut self.ends else { return };
        if self.shared.state() != StreamState::Running {
            return;
        }
        let p = self.shared.params;
        let frames = self.matrix.apply(mixed, mapped);
        let samples = frames * usize::from(p.channels);
        let gain = self.shared.effective_gain();
        if gain != 1.0 {
            mapped[..samples].iter_mut().for_each(|s| *s *= gain);
        }
        let n = crate::format::encode(format, &mapped[..samples], bytes);
        let len = n * p.format.bytes();
        if ring.write(&bytes[..len]) < len {
            self.shared.xruns.fetch_add(1, Ordering::Relaxed);
            if p.stop_on_xrun {
                self.shared.set_state(StreamState::Xrun);
            }
        }
        if ring.capacity() - ring.free() >= p.avail_min * p.frame_bytes() {
            self.shared.notify();
        }
    }
}

struct Control {
    add: Sender<Slot>,
    retired: Receiver<Slot>,
}

/// A running engine on one playback device.
pub struct Engine {
    control: Mutex<Control>,
    stop: Arc<AtomicBool>,
    stats: Arc<EngineStats>,
    config: PcmConfig,
    thread: Option<JoinHandle<Box<dyn PcmStream>>>,
}

impl Engine {
    /// Start the engine thread on `device` (a playback stream, not started).
    pub fn start(device: Box<dyn PcmStream>) -> Result<Engine, StreamError> {
        if device.direction() != Direction::Playback {
            return Err(StreamError::Invalid("the engine drives a playback device".into()));
        }
        let config = device.config();
        if ChannelMatrix::new(usize::from(config.channels), usize::from(config.channels)).is_none() {
            return Err(StreamError::Invalid(format!("{} device channels (1-8)", config.channels)));
        }
        let (add, add_rx) = mailbox(MAX_CLIENTS);
        let (retire_tx, retired) = mailbox(MAX_CLIENTS * 2);
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(EngineStats::default());
        let (stop2, stats2) = (stop.clone(), stats.clone());
        let thread = std::thread::Builder::new()
            .name("outboard-engine".into())
            .spawn(move || run(device, add_rx, retire_tx, stop2, stats2))
            .map_err(|e| StreamError::Invalid(format!("cannot start the engine thread: {e}")))?;
        Ok(Engine { control: Mutex::new(Control { add, retired }), stop, stats, config, thread: Some(thread) })
    }

    /// The device's configuration.
    pub fn device_config(&self) -> PcmConfig {
        self.config
    }

    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    fn check(&self, p: &StreamParams) -> Result<ChannelMatrix, StreamError> {
        if p.rate != self.config.rate {
            return Err(StreamError::Invalid(format!(
                "{} Hz on a {} Hz device: resampling is not wired into the engine yet",
                p.rate, self.config.rate
            )));
        }
        if p.buffer_frames == 0 || p.buffer_frames > 1 << 22 {
            return Err(StreamError::Invalid(format!("a ring of {} frames (1 to 4M)", p.buffer_frames)));
        }
        ChannelMatrix::new(usize::from(p.channels), usize::from(self.config.channels))
            .ok_or_else(|| StreamError::Invalid(format!("{} channels (1-8)", p.channels)))
    }

    fn add(&self, slot: Slot) -> Result<(), StreamError> {
        let mut c = self.control.lock().unwrap_or_else(|e| e.into_inner());
        while c.retired.recv().is_some() {} // free finished clients here, not on the engine thread
        c.add.send(Box::new(slot)).map_err(|_| {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
            StreamError::Invalid(format!("the engine is full ({MAX_CLIENTS} clients)"))
        })
    }

    /// A new playback client.
    pub fn playback(&self, params: StreamParams) -> Result<Playback, StreamError> {
        let matrix = self.check(&params)?;
        let shared = Arc::new(Shared::new(params).map_err(|e| StreamError::Invalid(e.to_string()))?);
        let (producer, consumer) = ring(params.buffer_frames * params.frame_bytes());
        let period = self.config.period_frames;
        let ends = Ends::Playback {
            ring: consumer,
            raw: vec![0; period * params.frame_bytes()],
            decoded: vec![0.0; period * usize::from(params.channels)],
            mapped: vec![0.0; period * usize::from(self.config.channels)],
        };
        self.add(Slot { shared: shared.clone(), ends, matrix, drained_at: None })?;
        Ok(Playback { producer, shared })
    }

    /// A new capture client hearing what the device plays (a monitor source).
    pub fn monitor(&self, params: StreamParams) -> Result<Capture, StreamError> {
        self.check(&params)?;
        let matrix = ChannelMatrix::new(usize::from(self.config.channels), usize::from(params.channels))
            .ok_or_else(|| StreamError::Invalid(format!("{} channels (1-8)", params.channels)))?;
        let shared = Arc::new(Shared::new(params).map_err(|e| StreamError::Invalid(e.to_string()))?);
        let (producer, consumer) = ring(params.buffer_frames * params.frame_bytes());
        let period = self.config.period_frames;
        let ends = Ends::Monitor {
            ring: producer,
            bytes: vec![0; period * params.frame_bytes()],
            mapped: vec![0.0; period * usize::from(params.channels)],
        };
        self.add(Slot { shared: shared.clone(), ends, matrix, drained_at: None })?;
        Ok(Capture { consumer, shared })
    }

    /// Stop the engine and the device; returns the device.
    pub fn stop(mut self) -> Option<Box<dyn PcmStream>> {
        self.stop.store(true, Ordering::Release);
        self.thread.take().and_then(|t| t.join().ok())
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The engine thread.
fn run(
    mut dev: Box<dyn PcmStream>,
    mut add: Receiver<Slot>,
    mut retire: Sender<Slot>,
    stop: Arc<AtomicBool>,
    stats: Arc<EngineStats>,
) -> Box<dyn PcmStream> {
    let cfg = dev.config();
    let period = cfg.period_frames;
    let ring_frames = cfg.buffer_frames();
    let channels = usize::from(cfg.channels);
    let mut mix = MixBuffer::new(period, channels);
    let mut out = vec![0u8; period * cfg.frame_bytes()];
    let mut slots: Vec<Box<Slot>> = Vec::with_capacity(MAX_CLIENTS);
    // Silence in the whole ring, then go.
    for p in 0..cfg.periods {
        if dev.write_frames(p * period, &out).is_err() {
            stats.device_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
    if dev.start().is_err() {
        stats.device_errors.fetch_add(1, Ordering::Relaxed);
        return dev;
    }
    let (mut written, mut consumed, mut last_pos) = (ring_frames as u64, 0u64, 0usize);
    let timeout = cfg.period_time() * 4 + Duration::from_millis(100);
    let mut last_wake = Instant::now();
    while !stop.load(Ordering::Acquire) {
        if dev.wait_period(timeout).is_err() {
            stats.device_errors.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let now = Instant::now();
        let gap = now.duration_since(last_wake);
        last_wake = now;
        if gap > cfg.period_time() * 2 {
            stats.late_wakeups.fetch_add(1, Ordering::Relaxed);
        }
        let late_us = gap.saturating_sub(cfg.period_time()).as_micros() as u64;
        stats.worst_lateness_us.fetch_max(late_us, Ordering::Relaxed);

        while slots.len() < MAX_CLIENTS {
            match add.recv() {
                Some(s) => slots.push(s),
                None => break,
            }
        }
        let mut i = 0;
        while i < slots.len() {
            if slots[i].shared.closed.load(Ordering::Acquire) {
                let s = slots.swap_remove(i);
                if let Err(s) = retire.send(s) {
                    // The control side has not collected yet: keep it one more period.
                    slots.push(s);
                    break;
                }
            } else {
                i += 1;
            }
        }

        let Ok(pos) = dev.position() else {
            stats.device_errors.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        consumed += ((pos + ring_frames - last_pos) % ring_frames) as u64;
        last_pos = pos;
        for s in slots.iter_mut() {
            s.check_drained(consumed);
        }
        while written + period as u64 <= consumed + ring_frames as u64 {
            mix.clear();
            for s in slots.iter_mut() {
                s.render(&mut mix, period, written);
            }
            for s in slots.iter_mut() {
                s.monitor(mix.samples(), s.shared.params.format);
            }
            mix.write(cfg.format, 1.0, &mut out);
            if dev.write_frames((written % ring_frames as u64) as usize, &out).is_err() {
                stats.device_errors.fetch_add(1, Ordering::Relaxed);
            }
            written += period as u64;
            stats.periods.fetch_add(1, Ordering::Relaxed);
        }
    }
    let _ = dev.stop();
    dev
}
