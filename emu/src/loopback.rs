//! An emulated loopback device: a sound card whose outputs are cabled back
//! to its inputs through impairments a test chooses, so that a measurement
//! tool (`outboard measure`) can be checked against known answers.
//!
//! It sits behind [`PcmStream`], the trait every driver's streams
//! implement, and runs on virtual time: the device's clock moves on a
//! period whenever a stream waits for one, so a 30 s measurement takes as
//! long as its arithmetic, and every run is the same to the sample. Both
//! streams count frames from the same clock: capture frame `n` (from the
//! capture stream's start) holds what playback frame `n - delay` became,
//! when both started together.
//!
//! The impairments, as `outboard measure emulated-loopback:NAME=VALUE,...`
//! takes them ([`Impairments`]'s `FromStr`):
//!
//! | name | meaning |
//! |---|---|
//! | `delay=N` | the round trip, in frames (default 0) |
//! | `gain=DB` | the path's gain, dB (default 0) |
//! | `hd3=DB` | third-harmonic distortion: at a full-scale sine the 3rd harmonic is DB below the fundamental (a Chebyshev term, so at level L dBFS it is DB + 2L) |
//! | `noise=DBFS` | white Gaussian noise at each input, RMS relative to a full-scale sine's (AES17 dBFS), over the whole band |
//! | `crosstalk=DB` | each input also hears every other channel's output DB down |
//! | `lowpass=HZ` | a 2nd-order Butterworth low-pass (bilinear transform) on each channel |
//! | `glitch=S` | every S seconds of the device's clock, a fault on the inputs, in turn: 5 ms of silence (a dropout), 2.5 ms played again (a repeat), a click (+0.5 on one sample) |
//! | `drift=PPM` | the inputs' clock runs PPM parts per million faster than the outputs' (negative: slower), as on a card with a clock for each direction or two cards; the inputs hear the outputs resampled (64-tap windowed sinc, whose 32 frames are part of the delay: with a drift the round trip is at least 32 frames) |
//!
//! The order on the path: crosstalk, low-pass, distortion, gain, delay,
//! noise, glitches (all on the outputs' clock), then the drift to the
//! inputs' clock.

use std::collections::VecDeque;
use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use outboard_hal::pcm::{Direction, PcmConfig, PcmState, PcmStream, SampleFormat};
use outboard_hal::{Error, Result};
use outboard_signal::resample::{kernel, HALF_TAPS};

/// What the cable does to the signal (see the module's table).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Impairments {
    pub delay: usize,
    pub gain_db: f64,
    pub hd3_db: Option<f64>,
    pub noise_dbfs: Option<f64>,
    pub crosstalk_db: Option<f64>,
    pub lowpass_hz: Option<f64>,
    pub glitch_every: Option<f64>,
    pub drift_ppm: f64,
}

/// The longest delay the cable takes, in frames (10 s at 48 kHz).
pub const MAX_DELAY: usize = 480_000;

impl FromStr for Impairments {
    type Err = String;
    fn from_str(text: &str) -> std::result::Result<Impairments, String> {
        let mut imp = Impairments::default();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| format!("`{item}`: expected NAME=VALUE (delay=123, gain=-0.5...)"))?;
            let number = || -> std::result::Result<f64, String> {
                value
                    .trim()
                    .trim_start_matches('+')
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| format!("`{item}`: `{value}` is not a number"))
            };
            let in_range = |v: f64, lo: f64, hi: f64, unit: &str| {
                if (lo..=hi).contains(&v) {
                    Ok(v)
                } else {
                    Err(format!("`{item}`: {name} must be from {lo} to {hi} {unit}"))
                }
            };
            match name.trim() {
                "delay" => {
                    imp.delay =
                        value.trim().parse::<usize>().ok().filter(|&d| d <= MAX_DELAY).ok_or_else(|| {
                            format!("`{item}`: delay is a whole number of frames, at most {MAX_DELAY}")
                        })?
                }
                "gain" => imp.gain_db = in_range(number()?, -60.0, 20.0, "dB")?,
                "hd3" => imp.hd3_db = Some(in_range(number()?, -160.0, -10.0, "dB")?),
                "noise" => imp.noise_dbfs = Some(in_range(number()?, -180.0, -10.0, "dBFS")?),
                "crosstalk" => imp.crosstalk_db = Some(in_range(number()?, -160.0, -6.0, "dB")?),
                "lowpass" => imp.lowpass_hz = Some(in_range(number()?, 100.0, 1e6, "Hz")?),
                "glitch" => imp.glitch_every = Some(in_range(number()?, 0.01, 3600.0, "seconds")?),
                "drift" => {
                    let v = value.trim();
                    let ppm = v.strip_prefix('+').unwrap_or(v).parse::<f64>().ok().filter(|p| p.is_finite());
                    imp.drift_ppm = in_range(
                        ppm.ok_or_else(|| format!("`{item}`: `{value}` is not a number"))?,
                        -10_000.0,
                        10_000.0,
                        "ppm",
                    )?
                }
                other => {
                    return Err(format!(
                        "`{other}` is not an impairment (delay, gain, hd3, noise, crosstalk, lowpass, glitch, drift)"
                    ))
                }
            }
        }
        Ok(imp)
    }
}

impl fmt::Display for Impairments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = vec![format!("delay={}", self.delay)];
        if self.gain_db != 0.0 {
            parts.push(format!("gain={}", self.gain_db));
        }
        let mut opt = |name: &str, v: Option<f64>| {
            if let Some(v) = v {
                parts.push(format!("{name}={v}"));
            }
        };
        opt("hd3", self.hd3_db);
        opt("noise", self.noise_dbfs);
        opt("crosstalk", self.crosstalk_db);
        opt("lowpass", self.lowpass_hz);
        opt("glitch", self.glitch_every);
        if self.drift_ppm != 0.0 {
            parts.push(format!("drift={:+}", self.drift_ppm));
        }
        f.write_str(&parts.join(","))
    }
}

/// A biquad section (direct form I).
#[derive(Clone, Debug)]
pub struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
    x: [f64; 2],
    y: [f64; 2],
    rate: f64,
}

impl Biquad {
    /// A 2nd-order Butterworth low-pass at `fc` Hz (bilinear transform,
    /// prewarped): -3.01 dB at `fc`.
    pub fn lowpass(fc: f64, rate: u32) -> Biquad {
        let fs = f64::from(rate);
        let k = (PI * (fc / fs).min(0.4999)).tan();
        let q = std::f64::consts::FRAC_1_SQRT_2;
        let norm = 1.0 / (1.0 + k / q + k * k);
        let b0 = k * k * norm;
        Biquad {
            b: [b0, 2.0 * b0, b0],
            a: [2.0 * (k * k - 1.0) * norm, (1.0 - k / q + k * k) * norm],
            x: [0.0; 2],
            y: [0.0; 2],
            rate: fs,
        }
    }

    /// Filter one sample.
    pub fn run(&mut self, v: f64) -> f64 {
        let out = self.b[0] * v + self.b[1] * self.x[0] + self.b[2] * self.x[1]
            - self.a[0] * self.y[0]
            - self.a[1] * self.y[1];
        self.x = [v, self.x[0]];
        self.y = [out, self.y[0]];
        out
    }

    /// The filter's gain at `f` Hz, dB: its exact response, which a
    /// measurement of it must find.
    pub fn gain_db(&self, f: f64) -> f64 {
        let w = 2.0 * PI * f / self.rate;
        // |sum c_k e^{-jkw}| for the numerator and the denominator.
        let mag = |c: [f64; 3]| {
            let re = c[0] + c[1] * w.cos() + c[2] * (2.0 * w).cos();
            let im = -c[1] * w.sin() - c[2] * (2.0 * w).sin();
            re.hypot(im)
        };
        20.0 * (mag(self.b) / mag([1.0, self.a[0], self.a[1]])).log10()
    }
}

/// A small deterministic generator (xorshift64*) for the noise.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let v = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        ((v >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    /// A standard normal sample (Box-Muller).
    fn gaussian(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * PI * v).cos()
    }
}

/// The fault a glitch puts on the inputs, in the order they come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GlitchKind {
    /// 5 ms of silence.
    Dropout,
    /// The last 2.5 ms played again in place of the next 2.5 ms.
    Repeat,
    /// +0.5 added to one sample.
    Click,
}

/// The cable from outputs to inputs, frame by frame on the device's clock.
#[derive(Debug)]
pub struct Cable {
    imp: Impairments,
    rate: u32,
    channels: usize,
    filters: Vec<Biquad>,
    /// Frames on their way (the delay), oldest first.
    line: VecDeque<Vec<f64>>,
    /// The last inputs, for a repeat.
    history: VecDeque<Vec<f64>>,
    rng: Rng,
    /// Frames since the device started.
    clock: u64,
}

impl Cable {
    pub fn new(imp: Impairments, rate: u32, channels: usize) -> Cable {
        let filters = match imp.lowpass_hz {
            Some(fc) => vec![Biquad::lowpass(fc, rate); channels],
            None => Vec::new(),
        };
        let line = (0..imp.delay).map(|_| vec![0.0; channels]).collect();
        Cable {
            imp,
            rate,
            channels,
            filters,
            line,
            history: VecDeque::new(),
            rng: Rng(0x9e37_79b9_7f4a_7c15),
            clock: 0,
        }
    }

    /// Where the glitches fall: the device frames of the first `count`.
    pub fn glitch_frames(every: f64, rate: u32, count: usize) -> Vec<(u64, GlitchKind)> {
        let kinds = [GlitchKind::Dropout, GlitchKind::Repeat, GlitchKind::Click];
        (1..=count).map(|k| ((k as f64 * every * f64::from(rate)).round() as u64, kinds[(k - 1) % 3])).collect()
    }

    /// The glitch under way at device frame `t`, and how far into it.
    fn glitch_at(&self, t: u64) -> Option<(GlitchKind, u64)> {
        let every = self.imp.glitch_every? * f64::from(self.rate);
        let k = (t as f64 / every).floor() as u64;
        for k in [k.saturating_sub(1), k, k + 1] {
            if k == 0 {
                continue;
            }
            let start = (k as f64 * every).round() as u64;
            let kind = [GlitchKind::Dropout, GlitchKind::Repeat, GlitchKind::Click][((k - 1) % 3) as usize];
            let len = match kind {
                GlitchKind::Dropout => u64::from(self.rate) / 200,
                GlitchKind::Repeat => u64::from(self.rate) / 400,
                GlitchKind::Click => 1,
            };
            if (start..start + len).contains(&t) {
                return Some((kind, t - start));
            }
        }
        None
    }

    /// The glitch that starts at device frame `t`, if one does.
    pub fn glitch_starting(&self, t: u64) -> Option<GlitchKind> {
        self.glitch_at(t).filter(|(_, into)| *into == 0).map(|(kind, _)| kind)
    }

    /// What the inputs hear for one frame the outputs play.
    pub fn run(&mut self, played: &[f64]) -> Vec<f64> {
        let ch = self.channels;
        let mut x: Vec<f64> = (0..ch).map(|c| played.get(c).copied().unwrap_or(0.0)).collect();
        if let Some(db) = self.imp.crosstalk_db {
            let k = 10f64.powf(db / 20.0);
            let total: f64 = x.iter().sum();
            x = x.iter().map(|v| v + k * (total - v)).collect();
        }
        for (v, f) in x.iter_mut().zip(self.filters.iter_mut()) {
            *v = f.run(*v);
        }
        if let Some(db) = self.imp.hd3_db {
            // T3(x) = 4x³ - 3x turns a full-scale sine into its 3rd harmonic alone.
            let k = 10f64.powf(db / 20.0);
            for v in x.iter_mut() {
                *v += k * (4.0 * *v * *v * *v - 3.0 * *v);
            }
        }
        let g = 10f64.powf(self.imp.gain_db / 20.0);
        for v in x.iter_mut() {
            *v *= g;
        }
        self.line.push_back(x);
        let mut y = self.line.pop_front().unwrap_or_else(|| vec![0.0; ch]);
        if let Some(dbfs) = self.imp.noise_dbfs {
            // RMS relative to a full-scale sine's (1/√2).
            let sigma = std::f64::consts::FRAC_1_SQRT_2 * 10f64.powf(dbfs / 20.0);
            for v in y.iter_mut() {
                *v += sigma * self.rng.gaussian();
            }
        }
        let repeat = (u64::from(self.rate) / 400) as usize;
        self.history.push_back(y.clone());
        if self.history.len() > repeat + 1 {
            self.history.pop_front();
        }
        let t = self.clock;
        self.clock += 1;
        match self.glitch_at(t) {
            Some((GlitchKind::Dropout, _)) => vec![0.0; ch],
            Some((GlitchKind::Repeat, _)) => self.history.front().cloned().unwrap_or(y),
            Some((GlitchKind::Click, _)) => y.iter().map(|v| v + 0.5).collect(),
            None => y,
        }
    }
}

/// One direction's ring and where it stands.
#[derive(Debug, Default)]
struct Side {
    config: Option<PcmConfig>,
    ring: Vec<u8>,
    /// The device frame the stream's ring position 0 went by, while it runs.
    started: Option<u64>,
    /// Where a stopped stream's ring position stands: a restart picks up
    /// there, as an HDA stream's DMA or a USB stream's pump does.
    paused_at: usize,
    /// The device frame the stream was last started at.
    began: u64,
}

#[derive(Debug)]
struct Shared {
    name: String,
    cable: Cable,
    /// The outputs' clock (frames since the card was made).
    clock: u64,
    /// The inputs' clock: the same, or `drift` apart.
    cclock: u64,
    drift: Option<Drift>,
    playback: Side,
    capture: Side,
    heard: Vec<HeardGlitch>,
}

/// A glitch that reached a running capture stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeardGlitch {
    /// The device frame the capture stream started at.
    pub capture_start: u64,
    /// Its first frame, counted from the capture stream's start.
    pub frame: u64,
    pub kind: GlitchKind,
}

fn decode(format: SampleFormat, b: &[u8]) -> f64 {
    match format {
        SampleFormat::S16Le => f64::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0,
        SampleFormat::S32Le => f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])) / 2_147_483_648.0,
        _ => f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
    }
}

fn encode(format: SampleFormat, v: f64, out: &mut [u8]) {
    match format {
        SampleFormat::S16Le => {
            out.copy_from_slice(&((v * 32768.0).round().clamp(-32768.0, 32767.0) as i16).to_le_bytes())
        }
        SampleFormat::S32Le => out.copy_from_slice(
            &((v * 2_147_483_648.0).round().clamp(-2_147_483_648.0, 2_147_483_647.0) as i32).to_le_bytes(),
        ),
        _ => out.copy_from_slice(&(v as f32).to_le_bytes()),
    }
}

impl Shared {
    /// A direction's clock.
    fn now(&self, direction: Direction) -> u64 {
        match direction {
            Direction::Playback => self.clock,
            Direction::Capture => self.cclock,
        }
    }

    /// Run the outputs' clock on to `until`.
    fn run_to(&mut self, until: u64) {
        while self.clock < until {
            self.step();
        }
    }

    /// Run until the inputs' clock reaches `until`.
    fn run_capture_to(&mut self, until: u64) {
        while self.cclock < until {
            self.step();
        }
    }

    /// One frame of the outputs' clock: what the outputs play goes through
    /// the cable; the inputs take it on their own clock.
    fn step(&mut self) {
        let channels = self.cable.channels;
        let t = self.clock;
        let mut played = vec![0.0; channels];
        if let (Some(cfg), Some(start)) = (self.playback.config, self.playback.started) {
            let bytes = cfg.format.bytes();
            let at = ((t - start) as usize % cfg.buffer_frames()) * cfg.frame_bytes();
            for (c, v) in played.iter_mut().enumerate().take(usize::from(cfg.channels)) {
                *v = decode(cfg.format, &self.playback.ring[at + c * bytes..]);
            }
        }
        let glitch = self.cable.glitch_starting(self.cable.clock);
        let heard = self.cable.run(&played);
        if let (Some(kind), Some(_)) = (glitch, self.capture.started) {
            let began = self.capture.began;
            let at = match &self.drift {
                Some(d) => (t as f64 * d.ratio).round() as u64,
                None => t,
            };
            self.heard.push(HeardGlitch { capture_start: began, frame: at.saturating_sub(began), kind });
        }
        self.clock += 1;
        match self.drift.as_mut() {
            None => self.capture_frame(&heard),
            Some(d) => {
                d.push(heard);
                while let Some(frame) = self.drift.as_ref().and_then(|d| d.take(self.cclock, self.clock)) {
                    self.capture_frame(&frame);
                }
            }
        }
    }

    /// One frame on the inputs' clock.
    fn capture_frame(&mut self, heard: &[f64]) {
        let c = self.cclock;
        self.cclock += 1;
        let (Some(cfg), Some(start)) = (self.capture.config, self.capture.started) else { return };
        let bytes = cfg.format.bytes();
        let at = ((c - start) as usize % cfg.buffer_frames()) * cfg.frame_bytes();
        for ch in 0..usize::from(cfg.channels) {
            let o = at + ch * bytes;
            encode(cfg.format, heard.get(ch).copied().unwrap_or(0.0), &mut self.capture.ring[o..o + bytes]);
        }
    }
}

/// The inputs' clock against the outputs': their frames resampled from the
/// outputs' by a windowed sinc.
#[derive(Debug)]
struct Drift {
    /// Input frames per output frame.
    ratio: f64,
    /// The cable's last outputs, oldest first; `first` is the output clock of the oldest.
    history: VecDeque<Vec<f64>>,
    first: u64,
    channels: usize,
}

impl Drift {
    fn new(ppm: f64, channels: usize) -> Drift {
        Drift { ratio: 1.0 + ppm * 1e-6, history: VecDeque::new(), first: 0, channels }
    }

    fn push(&mut self, frame: Vec<f64>) {
        self.history.push_back(frame);
        if self.history.len() > 2 * HALF_TAPS + 2 {
            self.history.pop_front();
            self.first += 1;
        }
    }

    /// Input frame `c`, once the outputs up to `now` cover its taps.
    fn take(&self, c: u64, now: u64) -> Option<Vec<f64>> {
        // On the outputs' clock, HALF_TAPS frames back: the kernel's taps
        // then reach no further than now, and the inputs' clock keeps up
        // with the outputs' (the cable's own delay is that much shorter).
        let at = c as f64 / self.ratio - HALF_TAPS as f64;
        let base = at.floor() as i64 - HALF_TAPS as i64 + 1;
        if base + 2 * HALF_TAPS as i64 > now as i64 {
            return None;
        }
        let mut out = vec![0.0; self.channels];
        for k in 0..2 * HALF_TAPS as i64 {
            let n = base + k;
            if n < self.first as i64 {
                continue;
            }
            let Some(frame) = self.history.get((n - self.first as i64) as usize) else { continue };
            let x = at - n as f64;
            let w = kernel(x);
            for (o, v) in out.iter_mut().zip(frame) {
                *o += w * v;
            }
        }
        Some(out)
    }
}

/// The formats the loopback's streams take.
pub const FORMATS: [SampleFormat; 3] = [SampleFormat::S32Le, SampleFormat::S16Le, SampleFormat::F32Le];

/// An emulated loopback sound card.
#[derive(Clone, Debug)]
pub struct Loopback {
    shared: Arc<Mutex<Shared>>,
    rate: u32,
    channels: u16,
}

impl Loopback {
    /// A card of `channels` outputs cabled to as many inputs at `rate`.
    pub fn new(imp: Impairments, rate: u32, channels: u16) -> Loopback {
        let imp_drift = imp.drift_ppm;
        let name = format!("emulated loopback ({imp})");
        // The resampler between the clocks delays by HALF_TAPS frames: the
        // cable's own delay makes up the rest of the round trip.
        let cable_imp =
            if imp_drift != 0.0 { Impairments { delay: imp.delay.saturating_sub(HALF_TAPS), ..imp } } else { imp };
        let shared = Shared {
            name,
            cable: Cable::new(cable_imp, rate, usize::from(channels)),
            clock: 0,
            cclock: 0,
            drift: (imp_drift != 0.0).then(|| Drift::new(imp_drift, usize::from(channels))),
            playback: Side::default(),
            capture: Side::default(),
            heard: Vec::new(),
        };
        Loopback { shared: Arc::new(Mutex::new(shared)), rate, channels }
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    pub fn channels(&self) -> u16 {
        self.channels
    }

    /// The device's clock: frames since it was made.
    pub fn clock(&self) -> u64 {
        lock(&self.shared).clock
    }

    /// Every glitch a running capture stream has heard so far.
    pub fn glitches_heard(&self) -> Vec<HeardGlitch> {
        lock(&self.shared).heard.clone()
    }

    /// The device's name, with its impairments.
    pub fn name(&self) -> String {
        lock(&self.shared).name.clone()
    }

    /// Open a stream. The rate and channel count are the card's; the
    /// format one of [`FORMATS`].
    pub fn open(&self, direction: Direction, config: PcmConfig) -> Result<LoopbackStream> {
        let mut s = lock(&self.shared);
        if config.rate != self.rate || config.channels != self.channels {
            return Err(Error::Invalid(format!(
                "{}: runs at {} Hz with {} channels, not {} Hz with {}",
                s.name, self.rate, self.channels, config.rate, config.channels
            )));
        }
        if !FORMATS.contains(&config.format) || config.period_frames == 0 || config.periods < 2 {
            return Err(Error::Invalid(format!("{}: cannot run {config:?}", s.name)));
        }
        let side = match direction {
            Direction::Playback => &mut s.playback,
            Direction::Capture => &mut s.capture,
        };
        if side.config.is_some() {
            return Err(Error::Invalid(format!("{direction:?} stream already open")));
        }
        *side = Side {
            config: Some(config),
            ring: vec![0; config.buffer_frames() * config.frame_bytes()],
            started: None,
            paused_at: 0,
            began: 0,
        };
        Ok(LoopbackStream { shared: self.shared.clone(), direction, config, next: None })
    }
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A stream of [`Loopback`].
#[derive(Debug)]
pub struct LoopbackStream {
    shared: Arc<Mutex<Shared>>,
    direction: Direction,
    config: PcmConfig,
    /// The device frame of the next period boundary, while running.
    next: Option<u64>,
}

impl LoopbackStream {
    fn side<'a>(&self, s: &'a mut Shared) -> &'a mut Side {
        match self.direction {
            Direction::Playback => &mut s.playback,
            Direction::Capture => &mut s.capture,
        }
    }

    fn ring_range(&self, offset: usize, len: usize) -> Result<std::ops::Range<usize>> {
        let fb = self.config.frame_bytes();
        let start = offset * fb;
        let size = self.config.buffer_frames() * fb;
        if len % fb != 0 || start + len > size {
            return Err(Error::OutOfBounds {
                what: "loopback ring".into(),
                offset: start as u64,
                len,
                size: size as u64,
            });
        }
        Ok(start..start + len)
    }
}

impl Drop for LoopbackStream {
    fn drop(&mut self) {
        let mut s = lock(&self.shared);
        *self.side(&mut s) = Side::default();
    }
}

impl PcmStream for LoopbackStream {
    fn direction(&self) -> Direction {
        self.direction
    }

    fn config(&self) -> PcmConfig {
        self.config
    }

    fn state(&self) -> PcmState {
        if self.next.is_some() {
            PcmState::Running
        } else {
            PcmState::Prepared
        }
    }

    fn start(&mut self) -> Result<()> {
        let mut s = lock(&self.shared);
        let now = s.now(self.direction);
        let side = self.side(&mut s);
        if side.started.is_none() {
            side.started = Some(now.saturating_sub(side.paused_at as u64));
            side.began = now;
        }
        // The next boundary: where the position next reaches a whole period.
        let period = self.config.period_frames;
        let into = side.paused_at % period;
        self.next = Some(now + (period - into) as u64);
        Ok(())
    }

    fn stop(&mut self) -> Result<()> {
        let mut s = lock(&self.shared);
        let now = s.now(self.direction);
        let buffer = self.config.buffer_frames();
        let side = self.side(&mut s);
        if let Some(start) = side.started.take() {
            side.paused_at = (now - start) as usize % buffer;
        }
        self.next = None;
        Ok(())
    }

    fn position(&mut self) -> Result<usize> {
        let mut s = lock(&self.shared);
        let now = s.now(self.direction);
        let side = self.side(&mut s);
        Ok(match side.started {
            Some(start) => (now - start) as usize % self.config.buffer_frames(),
            None => side.paused_at,
        })
    }

    fn write_frames(&mut self, offset: usize, data: &[u8]) -> Result<()> {
        let range = self.ring_range(offset, data.len())?;
        let mut s = lock(&self.shared);
        self.side(&mut s).ring[range].copy_from_slice(data);
        Ok(())
    }

    fn read_frames(&mut self, offset: usize, out: &mut [u8]) -> Result<()> {
        let range = self.ring_range(offset, out.len())?;
        let mut s = lock(&self.shared);
        out.copy_from_slice(&self.side(&mut s).ring[range]);
        Ok(())
    }

    /// Virtual time: the device's clock moves on to this stream's next
    /// period boundary (if the other stream has not taken it there already).
    fn wait_period(&mut self, _timeout: Duration) -> Result<()> {
        let Some(next) = self.next else {
            return Err(Error::Invalid("wait on a stream that is not running".into()));
        };
        let mut s = lock(&self.shared);
        match self.direction {
            Direction::Playback => s.run_to(next),
            Direction::Capture => s.run_capture_to(next),
        }
        self.next = Some(next + self.config.period_frames as u64);
        Ok(())
    }

    fn xruns(&self) -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(format: SampleFormat) -> PcmConfig {
        PcmConfig { format, rate: 48_000, channels: 2, period_frames: 256, periods: 4 }
    }

    #[test]
    fn impairments_parse_and_print_back() {
        let imp: Impairments =
            "delay=123,gain=-0.5,hd3=-80,noise=-105,crosstalk=-90,lowpass=18000,glitch=2.5".parse().unwrap();
        assert_eq!(imp.delay, 123);
        assert_eq!(imp.hd3_db, Some(-80.0));
        assert_eq!(imp.to_string().parse::<Impairments>().unwrap(), imp);
        for (bad, says) in [
            ("delay=-1", "whole number"),
            ("gain=loud", "not a number"),
            ("wow=1", "not an impairment"),
            ("noise", "NAME=VALUE"),
            ("hd3=5", "from -160"),
            ("gain=NaN", "not a number"),
        ] {
            let e = bad.parse::<Impairments>().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn the_inputs_hear_the_outputs_delay_frames_later_bit_exact() {
        let card = Loopback::new("delay=100".parse().unwrap(), 48_000, 2);
        let mut play = card.open(Direction::Playback, cfg(SampleFormat::S16Le)).unwrap();
        let mut rec = card.open(Direction::Capture, cfg(SampleFormat::S16Le)).unwrap();
        let ramp: Vec<u8> = (0..1024 * 2).flat_map(|i| ((i * 7) as i16).to_le_bytes()).collect();
        play.write_frames(0, &ramp).unwrap();
        play.start().unwrap();
        rec.start().unwrap();
        let mut got = vec![0u8; ramp.len()];
        for _ in 0..4 {
            play.wait_period(Duration::from_secs(1)).unwrap();
            rec.wait_period(Duration::from_secs(1)).unwrap();
        }
        assert_eq!(rec.position().unwrap(), 0, "a whole ring went by");
        rec.read_frames(0, &mut got).unwrap();
        assert!(got[..400].iter().all(|&b| b == 0));
        assert_eq!(&got[400..], &ramp[..ramp.len() - 400]);
        assert!(card.open(Direction::Playback, cfg(SampleFormat::S16Le)).is_err(), "one playback stream");
        let wrong = PcmConfig { rate: 44_100, ..cfg(SampleFormat::S16Le) };
        drop(play);
        assert!(card.open(Direction::Playback, wrong).unwrap_err().to_string().contains("48000 Hz"));
    }

    #[test]
    fn glitches_fall_where_they_are_set() {
        let mut cable = Cable::new("glitch=0.01".parse().unwrap(), 48_000, 1);
        let out: Vec<f64> = (0..1900).map(|_| cable.run(&[0.25])[0]).collect();
        assert_eq!(
            Cable::glitch_frames(0.01, 48_000, 3),
            vec![(480, GlitchKind::Dropout), (960, GlitchKind::Repeat), (1440, GlitchKind::Click)]
        );
        assert!(out[480..720].iter().all(|&v| v == 0.0) && out[479] == 0.25 && out[720] == 0.25);
        assert_eq!(out[1440], 0.75);
        let odd: Vec<usize> = (0..out.len()).filter(|&i| out[i] != 0.25).collect();
        assert_eq!(odd.len(), 241, "{:?}", &odd[230..]);
    }
}
