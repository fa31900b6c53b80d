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
    for (n, &v) in x.iter().enumerate() {
        let b: Vec<f64> = (0..k).map(|j| basis(n, j)).collect();
        for r in 0..k {
            for c in 0..k {
                m[r][c] += b[r] * b[c];
            }
            m[r][k] += b[r] * v;
        }
    }
    for col in 0..k {
        let pivot = (col..k).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs())).unwrap_or(col);
        m.swap(col, pivot);
        let p = m[col][col];
        if p.abs() < 1e-12 {
            continue;
        }
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
    (amps, rms_dbfs(&residual))
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
}
