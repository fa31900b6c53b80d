//! Following the drift between two clocks: when a capture device feeds a
//! playback device (or a client's clock feeds the device's), their rates
//! differ by a few hundred ppm, and a fixed resampling ratio under- or
//! over-runs the queue between them sooner or later.
//!
//! Two parts, each usable alone:
//!
//! - [`LevelMeter`] turns looks at the queue, taken whenever the caller gets
//!   to run (at any phase of either device's period, sometimes late), into
//!   one clean level per window (100 ms): the time-weighted mean, which
//!   averages out the period sawtooth. A window in which the caller looked
//!   late, or either device fell behind or ran ahead of the wall clock (a
//!   stall, or the burst that catches up after one), gives no reading at all.
//! - [`DriftTracker`] is a PI controller from that level to a ratio
//!   adjustment in ppm for [`crate::resample::Resampler::set_ratio_adjust`].
//!   The integral term learns the clocks' steady difference; the
//!   proportional term corrects what is left. It cannot wind up: it does
//!   not integrate while its output is clamped and the error pushes further
//!   out, and no single reading can move it by more than the error that
//!   alone saturates the output.
//!
//! The loop model and the tuning are written up in `docs/mixer.md` ("Drift").

mod meter;

pub use meter::{Disturbance, LevelMeter, Reading};

/// The closed loop's natural frequency, rad/s: a time constant of 5 s, so
/// that the loop is deaf to anything at the period rate (hundreds of rad/s)
/// and to the 100 ms measurement window, and still learns a clock
/// difference within seconds.
pub const OMEGA: f64 = 0.2;

/// The closed loop's damping: critical (no ringing of the closed-loop poles).
pub const ZETA: f64 = 1.0;

/// The longest interval one update integrates over, in seconds: a reading
/// that comes late (the caller stalled) does not count as a long one.
pub const MAX_INTERVAL_S: f64 = 0.2;

/// The time constant of the low-pass on the readings, in seconds: what is
/// left of the period sawtooth in a 100 ms mean (a few frames) is divided
/// by 2.6 before it reaches the proportional term, at a phase cost of 3.4°
/// at [`OMEGA`].
pub const FILTER_S: f64 = 0.3;

/// How fast the set point approaches the target after the first reading,
/// as the adjustment that moving the level at that speed takes, in ppm.
/// The first reading may be off by up to a period of either device (where
/// the two devices' periods happen to fall); the loop starts from there
/// instead of kicking the ratio to its limit.
pub const RAMP_PPM: f64 = 250.0;

/// A PI controller from queue level to resampling ratio adjustment, with
/// conditional integration against windup.
#[derive(Clone, Debug)]
pub struct DriftTracker {
    target: f64,
    max_ppm: f64,
    /// ppm per frame of error.
    kp: f64,
    /// ppm per frame of error per second.
    ki: f64,
    /// The largest error one reading may contribute, in frames: the error at
    /// which the proportional term alone reaches `max_ppm`.
    max_error: f64,
    /// The filtered error, frames; `None` before the first reading.
    error: Option<f64>,
    /// The level the loop holds now: from the first reading toward `target`.
    setpoint: f64,
    /// The set point's speed, frames per second.
    slew: f64,
    /// The integral term, in ppm.
    offset: f64,
    ppm: f64,
    saturated: bool,
}

impl DriftTracker {
    /// Keep a queue drained at `rate` frames per second near
    /// `target_frames`, adjusting by at most `max_ppm` either way.
    ///
    /// The plant: an adjustment of `u` ppm moves the level by
    /// `g·u` frames per second, `g = rate · 1e-6`; with proportional gain
    /// `kp` and integral gain `ki` the closed loop is
    /// `s² + g·kp·s + g·ki`, so `kp = 2·ζ·ω/g` and `ki = ω²/g` place its
    /// poles at natural frequency [`OMEGA`] with damping [`ZETA`].
    pub fn new(target_frames: usize, rate: u32, max_ppm: f64) -> DriftTracker {
        let g = f64::from(rate.max(1)) * 1e-6;
        let max_ppm = if max_ppm.is_finite() { max_ppm.abs() } else { 0.0 };
        let kp = 2.0 * ZETA * OMEGA / g;
        DriftTracker {
            target: target_frames as f64,
            max_ppm,
            kp,
            ki: OMEGA * OMEGA / g,
            max_error: max_ppm / kp,
            error: None,
            setpoint: target_frames as f64,
            slew: g * RAMP_PPM,
            offset: 0.0,
            ppm: 0.0,
            saturated: false,
        }
    }

    /// The adjustment now in force, in ppm (positive: produce more).
    pub fn ppm(&self) -> f64 {
        self.ppm
    }

    /// The integral term alone, in ppm: what the loop has learned of the two
    /// clocks' difference (the negative of how much faster the producer's
    /// clock runs).
    pub fn offset_ppm(&self) -> f64 {
        self.offset
    }

    /// Whether the last update's output was clamped at `±max_ppm`.
    pub fn saturated(&self) -> bool {
        self.saturated
    }

    /// The level the loop holds, in frames.
    pub fn target(&self) -> f64 {
        self.target
    }

    /// The largest adjustment either way, in ppm.
    pub fn max_ppm(&self) -> f64 {
        self.max_ppm
    }

    /// Forget the filtered error (after the level was put right by other
    /// means: a resync): the next reading counts alone. What the loop has
    /// learned of the clocks, and its set point, stay.
    pub fn restart(&mut self) {
        if self.error.is_some() {
            self.error = Some(0.0);
        }
    }

    /// Feed the queue's level in frames, as it was on average over the
    /// last `interval_s` seconds (a [`Reading::Level`]); returns the new
    /// adjustment in ppm. A level or interval that is not finite changes
    /// nothing.
    pub fn update(&mut self, level: f64, interval_s: f64) -> f64 {
        if !level.is_finite() || !interval_s.is_finite() {
            return self.ppm;
        }
        let dt = interval_s.clamp(0.0, MAX_INTERVAL_S);
        if self.error.is_none() {
            self.setpoint = level;
        }
        self.setpoint += (self.target - self.setpoint).clamp(-self.slew * dt, self.slew * dt);
        // Positive when the queue is too full: produce less. Limited first,
        // so that one wild reading cannot dominate the filter.
        let raw = (level - self.setpoint).clamp(-self.max_error, self.max_error);
        let error = match self.error {
            None => raw,
            Some(prev) => prev + (raw - prev) * dt / (FILTER_S + dt),
        };
        self.error = Some(error);
        let p = -self.kp * error;
        let di = -self.ki * error * dt;
        // Conditional integration: not while the output is clamped and the
        // error would push it further out.
        let unclamped = self.offset + di + p;
        let winding = (unclamped > self.max_ppm && di > 0.0) || (unclamped < -self.max_ppm && di < 0.0);
        if !winding {
            self.offset = (self.offset + di).clamp(-self.max_ppm, self.max_ppm);
        }
        let u = self.offset + p;
        self.saturated = u.abs() >= self.max_ppm;
        self.ppm = u.clamp(-self.max_ppm, self.max_ppm);
        self.ppm
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resample::Resampler;

    /// Two clocks `drift_ppm` apart, simulated for `seconds`: the capture
    /// side makes frames at 16 kHz * (1 + drift), the playback side takes
    /// them at 16 kHz, a resampler steered by the tracker sits between, and
    /// the level is read once per 10 ms at the same phase. Returns the
    /// queue's lowest and highest fill after the first 30 s, and the ppm
    /// the tracker settled on.
    fn simulate(drift_ppm: f64, seconds: usize) -> (usize, usize, f64) {
        let rate = 16_000.0;
        let target = 1600; // 100 ms
        let mut tracker = DriftTracker::new(target, 16_000, 3000.0);
        let mut rs = Resampler::new(16_000, 16_000, 1).unwrap();
        rs.set_ratio_adjust(1.0).unwrap(); // the drift-capable path from the start
        let mut queue: usize = target;
        let (mut owed_in, mut owed_out) = (0.0f64, 0.0f64);
        let mut input = vec![0.0f32; 64];
        let mut output = vec![0.0f32; 128];
        let (mut lo, mut hi) = (usize::MAX, 0);
        let mut phase = 0.0f64;
        for tick in 0..seconds * 100 {
            owed_in += rate * (1.0 + drift_ppm * 1e-6) / 100.0;
            while owed_in >= 1.0 {
                let n = (owed_in as usize).min(input.len());
                for x in input[..n].iter_mut() {
                    phase += 2.0 * std::f64::consts::PI * 440.0 / rate;
                    *x = phase.sin() as f32;
                }
                let mut fed = 0;
                while fed < n {
                    let (used, made) = rs.process(&input[fed..n], &mut output);
                    fed += used;
                    queue += made;
                }
                owed_in -= n as f64;
            }
            owed_out += rate / 100.0;
            let take = owed_out as usize;
            owed_out -= take as f64;
            assert!(queue >= take, "underrun at {} s (drift {drift_ppm} ppm)", tick / 100);
            queue -= take;
            let ppm = tracker.update(queue as f64, 0.01);
            assert!(!tracker.saturated(), "drift {drift_ppm} ppm: saturated at {} s", tick / 100);
            rs.set_ratio_adjust(ppm).unwrap();
            if tick >= 3000 {
                lo = lo.min(queue);
                hi = hi.max(queue);
            }
        }
        (lo, hi, tracker.ppm())
    }

    #[test]
    fn the_queue_stays_put_however_the_clocks_drift() {
        for (drift, seconds) in [(500.0, 600), (-500.0, 120), (2000.0, 120), (-2000.0, 120), (0.0, 60)] {
            let (lo, hi, ppm) = simulate(drift, seconds);
            assert!(lo > 1550 && hi < 1650, "drift {drift} ppm: the queue wandered to {lo}..{hi} frames (target 1600)");
            // Producing more input means the ratio must come down by about as much.
            assert!((ppm + drift).abs() < 20.0, "drift {drift} ppm: settled at {ppm:.1} ppm");
        }
    }

    #[test]
    fn adjustments_are_bounded() {
        let mut t = DriftTracker::new(1000, 48_000, 300.0);
        t.update(1000.0, 0.01);
        for _ in 0..10_000 {
            t.update(100_000.0, 0.01);
        }
        assert_eq!(t.ppm(), -300.0);
        assert!(t.saturated());
        for _ in 0..10_000 {
            t.update(0.0, 0.01);
        }
        assert_eq!(t.ppm(), 300.0);
        // Nonsense changes nothing.
        assert_eq!(t.update(f64::NAN, 0.01), 300.0);
        assert_eq!(t.update(1000.0, f64::INFINITY), 300.0);
    }

    /// Pinned against saturation for a minute, the old controller's integral
    /// ran to its limit and held the output there for as long again; this
    /// one lets go as soon as the error does.
    #[test]
    fn a_long_saturation_does_not_wind_up() {
        let mut t = DriftTracker::new(2400, 48_000, 3000.0);
        t.update(2400.0, 0.1);
        for _ in 0..600 {
            t.update(12_000.0, 0.1); // a minute at 9600 frames too many
        }
        assert_eq!(t.ppm(), -3000.0);
        // It took in what came before the output reached the limit, and no more.
        assert!(t.offset_ppm().abs() < 300.0, "the integral wound up to {:.0} ppm", t.offset_ppm());
        // Back at target, the output follows the filtered error down within
        // a second and a half, not a minute.
        let ppm: Vec<f64> = (0..15).map(|_| t.update(2400.0, 0.1)).collect();
        assert!(ppm[1] > -3000.0 && ppm[14].abs() < 400.0, "back at target the output is still {:.0?} ppm", ppm);
        assert!(!t.saturated());
    }

    /// A first reading off the target by a period's sawtooth starts the
    /// loop from there: no kick to the limit.
    #[test]
    fn the_first_reading_is_where_the_loop_starts() {
        // The plant: the level moves by rate * 1e-6 frames per second per ppm.
        let mut t = DriftTracker::new(4800, 48_000, 3000.0);
        let (mut level, mut most) = (5400.0, 0.0f64);
        for _ in 0..900 {
            let ppm = t.update(level, 0.1);
            most = most.max(ppm.abs());
            level += 0.048 * ppm * 0.1;
        }
        assert!(most <= RAMP_PPM * 1.2, "the start kicked the ratio to {most:.0} ppm");
        // ...and gets to the target at the ramp's pace: 600 frames at 250
        // ppm (12 frames/s) in 50 s.
        assert!((level - 4800.0).abs() < 10.0, "after 90 s the level is {level:.0}");
    }

    /// One wild reading (a stall the meter did not catch) moves the
    /// integral by at most what the largest counted error gives.
    #[test]
    fn one_wild_reading_is_limited() {
        let mut t = DriftTracker::new(2400, 48_000, 3000.0);
        t.update(2400.0, 0.1);
        t.update(2400.0 + 1e9, MAX_INTERVAL_S * 100.0);
        let bound = t.ki * (3000.0 / t.kp) * MAX_INTERVAL_S;
        assert!(t.offset_ppm().abs() <= bound + 1e-9, "{} > {bound}", t.offset_ppm());
        assert!(bound < 100.0, "a wild reading may still move the integral {bound:.0} ppm");
    }
}
