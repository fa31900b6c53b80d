//! Resampling by a ratio close to 1: what one clock's samples look like on
//! another's (a drifting card in an emulator, a recording followed back to
//! the clock that played it). A windowed sinc, [`HALF_TAPS`] taps each side,
//! Blackman-Harris window: flat within 0.01 dB to 0.8 of Nyquist.

use std::f64::consts::PI;

/// Taps each side of the kernel.
pub const HALF_TAPS: usize = 32;

/// The kernel's weight for a sample `x` frames from the point wanted.
pub fn kernel(x: f64) -> f64 {
    let h = HALF_TAPS as f64;
    if x.abs() >= h {
        return 0.0;
    }
    let sinc = if x == 0.0 { 1.0 } else { (PI * x).sin() / (PI * x) };
    let u = (x + h) / (2.0 * h); // 0..1 across the window
    let w = 0.35875 - 0.48829 * (2.0 * PI * u).cos() + 0.14128 * (4.0 * PI * u).cos() - 0.01168 * (6.0 * PI * u).cos();
    sinc * w
}

/// `x` at the fractional position `at` (zero outside it).
pub fn at(x: &[f64], at: f64) -> f64 {
    let base = at.floor() as i64 - HALF_TAPS as i64 + 1;
    (0..2 * HALF_TAPS as i64)
        .map(|k| base + k)
        .filter(|&n| n >= 0 && (n as usize) < x.len())
        .map(|n| kernel(at - n as f64) * x[n as usize])
        .sum()
}

/// `x`, sampled by a clock `ratio` times as fast, seen on the slower (or
/// faster) clock it is compared with: sample `n` of the result is `x` at
/// `n · ratio`.
pub fn by_ratio(x: &[f64], ratio: f64) -> Vec<f64> {
    if ratio == 1.0 {
        return x.to_vec();
    }
    let n = (x.len() as f64 / ratio).floor() as usize;
    (0..n).map(|i| at(x, i as f64 * ratio)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_keeps_its_level_and_takes_the_new_clock() {
        let w = 2.0 * PI * 1000.0 / 48_000.0;
        // Sampled 120 ppm fast: 1 kHz reads low on that clock.
        let ratio = 1.0 + 120e-6;
        let fast: Vec<f64> = (0..48_000).map(|n| 0.5 * (w * n as f64 / ratio).sin()).collect();
        let back = by_ratio(&fast, ratio);
        let worst = (100..back.len() - 100).map(|n| (back[n] - 0.5 * (w * n as f64).sin()).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-5, "{worst}");
        assert_eq!(by_ratio(&fast, 1.0), fast);
    }

    #[test]
    fn the_kernel_is_an_interpolator() {
        assert_eq!(kernel(0.0), 1.0);
        for k in 1..HALF_TAPS as i32 {
            assert!(kernel(f64::from(k)).abs() < 1e-12);
        }
        let x: Vec<f64> = (0..200).map(|n| (n as f64 * 0.1).sin()).collect();
        assert!((at(&x, 100.0) - x[100]).abs() < 1e-12);
    }
}
