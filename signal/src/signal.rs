//! Deterministic test signals and exact comparisons.
//!
//! The bench sends [`test_signal`] through a driver and looks for it, sample
//! for sample, in what the emulated device produced ([`find_exact`]). The
//! signal is two tones with a pseudo-random low-level dither, so it has no
//! repeating stretch: a match at one offset is the only match.

/// Interleaved S16 samples: `frames` frames of `channels` channels. Channel c
/// carries a tone of 441 + 220*c Hz at about -9 dBFS plus dither, at 48 kHz.
pub fn test_signal(frames: usize, channels: u16, seed: u32) -> Vec<i16> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut out = Vec::with_capacity(frames * usize::from(channels));
    for n in 0..frames {
        for c in 0..channels {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let dither = ((state >> 16) as i32 & 0xff) - 128;
            let freq = 441.0 + 220.0 * f64::from(c);
            let tone = (2.0 * std::f64::consts::PI * freq * n as f64 / 48_000.0).sin() * 11_000.0;
            out.push((tone as i32 + dither).clamp(i16::MIN.into(), i16::MAX.into()) as i16);
        }
    }
    out
}

/// Little-endian bytes of S16 samples.
pub fn to_le_bytes(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// S16 samples from little-endian bytes (a trailing odd byte is ignored).
pub fn from_le_bytes(bytes: &[u8]) -> Vec<i16> {
    bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
}

/// The result of looking for a sent signal in a recording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Match {
    /// All of `sent` appears unchanged at this sample offset.
    Exact { offset: usize },
    /// The start of `sent` was found at `offset`, but sample `at` (index into
    /// `sent`) differs, or the recording ended (`at` == recording's end).
    Differs { offset: usize, at: usize, expected: i16, got: Option<i16> },
    /// The first samples of `sent` appear nowhere.
    NotFound,
}

/// Find `sent` in `recorded`, sample for sample. Offsets are in samples and
/// aligned to `channels` (a frame boundary).
pub fn find_exact(recorded: &[i16], sent: &[i16], channels: usize) -> Match {
    let key = sent.len().min(64);
    if key == 0 {
        return Match::NotFound;
    }
    let channels = channels.max(1);
    let Some(offset) =
        (0..recorded.len().saturating_sub(key - 1)).step_by(channels).find(|&o| recorded[o..o + key] == sent[..key])
    else {
        return Match::NotFound;
    };
    for (i, &s) in sent.iter().enumerate() {
        match recorded.get(offset + i) {
            Some(&r) if r == s => {}
            got => return Match::Differs { offset, at: i, expected: s, got: got.copied() },
        }
    }
    Match::Exact { offset }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signal_is_deterministic_and_channels_differ() {
        let a = test_signal(1000, 2, 7);
        assert_eq!(a, test_signal(1000, 2, 7));
        assert_ne!(a, test_signal(1000, 2, 8));
        assert_ne!(a[0..2000].iter().step_by(2).collect::<Vec<_>>(), a[1..2000].iter().step_by(2).collect::<Vec<_>>());
        let peak = a.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((10_000..12_000).contains(&peak), "peak {peak}");
    }

    #[test]
    fn finds_the_signal_after_leading_silence_and_reports_damage() {
        let sent = test_signal(4800, 2, 1);
        let mut rec = vec![0i16; 962];
        rec.extend_from_slice(&sent);
        rec.extend_from_slice(&[0; 100]);
        assert_eq!(find_exact(&rec, &sent, 2), Match::Exact { offset: 962 });

        rec[962 + 5000] ^= 1;
        assert_eq!(
            find_exact(&rec, &sent, 2),
            Match::Differs { offset: 962, at: 5000, expected: sent[5000], got: Some(sent[5000] ^ 1) }
        );

        let short = &rec[..962 + 100];
        assert!(matches!(find_exact(short, &sent, 2), Match::Differs { at: 100, got: None, .. }));
        assert_eq!(find_exact(&[0; 5000], &sent, 2), Match::NotFound);
        // A stream scaled by QEMU's 240/255 volume is not a match.
        let scaled: Vec<i16> = sent.iter().map(|&s| (i32::from(s) * 240 / 255) as i16).collect();
        assert_eq!(find_exact(&scaled, &sent, 2), Match::NotFound);
    }

    #[test]
    fn bytes_round_trip() {
        let s = test_signal(10, 2, 3);
        assert_eq!(from_le_bytes(&to_le_bytes(&s)), s);
    }
}
