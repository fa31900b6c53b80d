//! Resampler tests: passthrough, SNR, level and frequency across ratios,
//! anti-aliasing, streaming, drift, arguments.

use std::f64::consts::PI;

use super::measure::{fit_sine, sine};
use super::*;

const AMPLITUDE: f64 = 0.5;

/// Runs all of `input` through `r` in one call, with room for everything.
fn run(r: &mut Resampler, input: &[f32]) -> Vec<f32> {
    let ch = r.channels();
    let frames = input.len() / ch;
    let mut out = vec![0.0; r.output_frames_for(frames) * ch];
    let (consumed, produced) = r.process(input, &mut out);
    assert_eq!(consumed, frames);
    if r.mode == Mode::Exact {
        assert_eq!(produced * ch, out.len(), "output_frames_for is exact for exact rows");
    } else {
        assert!(out.len() - produced * ch <= 2 * ch, "output_frames_for is at most 2 frames over");
    }
    out.truncate(produced * ch);
    out
}

/// Runs `input` through `r` in chunks of the given sizes (in frames, cycled)
/// for input and output, the way a caller with small buffers would.
fn run_chunked(r: &mut Resampler, input: &[f32], in_chunks: &[usize], out_chunks: &[usize]) -> Vec<f32> {
    let ch = r.channels();
    let mut out = Vec::new();
    let mut buf = vec![0.0; 4096 * ch];
    let (mut at, mut i, mut idle) = (0, 0, 0);
    while at < input.len() && idle < 3 {
        let end = (at + in_chunks[i % in_chunks.len()] * ch).min(input.len());
        let room = out_chunks[i % out_chunks.len()] * ch;
        let (consumed, produced) = r.process(&input[at..end], &mut buf[..room]);
        out.extend_from_slice(&buf[..produced * ch]);
        at += consumed * ch;
        idle = if consumed == 0 && produced == 0 { idle + 1 } else { 0 };
        i += 1;
    }
    assert_eq!(at, input.len(), "all input consumed");
    // Drain what the last input still allows.
    loop {
        let (_, produced) = r.process(&[], &mut buf);
        out.extend_from_slice(&buf[..produced * ch]);
        if produced == 0 {
            return out;
        }
    }
}

/// Converts one second of a `freq` Hz sine and fits it on every channel,
/// skipping the filter's start-up. Checks the frequency implicitly (the fit
/// uses the exact expected frequency; a wrong one reads as noise), the level
/// and the phase the delay predicts. Returns the worst SNR.
fn tone(in_rate: u32, out_rate: u32, freq: f64, channels: usize) -> f64 {
    let mut r = Resampler::new(in_rate, out_rate, channels).unwrap();
    let input = sine(freq, in_rate.into(), AMPLITUDE, in_rate as usize, channels);
    let out = run(&mut r, &input);
    // Output frame n lies at n·in/out − taps/2 input frames.
    let skip = (r.taps() as f64 * f64::from(out_rate) / f64::from(in_rate)).ceil() as usize + 8;
    let step = f64::from(in_rate) / f64::from(out_rate);
    let mut worst = f64::INFINITY;
    for c in 0..channels {
        let fit = fit_sine(&out[skip * channels..], channels, c, freq / f64::from(out_rate));
        let level_db = 20.0 * (fit.amplitude / AMPLITUDE).log10();
        assert!(level_db.abs() < 0.001, "{in_rate}->{out_rate} ch{c}: level {level_db} dB");
        let t = skip as f64 * step - (r.taps() / 2) as f64;
        let expected = 2.0 * PI * freq * t / f64::from(in_rate) + c as f64 * PI / 2.0;
        let dphase = (fit.phase - expected).rem_euclid(2.0 * PI);
        let dphase = dphase.min(2.0 * PI - dphase);
        assert!(dphase < 1e-5, "{in_rate}->{out_rate} ch{c}: phase off by {dphase} rad");
        worst = worst.min(fit.snr_db);
    }
    worst
}

#[test]
fn identity_is_a_bit_exact_passthrough() {
    let input: Vec<f32> = (0..3000).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
    let mut r = Resampler::new(48_000, 48_000, 3).unwrap();
    assert_eq!(r.taps(), 0);
    assert_eq!(r.output_frames_for(1000), 1000);
    assert_eq!(r.input_frames_for(1000), 1000);
    assert_eq!(run_chunked(&mut r, &input, &[7, 333, 1], &[5, 1000]), input);
    let mut out = vec![0.0; 30];
    assert_eq!(r.process(&input, &mut out), (10, 10));
    assert_eq!(out, input[..30]);
}

#[test]
fn snr_44k1_to_48k_stereo() {
    let snr = tone(44_100, 48_000, 1000.0, 2);
    eprintln!("44.1 -> 48 kHz, 1 kHz stereo: SNR {snr:.1} dB");
    assert!(snr >= 120.0, "SNR {snr} dB");
}

#[test]
fn level_and_frequency_across_ratios() {
    for (from, to, freq, min_snr) in [
        (48_000, 44_100, 1000.0, 120.0),
        (8_000, 48_000, 1000.0, 120.0),
        (48_000, 8_000, 1000.0, 120.0),
        (44_100, 384_000, 1000.0, 120.0),
        (384_000, 8_000, 1000.0, 120.0),
        (44_100, 48_000, 15_000.0, 110.0),
        (12_345, 48_000, 1000.0, 115.0), // no small denominator: interpolated rows
        (48_000, 12_345, 1000.0, 115.0),
    ] {
        let snr = tone(from, to, freq, 2);
        eprintln!("{from} -> {to} Hz, {freq} Hz: SNR {snr:.1} dB");
        assert!(snr >= min_snr, "{from} -> {to}: SNR {snr} dB");
    }
}

#[test]
fn downsampling_removes_what_the_output_cannot_carry() {
    // 48 -> 8 kHz: everything from 4.56 kHz (the stopband edge) up would alias.
    for freq in [4_600.0, 5_000.0, 7_000.0, 9_000.0, 15_000.0, 23_000.0] {
        let mut r = Resampler::new(48_000, 8_000, 1).unwrap();
        let input = sine(freq, 48_000.0, AMPLITUDE, 48_000, 1);
        let out = run(&mut r, &input);
        let rms = (out[100..].iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / (out.len() - 100) as f64).sqrt();
        let db = 20.0 * (rms / (AMPLITUDE / 2f64.sqrt())).log10();
        eprintln!("48 -> 8 kHz, {freq} Hz: {db:.1} dB");
        assert!(db < -120.0, "{freq} Hz comes through at {db} dB");
    }
}

#[test]
fn streaming_in_odd_chunks_matches_one_call() {
    for (from, to, ppm) in [(44_100, 48_000, 0.0), (48_000, 8_000, 0.0), (12_345, 48_000, 0.0), (44_100, 48_000, 250.0)]
    {
        let input = sine(997.0, f64::from(from), AMPLITUDE, 20_000, 2);
        let mut one = Resampler::new(from, to, 2).unwrap();
        one.set_ratio_adjust(ppm).unwrap();
        let mut big = vec![0.0; (one.output_frames_for(20_000) + 4) * 2];
        let (consumed, produced) = one.process(&input, &mut big);
        assert_eq!(consumed, 20_000);
        big.truncate(produced * 2);
        let mut many = Resampler::new(from, to, 2).unwrap();
        many.set_ratio_adjust(ppm).unwrap();
        let chunked = run_chunked(&mut many, &input, &[1, 17, 255, 3, 1023, 64], &[13, 1, 511, 96, 2]);
        assert!(chunked == big, "{from} -> {to} at {ppm} ppm: chunked output differs");
    }
}

#[test]
fn buffer_size_helpers_are_exact_without_drift() {
    let mut r = Resampler::new(44_100, 48_000, 2).unwrap();
    let input = sine(440.0, 44_100.0, AMPLITUDE, 10_000, 2);
    let mut at = 0;
    for n in [1, 2, 3, 441, 1000, 37] {
        let want = r.input_frames_for(n);
        let mut out = vec![0.0; 4096];
        // `want` input frames are enough for `n` output frames, one fewer is not...
        if want > 0 {
            let mut probe = r.clone();
            assert!(probe.process(&input[at..at + (want - 1) * 2], &mut out).1 < n);
        }
        // ...and give exactly `output_frames_for(want)` frames with room.
        let mut probe = r.clone();
        assert_eq!(probe.process(&input[at..at + want * 2], &mut out), (want, r.output_frames_for(want)));
        assert!(r.output_frames_for(want) >= n);
        let (consumed, produced) = r.process(&input[at..at + want * 2], &mut out[..n * 2]);
        assert_eq!((consumed, produced), (want, n));
        at += want * 2;
    }
}

#[test]
fn drift_gives_the_expected_frame_count() {
    // 20 s at 44.1 kHz with +100 ppm: 100 ppm more output than 48 kHz.
    let seconds = 20;
    let mut r = Resampler::new(44_100, 48_000, 2).unwrap();
    r.set_ratio_adjust(100.0).unwrap();
    let input = sine(1000.0, 44_100.0, AMPLITUDE, 44_100 * seconds, 2);
    let mut out = vec![0.0; 4800 * 2];
    let (mut at, mut total) = (0, 0);
    while at < input.len() {
        let (c, p) = r.process(&input[at..], &mut out);
        at += c * 2;
        total += p;
    }
    total += run(&mut r, &[]).len() / 2;
    let expected = (48_000 * seconds) as f64 * (1.0 + 100e-6);
    assert!((total as f64 - expected).abs() <= 3.0, "{total} frames, expected {expected}");
}

/// Feeds `input` one output frame at a time, comparing every output sample
/// with the ideal sine at the position the resampler reports for it, and
/// calls `adjust(r, n)` before output frame `n`. Returns the largest error.
fn follow(r: &mut Resampler, input: &[f32], freq: f64, mut adjust: impl FnMut(&mut Resampler, usize)) -> f64 {
    let (ch, w) = (r.channels(), 2.0 * PI * freq / f64::from(r.in_rate()));
    let (mut at, mut n, mut worst) = (0, 0, 0.0f64);
    let mut out = vec![0.0; ch];
    while at < input.len() {
        adjust(r, n);
        let t = r.input_position();
        let (c, p) = r.process(&input[at..], &mut out);
        at += c * ch;
        if p == 1 {
            if t > r.taps() as f64 {
                for (k, &y) in out.iter().enumerate() {
                    let ideal = AMPLITUDE * (w * t + k as f64 * PI / 2.0).sin();
                    worst = worst.max((f64::from(y) - ideal).abs());
                }
            }
            n += 1;
        }
    }
    // Drain what the history still allows.
    while r.process(&[], &mut out).1 == 1 {}
    worst
}

#[test]
fn drift_changes_are_continuous() {
    // 44.1 -> 48 kHz: exact rows, then interpolated ones ramping to +100
    // ppm, then to -1000 ppm, then back to 0.
    let input = sine(1000.0, 44_100.0, AMPLITUDE, 30_000, 2);
    let mut r = Resampler::new(44_100, 48_000, 2).unwrap();
    let worst = follow(&mut r, &input, 1000.0, |r, n| match n {
        5_000 => r.set_ratio_adjust(100.0).unwrap(),
        12_000 => r.set_ratio_adjust(-1000.0).unwrap(),
        20_000 => r.set_ratio_adjust(0.0).unwrap(),
        _ => {}
    });
    eprintln!("44.1 -> 48 kHz with drift changes: largest error {worst:e}");
    assert!(worst < 2e-6, "largest error {worst}");
    // An identity passthrough that starts filtering.
    let input = sine(1000.0, 48_000.0, AMPLITUDE, 20_000, 2);
    let mut r = Resampler::new(48_000, 48_000, 2).unwrap();
    let worst = follow(&mut r, &input, 1000.0, |r, n| {
        if n == 5_000 {
            r.set_ratio_adjust(500.0).unwrap();
        }
    });
    eprintln!("48 -> 48 kHz, passthrough then +500 ppm: largest error {worst:e}");
    assert!(worst < 2e-6, "largest error {worst}");
    // All input consumed: the next output frame waits for the input after it.
    let half = (r.taps() / 2) as f64;
    assert!((r.input_position() - (20_000.0 - half)).abs() < 2.0, "{}", r.input_position());
}

#[test]
fn reset_starts_over() {
    let input = sine(1000.0, 44_100.0, AMPLITUDE, 5000, 2);
    let mut r = Resampler::new(44_100, 48_000, 2).unwrap();
    let first = run(&mut r, &input);
    r.set_ratio_adjust(300.0).unwrap();
    run_chunked(&mut r, &input, &[100], &[100]);
    r.reset();
    assert_eq!(r.ratio_adjust(), 0.0);
    assert_eq!(r.input_position(), -((r.taps() / 2) as f64));
    assert_eq!(run(&mut r, &input), first);
}

#[test]
fn table_sizes_stay_bounded() {
    let rates = [8_000, 11_025, 12_345, 22_050, 44_100, 48_000, 96_000, 192_000, 352_800, 383_999, 384_000];
    for from in rates {
        for to in rates {
            let r = Resampler::new(from, to, 1).unwrap();
            let bytes = (r.exact.len() + r.table.len()) * 4;
            assert!(bytes <= 660 << 10, "{from} -> {to}: {bytes} bytes of tables");
            if (from, to) == (44_100, 48_000) {
                assert_eq!((r.exact.len() * 4, r.table.len() * 4), (40 << 10, 1025 * 256));
            }
        }
    }
}

#[test]
fn bad_arguments_are_refused() {
    assert_eq!(Resampler::new(7_999, 48_000, 2).unwrap_err(), ResampleError::Rate(7_999));
    assert_eq!(Resampler::new(48_000, 384_001, 2).unwrap_err(), ResampleError::Rate(384_001));
    assert_eq!(Resampler::new(0, 48_000, 2).unwrap_err(), ResampleError::Rate(0));
    assert_eq!(Resampler::new(48_000, 44_100, 0).unwrap_err(), ResampleError::Channels(0));
    assert_eq!(Resampler::new(48_000, 44_100, 257).unwrap_err(), ResampleError::Channels(257));
    assert!(Resampler::new(8_000, 384_000, 1).is_ok());
    assert!(Resampler::new(384_000, 8_000, 256).is_ok());
    let mut r = Resampler::new(44_100, 48_000, 2).unwrap();
    for bad in [f64::NAN, f64::INFINITY, 10_001.0, -20_000.0] {
        assert!(matches!(r.set_ratio_adjust(bad), Err(ResampleError::Adjust(_))), "{bad}");
    }
    assert_eq!(r.ratio_adjust(), 0.0);
    let msg = ResampleError::Rate(7_999).to_string();
    assert!(msg.contains("7999") && msg.contains("8000..=384000"), "{msg}");
    // A trailing partial frame is ignored.
    let mut out = [0.0; 3];
    assert_eq!(r.process(&[0.1; 5], &mut out).1, 1);
}

/// Everything `process` gives for `input`, then the flush, with output
/// buffers of `room` frames at a time.
fn run_then_flush(r: &mut Resampler, input: &[f32], room: usize) -> (Vec<f32>, usize) {
    let ch = r.channels();
    let mut out = run_chunked(r, input, &[777], &[room]);
    let before = out.len() / ch;
    let mut buf = vec![0.0; room * ch];
    loop {
        let n = r.flush(&mut buf);
        out.extend_from_slice(&buf[..n * ch]);
        if n < room {
            return (out, before);
        }
    }
}

#[test]
fn flush_gives_the_end_of_the_signal_and_the_filters_decay() {
    let frames = 4410;
    let input = sine(1000.0, 44_100.0, AMPLITUDE, frames, 2);
    // The reference: the same input followed by plenty of real silence.
    let mut padded = input.clone();
    padded.extend(std::iter::repeat_n(0.0, 2 * 200));
    let reference = run(&mut Resampler::new(44_100, 48_000, 2).unwrap(), &padded);
    for room in [1, 37, 4096] {
        let mut r = Resampler::new(44_100, 48_000, 2).unwrap();
        let (out, before) = run_then_flush(&mut r, &input, room);
        let half = r.taps() / 2;
        // Without the flush the output stops half the filter short of the
        // last input frame (its position: n·147/160 − taps/2).
        let last_position = (before - 1) as f64 * 44_100.0 / 48_000.0 - half as f64;
        assert!((last_position - (frames - 1 - half) as f64).abs() < 1.0, "process alone ends at {last_position}");
        // With it: everything the reference has, up to where it is silent for good.
        let ends = reference.iter().rposition(|&v| v != 0.0).unwrap() / 2 + 1;
        assert_eq!(
            out.len() / 2,
            ends,
            "room {room}: {} frames after the flush, the reference ends at {ends}",
            out.len() / 2
        );
        assert_eq!(out[..], reference[..out.len()], "room {room}");
        // The last output frame's window still held the last input frame.
        assert!((r.input_position() - (frames as f64 + half as f64 - 1.0)).abs() <= 1.0, "{}", r.input_position());
        // The decay: the signal's edge at half amplitude, the tail far below it.
        let tail = &out[out.len() - 2 * 8..];
        assert!(tail.iter().all(|v| v.abs() < 1e-3), "the last 8 frames: {tail:?}");
        let mut buf = [0.0; 64];
        assert_eq!(r.flush(&mut buf), 0, "a second flush has nothing more");
    }
    // After a flush, new input follows the silence: as if it had been fed.
    let mut r = Resampler::new(44_100, 48_000, 2).unwrap();
    let (mut out, _) = run_then_flush(&mut r, &input, 100);
    out.extend(run_chunked(&mut r, &input, &[500], &[300]));
    let mut both = input.clone();
    both.extend(std::iter::repeat_n(0.0, 2 * (r.taps() - 1)));
    both.extend_from_slice(&input);
    let whole = run_chunked(&mut Resampler::new(44_100, 48_000, 2).unwrap(), &both, &[1000], &[1000]);
    assert_eq!(out, whole);
}

#[test]
fn flush_after_drift_and_in_passthrough() {
    // Adjusted for drift: the same, against the same adjustment with silence.
    let input = sine(440.0, 48_000.0, AMPLITUDE, 3000, 1);
    let mut padded = input.clone();
    padded.extend(std::iter::repeat_n(0.0, 300));
    let mut r = Resampler::new(48_000, 48_000, 1).unwrap();
    r.set_ratio_adjust(-1500.0).unwrap();
    let mut reference = Resampler::new(48_000, 48_000, 1).unwrap();
    reference.set_ratio_adjust(-1500.0).unwrap();
    let reference = run_chunked(&mut reference, &padded, &[3300], &[4000]);
    let (out, before) = run_then_flush(&mut r, &input, 50);
    assert!(out.len() > before + r.taps() / 2, "{} after {before}", out.len());
    assert_eq!(out[..], reference[..out.len()]);
    assert!(reference[out.len()..].iter().all(|&v| v == 0.0));
    // Passthrough has no delay: nothing is held back.
    let mut r = Resampler::new(48_000, 48_000, 2).unwrap();
    let mut out = vec![0.0; 200];
    assert_eq!(r.process(&input[..200], &mut out), (100, 100));
    assert_eq!(r.flush(&mut out), 0);
    // Right after a reset there is nothing to flush either.
    let mut r = Resampler::new(44_100, 48_000, 1).unwrap();
    assert_eq!(r.flush(&mut out), 0);
}
