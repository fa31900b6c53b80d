//! The bridge's pump (`bridge::Pump`, the data path and drift loop the
//! bridge thread runs) against simulated devices on a simulated clock: no
//! threads, no real time, the same result on any machine however loaded.
//!
//! A capture device 2000 ppm fast (or slow) feeds a playback device at the
//! nominal rate through the pump, while stalls are injected: the playback
//! device stops for 50-200 ms and then catches up at once, the capture
//! device stops and then delivers a burst, the pump's own thread stops.
//! Each scenario checks what a user would: no frame lost or repeated (the
//! counts on both sides balance, no overrun, no underrun, and a tone comes
//! out with no discontinuity), the controller never saturates, and after
//! each stall the level is back near its target within seconds.

use std::collections::VecDeque;
use std::f64::consts::PI;

use outboard_mixer::bridge::{Pump, Sink, Source, MAX_PPM};

const RATE: u32 = 48_000;
const CH: usize = 2;
const PERIOD: usize = 240;
const TONE_HZ: f64 = 997.0;
const AMPLITUDE: f64 = 0.5;

/// A span of simulated time in which something does not run.
#[derive(Clone, Copy, Debug)]
struct Stall {
    at: f64,
    len: f64,
}

/// When `due` falls in a stall, the end of that stall (everything due in
/// it happens at once then); else `due`.
fn deferred(stalls: &[Stall], due: f64) -> f64 {
    stalls.iter().find(|s| due >= s.at && due < s.at + s.len).map_or(due, |s| s.at + s.len)
}

/// A capture device: `quantum` frames at a time at its own clock (`ppm`
/// fast), into a ring; a tone on channel 0, its negation on channel 1.
struct SimSource {
    ppm: f64,
    quantum: usize,
    capacity: usize,
    ring: VecDeque<[f32; CH]>,
    produced: u64,
    overruns: u64,
    ticks: u64,
    stalls: Vec<Stall>,
    /// Spans in which the device's clock stops: what it would have
    /// delivered then comes later, all of it, for good (an emulated device
    /// that misses bus frames; a device that loses its clock for a moment).
    pauses: Vec<Stall>,
}

impl SimSource {
    fn due(&self) -> f64 {
        let nominal = (self.ticks * self.quantum as u64) as f64 / f64::from(RATE);
        let mut t = nominal / (1.0 + self.ppm * 1e-6);
        for p in &self.pauses {
            if t >= p.at {
                t += p.len;
            }
        }
        deferred(&self.stalls, t)
    }
    fn tick(&mut self) {
        for _ in 0..self.quantum {
            let n = self.produced + self.overruns;
            let x = (AMPLITUDE * (2.0 * PI * TONE_HZ * n as f64 / f64::from(RATE)).sin()) as f32;
            if self.ring.len() == self.capacity {
                self.overruns += 1;
            } else {
                self.ring.push_back([x, -x]);
                self.produced += 1;
            }
        }
        self.ticks += 1;
    }
}

impl Source for SimSource {
    fn waiting(&self) -> usize {
        self.ring.len()
    }
    fn produced(&self) -> u64 {
        self.produced
    }
    fn read(&mut self, out: &mut [f32]) -> usize {
        let n = (out.len() / CH).min(self.ring.len());
        for (o, f) in out.chunks_exact_mut(CH).zip(self.ring.drain(..n)) {
            o.copy_from_slice(&f);
        }
        n
    }
}

/// Looks at every frame a playback device plays: the tone must run on
/// without a break (the three-term recurrence of a sine holds at every
/// sample), at its amplitude, channel 1 the exact negation of channel 0.
struct ToneCheck {
    skip: u64,
    seen: u64,
    last: [f64; 2],
    max_residual: f64,
    amplitude: (f64, f64),
    worst_at: u64,
    mirrored: bool,
}

impl ToneCheck {
    fn new(skip: u64) -> ToneCheck {
        ToneCheck {
            skip,
            seen: 0,
            last: [0.0; 2],
            max_residual: 0.0,
            amplitude: (f64::MAX, 0.0),
            worst_at: 0,
            mirrored: true,
        }
    }
    fn push(&mut self, f: [f32; CH], drift_ppm: f64) {
        self.seen += 1;
        self.mirrored &= f[1] == -f[0];
        let x = f64::from(f[0]);
        if self.seen > self.skip + 2 {
            // Out here the tone runs at the capture clock's rate.
            let w = 2.0 * PI * TONE_HZ / f64::from(RATE) * (1.0 + drift_ppm * 1e-6);
            let [a, b] = self.last;
            let r = (x + a - 2.0 * w.cos() * b).abs();
            if r > self.max_residual {
                self.max_residual = r;
                self.worst_at = self.seen;
            }
            let amp = (b * b - a * x).max(0.0).sqrt() / w.sin();
            self.amplitude = (self.amplitude.0.min(amp), self.amplitude.1.max(amp));
        }
        self.last = [self.last[1], x];
    }
}

/// A playback device at the nominal rate: takes a period at a time; an
/// underrun takes what there is and plays silence for the rest.
struct SimSink {
    capacity: usize,
    ring: VecDeque<[f32; CH]>,
    received: u64,
    consumed: u64,
    underruns: u64,
    /// Frames of silence played in underruns.
    silence: u64,
    ticks: u64,
    stalls: Vec<Stall>,
    tone: ToneCheck,
    drift_ppm: f64,
}

impl SimSink {
    fn due(&self) -> f64 {
        deferred(&self.stalls, (self.ticks * PERIOD as u64) as f64 / f64::from(RATE))
    }
    fn tick(&mut self) {
        if self.ring.len() < PERIOD {
            self.underruns += 1;
        }
        for _ in 0..PERIOD {
            let f = self.ring.pop_front();
            self.consumed += u64::from(f.is_some());
            self.silence += u64::from(f.is_none());
            self.tone.push(f.unwrap_or([0.0; CH]), self.drift_ppm);
        }
        self.ticks += 1;
    }
}

impl Sink for SimSink {
    fn queued(&self) -> usize {
        self.ring.len()
    }
    fn consumed(&self) -> u64 {
        self.consumed
    }
    fn write(&mut self, frames: &[f32]) -> usize {
        let n = (frames.len() / CH).min(self.capacity - self.ring.len());
        self.ring.extend(frames[..n * CH].chunks_exact(CH).map(|c| [c[0], c[1]]));
        self.received += n as u64;
        n
    }
}

struct Scenario {
    name: &'static str,
    seconds: f64,
    drift_ppm: f64,
    target: usize,
    /// Both rings, frames.
    rings: usize,
    /// The capture device's delivery size.
    quantum: usize,
    producer_stalls: Vec<Stall>,
    consumer_stalls: Vec<Stall>,
    pump_stalls: Vec<Stall>,
    /// A stall is longer than the queue: the playback device must underrun,
    /// and the pump put the level right afterwards.
    xrun: bool,
    /// The capture device's clock stops (see `SimSource::pauses`).
    producer_pauses: Vec<Stall>,
}

/// What happened around one stall.
#[derive(Debug)]
struct AroundStall {
    kind: &'static str,
    at: f64,
    ms: f64,
    /// The adjustment just before the stall.
    ppm_before: f64,
    /// How far the adjustment moved from that, from the stall's start to
    /// `RECOVERY_S` after its end.
    ppm_swing: f64,
    /// How far the level went from the target in the same span.
    excursion: f64,
    /// The mean level's distance from the target in the second before the
    /// stall (where the loop held it: within a delivery of the target).
    before: f64,
    /// From `RECOVERY_S` to `RECOVERY_S` + 1 s after the stall: the mean
    /// level's distance from the target, and the largest at one look.
    after: f64,
    worst_off: f64,
    sums: [(f64, f64); 2],
}

impl AroundStall {
    fn new(kind: &'static str, st: &Stall) -> AroundStall {
        AroundStall {
            kind,
            at: st.at,
            ms: st.len * 1000.0,
            ppm_before: f64::NAN,
            ppm_swing: 0.0,
            excursion: 0.0,
            before: 0.0,
            after: 0.0,
            worst_off: 0.0,
            sums: [(0.0, 0.0); 2],
        }
    }
    fn look(&mut self, t: f64, ppm: f64, off: f64) {
        let end = self.at + self.ms / 1000.0;
        let mut mean = |i: usize| {
            self.sums[i] = (self.sums[i].0 + off, self.sums[i].1 + 1.0);
            self.sums[i].0 / self.sums[i].1
        };
        if t < self.at - 1.0 {
        } else if t < self.at {
            self.before = mean(0);
            self.ppm_before = ppm;
        } else if t < end + RECOVERY_S {
            self.ppm_swing = self.ppm_swing.max((ppm - self.ppm_before).abs());
            self.excursion = self.excursion.max(off.abs());
        } else if t < end + RECOVERY_S + 1.0 {
            self.after = mean(1);
            self.worst_off = self.worst_off.max(off.abs());
        }
    }
}

/// What a run measured.
#[derive(Debug)]
struct Outcome {
    stalls: Vec<AroundStall>,
    max_abs_ppm: f64,
    max_at: f64,
    final_ppm: f64,
    final_offset: f64,
    readings: u64,
    disturbed: u64,
    saturated: u64,
}

/// The level must be back `RECOVERY_S` after a stall ends: its mean
/// within `RECOVERY_MEAN` frames of where it was before the stall, and at
/// every look within the sawtooth of the capture device's delivery size
/// (the level at one look is anywhere in it) plus `RECOVERY_FRAMES` of the
/// target. (Where the mean sits depends on where the two devices' periods
/// fall; the loop starts from the first reading and approaches the target
/// at `drift::RAMP_PPM`.)
const RECOVERY_S: f64 = 2.0;
const RECOVERY_MEAN: f64 = 60.0;
const RECOVERY_FRAMES: f64 = 120.0;
/// While a stall lasts and for `RECOVERY_S` after, the adjustment stays
/// within this of where it was before.
const MAX_SWING_PPM: f64 = 300.0;

fn run(s: &Scenario) -> Outcome {
    let mut pump = Pump::new(RATE, CH, s.target, MAX_PPM).unwrap();
    let mut src = SimSource {
        ppm: s.drift_ppm,
        quantum: s.quantum,
        capacity: s.rings,
        ring: VecDeque::new(),
        produced: 0,
        overruns: 0,
        ticks: 0,
        stalls: s.producer_stalls.clone(),
        pauses: s.producer_pauses.clone(),
    };
    let mut sink = SimSink {
        capacity: s.rings,
        ring: VecDeque::new(),
        received: 0,
        consumed: 0,
        underruns: 0,
        silence: 0,
        ticks: 0,
        stalls: s.consumer_stalls.clone(),
        tone: ToneCheck::new(s.target as u64 + 128),
        drift_ppm: s.drift_ppm,
    };
    assert_eq!(pump.prefill(&src, &mut sink), s.target);
    let mut around: Vec<AroundStall> = (s.producer_stalls.iter().map(|st| AroundStall::new("capture", st)))
        .chain(s.consumer_stalls.iter().map(|st| AroundStall::new("playback", st)))
        .chain(s.pump_stalls.iter().map(|st| AroundStall::new("pump", st)))
        .collect();
    let (mut max_abs_ppm, mut max_at) = (0.0f64, 0.0);
    // BRIDGE_SIM_TRACE=<scenario name> prints every reading.
    let trace = std::env::var("BRIDGE_SIM_TRACE").is_ok_and(|v| v == s.name);
    let mut windows = 0;
    // The pump looks every 0.5-1.5 ms (a fixed pseudo-random sequence).
    let mut lcg = 0x2545_f491_u64;
    let mut pump_due = 0.0;
    let mut last_underrun = f64::NAN;
    loop {
        let (ts, tk, tp) = (src.due(), sink.due(), deferred(&s.pump_stalls, pump_due));
        let t = ts.min(tk).min(tp);
        if t >= s.seconds {
            break;
        }
        if t == ts {
            src.tick();
        } else if t == tk {
            let before = sink.underruns;
            sink.tick();
            if sink.underruns > before {
                last_underrun = t;
            }
        } else {
            pump.step(t, &mut src, &mut sink);
            let ppm = pump.ppm();
            if ppm.abs() > max_abs_ppm {
                (max_abs_ppm, max_at) = (ppm.abs(), t);
            }
            let c = pump.counts();
            if trace && c.readings + c.disturbed != windows {
                windows = c.readings + c.disturbed;
                println!("{t:.3} s: level {} ppm {ppm:.0} offset {:.0} {c:?}", pump.level(), pump.offset_ppm());
            }
            let off = pump.level() as f64 - s.target as f64;
            around.iter_mut().for_each(|a| a.look(t, ppm, off));
            lcg = lcg.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            pump_due = t + 0.0005 + (lcg >> 11) as f64 / (1u64 << 53) as f64 * 0.001;
        }
    }

    // No frame lost or repeated: every frame the capture device made was
    // read (or discarded by a resync) or is waiting; everything the
    // resampler made was written or is pending; everything written was
    // played or is queued; the capture ring never overran.
    let c = pump.counts();
    let name = s.name;
    assert_eq!(src.overruns, 0, "{name}: the capture ring overran");
    assert_eq!(c.read + c.dropped + src.ring.len() as u64, src.produced, "{name}: capture frames unaccounted for");
    assert_eq!(c.written + pump.pending() as u64, c.made, "{name}: resampled frames unaccounted for");
    assert_eq!(sink.received, c.prefill + c.written + c.inserted, "{name}: the sink got other than the pump wrote");
    assert_eq!(sink.consumed + sink.ring.len() as u64, sink.received, "{name}: played frames unaccounted for");
    if let Some(pause) = s.producer_pauses.first() {
        // The capture clock lost more time than the queue holds and, slower
        // than the playback clock, never makes it up: the playback device
        // underruns until the pump queues the shortfall as silence, once,
        // and then not again.
        let end = pause.at + pause.len;
        assert!(sink.underruns > 0, "{name}: the pause was meant to be longer than the queue");
        assert_eq!((c.resyncs, c.dropped), (1, 0), "{name}: {c:?}");
        assert!(last_underrun < end + 1.0, "{name}: the playback device still underran at {last_underrun:.2} s");
        assert!(
            (pump.level() as f64 - s.target as f64).abs() < (s.quantum + PERIOD + RECOVERY_FRAMES as usize) as f64,
            "{name}: the level ended at {} (target {})",
            pump.level(),
            s.target
        );
        return outcome(&pump, around, max_abs_ppm, max_at);
    }
    if s.xrun {
        // The stall made the playback device play silence; the pump
        // discarded as much of the capture that arrived after it, once.
        assert!(sink.underruns > 0, "{name}: the stall was meant to be longer than the queue");
        assert_eq!(c.resyncs, 1, "{name}: {c:?}");
        assert!(
            c.dropped.abs_diff(sink.silence) <= (s.quantum + 120) as u64,
            "{name}: {} frames of silence played, {} frames discarded",
            sink.silence,
            c.dropped
        );
        return outcome(&pump, around, max_abs_ppm, max_at);
    }
    assert_eq!(sink.underruns, 0, "{name}: the playback device underran");
    assert_eq!((c.resyncs, c.dropped, c.inserted), (0, 0, 0), "{name}: the pump resynced");
    // Frames in and out match at the ratio the loop found: over the run the
    // resampler made 1 + adjustment times what it read (the level, which
    // ends near where it began, is the rest).
    let ratio = c.made as f64 / c.read as f64;
    assert!(
        (ratio - (1.0 - s.drift_ppm * 1e-6)).abs() < 200e-6,
        "{name}: {} frames in, {} out: ratio {ratio:.6}",
        c.read,
        c.made
    );
    // And what came out is the tone, unbroken.
    let tone = &sink.tone;
    assert!(tone.mirrored, "{name}: channel 1 is not channel 0 negated");
    assert!(
        tone.max_residual < 1e-3,
        "{name}: the tone breaks at output frame {} (residual {:.2e})",
        tone.worst_at,
        tone.max_residual
    );
    assert!(
        tone.amplitude.0 > AMPLITUDE * 0.99 && tone.amplitude.1 < AMPLITUDE * 1.01,
        "{name}: the tone's amplitude strays to {:?}",
        tone.amplitude
    );
    outcome(&pump, around, max_abs_ppm, max_at)
}

fn outcome(pump: &Pump, stalls: Vec<AroundStall>, max_abs_ppm: f64, max_at: f64) -> Outcome {
    let c = pump.counts();
    Outcome {
        stalls,
        max_abs_ppm,
        max_at,
        final_ppm: pump.ppm(),
        final_offset: pump.offset_ppm(),
        readings: c.readings,
        disturbed: c.disturbed,
        saturated: c.saturated,
    }
}

fn check(s: Scenario) {
    let o = run(&s);
    let name = s.name;
    println!(
        "{name}: {} readings, {} windows disturbed, |ppm| at most {:.0} (at {:.1} s), ended at {:.0} ppm, learned {:.0}",
        o.readings, o.disturbed, o.max_abs_ppm, o.max_at, o.final_ppm, o.final_offset
    );
    for a in &o.stalls {
        println!(
            "  {} stall of {:.0} ms at {:.2} s: level off by up to {:.0} frames, ppm moved {:.0}; \
             mean level off {:.0} before, {:.0} {RECOVERY_S} s after (worst look {:.0})",
            a.kind, a.ms, a.at, a.excursion, a.ppm_swing, a.before, a.after, a.worst_off
        );
    }
    assert_eq!(o.saturated, 0, "{name}: the controller saturated");
    assert!(o.max_abs_ppm < MAX_PPM, "{name}: the controller saturated ({:.0} ppm)", o.max_abs_ppm);
    let allowed = s.quantum as f64 + RECOVERY_FRAMES;
    for a in &o.stalls {
        let what = format!("{name}: the {} stall of {:.0} ms at {:.2} s", a.kind, a.ms, a.at);
        assert!(a.ppm_swing < MAX_SWING_PPM, "{what} moved the adjustment by {:.0} ppm", a.ppm_swing);
        assert!(
            (a.after - a.before).abs() <= RECOVERY_MEAN,
            "{what}: {RECOVERY_S} s after, the level is {:.0} frames off, {:.0} before",
            a.after,
            a.before
        );
        assert!(a.worst_off <= allowed, "{what}: {RECOVERY_S} s after, the level strays {:.0} frames", a.worst_off);
    }
    assert!((o.final_offset + s.drift_ppm).abs() < 20.0, "{name}: learned {:.1} ppm", o.final_offset);
    assert!((o.final_ppm + s.drift_ppm).abs() < 100.0, "{name}: ended at {:.1} ppm", o.final_ppm);
    assert!(o.disturbed > 0 || ends_none(&s), "{name}: no window was seen disturbed");
}

fn ends_none(s: &Scenario) -> bool {
    s.producer_stalls.is_empty() && s.consumer_stalls.is_empty() && s.pump_stalls.is_empty()
}

fn stalls(list: &[(f64, f64)]) -> Vec<Stall> {
    list.iter().map(|&(at, ms)| Stall { at, len: ms / 1000.0 }).collect()
}

fn base(name: &'static str) -> Scenario {
    Scenario {
        name,
        seconds: 50.0,
        drift_ppm: 2000.0,
        target: 2400,
        rings: 16_384,
        quantum: PERIOD,
        producer_stalls: Vec::new(),
        consumer_stalls: Vec::new(),
        pump_stalls: Vec::new(),
        xrun: false,
        producer_pauses: Vec::new(),
    }
}

#[test]
fn no_stalls() {
    check(base("no stalls"));
    check(Scenario { drift_ppm: -2000.0, ..base("no stalls, capture slow") });
}

#[test]
fn the_playback_device_stalls_and_catches_up() {
    let consumer_stalls = stalls(&[(20.0, 50.0), (27.0, 100.0), (34.0, 200.0), (41.0, 200.0)]);
    check(Scenario { consumer_stalls: consumer_stalls.clone(), ..base("playback stalls") });
    check(Scenario { consumer_stalls, drift_ppm: -2000.0, ..base("playback stalls, capture slow") });
}

#[test]
fn the_capture_device_stalls_and_bursts() {
    // Four periods at a time, like a device with 20 ms periods, and stalls
    // after which everything missed arrives at once.
    check(Scenario {
        target: 4800,
        quantum: 4 * PERIOD,
        producer_stalls: stalls(&[(20.0, 40.0), (27.0, 60.0), (34.0, 60.0)]),
        ..base("capture stalls and bursts")
    });
}

#[test]
fn the_pump_stalls() {
    // Stalls longer than the target would underrun the playback device
    // whatever the controller did: 200 ms stalls need a 250 ms target.
    check(Scenario {
        target: 12_000,
        rings: 32_768,
        pump_stalls: stalls(&[(20.0, 50.0), (27.0, 100.0), (34.0, 200.0)]),
        ..base("pump stalls")
    });
    // A loaded machine: the pump misses 10-40 ms every half second.
    let mut lcg = 7u64;
    let many: Vec<(f64, f64)> = (40..90)
        .map(|i| {
            lcg = lcg.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (f64::from(i) * 0.5, 10.0 + (lcg >> 33) as f64 % 30.0)
        })
        .collect();
    check(Scenario { pump_stalls: stalls(&many), ..base("pump stalls often") });
}

#[test]
fn a_stall_longer_than_the_queue_underruns_once_and_is_put_right() {
    // 150 ms of nothing moving into a 50 ms queue: the playback device
    // plays 100 ms of silence, and the level is 100 ms too high after. The
    // loop alone would take a minute to drain that at its limit; the pump
    // discards it, and the loop never saturates.
    check(Scenario { pump_stalls: stalls(&[(20.0, 150.0)]), xrun: true, ..base("a stall longer than the queue") });
}

#[test]
fn everything_stalls() {
    check(Scenario {
        target: 4800,
        producer_stalls: stalls(&[(20.0, 30.0), (33.0, 60.0)]),
        consumer_stalls: stalls(&[(24.0, 150.0), (37.0, 80.0)]),
        pump_stalls: stalls(&[(29.0, 60.0), (41.0, 90.0)]),
        ..base("everything stalls")
    });
}

#[test]
fn a_capture_clock_that_stops_for_longer_than_the_queue_is_put_right() {
    // The capture device (2000 ppm slow) loses 150 ms, and with them the
    // 50 ms queue: the playback device runs dry, and while it takes less
    // than its clock every measurement window is disturbed, so no reading
    // ever asks for a resync. The pump must see the sink starving anyway.
    check(Scenario {
        drift_ppm: -2000.0,
        producer_pauses: stalls(&[(20.0, 150.0)]),
        ..base("the capture clock stops for longer than the queue")
    });
}
