//! Channel layouts from mono to 7.1, and the matrices that up- and down-mix
//! between them.
//!
//! Channel order is ALSA's (and OSS's): FL FR RL RR FC LFE SL SR, the first
//! N of them for N channels, except mono (FC) and 3 channels (FL FR LFE, 2.1).
//!
//! Down-mix to stereo follows ITU-R BS.775: centre and surrounds enter each
//! side at -3 dB, LFE is dropped; to mono, the stereo down-mix is averaged.
//! Up-mix copies what both layouts share and fills front left/right from
//! mono; other new channels stay silent (no invented surround).

/// A speaker position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    FrontLeft,
    FrontRight,
    RearLeft,
    RearRight,
    FrontCenter,
    Lfe,
    SideLeft,
    SideRight,
}

use Position::*;

/// The positions of an `n`-channel stream (1-8), or `None`.
pub fn layout(n: usize) -> Option<&'static [Position]> {
    Some(match n {
        1 => &[FrontCenter],
        2 => &[FrontLeft, FrontRight],
        3 => &[FrontLeft, FrontRight, Lfe],
        4 => &[FrontLeft, FrontRight, RearLeft, RearRight],
        5 => &[FrontLeft, FrontRight, RearLeft, RearRight, FrontCenter],
        6 => &[FrontLeft, FrontRight, RearLeft, RearRight, FrontCenter, Lfe],
        7 => &[FrontLeft, FrontRight, RearLeft, RearRight, FrontCenter, Lfe, SideLeft],
        8 => &[FrontLeft, FrontRight, RearLeft, RearRight, FrontCenter, Lfe, SideLeft, SideRight],
        _ => return None,
    })
}

const MINUS_3DB: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// How much of input position `from` goes to output position `to`, when
/// `to` is not itself present in the input. `mono_in`: the input is mono.
fn fold(from: Position, to: Position, out: &[Position], mono_in: bool) -> f32 {
    let has = |p| out.contains(&p);
    match (from, to) {
        // A centre with nowhere of its own to go: into both fronts, at full
        // level from a mono source, at -3 dB from a surround mix.
        (FrontCenter, FrontLeft | FrontRight) if !has(FrontCenter) => {
            if mono_in {
                1.0
            } else {
                MINUS_3DB
            }
        }
        (RearLeft | SideLeft, FrontLeft) if !has(from) && !has(RearLeft) => MINUS_3DB,
        (RearRight | SideRight, FrontRight) if !has(from) && !has(RearRight) => MINUS_3DB,
        (SideLeft, RearLeft) if !has(SideLeft) => 1.0,
        (SideRight, RearRight) if !has(SideRight) => 1.0,
        _ => 0.0,
    }
}

/// An `out x in` mixing matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelMatrix {
    inputs: usize,
    outputs: usize,
    /// Row-major: `m[o * inputs + i]`.
    m: Vec<f32>,
    identity: bool,
    /// When every output is one input at unity or silence (mono to
    /// stereo, stereo to 5.1): for each output, the input it copies.
    /// Applied as copies, with no multiply-adds.
    route: Option<Vec<Option<usize>>>,
}

impl ChannelMatrix {
    /// The matrix from `inputs` to `outputs` channels (1-8 each).
    pub fn new(inputs: usize, outputs: usize) -> Option<ChannelMatrix> {
        let (li, lo) = (layout(inputs)?, layout(outputs)?);
        let mut m = vec![0.0; inputs * outputs];
        for (o, &to) in lo.iter().enumerate() {
            for (i, &from) in li.iter().enumerate() {
                m[o * inputs + i] = if from == to { 1.0 } else { fold(from, to, lo, inputs == 1) };
            }
        }
        // Mono out: the average of the fronts plus the centre, and the
        // surrounds at -3 dB, halved like the fronts.
        if outputs == 1 {
            for (i, &from) in li.iter().enumerate() {
                m[i] = match from {
                    FrontCenter => 1.0,
                    FrontLeft | FrontRight => 0.5,
                    RearLeft | RearRight | SideLeft | SideRight => 0.5 * MINUS_3DB,
                    Lfe => 0.0,
                };
            }
        }
        let identity = inputs == outputs;
        let route = (0..outputs)
            .map(|o| {
                let row = &m[o * inputs..(o + 1) * inputs];
                match row.iter().filter(|&&g| g != 0.0).count() {
                    0 => Some(None),
                    1 => row.iter().position(|&g| g == 1.0).map(Some),
                    _ => None,
                }
            })
            .collect();
        Some(ChannelMatrix { inputs, outputs, m, identity, route })
    }

    pub fn inputs(&self) -> usize {
        self.inputs
    }
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// Gain from input channel `i` to output channel `o`.
    pub fn gain(&self, o: usize, i: usize) -> f32 {
        self.m[o * self.inputs + i]
    }

    /// Map whole frames of `input` into `output`; returns frames written.
    /// Never allocates.
    pub fn apply(&self, input: &[f32], output: &mut [f32]) -> usize {
        let frames = (input.len() / self.inputs).min(output.len() / self.outputs);
        if self.identity {
            output[..frames * self.outputs].copy_from_slice(&input[..frames * self.inputs]);
            return frames;
        }
        if let Some(route) = &self.route {
            for (src, dst) in input.chunks_exact(self.inputs).zip(output.chunks_exact_mut(self.outputs)).take(frames) {
                for (d, r) in dst.iter_mut().zip(route) {
                    *d = r.map_or(0.0, |i| src[i]);
                }
            }
            return frames;
        }
        for (src, dst) in input.chunks_exact(self.inputs).zip(output.chunks_exact_mut(self.outputs)).take(frames) {
            for (o, d) in dst.iter_mut().enumerate() {
                let row = &self.m[o * self.inputs..(o + 1) * self.inputs];
                *d = row.iter().zip(src).map(|(g, s)| g * s).sum();
            }
        }
        frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_copies() {
        let m = ChannelMatrix::new(6, 6).unwrap();
        let input: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let mut out = vec![0.0; 12];
        assert_eq!(m.apply(&input, &mut out), 2);
        assert_eq!(out, input);
    }

    #[test]
    fn mono_and_stereo_convert_at_the_expected_levels() {
        let mut out = [0.0; 4];
        ChannelMatrix::new(1, 2).unwrap().apply(&[0.5, -0.25], &mut out);
        assert_eq!(out, [0.5, 0.5, -0.25, -0.25]);
        let mut mono = [0.0; 2];
        ChannelMatrix::new(2, 1).unwrap().apply(&[0.5, 0.25, 1.0, -1.0], &mut mono);
        assert_eq!(mono, [0.375, 0.0]);
    }

    #[test]
    fn surround_folds_into_stereo_itu_style() {
        let m = ChannelMatrix::new(6, 2).unwrap();
        // FL FR RL RR FC LFE
        let frame = [0.1, 0.2, 0.3, 0.4, 0.5, 0.9];
        let mut out = [0.0; 2];
        m.apply(&frame, &mut out);
        let k = std::f32::consts::FRAC_1_SQRT_2;
        assert!((out[0] - (0.1 + k * 0.3 + k * 0.5)).abs() < 1e-6, "{out:?}");
        assert!((out[1] - (0.2 + k * 0.4 + k * 0.5)).abs() < 1e-6, "{out:?}");
        assert_eq!(m.gain(0, 5), 0.0, "LFE is dropped");
        let m8 = ChannelMatrix::new(8, 6).unwrap();
        assert_eq!(m8.gain(2, 6), 1.0, "side left folds into rear left");
    }

    #[test]
    fn stereo_upmix_keeps_the_fronts_and_leaves_the_rest_silent() {
        let m = ChannelMatrix::new(2, 8).unwrap();
        let mut out = [9.0; 8];
        m.apply(&[0.25, -0.5], &mut out);
        assert_eq!(out, [0.25, -0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert!(ChannelMatrix::new(0, 2).is_none());
        assert!(ChannelMatrix::new(2, 9).is_none());
    }

    #[test]
    fn every_layout_pair_maps_by_its_gains() {
        // The copy path (routes) and the multiply-add path agree with the
        // matrix's own gains, for every pair of layouts.
        for inputs in 1..=8 {
            for outputs in 1..=8 {
                let m = ChannelMatrix::new(inputs, outputs).unwrap();
                let input: Vec<f32> = (0..inputs * 3).map(|v| (v as f32 - 7.0) / 16.0).collect();
                let mut out = vec![9.0; outputs * 3];
                assert_eq!(m.apply(&input, &mut out), 3);
                for (f, frame) in out.chunks(outputs).enumerate() {
                    for (o, &got) in frame.iter().enumerate() {
                        let want: f32 = (0..inputs).map(|i| m.gain(o, i) * input[f * inputs + i]).sum();
                        assert!((got - want).abs() < 1e-6, "{inputs} -> {outputs}: frame {f} out {o}: {got} != {want}");
                    }
                }
            }
        }
    }
}
