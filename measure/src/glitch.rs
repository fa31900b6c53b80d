//! A tone's exact frequency, clock drift between two devices, and glitches
//! in a long tone (alsabat's question: did anything drop, repeat or click?).
//!
//! - **Frequency** from the slope of the tone's phase: the recording is
//!   demodulated at the nominal frequency in 100 ms blocks, each block's
//!   phase is unwrapped, and a line through them gives the offset. Over
//!   10 s this resolves far below 1 ppm.
//! - **Drift**: a tone played by one device at `f` (its clock) and
//!   recorded by another reads at `f · (clock_out / clock_in)`: the ratio
//!   in ppm is the drift between their clocks.
//! - **Glitches**: a sine obeys `x[n] = 2cos(ω)·x[n-1] - x[n-2]` exactly, so
//!   the residual of that prediction is only the noise (the harmonics
//!   largely cancel) until the tone breaks: a dropout, a repeated or
//!   skipped stretch, a click. Residual samples far above the noise (ten
//!   times its robust standard deviation, and above -74 dB of the tone) are
//!   glitches; those within 10 ms are one event.

use std::f64::consts::PI;

use crate::fft::Complex;

/// The frequency of a tone of about `nominal` Hz (within a few Hz) in `x`,
/// from its phase slope; `None` if there is no tone or under 0.2 s of it.
pub fn tone_frequency(x: &[f64], rate: u32, nominal: f64) -> Option<f64> {
    let block = (rate / 10) as usize;
    let blocks = x.len() / block.max(1);
    if blocks < 2 {
        return None;
    }
    let w = 2.0 * PI * nominal / f64::from(rate);
    let mut phases = Vec::with_capacity(blocks);
    let mut level = 0.0;
    for b in 0..blocks {
        let mut acc = Complex::ZERO;
        for (n, v) in x.iter().enumerate().skip(b * block).take(block) {
            acc = acc + Complex::unit(-w * n as f64).scale(*v);
        }
        level += acc.abs();
        phases.push(acc.arg());
    }
    if level / blocks as f64 / block as f64 <= 1e-9 {
        return None;
    }
    // Unwrap, then a least-squares line through (block centre, phase).
    for i in 1..phases.len() {
        let mut d = phases[i] - phases[i - 1];
        while d > PI {
            d -= 2.0 * PI;
        }
        while d < -PI {
            d += 2.0 * PI;
        }
        phases[i] = phases[i - 1] + d;
    }
    let n = phases.len() as f64;
    let mean_t = (n - 1.0) / 2.0;
    let mean_p = phases.iter().sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (i, p) in phases.iter().enumerate() {
        let t = i as f64 - mean_t;
        num += t * (p - mean_p);
        den += t * t;
    }
    let radians_per_block = num / den;
    Some(nominal + radians_per_block / (2.0 * PI) * f64::from(rate) / block as f64)
}

/// How much faster the recording device's clock runs than the playing
/// device's, ppm, from a tone played at `played_freq` (by the player's
/// clock) and found at `found_freq` (by the recorder's).
pub fn drift_ppm(played_freq: f64, found_freq: f64) -> f64 {
    (played_freq / found_freq - 1.0) * 1e6
}

/// What a glitch looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GlitchKind {
    /// The tone stopped (silence) for a while.
    Dropout,
    /// A one- or two-sample spike.
    Click,
    /// A break in the tone's phase: samples repeated or skipped.
    Discontinuity,
}

/// One glitch found.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Glitch {
    /// Its first sample, in frames from the start of the recording.
    pub frame: usize,
    /// The same in seconds.
    pub seconds: f64,
    /// Frames from its first to its last disturbed sample.
    pub frames: usize,
    pub kind: GlitchKind,
    /// Its largest prediction error, dB relative to the tone's amplitude.
    pub peak_db: f64,
}

/// Glitches in a steady tone of about `nominal` Hz that fills
/// `x[start..end]` (the rest of `x` is not looked at).
pub fn find_glitches(x: &[f64], rate: u32, nominal: f64, start: usize, end: usize) -> Vec<Glitch> {
    let end = end.min(x.len());
    if end < start + 3 {
        return Vec::new();
    }
    let region = &x[start..end];
    let freq = tone_frequency(region, rate, nominal).unwrap_or(nominal);
    let c = 2.0 * (2.0 * PI * freq / f64::from(rate)).cos();
    let e: Vec<f64> = (2..region.len()).map(|n| region[n] - c * region[n - 1] + region[n - 2]).collect();
    let amplitude = (2.0 * region.iter().map(|v| v * v).sum::<f64>() / region.len() as f64).sqrt();
    let mut mags: Vec<f64> = e.iter().map(|v| v.abs()).collect();
    let mid = mags.len() / 2;
    let median = *mags.select_nth_unstable_by(mid, f64::total_cmp).1;
    let sigma = median / 0.6745;
    let threshold = (10.0 * sigma).max(amplitude * 2e-4);
    let quiet = amplitude * 1e-3;
    let gap = (rate / 100) as usize;
    let mut events: Vec<(usize, usize, f64)> = Vec::new(); // first, last, peak (indices into region)
    for (i, v) in e.iter().enumerate() {
        if v.abs() <= threshold {
            continue;
        }
        let at = i + 2;
        match events.last_mut() {
            Some(ev) if at - ev.1 <= gap => {
                ev.1 = at;
                ev.2 = ev.2.max(v.abs());
            }
            _ => events.push((at, at, v.abs())),
        }
    }
    events
        .into_iter()
        .map(|(first, last, peak)| {
            let span = &region[first.saturating_sub(1)..(last + 1).min(region.len())];
            let mut run = 0;
            let mut longest = 0;
            for v in span {
                run = if v.abs() < quiet { run + 1 } else { 0 };
                longest = longest.max(run);
            }
            let kind = if longest >= 8 {
                GlitchKind::Dropout
            } else if last - first <= 2 && isolated(region, first, c, threshold) {
                GlitchKind::Click
            } else {
                GlitchKind::Discontinuity
            };
            let frame = start + first;
            Glitch {
                frame,
                seconds: frame as f64 / f64::from(rate),
                frames: last - first + 1,
                kind,
                peak_db: 20.0 * (peak / amplitude.max(1e-300)).log10(),
            }
        })
        .collect()
}

/// Whether sample `n` alone is off the sine: the two-step prediction
/// across it (`x[n+1] = (c² - 2)·x[n-1] - x[n-3]`) still holds, as it does
/// not across a skip or a repeat.
fn isolated(x: &[f64], n: usize, c: f64, threshold: f64) -> bool {
    if n < 3 || n + 1 >= x.len() {
        return false;
    }
    (x[n + 1] - (c * c - 2.0) * x[n - 1] + x[n - 3]).abs() <= 2.0 * threshold
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fft::sine;

    #[test]
    fn a_tone_s_frequency_is_found_to_a_fraction_of_a_ppm() {
        let rate = 48_000;
        for f in [997.0, 1000.0, 1000.12, 999.88] {
            let x = sine(f, 0.5, rate, 480_000);
            let got = tone_frequency(&x, rate, 1000.0).unwrap();
            assert!((got / f - 1.0).abs() < 0.05e-6, "{f}: {got}");
        }
        assert_eq!(tone_frequency(&vec![0.0; 48_000], rate, 1000.0), None);
    }

    #[test]
    fn drift_reads_in_ppm_with_its_sign() {
        // A recorder whose clock is 120 ppm fast hears 1 kHz a little low.
        let found = 1000.0 / (1.0 + 120e-6);
        assert!((drift_ppm(1000.0, found) - 120.0).abs() < 1e-6);
    }

    #[test]
    fn dropouts_repeats_and_clicks_are_found_where_they_are_and_nothing_else() {
        let rate = 48_000;
        let clean = sine(1000.0, 0.5, rate, 480_000);
        // A little noise and a -80 dB third harmonic, which are not glitches.
        let mut x: Vec<f64> = clean
            .iter()
            .enumerate()
            .map(|(n, v)| v + 0.5e-4 * (2.0 * PI * 3000.0 * n as f64 / 48_000.0).sin())
            .collect();
        let mut s = 1u64;
        for v in x.iter_mut() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            *v += ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 1e-5;
        }
        // Dropout at 1.0 s, 100 samples repeated at 2.5 s, a click at 4.0 s, a
        // one-sample skip at 6.0 s.
        x[48_000..48_240].iter_mut().for_each(|v| *v = 0.0);
        for n in 120_000..120_100 {
            x[n] = x[n - 100];
        }
        x[192_000] += 0.5;
        x.remove(288_000);
        let found = find_glitches(&x, rate, 1000.0, 100, x.len() - 100);
        let want = [
            (48_000, GlitchKind::Dropout),
            (120_000, GlitchKind::Discontinuity),
            (192_000, GlitchKind::Click),
            (288_000, GlitchKind::Discontinuity),
        ];
        assert_eq!(found.len(), want.len(), "{found:?}");
        for (g, (frame, kind)) in found.iter().zip(want) {
            // A dropout that starts on a zero crossing shows one sample late.
            assert!(g.frame.abs_diff(frame) <= 1 && g.kind == kind, "{g:?}, want {kind:?} at {frame}");
        }
        assert!(find_glitches(&clean, rate, 1000.0, 0, clean.len()).is_empty());
    }
}
