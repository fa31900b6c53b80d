//! Frequency response by exponential sine sweep with deconvolution
//! (Farina's method): the device plays a sweep whose frequency rises
//! exponentially; dividing the recording's spectrum by the sweep's gives the
//! impulse response, in which each harmonic's distortion products land
//! *before* the linear response (the k-th at `L·ln k` seconds earlier). A
//! window around the linear response's peak keeps it alone; its spectrum is
//! the magnitude and phase, with the round trip's delay taken out.

use std::f64::consts::PI;

use crate::fft::{amp_db, fade, real_inverse, real_spectrum, size_for, Complex};

/// The sweep a response measurement plays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sweep {
    /// Start and end frequency, Hz.
    pub f1: f64,
    pub f2: f64,
    pub seconds: f64,
    /// Peak level, dBFS (a full-scale sine is 0).
    pub level_dbfs: f64,
    pub rate: u32,
}

impl Sweep {
    /// The sweep for a device at `rate`: 10 Hz to 0.98 of Nyquist in
    /// `seconds`, at -6 dBFS.
    pub fn for_rate(rate: u32, seconds: f64) -> Sweep {
        Sweep { f1: 10.0, f2: 0.49 * f64::from(rate), seconds, level_dbfs: -6.0, rate }
    }

    /// `L`: the time the sweep takes to rise by a factor of e.
    fn rate_constant(&self) -> f64 {
        self.seconds / (self.f2 / self.f1).ln()
    }

    /// The samples, with 20 ms fades at both ends.
    pub fn samples(&self) -> Vec<f64> {
        let fs = f64::from(self.rate);
        let n = (self.seconds * fs).round() as usize;
        let l = self.rate_constant();
        let a = 10f64.powf(self.level_dbfs / 20.0);
        let mut x: Vec<f64> =
            (0..n).map(|i| a * (2.0 * PI * self.f1 * l * ((i as f64 / fs / l).exp() - 1.0)).sin()).collect();
        fade(&mut x, (0.02 * fs) as usize);
        x
    }
}

/// A measured response.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Response {
    /// Frequencies, Hz (1/24 octave apart).
    pub freqs: Vec<f64>,
    /// Gain at each frequency, dB (0: the level played came back).
    pub magnitude_db: Vec<f64>,
    /// Phase at each frequency with the delay taken out, degrees (-180..180).
    pub phase_deg: Vec<f64>,
    /// Where the linear response peaks, in frames from the sweep's start.
    pub delay_frames: usize,
}

impl Response {
    /// The gain at `f` Hz, interpolated on the log-frequency grid.
    pub fn gain_at(&self, f: f64) -> Option<f64> {
        let i = self.freqs.iter().position(|&x| x >= f)?;
        if i == 0 {
            return self.magnitude_db.first().copied();
        }
        let (f0, f1) = (self.freqs[i - 1].ln(), self.freqs[i].ln());
        let t = (f.ln() - f0) / (f1 - f0);
        Some(self.magnitude_db[i - 1] + t * (self.magnitude_db[i] - self.magnitude_db[i - 1]))
    }

    /// The largest departure, dB, from the gain at `reference` Hz over
    /// `lo..=hi` Hz.
    pub fn deviation(&self, reference: f64, lo: f64, hi: f64) -> Option<f64> {
        let r = self.gain_at(reference)?;
        self.freqs
            .iter()
            .zip(&self.magnitude_db)
            .filter(|(f, _)| (lo..=hi).contains(*f))
            .map(|(_, m)| (m - r).abs())
            .reduce(f64::max)
    }
}

/// The upper band edge: 1 below `hi`, falling to 0 over half an octave
/// above it. Zero-phase, and wide in Hz, so its impulse response is short
/// and stays inside the window.
fn top_mask(f: f64, hi: f64) -> f64 {
    if f <= hi {
        1.0
    } else {
        0.5 + 0.5 * (PI * ((f / hi).log2() * 2.0).min(1.0)).cos()
    }
}

/// The lower band edge: a 2nd-order Butterworth high-pass (digital,
/// bilinear) at `fc`, as (b, a) coefficients. Unlike a zero-phase mask,
/// whose impulse response would spread as far before the peak as after it
/// (a few Hz wide, hundreds of milliseconds), a causal filter rings only
/// after the peak, inside the window; its exact response is divided out.
fn highpass(fc: f64, fs: f64) -> ([f64; 3], [f64; 3]) {
    let k = (PI * fc / fs).tan();
    let q = std::f64::consts::FRAC_1_SQRT_2;
    let norm = 1.0 / (1.0 + k / q + k * k);
    ([norm, -2.0 * norm, norm], [1.0, 2.0 * (k * k - 1.0) * norm, (1.0 - k / q + k * k) * norm])
}

/// A biquad's response at `f` Hz.
fn biquad_at(c: &([f64; 3], [f64; 3]), f: f64, fs: f64) -> Complex {
    let z1 = Complex::unit(-2.0 * PI * f / fs);
    let z2 = z1 * z1;
    let poly = |p: &[f64; 3]| Complex::new(p[0], 0.0) + z1.scale(p[1]) + z2.scale(p[2]);
    poly(&c.0).ratio(poly(&c.1))
}

/// The response of the path that turned `played` (a [`Sweep`]) into
/// `recorded` (the input from the same start, long enough to hold the
/// sweep after the round trip), reported from `lo` to `hi` Hz. `None` when
/// the recording holds nothing of the sweep.
pub fn measure(sweep: &Sweep, played: &[f64], recorded: &[f64], lo: f64, hi: f64) -> Option<Response> {
    let fs = f64::from(sweep.rate);
    let n = size_for(played.len() + recorded.len());
    let x = real_spectrum(played, n);
    let y = real_spectrum(recorded, n);
    let hp = highpass(sweep.f1 / 2.0, fs);
    let floor = x.iter().map(|c| c.norm_sqr()).fold(0.0, f64::max) * 1e-10;
    let h: Vec<Complex> = x
        .iter()
        .zip(&y)
        .enumerate()
        .map(|(k, (xk, yk))| {
            if xk.norm_sqr() < floor {
                return Complex::ZERO; // nothing was played here: no answer, only noise
            }
            let f = k.min(n - k) as f64 * fs / n as f64;
            let edge = if k <= n / 2 { biquad_at(&hp, f, fs) } else { biquad_at(&hp, f, fs).conj() };
            (yk.ratio(*xk) * edge).scale(top_mask(f, sweep.f2 / 1.05))
        })
        .collect();
    let ir = real_inverse(h);
    // The linear response: the largest peak at a non-negative lag within the
    // recording (harmonics sit at negative lags, at the end of the buffer).
    let (peak, height) =
        ir[..recorded.len().min(n)].iter().enumerate().map(|(i, v)| (i, v.abs())).max_by(|a, b| a.1.total_cmp(&b.1))?;
    if height < 1e-6 {
        return None;
    }
    // Window: 5 ms before the peak (a filter's pre-ringing), and up to
    // 300 ms after (20 Hz resolution), stopping short of the second
    // harmonic's response, which comes L·ln 2 before the next sweep's.
    let pre = (0.005 * fs) as usize;
    let post = ((0.3 * fs) as usize).min(n / 2 - pre);
    let m = size_for(pre + post);
    let mut g = vec![0.0; m];
    for j in 0..pre + post {
        let src = (peak + n - pre + j) % n;
        let w = if j < pre {
            0.5 - 0.5 * (PI * j as f64 / pre as f64).cos()
        } else {
            let t = (j - pre) as f64 / post as f64;
            if t < 0.8 {
                1.0
            } else {
                0.5 + 0.5 * (PI * (t - 0.8) / 0.2).cos()
            }
        };
        // Lag 0 (the peak) at index 0; earlier lags wrap to the end.
        let dst = (j + m - pre) % m;
        g[dst] = ir[src] * w;
    }
    let spec = real_spectrum(&g, m);
    let bin = |f: f64| f * m as f64 / fs;
    let at = |f: f64| {
        let b = bin(f);
        let k = (b.floor() as usize).min(m / 2 - 1);
        let t = b - k as f64;
        spec[k].scale(1.0 - t) + spec[k + 1].scale(t)
    };
    let mut freqs = Vec::new();
    let mut f = lo;
    while f <= hi.min(fs / 2.0) * 1.0001 {
        freqs.push(f);
        f *= 2f64.powf(1.0 / 24.0);
    }
    let value = |f: f64| at(f).ratio(biquad_at(&hp, f, fs));
    let magnitude_db = freqs.iter().map(|&f| amp_db(value(f).abs())).collect();
    let phase_deg = freqs.iter().map(|&f| value(f).arg().to_degrees()).collect();
    Some(Response { freqs, magnitude_db, phase_deg, delay_frames: peak })
}

#[cfg(test)]
mod tests {
    use super::*;
    use outboard_emu::loopback::Biquad;

    fn delayed(x: &[f64], d: usize, extra: usize) -> Vec<f64> {
        let mut y = vec![0.0; d];
        y.extend_from_slice(x);
        y.resize(x.len() + d + extra, 0.0);
        y
    }

    #[test]
    fn a_delay_and_a_gain_read_flat_at_the_gain() {
        let s = Sweep::for_rate(48_000, 1.0);
        let x = s.samples();
        let g = 10f64.powf(-0.5 / 20.0);
        let y: Vec<f64> = delayed(&x, 123, 4800).iter().map(|v| v * g).collect();
        let r = measure(&s, &x, &y, 20.0, 20_000.0).unwrap();
        assert_eq!(r.delay_frames, 123);
        for (f, m) in r.freqs.iter().zip(&r.magnitude_db) {
            assert!((m + 0.5).abs() < 0.02, "{f} Hz: {m} dB");
        }
        for (f, p) in r.freqs.iter().zip(&r.phase_deg) {
            assert!(p.abs() < 1.0, "{f} Hz: {p} degrees");
        }
    }

    #[test]
    fn a_lowpass_reads_as_its_own_curve_and_distortion_stays_out() {
        let rate = 48_000;
        let s = Sweep::for_rate(rate, 2.0);
        let x = s.samples();
        let mut lp = Biquad::lowpass(18_000.0, rate);
        // A third-harmonic distortion at -40 dB: its products go before
        // the linear response and out of the window.
        let y: Vec<f64> =
            delayed(&x, 50, 9600).iter().map(|&v| lp.run(v + 0.01 * (4.0 * v * v * v - 3.0 * v))).collect();
        let r = measure(&s, &x, &y, 20.0, 20_000.0).unwrap();
        let reference = Biquad::lowpass(18_000.0, rate);
        // The cubic term also lowers the fundamental: by 3k(A²-1) at amplitude A.
        let a = 10f64.powf(s.level_dbfs / 20.0);
        for (f, m) in r.freqs.iter().zip(&r.magnitude_db) {
            let want = reference.gain_db(*f) + amp_db(1.0 + 0.03 * (a * a - 1.0));
            assert!((m - want).abs() < 0.1, "{f} Hz: {m} dB, want {want}");
        }
        let at_18k = r.gain_at(18_000.0).unwrap() - amp_db(1.0 + 0.03 * (a * a - 1.0));
        assert!((at_18k + 3.01).abs() < 0.05, "{at_18k}");
    }
}
