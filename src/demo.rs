//! `outboard demo`: the whole stack on emulated hardware, with no setup.
//!
//! The HDA driver brings up the emulated ICH9 controller and its codec and
//! opens a stream; the mixer engine runs on it; two synthetic clients at
//! different rates, formats and layouts (16-bit stereo at 48 kHz, float mono
//! at 44.1 kHz, resampled) play at once.
//! What the emulated codec received is saved as a WAV and measured: each
//! tone's level, and what is left when both are taken out (clicks, gaps and
//! stray tones would all show there).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use outboard_emu::hda::emulated_hda;
use outboard_hal::pcm::{Direction, PcmConfig, SampleFormat};
use outboard_hda::device::HdaDevice;
use outboard_mixer::engine::Engine;
use outboard_mixer::stream::StreamParams;
use outboard_signal::analysis::{channel, fit_tones};
use outboard_signal::signal::from_le_bytes;
use outboard_signal::wav::Wav;

use crate::cli::DemoArgs;

const RATE: u32 = 48_000;
/// Client A: 16-bit stereo, 440 Hz at -12 dBFS.
const A_FREQ: f64 = 440.0;
const A_AMP: f64 = 0.25;
/// Client B: float mono at 44.1 kHz (resampled to the device's 48 kHz), 1 kHz at -18 dBFS.
const B_RATE: u32 = 44_100;
const B_FREQ: f64 = 1000.0;
const B_AMP: f64 = 0.125;

fn tone(freq: f64, amp: f64, n: usize, rate: u32) -> f64 {
    amp * (2.0 * std::f64::consts::PI * freq * n as f64 / f64::from(rate)).sin()
}

fn db(amp: f64) -> f64 {
    20.0 * amp.log10()
}

pub fn run(args: DemoArgs) -> Result<(), String> {
    let out: PathBuf = args.out;
    let seconds = args.seconds;
    if !(0.5..=60.0).contains(&seconds) {
        return Err("--seconds must be between 0.5 and 60".into());
    }

    println!("Outboard demo: HDA driver + mixer on an emulated ICH9 controller (no hardware needed)");
    let hw = emulated_hda();
    hw.emu.start_clock();
    let dev = HdaDevice::open(hw.pci.clone()).map_err(|e| e.to_string())?;
    for cp in dev.codecs() {
        let o = cp.plan.primary_output().map(|o| format!("{:?} at pin {:#04x} from DAC {:#04x}", o.role, o.pin, o.dac));
        println!(
            "  controller {}: codec {} vendor {:#010x}, {} widgets; output: {}",
            dev.name(),
            cp.codec.address,
            cp.codec.vendor_id,
            cp.codec.nodes.len(),
            o.as_deref().unwrap_or("none")
        );
    }
    let cfg = PcmConfig { format: SampleFormat::S16Le, rate: RATE, channels: 2, period_frames: 512, periods: 4 };
    let pcm = dev.open_pcm(Direction::Playback, cfg).map_err(|e| e.to_string())?;
    let engine = Engine::start(Box::new(pcm)).map_err(|e| e.to_string())?;
    println!(
        "  mixer engine on the device: {RATE} Hz S16 stereo, {} periods of {} frames",
        cfg.periods, cfg.period_frames
    );

    let frames = (seconds * f64::from(RATE)) as usize;
    let a_data: Vec<u8> = (0..frames)
        .flat_map(|n| {
            let s = (tone(A_FREQ, A_AMP, n, RATE) * 32768.0).round() as i16;
            [s.to_le_bytes(), s.to_le_bytes()].concat()
        })
        .collect();
    let b_frames = (seconds * f64::from(B_RATE)) as usize;
    let b_data: Vec<u8> = (0..b_frames).flat_map(|n| (tone(B_FREQ, B_AMP, n, B_RATE) as f32).to_le_bytes()).collect();
    let mut a = engine.playback(StreamParams::new(SampleFormat::S16Le, RATE, 2, 1024)).map_err(|e| e.to_string())?;
    let mut b = engine.playback(StreamParams::new(SampleFormat::F32Le, B_RATE, 1, 1024)).map_err(|e| e.to_string())?;
    println!(
        "  client A: {A_FREQ} Hz at {:.0} dBFS, 16-bit stereo {RATE} Hz; client B: {B_FREQ} Hz at {:.0} dBFS, float mono {B_RATE} Hz",
        db(A_AMP),
        db(B_AMP)
    );

    let started = Instant::now();
    let (mut ia, mut ib) = (0, 0);
    while ia < a_data.len() || ib < b_data.len() {
        ia += a.write(&a_data[ia..]).map_err(|e| e.to_string())? * 4;
        ib += b.write(&b_data[ib..]).map_err(|e| e.to_string())? * 4;
        std::thread::sleep(Duration::from_millis(5));
        if started.elapsed() > Duration::from_secs_f64(seconds * 3.0 + 5.0) {
            return Err("the clients could not write in time: the engine is not running".into());
        }
    }
    a.start_drain();
    b.start_drain();
    a.drain(Duration::from_secs(5)).map_err(|e| e.to_string())?;
    b.drain(Duration::from_secs(5)).map_err(|e| e.to_string())?;
    let underruns = a.xruns() + b.xruns();
    let periods = engine.stats().periods.load(std::sync::atomic::Ordering::Relaxed);
    drop((a, b));
    drop(engine.stop());
    drop(dev);
    hw.emu.stop_clock();

    let played = hw.emu.played();
    Wav { channels: 2, rate: RATE, bits: 16, data: played.clone() }
        .write(&out)
        .map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "  {periods} periods mixed in {:.2} s; the codec received {} frames; saved {}",
        started.elapsed().as_secs_f64(),
        played.len() / 4,
        out.display()
    );

    // Measure the middle, where both clients are surely playing.
    let got = from_le_bytes(&played);
    let total = got.len() / 2;
    let (from, to) = (total / 4, total * 3 / 4);
    let mut ok = underruns == 0;
    for c in 0..2 {
        let x = channel(&got[from * 2..to * 2], 2, c);
        let (amps, residual) = fit_tones(&x, RATE, &[A_FREQ, B_FREQ]);
        let good = (db(amps[0]) - db(A_AMP)).abs() < 0.1 && (db(amps[1]) - db(B_AMP)).abs() < 0.1 && residual < -80.0;
        ok &= good;
        println!(
            "  channel {c}: {A_FREQ} Hz at {:.2} dBFS (expected {:.2}), {B_FREQ} Hz at {:.2} dBFS (expected {:.2}), everything else {residual:.1} dBFS {}",
            db(amps[0]),
            db(A_AMP),
            db(amps[1]),
            db(B_AMP),
            if good { "ok" } else { "WRONG" }
        );
    }
    println!("  client underruns: {underruns}");
    if ok {
        println!("demo: OK");
        Ok(())
    } else {
        Err("demo: the mix that reached the emulated codec is not the two clients' sum".into())
    }
}
