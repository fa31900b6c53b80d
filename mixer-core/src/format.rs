//! Sample formats: decoding any client or device format to f32 and encoding
//! f32 back with rounding and saturation.
//!
//! Scale: full scale is 1.0; an N-bit integer sample `v` is `v / 2^(N-1)`,
//! so every 8-, 16- and 24-bit value converts to f32 and back exactly.
//! 32-bit integers keep the top 24 bits through f32 (the mixer copies them
//! untouched when it does not need to convert). Mu-law and A-law are G.711,
//! decoded to their 16-bit linear values.

pub use outboard_hal::pcm::SampleFormat;

/// Samples of `format` that fit in `bytes` bytes.
pub fn samples_in(format: SampleFormat, bytes: usize) -> usize {
    bytes / format.bytes()
}

const SCALE8: f32 = 128.0;
const SCALE16: f32 = 32_768.0;
const SCALE24: f32 = 8_388_608.0;
const SCALE32: f64 = 2_147_483_648.0;

fn i24(b0: u8, b1: u8, b2: u8) -> i32 {
    (i32::from(b2 as i8) << 16) | (i32::from(b1) << 8) | i32::from(b0)
}

/// Decode as many whole samples as both slices hold; returns how many.
pub fn decode(format: SampleFormat, src: &[u8], dst: &mut [f32]) -> usize {
    use SampleFormat::*;
    let n = samples_in(format, src.len()).min(dst.len());
    let w = format.bytes();
    let chunks = src[..n * w].chunks_exact(w).zip(dst[..n].iter_mut());
    match format {
        U8 => chunks.for_each(|(b, d)| *d = (f32::from(b[0]) - 128.0) / SCALE8),
        S8 => chunks.for_each(|(b, d)| *d = f32::from(b[0] as i8) / SCALE8),
        S16Le => chunks.for_each(|(b, d)| *d = f32::from(i16::from_le_bytes([b[0], b[1]])) / SCALE16),
        S16Be => chunks.for_each(|(b, d)| *d = f32::from(i16::from_be_bytes([b[0], b[1]])) / SCALE16),
        S24Le => chunks.for_each(|(b, d)| *d = i24(b[0], b[1], b[2]) as f32 / SCALE24),
        S24Be => chunks.for_each(|(b, d)| *d = i24(b[3], b[2], b[1]) as f32 / SCALE24),
        S24_3Le => chunks.for_each(|(b, d)| *d = i24(b[0], b[1], b[2]) as f32 / SCALE24),
        S24_3Be => chunks.for_each(|(b, d)| *d = i24(b[2], b[1], b[0]) as f32 / SCALE24),
        S32Le => {
            chunks.for_each(|(b, d)| *d = (f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])) / SCALE32) as f32)
        }
        S32Be => {
            chunks.for_each(|(b, d)| *d = (f64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]])) / SCALE32) as f32)
        }
        // A client's NaN or infinity (or a double past f32's range) is
        // silence: summed into the mix it would silence every other client.
        F32Le => chunks.for_each(|(b, d)| *d = finite(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
        F32Be => chunks.for_each(|(b, d)| *d = finite(f32::from_be_bytes([b[0], b[1], b[2], b[3]]))),
        F64Le => chunks.for_each(|(b, d)| *d = finite(f64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32)),
        F64Be => chunks.for_each(|(b, d)| *d = finite(f64::from_be_bytes(b.try_into().unwrap_or([0; 8])) as f32)),
        MuLaw => chunks.for_each(|(b, d)| *d = f32::from(ulaw_to_linear(b[0])) / SCALE16),
        ALaw => chunks.for_each(|(b, d)| *d = f32::from(alaw_to_linear(b[0])) / SCALE16),
    }
    n
}

/// `x`, or 0 when it is NaN or infinite.
fn finite(x: f32) -> f32 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

/// Round and clamp `x * scale` to the integer range `[-scale, scale - 1]`.
fn quantize(x: f32, scale: f32) -> i32 {
    // NaN becomes 0; infinities and overs saturate.
    let v = (x * scale).round();
    if v.is_nan() {
        0
    } else {
        v.clamp(-scale, scale - 1.0) as i32
    }
}

fn quantize32(x: f32) -> i32 {
    let v = (f64::from(x) * SCALE32).round();
    if v.is_nan() {
        0
    } else {
        v.clamp(-SCALE32, SCALE32 - 1.0) as i32
    }
}

/// Encode as many whole samples as both slices hold, rounding to nearest
/// and saturating; returns how many.
pub fn encode(format: SampleFormat, src: &[f32], dst: &mut [u8]) -> usize {
    use SampleFormat::*;
    let w = format.bytes();
    let n = src.len().min(samples_in(format, dst.len()));
    let chunks = dst[..n * w].chunks_exact_mut(w).zip(src[..n].iter());
    match format {
        U8 => chunks.for_each(|(b, &x)| b[0] = (quantize(x, SCALE8) + 128) as u8),
        S8 => chunks.for_each(|(b, &x)| b[0] = quantize(x, SCALE8) as i8 as u8),
        S16Le => chunks.for_each(|(b, &x)| b.copy_from_slice(&(quantize(x, SCALE16) as i16).to_le_bytes())),
        S16Be => chunks.for_each(|(b, &x)| b.copy_from_slice(&(quantize(x, SCALE16) as i16).to_be_bytes())),
        S24Le => chunks.for_each(|(b, &x)| b.copy_from_slice(&quantize(x, SCALE24).to_le_bytes())),
        S24Be => chunks.for_each(|(b, &x)| b.copy_from_slice(&quantize(x, SCALE24).to_be_bytes())),
        S24_3Le => chunks.for_each(|(b, &x)| b.copy_from_slice(&quantize(x, SCALE24).to_le_bytes()[..3])),
        S24_3Be => chunks.for_each(|(b, &x)| b.copy_from_slice(&quantize(x, SCALE24).to_be_bytes()[1..])),
        S32Le => chunks.for_each(|(b, &x)| b.copy_from_slice(&quantize32(x).to_le_bytes())),
        S32Be => chunks.for_each(|(b, &x)| b.copy_from_slice(&quantize32(x).to_be_bytes())),
        F32Le => chunks.for_each(|(b, &x)| b.copy_from_slice(&x.to_le_bytes())),
        F32Be => chunks.for_each(|(b, &x)| b.copy_from_slice(&x.to_be_bytes())),
        F64Le => chunks.for_each(|(b, &x)| b.copy_from_slice(&f64::from(x).to_le_bytes())),
        F64Be => chunks.for_each(|(b, &x)| b.copy_from_slice(&f64::from(x).to_be_bytes())),
        MuLaw => chunks.for_each(|(b, &x)| b[0] = linear_to_ulaw(quantize(x, SCALE16) as i16)),
        ALaw => chunks.for_each(|(b, &x)| b[0] = linear_to_alaw(quantize(x, SCALE16) as i16)),
    }
    n
}

/// G.711 mu-law code to 16-bit linear.
pub fn ulaw_to_linear(code: u8) -> i16 {
    let u = !code;
    let t = ((i32::from(u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
    (if u & 0x80 != 0 { 0x84 - t } else { t - 0x84 }) as i16
}

/// 16-bit linear to G.711 mu-law (the inverse of [`ulaw_to_linear`] on its values).
pub fn linear_to_ulaw(pcm: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32_635;
    let mut v = i32::from(pcm);
    let sign = if v < 0 {
        v = -v;
        0x80
    } else {
        0
    };
    v = v.min(CLIP) + BIAS;
    // The segment is the position of the highest set bit among bits 14..7.
    let mut exponent = 7;
    while exponent > 0 && v & (0x80 << exponent) == 0 {
        exponent -= 1;
    }
    let mantissa = (v >> (exponent + 3)) & 0x0f;
    !(sign | (exponent << 4) as u8 | mantissa as u8)
}

/// G.711 A-law code to 16-bit linear.
pub fn alaw_to_linear(code: u8) -> i16 {
    let a = code ^ 0x55;
    let exponent = (a & 0x70) >> 4;
    let mut t = i32::from(a & 0x0f) << 4;
    t = match exponent {
        0 => t + 8,
        1 => t + 0x108,
        e => (t + 0x108) << (e - 1),
    };
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

/// 16-bit linear to G.711 A-law (the inverse of [`alaw_to_linear`] on its values).
pub fn linear_to_alaw(pcm: i16) -> u8 {
    let mut v = i32::from(pcm) >> 3; // 13-bit
    let mask: u8 = if v >= 0 {
        0xd5
    } else {
        v = -v - 1;
        0x55
    };
    let v = v.min(0x0fff);
    let segment = match v {
        0..=0x1f => 0,
        0x20..=0x3f => 1,
        0x40..=0x7f => 2,
        0x80..=0xff => 3,
        0x100..=0x1ff => 4,
        0x200..=0x3ff => 5,
        0x400..=0x7ff => 6,
        _ => 7,
    };
    let mantissa = if segment < 2 { (v >> 1) & 0x0f } else { (v >> segment) & 0x0f };
    ((segment << 4) as u8 | mantissa as u8) ^ mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use SampleFormat::*;

    const ALL: [SampleFormat; 16] =
        [U8, S8, S16Le, S16Be, S24Le, S24Be, S24_3Le, S24_3Be, S32Le, S32Be, F32Le, F32Be, F64Le, F64Be, MuLaw, ALaw];

    #[test]
    fn every_8_16_and_24_bit_value_round_trips_exactly() {
        for format in [U8, S8] {
            let src: Vec<u8> = (0..=255).collect();
            let mut f = vec![0.0; 256];
            let mut back = vec![0u8; 256];
            assert_eq!(decode(format, &src, &mut f), 256);
            assert_eq!(encode(format, &f, &mut back), 256);
            assert_eq!(back, src, "{format:?}");
        }
        for format in [S16Le, S16Be] {
            let src: Vec<u8> = (i16::MIN..=i16::MAX)
                .flat_map(|v| if format == S16Le { v.to_le_bytes() } else { v.to_be_bytes() })
                .collect();
            let mut f = vec![0.0; 65_536];
            let mut back = vec![0u8; src.len()];
            decode(format, &src, &mut f);
            encode(format, &f, &mut back);
            assert_eq!(back, src, "{format:?}");
        }
        for format in [S24Le, S24Be, S24_3Le, S24_3Be] {
            let values: Vec<i32> =
                (-8_388_608..8_388_608).step_by(97).chain([-8_388_608, 8_388_607, -1, 0, 1]).collect();
            let src: Vec<u8> = values
                .iter()
                .flat_map(|&v| match format {
                    S24Le => v.to_le_bytes().to_vec(),
                    S24Be => v.to_be_bytes().to_vec(),
                    S24_3Le => v.to_le_bytes()[..3].to_vec(),
                    _ => v.to_be_bytes()[1..].to_vec(),
                })
                .collect();
            let mut f = vec![0.0; values.len()];
            let mut back = vec![0u8; src.len()];
            decode(format, &src, &mut f);
            encode(format, &f, &mut back);
            assert_eq!(back, src, "{format:?}");
        }
    }

    #[test]
    fn scale_endianness_and_saturation() {
        let mut f = [0.0f32; 2];
        decode(S16Be, &[0x40, 0x00, 0xc0, 0x00], &mut f);
        assert_eq!(f, [0.5, -0.5]);
        decode(S32Le, &i32::MIN.to_le_bytes(), &mut f[..1]);
        assert_eq!(f[0], -1.0);
        decode(F64Be, &0.25f64.to_be_bytes(), &mut f[..1]);
        assert_eq!(f[0], 0.25);
        let mut b = [0u8; 8];
        encode(S16Le, &[1.5, -7.0, f32::NAN, f32::INFINITY], &mut b);
        assert_eq!(b, [0xff, 0x7f, 0x00, 0x80, 0, 0, 0xff, 0x7f]);
        encode(S32Le, &[1.0, -1.0], &mut b);
        assert_eq!(b[..4], i32::MAX.to_le_bytes());
        assert_eq!(b[4..], i32::MIN.to_le_bytes());
        encode(U8, &[0.0, -1.0], &mut b[..2]);
        assert_eq!(b[..2], [0x80, 0x00]);
    }

    #[test]
    fn g711_matches_its_reference_points_and_round_trips() {
        assert_eq!(ulaw_to_linear(0xff), 0);
        assert_eq!(ulaw_to_linear(0x80), 32_124);
        assert_eq!(ulaw_to_linear(0x00), -32_124);
        assert_eq!(alaw_to_linear(0xd5), 8);
        assert_eq!(alaw_to_linear(0xaa), 32_256);
        assert_eq!(alaw_to_linear(0x2a), -32_256);
        for code in 0..=255u8 {
            let u = linear_to_ulaw(ulaw_to_linear(code));
            assert!(u == code || (code == 0x7f && u == 0xff), "mu-law {code:#04x} -> {u:#04x}");
            assert_eq!(linear_to_alaw(alaw_to_linear(code)), code, "A-law {code:#04x}");
        }
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2a);
    }

    #[test]
    fn nan_and_infinities_decode_as_silence() {
        let mut f = [9.0f32; 4];
        let src: Vec<u8> =
            [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.5].iter().flat_map(|x| x.to_le_bytes()).collect();
        decode(F32Le, &src, &mut f);
        assert_eq!(f, [0.0, 0.0, 0.0, 0.5]);
        let src: Vec<u8> = [f64::NAN, 1e300, -1e300, -0.25].iter().flat_map(|x| x.to_be_bytes()).collect();
        decode(F64Be, &src, &mut f);
        assert_eq!(f, [0.0, 0.0, 0.0, -0.25]);
    }

    #[test]
    fn short_buffers_convert_only_whole_samples() {
        for format in ALL {
            let mut f = [9.0f32; 4];
            let bytes = vec![0u8; format.bytes() * 3 - 1]; // two whole samples and a partial one (none for 1-byte formats)
            assert_eq!(decode(format, &bytes, &mut f), 2, "{format:?}");
            let mut out = vec![0u8; format.bytes() * 3 - 1];
            assert_eq!(encode(format, &[0.1, 0.2, 0.3], &mut out), 2, "{format:?}");
        }
    }
}
