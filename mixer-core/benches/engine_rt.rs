//! The engine on a device paced by the real-time clock, with PipeWire's
//! smallest quantum (32 frames at 48 kHz, 0.67 ms) and 8 clients, while
//! another process keeps a core busy. Reports missed periods (wakeups more
//! than a period late) and the worst wakeup lateness.
//!
//! `OUTBOARD_RT_SECONDS=60 cargo bench -p outboard-mixer --bench engine_rt`

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use outboard_mixer::devices::{MemoryDevice, Pacing};
use outboard_mixer::engine::Engine;
use outboard_mixer::format::SampleFormat;
use outboard_mixer::pcm::PcmConfig;
use outboard_mixer::stream::StreamParams;

fn main() {
    let seconds: u64 = std::env::var("OUTBOARD_RT_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let cfg = PcmConfig { format: SampleFormat::S32Le, rate: 48_000, channels: 2, period_frames: 32, periods: 4 };
    // OUTBOARD_RT_BUSY=0 leaves out the busy process, for comparison.
    let with_busy = std::env::var("OUTBOARD_RT_BUSY").map(|v| v != "0").unwrap_or(true);
    // OUTBOARD_RT_PIN=1 keeps the benchmark (engine and feeder) on CPU 0 and
    // the busy process on CPU 1, as an audio box would isolate its cores.
    let pin = std::env::var("OUTBOARD_RT_PIN").map(|v| v == "1").unwrap_or(false);
    if pin {
        // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET and
        // sched_setaffinity only read and write that local set.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
    }
    let busy_cmd = if pin { "exec taskset -c 1 sh -c 'while :; do :; done'" } else { "while :; do :; done" };
    let mut busy = with_busy.then(|| Command::new("sh").arg("-c").arg(busy_cmd).spawn().expect("a busy-loop process"));
    let steal_before = steal_ticks();
    let engine = Engine::start(Box::new(MemoryDevice::null(cfg, Pacing::RealTime))).expect("engine");
    let mut clients: Vec<_> = (0..8)
        .map(|_| engine.playback(StreamParams::new(SampleFormat::S16Le, 48_000, 2, 256)).expect("client"))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let feeder = std::thread::spawn(move || {
        let data = vec![0x10u8; 256 * 4];
        while !stop2.load(Ordering::Relaxed) {
            for c in clients.iter_mut() {
                let _ = c.write(&data);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        clients
    });
    std::thread::sleep(Duration::from_millis(500));
    let stats = engine.stats();
    let (p0, l0) = (stats.periods.load(Ordering::Relaxed), stats.late_wakeups.load(Ordering::Relaxed));
    stats.worst_lateness_us.store(0, Ordering::Relaxed);
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let elapsed = t.elapsed().as_secs_f64();
    let periods = stats.periods.load(Ordering::Relaxed) - p0;
    let missed = stats.late_wakeups.load(Ordering::Relaxed) - l0;
    let worst = stats.worst_lateness_us.load(Ordering::Relaxed);
    let realtime = stats.realtime.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    let clients = feeder.join().expect("feeder");
    let underruns: u64 = clients.iter().map(|c| c.xruns()).sum();
    drop(clients);
    drop(engine);
    if let Some(b) = busy.as_mut() {
        let _ = b.kill();
        let _ = b.wait();
    }
    let steal = steal_ticks().saturating_sub(steal_before);
    let busy_text = match (with_busy, pin) {
        (true, true) => "another process keeping CPU 1 busy, the engine pinned to CPU 0",
        (true, false) => "one core kept busy by another process",
        (false, _) => "no other load",
    };
    println!("engine, 32-frame periods at 48 kHz (0.67 ms), 8 S16 clients, {busy_text}:");
    println!("  ran {elapsed:.1} s: {periods} periods ({:.0} expected)", elapsed * 48_000.0 / 32.0);
    println!("  missed periods (wakeup more than a period late): {missed}");
    println!("  worst wakeup lateness beyond the period: {worst} us");
    println!("  client underruns: {underruns}; engine thread real-time priority: {realtime}");
    println!("  CPU time stolen by the hypervisor meanwhile (both vCPUs): {:.2} s", steal as f64 / 100.0);
}

/// The `steal` column of /proc/stat's cpu line (USER_HZ ticks).
fn steal_ticks() -> u64 {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.split_whitespace().nth(8).and_then(|v| v.parse().ok())))
        .unwrap_or(0)
}
