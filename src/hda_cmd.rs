//! HDA commands: `info`, `play`, `record` on a controller (through VFIO, or
//! `emulated`), and `hda-codec FILE` for codec dumps.

use std::path::Path;

use outboard_hal::pcm::{Direction, PcmConfig, SampleFormat};
use outboard_hda::codec::hints::Hints;
use outboard_hda::codec::paths::plan;
use outboard_hda::codec::pin::apply_overrides;
use outboard_hda::codec::vs_linux::{self, compare_dump, Comparison};
use outboard_hda::codec::{dump, Codec};
use outboard_hda::report::{describe, CodecReport};
use outboard_signal::wav::Wav;

use crate::cli::{HdaCodecArgs, InfoArgs, PlayArgs, RecordArgs};
use crate::devices::{open_hda, read_pin_overrides};
use crate::pcm_io;

/// `outboard hda-codec FILE [--json]`
pub fn hda_codec(args: HdaCodecArgs) -> Result<(), String> {
    let file = args.file.display().to_string();
    let overrides = match &args.pin_config {
        Some(p) => read_pin_overrides(p)?,
        None => Vec::new(),
    };
    let text = std::fs::read(&args.file).map_err(|e| format!("{file}: {e}"))?;
    let mut codecs = dump::parse_dumps(&String::from_utf8_lossy(&text));
    for c in &mut codecs {
        apply_overrides(c, &overrides);
    }
    if codecs.is_empty() {
        return Err(format!(
            "{file}: no codec found (expected /proc/asound/card*/codec#* text or an alsa-info report)"
        ));
    }
    if args.vs_linux {
        return vs_linux(&file, &codecs, args.json);
    }
    if args.json {
        let all: Vec<CodecReport> = codecs.iter().map(|c| CodecReport::new(c, &plan(c))).collect();
        println!("{}", serde_json::to_string_pretty(&all).map_err(|e| e.to_string())?);
    } else {
        for c in &codecs {
            print!("{}", describe(c, &plan(c)));
        }
    }
    Ok(())
}

/// `outboard hda-codec FILE --vs-linux [--json]`: Outboard's output paths
/// against the ones Linux left in the dump; an error (exit status 1) when
/// any analog output pin or DAC differs.
fn vs_linux(file: &str, codecs: &[Codec], json: bool) -> Result<(), String> {
    let all: Vec<Comparison> = codecs.iter().map(|c| compare_dump(c, &Hints::for_codec(c))).collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&all).map_err(|e| e.to_string())?);
    } else {
        for c in &all {
            print!("{}", vs_linux::describe(c));
        }
    }
    let differ: Vec<String> = all
        .iter()
        .filter(|c| !c.agrees())
        .map(|c| format!("codec {} ({})", c.address, c.name.as_deref().unwrap_or("unnamed")))
        .collect();
    if differ.is_empty() {
        Ok(())
    } else {
        Err(format!("{file}: outputs differ from Linux's on {}", differ.join(", ")))
    }
}

/// `outboard info DEVICE [--bind] [--json]` on an HDA controller.
pub fn info(args: InfoArgs) -> Result<(), String> {
    let hda = open_hda(&args.device, &args.hda.settings())?;
    let dev = &hda.dev;
    let jacks = dev.jacks();
    let present = dev.jacks_present().map_err(|e| e.to_string())?;
    if args.json {
        #[derive(serde::Serialize)]
        struct Jack {
            label: String,
            index: u32,
            pin: u8,
            /// Always present: the pin cannot sense.
            phantom: bool,
            present: bool,
        }
        #[derive(serde::Serialize)]
        struct Controller {
            controller: String,
            codecs: Vec<CodecReport>,
            jacks: Vec<Jack>,
            auto_mute: Option<bool>,
        }
        let report = Controller {
            controller: dev.name().to_string(),
            codecs: dev.codecs().iter().map(|cp| CodecReport::new(&cp.codec, &cp.plan)).collect(),
            jacks: jacks
                .iter()
                .zip(&present)
                .map(|(j, p)| Jack {
                    label: j.label.clone(),
                    index: j.index,
                    pin: j.pin,
                    phantom: j.phantom,
                    present: *p,
                })
                .collect(),
            auto_mute: dev.can_automute().then(|| dev.automute_enabled()),
        };
        println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
        return Ok(());
    }
    println!("HDA controller {}", dev.name());
    for cp in dev.codecs() {
        print!("{}", describe(&cp.codec, &cp.plan));
    }
    if !jacks.is_empty() {
        println!("jacks:");
        for (j, p) in jacks.iter().zip(&present) {
            let state = match (j.phantom, p) {
                (true, _) => "always on (cannot sense)",
                (false, true) => "plugged",
                (false, false) => "unplugged",
            };
            let index = if j.index > 0 { format!(",{}", j.index) } else { String::new() };
            println!("  {}{index} Jack (pin {:#04x}): {state}", j.label, j.pin);
        }
    }
    if dev.can_automute() {
        println!("auto-mute: {}", if dev.automute_enabled() { "on" } else { "off" });
    }
    Ok(())
}

fn pcm_config(rate: u32, bits: u16, channels: u16, period_frames: usize, periods: usize) -> Result<PcmConfig, String> {
    let format = match bits {
        8 => SampleFormat::U8,
        16 => SampleFormat::S16Le,
        32 => SampleFormat::S32Le,
        b => return Err(format!("{b}-bit samples: HDA streams here take 8, 16 or 32 bits")),
    };
    Ok(PcmConfig { format, rate, channels, period_frames, periods })
}

/// `outboard play DEVICE FILE.wav` on an HDA controller.
pub fn play(args: PlayArgs) -> Result<(), String> {
    if args.volume.is_some() {
        return Err("--volume applies to USB devices (HDA amps are set by the driver's path setup)".into());
    }
    let file = args.file.display().to_string();
    let period = args.ring.period as usize;
    let wav = Wav::read(Path::new(&file)).map_err(|e| e.to_string())?;
    let cfg = pcm_config(wav.rate, wav.bits, wav.channels, period, args.ring.periods as usize)?;
    let hda = open_hda(&args.device, &args.hda.settings())?;
    let dev = &hda.dev;
    let mut pcm = dev.open_pcm(Direction::Playback, cfg).map_err(|e| e.to_string())?;
    let frames = wav.data.len() / cfg.frame_bytes();
    let stats = pcm_io::play(&mut pcm, &wav.data[..frames * cfg.frame_bytes()], &mut || {
        if let Err(e) = dev.poll_jacks() {
            log::warn!("jack detection: {e}");
        }
    })?;
    println!(
        "played {frames} frames ({} Hz, {} bits, {} channels) on {}: {} periods, {} xruns, {} late wakeups",
        wav.rate,
        wav.bits,
        wav.channels,
        dev.name(),
        stats.periods,
        stats.xruns,
        stats.late_wakeups
    );
    Ok(())
}

/// `outboard record DEVICE FILE.wav` on an HDA controller; with `--play`,
/// the file is played at the same time (full duplex), from one process: a
/// VFIO device has one owner.
pub fn record(args: RecordArgs) -> Result<(), String> {
    if args.volume.is_some() {
        return Err("--volume applies to USB devices (HDA amps are set by the driver's path setup)".into());
    }
    let seconds = args.seconds;
    let rate = args.rate;
    let bits = args.bits.unwrap_or(16);
    let channels = args.channels.unwrap_or(2);
    let period = args.ring.period as usize;
    let periods = args.ring.periods as usize;
    let file = args.file.display().to_string();
    let play_file = args.play.clone();
    if !(0.01..=3600.0).contains(&seconds) {
        return Err("--seconds must be between 0.01 and 3600".into());
    }
    let cfg = pcm_config(rate, bits, channels, period, periods)?;
    let playback = match &play_file {
        Some(p) => {
            let wav = Wav::read(p).map_err(|e| e.to_string())?;
            Some((pcm_config(wav.rate, wav.bits, wav.channels, period, periods)?, wav))
        }
        None => None,
    };
    let hda = open_hda(&args.device, &args.hda.settings())?;
    let dev = &hda.dev;
    let mut pcm = dev.open_pcm(Direction::Capture, cfg).map_err(|e| e.to_string())?;
    let mut out_pcm = match &playback {
        Some((pcfg, _)) => Some(dev.open_pcm(Direction::Playback, *pcfg).map_err(|e| e.to_string())?),
        None => None,
    };
    let frames = (seconds * f64::from(rate)) as usize;
    let (recorded, played) = std::thread::scope(|s| {
        let player = match (out_pcm.as_mut(), &playback) {
            (Some(out), Some((pcfg, wav))) => {
                let n = wav.data.len() / pcfg.frame_bytes() * pcfg.frame_bytes();
                Some(s.spawn(move || pcm_io::play(out, &wav.data[..n], &mut || {})))
            }
            _ => None,
        };
        let recorded = pcm_io::record(&mut pcm, frames);
        let played = player.map(|p| p.join().unwrap_or_else(|_| Err("the playback thread panicked".into())));
        (recorded, played)
    });
    let (data, stats) = recorded?;
    if let Some(played) = played {
        let pstats = played?;
        println!(
            "played {} while recording: {} periods, {} xruns, {} late wakeups",
            play_file.as_deref().map(|p| p.display().to_string()).unwrap_or_default(),
            pstats.periods,
            pstats.xruns,
            pstats.late_wakeups
        );
    }
    Wav { channels, rate, bits, data }.write(&args.file).map_err(|e| format!("{file}: {e}"))?;
    println!(
        "recorded {frames} frames ({rate} Hz, {bits} bits, {channels} channels) from {} into {file}: {} periods, {} xruns, {} late wakeups",
        dev.name(),
        stats.periods,
        stats.xruns,
        stats.late_wakeups
    );
    Ok(())
}
