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
use crate::format::{decode, SampleFormat};
use crate::mailbox::{mailbox, Receiver, Sender};
use crate::mix::MixBuffer;
use crate::resample::Resampler;
use crate::ring::{ring, Consumer, Producer};
use crate::stream::{Capture, Playback, Shared, StreamError, StreamParams, StreamState};

/// Most clients one engine serves at once.
pub const MAX_CLIENTS: usize = 64;

/// The master volume, shared with the engine thread.
#[derive(Debug)]
struct Master {
    gain: std::sync::atomic::AtomicU32,
    muted: AtomicBool,
    /// Stop the devices after this many milliseconds with no client (0:
    /// never); [`Engine::suspend_when_idle`].
    idle_ms: AtomicU64,
}

impl Master {
    fn effective(&self) -> f32 {
        if self.muted.load(Ordering::Relaxed) {
            0.0
        } else {
            f32::from_bits(self.gain.load(Ordering::Relaxed))
        }
    }
}

fn engine_full() -> StreamError {
    StreamError::Invalid(format!("the engine is full ({MAX_CLIENTS} clients)"))
}

/// A client place taken in an engine ([`Engine::reserve`]).
struct Place<'a> {
    engine: &'a Engine,
    used: bool,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if !self.used {
            self.engine.control.lock().unwrap_or_else(|e| e.into_inner()).clients -= 1;
        }
    }
}

/// What the engine counts (all readable while it runs).
#[derive(Debug, Default)]
pub struct EngineStats {
    /// Periods rendered.
    pub periods: AtomicU64,
    /// Wakeups later than a whole period after the previous one.
    pub late_wakeups: AtomicU64,
    /// Worst gap between wakeups beyond one period, in microseconds.
    pub worst_lateness_us: AtomicU64,
    /// Longest pass after a wakeup (mixing, conversion, the device's
    /// ring), in microseconds: beside `worst_lateness_us` it tells an
    /// engine that worked too long from one that was woken (or scheduled)
    /// late.
    pub worst_pass_us: AtomicU64,
    /// Device waits that failed (timeouts, errors).
    pub device_errors: AtomicU64,
    /// Whole device rings that went by between two looks at the position
    /// (the engine was too late: the device played a stale ring, or
    /// overwrote captured frames before they were read).
    pub lost_rings: AtomicU64,
    /// Clients refused because the engine was full.
    pub refused: AtomicU64,
    /// Whether the engine thread got real-time scheduling.
    pub realtime: AtomicBool,
    /// Whether the devices are stopped for want of clients
    /// ([`Engine::suspend_when_idle`]).
    pub suspended: AtomicBool,
    /// How many times the devices were stopped for want of clients.
    pub suspends: AtomicU64,
}

/// One line of what the engine counted, for logs and reports.
impl std::fmt::Display for EngineStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} periods, {} late wakeups (worst {:.1} ms late, longest pass {:.1} ms), {} device errors",
            self.periods.load(Ordering::Relaxed),
            self.late_wakeups.load(Ordering::Relaxed),
            self.worst_lateness_us.load(Ordering::Relaxed) as f64 / 1000.0,
            self.worst_pass_us.load(Ordering::Relaxed) as f64 / 1000.0,
            self.device_errors.load(Ordering::Relaxed)
        )?;
        match self.suspends.load(Ordering::Relaxed) {
            0 => {}
            n => write!(f, ", stopped {n} times for want of clients")?,
        }
        match self.lost_rings.load(Ordering::Relaxed) {
            0 => Ok(()),
            n => write!(f, ", {n} device rings lost (the engine looked too late)"),
        }
    }
}

/// Where a capture client's samples come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// The capture device (every reader gets every sample: dsnoop's fan-out).
    Device,
    /// What the playback device is playing (a monitor source).
    Monitor,
}

/// A client's rate conversion and its buffers (device-channel frames for
/// playback, client-channel frames for capture).
struct Conversion {
    resampler: Resampler,
    /// Converted input not yet consumed by the resampler.
    pending: Vec<f32>,
    pending_frames: usize,
    /// The resampler's output for the current period.
    out: Vec<f32>,
}

enum Ends {
    Playback { ring: Consumer, raw: Vec<u8>, decoded: Vec<f32>, mapped: Vec<f32>, conv: Option<Conversion> },
    Capture { source: Source, ring: Producer, bytes: Vec<u8>, mapped: Vec<f32>, conv: Option<Conversion> },
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
    /// Take this playback client's next `frames` frames out of its ring into
    /// its raw buffer (zero-filled past what it had), for the period that
    /// starts at device frame `at`. Handles drop requests, drains, xruns and
    /// wakeups. Returns the frames taken, or `None` if the client is not
    /// playing.
    fn pull(&mut self, frames: usize, at: u64) -> Option<usize> {
        let Ends::Playback { ring, raw, decoded, conv, .. } = &mut self.ends else { return None };
        let p = self.shared.params;
        let fb = p.frame_bytes();
        if self.shared.drop_request.load(Ordering::Acquire) {
            let n = ring.available();
            ring.discard(n);
            if let Some(c) = conv {
                // What the resampler holds goes too: it must not play
                // ahead of whatever the client writes next.
                c.resampler.reset();
                c.pending_frames = 0;
            }
            self.shared.drop_request.store(false, Ordering::Release);
            self.shared.notify();
        }
        let state = self.shared.state();
        if !matches!(state, StreamState::Running | StreamState::Draining) {
            return None;
        }
        let (got, dry) = match conv {
            None => {
                let want = frames * fb;
                let got = ring.read(&mut raw[..want]) / fb;
                raw[got * fb..want].fill(if p.format == crate::format::SampleFormat::U8 { 0x80 } else { 0 });
                (got, got < frames)
            }
            Some(c) => {
                // Feed the resampler from the ring until it has made a period.
                let ch = resampled_channels(&self.matrix);
                let mut produced = 0;
                let mut dry = false;
                loop {
                    let (used, made) = c
                        .resampler
                        .process(&c.pending[..c.pending_frames * ch], &mut c.out[produced * ch..frames * ch]);
                    c.pending.copy_within(used * ch..c.pending_frames * ch, 0);
                    c.pending_frames -= used;
                    produced += made;
                    if produced >= frames || dry {
                        break;
                    }
                    let room = c.pending.len() / ch - c.pending_frames;
                    let want = c
                        .resampler
                        .input_frames_for(frames - produced)
                        .saturating_sub(c.pending_frames)
                        .clamp(1, room.min(raw.len() / fb));
                    let n = ring.read(&mut raw[..want * fb]) / fb;
                    if n < want {
                        dry = true;
                    }
                    let samples = n * usize::from(p.channels);
                    decode(p.format, &raw[..n * fb], &mut decoded[..samples]);
                    let at = c.pending_frames * ch;
                    if ch == self.matrix.outputs() {
                        self.matrix.apply(&decoded[..samples], &mut c.pending[at..at + n * ch]);
                    } else {
                        // Fewer client channels: resampled as they are, mapped after.
                        c.pending[at..at + n * ch].copy_from_slice(&decoded[..samples]);
                    }
                    c.pending_frames += n;
                }
                if dry && produced < frames && state == StreamState::Draining {
                    // The client's last frame is in: what the filter still
                    // holds of it (half its length, and its decay) plays
                    // before the drain completes. `pending` is empty here:
                    // the resampler took all of it and still had room.
                    produced += c.resampler.flush(&mut c.out[produced * ch..frames * ch]);
                }
                c.out[produced * ch..frames * ch].fill(0.0);
                (produced, dry && produced < frames)
            }
        };
        if dry {
            if state == StreamState::Draining {
                if self.drained_at.is_none() {
                    self.drained_at = Some(at + got as u64);
                }
            } else {
                self.shared.xrun();
            }
            self.shared.notify();
        } else if ring.capacity() - ring.available() >= self.shared.avail_min() * fb {
            self.shared.notify();
        }
        Some(got)
    }

    /// Whether this client can take the integer fast path onto a device of
    /// `channels` channels: 16-bit little-endian, same layout, unity gain.
    fn integer_eligible(&self, channels: u16) -> bool {
        let p = self.shared.params;
        matches!(self.ends, Ends::Playback { conv: None, .. })
            && p.format == crate::format::SampleFormat::S16Le
            && p.channels == channels
            && self.shared.effective_gain() == 1.0
    }

    /// The raw bytes of the last pull (a period's worth).
    fn raw(&self, frames: usize) -> &[u8] {
        match &self.ends {
            Ends::Playback { raw, .. } => &raw[..frames * self.shared.params.frame_bytes()],
            Ends::Capture { .. } => &[],
        }
    }

    /// Mix the last pull into `mix` through the float path.
    fn add_float(&mut self, mix: &mut MixBuffer, frames: usize) {
        let Ends::Playback { raw, decoded, mapped, conv, .. } = &mut self.ends else { return };
        if let Some(c) = conv {
            let ch = resampled_channels(&self.matrix);
            let out = if ch == self.matrix.outputs() {
                &c.out[..frames * ch]
            } else {
                let n = frames * self.matrix.outputs();
                self.matrix.apply(&c.out[..frames * ch], &mut mapped[..n]);
                &mapped[..n]
            };
            mix.add(out, self.shared.effective_gain());
            return;
        }
        let p = self.shared.params;
        let samples = frames * usize::from(p.channels);
        decode(p.format, &raw[..frames * p.frame_bytes()], &mut decoded[..samples]);
        let out_samples = frames * self.matrix.outputs();
        self.matrix.apply(&decoded[..samples], &mut mapped[..out_samples]);
        mix.add(&mapped[..out_samples], self.shared.effective_gain());
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

    /// Feed a capture client from `source` (device-channel f32 samples).
    /// Captured frames this client should have had were lost at the device:
    /// an overrun, as if its own ring had filled.
    fn overrun(&mut self, from: Source) {
        let Ends::Capture { source, .. } = &self.ends else { return };
        if *source != from || self.shared.state() != StreamState::Running {
            return;
        }
        self.shared.xrun();
        self.shared.notify();
    }

    fn feed(&mut self, from: Source, samples: &[f32], format: crate::format::SampleFormat) {
        let Ends::Capture { source, ring, .. } = &self.ends else { return };
        if *source != from || self.shared.state() != StreamState::Running {
            return;
        }
        let p = self.shared.params;
        if ring.free() < p.frame_bytes() {
            // No room for a frame: this period is lost to the client either
            // way (an overrun), so it is not converted at all. A client that
            // opened capture and stopped reading costs the engine nothing.
            self.overrun(from);
            return;
        }
        let Ends::Capture { ring, bytes, mapped, conv, .. } = &mut self.ends else { return };
        let ch = usize::from(p.channels);
        let frames = self.matrix.apply(samples, mapped);
        let converted: &mut [f32] = match conv {
            None => &mut mapped[..frames * ch],
            Some(c) => {
                // All of this period goes in; what comes out depends on the ratio.
                let (_, made) = c.resampler.process(&mapped[..frames * ch], &mut c.out);
                &mut c.out[..made * ch]
            }
        };
        let gain = self.shared.effective_gain();
        if gain != 1.0 {
            converted.iter_mut().for_each(|s| *s *= gain);
        }
        let n = crate::format::encode(format, converted, bytes);
        let len = n * p.format.bytes();
        if ring.write(&bytes[..len]) < len {
            self.shared.xrun();
        }
        if ring.capacity() - ring.free() >= self.shared.avail_min() * p.frame_bytes() {
            self.shared.notify();
        }
    }
}

/// How many channels a playback client's rate conversion works on: the
/// client's own when it has fewer than the device (a mono client on a
/// stereo device is resampled once, then mapped), else the device's (a 5.1
/// client on a stereo device is mapped down first). Either way the filter
/// runs on the fewer channels; the resampler is most of the engine's work.
fn resampled_channels(matrix: &ChannelMatrix) -> usize {
    matrix.inputs().min(matrix.outputs())
}

/// The rate conversion from `from` to `to` Hz on `channels` channels for a
/// device period of `period` frames; `None` when the rates are equal.
fn conversion(from: u32, to: u32, channels: usize, period: usize) -> Result<Option<Conversion>, StreamError> {
    if from == to {
        return Ok(None);
    }
    let resampler = Resampler::new(from, to, channels).map_err(|e| StreamError::Invalid(e.to_string()))?;
    // Playback: pending holds what one period's pull may read; capture: out
    // holds what one period of input may make. Both with margin for drift.
    let most_in = resampler.input_frames_for(period) + 8;
    let most_out = resampler.output_frames_for(period) + 8;
    Ok(Some(Conversion {
        pending: vec![0.0; (most_in + period) * channels],
        pending_frames: 0,
        out: vec![0.0; most_out.max(period) * channels],
        resampler,
    }))
}

struct Control {
    add: Sender<Slot>,
    retired: Receiver<Slot>,
    /// Clients handed to the engine and not yet handed back.
    clients: usize,
}

/// Told of each new master gain.
pub type GainListener = Box<dyn Fn(f32) + Send + Sync>;

type Devices = (Option<Box<dyn PcmStream>>, Option<Box<dyn PcmStream>>);

/// A running engine on one device: its playback stream, its capture
/// stream, or both.
pub struct Engine {
    control: Mutex<Control>,
    master: Arc<Master>,
    gain_listeners: Mutex<Vec<GainListener>>,
    stop: Arc<AtomicBool>,
    stats: Arc<EngineStats>,
    playback: Option<PcmConfig>,
    capture: Option<PcmConfig>,
    thread: Option<JoinHandle<Devices>>,
}

impl Engine {
    /// Start the engine thread on `device` (a playback stream, not started).
    pub fn start(device: Box<dyn PcmStream>) -> Result<Engine, StreamError> {
        Self::start_with(Some(device), None)
    }

    /// Start the engine thread on a device's playback and/or capture stream
    /// (not started). With both, the playback stream's periods pace the
    /// engine and capture is read as it comes.
    pub fn start_with(
        playback: Option<Box<dyn PcmStream>>,
        capture: Option<Box<dyn PcmStream>>,
    ) -> Result<Engine, StreamError> {
        let check = |d: &Option<Box<dyn PcmStream>>, dir: Direction| -> Result<Option<PcmConfig>, StreamError> {
            let Some(d) = d else { return Ok(None) };
            if d.direction() != dir {
                return Err(StreamError::Invalid(format!(
                    "a {:?} stream where a {dir:?} stream belongs",
                    d.direction()
                )));
            }
            let c = d.config();
            if ChannelMatrix::new(usize::from(c.channels), usize::from(c.channels)).is_none() {
                return Err(StreamError::Invalid(format!("{} device channels (1-8)", c.channels)));
            }
            Ok(Some(c))
        };
        let pc = check(&playback, Direction::Playback)?;
        let cc = check(&capture, Direction::Capture)?;
        if pc.is_none() && cc.is_none() {
            return Err(StreamError::Invalid("an engine needs a playback or a capture stream".into()));
        }
        let (add, add_rx) = mailbox(MAX_CLIENTS);
        let (retire_tx, retired) = mailbox(MAX_CLIENTS * 2);
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(EngineStats::default());
        let master = Arc::new(Master {
            gain: std::sync::atomic::AtomicU32::new(1.0f32.to_bits()),
            muted: AtomicBool::new(false),
            idle_ms: AtomicU64::new(0),
        });
        let (stop2, stats2, master2) = (stop.clone(), stats.clone(), master.clone());
        let thread = std::thread::Builder::new()
            .name("outboard-engine".into())
            .spawn(move || run(playback, capture, add_rx, retire_tx, stop2, stats2, master2))
            .map_err(|e| StreamError::Invalid(format!("cannot start the engine thread: {e}")))?;
        Ok(Engine {
            control: Mutex::new(Control { add, retired, clients: 0 }),
            master,
            gain_listeners: Mutex::new(Vec::new()),
            stop,
            stats,
            playback: pc,
            capture: cc,
            thread: Some(thread),
        })
    }

    /// The playback device's configuration, if the engine has one.
    pub fn playback_config(&self) -> Option<PcmConfig> {
        self.playback
    }

    /// Frames, at `rate`, between the engine taking a playback client's
    /// frame and the device playing it: the periods the engine keeps
    /// rendered ahead of the device (its ring less the period playing). Part
    /// of the delay a player reads (ALSA's DELAY, OSS's GETODELAY) while its
    /// stream runs, as the kernel counts the whole DMA ring. 0 without a
    /// playback device.
    pub fn playback_ahead(&self, rate: u32) -> u64 {
        self.playback.map_or(0, |cfg| {
            let ahead = (cfg.periods.saturating_sub(1) * cfg.period_frames) as u64;
            ahead * u64::from(rate) / u64::from(cfg.rate.max(1))
        })
    }

    /// The capture device's configuration, if the engine has one.
    pub fn capture_config(&self) -> Option<PcmConfig> {
        self.capture
    }

    /// Master volume for everything played (linear gain, 1.0 = unchanged).
    /// Every [`Engine::on_master_gain`] listener is told of a change.
    pub fn set_master_gain(&self, gain: f32) {
        let g = if gain.is_finite() { gain.max(0.0) } else { 0.0 };
        let before = self.master.gain.swap(g.to_bits(), Ordering::Relaxed);
        if before != g.to_bits() {
            for l in self.gain_listeners.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                l(g);
            }
        }
    }

    /// Have `listener` called with the new master gain after each change,
    /// by whichever node made it (so the ALSA control node sees what
    /// /dev/mixer set).
    pub fn on_master_gain(&self, listener: GainListener) {
        self.gain_listeners.lock().unwrap_or_else(|e| e.into_inner()).push(listener);
    }

    pub fn master_gain(&self) -> f32 {
        f32::from_bits(self.master.gain.load(Ordering::Relaxed))
    }

    /// Mute or unmute everything played.
    pub fn set_master_muted(&self, muted: bool) {
        self.master.muted.store(muted, Ordering::Relaxed);
    }

    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// Check a client against the device it uses; the matrix from
    /// `from` channels to `to` channels.
    fn check(
        p: &StreamParams,
        dev: Option<PcmConfig>,
        what: &str,
        client_to_device: bool,
    ) -> Result<(PcmConfig, ChannelMatrix), StreamError> {
        let dev = dev.ok_or_else(|| StreamError::Invalid(format!("this device has no {what} stream")))?;
        if !(crate::resample::MIN_RATE..=crate::resample::MAX_RATE).contains(&p.rate) {
            return Err(StreamError::Invalid(format!(
                "{} Hz (from {} to {} Hz)",
                p.rate,
                crate::resample::MIN_RATE,
                crate::resample::MAX_RATE
            )));
        }
        if p.buffer_frames == 0 || p.buffer_frames > 1 << 22 {
            return Err(StreamError::Invalid(format!("a ring of {} frames (1 to 4M)", p.buffer_frames)));
        }
        let (from, to) = if client_to_device { (p.channels, dev.channels) } else { (dev.channels, p.channels) };
        let m = ChannelMatrix::new(usize::from(from), usize::from(to))
            .ok_or_else(|| StreamError::Invalid(format!("{} channels (1-8)", p.channels)))?;
        Ok((dev, m))
    }

    /// Take a client place in the engine before anything is allocated for
    /// the client (a refused client commits no memory); given back when
    /// the [`Place`] is dropped unused.
    fn reserve(&self) -> Result<Place<'_>, StreamError> {
        let mut c = self.control.lock().unwrap_or_else(|e| e.into_inner());
        while c.retired.recv().is_some() {
            c.clients -= 1; // freed here, not on the engine thread
        }
        if c.clients >= MAX_CLIENTS {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
            return Err(engine_full());
        }
        c.clients += 1;
        Ok(Place { engine: self, used: false })
    }

    /// Hand `slot` to the engine thread in the place reserved for it.
    fn add(&self, mut place: Place<'_>, slot: Slot) -> Result<(), StreamError> {
        let sent = self.control.lock().unwrap_or_else(|e| e.into_inner()).add.send(Box::new(slot));
        if sent.is_err() {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
            return Err(engine_full()); // `place` goes back as it drops
        }
        place.used = true;
        self.wake();
        Ok(())
    }

    /// Wake the engine thread if it is suspended (see [`Self::suspend_when_idle`]).
    fn wake(&self) {
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
    }

    /// Stop the devices once no client has been open for `after` (`None`:
    /// never, the default): the DMA stops and the engine thread sleeps
    /// without a wakeup until a client arrives, as PipeWire suspends an idle
    /// node and the kernel stops a PCM nobody has open. The next client
    /// restarts the devices within a period of its arrival.
    pub fn suspend_when_idle(&self, after: Option<Duration>) {
        let ms = after.map_or(0, |d| (d.as_millis() as u64).max(1));
        self.master.idle_ms.store(ms, Ordering::Relaxed);
        self.wake();
    }

    /// A new playback client.
    pub fn playback(&self, params: StreamParams) -> Result<Playback, StreamError> {
        let (dev, matrix) = Self::check(&params, self.playback, "playback", true)?;
        let place = self.reserve()?;
        let shared = Arc::new(Shared::new(params).map_err(|e| StreamError::Invalid(e.to_string()))?);
        let (producer, consumer) = ring(params.buffer_frames * params.frame_bytes());
        let period = dev.period_frames;
        let dch = usize::from(dev.channels);
        let conv = conversion(params.rate, dev.rate, resampled_channels(&matrix), period)?;
        // Input frames one period can take: more when the client's rate is higher.
        let in_frames = conv.as_ref().map(|c| c.resampler.input_frames_for(period) + 4).unwrap_or(period);
        let ends = Ends::Playback {
            ring: consumer,
            raw: vec![0; in_frames * params.frame_bytes()],
            decoded: vec![0.0; in_frames * usize::from(params.channels)],
            mapped: vec![0.0; period * dch],
            conv,
        };
        self.add(place, Slot { shared: shared.clone(), ends, matrix, drained_at: None })?;
        Ok(Playback { producer, shared })
    }

    fn capture_client(&self, params: StreamParams, source: Source) -> Result<Capture, StreamError> {
        let (dev_cfg, what) = match source {
            Source::Device => (self.capture, "capture"),
            Source::Monitor => (self.playback, "playback (to monitor)"),
        };
        let (dev, matrix) = Self::check(&params, dev_cfg, what, false)?;
        let place = self.reserve()?;
        let shared = Arc::new(Shared::new(params).map_err(|e| StreamError::Invalid(e.to_string()))?);
        let (producer, consumer) = ring(params.buffer_frames * params.frame_bytes());
        let period = dev.period_frames;
        let ch = usize::from(params.channels);
        let conv = conversion(dev.rate, params.rate, ch, period)?;
        let out_frames = conv.as_ref().map(|c| c.out.len() / ch).unwrap_or(period);
        let ends = Ends::Capture {
            source,
            ring: producer,
            bytes: vec![0; out_frames * params.frame_bytes()],
            mapped: vec![0.0; period * ch],
            conv,
        };
        self.add(place, Slot { shared: shared.clone(), ends, matrix, drained_at: None })?;
        Ok(Capture { consumer, shared })
    }

    /// A new capture client on the capture device. Every capture client
    /// gets every sample (fan-out), each in its own format and layout.
    pub fn capture(&self, params: StreamParams) -> Result<Capture, StreamError> {
        self.capture_client(params, Source::Device)
    }

    /// A new capture client hearing what the device plays (a monitor source).
    pub fn monitor(&self, params: StreamParams) -> Result<Capture, StreamError> {
        self.capture_client(params, Source::Monitor)
    }

    /// Stop the engine and the device streams; returns them (playback, capture).
    pub fn stop(mut self) -> Devices {
        self.stop.store(true, Ordering::Release);
        self.wake();
        self.thread.take().and_then(|t| t.join().ok()).unwrap_or((None, None))
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The engine threads' SCHED_FIFO priority (JACK's and PipeWire's data
/// threads run at 20 to 88; 50 is the kernel's threaded interrupt handlers'
/// level). A daemon that gives up root keeps RLIMIT_RTPRIO at this.
pub const REALTIME_PRIORITY: i32 = 50;

/// Ask for real-time (SCHED_FIFO) scheduling for the calling thread, as
/// JACK and PipeWire do for their data threads; without the privilege the
/// engine runs at normal priority and says so.
pub(crate) fn request_realtime() -> bool {
    let param = libc::sched_param { sched_priority: REALTIME_PRIORITY };
    // SAFETY: pthread_self() is always valid for the calling thread and
    // `param` lives across the call.
    let rc = unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) };
    if rc != 0 {
        log::info!(
            "engine: no real-time priority ({}); running at normal priority",
            std::io::Error::from_raw_os_error(rc)
        );
    }
    rc == 0
}

/// The engine thread.
fn run(
    mut play: Option<Box<dyn PcmStream>>,
    mut cap: Option<Box<dyn PcmStream>>,
    mut add: Receiver<Slot>,
    mut retire: Sender<Slot>,
    stop: Arc<AtomicBool>,
    stats: Arc<EngineStats>,
    master: Arc<Master>,
) -> Devices {
    let error = |stats: &EngineStats| {
        stats.device_errors.fetch_add(1, Ordering::Relaxed);
    };
    stats.realtime.store(request_realtime(), Ordering::Relaxed);
    let mut slots: Vec<Box<Slot>> = Vec::with_capacity(MAX_CLIENTS);
    let mut player = play.as_deref().map(Player::new);
    let mut reader = cap.as_deref().map(Reader::new);
    if let (Some(d), Some(p)) = (play.as_mut(), player.as_ref()) {
        // Silence in the whole ring, then go.
        for i in 0..p.cfg.periods {
            if d.write_frames(i * p.cfg.period_frames, &p.out).is_err() {
                error(&stats);
            }
        }
        if d.start().is_err() {
            error(&stats);
            return (play, cap);
        }
    }
    // Beside playback the capture device starts with its first recorder.
    if let (true, Some(r)) = (play.is_some(), reader.as_mut()) {
        r.stopped = true;
    }
    if let (Some(d), false) = (cap.as_mut(), reader.as_ref().is_some_and(|r| r.stopped)) {
        if d.start().is_err() {
            error(&stats);
            return (play, cap);
        }
    }
    let pacer = player.as_ref().map(|p| p.cfg).or(reader.as_ref().map(|r| r.cfg)).unwrap_or(PcmConfig {
        format: crate::format::SampleFormat::S16Le,
        rate: 48_000,
        channels: 2,
        period_frames: 1024,
        periods: 4,
    });
    let timeout = pacer.period_time() * 4 + Duration::from_millis(100);
    let mut last_wake = Instant::now();
    let mut last_busy = last_wake;
    while !stop.load(Ordering::Acquire) {
        let idle_ms = master.idle_ms.load(Ordering::Relaxed);
        if idle_ms > 0 && slots.is_empty() && last_busy.elapsed() >= Duration::from_millis(idle_ms) {
            let mut devices = Suspended { play: &mut play, cap: &mut cap, player: &mut player, reader: &mut reader };
            if !devices.sleep(&mut add, &mut slots, &stop, &stats) {
                break;
            }
            last_wake = Instant::now();
            last_busy = last_wake;
        }
        let waited = match (play.as_mut(), cap.as_mut()) {
            (Some(d), _) => d.wait_period(timeout),
            (None, Some(d)) => d.wait_period(timeout),
            (None, None) => break,
        };
        if waited.is_err() {
            error(&stats);
            // A device that fails at once (unplugged, a stalled transfer)
            // must not spin the real-time thread at its priority: a period's
            // time before the next try.
            std::thread::sleep(pacer.period_time());
            continue;
        }
        let now = Instant::now();
        let gap = now.duration_since(last_wake);
        last_wake = now;
        if gap > pacer.period_time() * 2 {
            stats.late_wakeups.fetch_add(1, Ordering::Relaxed);
        }
        stats
            .worst_lateness_us
            .fetch_max(gap.saturating_sub(pacer.period_time()).as_micros() as u64, Ordering::Relaxed);

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

        if let (Some(d), Some(p)) = (play.as_mut(), player.as_mut()) {
            p.master = master.effective();
            if p.service(d.as_mut(), &mut slots).is_err() {
                error(&stats);
            } else {
                stats.periods.store(p.periods, Ordering::Relaxed);
            }
        }
        if let (true, Some(d), Some(r)) = (play.is_some(), cap.as_mut(), reader.as_mut()) {
            if r.follow_recorders(d.as_mut(), &slots).is_err() {
                error(&stats);
            }
        }
        // A stopped capture device has nothing to read until a recorder starts it.
        if let (Some(d), Some(r)) = (cap.as_mut(), reader.as_mut().filter(|r| !r.stopped)) {
            if r.service(d.as_mut(), &mut slots).is_err() {
                error(&stats);
            } else if play.is_none() {
                stats.periods.store(r.periods, Ordering::Relaxed);
            }
        }
        let lost = player.as_ref().map_or(0, |p| p.lost_rings) + reader.as_ref().map_or(0, |r| r.lost_rings);
        stats.lost_rings.store(lost, Ordering::Relaxed);
        if !slots.is_empty() {
            last_busy = now;
        }
        stats.worst_pass_us.fetch_max(now.elapsed().as_micros() as u64, Ordering::Relaxed);
    }
    if let Some(d) = play.as_mut() {
        let _ = d.stop();
    }
    if let (Some(d), false) = (cap.as_mut(), reader.as_ref().is_some_and(|r| r.stopped)) {
        let _ = d.stop();
    }
    (play, cap)
}

/// The engine's devices while no client is open.
struct Suspended<'a> {
    play: &'a mut Option<Box<dyn PcmStream>>,
    cap: &'a mut Option<Box<dyn PcmStream>>,
    player: &'a mut Option<Player>,
    reader: &'a mut Option<Reader>,
}

impl Suspended<'_> {
    /// Stop the devices, sleep until a client arrives (it is put in
    /// `slots`) and start them again where they stopped; false when the
    /// engine is told to stop instead.
    // The slots stay boxed as the mailbox hands them over: moving a client
    // out of its box would free on the real-time thread.
    #[allow(clippy::vec_box)]
    fn sleep(
        &mut self,
        add: &mut Receiver<Slot>,
        slots: &mut Vec<Box<Slot>>,
        stop: &AtomicBool,
        stats: &EngineStats,
    ) -> bool {
        let error = || {
            stats.device_errors.fetch_add(1, Ordering::Relaxed);
        };
        let capture_running = self.reader.as_ref().is_some_and(|r| !r.stopped);
        let running = [self.play.as_mut(), self.cap.as_mut().filter(|_| capture_running)];
        for d in running.into_iter().flatten() {
            if d.stop().is_err() {
                error();
            }
        }
        stats.suspended.store(true, Ordering::Relaxed);
        stats.suspends.fetch_add(1, Ordering::Relaxed);
        log::debug!("engine: no client; devices stopped");
        loop {
            if stop.load(Ordering::Acquire) {
                return false;
            }
            if let Some(s) = add.recv() {
                slots.push(s);
                break;
            }
            // Both a new client (Engine::add) and the engine's stop unpark
            // this thread, and an unpark before the park is not lost: no
            // deadline is needed, and an idle engine makes no wakeups.
            std::thread::park();
        }
        if let (Some(d), Some(p)) = (self.play.as_mut(), self.player.as_mut()) {
            match d.position() {
                Ok(pos) => p.resync(pos),
                Err(_) => error(),
            }
            p.out.fill(0);
            for i in 0..p.cfg.periods {
                if d.write_frames(i * p.cfg.period_frames, &p.out).is_err() {
                    error();
                }
            }
        }
        // Beside playback the capture device stays stopped until a client
        // records (Reader::follow_recorders); alone, it paces the engine.
        let capture_paces = self.play.is_none();
        if let (Some(d), Some(r)) = (self.cap.as_mut(), self.reader.as_mut()) {
            r.stopped = !capture_paces;
            if capture_paces {
                match d.position() {
                    Ok(pos) => r.resync(pos),
                    Err(_) => error(),
                }
            }
        }
        for d in [self.play.as_mut(), self.cap.as_mut().filter(|_| capture_paces)].into_iter().flatten() {
            if d.start().is_err() {
                error();
            }
        }
        stats.suspended.store(false, Ordering::Relaxed);
        log::debug!("engine: a client arrived; devices restarted");
        true
    }
}

/// Jump a running frame count forward (by less than a ring) to the next
/// count that falls at ring position `pos`: after a restart the device goes
/// on from where it stopped, and the engine's counts must agree with it.
fn count_at(count: u64, pos: usize, ring_frames: usize) -> u64 {
    let ring = ring_frames as u64;
    count + (pos as u64 % ring + ring - count % ring) % ring
}

/// Frames moved since the last look, from a ring position that wraps, and
/// how many whole rings of them the position alone cannot show.
///
/// A position that wraps cannot tell 100 frames from a ring plus 100 frames.
/// On a free-running device the time since the last look can: like the
/// kernel's hw_ptr check (snd_pcm_update_hw_ptr0), when more than half a
/// ring's time has gone by beyond what the position moved, a whole ring went
/// by unseen. A device running faster than its nominal rate only makes the
/// check later, never wrong; the first look (no time yet) counts no lost
/// ring, and neither does a device whose position waits for the engine.
fn advance(pos: usize, tracker: &mut Tracker, cfg: &PcmConfig, now: Instant) -> (u64, u64) {
    let ring_frames = cfg.buffer_frames();
    let d = ((pos + ring_frames - tracker.last_pos) % ring_frames) as u64;
    tracker.last_pos = pos;
    let Some(before) = tracker.last_look.replace(now) else { return (d, 0) };
    if !tracker.free_running {
        return (d, 0);
    }
    let rate = f64::from(cfg.rate.max(1));
    let unseen = now.saturating_duration_since(before).as_secs_f64() - d as f64 / rate;
    let ring_time = ring_frames as f64 / rate;
    let lost = if unseen > ring_time / 2.0 { ((unseen - ring_time / 2.0) / ring_time).ceil() as u64 } else { 0 };
    (d + lost * ring_frames as u64, lost)
}

/// Where a device's position was at the last look, and when.
struct Tracker {
    last_pos: usize,
    last_look: Option<Instant>,
    /// [`PcmStream::free_running`].
    free_running: bool,
}

impl Tracker {
    fn new(dev: &dyn PcmStream) -> Tracker {
        Tracker { last_pos: 0, last_look: None, free_running: dev.free_running() }
    }
}

/// The playback side's state and buffers.
struct Player {
    cfg: PcmConfig,
    /// Master gain (0 when muted), read from the engine's control each period.
    master: f32,
    mix: MixBuffer,
    out: Vec<u8>,
    written: u64,
    consumed: u64,
    tracker: Tracker,
    periods: u64,
    lost_rings: u64,
}

impl Player {
    fn new(dev: &dyn PcmStream) -> Player {
        let cfg = dev.config();
        Player {
            cfg,
            master: 1.0,
            mix: MixBuffer::new(cfg.period_frames, usize::from(cfg.channels)),
            out: vec![0u8; cfg.period_frames * cfg.frame_bytes()],
            written: cfg.buffer_frames() as u64,
            consumed: 0,
            tracker: Tracker::new(dev),
            periods: 0,
            lost_rings: 0,
        }
    }

    /// After the device restarts at ring position `pos` with silence in its
    /// whole ring: count on from there, a ring rendered ahead.
    fn resync(&mut self, pos: usize) {
        let ring_frames = self.cfg.buffer_frames();
        self.consumed = count_at(self.consumed, pos, ring_frames);
        self.written = self.consumed + ring_frames as u64;
        self.tracker = Tracker { last_pos: pos % ring_frames, last_look: None, ..self.tracker };
    }

    /// Render every period the device has freed.
    fn service(&mut self, dev: &mut dyn PcmStream, slots: &mut [Box<Slot>]) -> outboard_hal::Result<()> {
        let ring_frames = self.cfg.buffer_frames();
        let period = self.cfg.period_frames as u64;
        let (moved, lost) = advance(dev.position()?, &mut self.tracker, &self.cfg, Instant::now());
        self.consumed += moved;
        self.lost_rings += lost;
        if self.written < self.consumed {
            // The device played past everything rendered (a lost ring):
            // render from where it is, not into the ring's past.
            self.written = self.consumed.div_ceil(period) * period;
        }
        for s in slots.iter_mut() {
            s.check_drained(self.consumed);
        }
        let frames = self.cfg.period_frames;
        while self.written + period <= self.consumed + ring_frames as u64 {
            let mut playing = [false; MAX_CLIENTS];
            for (k, s) in slots.iter_mut().enumerate() {
                playing[k] = s.pull(frames, self.written).is_some();
            }
            let monitored = slots.iter().any(|s| matches!(s.ends, Ends::Capture { source: Source::Monitor, .. }));
            let integer = matches!(self.cfg.format, SampleFormat::S32Le | SampleFormat::S16Le)
                && self.master == 1.0
                && !monitored
                && slots.iter().zip(&playing).all(|(s, &p)| !p || s.integer_eligible(self.cfg.channels));
            if integer {
                // Every client is 16-bit at unity gain in the device's layout:
                // sum them exactly in one pass, no float round trip.
                let mut refs: [&[u8]; MAX_CLIENTS] = [&[]; MAX_CLIENTS];
                let mut n = 0;
                for (s, _) in slots.iter().zip(&playing).filter(|(_, &p)| p) {
                    refs[n] = s.raw(frames);
                    n += 1;
                }
                if n == 0 {
                    self.out.fill(0);
                } else if self.cfg.format == SampleFormat::S16Le {
                    crate::mix::mix_s16le_into_s16le(&refs[..n], &mut self.out);
                } else {
                    crate::mix::mix_s16le_into_s32le(&refs[..n], &mut self.out);
                }
            } else {
                self.mix.clear();
                for (s, _) in slots.iter_mut().zip(&playing).filter(|(_, &p)| p) {
                    s.add_float(&mut self.mix, frames);
                }
                for s in slots.iter_mut() {
                    let format = s.shared.params.format;
                    s.feed(Source::Monitor, self.mix.samples(), format);
                }
                self.mix.write(self.cfg.format, self.master, &mut self.out);
            }
            dev.write_frames((self.written % ring_frames as u64) as usize, &self.out)?;
            self.written += period;
            self.periods += 1;
        }
        Ok(())
    }
}

/// Whether any client records from the capture device (not the monitor).
fn records_from_device(slots: &[Box<Slot>]) -> bool {
    slots.iter().any(|s| matches!(s.ends, Ends::Capture { source: Source::Device, .. }))
}

/// The capture side's state and buffers.
struct Reader {
    cfg: PcmConfig,
    bytes: Vec<u8>,
    samples: Vec<f32>,
    read: u64,
    captured: u64,
    tracker: Tracker,
    periods: u64,
    lost_rings: u64,
    /// The capture device is stopped because nobody records (only beside a
    /// playback device, which then paces the engine alone).
    stopped: bool,
}

impl Reader {
    fn new(dev: &dyn PcmStream) -> Reader {
        let cfg = dev.config();
        Reader {
            cfg,
            bytes: vec![0u8; cfg.period_frames * cfg.frame_bytes()],
            samples: vec![0.0; cfg.period_frames * usize::from(cfg.channels)],
            read: 0,
            captured: 0,
            tracker: Tracker::new(dev),
            periods: 0,
            lost_rings: 0,
            stopped: false,
        }
    }

    /// Stop the capture device while no client records from it and start
    /// it again when one does, as the kernel runs a capture stream's DMA
    /// only while it is open: beside a playback device (which paces the
    /// engine) an unread capture ring costs its interrupts and DMA for
    /// nothing.
    fn follow_recorders(&mut self, dev: &mut dyn PcmStream, slots: &[Box<Slot>]) -> outboard_hal::Result<()> {
        let wanted = records_from_device(slots);
        if wanted != self.stopped {
            return Ok(());
        }
        if wanted {
            self.resync(dev.position()?);
            dev.start()?;
            log::debug!("engine: a client records; capture device started");
        } else {
            dev.stop()?;
            log::debug!("engine: nobody records; capture device stopped");
        }
        self.stopped = !wanted;
        Ok(())
    }

    /// After the device restarts at ring position `pos`: read on from there.
    fn resync(&mut self, pos: usize) {
        let ring_frames = self.cfg.buffer_frames();
        self.captured = count_at(self.captured, pos, ring_frames);
        self.read = self.captured;
        self.tracker = Tracker { last_pos: pos % ring_frames, last_look: None, ..self.tracker };
    }

    /// Fan every period the device has filled out to the capture clients.
    fn service(&mut self, dev: &mut dyn PcmStream, slots: &mut [Box<Slot>]) -> outboard_hal::Result<()> {
        let ring_frames = self.cfg.buffer_frames();
        let period = self.cfg.period_frames as u64;
        let (moved, lost) = advance(dev.position()?, &mut self.tracker, &self.cfg, Instant::now());
        self.captured += moved;
        self.lost_rings += lost;
        let oldest = self.captured.saturating_sub(ring_frames as u64);
        if self.read < oldest {
            // The device has written over frames not read yet: they are
            // gone. Every capture client overran; read on from the oldest
            // whole period the device is not writing.
            // The period at the oldest frame is the one being written now.
            self.read = (oldest / period + 1) * period;
            for s in slots.iter_mut() {
                s.overrun(Source::Device);
            }
        }
        if !records_from_device(slots) {
            // Nobody records: the periods go by unread (no copy, no decode).
            let whole = (self.captured - self.read) / period;
            self.read += whole * period;
            self.periods += whole;
            return Ok(());
        }
        while self.read + period <= self.captured {
            dev.read_frames((self.read % ring_frames as u64) as usize, &mut self.bytes)?;
            decode(self.cfg.format, &self.bytes, &mut self.samples);
            for s in slots.iter_mut() {
                let format = s.shared.params.format;
                s.feed(Source::Device, &self.samples, format);
            }
            self.read += period;
            self.periods += 1;
        }
        Ok(())
    }
}
