//! Band-limited sample-rate conversion for client streams, in f32, on the
//! real-time thread.
//!
//! [`Resampler`] converts interleaved frames between any two rates from
//! 8 kHz to 384 kHz with a polyphase Kaiser-windowed sinc filter:
//!
//! - **Identity** (equal rates, no drift): samples are copied, bit-exact, no
//!   delay.
//! - **Exact polyphase**: when the ratio reduces to `M/L` with a small `L`
//!   (44.1 → 48 kHz is 147/160), there is one precomputed coefficient row per
//!   output phase: no coefficient is interpolated.
//! - **Oversampled table**: otherwise (a large `L`, e.g. 12345 → 48000 Hz, or
//!   44.1 → 384 kHz with its 1280 phases), and as soon as the ratio is adjusted
//!   for drift ([`Resampler::set_ratio_adjust`]), the row for the exact
//!   fractional position is interpolated linearly between two adjacent rows of
//!   a table with up to 1024 rows per input frame.
//!
//! The filter is 64 taps long at the lower of the two rates (`r` times that
//! when downsampling by `r`), its −6 dB point at 0.96 of the lower rate's
//! Nyquist frequency: flat within ±0.001 dB to 0.84 of Nyquist (18.5 kHz at
//! 44.1 kHz), at least 120 dB down from 1.095 of Nyquist. Downsampling thus
//! removes what the output cannot carry, upsampling removes the images; an
//! alias or image less than 120 dB down can only land above 0.905 of Nyquist.
//! The filter delays the signal by half its length (32 frames at the lower
//! rate); [`Resampler::input_position`] says exactly where each output frame
//! lies on the input timeline. A 1 kHz tone measures 141 dB SNR
//! (44.1 → 48 kHz; the tests and `docs/PERFORMANCE.md`); [`measure`] is the
//! sine fit that measures it.
//!
//! At the end of a stream [`Resampler::flush`] plays out what the filter
//! still holds, as if silence followed.
//!
//! Construction allocates the tables (44.1 → 48 kHz: 40 KiB of exact rows and
//! 256 KiB of oversampled ones; never more than 660 KiB) and the history;
//! [`Resampler::process`], [`Resampler::flush`], [`Resampler::set_ratio_adjust`]
//! and [`Resampler::reset`] never allocate.
//!
//! ```
//! use outboard_mixer::resample::Resampler;
//!
//! let mut r = Resampler::new(44_100, 48_000, 2).unwrap();
//! let input = vec![0.0f32; 441 * 2]; // 10 ms of stereo
//! let mut output = vec![0.0f32; r.output_frames_for(441) * 2];
//! let (consumed, produced) = r.process(&input, &mut output);
//! assert_eq!((consumed, produced), (441, 480));
//! ```

mod design;
mod kernel;
pub mod measure;
#[cfg(test)]
mod tests;

use design::Prototype;

/// Lowest supported rate, in Hz.
pub const MIN_RATE: u32 = 8_000;
/// Highest supported rate, in Hz.
pub const MAX_RATE: u32 = 384_000;
/// Most channels in one stream.
pub const MAX_CHANNELS: usize = 256;
/// Largest drift correction [`Resampler::set_ratio_adjust`] accepts, in ppm.
pub const MAX_ADJUST_PPM: f64 = 10_000.0;

/// Why a resampler could not be made or adjusted.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq)]
pub enum ResampleError {
    /// A rate outside [`MIN_RATE`]..=[`MAX_RATE`].
    #[error("sample rate {0} Hz is not supported (8000..=384000 Hz)")]
    Rate(u32),
    /// No channels, or more than [`MAX_CHANNELS`].
    #[error("{0} channels is not supported (1..=256)")]
    Channels(usize),
    /// A ratio adjustment that is not finite or beyond ±[`MAX_ADJUST_PPM`].
    #[error("ratio adjustment {0} ppm is not supported (at most ±10000 ppm)")]
    Adjust(f64),
}

/// How the next output frame is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Equal rates and no adjustment: a copy.
    Passthrough,
    /// One exact row per output phase.
    Exact,
    /// Rows interpolated from the oversampled table.
    Interpolated,
}

/// A streaming sample-rate converter for interleaved f32 frames.
///
/// Feed it with [`process`](Resampler::process) in chunks of any size; the
/// output does not depend on how the input was split.
#[derive(Clone)]
pub struct Resampler {
    in_rate: u32,
    out_rate: u32,
    channels: usize,
    proto: Prototype,
    taps: usize,
    /// Each output frame advances the input by `num / den` frames
    /// (in_rate / out_rate in lowest terms) = `whole + rem / den`.
    num: u64,
    den: u64,
    whole: usize,
    rem: u64,
    /// `den` rows of `taps`, or empty when `den` is too large.
    exact: Vec<f32>,
    /// `rows + 1` rows of `taps`, for positions `k / rows`; `rows` is a
    /// power of two, `1 << rows_log2`.
    table: Vec<f32>,
    rows_log2: u32,
    /// One interpolated row (streams of more than two channels).
    scratch: Vec<f32>,
    /// Per channel, `cap` frames of history, contiguous: channel `c` at `c * cap`.
    hist: Vec<f32>,
    cap: usize,
    /// Valid frames in each channel's history.
    fill: usize,
    /// Input frames dropped from the front of the history since the last
    /// reset, minus the `taps - 1` frames of silence it started with.
    dropped: i64,
    /// Frames of silence [`flush`](Resampler::flush) has appended since the
    /// last real input frame (`taps - 1`: the filter holds nothing more).
    flushed: usize,
    mode: Mode,
    /// History index of the first tap of the next output frame.
    pos: usize,
    /// Exact mode: the next output lies `phase / den` frames after the centre tap.
    phase: u64,
    /// Interpolated mode: the same, in units of 2^-64 frame.
    frac: u64,
    /// Interpolated mode: input frames per output frame now (fixed point,
    /// 64 fractional bits), the value it ramps to, the change per output
    /// frame and the output frames left to ramp.
    step: u128,
    target: u128,
    step_inc: i128,
    ramp_left: u32,
    adjust_ppm: f64,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("in_rate", &self.in_rate)
            .field("out_rate", &self.out_rate)
            .field("channels", &self.channels)
            .field("mode", &self.mode)
            .field("taps", &self.taps)
            .field("adjust_ppm", &self.adjust_ppm)
            .field("input_position", &self.input_position())
            .finish_non_exhaustive()
    }
}

impl Resampler {
    /// A converter from `in_rate` to `out_rate` Hz for `channels` interleaved channels.
    pub fn new(in_rate: u32, out_rate: u32, channels: usize) -> Result<Resampler, ResampleError> {
        for rate in [in_rate, out_rate] {
            if !(MIN_RATE..=MAX_RATE).contains(&rate) {
                return Err(ResampleError::Rate(rate));
            }
        }
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(ResampleError::Channels(channels));
        }
        let g = gcd(in_rate.into(), out_rate.into());
        let (num, den) = (u64::from(in_rate) / g, u64::from(out_rate) / g);
        let proto = Prototype::new(in_rate, out_rate);
        let taps = proto.taps;
        let exact_len = den as usize * taps;
        let exact = if exact_len <= design::TABLE_MAX { proto.exact_table(den as usize) } else { Vec::new() };
        // Room for the filter window plus a block of new input: each refill
        // moves at most `taps` frames per channel back to the front.
        let cap = 2 * taps + taps.max(1024);
        let mut r = Resampler {
            in_rate,
            out_rate,
            channels,
            proto,
            taps,
            num,
            den,
            whole: (num / den) as usize,
            rem: num % den,
            exact,
            table: proto.oversampled_table(),
            rows_log2: proto.oversampling().trailing_zeros(),
            scratch: vec![0.0; taps],
            hist: vec![0.0; channels * cap],
            cap,
            fill: 0,
            dropped: 0,
            flushed: 0,
            mode: Mode::Passthrough,
            pos: 0,
            phase: 0,
            frac: 0,
            step: 0,
            target: 0,
            step_inc: 0,
            ramp_left: 0,
            adjust_ppm: 0.0,
        };
        r.reset();
        Ok(r)
    }

    /// Input rate in Hz.
    pub fn in_rate(&self) -> u32 {
        self.in_rate
    }

    /// Output rate in Hz.
    pub fn out_rate(&self) -> u32 {
        self.out_rate
    }

    /// Channels per frame.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Filter length in input frames (0 for an identity passthrough): the
    /// delay is half of it.
    pub fn taps(&self) -> usize {
        if self.mode == Mode::Passthrough {
            0
        } else {
            self.taps
        }
    }

    /// The ratio adjustment in effect (ppm), as last set.
    pub fn ratio_adjust(&self) -> f64 {
        self.adjust_ppm
    }

    /// Forgets all input and any ratio adjustment: the next output frame is
    /// computed as if the stream had been silent before.
    pub fn reset(&mut self) {
        self.hist.fill(0.0);
        // taps - 1 frames of silence: the first output frame needs only the
        // first input frame, so output starts at once, delayed by taps / 2.
        self.fill = self.taps - 1;
        self.dropped = -(self.fill as i64);
        // The history is all silence: nothing to flush.
        self.flushed = self.taps - 1;
        self.pos = 0;
        self.phase = 0;
        self.frac = 0;
        self.step = self.base_step();
        self.target = self.step;
        self.step_inc = 0;
        self.ramp_left = 0;
        self.adjust_ppm = 0.0;
        self.mode = if self.in_rate == self.out_rate {
            Mode::Passthrough
        } else if self.exact.is_empty() {
            Mode::Interpolated
        } else {
            Mode::Exact
        };
    }

    /// in_rate / out_rate in fixed point (64 fractional bits).
    fn base_step(&self) -> u128 {
        (u128::from(self.num) << 64) / u128::from(self.den)
    }

    /// Where the next output frame lies on the input timeline, in input
    /// frames since the last reset (0.0 is the first input frame). Output
    /// frame `n` of a fixed ratio lies at `n · in_rate / out_rate − taps/2`.
    pub fn input_position(&self) -> f64 {
        let (start, frac) = match self.mode {
            Mode::Passthrough => return (self.dropped + self.fill as i64) as f64,
            Mode::Exact => (self.pos, self.phase as f64 / self.den as f64),
            Mode::Interpolated => (self.pos, to_f64(self.frac.into())),
        };
        (self.dropped + start as i64) as f64 + self.proto.centre_tap() + frac
    }

    /// Changes the conversion ratio by `ppm` parts per million, for
    /// adaptive resampling between two clocks: positive values produce more
    /// output frames per input frame (the output clock runs faster than its
    /// nominal rate). The change ramps in over 10 ms of output, with no jump
    /// in the signal. Errors on non-finite values or beyond ±[`MAX_ADJUST_PPM`].
    ///
    /// The first non-zero adjustment switches to the oversampled table for
    /// good (until [`reset`](Resampler::reset)); an identity passthrough then
    /// starts filtering and needs `taps()/2 + 1` more input frames once before
    /// it produces the next output frame (its delay grows to `taps()/2`).
    pub fn set_ratio_adjust(&mut self, ppm: f64) -> Result<(), ResampleError> {
        if !ppm.is_finite() || ppm.abs() > MAX_ADJUST_PPM {
            return Err(ResampleError::Adjust(ppm));
        }
        if ppm == self.adjust_ppm {
            return Ok(());
        }
        self.adjust_ppm = ppm;
        match self.mode {
            Mode::Passthrough => {
                // The next output frame is the next input frame, now
                // computed by the filter around it.
                self.pos = self.fill - (self.taps / 2 - 1);
                self.frac = 0;
                self.step = 1 << 64;
            }
            Mode::Exact => {
                self.frac = ((u128::from(self.phase) << 64) / u128::from(self.den)) as u64;
                self.step = self.base_step();
            }
            Mode::Interpolated => {}
        }
        self.mode = Mode::Interpolated;
        self.target = if ppm == 0.0 {
            self.base_step()
        } else {
            (to_f64(self.base_step()) / (1.0 + ppm * 1e-6) * TWO_64) as u128
        };
        self.ramp_left = (self.out_rate / 100).max(1);
        self.step_inc = (self.target as i128 - self.step as i128) / i128::from(self.ramp_left);
        Ok(())
    }

    /// Converts as much of `input` as it can into `output` (both interleaved,
    /// whole frames; a trailing partial frame is ignored). Returns
    /// `(frames consumed, frames produced)`. Stops when `output` is full or
    /// all of `input` is consumed; consumed input is kept as filter history,
    /// so the caller passes the rest (and then new input) to the next call.
    /// Never allocates.
    pub fn process(&mut self, input: &[f32], output: &mut [f32]) -> (usize, usize) {
        let ch = self.channels;
        let (in_frames, out_frames) = (input.len() / ch, output.len() / ch);
        if self.mode == Mode::Passthrough {
            let n = in_frames.min(out_frames);
            output[..n * ch].copy_from_slice(&input[..n * ch]);
            self.remember(&input[..n * ch]);
            return (n, n);
        }
        let (mut consumed, mut produced) = (0, 0);
        loop {
            let out = &mut output[produced * ch..out_frames * ch];
            produced += match self.mode {
                Mode::Exact => self.produce_exact(out),
                _ => self.produce_interpolated(out),
            };
            if produced == out_frames || consumed == in_frames {
                return (consumed, produced);
            }
            if self.fill == self.cap {
                self.compact(self.pos.min(self.fill));
            }
            let n = (self.cap - self.fill).min(in_frames - consumed);
            self.load(&input[consumed * ch..(consumed + n) * ch]);
            if n > 0 {
                self.flushed = 0;
            }
            consumed += n;
        }
    }

    /// The end of a stream: produces what is left of the input given so far,
    /// as if silence followed it, into `output`; returns the frames produced.
    ///
    /// [`process`](Resampler::process) stops half the filter (`taps()/2`
    /// input frames) short of the last input frame, because the frames after
    /// it have not come yet. `flush` makes the rest: the signal up to its
    /// last frame, then the filter's decay to silence. While it fills
    /// `output`, call it again; once it returns less, every output frame the
    /// input contributes to is out, and further calls produce nothing. Input
    /// given later follows the silence. Input not yet taken by `process` is
    /// not flushed: pass it first. Never allocates.
    pub fn flush(&mut self, output: &mut [f32]) -> usize {
        if self.mode == Mode::Passthrough {
            return 0; // no delay: every input frame is out already
        }
        let ch = self.channels;
        let out_frames = output.len() / ch;
        // Once `taps - 1` frames of silence follow the last input frame, the
        // next output frame's window would start past it.
        let silence = self.taps - 1;
        let mut produced = 0;
        loop {
            let out = &mut output[produced * ch..out_frames * ch];
            produced += match self.mode {
                Mode::Exact => self.produce_exact(out),
                _ => self.produce_interpolated(out),
            };
            if produced == out_frames || self.flushed >= silence {
                return produced;
            }
            if self.fill == self.cap {
                self.compact(self.pos.min(self.fill));
            }
            let n = (self.cap - self.fill).min(silence - self.flushed);
            for c in 0..ch {
                let at = c * self.cap + self.fill;
                self.hist[at..at + n].fill(0.0);
            }
            self.fill += n;
            self.flushed += n;
        }
    }

    /// The most output frames `process` can produce from `input_frames` more
    /// input frames (given room). Exact unless the ratio is adjusted, then
    /// an upper bound (by at most 2 frames).
    pub fn output_frames_for(&self, input_frames: usize) -> usize {
        let avail = self.fill + input_frames;
        match self.mode {
            Mode::Passthrough => input_frames,
            _ if avail < self.pos + self.taps => 0,
            Mode::Exact => {
                // Output k needs pos + floor((phase + k·num) / den) + taps <= avail.
                let a = (avail - self.pos - self.taps) as u128 + 1;
                let (num, den) = (u128::from(self.num), u128::from(self.den));
                ((a * den - u128::from(self.phase)).div_ceil(num)) as usize
            }
            Mode::Interpolated => {
                let a = (avail - self.pos - self.taps) as f64 + 1.0;
                let step = to_f64(self.step.min(self.target));
                ((a - to_f64(self.frac.into())) / step).ceil() as usize + 1
            }
        }
    }

    /// The input frames `process` needs to produce `output_frames` more
    /// output frames. Exact unless the ratio is adjusted, then enough (by
    /// at most 2 frames more than needed).
    pub fn input_frames_for(&self, output_frames: usize) -> usize {
        if output_frames == 0 {
            return 0;
        }
        let k = output_frames as u64 - 1;
        let last = match self.mode {
            Mode::Passthrough => return output_frames,
            Mode::Exact => {
                let adv = (u128::from(self.phase) + u128::from(k) * u128::from(self.num)) / u128::from(self.den);
                self.pos + adv as usize
            }
            Mode::Interpolated => {
                let step = to_f64(self.step.max(self.target));
                self.pos + (to_f64(self.frac.into()) + k as f64 * step).floor() as usize + 1
            }
        };
        (last + self.taps).saturating_sub(self.fill)
    }

    /// Appends whole interleaved frames to each channel's history.
    fn load(&mut self, frames: &[f32]) {
        let (ch, n) = (self.channels, frames.len() / self.channels);
        if ch == 2 {
            let (left, right) = self.hist.split_at_mut(self.cap);
            let dst = left[self.fill..][..n].iter_mut().zip(&mut right[self.fill..][..n]);
            for ((l, r), frame) in dst.zip(frames.chunks_exact(2)) {
                (*l, *r) = (frame[0], frame[1]);
            }
            self.fill += n;
            return;
        }
        for c in 0..ch {
            let dst = &mut self.hist[c * self.cap + self.fill..][..n];
            for (d, frame) in dst.iter_mut().zip(frames.chunks_exact(ch)) {
                *d = frame[c];
            }
        }
        self.fill += n;
    }

    /// Drops the first `n` frames of every channel's history.
    fn compact(&mut self, n: usize) {
        for c in 0..self.channels {
            let base = c * self.cap;
            self.hist.copy_within(base + n..base + self.fill, base);
        }
        self.fill -= n;
        self.pos -= n;
        self.dropped += n as i64;
    }

    /// Passthrough: keeps the last `taps` input frames as history, so that a
    /// ratio adjustment can start filtering without a jump.
    fn remember(&mut self, frames: &[f32]) {
        let n = frames.len() / self.channels;
        if n > 0 {
            self.flushed = 0;
        }
        // In passthrough the next output frame is the next input frame.
        self.pos = self.fill;
        let frames = if n >= self.taps {
            self.compact(self.fill);
            self.dropped += (n - self.taps) as i64;
            &frames[(n - self.taps) * self.channels..]
        } else {
            if self.fill + n > self.cap {
                self.compact(self.fill + n - self.taps);
            }
            frames
        };
        self.load(frames);
        self.pos = self.fill;
    }

    /// Exact mode: output frames while the history holds their windows.
    fn produce_exact(&mut self, out: &mut [f32]) -> usize {
        let (taps, cap, den) = (self.taps, self.cap, self.den);
        let (mut pos, mut phase) = (self.pos, self.phase);
        let mut produced = 0;
        for frame in out.chunks_exact_mut(self.channels) {
            if pos + taps > self.fill {
                break;
            }
            let row = &self.exact[phase as usize * taps..][..taps];
            write_frame(row, &self.hist, cap, pos, frame);
            pos += self.whole;
            phase += self.rem;
            if phase >= den {
                phase -= den;
                pos += 1;
            }
            produced += 1;
        }
        self.pos = pos;
        self.phase = phase;
        produced
    }

    /// Interpolated mode: the same, with each row interpolated from the
    /// oversampled table and the step following its ramp.
    fn produce_interpolated(&mut self, out: &mut [f32]) -> usize {
        let (taps, cap, shift) = (self.taps, self.cap, self.rows_log2);
        let (mut pos, mut frac) = (self.pos, self.frac);
        let mut produced = 0;
        for frame in out.chunks_exact_mut(self.channels) {
            if pos + taps > self.fill {
                break;
            }
            // The top `shift` bits of the fraction pick the row, the next 24
            // say how far towards the next row.
            let k = if shift == 0 { 0 } else { (frac >> (64 - shift)) as usize };
            let t = ((frac << shift) >> 40) as f32 * (1.0 / (1u32 << 24) as f32);
            let ab = &self.table[k * taps..][..2 * taps];
            let (a, b) = ab.split_at(taps);
            let hist = &self.hist;
            if let [l, r] = frame {
                (*l, *r) = kernel::dot2_lerp(a, b, t, &hist[pos..][..taps], &hist[cap + pos..][..taps]);
            } else if let [y] = frame {
                *y = kernel::dot_lerp(a, b, t, &hist[pos..][..taps]);
            } else {
                kernel::lerp_row(a, b, t, &mut self.scratch);
                write_frame(&self.scratch, hist, cap, pos, frame);
            }
            if self.ramp_left > 0 {
                self.ramp_left -= 1;
                self.step = if self.ramp_left == 0 { self.target } else { (self.step as i128 + self.step_inc) as u128 };
            }
            let next = u128::from(frac) + self.step;
            pos += (next >> 64) as usize;
            frac = next as u64;
            produced += 1;
        }
        self.pos = pos;
        self.frac = frac;
        produced
    }
}

const TWO_64: f64 = 18_446_744_073_709_551_616.0;

/// A 64.64 fixed-point number as a float.
fn to_f64(x: u128) -> f64 {
    x as f64 / TWO_64
}

/// One output frame: each channel's history from `pos`, through `row`.
#[inline(always)]
fn write_frame(row: &[f32], hist: &[f32], cap: usize, pos: usize, frame: &mut [f32]) {
    let taps = row.len();
    if let [l, r] = frame {
        let (y0, y1) = kernel::dot2(row, &hist[pos..][..taps], &hist[cap + pos..][..taps]);
        (*l, *r) = (y0, y1);
    } else {
        for (c, y) in frame.iter_mut().enumerate() {
            *y = kernel::dot(row, &hist[c * cap + pos..][..taps]);
        }
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}
