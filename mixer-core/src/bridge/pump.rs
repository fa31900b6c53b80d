//! The bridge's data path without its thread or its clock: [`Pump::step`]
//! moves what the source has to the sink through a resampler, looks at the
//! level between the two devices and steers the resampler from it. The
//! [`crate::bridge::Bridge`] thread calls it on the real clock; a
//! simulation can call it with simulated devices and time
//! (`mixer-core/tests/bridge_sim.rs`).
//!
//! The level it steers is everything between the two devices' clocks:
//! frames waiting at the source, made and not yet taken by the sink, and
//! queued at the sink. That sum does not move when the pump's own thread
//! stalls (frames only wait on the other side of it), so the pump's
//! stalls, the commonest kind, cannot disturb the measurement at all.
//! Nothing is dropped in normal running: when the sink is full the pump
//! keeps what it made and reads no more until the sink takes it.
//!
//! One thing no controller can undo is an xrun: a stall longer than the
//! queue (the whole machine paused for longer than the target) makes the
//! sink play silence, and the level is then that much too high for good;
//! the loop would take a minute to drain it within its limit. When
//! [`Pump::RESYNC_READINGS`] readings in a row find the level off by more
//! than half the target, the pump puts it right at once: it discards the
//! surplus from the source as it arrives, or queues silence for a
//! shortfall, counts it, and restarts its measurement.

use crate::drift::{Disturbance, DriftTracker, LevelMeter, Reading};
use crate::resample::{ResampleError, Resampler, MAX_ADJUST_PPM};

/// Where a pump takes frames from (a capture stream).
pub trait Source {
    /// Frames waiting to be read now.
    fn waiting(&self) -> usize;
    /// Frames the source's device has delivered in all (read or waiting).
    fn produced(&self) -> u64;
    /// Reads up to `out.len() / channels` interleaved f32 frames; returns
    /// the frames read.
    fn read(&mut self, out: &mut [f32]) -> usize;
}

/// Where a pump puts frames (a playback stream).
pub trait Sink {
    /// Frames written and not yet taken by the sink's device.
    fn queued(&self) -> usize;
    /// Frames the sink's device has taken in all.
    fn consumed(&self) -> u64;
    /// Writes as many of the interleaved f32 `frames` as fit; returns the
    /// frames written.
    fn write(&mut self, frames: &[f32]) -> usize;
}

/// What a pump has done so far, in frames and windows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PumpCounts {
    /// Frames read from the source.
    pub read: u64,
    /// Frames the resampler made of them.
    pub made: u64,
    /// Of those, frames the sink took (the rest are pending).
    pub written: u64,
    /// Silence written ahead of the first frame.
    pub prefill: u64,
    /// Measurement windows that gave a level (one controller update each).
    pub readings: u64,
    /// Measurement windows a stall disturbed (no update).
    pub disturbed: u64,
    /// Updates after which the adjustment was clamped at its limit.
    pub saturated: u64,
    /// Times the level was put right at once (see the module doc).
    pub resyncs: u64,
    /// Source frames discarded by resyncs.
    pub dropped: u64,
    /// Frames of silence queued by resyncs.
    pub inserted: u64,
}

/// A source-to-sink pump with adaptive resampling; see the module doc.
pub struct Pump {
    ch: usize,
    rs: Resampler,
    meter: LevelMeter,
    tracker: DriftTracker,
    input: Vec<f32>,
    output: Vec<f32>,
    /// Made and not yet written: `output[out_at..out_end]` (frames).
    out_at: usize,
    out_end: usize,
    level: usize,
    last_disturbance: Option<Disturbance>,
    /// Readings in a row that found the level more than half the target off.
    far: u32,
    /// Source frames still to discard for a resync.
    discard: usize,
    counts: PumpCounts,
}

impl Pump {
    /// Frames read from the source at a time.
    pub const CHUNK: usize = 256;
    /// Chunks moved in one step at most, so that the level is looked at
    /// often even when a backlog drains.
    const CHUNKS_PER_STEP: usize = 16;
    /// Readings in a row (of 100 ms) off by more than half the target
    /// before a resync.
    pub const RESYNC_READINGS: u32 = 3;

    /// A pump between devices of `rate` Hz with `channels` interleaved
    /// channels, holding `target_frames` between them and adjusting the
    /// ratio by at most `max_ppm` (at most [`MAX_ADJUST_PPM`]).
    pub fn new(rate: u32, channels: usize, target_frames: usize, max_ppm: f64) -> Result<Pump, ResampleError> {
        let mut rs = Resampler::new(rate, rate, channels)?;
        // Filtering from the start, so the delay does not change at the
        // first adjustment.
        rs.set_ratio_adjust(1e-3)?;
        let max_ppm = if max_ppm.is_finite() { max_ppm.abs().min(MAX_ADJUST_PPM) } else { 0.0 };
        // Room for what a chunk makes at any ratio, plus the filter's backlog.
        let out_frames = 2 * Self::CHUNK + 2 * rs.taps() + 16;
        Ok(Pump {
            ch: channels,
            rs,
            meter: LevelMeter::new(rate, LevelMeter::WINDOW, LevelMeter::STALL),
            tracker: DriftTracker::new(target_frames, rate, max_ppm),
            input: vec![0.0; Self::CHUNK * channels],
            output: vec![0.0; out_frames * channels],
            out_at: 0,
            out_end: 0,
            level: 0,
            last_disturbance: None,
            far: 0,
            discard: 0,
            counts: PumpCounts::default(),
        })
    }

    /// Queues silence at the sink, so that it starts with the target's
    /// margin counting what already waits at the source; returns the frames
    /// written. Call it once the source has started delivering: the sink
    /// starts consuming at once, and a source that starts later leaves the
    /// level short by the difference.
    pub fn prefill(&mut self, source: &impl Source, sink: &mut impl Sink) -> usize {
        let target = (self.tracker.target() as usize).saturating_sub(source.waiting());
        self.input.fill(0.0);
        let mut done = 0;
        while done < target {
            let n = (target - done).min(Self::CHUNK);
            let w = sink.write(&self.input[..n * self.ch]).min(n);
            if w == 0 {
                break;
            }
            done += w;
        }
        self.counts.prefill += done as u64;
        done
    }

    /// Moves what the source has (as much as the sink takes), then looks at
    /// the level at time `now_s` (seconds, monotonic, any origin) and, at
    /// the end of a measurement window, adjusts the ratio. Returns the
    /// frames read from the source.
    pub fn step(&mut self, now_s: f64, source: &mut impl Source, sink: &mut impl Sink) -> usize {
        let ch = self.ch;
        let mut moved = 0;
        if self.discard > 0 {
            while self.discard > 0 {
                let want = source.waiting().min(Self::CHUNK).min(self.discard);
                let got = if want == 0 { 0 } else { source.read(&mut self.input[..want * ch]).min(want) };
                if got == 0 {
                    break;
                }
                self.discard -= got;
                self.counts.dropped += got as u64;
                moved += got;
            }
            if self.discard > 0 {
                return moved;
            }
            self.meter.reset();
            self.tracker.restart();
        }
        let mut chunks = 0;
        loop {
            if self.out_at < self.out_end {
                let n = sink.write(&self.output[self.out_at * ch..self.out_end * ch]).min(self.out_end - self.out_at);
                self.out_at += n;
                self.counts.written += n as u64;
            }
            if self.out_at < self.out_end || chunks == Self::CHUNKS_PER_STEP {
                break;
            }
            let want = source.waiting().min(Self::CHUNK);
            let got = if want == 0 { 0 } else { source.read(&mut self.input[..want * ch]).min(want) };
            if got == 0 {
                break;
            }
            let (mut fed, mut made) = (0, 0);
            while fed < got {
                let (used, m) = self.rs.process(&self.input[fed * ch..got * ch], &mut self.output[made * ch..]);
                fed += used;
                made += m;
                if used == 0 && m == 0 {
                    break;
                }
            }
            if fed < got {
                // Cannot happen: the output has room for what a chunk makes.
                log::error!("bridge: the resampler left {} of {got} frames; they are lost", got - fed);
            }
            self.counts.read += got as u64;
            self.counts.made += made as u64;
            (self.out_at, self.out_end) = (0, made);
            moved += got;
            chunks += 1;
        }
        self.level = source.waiting() + self.pending() + sink.queued();
        match self.meter.sample(now_s, self.level, source.produced(), sink.consumed()) {
            Reading::Level { level, interval_s } => {
                if self.resync(level, sink) {
                    return moved;
                }
                let ppm = self.tracker.update(level, interval_s);
                self.counts.readings += 1;
                if self.tracker.saturated() {
                    self.counts.saturated += 1;
                }
                if let Err(e) = self.rs.set_ratio_adjust(ppm) {
                    log::error!("bridge: {e}");
                }
            }
            Reading::Disturbed(d) => {
                self.counts.disturbed += 1;
                self.last_disturbance = Some(d);
                log::debug!("bridge: measurement window disturbed ({d:?}); holding {:.0} ppm", self.tracker.ppm());
            }
            Reading::Pending => {}
        }
        moved
    }

    /// A reading off by more than half the target is not the controller's
    /// to act on (it is an xrun's surplus or shortfall, and would only
    /// drive it to its limit); after [`Pump::RESYNC_READINGS`] of them in a
    /// row, put the level right: discard the surplus from the source, or
    /// queue silence at the sink. Returns whether the reading is held back
    /// from the controller.
    fn resync(&mut self, level: f64, sink: &mut impl Sink) -> bool {
        let target = self.tracker.target();
        let off = level - target;
        if off.abs() <= target / 2.0 {
            self.far = 0;
            return false;
        }
        self.far += 1;
        if self.far < Self::RESYNC_READINGS {
            return true;
        }
        self.far = 0;
        self.counts.resyncs += 1;
        let n = off.abs().round() as usize;
        if off > 0.0 {
            log::warn!("bridge: the level is {level:.0} frames, target {target:.0}: discarding {n} frames");
            self.discard = n;
        } else {
            log::warn!("bridge: the level is {level:.0} frames, target {target:.0}: queueing {n} frames of silence");
            self.input.fill(0.0);
            let mut done = 0;
            while done < n {
                let k = (n - done).min(Self::CHUNK);
                let w = sink.write(&self.input[..k * self.ch]).min(k);
                if w == 0 {
                    break;
                }
                done += w;
            }
            self.counts.inserted += done as u64;
            self.meter.reset();
            self.tracker.restart();
        }
        true
    }

    /// Frames made and not yet taken by the sink.
    pub fn pending(&self) -> usize {
        self.out_end - self.out_at
    }

    /// The level at the last look: frames waiting at the source, pending,
    /// and queued at the sink.
    pub fn level(&self) -> usize {
        self.level
    }

    /// The level the pump holds.
    pub fn target(&self) -> usize {
        self.tracker.target() as usize
    }

    /// The ratio adjustment in force, in ppm.
    pub fn ppm(&self) -> f64 {
        self.tracker.ppm()
    }

    /// The clocks' difference as the controller has learned it (its
    /// integral term), in ppm.
    pub fn offset_ppm(&self) -> f64 {
        self.tracker.offset_ppm()
    }

    /// The largest adjustment either way, in ppm.
    pub fn max_ppm(&self) -> f64 {
        self.tracker.max_ppm()
    }

    /// Whether the last update's adjustment was clamped at its limit.
    pub fn saturated(&self) -> bool {
        self.tracker.saturated()
    }

    /// Why the last disturbed window gave no reading.
    pub fn last_disturbance(&self) -> Option<Disturbance> {
        self.last_disturbance
    }

    /// What the pump has done so far.
    pub fn counts(&self) -> PumpCounts {
        self.counts
    }
}
