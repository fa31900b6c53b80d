//! A bridge from one engine's capture to another engine's playback (a line
//! input monitored on another card, a USB microphone to the speakers): the
//! two devices' clocks drift, so the bridge resamples with a ratio that a
//! [`DriftTracker`](crate::drift::DriftTracker) steers from the level
//! between them. [`Pump`] is the data path and the loop; [`Bridge`] runs a
//! pump on its own thread between a [`Capture`] and a [`Playback`].

mod pump;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use pump::{Pump, PumpCounts, Sink, Source};

use crate::format::SampleFormat;
use crate::stream::{Capture, Playback, StreamError};

/// The largest ratio adjustment a bridge makes, in ppm. Real devices'
/// clocks differ by less than about 1000 ppm (a crystal is specified to
/// ±20..100 ppm, USB's frame clock to ±500); 3000 follows up to about
/// 2500 ppm (the tests' emulated devices are 2000 ppm apart) with room
/// left to correct the level.
pub const MAX_PPM: f64 = 3000.0;

/// How long the bridge waits for the capture's first frames before it
/// starts the playback anyway.
const START_TIMEOUT: Duration = Duration::from_secs(1);

/// What a running bridge reports.
#[derive(Debug, Default)]
pub struct BridgeStats {
    /// Frames moved to the playback stream so far.
    pub frames: AtomicU64,
    /// The adjustment in force, in ppm (as f64 bits).
    pub ppm_bits: AtomicU64,
    /// The frames between the two devices at the last look: waiting in the
    /// capture stream, made and not yet written, and queued for playback.
    pub fill: AtomicU64,
    /// Measurement windows that updated the controller.
    pub readings: AtomicU64,
    /// Measurement windows a stall disturbed (no update).
    pub disturbed: AtomicU64,
    /// Updates after which the adjustment was clamped at [`MAX_PPM`].
    pub saturated: AtomicU64,
    /// Times the level was put right at once after an xrun (frames
    /// discarded or silence queued: see [`Pump`]).
    pub resyncs: AtomicU64,
    /// The capture stream's overruns so far (the bridge read too late).
    pub capture_xruns: AtomicU64,
    /// The playback stream's underruns so far (the bridge wrote too late).
    pub playback_xruns: AtomicU64,
    /// What the loop has learned of the clocks' difference (its integral
    /// term), in ppm (as f64 bits): see [`Pump::offset_ppm`].
    pub offset_bits: AtomicU64,
    /// Whether the bridge thread got real-time scheduling.
    pub realtime: AtomicBool,
}

impl BridgeStats {
    /// The adjustment in force, in ppm.
    pub fn ppm(&self) -> f64 {
        f64::from_bits(self.ppm_bits.load(Ordering::Relaxed))
    }

    /// What the loop has learned of the clocks' difference, in ppm.
    pub fn offset_ppm(&self) -> f64 {
        f64::from_bits(self.offset_bits.load(Ordering::Relaxed))
    }

    fn publish(&self, pump: &Pump, source: &CaptureEnd, sink: &PlaybackEnd) {
        let c = pump.counts();
        self.offset_bits.store(pump.offset_ppm().to_bits(), Ordering::Relaxed);
        self.capture_xruns.store(source.capture.xruns(), Ordering::Relaxed);
        self.playback_xruns.store(sink.playback.xruns(), Ordering::Relaxed);
        self.frames.store(c.written, Ordering::Relaxed);
        self.ppm_bits.store(pump.ppm().to_bits(), Ordering::Relaxed);
        self.fill.store(pump.level() as u64, Ordering::Relaxed);
        self.readings.store(c.readings, Ordering::Relaxed);
        self.disturbed.store(c.disturbed, Ordering::Relaxed);
        self.saturated.store(c.saturated, Ordering::Relaxed);
        self.resyncs.store(c.resyncs, Ordering::Relaxed);
    }
}

/// A capture stream as a pump's source (F32LE).
struct CaptureEnd {
    capture: Capture,
    raw: Vec<u8>,
    ch: usize,
    failed: bool,
}

impl Source for CaptureEnd {
    fn waiting(&self) -> usize {
        self.capture.avail()
    }
    fn produced(&self) -> u64 {
        self.capture.appl_ptr() + self.capture.avail() as u64
    }
    fn read(&mut self, out: &mut [f32]) -> usize {
        let frames = (out.len() / self.ch).min(self.raw.len() / (4 * self.ch));
        let n = match self.capture.read(&mut self.raw[..frames * self.ch * 4]) {
            Ok(n) => n,
            Err(e) => {
                if !std::mem::replace(&mut self.failed, true) {
                    log::warn!("bridge: capture: {e}");
                }
                return 0;
            }
        };
        for (x, b) in out[..n * self.ch].iter_mut().zip(self.raw.chunks_exact(4)) {
            *x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        n
    }
}

/// A playback stream as a pump's sink (F32LE).
struct PlaybackEnd {
    playback: Playback,
    raw: Vec<u8>,
    ch: usize,
    failed: bool,
}

impl Sink for PlaybackEnd {
    fn queued(&self) -> usize {
        self.playback.delay()
    }
    fn consumed(&self) -> u64 {
        self.playback.hw_ptr()
    }
    fn write(&mut self, frames: &[f32]) -> usize {
        let n = (frames.len() / self.ch).min(self.raw.len() / (4 * self.ch));
        for (o, x) in self.raw.chunks_exact_mut(4).zip(&frames[..n * self.ch]) {
            o.copy_from_slice(&x.to_le_bytes());
        }
        match self.playback.write(&self.raw[..n * self.ch * 4]) {
            Ok(n) => n,
            Err(e) => {
                if !std::mem::replace(&mut self.failed, true) {
                    log::warn!("bridge: playback: {e}");
                }
                0
            }
        }
    }
}

/// A running bridge; stops (and hands back its streams) on [`Bridge::stop`].
pub struct Bridge {
    stop: Arc<AtomicBool>,
    stats: Arc<BridgeStats>,
    thread: Option<JoinHandle<(Capture, Playback)>>,
}

impl Bridge {
    /// Move audio from `capture` to `playback` (both F32LE, same rate and
    /// channels), keeping the frames between the two devices near
    /// `target_frames`. The target must cover the longest stall of the
    /// bridge's thread that is to pass without an underrun; the thread asks
    /// for real-time scheduling, as the engines do.
    pub fn start(capture: Capture, playback: Playback, target_frames: usize) -> Result<Bridge, StreamError> {
        let (cp, pp) = (capture.params(), playback.params());
        if cp.format != SampleFormat::F32Le
            || pp.format != SampleFormat::F32Le
            || cp.rate != pp.rate
            || cp.channels != pp.channels
        {
            return Err(StreamError::Invalid("a bridge joins F32LE streams of the same rate and channels".into()));
        }
        if target_frames * 2 > pp.buffer_frames {
            return Err(StreamError::Invalid(format!(
                "a target of {target_frames} frames needs a playback ring of at least twice that"
            )));
        }
        let ch = usize::from(cp.channels);
        let mut pump =
            Pump::new(cp.rate, ch, target_frames, MAX_PPM).map_err(|e| StreamError::Invalid(e.to_string()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(BridgeStats::default());
        let (stop2, stats2) = (stop.clone(), stats.clone());
        let raw_frames = 2 * Pump::CHUNK + 256;
        let mut source = CaptureEnd { capture, raw: vec![0; raw_frames * ch * 4], ch, failed: false };
        let mut sink = PlaybackEnd { playback, raw: vec![0; raw_frames * ch * 4], ch, failed: false };
        let thread = std::thread::Builder::new()
            .name("outboard-bridge".into())
            .spawn(move || {
                // The bridge is on the real-time path between two engines:
                // starved for longer than its target, playback underruns.
                stats2.realtime.store(crate::engine::request_realtime(), Ordering::Relaxed);
                let t0 = Instant::now();
                source.capture.start();
                // Start the playback when the capture has started delivering,
                // so that the two begin together.
                let deadline = t0 + START_TIMEOUT;
                while source.capture.avail() == 0 && Instant::now() < deadline && !stop2.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                if source.capture.avail() == 0 {
                    log::warn!("bridge: no capture after {START_TIMEOUT:?}; starting the playback anyway");
                }
                pump.prefill(&source, &mut sink);
                while !stop2.load(Ordering::Acquire) {
                    let moved = pump.step(t0.elapsed().as_secs_f64(), &mut source, &mut sink);
                    stats2.publish(&pump, &source, &sink);
                    if moved == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
                (source.capture, sink.playback)
            })
            .map_err(|e| StreamError::Invalid(format!("cannot start the bridge thread: {e}")))?;
        Ok(Bridge { stop, stats, thread: Some(thread) })
    }

    /// What the bridge has done so far.
    pub fn stats(&self) -> &BridgeStats {
        &self.stats
    }

    /// Stop; returns the streams.
    pub fn stop(mut self) -> Option<(Capture, Playback)> {
        self.stop.store(true, Ordering::Release);
        self.thread.take().and_then(|t| t.join().ok())
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
