//! Round-trip latency to the sample, and the channel map, by maximum-length
//! sequence (MLS) cross-correlation; crosstalk by tones.
//!
//! An MLS is a pseudo-random ±1 sequence whose autocorrelation is a single
//! spike, so correlating the recording with the sequence played gives the
//! path's impulse response: its arrival is the latency. The arrival is the
//! first lag whose correlation reaches half the peak's: a converter's
//! linear-phase filter peaks at its centre (its neighbours are far lower),
//! while a minimum-phase path (an analog low-pass) can peak a sample or two
//! after the signal first arrives, and the first arrival is the latency.
//! The peak's sign is the polarity. Playing on one output at a time and
//! correlating every input gives which output lands on which input.
//!
//! Crosstalk is measured with a 1 kHz tone on one output at a time: the
//! tone's fitted level on every other input against the mapped input's,
//! far below the MLS's correlation noise.

use outboard_signal::analysis::fit_tones;

use crate::fft::{real_inverse, real_spectrum, size_for};

/// An MLS of `order` bits (2^order - 1 samples) at `amplitude`: a Galois
/// LFSR on a maximal polynomial (orders 10 to 18; others get 18).
pub fn mls(order: u32, amplitude: f64) -> Vec<f64> {
    let taps: &[u32] = match order {
        10 => &[10, 7],
        11 => &[11, 9],
        12 => &[12, 11, 10, 4],
        13 => &[13, 12, 11, 8],
        14 => &[14, 13, 12, 2],
        15 => &[15, 14],
        16 => &[16, 15, 13, 4],
        17 => &[17, 14],
        _ => &[18, 11],
    };
    let mask = taps.iter().fold(0u32, |m, &t| m | 1 << (t - 1));
    let len = (1usize << taps[0]) - 1;
    let mut state: u32 = 1;
    (0..len)
        .map(|_| {
            let out = state & 1;
            state >>= 1;
            if out == 1 {
                state ^= mask;
                amplitude
            } else {
                -amplitude
            }
        })
        .collect()
}

/// The cross-correlation of `recorded` with `played` at lags
/// `0..=recorded.len() - played.len()` (or at least one lag), normalised so
/// that a path of gain 1 peaks at 1.
pub fn correlate(played: &[f64], recorded: &[f64]) -> Vec<f64> {
    let n = size_for(played.len() + recorded.len());
    let p = real_spectrum(played, n);
    let r = real_spectrum(recorded, n);
    let energy: f64 = played.iter().map(|v| v * v).sum::<f64>().max(1e-300);
    let c = real_inverse(r.iter().zip(&p).map(|(a, b)| *a * b.conj()).collect());
    let lags = recorded.len().saturating_sub(played.len()).max(1);
    c[..lags.min(n)].iter().map(|v| v / energy).collect()
}

/// What one correlation says.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Arrival {
    /// The first lag at half the peak: the latency, frames.
    pub frames: usize,
    /// The correlation's peak: the path's gain at its peak, signed.
    pub peak: f64,
    /// The peak against the correlation's RMS away from it, dB: under
    /// about 20 dB, nothing came through.
    pub clarity_db: f64,
}

impl Arrival {
    pub fn inverted(&self) -> bool {
        self.peak < 0.0
    }
}

/// The arrival in a correlation; `None` when it is empty.
pub fn arrival(corr: &[f64]) -> Option<Arrival> {
    let (peak_at, peak) =
        corr.iter().enumerate().max_by(|a, b| a.1.abs().total_cmp(&b.1.abs())).map(|(i, v)| (i, *v))?;
    let look_back = peak_at.saturating_sub(64);
    let frames = (look_back..=peak_at).find(|&i| corr[i].abs() >= 0.5 * peak.abs()).unwrap_or(peak_at);
    let away: Vec<f64> =
        corr.iter().enumerate().filter(|(i, _)| i.abs_diff(peak_at) > 256).map(|(_, v)| v * v).collect();
    let noise = if away.is_empty() { 0.0 } else { away.iter().sum::<f64>() / away.len() as f64 };
    let clarity_db = 10.0 * (peak * peak / noise.max(1e-300)).log10();
    Some(Arrival { frames, peak, clarity_db })
}

/// The input where `played` came back strongest (of those where it came
/// through clearly: 20 dB above the correlation's noise), and its arrival,
/// looking from index `from` of each recording.
pub fn strongest(played: &[f64], recorded: &[Vec<f64>], from: usize) -> Option<(usize, Arrival)> {
    recorded
        .iter()
        .enumerate()
        .filter_map(|(i, x)| arrival(&correlate(played, &x[from.min(x.len())..])).map(|a| (i, a)))
        .filter(|(_, a)| a.clarity_db > 20.0)
        .max_by(|a, b| a.1.peak.abs().total_cmp(&b.1.peak.abs()))
}

/// Where one output lands.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ChannelPath {
    pub output: usize,
    /// The input it reaches (the strongest), if any came through.
    pub input: Option<usize>,
    pub inverted: bool,
    /// Its latency, frames.
    pub latency_frames: Option<usize>,
    /// The 1 kHz tone's level on every input, dB relative to the mapped
    /// input's (0 there); -inf where nothing came through.
    pub crosstalk_db: Vec<f64>,
}

/// Map one output from its MLS recordings (one per input, looked at from
/// index `from`) and its tone recordings (the steady stretch, one per input).
pub fn map_output(
    output: usize,
    mls_played: &[f64],
    mls_recorded: &[Vec<f64>],
    from: usize,
    tone: &[Vec<f64>],
    rate: u32,
    tone_freq: f64,
) -> ChannelPath {
    let best = strongest(mls_played, mls_recorded, from);
    let levels: Vec<f64> = tone.iter().map(|x| fit_tones(x, rate, &[tone_freq]).0[0]).collect();
    let crosstalk_db = match best {
        Some((i, _)) => levels.iter().map(|l| 20.0 * (l / levels[i].max(1e-300)).log10()).collect(),
        None => vec![f64::NEG_INFINITY; levels.len()],
    };
    ChannelPath {
        output,
        input: best.map(|(i, _)| i),
        inverted: best.is_some_and(|(_, a)| a.inverted()),
        latency_frames: best.map(|(_, a)| a.frames),
        crosstalk_db,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fft::sine;

    #[test]
    fn an_mls_is_balanced_and_spiky() {
        for order in 10..=16 {
            let s = mls(order, 1.0);
            assert_eq!(s.len(), (1 << order) - 1);
            // One more +1 than -1: the LFSR visits every non-zero state once.
            assert_eq!(s.iter().sum::<f64>(), 1.0, "order {order}");
        }
        let s = mls(12, 1.0);
        let circular = |lag: usize| s.iter().enumerate().map(|(i, v)| v * s[(i + lag) % s.len()]).sum::<f64>();
        assert_eq!(circular(0), s.len() as f64);
        assert!((1..50).all(|lag| circular(lag) == -1.0));
    }

    #[test]
    fn a_delay_is_found_to_the_sample_with_its_polarity() {
        let s = mls(14, 0.5);
        for (delay, gain) in [(0usize, 1.0), (123, 0.9), (4000, -0.5)] {
            let mut y = vec![0.0; delay];
            y.extend(s.iter().map(|v| v * gain));
            y.resize(s.len() + 8000, 0.0);
            let a = arrival(&correlate(&s, &y)).unwrap();
            assert_eq!(a.frames, delay);
            assert!((a.peak - gain).abs() < 1e-9, "{}", a.peak);
            assert_eq!(a.inverted(), gain < 0.0);
            assert!(a.clarity_db > 40.0, "{}", a.clarity_db);
        }
    }

    #[test]
    fn a_path_that_peaks_late_is_timed_at_its_arrival() {
        // A minimum-phase path: 0.57, 0.60, 0.2 (a Butterworth low-pass's
        // first taps): the peak is one sample after the arrival.
        let s = mls(14, 0.5);
        let mut y = vec![0.0; 50 + s.len() + 3000];
        for (i, v) in s.iter().enumerate() {
            y[50 + i] += 0.57 * v;
            y[51 + i] += 0.60 * v;
            y[52 + i] += 0.20 * v;
        }
        assert_eq!(arrival(&correlate(&s, &y)).unwrap().frames, 50);
    }

    #[test]
    fn outputs_are_mapped_with_their_crosstalk() {
        let rate = 48_000;
        let s = mls(13, 0.5);
        // Output 0 lands on input 1 inverted, with -90 dB on input 0.
        let k = 10f64.powf(-90.0 / 20.0);
        let delay = |x: &[f64], g: f64| {
            let mut y = vec![0.0; 30];
            y.extend(x.iter().map(|v| v * g));
            y.resize(x.len() + 3000, 0.0);
            y
        };
        let rec = vec![delay(&s, k), delay(&s, -1.0)];
        let tone = sine(1000.0, 0.5, rate, 24_000);
        let tones = vec![tone.iter().map(|v| v * k).collect(), tone.iter().map(|v| -v).collect()];
        let p = map_output(0, &s, &rec, 0, &tones, rate, 1000.0);
        assert_eq!(p.input, Some(1));
        assert!(p.inverted);
        assert_eq!(p.latency_frames, Some(30));
        assert!((p.crosstalk_db[0] + 90.0).abs() < 0.01 && p.crosstalk_db[1] == 0.0, "{:?}", p.crosstalk_db);
        // Nothing came through: no input.
        let silent = vec![vec![0.0; s.len() + 3000]; 2];
        assert_eq!(map_output(0, &s, &silent, 0, &[vec![0.0; 100], vec![0.0; 100]], rate, 1000.0).input, None);
    }
}
