//! The engine's cost under the bench's storm load (bench/scenarios/storm.sh),
//! natively: a 48 kHz S16 stereo device with 1024-frame periods, three U8
//! and one MuLaw 8 kHz mono players kept fed, two U8 8 kHz mono recorders
//! that never read (their rings fill) and one S16 48 kHz stereo recorder.
//! The devices run as fast as the engine goes; prints the engine's time
//! per period and what that is in real time.
//!
//! `cargo run --release -p outboard-mixer --example storm_load`

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use outboard_mixer::devices::{MemoryDevice, Pacing};
use outboard_mixer::engine::Engine;
use outboard_mixer::format::SampleFormat;
use outboard_mixer::pcm::PcmConfig;
use outboard_mixer::stream::StreamParams;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cfg = PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: 1024, periods: 32 };
    let heard = vec![0x11u8; 48_000 * 4 * 4];
    let engine = Engine::start_with(
        Some(Box::new(MemoryDevice::null(cfg, Pacing::Immediate))),
        Some(Box::new(MemoryDevice::capture(cfg, heard, Pacing::Immediate))),
    )?;
    let mut players = Vec::new();
    for format in [SampleFormat::U8, SampleFormat::U8, SampleFormat::U8, SampleFormat::MuLaw] {
        players.push(engine.playback(StreamParams::new(format, 8000, 1, 256))?);
    }
    let idle: Vec<_> = (0..2).map(|_| engine.capture(StreamParams::new(SampleFormat::U8, 8000, 1, 256))).collect();
    let idle = idle.into_iter().collect::<Result<Vec<_>, _>>()?;
    idle.iter().for_each(|c| c.start());
    let mut recorder = engine.capture(StreamParams::new(SampleFormat::S16Le, 48_000, 2, 1024))?;
    recorder.start();
    let data = vec![0x90u8; 4096];
    let mut buf = vec![0u8; 65536];
    let seconds = 10;
    let p0 = engine.stats().periods.load(Ordering::Relaxed);
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(seconds) {
        for p in players.iter_mut() {
            p.write(&data)?;
        }
        recorder.read(&mut buf)?;
        std::thread::sleep(Duration::from_micros(200));
    }
    let periods = engine.stats().periods.load(Ordering::Relaxed) - p0;
    let per = t.elapsed().as_secs_f64() / periods as f64;
    println!(
        "{periods} periods in {seconds} s: {:.1} us per 1024-frame period ({:.2}% of real time, {:.0}x faster)",
        per * 1e6,
        per / (1024.0 / 48_000.0) * 100.0,
        (1024.0 / 48_000.0) / per
    );
    Ok(())
}
