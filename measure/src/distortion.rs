//! THD, THD+N, noise and dynamic range, as AES17 defines them.
//!
//! Levels are dBFS relative to a full-scale sine (a full-scale sine reads
//! 0 dBFS, its RMS 1/√2). The measurement band is 20 Hz to 20 kHz (or to
//! the rate's Nyquist limit), unweighted or A-weighted (IEC 61672).
//!
//! - **THD**: a least-squares fit of the fundamental and its harmonics
//!   (2nd to 10th, within the band) at the tone's measured frequency; THD is
//!   the harmonics' summed power against the fundamental's.
//! - **THD+N**: everything in the band that is not the fundamental (the
//!   residual after the fit), against the fundamental.
//! - **Noise**: the band's power in a recording of silence.
//! - **Dynamic range**: THD+N of a -60 dBFS tone, referred to full scale
//!   (AES17's method: the -60 dB tone keeps a converter out of its idle
//!   behaviour, and its distortion is negligible).

use outboard_signal::analysis::{fit_tones, fit_tones_residual};

use crate::fft::{power_db, size_for, Complex};
use crate::glitch::tone_frequency;

/// The measurement band's upper edge for a rate.
pub fn band_top(rate: u32) -> f64 {
    20_000f64.min(0.5 * f64::from(rate))
}

/// The A-weighting curve's gain at `f` Hz, dB (0 at 1 kHz).
pub fn a_weighting_db(f: f64) -> f64 {
    let f2 = f * f;
    let ra = 12194f64.powi(2) * f2 * f2
        / ((f2 + 20.6f64.powi(2))
            * ((f2 + 107.7f64.powi(2)) * (f2 + 737.9f64.powi(2))).sqrt()
            * (f2 + 12194f64.powi(2)));
    20.0 * ra.log10() + 2.00
}

/// Mean-square power of `x` between `lo` and `hi` Hz (a Hann-windowed
/// periodogram), A-weighted if asked.
pub fn band_power(x: &[f64], rate: u32, lo: f64, hi: f64, a_weighted: bool) -> f64 {
    if x.len() < 16 {
        return 0.0;
    }
    let l = x.len();
    let n = size_for(l);
    let w: Vec<f64> = (0..l).map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / l as f64).cos()).collect();
    let w2: f64 = w.iter().map(|v| v * v).sum();
    let mut data: Vec<Complex> = x.iter().zip(&w).map(|(v, w)| Complex::new(v * w, 0.0)).collect();
    data.resize(n, Complex::ZERO);
    crate::fft::forward(&mut data);
    let fs = f64::from(rate);
    let mut sum = 0.0;
    for (k, c) in data.iter().enumerate().take(n / 2).skip(1) {
        let f = k as f64 * fs / n as f64;
        if f < lo || f > hi {
            continue;
        }
        let weight = if a_weighted { 10f64.powf(a_weighting_db(f) / 10.0) } else { 1.0 };
        sum += 2.0 * c.norm_sqr() * weight;
    }
    sum / (n as f64 * w2)
}

/// Mean square to dBFS (AES17: relative to a full-scale sine's 0.5).
pub fn dbfs(mean_square: f64) -> f64 {
    power_db(mean_square / 0.5)
}

/// One harmonic of a tone.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Harmonic {
    /// 2 for the second harmonic, ...
    pub order: u32,
    pub freq: f64,
    /// Level relative to the fundamental, dB.
    pub db: f64,
}

/// What a recorded tone shows.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ToneAnalysis {
    /// The tone's frequency as measured, Hz.
    pub freq: f64,
    /// The fundamental's level, dBFS.
    pub level_dbfs: f64,
    /// Total harmonic distortion, dB relative to the fundamental.
    pub thd_db: f64,
    /// THD+N (20 Hz to 20 kHz, unweighted), dB relative to the fundamental.
    pub thd_n_db: f64,
    /// THD+N A-weighted.
    pub thd_n_a_db: f64,
    /// What is left besides the fundamental, dBFS (unweighted, A-weighted).
    pub residual_dbfs: f64,
    pub residual_a_dbfs: f64,
    pub harmonics: Vec<Harmonic>,
}

/// Analyse a steady tone of about `nominal` Hz.
pub fn analyse_tone(x: &[f64], rate: u32, nominal: f64) -> Option<ToneAnalysis> {
    let freq = tone_frequency(x, rate, nominal)?;
    let top = band_top(rate);
    let mut freqs = vec![0.0, freq];
    let orders: Vec<u32> = (2..=10).filter(|&k| f64::from(k) * freq < top).collect();
    freqs.extend(orders.iter().map(|&k| f64::from(k) * freq));
    let (amps, _) = fit_tones(x, rate, &freqs);
    let fundamental = *amps.get(1)?;
    if fundamental <= 0.0 {
        return None;
    }
    let fund_ms = fundamental * fundamental / 2.0;
    let harmonics: Vec<Harmonic> = orders
        .iter()
        .zip(&amps[2..])
        .map(|(&order, &a)| Harmonic {
            order,
            freq: f64::from(order) * freq,
            db: 20.0 * (a / fundamental).max(1e-15).log10(),
        })
        .collect();
    let harm_ms: f64 = amps[2..].iter().map(|a| a * a / 2.0).sum();
    // The residual without the fundamental (and DC): harmonics and noise.
    let (_, residual) = fit_tones_residual(x, rate, &[0.0, freq]);
    let n = band_power(&residual, rate, 20.0, top, false);
    let na = band_power(&residual, rate, 20.0, top, true);
    Some(ToneAnalysis {
        freq,
        level_dbfs: dbfs(fund_ms),
        thd_db: power_db(harm_ms / fund_ms),
        thd_n_db: power_db(n / fund_ms),
        thd_n_a_db: power_db(na / fund_ms),
        residual_dbfs: dbfs(n),
        residual_a_dbfs: dbfs(na),
        harmonics,
    })
}

/// The noise in a recording of silence.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Noise {
    /// 20 Hz to 20 kHz, dBFS.
    pub unweighted_dbfs: f64,
    pub a_weighted_dbfs: f64,
}

/// Measure the noise of a recording of silence (DC taken out).
pub fn noise(x: &[f64], rate: u32) -> Noise {
    let top = band_top(rate);
    Noise {
        unweighted_dbfs: dbfs(band_power(x, rate, 20.0, top, false)),
        a_weighted_dbfs: dbfs(band_power(x, rate, 20.0, top, true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fft::sine;

    fn gaussian_noise(n: usize, rms: f64, seed: u64) -> Vec<f64> {
        let mut s = seed;
        let mut u = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        (0..n).map(|_| rms * (-2.0 * u().ln()).sqrt() * (2.0 * std::f64::consts::PI * u()).cos()).collect()
    }

    #[test]
    fn a_weighting_matches_the_standards_table() {
        // IEC 61672-1 table values.
        for (f, want) in [(31.62, -39.4), (100.0, -19.1), (1000.0, 0.0), (4000.0, 1.0), (10_000.0, -2.5)] {
            let got = a_weighting_db(f);
            assert!((got - want).abs() < 0.1, "{f} Hz: {got} dB, table {want}");
        }
    }

    #[test]
    fn harmonics_and_thd_read_as_made() {
        let rate = 48_000;
        let a = 0.5;
        let mut x = sine(1000.0, a, rate, 48_000);
        let h2 = sine(2000.0, a * 1e-3, rate, 48_000); // -60 dB
        let h3 = sine(3000.0, a * 1e-4, rate, 48_000); // -80 dB
        for i in 0..x.len() {
            x[i] += h2[i] + h3[i];
        }
        let t = analyse_tone(&x, rate, 1000.0).unwrap();
        assert!((t.freq - 1000.0).abs() < 1e-6, "{}", t.freq);
        assert!((t.level_dbfs - 20.0 * a.log10()).abs() < 0.01);
        assert!((t.harmonics[0].db + 60.0).abs() < 0.01, "{:?}", t.harmonics);
        assert!((t.harmonics[1].db + 80.0).abs() < 0.01, "{:?}", t.harmonics);
        let want = 10.0 * (1e-6f64 + 1e-8).log10();
        assert!((t.thd_db - want).abs() < 0.01, "{} vs {want}", t.thd_db);
        // No noise: THD+N is the harmonics.
        assert!((t.thd_n_db - want).abs() < 0.1, "{} vs {want}", t.thd_n_db);
    }

    #[test]
    fn noise_reads_at_its_level_in_the_band() {
        let rate = 48_000;
        // -100 dBFS white noise: RMS 1e-5/√2; the band holds 19980/24000 of it.
        let x = gaussian_noise(96_000, 1e-5 * std::f64::consts::FRAC_1_SQRT_2, 7);
        let n = noise(&x, rate);
        let want = -100.0 + 10.0 * (19_980.0f64 / 24_000.0).log10();
        assert!((n.unweighted_dbfs - want).abs() < 0.3, "{} vs {want}", n.unweighted_dbfs);
        assert!(n.a_weighted_dbfs < n.unweighted_dbfs && n.a_weighted_dbfs > n.unweighted_dbfs - 3.0);
    }

    #[test]
    fn a_quiet_tone_in_noise_gives_the_dynamic_range() {
        let rate = 48_000;
        let mut x = sine(1000.0, 1e-3, rate, 96_000); // -60 dBFS
        let noise = gaussian_noise(96_000, 1e-5 * std::f64::consts::FRAC_1_SQRT_2, 3); // -100 dBFS
        for (v, e) in x.iter_mut().zip(noise) {
            *v += e;
        }
        let t = analyse_tone(&x, rate, 1000.0).unwrap();
        let want = -100.0 + 10.0 * (19_980.0f64 / 24_000.0).log10();
        assert!((t.residual_dbfs - want).abs() < 0.3, "{} vs {want}", t.residual_dbfs);
        assert!((t.thd_n_db - (want + 60.0)).abs() < 0.3);
    }
}
