//! Client streams: what a program (through the OSS or ALSA layer) writes to
//! and reads from. Each has its own format, rate and channel count, a
//! lock-free ring to the engine, a volume and a mute, and the pointer
//! semantics both OSS and ALSA need:
//!
//! - `appl_ptr` / `hw_ptr`: frames the client has moved and frames the engine
//!   has moved, as 64-bit counters that never wrap (ALSA's boundary is
//!   `u64::MAX` frames);
//! - a start threshold (playback starts once that much is queued; ALSA's
//!   `start_threshold`, OSS's "start on first write" with threshold 1);
//! - underruns and overruns counted, and either continued through (OSS) or
//!   stopping the stream in the XRUN state (ALSA's `stop_threshold`);
//! - `avail_min` wakeups through an eventfd the client can poll;
//! - drain, drop (reset), pause.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use outboard_hal::irq::{IrqEvent, IrqKind};

use crate::format::SampleFormat;
use crate::ring::{Consumer, Producer};

/// Where a stream is in its life (ALSA's states, which OSS's map onto).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum StreamState {
    /// Set up, not moving.
    Prepared = 0,
    Running = 1,
    Paused = 2,
    /// Playback: running until the queued data has played, then Prepared.
    Draining = 3,
    /// Stopped by an underrun (playback) or overrun (capture).
    Xrun = 4,
}

impl StreamState {
    fn from_u8(v: u8) -> StreamState {
        match v {
            1 => StreamState::Running,
            2 => StreamState::Paused,
            3 => StreamState::Draining,
            4 => StreamState::Xrun,
            _ => StreamState::Prepared,
        }
    }
}

/// One client of a device node, as a listing shows it (`outboard clients`):
/// the node layers fill it in for their opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientInfo {
    /// The node's path.
    pub node: String,
    pub pid: u32,
    /// The program's name (/proc/PID/comm), if it still runs.
    pub program: String,
    /// "r", "w" or "rw".
    pub mode: &'static str,
    /// "S16Le 48000 Hz 2 ch".
    pub format: String,
    /// The stream's state, lower case ("idle" or "-" before there is one).
    pub state: String,
    pub xruns: u64,
}

/// A client stream's shape and behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamParams {
    pub format: SampleFormat,
    pub rate: u32,
    pub channels: u16,
    /// Ring size in frames.
    pub buffer_frames: usize,
    /// Wake a waiting client once this many frames are available.
    pub avail_min: usize,
    /// Playback starts once this many frames are queued (1: at the first write).
    pub start_threshold: usize,
    /// Stop in [`StreamState::Xrun`] on an underrun/overrun (ALSA); `false`
    /// plays silence / drops data and goes on (OSS).
    pub stop_on_xrun: bool,
}

impl StreamParams {
    /// Sensible defaults: a 4-period ring of `period` frames.
    pub fn new(format: SampleFormat, rate: u32, channels: u16, period: usize) -> StreamParams {
        StreamParams {
            format,
            rate,
            channels,
            buffer_frames: period * 4,
            avail_min: period,
            start_threshold: 1,
            stop_on_xrun: false,
        }
    }

    pub fn frame_bytes(&self) -> usize {
        self.format.bytes() * usize::from(self.channels)
    }
}

/// What the client and the engine share about a stream.
pub(crate) struct Shared {
    /// The shape (format, rate, channels, ring); the thresholds in it are
    /// the first ones: the current ones are below (ALSA's SW_PARAMS changes
    /// them on a live stream).
    pub(crate) params: StreamParams,
    avail_min: AtomicUsize,
    start_threshold: AtomicUsize,
    stop_on_xrun: AtomicBool,
    state: AtomicU8,
    gain: AtomicU32,
    muted: AtomicBool,
    pub(crate) xruns: AtomicU64,
    /// Set by the client to have the engine throw away what is queued.
    pub(crate) drop_request: AtomicBool,
    /// Set by a client blocked in a wait; the engine signals `wake` then.
    pub(crate) waiting: AtomicBool,
    pub(crate) wake: IrqEvent,
    /// Set by the client when it goes away; the engine hands the slot back.
    pub(crate) closed: AtomicBool,
    /// When the stream last stopped in XRUN, in nanoseconds since
    /// [`clock_base`] (0: never).
    xrun_at: AtomicU64,
}

/// The instant stream times count from (the first use).
fn clock_base() -> Instant {
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

impl Shared {
    pub(crate) fn new(params: StreamParams) -> outboard_hal::Result<Shared> {
        Ok(Shared {
            params,
            avail_min: AtomicUsize::new(params.avail_min),
            start_threshold: AtomicUsize::new(params.start_threshold),
            stop_on_xrun: AtomicBool::new(params.stop_on_xrun),
            state: AtomicU8::new(StreamState::Prepared as u8),
            gain: AtomicU32::new(1.0f32.to_bits()),
            muted: AtomicBool::new(false),
            xruns: AtomicU64::new(0),
            drop_request: AtomicBool::new(false),
            waiting: AtomicBool::new(false),
            wake: IrqEvent::new("client stream", IrqKind::Msi)?,
            closed: AtomicBool::new(false),
            xrun_at: AtomicU64::new(0),
        })
    }
    /// Count an underrun or overrun; a stream that stops on one stops now.
    pub(crate) fn xrun(&self) {
        self.xruns.fetch_add(1, Ordering::Relaxed);
        if self.stop_on_xrun() {
            self.stop_in_xrun();
        }
    }
    /// Stop in XRUN now (the engine, at an underrun or overrun of a stream
    /// that stops on one), noting when, as the kernel stamps the stop.
    pub(crate) fn stop_in_xrun(&self) {
        let at = Instant::now().saturating_duration_since(clock_base()).as_nanos().max(1) as u64;
        self.xrun_at.store(at, Ordering::Relaxed);
        self.set_state(StreamState::Xrun);
    }
    pub(crate) fn state(&self) -> StreamState {
        StreamState::from_u8(self.state.load(Ordering::Acquire))
    }
    pub(crate) fn avail_min(&self) -> usize {
        self.avail_min.load(Ordering::Relaxed)
    }
    pub(crate) fn start_threshold(&self) -> usize {
        self.start_threshold.load(Ordering::Relaxed)
    }
    pub(crate) fn stop_on_xrun(&self) -> bool {
        self.stop_on_xrun.load(Ordering::Relaxed)
    }
    /// The shape with the thresholds as they are now.
    pub(crate) fn current(&self) -> StreamParams {
        StreamParams {
            avail_min: self.avail_min(),
            start_threshold: self.start_threshold(),
            stop_on_xrun: self.stop_on_xrun(),
            ..self.params
        }
    }
    pub(crate) fn set_state(&self, s: StreamState) {
        self.state.store(s as u8, Ordering::Release);
    }
    /// The gain to apply now (0 when muted).
    pub(crate) fn effective_gain(&self) -> f32 {
        if self.muted.load(Ordering::Relaxed) {
            0.0
        } else {
            f32::from_bits(self.gain.load(Ordering::Relaxed))
        }
    }
    /// Wake the client if it waits (the only syscall the engine makes for it).
    pub(crate) fn notify(&self) {
        if self.waiting.swap(false, Ordering::AcqRel) {
            let _ = self.wake.trigger();
        }
    }
}

/// Errors a client sees.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StreamError {
    #[error("the stream is in XRUN: it under- or overran and stopped; prepare it again")]
    Xrun,
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("the mixer engine has stopped")]
    EngineGone,
    #[error("{0}")]
    Invalid(String),
}

fn wait_on(shared: &Shared, timeout: Duration, mut ready: impl FnMut() -> bool) -> Result<(), StreamError> {
    let deadline = Instant::now() + timeout;
    loop {
        if ready() {
            return Ok(());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(StreamError::Timeout(timeout));
        }
        shared.waiting.store(true, Ordering::Release);
        // Re-check after announcing the wait, so a notify in between is not lost.
        if ready() {
            shared.waiting.store(false, Ordering::Release);
            return Ok(());
        }
        // Short slices: a wakeup for another condition, or none at all, only
        // costs a re-check.
        let _ = shared.wake.wait(left.min(Duration::from_millis(50)));
    }
}

macro_rules! common_controls {
    () => {
        /// The stream's parameters (the thresholds as they are now).
        pub fn params(&self) -> StreamParams {
            self.shared.current()
        }
        /// Change the thresholds of a live stream, as ALSA's SW_PARAMS does:
        /// they apply from the next write, read or period (avail_min at
        /// least 1 and at most the ring).
        pub fn set_thresholds(&self, avail_min: usize, start_threshold: usize, stop_on_xrun: bool) {
            let s = &self.shared;
            s.avail_min.store(avail_min.clamp(1, s.params.buffer_frames.max(1)), Ordering::Relaxed);
            s.start_threshold.store(start_threshold.max(1), Ordering::Relaxed);
            s.stop_on_xrun.store(stop_on_xrun, Ordering::Relaxed);
        }
        pub fn state(&self) -> StreamState {
            self.shared.state()
        }
        /// Underruns (playback) or overruns (capture) so far.
        pub fn xruns(&self) -> u64 {
            self.shared.xruns.load(Ordering::Relaxed)
        }
        /// How long ago the stream last stopped in XRUN, if it did (ALSA's
        /// trigger timestamp is the stop's).
        pub fn since_xrun(&self) -> Option<Duration> {
            let at = self.shared.xrun_at.load(Ordering::Relaxed);
            (at != 0).then(|| Instant::now().saturating_duration_since(clock_base() + Duration::from_nanos(at)))
        }
        /// Linear gain (1.0 = unchanged).
        pub fn set_gain(&self, gain: f32) {
            let g = if gain.is_finite() { gain.max(0.0) } else { 0.0 };
            self.shared.gain.store(g.to_bits(), Ordering::Relaxed);
        }
        pub fn gain(&self) -> f32 {
            f32::from_bits(self.shared.gain.load(Ordering::Relaxed))
        }
        pub fn set_muted(&self, muted: bool) {
            self.shared.muted.store(muted, Ordering::Relaxed);
        }
        /// Pause or resume a running stream.
        pub fn pause(&self, pause: bool) {
            match (pause, self.state()) {
                (true, StreamState::Running) => self.shared.set_state(StreamState::Paused),
                (false, StreamState::Paused) => self.shared.set_state(StreamState::Running),
                _ => {}
            }
        }
        /// The eventfd that becomes readable when `avail_min` is reached,
        /// after [`Self::arm_wakeup`] (for poll).
        pub fn wakeup(&self) -> &IrqEvent {
            &self.shared.wake
        }
        /// Ask to be woken at the next `avail_min` boundary.
        pub fn arm_wakeup(&self) {
            self.shared.waiting.store(true, Ordering::Release);
        }
    };
}

/// A playback stream's client end.
pub struct Playback {
    pub(crate) producer: Producer,
    pub(crate) shared: Arc<Shared>,
}

impl Playback {
    common_controls!();

    /// Frames written so far (appl_ptr).
    pub fn appl_ptr(&self) -> u64 {
        self.producer.position() / self.shared.params.frame_bytes() as u64
    }
    /// Frames the engine has taken so far (hw_ptr).
    pub fn hw_ptr(&self) -> u64 {
        let queued = (self.producer.capacity() - self.producer.free()) as u64;
        (self.producer.position() - queued) / self.shared.params.frame_bytes() as u64
    }
    /// Frames that can be written now.
    pub fn avail(&self) -> usize {
        self.producer.free() / self.shared.params.frame_bytes()
    }
    /// Frames queued and not yet played (ALSA's delay, OSS's GETODELAY).
    pub fn delay(&self) -> usize {
        self.shared.params.buffer_frames - self.avail()
    }

    /// Write whole frames that fit without blocking; returns frames written.
    /// Starts the stream once the start threshold is queued.
    pub fn write(&mut self, data: &[u8]) -> Result<usize, StreamError> {
        if self.state() == StreamState::Xrun {
            return Err(StreamError::Xrun);
        }
        let fb = self.shared.params.frame_bytes();
        let n = (data.len() / fb).min(self.avail());
        self.producer.write(&data[..n * fb]);
        if self.state() == StreamState::Prepared && self.delay() >= self.shared.start_threshold().max(1) {
            self.shared.set_state(StreamState::Running);
        }
        Ok(n)
    }

    /// Write all of `data`, waiting for room (at most `timeout` in all).
    pub fn write_all(&mut self, data: &[u8], timeout: Duration) -> Result<(), StreamError> {
        let fb = self.shared.params.frame_bytes();
        let mut done = 0;
        let deadline = Instant::now() + timeout;
        while done + fb <= data.len() {
            done += self.write(&data[done..])? * fb;
            if done + fb <= data.len() {
                let left = deadline.saturating_duration_since(Instant::now());
                let shared = self.shared.clone();
                let want = shared.avail_min().max(1) * fb;
                let producer = &self.producer;
                wait_on(&shared, left, || {
                    producer.free() >= want.min(producer.capacity()) || shared.state() == StreamState::Xrun
                })?;
            }
        }
        Ok(())
    }

    /// Start now, whatever is queued.
    pub fn start(&self) {
        if self.state() == StreamState::Prepared {
            self.shared.set_state(StreamState::Running);
        }
    }

    /// Start draining without waiting: what is queued plays out, then the
    /// stream stops (an end of stream, not an underrun).
    pub fn start_drain(&self) {
        if self.delay() == 0 && self.state() != StreamState::Running {
            self.shared.set_state(StreamState::Prepared);
        } else if matches!(self.state(), StreamState::Running | StreamState::Prepared | StreamState::Paused) {
            self.shared.set_state(StreamState::Draining);
        }
    }

    /// Play out what is queued, then stop (OSS SYNC, ALSA drain).
    pub fn drain(&self, timeout: Duration) -> Result<(), StreamError> {
        self.start_drain();
        wait_on(&self.shared, timeout, || self.shared.state() != StreamState::Draining)
    }

    /// Throw away what is queued and stop (OSS RESET, ALSA drop); also the
    /// way out of XRUN.
    pub fn reset(&self, timeout: Duration) -> Result<(), StreamError> {
        self.shared.drop_request.store(true, Ordering::Release);
        self.shared.set_state(StreamState::Prepared);
        wait_on(&self.shared, timeout, || !self.shared.drop_request.load(Ordering::Acquire))
    }
}

impl Drop for Playback {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
    }
}

/// A capture stream's client end.
pub struct Capture {
    pub(crate) consumer: Consumer,
    pub(crate) shared: Arc<Shared>,
}

impl Capture {
    common_controls!();

    /// Frames ready to read.
    pub fn avail(&self) -> usize {
        self.consumer.available() / self.shared.params.frame_bytes()
    }
    /// Frames read so far (appl_ptr).
    pub fn appl_ptr(&self) -> u64 {
        self.consumer.position() / self.shared.params.frame_bytes() as u64
    }

    /// Start capturing.
    pub fn start(&self) {
        if matches!(self.state(), StreamState::Prepared) {
            self.shared.set_state(StreamState::Running);
        }
    }

    /// Read whole frames available now; returns frames read.
    pub fn read(&mut self, out: &mut [u8]) -> Result<usize, StreamError> {
        if self.state() == StreamState::Xrun {
            return Err(StreamError::Xrun);
        }
        self.start();
        let fb = self.shared.params.frame_bytes();
        let n = (out.len() / fb).min(self.avail());
        self.consumer.read(&mut out[..n * fb]);
        Ok(n)
    }

    /// Fill `out` completely, waiting (at most `timeout` in all).
    pub fn read_exact(&mut self, out: &mut [u8], timeout: Duration) -> Result<(), StreamError> {
        let fb = self.shared.params.frame_bytes();
        let mut done = 0;
        let deadline = Instant::now() + timeout;
        while done + fb <= out.len() {
            done += self.read(&mut out[done..])? * fb;
            if done + fb <= out.len() {
                let left = deadline.saturating_duration_since(Instant::now());
                let shared = self.shared.clone();
                let consumer = &self.consumer;
                wait_on(&shared, left, || consumer.available() >= fb || shared.state() == StreamState::Xrun)?;
            }
        }
        Ok(())
    }

    /// Throw away what was captured and not read; stop.
    pub fn reset(&mut self) {
        let n = self.consumer.available();
        self.consumer.discard(n);
        self.shared.set_state(StreamState::Prepared);
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
    }
}
