//! The engine's real-time loop allocates nothing: with clients playing (one
//! resampled, draining again and again) and a monitor recording, a counting
//! allocator sees no allocation while the engine runs in steady state. (Its own test binary: nothing else runs.)

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use outboard_mixer::devices::{MemoryDevice, Pacing};
use outboard_mixer::engine::Engine;
use outboard_mixer::format::SampleFormat;
use outboard_mixer::pcm::PcmConfig;
use outboard_mixer::stream::{StreamParams, StreamState};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

#[test]
fn the_engine_loop_does_not_allocate() {
    let cfg = PcmConfig { format: SampleFormat::S32Le, rate: 48_000, channels: 2, period_frames: 64, periods: 4 };
    let engine = Engine::start(Box::new(MemoryDevice::null(cfg, Pacing::RealTime))).unwrap();
    let mut a = engine.playback(StreamParams::new(SampleFormat::S16Le, 48_000, 2, 64)).unwrap();
    // A float mono client at 44.1 kHz: resampled on the real-time path too.
    let mut b = engine.playback(StreamParams::new(SampleFormat::F32Le, 44_100, 1, 64)).unwrap();
    let mut mon = engine.monitor(StreamParams::new(SampleFormat::S16Le, 48_000, 2, 64)).unwrap();
    mon.start();
    let data_a = vec![0x11u8; 64 * 4 * 64];
    let data_b = vec![0x22u8; 64 * 4 * 64];
    let mut sink = vec![0u8; 64 * 4 * 64];
    let stop = Arc::new(AtomicBool::new(false));
    let drains = Arc::new(AtomicU64::new(0));
    let (stop2, drains2) = (stop.clone(), drains.clone());
    let writer = std::thread::spawn(move || {
        let (mut ia, mut ib, mut round, mut draining) = (0, 0, 0u32, false);
        while !stop2.load(Ordering::Relaxed) {
            ia = (ia + a.write(&data_a[ia..]).unwrap_or(0) * 4) % data_a.len();
            // The resampled client drains every 20 ms (the engine flushes
            // its resampler) and starts again once the drain is over.
            round += 1;
            if b.state() != StreamState::Draining {
                if std::mem::take(&mut draining) {
                    drains2.fetch_add(1, Ordering::Relaxed);
                }
                if round % 20 == 0 {
                    b.start_drain();
                    draining = b.state() == StreamState::Draining;
                } else {
                    ib = (ib + b.write(&data_b[ib..]).unwrap_or(0) * 4) % data_b.len();
                }
            }
            let _ = mon.read(&mut sink);
            std::thread::sleep(Duration::from_millis(1));
        }
        (a, b, mon)
    });
    std::thread::sleep(Duration::from_millis(100)); // steady state
    let before = counting_alloc::allocations();
    let periods_before = engine.stats().periods.load(Ordering::Relaxed);
    let drains_before = drains.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(300));
    let allocations = counting_alloc::allocations() - before;
    let periods = engine.stats().periods.load(Ordering::Relaxed) - periods_before;
    let drained = drains.load(Ordering::Relaxed) - drains_before;
    stop.store(true, Ordering::Relaxed);
    let _clients = writer.join().unwrap();
    assert!(periods > 100, "the engine ran ({periods} periods of 64 frames in 300 ms)");
    assert!(drained >= 3, "the resampled client finished {drained} drains in 300 ms");
    assert_eq!(allocations, 0, "{allocations} allocations in {periods} periods");
}
