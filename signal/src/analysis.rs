//! Measurements a listener would make of a recording: a tone's frequency and
//! its level.

/// One channel of interleaved S16 samples, as f64 in -1.0..1.0.
pub fn channel(samples: &[i16], channels: usize, which: usize) -> Vec<f64> {
    samples.iter().skip(which).step_by(channels.max(1)).map(|&s| f64::from(s) / 32768.0).collect()
}

/// RMS level in dBFS (a full-scale sine reads -3.01 dB); -inf for silence.
pub fn rms_dbfs(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NEG_INFINITY;
    }
    let ms = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
    10.0 * ms.log10()
}

/// Frequency of the dominant tone, from the interpolated positions of the
/// first and last rising zero crossings. `None` with fewer than two crossings.
pub fn tone_frequency(x: &[f64], rate: u32) -> Option<f64> {
    let mut first = None;
    let mut last = None;
    let mut count = 0usize;
    for i in 1..x.len() {
        if x[i - 1] < 0.0 && x[i] >= 0.0 {
            let t = (i - 1) as f64 + (-x[i - 1]) / (x[i] - x[i - 1]);
            if first.is_none() {
                first = Some(t);
            }
            last = Some(t);
            count += 1;
        }
    }
    match (first, last) {
        (Some(a), Some(b)) if count >= 2 && b > a => Some((count - 1) as f64 * f64::from(rate) / (b - a)),
        _ => None,
    }
}

/// Least-squares fit of sinusoids at known frequencies: each tone's
/// amplitude (peak, full scale 1.0) and the RMS of what is left over, in
/// dBFS. Glitches, clicks and other tones all show up in the residual.
pub fn fit_tones(x: &[f64], rate: u32, freqs: &[f64]) -> (Vec<f64>, f64) {
    let (amps, residual) = fit_tones_residual(x, rate, freqs);
    (amps, rms_dbfs(&residual))
}

/// [`fit_tones`], with the residual itself: `x` less the fitted tones (a
/// tone at 0 Hz fits the DC offset).
pub fn fit_tones_residual(x: &[f64], rate: u32, freqs: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let k = freqs.len() * 2;
    let basis = |n: usize, j: usize| {
        let w = 2.0 * std::f64::consts::PI * freqs[j / 2] * n as f64 / f64::from(rate);
        if j % 2 == 0 {
            w.sin()
        } else {
            w.cos()
        }
    };
    // Normal equations A^T A c = A^T x, solved by Gaussian elimination.
    let mut m = vec![vec![0.0f64; k + 1]; k];
    let mut b = vec![0.0f64; k];
    for (n, &v) in x.iter().enumerate() {
        for (j, bj) in b.iter_mut().enumerate() {
            *bj = basis(n, j);
        }
        for r in 0..k {
            for c in 0..k {
                m[r][c] += b[r] * b[c];
            }
            m[r][k] += b[r] * v;
        }
    }
    for col in 0..k {
        let pivot = (col..k).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs())).unwrap_or(col);
        if m[pivot][col].abs() < 1e-12 {
            continue; // a basis that is zero throughout (the sine of a 0 Hz tone): its coefficient is 0
        }
        m.swap(col, pivot);
        let p = m[col][col];
        let pivot_row = m[col].clone();
        for (r, row) in m.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / p;
                for (v, pv) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                    *v -= f * pv;
                }
            }
        }
    }
    let coef: Vec<f64> = (0..k).map(|j| if m[j][j].abs() < 1e-12 { 0.0 } else { m[j][k] / m[j][j] }).collect();
    let amps = (0..freqs.len()).map(|t| coef[2 * t].hypot(coef[2 * t + 1])).collect();
    let residual: Vec<f64> =
        x.iter().enumerate().map(|(n, &v)| v - (0..k).map(|j| coef[j] * basis(n, j)).sum::<f64>()).collect();
    (amps, residual)
}

/// A tone followed through time, 10 ms at a time, as a listener hears a
/// tone whose pitch may wander a little (two clocks drifting): see
/// [`track_tone`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ToneTrack {
    /// Blocks analysed.
    pub blocks: usize,
    /// The tone's mean frequency over the stretch, in Hz: from how far its
    /// phase moved from the first block to the last.
    pub freq: f64,
    /// The lowest and highest amplitude of a block (peak, full scale 1.0).
    pub amplitude: (f64, f64),
    /// The worst block's residual (RMS of what a sine at the block's own
    /// frequency does not explain), dBFS, and the block's start in samples.
    pub residual: (f64, usize),
    /// The largest step in the tone's phase at a block boundary beyond the
    /// trend around it, in samples of the tone (a lost or repeated sample is
    /// 1), and the boundary's position in samples.
    pub jump: (f64, usize),
}

/// Follows a tone of about `freq` Hz through `x` in blocks of `block`
/// samples: each block's amplitude and phase from a least-squares sine fit,
/// the mean frequency from the phases, each block's residual after a refit
/// at its local frequency (so that a slow drift in pitch is not mistaken
/// for noise), and the largest phase step between blocks that does not
/// follow the trend (a break in the tone: lost, repeated or silent samples
/// at a block boundary). The tone's frequency must stay within
/// `rate / (2 · block)` of `freq`. `None` with fewer than 4 blocks.
pub fn track_tone(x: &[f64], rate: u32, freq: f64, block: usize) -> Option<ToneTrack> {
    use std::f64::consts::PI;
    let blocks = x.len() / block.max(1);
    if blocks < 4 || block < 8 {
        return None;
    }
    let fit = |b: &[f64], w: f64| -> (f64, f64, f64) {
        let (mut ss, mut sc, mut cc, mut ys, mut yc) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (n, &y) in b.iter().enumerate() {
            let (s, c) = (w * n as f64).sin_cos();
            (ss, sc, cc, ys, yc) = (ss + s * s, sc + s * c, cc + c * c, ys + y * s, yc + y * c);
        }
        let det = ss * cc - sc * sc;
        let (a, c) = ((ys * cc - yc * sc) / det, (yc * ss - ys * sc) / det);
        let rest: f64 = b
            .iter()
            .enumerate()
            .map(|(n, &y)| {
                let (s, co) = (w * n as f64).sin_cos();
                (y - a * s - c * co).powi(2)
            })
            .sum::<f64>()
            / b.len() as f64;
        // y = A·sin(wn + φ): a = A·cos φ, c = A·sin φ.
        (a.hypot(c), c.atan2(a), 10.0 * rest.max(1e-30).log10())
    };
    let wrap = |p: f64| p - 2.0 * PI * (p / (2.0 * PI)).round();
    // How much further than `w` the phase moved across each boundary, and
    // the mean frequency that gives.
    let advance = |w: f64| -> (Vec<f64>, f64) {
        let phases: Vec<f64> = x.chunks_exact(block).map(|b| fit(b, w).1).collect();
        let d: Vec<f64> = phases.windows(2).map(|p| wrap(p[1] - p[0] - w * block as f64)).collect();
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        (d, w + mean / block as f64)
    };
    // Twice: a sine fitted at a frequency off the tone's finds a phase
    // slightly off too, by an amount that depends on the phase; at the
    // measured mean frequency that error all but goes.
    let (_, w1) = advance(2.0 * PI * freq / f64::from(rate));
    let (d, w2) = advance(w1);
    let (w, measured) = (w1, w2 * f64::from(rate) / (2.0 * PI));
    let mut jump = (0.0f64, 0);
    for k in 1..d.len() - 1 {
        let j = (d[k] - (d[k - 1] + d[k + 1]) / 2.0).abs() / w;
        if j > jump.0 {
            jump = (j, (k + 1) * block);
        }
    }
    let (mut lo, mut hi, mut residual) = (f64::MAX, 0.0f64, (f64::NEG_INFINITY, 0));
    for (k, b) in x.chunks_exact(block).enumerate() {
        // The local frequency: the phase's advance around this block.
        let around = match k {
            0 => d[0],
            k if k == d.len() => d[k - 1],
            k => (d[k - 1] + d[k]) / 2.0,
        };
        let (amp, _, rest) = fit(b, w + around / block as f64);
        (lo, hi) = (lo.min(amp), hi.max(amp));
        if rest > residual.0 {
            residual = (rest, k * block);
        }
    }
    Some(ToneTrack { blocks, freq: measured, amplitude: (lo, hi), residual, jump })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_known_sine() {
        let x: Vec<f64> =
            (0..48_000).map(|n| 0.5 * (2.0 * std::f64::consts::PI * 997.0 * n as f64 / 48_000.0).sin()).collect();
        let f = tone_frequency(&x, 48_000).unwrap();
        assert!((f - 997.0).abs() < 0.05, "{f}");
        let db = rms_dbfs(&x);
        assert!((db - (-9.03)).abs() < 0.02, "{db}");
        assert_eq!(tone_frequency(&[0.0; 100], 48_000), None);
        assert_eq!(rms_dbfs(&[]), f64::NEG_INFINITY);
    }

    #[test]
    fn a_dc_offset_and_a_shifted_tone_fit_away_to_nothing() {
        // A 0 Hz "tone" fits the DC offset (its sine column is all zero).
        let x: Vec<f64> = (0..9600)
            .map(|n| 0.01 + 0.3 * (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / 48_000.0 + 0.7).sin())
            .collect();
        let (amps, residual) = fit_tones_residual(&x, 48_000, &[0.0, 1000.0]);
        assert!((amps[0] - 0.01).abs() < 1e-12 && (amps[1] - 0.3).abs() < 1e-12, "{amps:?}");
        assert!(residual.iter().all(|v| v.abs() < 1e-12));
    }

    #[test]
    fn fits_two_tones_and_sees_a_click() {
        let mut x: Vec<f64> = (0..9600)
            .map(|n| {
                let t = n as f64 / 48_000.0;
                0.25 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()
                    + 0.125 * (2.0 * std::f64::consts::PI * 1000.0 * t + 1.0).sin()
            })
            .collect();
        let (amps, residual) = fit_tones(&x, 48_000, &[440.0, 1000.0]);
        assert!((amps[0] - 0.25).abs() < 1e-9 && (amps[1] - 0.125).abs() < 1e-9, "{amps:?}");
        assert!(residual < -200.0, "{residual}");
        x[5000] += 0.5;
        let (_, residual) = fit_tones(&x, 48_000, &[440.0, 1000.0]);
        assert!(residual > -50.0, "a click: {residual}");
    }

    #[test]
    fn splits_interleaved_channels() {
        let s = [1i16, -1, 2, -2];
        assert_eq!(channel(&s, 2, 1), vec![-1.0 / 32768.0, -2.0 / 32768.0]);
    }

    /// A tone whose pitch drifts by 2000 ppm over the stretch (a drift loop
    /// settling), quantized to 16 bits, from sample `skip` of its phase.
    fn drifting(seconds: f64, freq: f64, skip: impl Fn(usize) -> f64) -> Vec<f64> {
        let n = (seconds * 48_000.0) as usize;
        let mut phase = 0.0;
        (0..n)
            .map(|i| {
                let f = freq * (1.0 + 2000e-6 * i as f64 / n as f64);
                phase += 2.0 * std::f64::consts::PI * f / 48_000.0;
                let y = 0.25 * (phase + skip(i)).sin();
                (y * 32768.0).round() / 32768.0
            })
            .collect()
    }

    #[test]
    fn tracks_a_drifting_tone_and_its_mean_frequency() {
        let x = drifting(4.0, 997.0, |_| 0.0);
        let t = track_tone(&x, 48_000, 1000.0, 480).unwrap();
        assert_eq!(t.blocks, 400);
        // The mean of 997 Hz rising by 2000 ppm: 997.997 Hz.
        assert!((t.freq - 997.0 * 1.001).abs() < 0.01, "{t:?}");
        assert!(20.0 * (t.amplitude.0 / 0.25).log10() > -0.01 && 20.0 * (t.amplitude.1 / 0.25).log10() < 0.01, "{t:?}");
        assert!(t.residual.0 < -90.0, "only 16-bit rounding is left: {t:?}");
        assert!(t.jump.0 < 0.01, "{t:?}");
        assert_eq!(track_tone(&x[..1900], 48_000, 1000.0, 480), None);
    }

    #[test]
    fn sees_a_lost_sample_at_a_boundary_and_a_click_inside_a_block() {
        let w = 2.0 * std::f64::consts::PI * 997.0 / 48_000.0;
        // One sample lost at a block boundary: the phase steps by one sample.
        let x = drifting(2.0, 997.0, |i| if i >= 480 * 100 { w } else { 0.0 });
        let t = track_tone(&x, 48_000, 997.0, 480).unwrap();
        assert!((t.jump.0 - 1.0).abs() < 0.05 && t.jump.1 == 480 * 100, "{t:?}");
        // A sample lost inside a block: that block's residual shows it.
        let x = drifting(2.0, 997.0, |i| if i >= 480 * 100 + 200 { w } else { 0.0 });
        let t = track_tone(&x, 48_000, 997.0, 480).unwrap();
        assert!(t.residual.0 > -60.0 && t.residual.1 == 480 * 100, "{t:?}");
        // Silence for 5 ms: the block's amplitude drops.
        let mut x = drifting(2.0, 997.0, |_| 0.0);
        x[480 * 50..480 * 50 + 240].fill(0.0);
        let t = track_tone(&x, 48_000, 997.0, 480).unwrap();
        assert!(t.amplitude.0 < 0.2 && t.residual.0 > -40.0, "{t:?}");
    }

    #[test]
    fn a_pitch_correction_ramped_over_10_ms_is_not_a_break() {
        // A drift loop's correction: the pitch moves by 1000 ppm, ramped
        // over 480 samples, in the middle of a block and at a boundary.
        for start in [480 * 100, 480 * 100 + 240] {
            let mut phase = 0.0;
            let x: Vec<f64> = (0..96_000)
                .map(|i| {
                    let ramp = ((i as f64 - start as f64) / 480.0).clamp(0.0, 1.0);
                    phase += 2.0 * std::f64::consts::PI * 997.0 * (1.0 + 1000e-6 * ramp) / 48_000.0;
                    (0.25 * phase.sin() * 32768.0).round() / 32768.0
                })
                .collect();
            let t = track_tone(&x, 48_000, 997.0, 480).unwrap();
            assert!(t.jump.0 < 0.2 && t.residual.0 < -60.0, "from {start}: {t:?}");
        }
    }
}
