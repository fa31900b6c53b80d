//! Following the drift between two clocks: when a capture device feeds a
//! playback device (or a client's clock feeds the device's), their rates
//! differ by a few hundred ppm, and a fixed resampling ratio under- or
//! over-runs the queue between them sooner or later.
//!
//! [`DriftTracker`] is a PI controller on that queue's fill level: it turns
//! "how full is the queue" into a ratio adjustment in ppm for
//! [`crate::resample::Resampler::set_ratio_adjust`], which keeps the fill
//! near its target indefinitely. The integral term learns the clocks'
//! steady offset; the proportional term corrects what is left.

/// A PI controller from queue fill to resampling ratio adjustment.
#[derive(Clone, Debug)]
pub struct DriftTracker {
    target: f64,
    max_ppm: f64,
    kp: f64,
    ki: f64,
    integral: f64,
    /// Smoothed fill, so that period-sized jitter does not reach the ratio.
    fill: Option<f64>,
    ppm: f64,
}

impl DriftTracker {
    /// Keep a queue drained at `rate` frames per second near
    /// `target_frames`, adjusting by at most `max_ppm`.
    ///
    /// The gains follow from the plant: one ppm moves the fill by
    /// `rate * 1e-6` frames per second, `g = rate * 1e-6 / target` in units of
    /// relative error. With natural frequency `w` (0.2 rad/s: a few seconds
    /// to settle, slow enough to ignore period jitter) the loop
    /// `s^2 + g*kp*s + g*ki` is critically damped for `kp = 2w/g`, `ki = w^2/g`.
    pub fn new(target_frames: usize, rate: u32, max_ppm: f64) -> DriftTracker {
        let target = target_frames.max(1) as f64;
        let g = f64::from(rate.max(1)) * 1e-6 / target;
        let w = 0.2;
        DriftTracker { target, max_ppm, kp: 2.0 * w / g, ki: w * w / g, integral: 0.0, fill: None, ppm: 0.0 }
    }

    /// The adjustment now in force.
    pub fn ppm(&self) -> f64 {
        self.ppm
    }

    /// Feed the queue's fill (in frames), measured every `interval_s`
    /// seconds; returns the new adjustment in ppm (positive: produce more).
    pub fn update(&mut self, fill_frames: usize, interval_s: f64) -> f64 {
        let f = fill_frames as f64;
        let smoothed = match self.fill {
            Some(prev) => prev + (f - prev) * 0.1,
            None => f,
        };
        self.fill = Some(smoothed);
        // Relative error: positive when the queue is too full, so produce less.
        let error = (smoothed - self.target) / self.target;
        self.integral = (self.integral + error * interval_s).clamp(-self.max_ppm / self.ki, self.max_ppm / self.ki);
        self.ppm = (-(self.kp * error + self.ki * self.integral)).clamp(-self.max_ppm, self.max_ppm);
        self.ppm
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resample::Resampler;

    /// Two clocks `drift_ppm` apart, simulated for `seconds` (ten minutes for
    /// the largest drift; the loop settles in seconds, so an hour only
    /// repeats the last of them): the capture side
    /// makes frames at 16 kHz * (1 + drift), the playback side takes them at
    /// 16 kHz, a resampler steered by the tracker sits between. Returns the
    /// queue's lowest and highest fill after the first 20 s, and the ppm the
    /// tracker settled on.
    fn simulate(drift_ppm: f64, seconds: usize) -> (usize, usize, f64) {
        let rate = 16_000.0;
        let target = 1600; // 100 ms
        let mut tracker = DriftTracker::new(target, 16_000, 2000.0);
        let mut rs = Resampler::new(16_000, 16_000, 1).unwrap();
        rs.set_ratio_adjust(1.0).unwrap(); // the drift-capable path from the start
        let mut queue: usize = target;
        let (mut owed_in, mut owed_out) = (0.0f64, 0.0f64);
        let mut input = vec![0.0f32; 64];
        let mut output = vec![0.0f32; 128];
        let (mut lo, mut hi) = (usize::MAX, 0);
        let mut phase = 0.0f64;
        for tick in 0..seconds * 100 {
            // 10 ms of capture, at the capture clock.
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
            // 10 ms of playback, at the playback clock.
            owed_out += rate / 100.0;
            let take = owed_out as usize;
            owed_out -= take as f64;
            assert!(queue >= take, "underrun at {} s (drift {drift_ppm} ppm)", tick / 100);
            queue -= take;
            let ppm = tracker.update(queue, 0.01);
            rs.set_ratio_adjust(ppm).unwrap();
            if tick >= 2000 {
                lo = lo.min(queue);
                hi = hi.max(queue);
            }
        }
        (lo, hi, tracker.ppm())
    }

    #[test]
    fn the_queue_stays_put_however_the_clocks_drift() {
        for (drift, seconds) in [(500.0, 600), (-500.0, 120), (100.0, 120), (0.0, 60)] {
            let (lo, hi, ppm) = simulate(drift, seconds);
            assert!(lo > 800 && hi < 2400, "drift {drift} ppm: the queue wandered to {lo}..{hi} frames (target 1600)");
            // Producing more input means the ratio must come down by about as much.
            assert!((ppm + drift).abs() < 50.0, "drift {drift} ppm: settled at {ppm:.1} ppm");
        }
    }

    #[test]
    fn adjustments_are_bounded() {
        let mut t = DriftTracker::new(1000, 48_000, 300.0);
        for _ in 0..10_000 {
            t.update(100_000, 0.01);
        }
        assert_eq!(t.ppm(), -300.0);
        for _ in 0..10_000 {
            t.update(0, 0.01);
        }
        assert_eq!(t.ppm(), 300.0);
    }
}
