//! Mixing: client samples summed in float for one period, then written in the
//! device format with rounding and saturation; and an integer fast path for
//! the common case of 16-bit clients at unity gain, which sums exactly.

use crate::format::{encode, SampleFormat};

/// Linear gain for a level in dB (-inf dB, or anything below -144, is 0).
pub fn db_to_gain(db: f32) -> f32 {
    if db <= -144.0 {
        0.0
    } else {
        10f32.powf(db / 20.0)
    }
}

/// One period's accumulator. Sized once; never allocates afterwards.
#[derive(Clone, Debug)]
pub struct MixBuffer {
    acc: Vec<f32>,
    channels: usize,
}

impl MixBuffer {
    /// Room for `frames` frames of `channels` channels.
    pub fn new(frames: usize, channels: usize) -> MixBuffer {
        MixBuffer { acc: vec![0.0; frames * channels], channels }
    }

    pub fn frames(&self) -> usize {
        self.acc.len() / self.channels.max(1)
    }

    /// Start a new period: silence.
    pub fn clear(&mut self) {
        self.acc.fill(0.0);
    }

    /// Add interleaved samples (the buffer's channel count) times `gain`;
    /// extra input is ignored, short input adds to the first frames only.
    pub fn add(&mut self, src: &[f32], gain: f32) {
        if gain == 1.0 {
            self.acc.iter_mut().zip(src).for_each(|(a, s)| *a += s);
        } else if gain != 0.0 {
            self.acc.iter_mut().zip(src).for_each(|(a, s)| *a += s * gain);
        }
    }

    /// The mixed samples.
    pub fn samples(&self) -> &[f32] {
        &self.acc
    }

    /// Write the mix in `format`, scaled by `master` (0 when muted), rounded
    /// and saturated. Returns the samples written.
    pub fn write(&mut self, format: SampleFormat, master: f32, dst: &mut [u8]) -> usize {
        if master != 1.0 {
            self.acc.iter_mut().for_each(|a| *a *= master);
        }
        encode(format, &self.acc, dst)
    }
}

/// Add 16-bit little-endian samples into 32-bit integer accumulators
/// (the integer fast path: exact for any number of clients that fits).
pub fn sum_s16le(acc: &mut [i32], src: &[u8]) {
    for (a, s) in acc.iter_mut().zip(src.chunks_exact(2)) {
        *a += i32::from(i16::from_le_bytes([s[0], s[1]]));
    }
}

/// Mix several S16LE inputs straight into S32LE in one pass (the integer
/// fast path for clients at unity gain in the device's layout): each output
/// sample is the exact sum, moved to the top of the 32-bit word and
/// saturated exactly as the float path saturates. Returns samples written.
pub fn mix_s16le_into_s32le(inputs: &[&[u8]], out: &mut [u8]) -> usize {
    const BLOCK: usize = 256;
    let n = inputs.iter().map(|i| i.len() / 2).min().unwrap_or(0).min(out.len() / 4);
    let mut acc = [0i32; BLOCK];
    let mut at = 0;
    while at < n {
        let m = BLOCK.min(n - at);
        let acc = &mut acc[..m];
        acc.fill(0);
        for input in inputs {
            for (a, b) in acc.iter_mut().zip(input[at * 2..(at + m) * 2].chunks_exact(2)) {
                *a += i32::from(i16::from_le_bytes([b[0], b[1]]));
            }
        }
        for (a, o) in acc.iter().zip(out[at * 4..(at + m) * 4].chunks_exact_mut(4)) {
            // sum << 16, saturated: 32767 << 16 | 0xffff is i32::MAX.
            let top = (*a).clamp(-32_768, 32_767);
            let v = (top << 16) | (i32::from(*a > 32_767) * 0xffff);
            o.copy_from_slice(&v.to_le_bytes());
        }
        at += m;
    }
    n
}

/// Mix several S16LE inputs straight into S16LE in one pass, the exact sum
/// saturated as the float path saturates (one input is copied as it is).
/// Returns samples written.
pub fn mix_s16le_into_s16le(inputs: &[&[u8]], out: &mut [u8]) -> usize {
    const BLOCK: usize = 256;
    let n = inputs.iter().map(|i| i.len() / 2).min().unwrap_or(0).min(out.len() / 2);
    if let [only] = inputs {
        out[..n * 2].copy_from_slice(&only[..n * 2]);
        return n;
    }
    let mut acc = [0i32; BLOCK];
    let mut at = 0;
    while at < n {
        let m = BLOCK.min(n - at);
        let acc = &mut acc[..m];
        acc.fill(0);
        for input in inputs {
            for (a, b) in acc.iter_mut().zip(input[at * 2..(at + m) * 2].chunks_exact(2)) {
                *a += i32::from(i16::from_le_bytes([b[0], b[1]]));
            }
        }
        write_s16le_from_s16_sums(acc, &mut out[at * 2..(at + m) * 2]);
        at += m;
    }
    n
}

/// Write 16-bit-scaled integer sums as S32LE, saturated: the 16-bit sum
/// moved to the top of the 32-bit word.
pub fn write_s32le_from_s16_sums(acc: &[i32], dst: &mut [u8]) -> usize {
    let n = acc.len().min(dst.len() / 4);
    for (a, d) in acc[..n].iter().zip(dst.chunks_exact_mut(4)) {
        let v = (i64::from(*a) << 16).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
        d.copy_from_slice(&v.to_le_bytes());
    }
    n
}

/// Write 16-bit-scaled integer sums as S16LE, saturated.
pub fn write_s16le_from_s16_sums(acc: &[i32], dst: &mut [u8]) -> usize {
    let n = acc.len().min(dst.len() / 2);
    for (a, d) in acc[..n].iter().zip(dst.chunks_exact_mut(2)) {
        d.copy_from_slice(&((*a).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16).to_le_bytes());
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::decode;

    fn s16(v: &[i16]) -> Vec<u8> {
        v.iter().flat_map(|s| s.to_le_bytes()).collect()
    }

    #[test]
    fn integer_streams_sum_exactly_and_saturate() {
        // Eight clients into S16: exact while in range, clamped beyond.
        let clients: Vec<Vec<u8>> = (0..8).map(|c| s16(&[1000 * (c + 1), -3, 12_000, i16::MIN])).collect();
        let mut mix = MixBuffer::new(4, 1);
        let mut f = [0.0f32; 4];
        for c in &clients {
            decode(SampleFormat::S16Le, c, &mut f);
            mix.add(&f, 1.0);
        }
        let mut out = [0u8; 8];
        mix.write(SampleFormat::S16Le, 1.0, &mut out);
        let got: Vec<i16> = out.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
        assert_eq!(got, vec![i16::MAX, -24, i16::MAX, i16::MIN], "36000 and 96000 saturate, -24 is exact");

        // The same into S32: the 16-bit sums move to the top of the word,
        // so -24 is exact and the big sums saturate there too.
        let mut out32 = [0u8; 16];
        let mut mix = MixBuffer::new(4, 1);
        for c in &clients {
            decode(SampleFormat::S16Le, c, &mut f);
            mix.add(&f, 1.0);
        }
        mix.write(SampleFormat::S32Le, 1.0, &mut out32);
        let got: Vec<i32> = out32.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        assert_eq!(got, vec![i32::MAX, -24 << 16, i32::MAX, i32::MIN]);

        // The integer fast path agrees bit for bit.
        let mut acc = [0i32; 4];
        for c in &clients {
            sum_s16le(&mut acc, c);
        }
        let mut fast = [0u8; 16];
        write_s32le_from_s16_sums(&acc, &mut fast);
        assert_eq!(fast, out32);
        let refs: Vec<&[u8]> = clients.iter().map(|c| c.as_slice()).collect();
        let mut one_pass = [0u8; 16];
        assert_eq!(mix_s16le_into_s32le(&refs, &mut one_pass), 4);
        assert_eq!(one_pass, out32, "the one-pass kernel agrees too");
        let mut fast16 = [0u8; 8];
        write_s16le_from_s16_sums(&acc, &mut fast16);
        assert_eq!(fast16, out);
        let mut one_pass16 = [0u8; 8];
        assert_eq!(mix_s16le_into_s16le(&refs, &mut one_pass16), 4);
        assert_eq!(one_pass16, out, "the one-pass S16 kernel agrees with the float path");
    }

    #[test]
    fn a_single_matching_stream_passes_bit_exact() {
        let src = s16(&[0, 1, -1, 32_767, -32_768, 12_345]);
        let mut f = [0.0f32; 6];
        decode(SampleFormat::S16Le, &src, &mut f);
        let mut mix = MixBuffer::new(3, 2);
        mix.add(&f, 1.0);
        let mut out = [0u8; 12];
        mix.write(SampleFormat::S16Le, 1.0, &mut out);
        assert_eq!(out.to_vec(), src);
        let mut copied = [0u8; 12];
        assert_eq!(mix_s16le_into_s16le(&[&src], &mut copied), 6);
        assert_eq!(copied, out, "one client on the S16 kernel: the float path's bytes");
    }

    #[test]
    fn gains_in_db() {
        assert_eq!(db_to_gain(0.0), 1.0);
        assert!((db_to_gain(-6.0) - 0.501_187).abs() < 1e-5);
        assert_eq!(db_to_gain(f32::NEG_INFINITY), 0.0);
        let mut mix = MixBuffer::new(1, 1);
        mix.add(&[0.5], db_to_gain(-6.0));
        let mut out = [0u8; 2];
        mix.write(SampleFormat::S16Le, 0.0, &mut out);
        assert_eq!(out, [0, 0], "master mute");
    }
}
