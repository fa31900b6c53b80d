//! The capture-to-playback bridge across two engines with drifting clocks.
//! In its own test binary: it runs in real time and its queue is sensitive to
//! CPU stalls, so it does not share the CPU with the engine tests.

use std::time::Duration;

use outboard_mixer::devices::{MemoryDevice, Pacing};
use outboard_mixer::engine::Engine;
use outboard_mixer::format::SampleFormat;
use outboard_mixer::pcm::PcmConfig;
use outboard_mixer::stream::StreamParams;

#[test]
#[ignore = "unreliable on a loaded CI machine: the drift controller winds up under scheduling stalls (see issue #4); run with --ignored"]
fn a_bridge_follows_two_drifting_clocks_without_xruns() {
    // Device A captures at a clock 2000 ppm fast; device B plays at nominal
    // rate. Over 8 s that is 768 frames too many, so without tracking B's
    // queue would end 768 frames above the bridge's target. The target is
    // 50 ms deep so the test survives a loaded CI machine's scheduling stalls.
    let cfg = PcmConfig { format: SampleFormat::F32Le, rate: 48_000, channels: 1, period_frames: 240, periods: 4 };
    let tone: Vec<u8> = (0..48_000 * 20).flat_map(|n| ((n as f32 * 0.05).sin() * 0.25).to_le_bytes()).collect();
    let a = Engine::start_with(
        None,
        Some(Box::new(MemoryDevice::capture(cfg, tone, Pacing::RealTime).with_clock_ppm(2000.0))),
    )
    .unwrap();
    let b = Engine::start(Box::new(MemoryDevice::null(cfg, Pacing::RealTime))).unwrap();
    let params = StreamParams { buffer_frames: 9600, ..StreamParams::new(SampleFormat::F32Le, 48_000, 1, 240) };
    let bridge =
        outboard_mixer::bridge::Bridge::start(a.capture(params).unwrap(), b.playback(params).unwrap(), 2400).unwrap();
    // Settle for 4 s, then read the controller's output ten times a second
    // for 4 s: the median is the drift it found (one reading can swing far
    // after a scheduling stall moves the fill).
    std::thread::sleep(Duration::from_secs(4));
    let mut readings: Vec<f64> = (0..40)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(100));
            bridge.stats().ppm()
        })
        .collect();
    readings.sort_by(f64::total_cmp);
    let ppm = readings[readings.len() / 2];
    let fill = bridge.stats().fill.load(std::sync::atomic::Ordering::Relaxed);
    let (capture, playback) = bridge.stop().unwrap();
    assert_eq!(capture.xruns(), 0, "capture overran");
    assert!(
        fill > 1900 && fill < 2900,
        "the queue wandered to {fill} frames (target 2400; untracked it would pass 3100)"
    );
    assert!(
        (-3000.0..-1000.0).contains(&ppm),
        "the tracker is following the 2000 ppm drift: median {ppm:.0} ppm of {readings:.0?}"
    );
    assert!(
        playback.xruns() <= 1,
        "playback underran {} times (one at the start is the prefill's edge)",
        playback.xruns()
    );
}
