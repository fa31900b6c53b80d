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
    fn splits_interleaved_channels() {
        let s = [1i16, -1, 2, -2];
        assert_eq!(channel(&s, 2, 1), vec![-1.0 / 32768.0, -2.0 / 32768.0]);
    }
}
