//! A bridge from one engine's capture to another engine's playback (a line
//! input monitored on another card, a USB microphone to the speakers): the
//! two devices' clocks drift, so the bridge resamples with a ratio that a
//! [`DriftTracker`] steers from the playback queue's fill.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::drift::DriftTracker;
use crate::format::SampleFormat;
use crate::resample::Resampler;
use crate::stream::{Capture, Playback, StreamError};

/// What a running bridge reports.
#[derive(Debug, Default)]
pub struct BridgeStats {
    /// Frames moved so far.
    pub frames: AtomicU64,
    /// The adjustment in force, in ppm (as f64 bits).
    pub ppm_bits: AtomicU64,
    /// The playback queue's fill at the last look, in frames.
    pub fill: AtomicU64,
}

impl BridgeStats {
    pub fn ppm(&self) -> f64 {
        f64::from_bits(self.ppm_bits.load(Ordering::Relaxed))
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
    /// channels), keeping the playback queue near `target_frames`.
    pub fn start(mut capture: Capture, mut playback: Playback, target_frames: usize) -> Result<Bridge, StreamError> {
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
        let mut rs = Resampler::new(cp.rate, pp.rate, ch).map_err(|e| StreamError::Invalid(e.to_string()))?;
        rs.set_ratio_adjust(1e-3).map_err(|e| StreamError::Invalid(e.to_string()))?; // the drift-capable path from the start
        let mut tracker = DriftTracker::new(target_frames, pp.rate, 8000.0);
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(BridgeStats::default());
        let (stop2, stats2) = (stop.clone(), stats.clone());
        let thread = std::thread::Builder::new()
            .name("outboard-bridge".into())
            .spawn(move || {
                let chunk = 256;
                let mut raw = vec![0u8; chunk * ch * 4];
                let mut input = vec![0.0f32; chunk * ch];
                let mut output = vec![0.0f32; (chunk * 2 + 16) * ch];
                let mut out_bytes = vec![0u8; output.len() * 4];
                let mut last = Instant::now();
                capture.start();
                // Prefill to the target so playback starts with its margin.
                let silence = vec![0u8; target_frames * ch * 4];
                let _ = playback.write(&silence);
                while !stop2.load(Ordering::Acquire) {
                    let n = capture.read(&mut raw).unwrap_or(0);
                    if n == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    for (x, b) in input[..n * ch].iter_mut().zip(raw.chunks_exact(4)) {
                        *x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    }
                    let mut fed = 0;
                    while fed < n {
                        let (used, made) = rs.process(&input[fed * ch..n * ch], &mut output);
                        fed += used;
                        for (o, x) in out_bytes.chunks_exact_mut(4).zip(&output[..made * ch]) {
                            o.copy_from_slice(&x.to_le_bytes());
                        }
                        let _ = playback.write(&out_bytes[..made * ch * 4]);
                        stats2.frames.fetch_add(made as u64, Ordering::Relaxed);
                        if used == 0 && made == 0 {
                            break;
                        }
                    }
                    let now = Instant::now();
                    let dt = now.duration_since(last);
                    if dt >= Duration::from_millis(10) {
                        last = now;
                        let fill = playback.delay();
                        let ppm = tracker.update(fill, dt.as_secs_f64());
                        let _ = rs.set_ratio_adjust(ppm);
                        stats2.fill.store(fill as u64, Ordering::Relaxed);
                        stats2.ppm_bits.store(ppm.to_bits(), Ordering::Relaxed);
                    }
                }
                (capture, playback)
            })
            .map_err(|e| StreamError::Invalid(format!("cannot start the bridge thread: {e}")))?;
        Ok(Bridge { stop, stats, thread: Some(thread) })
    }

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
