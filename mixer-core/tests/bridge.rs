//! The capture-to-playback bridge across two engines with drifting clocks,
//! in real time, checked on what comes out of the playback device.
//! In its own test binary: it runs in real time and does not share the CPU
//! with the engine tests. (`tests/bridge_sim.rs` drives the same data path
//! and loop through injected stalls on a simulated clock.)

use std::f64::consts::PI;
use std::time::Duration;

use outboard_mixer::bridge::{Bridge, MAX_PPM};
use outboard_mixer::devices::{MemoryDevice, Pacing};
use outboard_mixer::engine::Engine;
use outboard_mixer::format::SampleFormat;
use outboard_mixer::pcm::PcmConfig;
use outboard_mixer::resample::measure::fit_sine;
use outboard_mixer::stream::StreamParams;

const RATE: f64 = 48_000.0;
/// The capture device's clock runs this much fast.
const DRIFT_PPM: f64 = 2000.0;
/// The tone, in radians per capture sample (382 Hz), and its amplitude.
const W_IN: f64 = 0.05;
const AMPLITUDE: f64 = 0.25;

/// What the playback device played, as a user would judge it.
#[derive(Debug)]
struct Heard {
    /// Frames of tone (from its first to its last sample).
    frames: usize,
    /// The tone's frequency over the analysed stretch, relative to the
    /// capture device's (what the bridge must reproduce), in ppm.
    freq_error_ppm: f64,
    /// Lowest and highest amplitude of 10 ms blocks.
    amplitude: (f64, f64),
    /// The largest break in the tone: |x[n+1] + x[n-1] - 2cos(w)x[n]|, which
    /// is 0 for a sine and jumps at a lost, repeated or silent frame.
    max_residual: f64,
    worst_at: usize,
}

fn listen(played: &[f32]) -> Heard {
    let start = played.iter().position(|&x| x != 0.0).expect("no tone came out");
    let end = played.iter().rposition(|&x| x != 0.0).unwrap_or(start);
    let tone = &played[start..=end];
    // The capture clock is fast: at the playback rate the tone is higher.
    let w = W_IN * (1.0 + DRIFT_PPM * 1e-6);
    // Breaks anywhere but the filter's ramp-in and the cut at the end (where
    // the bridge stopped).
    let (mut max_residual, mut worst_at) = (0.0f64, 0);
    for n in 128..tone.len().saturating_sub(2) {
        let [a, b, c] = [tone[n - 1], tone[n], tone[n + 1]].map(f64::from);
        let r = (a + c - 2.0 * w.cos() * b).abs();
        if r > max_residual {
            (max_residual, worst_at) = (r, n);
        }
    }
    // Frequency and amplitude from 10 ms blocks between 4 s and 7.5 s of
    // tone (the loop has settled; the bridge stops after 8 s): each block's
    // fitted phase, against where a tone of exactly `w` would be.
    let block = 480;
    let stretch = &tone[(4.0 * RATE) as usize..(7.5 * RATE) as usize];
    let fits: Vec<_> = stretch.chunks_exact(block).map(|b| fit_sine(b, 1, 0, w / (2.0 * PI))).collect();
    let step = w * block as f64;
    let mut advance = 0.0;
    for pair in fits.windows(2) {
        let d = pair[1].phase - pair[0].phase - step;
        advance += d - (2.0 * PI) * (d / (2.0 * PI)).round();
    }
    let freq_error_ppm = advance / (step * (fits.len() - 1) as f64) * 1e6;
    let amplitude = fits.iter().fold((f64::MAX, 0.0f64), |(lo, hi), f| (lo.min(f.amplitude), hi.max(f.amplitude)));
    Heard { frames: tone.len(), freq_error_ppm, amplitude, max_residual, worst_at }
}

#[test]
fn a_bridge_follows_two_drifting_clocks_without_xruns() {
    // Device A captures a tone at a clock 2000 ppm fast; device B plays at
    // the nominal rate and keeps what it played. Over 8 s that is 768
    // frames too many: without tracking, B's queue would end that far above
    // the bridge's target, and the tone would come out 2000 ppm low.
    let cfg = PcmConfig { format: SampleFormat::F32Le, rate: 48_000, channels: 1, period_frames: 240, periods: 4 };
    let tone: Vec<u8> =
        (0..48_000 * 20).flat_map(|n| ((AMPLITUDE * (n as f64 * W_IN).sin()) as f32).to_le_bytes()).collect();
    let a = Engine::start_with(
        None,
        Some(Box::new(MemoryDevice::capture(cfg, tone, Pacing::RealTime).with_clock_ppm(DRIFT_PPM))),
    )
    .unwrap();
    let (device_b, played) = MemoryDevice::recording(cfg, Pacing::RealTime);
    let b = Engine::start(Box::new(device_b)).unwrap();
    let params = StreamParams { buffer_frames: 9600, ..StreamParams::new(SampleFormat::F32Le, 48_000, 1, 240) };
    let bridge = Bridge::start(a.capture(params).unwrap(), b.playback(params).unwrap(), 2400).unwrap();
    // Settle for 4 s, then read the controller ten times a second for 4 s.
    std::thread::sleep(Duration::from_secs(4));
    let mut readings: Vec<f64> = (0..40)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(100));
            bridge.stats().ppm()
        })
        .collect();
    readings.sort_by(f64::total_cmp);
    let ppm = readings[readings.len() / 2];
    let stats = bridge.stats();
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    let (fill, moved) = (load(&stats.fill), load(&stats.frames));
    let (updates, disturbed, saturated) = (load(&stats.readings), load(&stats.disturbed), load(&stats.saturated));
    let resyncs = load(&stats.resyncs);
    let realtime = stats.realtime.load(std::sync::atomic::Ordering::Relaxed);
    let (capture, playback) = bridge.stop().unwrap();
    // Let what the bridge queued play out: the end of the stream, not an underrun.
    playback.drain(Duration::from_secs(2)).unwrap();
    let (capture_xruns, playback_xruns) = (capture.xruns(), playback.xruns());
    drop((capture, playback));
    drop(b.stop());
    drop(a.stop());
    let played: Vec<f32> =
        played.lock().unwrap().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    let heard = listen(&played);
    println!(
        "bridge: median {ppm:.0} ppm (readings {:.0}..{:.0}), level {fill} frames (target 2400), \
         {updates} updates, {disturbed} windows disturbed, {saturated} saturated, {resyncs} resyncs; \
         real-time {realtime}; \
         xruns capture {capture_xruns} playback {playback_xruns}; heard {heard:?}",
        readings[0],
        readings[readings.len() - 1]
    );

    assert_eq!(capture_xruns, 0, "capture overran");
    assert!(
        fill > 1900 && fill < 2900,
        "the level wandered to {fill} frames (target 2400; untracked it would pass 3100)"
    );
    assert!(
        (-3000.0..-1000.0).contains(&ppm),
        "the tracker is following the 2000 ppm drift: median {ppm:.0} ppm of {readings:.0?}"
    );
    assert_eq!(saturated, 0, "the adjustment was clamped at {MAX_PPM} ppm");
    assert_eq!(resyncs, 0, "the bridge had to put the level right at once (after an xrun)");
    assert!(updates >= 40, "only {updates} measurement windows of 80 updated the loop");
    // What came out: all of what the bridge moved, as one unbroken tone at
    // the capture clock's frequency and the level it was captured at.
    // (The first frames the bridge wrote are the resampler's ramp-in from
    // silence, some of them still 0.)
    assert!(heard.frames as u64 + 64 >= moved, "{} frames of tone came out, the bridge moved {moved}", heard.frames);
    assert!(
        heard.max_residual < 1e-4,
        "the tone breaks at frame {} of {} (residual {:.1e}): a lost, repeated or silent stretch",
        heard.worst_at,
        heard.frames,
        heard.max_residual
    );
    // (As for the adjustment's median: the loop, with its 5 s time
    // constant, is still settling between 4 and 8 s.)
    assert!(
        heard.freq_error_ppm.abs() < 1000.0,
        "the tone came out {:.0} ppm off the capture clock's frequency (untracked: -2000)",
        heard.freq_error_ppm
    );
    assert!(
        heard.amplitude.0 > AMPLITUDE * 0.995 && heard.amplitude.1 < AMPLITUDE * 1.005,
        "the tone's amplitude strays to {:?}",
        heard.amplitude
    );
    assert_eq!(playback_xruns, 0, "playback underran");
}
