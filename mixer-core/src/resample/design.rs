//! Filter design: one Kaiser-windowed sinc low-pass prototype per resampler,
//! sampled into the two coefficient tables the kernels read.
//!
//! All positions here are in *input* frames. The prototype is designed at the
//! lower of the two rates (its −6 dB point at 0.96 of that rate's Nyquist
//! frequency) and
//! stretched by `in_rate / out_rate` when downsampling, so that downsampling
//! filters out everything the output cannot represent (anti-aliasing) and
//! upsampling filters out the images above the input's Nyquist frequency.

use std::f64::consts::PI;

use super::kernel::LANES;

/// Taps of the prototype at the lower of the two rates, before rounding up
/// to a multiple of [`LANES`]. Downsampling by `r` uses `r` times as many.
///
/// With [`STOPBAND_DB`] and [`CUTOFF`] this gives (tested below): flat within
/// ±0.001 dB up to 0.84 of the lower rate's Nyquist frequency (18.5 kHz at
/// 44.1 kHz), at least 120 dB down from 1.095 of it (24.1 kHz) and 128 dB
/// from 1.2 of it. The transition band straddles Nyquist: an image or alias
/// less than 120 dB down can only come from below 1.095 of Nyquist, so it
/// lands above 0.905 of Nyquist (20 kHz at 44.1 kHz), never lower.
pub(crate) const BASE_TAPS: usize = 64;

/// Stopband attenuation the Kaiser window is designed for, in dB.
pub(crate) const STOPBAND_DB: f64 = 130.0;

/// Kaiser window shape for [`STOPBAND_DB`]: 0.1102 · (A − 8.7) (Kaiser's formula).
pub(crate) const BETA: f64 = 0.1102 * (STOPBAND_DB - 8.7);

/// The −6 dB point as a fraction of the lower rate's Nyquist frequency.
pub(crate) const CUTOFF: f64 = 0.96;

/// Ceiling on one table's size in coefficients (256 KiB of f32). The exact
/// per-phase table is used only below it; the oversampled table is sized to it.
pub(crate) const TABLE_MAX: usize = 1 << 16;

/// Most and fewest rows per input frame of the oversampled table.
const MAX_PHASES: usize = 1024;
const MIN_PHASES: usize = 32;

/// The low-pass prototype for one pair of rates.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prototype {
    /// Taps of one phase (a multiple of [`LANES`]): the window, in input frames.
    pub taps: usize,
    /// Cutoff in cycles per input frame times two (1.0 = the input's Nyquist).
    pub cutoff: f64,
    /// Kaiser β.
    pub beta: f64,
    /// 1 / I0(β), the window's normalisation.
    inv_i0_beta: f64,
    /// Makes the DC gain, averaged over all fractional positions, exactly 1.
    gain: f64,
}

impl Prototype {
    /// The prototype for converting `in_rate` to `out_rate`.
    pub fn new(in_rate: u32, out_rate: u32) -> Prototype {
        let stretch = (f64::from(in_rate) / f64::from(out_rate)).max(1.0);
        let taps = ((BASE_TAPS as f64 * stretch).ceil() as usize).next_multiple_of(LANES);
        let mut p =
            Prototype { taps, cutoff: CUTOFF / stretch, beta: BETA, inv_i0_beta: 1.0 / bessel_i0(BETA), gain: 1.0 };
        // Average DC gain over a grid of fractional positions: the integral
        // of the prototype. Every table is scaled by its inverse.
        const GRID: usize = 64;
        let sum: f64 = (0..GRID)
            .map(|i| {
                let frac = i as f64 / GRID as f64;
                (0..taps).map(|j| p.at(p.centre_tap() + frac - j as f64)).sum::<f64>()
            })
            .sum();
        p.gain = GRID as f64 / sum;
        p
    }

    /// Index of the tap at or just before the output position (taps/2 − 1):
    /// an output at fractional position `frac` uses input frames
    /// `start..start + taps` and its centre lies `centre_tap() + frac`
    /// frames after `start`.
    pub fn centre_tap(&self) -> f64 {
        (self.taps / 2 - 1) as f64
    }

    /// The (unnormalised) impulse response `tau` input frames from its centre.
    fn at(&self, tau: f64) -> f64 {
        let half = (self.taps / 2) as f64;
        if tau.abs() >= half {
            return 0.0;
        }
        let x = self.cutoff * tau;
        let sinc = if x == 0.0 { 1.0 } else { (PI * x).sin() / (PI * x) };
        let r = tau / half;
        let window = bessel_i0(self.beta * (1.0 - r * r).sqrt()) * self.inv_i0_beta;
        self.cutoff * sinc * window
    }

    /// Coefficients for an output `frac` ∈ [0, 1] frames after the centre
    /// tap, oldest input frame first.
    pub fn fill_row(&self, frac: f64, row: &mut [f32]) {
        let centre = self.centre_tap() + frac;
        for (j, c) in row.iter_mut().enumerate() {
            *c = (self.gain * self.at(centre - j as f64)) as f32;
        }
    }

    /// One row per fractional position `k / rows`, k in `0..rows`: the exact
    /// table of a rational ratio with `rows` as its denominator.
    pub fn exact_table(&self, rows: usize) -> Vec<f32> {
        let mut table = vec![0.0; rows * self.taps];
        for (k, row) in table.chunks_exact_mut(self.taps).enumerate() {
            self.fill_row(k as f64 / rows as f64, row);
        }
        table
    }

    /// Rows per input frame of the oversampled table: a power of two,
    /// as many as fit in [`TABLE_MAX`] (fewer needed when the prototype is
    /// stretched: it is smoother, so linear interpolation is as accurate).
    pub fn oversampling(&self) -> usize {
        let fit = TABLE_MAX / self.taps;
        let pow2 = if fit.is_power_of_two() { fit } else { fit.next_power_of_two() / 2 };
        pow2.clamp(MIN_PHASES, MAX_PHASES)
    }

    /// `oversampling() + 1` rows, for fractional positions `k / oversampling()`,
    /// k in `0..=oversampling()`, so that row `k + 1` always exists.
    pub fn oversampled_table(&self) -> Vec<f32> {
        let rows = self.oversampling();
        let mut table = vec![0.0; (rows + 1) * self.taps];
        for (k, row) in table.chunks_exact_mut(self.taps).enumerate() {
            self.fill_row(k as f64 / rows as f64, row);
        }
        table
    }
}

/// The modified Bessel function of the first kind, order 0 (power series;
/// converges quickly for the arguments a Kaiser window needs, below 50).
pub(crate) fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let (mut term, mut sum, mut k) = (1.0f64, 1.0f64, 1.0f64);
    loop {
        term *= q / (k * k);
        sum += term;
        if term < sum * 1e-17 {
            return sum;
        }
        k += 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// |H(f)| in dB of a prototype, `f` in cycles per input frame, from its
    /// densely sampled impulse response (64 points per frame).
    fn response_db(p: &Prototype, f: f64) -> f64 {
        const OVER: usize = 64;
        let (mut re, mut im) = (0.0, 0.0);
        let half = (p.taps / 2) as f64;
        let n = p.taps * OVER;
        for i in 0..n {
            let tau = i as f64 / OVER as f64 - half;
            let h = p.gain * p.at(tau) / OVER as f64;
            re += h * (2.0 * PI * f * tau).cos();
            im -= h * (2.0 * PI * f * tau).sin();
        }
        20.0 * (re * re + im * im).sqrt().log10()
    }

    #[test]
    fn bessel_i0_matches_known_values() {
        assert!((bessel_i0(0.0) - 1.0).abs() < 1e-15);
        assert!((bessel_i0(1.0) - 1.266_065_877_752_008_4).abs() < 1e-14);
        assert!((bessel_i0(10.0) / 2_815.716_628_466_254 - 1.0).abs() < 1e-13);
    }

    #[test]
    fn prototype_passband_and_stopband() {
        // 44.1 -> 48 kHz: the prototype is at the input rate.
        let p = Prototype::new(44_100, 48_000);
        assert_eq!(p.taps, BASE_TAPS);
        let nyq = 0.5;
        for i in 0..=84 {
            let db = response_db(&p, nyq * 0.01 * i as f64);
            assert!(db.abs() < 0.001, "passband {i}%: {db} dB");
        }
        for i in 0..=300 {
            let f = nyq * (1.095 + 0.01 * i as f64);
            let db = response_db(&p, f);
            let floor = if f < 1.2 * nyq { -120.0 } else { -128.0 };
            assert!(db < floor, "stopband {:.3} Nyquist: {db} dB", f / nyq);
        }
        // Downsampling 48 -> 8 kHz: the same response, stretched.
        let p = Prototype::new(48_000, 8_000);
        let scale = 8_000.0 / 48_000.0;
        assert!(response_db(&p, nyq * 0.84 * scale).abs() < 0.001);
        assert!(response_db(&p, nyq * 1.095 * scale) < -120.0);
    }

    #[test]
    fn rows_sum_to_unity() {
        let p = Prototype::new(48_000, 8_000);
        assert_eq!(p.taps, (BASE_TAPS * 6).next_multiple_of(LANES));
        let mut row = vec![0.0; p.taps];
        for k in 0..16 {
            p.fill_row(k as f64 / 16.0, &mut row);
            let sum: f64 = row.iter().map(|&c| f64::from(c)).sum();
            assert!((sum - 1.0).abs() < 1e-5, "row {k}: {sum}");
        }
    }
}
