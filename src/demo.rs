//! `outboard demo`: the whole HDA driver path on emulated hardware, with no
//! setup. The driver brings up the emulated ICH9 controller, discovers its
//! codec, and plays a two-tone signal through a stream descriptor in real time;
//! what the emulated codec received is saved as a WAV and measured.
//!
//! (The mixer is not in this path yet: mixing two clients onto the device is
//! the mixer-core issue's demo.)

use std::path::PathBuf;
use std::time::Instant;

use outboard_fixtures::analysis::{channel, rms_dbfs, tone_frequency};
use outboard_fixtures::hda::emulated_hda;
use outboard_fixtures::signal::{find_exact, from_le_bytes, to_le_bytes, Match};
use outboard_fixtures::wav::Wav;
use outboard_hal::pcm::{Direction, PcmConfig, SampleFormat};
use outboard_hda::device::HdaDevice;

use crate::args::Args;
use crate::pcm_io;

const RATE: u32 = 48_000;
const TONES: [f64; 2] = [440.0, 660.0];
const AMPLITUDE: f64 = 0.5;

fn two_tones(frames: usize) -> Vec<i16> {
    (0..frames)
        .flat_map(|n| {
            TONES.map(|f| {
                ((2.0 * std::f64::consts::PI * f * n as f64 / f64::from(RATE)).sin() * AMPLITUDE * 32767.0).round()
                    as i16
            })
        })
        .collect()
}

pub fn run(mut args: Args) -> Result<(), String> {
    let out: PathBuf = args.option("--out")?.unwrap_or_else(|| PathBuf::from("outboard-demo.wav"));
    let seconds: f64 = args.option("--seconds")?.unwrap_or(2.0);
    args.finish()?;
    if !(0.1..=60.0).contains(&seconds) {
        return Err("--seconds must be between 0.1 and 60".into());
    }

    println!("Outboard demo: the HDA driver on an emulated ICH9 controller (no hardware needed)");
    let hw = emulated_hda();
    hw.emu.start_clock();
    let dev = HdaDevice::open(hw.pci.clone()).map_err(|e| e.to_string())?;
    for cp in dev.codecs() {
        let out =
            cp.plan.primary_output().map(|o| format!("{:?} at pin {:#04x} from DAC {:#04x}", o.role, o.pin, o.dac));
        println!(
            "  controller {}: codec {} vendor {:#010x}, {} widgets; output: {}",
            dev.name(),
            cp.codec.address,
            cp.codec.vendor_id,
            cp.codec.nodes.len(),
            out.as_deref().unwrap_or("none")
        );
    }
    let cfg = PcmConfig { format: SampleFormat::S16Le, rate: RATE, channels: 2, period_frames: 1024, periods: 4 };
    let mut pcm = dev.open_pcm(Direction::Playback, cfg).map_err(|e| e.to_string())?;
    let frames = (seconds * f64::from(RATE)) as usize;
    let signal = to_le_bytes(&two_tones(frames));
    println!(
        "  playing {seconds} s: {} Hz left, {} Hz right, 16-bit stereo {RATE} Hz, {} periods of {} frames",
        TONES[0], TONES[1], cfg.periods, cfg.period_frames
    );
    let started = Instant::now();
    let stats = pcm_io::play(&mut pcm, &signal, &mut || {})?;
    let elapsed = started.elapsed();
    drop(pcm);
    drop(dev);
    hw.emu.stop_clock();

    let played = hw.emu.played();
    Wav { channels: 2, rate: RATE, bits: 16, data: played.clone() }
        .write(&out)
        .map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "  {} periods in {:.2} s, {} xruns; the codec received {} frames; saved {}",
        stats.periods,
        elapsed.as_secs_f64(),
        stats.xruns,
        played.len() / 4,
        out.display()
    );

    let got = from_le_bytes(&played);
    let sent = from_le_bytes(&signal);
    let mut ok = true;
    for (c, f) in TONES.iter().enumerate() {
        let x = channel(&got[..got.len().min(sent.len())], 2, c);
        let freq = tone_frequency(&x, RATE).unwrap_or(0.0);
        let level = rms_dbfs(&x);
        let expected_level = 20.0 * (AMPLITUDE / 2f64.sqrt()).log10();
        let good = (freq - f).abs() < 0.5 && (level - expected_level).abs() < 0.1;
        ok &= good;
        println!(
            "  channel {c}: tone {freq:.2} Hz (expected {f}), level {level:.2} dBFS (expected {expected_level:.2}) {}",
            if good { "ok" } else { "WRONG" }
        );
    }
    match find_exact(&got, &sent, 2) {
        Match::Exact { offset: 0 } => println!("  glitches: none (every sample arrived unchanged, in order)"),
        m => {
            ok = false;
            println!("  glitches: the codec's data differs from what was played: {m:?}");
        }
    }
    if ok {
        println!("demo: OK");
        Ok(())
    } else {
        Err("demo: the emulated hardware did not receive what was played".into())
    }
}
