//! The measurement run: which signals are played, in which order, and the
//! report made of their recordings.
//!
//! Each signal other than the latency test's MLS is preceded by 100 ms of
//! silence and a marker (an 85 ms MLS burst, then 50 ms of silence), and
//! followed by enough to hold the round trip: the marker's arrival says
//! where that run's signal is in the recording, so a device whose streams
//! start a different distance apart each time (USB devices do) is measured
//! as well as one whose latency never moves. Figures are the worst over the
//! channels (the highest distortion and noise, the lowest
//! dynamic range...), and every channel's own numbers are in the report.

use std::fmt;
use std::str::FromStr;

use outboard_hal::pcm::PcmStream;

use crate::distortion::{analyse_tone, band_top, noise, Noise, ToneAnalysis};
use crate::fft::{fade, sine};
use crate::glitch::{drift_ppm, find_glitches, tone_frequency, Glitch};
use crate::latency::{map_output, mls, strongest, ChannelPath};
use crate::response::{measure as measure_response, Response, Sweep};
use crate::session::{play_and_record, Recording, SessionError};

/// A measurement `--tests` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Test {
    Latency,
    Channels,
    Response,
    Thd,
    Noise,
    Glitch,
    Drift,
}

impl Test {
    pub const ALL: [Test; 7] =
        [Test::Latency, Test::Channels, Test::Response, Test::Thd, Test::Noise, Test::Glitch, Test::Drift];
    pub fn name(self) -> &'static str {
        match self {
            Test::Latency => "latency",
            Test::Channels => "channels",
            Test::Response => "response",
            Test::Thd => "thd",
            Test::Noise => "noise",
            Test::Glitch => "glitch",
            Test::Drift => "drift",
        }
    }
}

impl fmt::Display for Test {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Test {
    type Err = String;
    fn from_str(text: &str) -> Result<Test, String> {
        Test::ALL.into_iter().find(|t| t.name() == text.trim()).ok_or_else(|| {
            let names: Vec<&str> = Test::ALL.iter().map(|t| t.name()).collect();
            format!("`{text}` is not a test ({})", names.join(", "))
        })
    }
}

/// Parse a `--tests` list (`latency,thd`), in the run's own order, without repeats.
pub fn parse_tests(text: &str) -> Result<Vec<Test>, String> {
    let mut tests =
        text.split(',').filter(|s| !s.trim().is_empty()).map(str::parse).collect::<Result<Vec<Test>, _>>()?;
    if tests.is_empty() {
        return Err("no test named".into());
    }
    tests.sort();
    tests.dedup();
    Ok(tests)
}

/// How the run goes.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub tests: Vec<Test>,
    /// Latency runs (for its stability).
    pub repeats: usize,
    pub sweep_seconds: f64,
    /// The THD tone's level, dBFS.
    pub level_dbfs: f64,
    pub glitch_seconds: f64,
    pub drift_seconds: f64,
    /// The longest round trip looked for, seconds.
    pub max_latency: f64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            tests: Test::ALL.iter().copied().filter(|t| *t != Test::Drift).collect(),
            repeats: 5,
            sweep_seconds: 3.0,
            level_dbfs: -3.0,
            glitch_seconds: 10.0,
            drift_seconds: 10.0,
            max_latency: 1.0,
        }
    }
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error("nothing played on output 0 came back on any input (is the loopback cable in, and the input's gain up?)")]
    NoSignal,
    #[error("{0}")]
    Bad(String),
}

/// The latency runs.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Latency {
    /// Each run's round trip, frames.
    pub runs: Vec<usize>,
    /// The median.
    pub frames: usize,
    pub ms: f64,
    /// Largest minus smallest.
    pub spread_frames: usize,
    /// The input output 0 lands on.
    pub input: usize,
}

/// THD+N of the 1 kHz tone at one level.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct LevelPoint {
    pub level_dbfs: f64,
    /// Per input.
    pub thd_n_db: f64,
    pub thd_db: f64,
}

/// Dynamic range (AES17) of one input.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct DynamicRange {
    pub db: f64,
    pub a_weighted_db: f64,
}

/// The drift between the output's and the input's clocks.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Drift {
    pub played_hz: f64,
    pub found_hz: f64,
    /// How much faster the input's clock runs than the output's.
    pub ppm: f64,
}

/// A named figure, which the limits file and the summary use.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Figure {
    pub name: &'static str,
    pub value: f64,
    pub unit: &'static str,
    pub what: &'static str,
}

/// Everything a run measured.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Report {
    pub rate: u32,
    pub outputs: usize,
    pub inputs: usize,
    pub latency: Option<Latency>,
    pub channels: Option<Vec<ChannelPath>>,
    /// Per input.
    pub response: Option<Vec<Response>>,
    /// Per input, at the set level.
    pub thd: Option<Vec<ToneAnalysis>>,
    /// Per input, from -60 dBFS to 0 dBFS.
    pub thd_vs_level: Option<Vec<Vec<LevelPoint>>>,
    /// The 1 kHz tone's spectrum on input 0 (for the report's plot):
    /// (Hz, dBFS) pairs.
    #[serde(skip)]
    pub spectrum: Option<Vec<(f64, f64)>>,
    pub noise: Option<Vec<Noise>>,
    pub dynamic_range: Option<Vec<DynamicRange>>,
    /// Per input.
    pub glitches: Option<Vec<Vec<Glitch>>>,
    pub glitch_seconds: Option<f64>,
    pub drift: Option<Drift>,
}

/// The silence before each signal, seconds.
const PRE_ROLL: f64 = 0.1;

struct Runner<'a> {
    /// The inputs' clock against the outputs', once the drift is known:
    /// every recording is resampled onto the outputs' clock.
    follow: Option<f64>,
    play: &'a mut dyn PcmStream,
    rec: &'a mut dyn PcmStream,
    rate: u32,
    outputs: usize,
    margin: usize,
    pre: usize,
    progress: &'a mut dyn FnMut(&str),
}

impl Runner<'_> {
    fn frames(&self, seconds: f64) -> usize {
        (seconds * f64::from(self.rate)).round() as usize
    }

    /// Play `signal` on the outputs in `on` (after the pre-roll) and return
    /// the recording with the capture index of the signal's first frame
    /// as it left (the round trip not counted).
    fn play(&mut self, signal: &[f64], on: &[usize]) -> Result<(Recording, isize), MeasureError> {
        let mut padded = vec![0.0; self.pre];
        padded.extend_from_slice(signal);
        let outputs: Vec<Vec<f64>> =
            (0..self.outputs).map(|o| if on.contains(&o) { padded.clone() } else { Vec::new() }).collect();
        let mut r = play_and_record(&mut *self.play, &mut *self.rec, &outputs, padded.len() + self.margin)?;
        if let Some(ratio) = self.follow {
            for x in r.inputs.iter_mut() {
                *x = outboard_signal::resample::by_ratio(x, ratio);
            }
        }
        let start = self.pre as isize - r.offset as isize;
        Ok((r, start))
    }

    /// [`Runner::play`] with the marker first; returns the capture index
    /// where the signal itself came back (on the input that heard the
    /// marker best).
    fn play_marked(&mut self, what: &str, signal: &[f64], on: &[usize]) -> Result<(Recording, usize), MeasureError> {
        let marker = mls(MARKER_ORDER, 0.5);
        let gap = self.frames(MARKER_GAP);
        let mut marked = marker.clone();
        marked.resize(marker.len() + gap, 0.0);
        marked.extend_from_slice(signal);
        let (rec, start) = self.play(&marked, on)?;
        let from = start.max(0) as usize;
        let (_, found) = strongest(&marker, &rec.inputs, from)
            .ok_or_else(|| MeasureError::Bad(format!("{what}: the marker before the signal did not come back")))?;
        Ok((rec, from + found.frames + marker.len() + gap))
    }

    fn all(&self) -> Vec<usize> {
        (0..self.outputs).collect()
    }
}

/// The marker's length (2^12 - 1 frames) and the silence after it, seconds.
const MARKER_ORDER: u32 = 12;
const MARKER_GAP: f64 = 0.05;

/// The stretch `from..to` seconds of a signal that came back at capture
/// index `at`.
fn stretch(x: &[f64], at: usize, rate: u32, from: f64, to: f64) -> &[f64] {
    let i = |s: f64| (at + (s * f64::from(rate)) as usize).min(x.len());
    &x[i(from)..i(to)]
}

/// Run the measurements on a playback stream and a capture stream (of one
/// device or two). `progress` hears the name of each step as it starts.
pub fn run(
    play: &mut dyn PcmStream,
    rec: &mut dyn PcmStream,
    opts: &Options,
    progress: &mut dyn FnMut(&str),
) -> Result<Report, MeasureError> {
    let rate = play.config().rate;
    let outputs = usize::from(play.config().channels);
    let inputs = usize::from(rec.config().channels);
    let margin = (opts.max_latency * f64::from(rate)) as usize + rec.config().buffer_frames();
    let mut r = Runner { follow: None, play, rec, rate, outputs, margin, pre: 0, progress };
    r.pre = r.frames(PRE_ROLL);
    let mut report = Report { rate, outputs, inputs, ..Report::default() };

    // The drift first (when asked): every later recording is then followed
    // back onto the outputs' clock, so two devices measure like one.
    if opts.tests.contains(&Test::Drift) {
        (r.progress)(&format!("drift: {} s tone", opts.drift_seconds));
        let (rec, at) = r.play_marked("drift", &sine(1000.0, 0.5, rate, r.frames(opts.drift_seconds)), &r.all())?;
        let found = rec
            .inputs
            .iter()
            .filter_map(|x| tone_frequency(stretch(x, at, rate, 0.1, opts.drift_seconds - 0.1), rate, 1000.0))
            .next()
            .ok_or(MeasureError::NoSignal)?;
        let ppm = drift_ppm(1000.0, found);
        report.drift = Some(Drift { played_hz: 1000.0, found_hz: found, ppm });
        r.follow = Some(1000.0 / found);
    }

    // Latency: the MLS runs (only this test needs them: the others find
    // their signal by its marker).
    let probe = mls(16, 0.5);
    if opts.tests.contains(&Test::Latency) {
        let repeats = opts.repeats.max(1);
        let mut runs = Vec::new();
        let mut input = 0;
        for i in 0..repeats {
            (r.progress)(&format!("latency {}/{repeats}", i + 1));
            let (rec, start) = r.play(&probe, &[0])?;
            let best = strongest(&probe, &rec.inputs, start.max(0) as usize).ok_or(MeasureError::NoSignal)?;
            input = best.0;
            runs.push((best.1.frames as isize - start.min(0)) as usize);
        }
        let mut sorted = runs.clone();
        sorted.sort_unstable();
        let latency = sorted[sorted.len() / 2];
        report.latency = Some(Latency {
            frames: latency,
            ms: latency as f64 * 1000.0 / f64::from(rate),
            spread_frames: sorted[sorted.len() - 1] - sorted[0],
            runs,
            input,
        });
    }

    if opts.tests.contains(&Test::Channels) {
        let tone = sine(1000.0, 0.5, rate, r.frames(1.0));
        let mut paths = Vec::new();
        for o in 0..outputs {
            (r.progress)(&format!("channels: output {}/{outputs}", o + 1));
            let (m, ms) = r.play(&probe, &[o])?;
            let (t, at) = r.play_marked("channels", &tone, &[o])?;
            let tones: Vec<Vec<f64>> = t.inputs.iter().map(|x| stretch(x, at, rate, 0.1, 0.9).to_vec()).collect();
            paths.push(map_output(o, &probe, &m.inputs, ms.max(0) as usize, &tones, rate, 1000.0));
        }
        report.channels = Some(paths);
    }

    if opts.tests.contains(&Test::Response) {
        (r.progress)("response: sweep");
        let sweep = Sweep::for_rate(rate, opts.sweep_seconds);
        let x = sweep.samples();
        let (rec, at) = r.play_marked("response", &x, &r.all())?;
        let top = band_top(rate);
        // From a little before the sweep came back: room for a filter's pre-ringing.
        let from = at.saturating_sub(r.frames(0.01));
        let curves = rec
            .inputs
            .iter()
            .map(|y| measure_response(&sweep, &x, &y[from.min(y.len())..], 20.0, top))
            .collect::<Option<Vec<Response>>>()
            .ok_or(MeasureError::NoSignal)?;
        report.response = Some(curves);
    }

    if opts.tests.contains(&Test::Thd) {
        (r.progress)("thd: 1 kHz tone");
        let a = 10f64.powf(opts.level_dbfs / 20.0);
        let (rec, at) = r.play_marked("thd", &sine(1000.0, a, rate, r.frames(1.5)), &r.all())?;
        let tones = rec
            .inputs
            .iter()
            .map(|x| analyse_tone(stretch(x, at, rate, 0.2, 1.4), rate, 1000.0))
            .collect::<Option<Vec<_>>>()
            .ok_or(MeasureError::NoSignal)?;
        report.spectrum = rec.inputs.first().map(|x| spectrum(stretch(x, at, rate, 0.2, 1.4), rate));
        report.thd = Some(tones);
        (r.progress)("thd: level sweep");
        let levels: Vec<f64> = (0..=10).map(|k| -60.0 + 6.0 * f64::from(k)).collect();
        let step = r.frames(0.5);
        let mut stepped = Vec::with_capacity(step * levels.len());
        for (k, l) in levels.iter().enumerate() {
            let a = 10f64.powf(l / 20.0);
            let w = 2.0 * std::f64::consts::PI * 1000.0 / f64::from(rate);
            stepped.extend((0..step).map(|n| a * (w * (k * step + n) as f64).sin()));
        }
        let (rec, at) = r.play_marked("thd level sweep", &stepped, &r.all())?;
        let mut per_input = Vec::new();
        for x in &rec.inputs {
            let mut points = Vec::new();
            for (k, l) in levels.iter().enumerate() {
                let from = k as f64 * 0.5 + 0.05;
                if let Some(t) = analyse_tone(stretch(x, at, rate, from, from + 0.4), rate, 1000.0) {
                    points.push(LevelPoint { level_dbfs: *l, thd_n_db: t.thd_n_db, thd_db: t.thd_db });
                }
            }
            per_input.push(points);
        }
        report.thd_vs_level = Some(per_input);
    }

    if opts.tests.contains(&Test::Noise) {
        (r.progress)("noise: silence");
        let (rec, at) = r.play_marked("noise", &vec![0.0; r.frames(2.0)], &r.all())?;
        report.noise = Some(rec.inputs.iter().map(|x| noise(stretch(x, at, rate, 0.2, 2.0), rate)).collect());
        (r.progress)("noise: -60 dBFS tone");
        let (rec, at) = r.play_marked("dynamic range", &sine(1000.0, 1e-3, rate, r.frames(2.0)), &r.all())?;
        let dr = rec
            .inputs
            .iter()
            .map(|x| {
                analyse_tone(stretch(x, at, rate, 0.2, 1.9), rate, 1000.0)
                    .map(|t| DynamicRange { db: -t.residual_dbfs, a_weighted_db: -t.residual_a_dbfs })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or(MeasureError::NoSignal)?;
        report.dynamic_range = Some(dr);
    }

    if opts.tests.contains(&Test::Glitch) {
        (r.progress)(&format!("glitch: {} s tone", opts.glitch_seconds));
        let mut tone = sine(997.0, 0.5, rate, r.frames(opts.glitch_seconds));
        fade(&mut tone, r.frames(0.01));
        let (rec, at) = r.play_marked("glitch", &tone, &r.all())?;
        // The tone less its fades, where it came back.
        let edge = r.frames(0.03);
        let glitches =
            rec.inputs.iter().map(|x| find_glitches(x, rate, 997.0, at + edge, at + tone.len() - edge)).collect();
        report.glitches = Some(glitches);
        report.glitch_seconds = Some(opts.glitch_seconds);
    }

    Ok(report)
}

/// A Hann-windowed spectrum, dBFS per bin (a full-scale sine's bin reads 0).
fn spectrum(x: &[f64], rate: u32) -> Vec<(f64, f64)> {
    use crate::fft::{forward, size_for, Complex};
    let n = size_for(x.len()) / 2;
    let x = &x[..n.min(x.len())];
    let w: Vec<f64> =
        (0..x.len()).map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / x.len() as f64).cos()).collect();
    let gain: f64 = w.iter().sum::<f64>() / 2.0;
    let mut data: Vec<Complex> = x.iter().zip(&w).map(|(v, w)| Complex::new(v * w, 0.0)).collect();
    data.resize(n, Complex::ZERO);
    forward(&mut data);
    (1..n / 2)
        .map(|k| (k as f64 * f64::from(rate) / n as f64, 20.0 * (data[k].abs() / gain).max(1e-12).log10()))
        .collect()
}
