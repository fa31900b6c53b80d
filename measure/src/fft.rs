//! A radix-2 FFT on complex f64, and the helpers the methods share.
//!
//! Power-of-two lengths only: every caller pads to one. Forward transforms
//! are unscaled; [`inverse`] divides by the length, so
//! `inverse(forward(x)) == x`.

use std::f64::consts::PI;
use std::ops::{Add, Mul, Sub};

/// A complex number.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Complex {
    pub re: f64,
    pub im: f64,
}

impl Complex {
    pub const ZERO: Complex = Complex { re: 0.0, im: 0.0 };
    pub fn new(re: f64, im: f64) -> Complex {
        Complex { re, im }
    }
    /// `e^(i·phase)`.
    pub fn unit(phase: f64) -> Complex {
        Complex { re: phase.cos(), im: phase.sin() }
    }
    pub fn conj(self) -> Complex {
        Complex { re: self.re, im: -self.im }
    }
    pub fn norm_sqr(self) -> f64 {
        self.re * self.re + self.im * self.im
    }
    pub fn abs(self) -> f64 {
        self.re.hypot(self.im)
    }
    pub fn arg(self) -> f64 {
        self.im.atan2(self.re)
    }
    pub fn scale(self, k: f64) -> Complex {
        Complex { re: self.re * k, im: self.im * k }
    }
    /// `self / other`, or zero when `other` is zero.
    pub fn ratio(self, other: Complex) -> Complex {
        let d = other.norm_sqr();
        if d == 0.0 {
            return Complex::ZERO;
        }
        (self * other.conj()).scale(1.0 / d)
    }
}

impl Add for Complex {
    type Output = Complex;
    fn add(self, o: Complex) -> Complex {
        Complex { re: self.re + o.re, im: self.im + o.im }
    }
}

impl Sub for Complex {
    type Output = Complex;
    fn sub(self, o: Complex) -> Complex {
        Complex { re: self.re - o.re, im: self.im - o.im }
    }
}

impl Mul for Complex {
    type Output = Complex;
    fn mul(self, o: Complex) -> Complex {
        Complex { re: self.re * o.re - self.im * o.im, im: self.re * o.im + self.im * o.re }
    }
}

/// The smallest power of two at least `n` (and at least 2).
pub fn size_for(n: usize) -> usize {
    n.max(2).next_power_of_two()
}

fn transform(data: &mut [Complex], sign: f64) {
    let n = data.len();
    assert!(n.is_power_of_two(), "FFT length {n} is not a power of two");
    // Bit-reversed order.
    let bits = n.trailing_zeros();
    for i in 0..n {
        let j = i.reverse_bits() >> (usize::BITS - bits);
        if j > i {
            data.swap(i, j);
        }
    }
    let mut len = 2;
    while len <= n {
        let step = Complex::unit(sign * 2.0 * PI / len as f64);
        // Twiddles for this stage, computed once (exact per index, not by
        // repeated multiplication, which drifts over long transforms).
        let half = len / 2;
        let twiddles: Vec<Complex> = if half > 64 {
            (0..half).map(|k| Complex::unit(sign * 2.0 * PI * k as f64 / len as f64)).collect()
        } else {
            let mut w = Complex::new(1.0, 0.0);
            (0..half)
                .map(|_| {
                    let t = w;
                    w = w * step;
                    t
                })
                .collect()
        };
        for chunk in data.chunks_mut(len) {
            let (a, b) = chunk.split_at_mut(half);
            for k in 0..half {
                let t = b[k] * twiddles[k];
                b[k] = a[k] - t;
                a[k] = a[k] + t;
            }
        }
        len *= 2;
    }
}

/// Forward transform in place (length a power of two).
pub fn forward(data: &mut [Complex]) {
    transform(data, -1.0);
}

/// Inverse transform in place, scaled by 1/n.
pub fn inverse(data: &mut [Complex]) {
    transform(data, 1.0);
    let k = 1.0 / data.len() as f64;
    for v in data.iter_mut() {
        *v = v.scale(k);
    }
}

/// The spectrum of a real signal zero-padded to `n` (a power of two).
pub fn real_spectrum(x: &[f64], n: usize) -> Vec<Complex> {
    let mut data: Vec<Complex> = x.iter().take(n).map(|&v| Complex::new(v, 0.0)).collect();
    data.resize(n, Complex::ZERO);
    forward(&mut data);
    data
}

/// The real part of an inverse transform.
pub fn real_inverse(mut spectrum: Vec<Complex>) -> Vec<f64> {
    inverse(&mut spectrum);
    spectrum.into_iter().map(|c| c.re).collect()
}

/// Power (mean square) to dB.
pub fn power_db(p: f64) -> f64 {
    10.0 * p.max(1e-300).log10()
}

/// Amplitude ratio to dB.
pub fn amp_db(a: f64) -> f64 {
    20.0 * a.max(1e-300).log10()
}

/// Mean square of a signal.
pub fn mean_square(x: &[f64]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64
}

/// A sine of `amplitude` (peak, full scale 1.0) at `freq` Hz, `frames` long.
pub fn sine(freq: f64, amplitude: f64, rate: u32, frames: usize) -> Vec<f64> {
    let w = 2.0 * PI * freq / f64::from(rate);
    (0..frames).map(|n| amplitude * (w * n as f64).sin()).collect()
}

/// Raised-cosine fades `frames` long at both ends of `x`, so that a test
/// signal starts and ends without a click.
pub fn fade(x: &mut [f64], frames: usize) {
    let n = x.len();
    let f = frames.min(n / 2);
    for i in 0..f {
        let g = 0.5 - 0.5 * (PI * i as f64 / f as f64).cos();
        x[i] *= g;
        x[n - 1 - i] *= g;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bin_centred_tone_lands_in_its_bin() {
        let n = 1024;
        let x: Vec<f64> = (0..n).map(|i| (2.0 * PI * 37.0 * i as f64 / n as f64).cos()).collect();
        let s = real_spectrum(&x, n);
        assert!((s[37].abs() - n as f64 / 2.0).abs() < 1e-6);
        assert!((s[n - 37].abs() - n as f64 / 2.0).abs() < 1e-6);
        let others = s.iter().enumerate().filter(|(k, _)| *k != 37 && *k != n - 37).map(|(_, c)| c.abs());
        assert!(others.fold(0.0, f64::max) < 1e-6);
    }

    #[test]
    fn inverse_undoes_forward() {
        let x: Vec<f64> = (0..4096).map(|i| ((i * 7919) % 1000) as f64 / 1000.0 - 0.5).collect();
        let back = real_inverse(real_spectrum(&x, 4096));
        let worst = x.iter().zip(&back).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-12, "{worst}");
    }

    #[test]
    fn parseval_holds() {
        let x: Vec<f64> = (0..2048).map(|i| ((i * 31) % 17) as f64 - 8.0).collect();
        let s = real_spectrum(&x, 2048);
        let time: f64 = x.iter().map(|v| v * v).sum();
        let freq: f64 = s.iter().map(|c| c.norm_sqr()).sum::<f64>() / 2048.0;
        assert!((time - freq).abs() < 1e-6 * time);
    }
}
