//! Measuring a resampler: the signal-to-noise ratio of a sine of known
//! frequency, as the tests and `benches/resample.rs` report it (and
//! `benches/libsamplerate_bench.c` computes it the same way for libsamplerate).
//!
//! The method: least-squares fit `a·sin(ωn) + b·cos(ωn)` with ω the exact
//! frequency the tone must have at the output rate (so the fit finds the
//! level and the phase, which absorbs the filter's delay); everything the fit
//! does not explain is noise: aliasing, imaging, rounding, distortion and any
//! DC. SNR = 10·log10(Σ fit² / Σ (signal − fit)²), over a stretch of output
//! that leaves out the filter's start-up and the end.

use std::f64::consts::PI;

/// A sine fitted to a signal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SineFit {
    /// Peak amplitude of the fitted sine.
    pub amplitude: f64,
    /// Phase of the fitted sine at the first sample, in radians
    /// (`amplitude · sin(ωn + phase)`).
    pub phase: f64,
    /// Signal-to-noise ratio in dB: fitted sine over residual.
    pub snr_db: f64,
    /// Largest absolute residual (signal − fit) of any one sample.
    pub max_error: f64,
}

/// Fits a sine of `cycles_per_sample` (frequency / sample rate) to one
/// channel of interleaved `samples`: every `stride`-th sample starting at
/// `offset`.
///
/// # Panics
///
/// If `stride` is 0 or fewer than two samples are selected.
pub fn fit_sine(samples: &[f32], stride: usize, offset: usize, cycles_per_sample: f64) -> SineFit {
    assert!(stride > 0, "stride must be at least 1");
    let w = 2.0 * PI * cycles_per_sample;
    let channel = || samples.iter().skip(offset).step_by(stride).map(|&v| f64::from(v));
    let (mut ss, mut sc, mut cc, mut ys, mut yc, mut n) = (0.0, 0.0, 0.0, 0.0, 0.0, 0usize);
    for (i, y) in channel().enumerate() {
        let (s, c) = (w * i as f64).sin_cos();
        ss += s * s;
        sc += s * c;
        cc += c * c;
        ys += y * s;
        yc += y * c;
        n += 1;
    }
    assert!(n >= 2, "need at least two samples to fit a sine");
    // Normal equations [ss sc; sc cc] [a; b] = [ys; yc].
    let det = ss * cc - sc * sc;
    let a = (ys * cc - yc * sc) / det;
    let b = (yc * ss - ys * sc) / det;
    let (mut signal, mut noise, mut max_error) = (0.0, 0.0, 0.0f64);
    for (i, y) in channel().enumerate() {
        let (s, c) = (w * i as f64).sin_cos();
        let fit = a * s + b * c;
        signal += fit * fit;
        noise += (y - fit) * (y - fit);
        max_error = max_error.max((y - fit).abs());
    }
    SineFit { amplitude: a.hypot(b), phase: b.atan2(a), snr_db: 10.0 * (signal / noise).log10(), max_error }
}

/// `frames` interleaved frames of a sine of `freq` Hz at `rate` Hz, peak
/// `amplitude`, computed in f64; channel `c` is shifted by `c · π/2` so that
/// channels cannot be swapped unnoticed.
pub fn sine(freq: f64, rate: f64, amplitude: f64, frames: usize, channels: usize) -> Vec<f32> {
    let w = 2.0 * PI * freq / rate;
    (0..frames)
        .flat_map(|n| (0..channels).map(move |c| (amplitude * (w * n as f64 + c as f64 * PI / 2.0).sin()) as f32))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_a_clean_sine_and_sees_noise() {
        let s = sine(1000.0, 48_000.0, 0.5, 4800, 2);
        let left = fit_sine(&s, 2, 0, 1000.0 / 48_000.0);
        assert!((left.amplitude - 0.5).abs() < 1e-6);
        assert!(left.phase.abs() < 1e-6);
        assert!(left.snr_db > 140.0, "{left:?}");
        let right = fit_sine(&s, 2, 1, 1000.0 / 48_000.0);
        assert!((right.phase - PI / 2.0).abs() < 1e-6);
        // Add a tone 60 dB down: the SNR reads 60 dB.
        let tone = sine(3000.0, 48_000.0, 0.0005, 4800, 1);
        let mixed: Vec<f32> = s.iter().step_by(2).zip(&tone).map(|(a, b)| a + b).collect();
        let fit = fit_sine(&mixed, 1, 0, 1000.0 / 48_000.0);
        assert!((fit.snr_db - 60.0).abs() < 0.1, "{fit:?}");
    }
}
