//! The drift loop's measurement: one clean queue level per window, or none
//! when a stall disturbed the window.
//!
//! The level between two devices that move whole periods is a sawtooth: it
//! jumps up by a period when the producer delivers one and down when the
//! consumer takes one, and whoever looks at it sees a value anywhere in
//! that range depending on when it happens to run. Over a window of many
//! periods the time-weighted mean is the smooth level the loop wants.
//!
//! A stall is different: a device that stops for 100 ms and then catches up
//! moves the level by 100 ms of frames for a while and then puts it back,
//! and a caller that was itself stalled looked at nothing for that long.
//! Neither says anything about the clocks, so such a window gives no
//! reading. Each look also reads how far each device has moved in total,
//! and a window is disturbed when
//!
//! - a device's count has not moved for longer than one of its periods
//!   (its smallest step, as seen) plus the stall allowance: it is late;
//! - a device's count strays from the wall clock, since the window began,
//!   by more than a period plus the allowance (a burst with no gap before
//!   it, a clock that jumped);
//! - the caller itself looked late: more than a period plus the allowance
//!   after its previous look;
//! - a device has not been seen to move at all yet.

use std::time::Duration;

/// Why a window gave no reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disturbance {
    /// The caller looked late: more than the stall allowance passed
    /// between two of its looks (its thread did not get the CPU).
    Late,
    /// The producer fell behind the wall clock, or ran ahead of it (the
    /// burst after a stall).
    Producer,
    /// The consumer fell behind the wall clock, or ran ahead of it.
    Consumer,
    /// Time went backwards between two looks.
    Clock,
}

/// What a look at the queue gave.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reading {
    /// The window is not over yet.
    Pending,
    /// The window is over: the queue held `level` frames on average over
    /// its `interval_s` seconds.
    Level { level: f64, interval_s: f64 },
    /// The window is over, and gave no reading.
    Disturbed(Disturbance),
}

/// What the meter knows of one device's count.
#[derive(Clone, Copy, Debug)]
struct Pace {
    /// The count at the previous look.
    count: u64,
    /// The smallest step seen (the device's period, as it shows); 0: none yet.
    step: u64,
    /// When the count was last seen to move.
    moved_at: f64,
}

impl Pace {
    fn new(count: u64, t: f64) -> Pace {
        Pace { count, step: 0, moved_at: t }
    }

    /// A look at `count` at time `t`.
    fn look(&mut self, count: u64, t: f64) {
        if count > self.count {
            let d = count - self.count;
            self.step = if self.step == 0 { d } else { self.step.min(d) };
            self.moved_at = t;
        }
        self.count = count;
    }
}

/// The window in progress.
#[derive(Clone, Copy, Debug)]
struct Window {
    start: f64,
    produced: u64,
    consumed: u64,
    /// Σ level · time so far (zero-order hold between looks).
    area: f64,
    disturbed: Option<Disturbance>,
}

/// Turns looks at a queue into a level per window; see the module doc.
#[derive(Clone, Debug)]
pub struct LevelMeter {
    rate: f64,
    window_s: f64,
    stall_s: f64,
    current: Option<Window>,
    /// The previous look: time and level.
    last: (f64, f64),
    /// The producer's and the consumer's counts.
    pace: Option<[Pace; 2]>,
}

impl LevelMeter {
    /// The window the bridge uses: 20 periods of 5 ms, 5 of 20 ms.
    pub const WINDOW: Duration = Duration::from_millis(100);
    /// The stall allowance the bridge uses.
    pub const STALL: Duration = Duration::from_millis(10);

    /// A meter for devices of `rate` frames per second; a window lasts
    /// `window`; a device may stray from the wall clock by one of its
    /// periods plus `stall`, and the caller may look `stall` (plus a
    /// period) late, before the window counts as disturbed.
    pub fn new(rate: u32, window: Duration, stall: Duration) -> LevelMeter {
        LevelMeter {
            rate: f64::from(rate.max(1)),
            window_s: window.as_secs_f64(),
            stall_s: stall.as_secs_f64(),
            current: None,
            last: (0.0, 0.0),
            pace: None,
        }
    }

    /// One look, at time `t` (seconds, any origin, monotonic): the queue
    /// held `level` frames, the producer had delivered `produced` frames
    /// and the consumer taken `consumed` frames in all.
    pub fn sample(&mut self, t: f64, level: usize, produced: u64, consumed: u64) -> Reading {
        let level = level as f64;
        let (Some(mut w), Some(mut pace)) = (self.current, self.pace) else {
            if !t.is_finite() {
                return Reading::Disturbed(Disturbance::Clock);
            }
            self.pace = Some([Pace::new(produced, t), Pace::new(consumed, t)]);
            self.restart(t, level, produced, consumed);
            return Reading::Pending;
        };
        let (t0, l0) = self.last;
        let gap = t - t0;
        if !gap.is_finite() || gap < 0.0 {
            self.current = None;
            self.pace = None;
            return Reading::Disturbed(Disturbance::Clock);
        }
        pace[0].look(produced, t);
        pace[1].look(consumed, t);
        self.pace = Some(pace);
        w.area += l0 * gap;
        let allowance = self.rate * self.stall_s;
        let period = pace.iter().map(|p| p.step).max().unwrap_or(0) as f64;
        if gap * self.rate > period + allowance {
            w.disturbed.get_or_insert(Disturbance::Late);
        }
        let expected = self.rate * (t - w.start);
        for (p, start, who) in
            [(pace[0], w.produced, Disturbance::Producer), (pace[1], w.consumed, Disturbance::Consumer)]
        {
            if p.step == 0 {
                continue;
            }
            let late = (t - p.moved_at) * self.rate > p.step as f64 + allowance;
            let astray = (p.count as f64 - start as f64 - expected).abs() > p.step as f64 + allowance;
            if late || astray {
                w.disturbed.get_or_insert(who);
            }
        }
        self.last = (t, level);
        let span = t - w.start;
        if span < self.window_s {
            self.current = Some(w);
            return Reading::Pending;
        }
        // A device not seen to move yet (not started) says nothing either.
        if pace[0].step == 0 {
            w.disturbed.get_or_insert(Disturbance::Producer);
        }
        if pace[1].step == 0 {
            w.disturbed.get_or_insert(Disturbance::Consumer);
        }
        self.restart(t, level, produced, consumed);
        match w.disturbed {
            Some(d) => Reading::Disturbed(d),
            None => Reading::Level { level: w.area / span, interval_s: span },
        }
    }

    /// Forget everything: the next look starts afresh (after the level was
    /// put right by other means, or the devices restarted).
    pub fn reset(&mut self) {
        self.current = None;
        self.pace = None;
    }

    /// Start a new window at this look.
    fn restart(&mut self, t: f64, level: f64, produced: u64, consumed: u64) {
        self.current = Some(Window { start: t, produced, consumed, area: 0.0, disturbed: None });
        self.last = (t, level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two devices at 48 kHz moving 240-frame periods, the producer's ticks
    /// `offset_s` after the consumer's (the level is 4800 frames, less a
    /// period from a consumer tick to the next producer tick); looks every
    /// `look_s`. `stall`
    /// stops one device (0: producer, 1: consumer) for a span, after which
    /// it catches up at once. Returns every reading.
    fn run(
        seconds: f64,
        offset_s: f64,
        look_s: f64,
        stall: Option<(usize, f64, f64)>,
        late: Option<(f64, f64)>,
    ) -> Vec<(f64, Reading)> {
        let mut m = LevelMeter::new(48_000, LevelMeter::WINDOW, LevelMeter::STALL);
        let count = |dev: usize, t: f64| -> u64 {
            let shifted = if dev == 0 { t - offset_s } else { t };
            let mut seen = shifted;
            if let Some((d, from, len)) = stall {
                if d == dev && shifted >= from && shifted < from + len {
                    seen = from;
                }
            }
            (seen.max(0.0) / 0.005).floor() as u64 * 240
        };
        let mut out = Vec::new();
        // Off the devices' grid, as a real caller's looks are.
        for i in 0.. {
            let t = 0.000_37 + i as f64 * look_s;
            if t >= seconds {
                break;
            }
            let skip = late.is_some_and(|(from, len)| t >= from && t < from + len);
            if !skip {
                let (p, c) = (count(0, t), count(1, t));
                out.push((t, m.sample(t, (4800 + p).saturating_sub(c) as usize, p, c)));
            }
        }
        out
    }

    fn levels(r: &[(f64, Reading)]) -> Vec<f64> {
        r.iter().filter_map(|(_, r)| if let Reading::Level { level, .. } = r { Some(*level) } else { None }).collect()
    }

    #[test]
    fn the_sawtooth_averages_out() {
        // The producer ticks 1/4 period after the consumer: the queue holds
        // 4800 - 240 a quarter of the time, 4800 the rest.
        for look in [0.001, 0.0013, 0.0007] {
            let r = run(2.0, 0.00125, look, None, None);
            let l = levels(&r);
            assert!(l.len() >= 18, "{} readings in 2 s", l.len());
            for v in l {
                assert!((v - 4740.0).abs() < 15.0, "looks every {look} s: read {v}, want 4740");
            }
        }
    }

    #[test]
    fn a_stalled_device_gives_no_reading() {
        for dev in 0..2 {
            for len in [0.03, 0.05, 0.2] {
                let r = run(3.0, 0.001, 0.001, Some((dev, 1.0, len)), None);
                let want = if dev == 0 { Disturbance::Producer } else { Disturbance::Consumer };
                let disturbed: Vec<f64> = r
                    .iter()
                    .filter(|(_, x)| matches!(x, Reading::Disturbed(d) if *d == want))
                    .map(|(t, _)| *t)
                    .collect();
                assert!(!disturbed.is_empty(), "device {dev} stalled {len} s unnoticed");
                // Every window that held the stall or its catch-up is out;
                // every reading that is left is the undisturbed level.
                for v in levels(&r) {
                    assert!((v - 4800.0 + 240.0 * 0.2).abs() < 15.0, "device {dev}, stall {len}: read {v}");
                }
                assert!(disturbed.iter().all(|&t| (1.0..1.0 + len + 0.25).contains(&t)), "{disturbed:?}");
            }
        }
    }

    #[test]
    fn a_late_look_gives_no_reading() {
        let r = run(2.0, 0.002, 0.001, None, Some((1.0, 0.03)));
        assert!(r.iter().any(|(_, x)| *x == Reading::Disturbed(Disturbance::Late)));
        assert_eq!(levels(&r).len() + 1, r.iter().filter(|(_, x)| *x != Reading::Pending).count());
        // A look a little late (less than the allowance) is fine.
        let r = run(2.0, 0.002, 0.001, None, Some((1.0, 0.008)));
        assert!(r.iter().all(|(_, x)| !matches!(x, Reading::Disturbed(_))));
    }

    #[test]
    fn a_device_that_has_not_started_gives_no_reading() {
        let mut m = LevelMeter::new(48_000, LevelMeter::WINDOW, LevelMeter::STALL);
        let mut last = Reading::Pending;
        for i in 0..=100 {
            let t = f64::from(i) * 0.001;
            last = m.sample(t, 2400, (t / 0.005).floor() as u64 * 240, 0);
        }
        assert_eq!(last, Reading::Disturbed(Disturbance::Consumer));
    }

    #[test]
    fn time_going_backwards_restarts() {
        let mut m = LevelMeter::new(48_000, LevelMeter::WINDOW, LevelMeter::STALL);
        assert_eq!(m.sample(1.0, 100, 0, 0), Reading::Pending);
        assert_eq!(m.sample(0.5, 100, 0, 0), Reading::Disturbed(Disturbance::Clock));
        assert_eq!(m.sample(f64::NAN, 100, 0, 0), Reading::Disturbed(Disturbance::Clock));
        // and starts again at the next sane look
        assert_eq!(m.sample(2.0, 100, 0, 0), Reading::Pending);
        assert_eq!(m.sample(2.05, 100, 2400, 2400), Reading::Pending);
        let r = m.sample(2.1, 100, 4800, 4800);
        assert!(
            matches!(r, Reading::Level { level, interval_s } if level == 100.0 && (interval_s - 0.1).abs() < 1e-9),
            "{r:?}"
        );
    }
}
