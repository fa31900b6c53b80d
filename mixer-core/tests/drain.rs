//! The end of a resampled stream: a drain plays all of it, the filter's
//! decay included, and a reset throws away what the resampler holds.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use outboard_mixer::devices::{MemoryDevice, Pacing};
use outboard_mixer::engine::Engine;
use outboard_mixer::format::SampleFormat;
use outboard_mixer::pcm::PcmConfig;
use outboard_mixer::resample::Resampler;
use outboard_mixer::stream::{StreamParams, StreamState};

const PERIOD: usize = 256;
const AMPLITUDE: f64 = 0.5;

/// A 48 kHz F32 stereo device that keeps what it played.
fn device(pacing: Pacing) -> (Engine, Arc<Mutex<Vec<u8>>>) {
    let cfg = PcmConfig { format: SampleFormat::F32Le, rate: 48_000, channels: 2, period_frames: PERIOD, periods: 4 };
    let (dev, played) = MemoryDevice::recording(cfg, pacing);
    (Engine::start(Box::new(dev)).unwrap(), played)
}

/// A tone of `freq` Hz at `rate` as a quadrature pair: sine on the left,
/// cosine on the right, so that |(left, right)| is its envelope.
fn quadrature(freq: f64, rate: f64, frames: usize, amplitude: f64) -> Vec<f32> {
    (0..frames)
        .flat_map(|n| {
            let (s, c) = (2.0 * std::f64::consts::PI * freq * n as f64 / rate).sin_cos();
            [(amplitude * s) as f32, (amplitude * c) as f32]
        })
        .collect()
}

fn bytes(samples: &[f32]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

/// What a resampler makes of `input` followed by plenty of silence, up to
/// its last non-zero frame: the signal and the filter's whole decay.
fn reference(input: &[f32]) -> Vec<f32> {
    let mut r = Resampler::new(44_100, 48_000, 2).unwrap();
    let mut padded = input.to_vec();
    padded.extend(std::iter::repeat_n(0.0, 2 * 4 * r.taps()));
    let mut out = vec![0.0; (r.output_frames_for(padded.len() / 2) + 2) * 2];
    let (_, made) = r.process(&padded, &mut out);
    let end = out[..made * 2].iter().rposition(|&v| v != 0.0).unwrap() / 2 + 1;
    out.truncate(end * 2);
    out
}

#[test]
fn a_drain_plays_the_resamplers_tail() {
    let (engine, played) = device(Pacing::Immediate);
    // An odd length, so that nothing lines up with a period.
    let frames = 22_111;
    let tone = quadrature(1000.0, 44_100.0, frames, AMPLITUDE);
    let mut p = engine
        .playback(StreamParams {
            buffer_frames: frames,
            start_threshold: frames,
            ..StreamParams::new(SampleFormat::F32Le, 44_100, 2, PERIOD)
        })
        .unwrap();
    p.write_all(&bytes(&tone), Duration::from_secs(5)).unwrap();
    p.drain(Duration::from_secs(5)).unwrap();
    assert_eq!(p.state(), StreamState::Prepared);
    assert_eq!(p.xruns(), 0);
    // The drain is over only once the device has played all of it.
    let out = floats(&played.lock().unwrap());
    drop(engine);

    // How long the tone lasts at the device, between the half-amplitude
    // points of its envelope: the input's length at the device's rate.
    let envelope: Vec<f64> = out.chunks_exact(2).map(|f| f64::from(f[0]).hypot(f64::from(f[1])) / AMPLITUDE).collect();
    let heard = envelope.iter().filter(|&&e| e >= 0.5).count() as i64;
    let expected = (frames as f64 * 48_000.0 / 44_100.0).round() as i64;
    assert!(
        (heard - expected).abs() <= 1,
        "{heard} frames of tone came out, {expected} expected (without the tail: about {} fewer)",
        expected - ((frames - 32) as f64 * 48_000.0 / 44_100.0).round() as i64
    );
    // ...and they are what the filter makes of the tone then silence: its
    // edge and its decay, frame for frame, then nothing more.
    let want = reference(&tone);
    let lead = want.iter().position(|&v| v != 0.0).unwrap() / 2 * 2;
    let want = &want[lead..];
    let start = out.iter().position(|&v| v != 0.0).unwrap() / 2 * 2;
    let got = &out[start..];
    assert!(got.len() >= want.len(), "{} frames after the start, {} in the reference", got.len() / 2, want.len() / 2);
    let worst = want.iter().zip(got).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst < 1e-6, "the device's output strays from the filter's by {worst}");
    let after = got[want.len()..].iter().position(|&v| v != 0.0);
    assert_eq!(after, None, "something played after the tail");
    // No click: the decay's last frames are far below the tone.
    let last = &envelope[start / 2 + want.len() / 2 - 16..start / 2 + want.len() / 2];
    assert!(last.iter().all(|&e| e < 2e-3), "the end of the decay: {last:?}");
}

#[test]
fn a_reset_throws_away_what_the_resampler_holds() {
    let (engine, played) = device(Pacing::RealTime);
    let first = quadrature(1000.0, 44_100.0, 44_100, AMPLITUDE);
    let second = quadrature(3000.0, 44_100.0, 4410, 0.25);
    let mut p = engine
        .playback(StreamParams {
            buffer_frames: 44_100,
            start_threshold: 4410,
            ..StreamParams::new(SampleFormat::F32Le, 44_100, 2, PERIOD)
        })
        .unwrap();
    p.write_all(&bytes(&first), Duration::from_secs(5)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // Thrown away mid-tone: the ring, and what the filter was holding.
    p.reset(Duration::from_secs(1)).unwrap();
    // The second tone starts once all of it is queued.
    p.write_all(&bytes(&second), Duration::from_secs(5)).unwrap();
    p.drain(Duration::from_secs(5)).unwrap();
    drop(engine);
    let out = floats(&played.lock().unwrap());
    let want = reference(&second);
    // Somewhere in what was played, the second tone as a fresh filter makes
    // it, with nothing of the first in front of it.
    let want = &want[want.iter().position(|&v| v != 0.0).unwrap() / 2 * 2..];
    let found = (0..out.len().saturating_sub(want.len()) / 2)
        .find(|&f| want.iter().zip(&out[f * 2..]).all(|(a, b)| (a - b).abs() < 1e-6));
    assert!(found.is_some(), "after the reset the second tone carries what was left of the first");
}
