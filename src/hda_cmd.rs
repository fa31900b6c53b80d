//! HDA commands: `info`, `play`, `record` on a controller (through VFIO, or
//! `emulated`), and `hda-codec FILE` for codec dumps.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use outboard_emu::hda::emulated_hda;
use outboard_hal::pci::{sysfs as pci_sysfs, vfio::VfioPci, PciAddress, PciDevice};
use outboard_hal::pcm::{Direction, PcmConfig, SampleFormat};
use outboard_hda::codec::paths::{plan, Plan};
use outboard_hda::codec::pin::parse_overrides;
use outboard_hda::codec::pin::PinConfig;
use outboard_hda::codec::{dump, Codec, WidgetKind};
use outboard_hda::device::{HdaDevice, HdaOptions, PositionSource};
use outboard_signal::wav::Wav;

use crate::args::Args;
use crate::pcm_io;

/// Open DEVICE: `emulated`, or a PCI address (bound to vfio-pci, or bound on
/// the spot with `--bind`).
pub fn open_device(
    device: &str,
    bind: bool,
    options: &HdaOptions,
) -> Result<(HdaDevice, Option<Arc<outboard_emu::hda::HdaEmulator>>), String> {
    if device == "emulated" {
        let hw = emulated_hda();
        hw.emu.start_clock();
        let dev = HdaDevice::open_with(hw.pci.clone(), options).map_err(|e| e.to_string())?;
        return Ok((dev, Some(hw.emu)));
    }
    let addr: PciAddress = device.parse().map_err(|e: outboard_hal::Error| e.to_string())?;
    if bind {
        pci_sysfs::bind_vfio(Path::new(pci_sysfs::SYSFS), &addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    }
    let pci: Arc<dyn PciDevice> = Arc::new(VfioPci::open(&addr).map_err(|e| e.to_string())?);
    Ok((HdaDevice::open_with(pci, options).map_err(|e| e.to_string())?, None))
}

/// `--pin-config FILE` and `--position lpib|posbuf`, shared by the commands
/// that open a device.
pub fn device_options(args: &mut Args) -> Result<HdaOptions, String> {
    let mut options = HdaOptions::default();
    if let Some(file) = args.option::<PathBuf>("--pin-config")? {
        let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        options.pin_overrides = parse_overrides(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    options.position = match args.option::<String>("--position")?.as_deref() {
        None | Some("lpib") => PositionSource::Lpib,
        Some("posbuf") => PositionSource::PositionBuffer,
        Some(other) => return Err(format!("--position {other}: lpib or posbuf")),
    };
    Ok(options)
}

fn kind_name(k: WidgetKind) -> String {
    match k {
        WidgetKind::AudioOutput => "Audio Output".into(),
        WidgetKind::AudioInput => "Audio Input".into(),
        WidgetKind::Mixer => "Audio Mixer".into(),
        WidgetKind::Selector => "Audio Selector".into(),
        WidgetKind::Pin => "Pin Complex".into(),
        WidgetKind::Power => "Power Widget".into(),
        WidgetKind::VolumeKnob => "Volume Knob".into(),
        WidgetKind::BeepGenerator => "Beep Generator".into(),
        WidgetKind::VendorDefined => "Vendor Defined".into(),
        WidgetKind::Reserved(n) => format!("Reserved {n}"),
    }
}

fn hops(nodes: &[u8]) -> String {
    nodes.iter().map(|n| format!("{n:#04x}")).collect::<Vec<_>>().join(" -> ")
}

/// The graph and the plan, as text.
pub fn print_codec(codec: &Codec, plan: &Plan) {
    println!(
        "Codec {}: {} vendor {:#010x} subsystem {:#010x} revision {:#x}",
        codec.address,
        codec.name.as_deref().unwrap_or("(unnamed)"),
        codec.vendor_id,
        codec.subsystem_id,
        codec.revision_id
    );
    for n in &codec.nodes {
        let mut line = format!("  node {:#04x} {:<15}", n.nid, kind_name(n.kind()));
        if let Some(pcm) = n.pcm {
            line += &format!(" rates {:?} bits {:?}", pcm.rates(), pcm.bits());
        }
        if let Some(cfg) = n.pin_config.map(PinConfig) {
            line += &format!(
                " {:?} {:?} assoc {} seq {}",
                cfg.connectivity(),
                cfg.device(),
                cfg.association(),
                cfg.sequence()
            );
        }
        if !n.connections.is_empty() {
            let conns: Vec<String> = n
                .connections
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    format!("{c:#04x}{}", if n.selected == Some(i) && n.connections.len() > 1 { "*" } else { "" })
                })
                .collect();
            line += &format!(" <- [{}]", conns.join(" "));
        }
        println!("{line}");
    }
    println!("  outputs:");
    for o in &plan.outputs {
        println!(
            "    {:?} pin {:#04x}: {}{}",
            o.role,
            o.pin,
            hops(&o.nodes),
            if o.shared { " (DAC shared)" } else { "" }
        );
    }
    println!("  inputs:");
    for i in &plan.inputs {
        println!("    {:?} pin {:#04x}: {}", i.role, i.pin, hops(&i.nodes));
    }
    for (pin, dev) in &plan.unrouted {
        println!("  unrouted: pin {pin:#04x} ({dev:?}): no converter reaches it");
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            c if (c as u32) < 0x20 => out += &format!("\\u{:04x}", c as u32),
            c => out.push(c),
        }
    }
    out + "\""
}

fn json_list(nodes: &[u8]) -> String {
    format!("[{}]", nodes.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(","))
}

/// The graph and the plan, as JSON.
pub fn codec_json(codec: &Codec, plan: &Plan) -> String {
    let nodes: Vec<String> = codec
        .nodes
        .iter()
        .map(|n| {
            format!(
                "{{\"nid\":{},\"type\":{},\"wcaps\":{},\"connections\":{},\"selected\":{},\"pin_config\":{}}}",
                n.nid,
                json_str(&kind_name(n.kind())),
                n.wcaps,
                json_list(&n.connections),
                n.selected.map(|s| s.to_string()).unwrap_or_else(|| "null".into()),
                n.pin_config.map(|c| c.to_string()).unwrap_or_else(|| "null".into())
            )
        })
        .collect();
    let outputs: Vec<String> = plan
        .outputs
        .iter()
        .map(|o| {
            format!(
                "{{\"role\":{},\"pin\":{},\"dac\":{},\"path\":{},\"shared\":{}}}",
                json_str(&format!("{:?}", o.role)),
                o.pin,
                o.dac,
                json_list(&o.nodes),
                o.shared
            )
        })
        .collect();
    let inputs: Vec<String> = plan
        .inputs
        .iter()
        .map(|i| {
            format!(
                "{{\"role\":{},\"pin\":{},\"adc\":{},\"path\":{}}}",
                json_str(&format!("{:?}", i.role)),
                i.pin,
                i.adc,
                json_list(&i.nodes)
            )
        })
        .collect();
    let unrouted: Vec<String> = plan.unrouted.iter().map(|(p, _)| p.to_string()).collect();
    format!(
        "{{\"address\":{},\"name\":{},\"vendor_id\":{},\"subsystem_id\":{},\"nodes\":[{}],\"outputs\":[{}],\"inputs\":[{}],\"unrouted\":[{}]}}",
        codec.address,
        codec.name.as_deref().map(json_str).unwrap_or_else(|| "null".into()),
        codec.vendor_id,
        codec.subsystem_id,
        nodes.join(","),
        outputs.join(","),
        inputs.join(","),
        unrouted.join(",")
    )
}

/// `outboard hda-codec FILE [--json]`
pub fn hda_codec(mut args: Args) -> Result<(), String> {
    let json = args.flag("--json");
    let options = device_options(&mut args)?;
    let file = args.positional().ok_or("usage: outboard hda-codec FILE [--json]")?;
    args.finish()?;
    let text = std::fs::read(&file).map_err(|e| format!("{file}: {e}"))?;
    let mut codecs = dump::parse_dumps(&String::from_utf8_lossy(&text));
    for c in &mut codecs {
        outboard_hda::codec::pin::apply_overrides(c, &options.pin_overrides);
    }
    if codecs.is_empty() {
        return Err(format!(
            "{file}: no codec found (expected /proc/asound/card*/codec#* text or an alsa-info report)"
        ));
    }
    if json {
        let all: Vec<String> = codecs.iter().map(|c| codec_json(c, &plan(c))).collect();
        println!("[{}]", all.join(","));
    } else {
        for c in &codecs {
            print_codec(c, &plan(c));
        }
    }
    Ok(())
}

/// `outboard info DEVICE [--bind]`
pub fn info(mut args: Args) -> Result<(), String> {
    let bind = args.flag("--bind");
    let options = device_options(&mut args)?;
    let device =
        args.positional().ok_or("usage: outboard info DEVICE [--bind]   (DEVICE: a PCI address, or `emulated`)")?;
    args.finish()?;
    let (dev, _emu) = open_device(&device, bind, &options)?;
    println!("HDA controller {}", dev.name());
    for cp in dev.codecs() {
        print_codec(&cp.codec, &cp.plan);
    }
    Ok(())
}

fn pcm_config(rate: u32, bits: u16, channels: u16, period_frames: usize) -> Result<PcmConfig, String> {
    let format = match bits {
        8 => SampleFormat::U8,
        16 => SampleFormat::S16Le,
        32 => SampleFormat::S32Le,
        b => return Err(format!("{b}-bit samples: HDA streams here take 8, 16 or 32 bits")),
    };
    Ok(PcmConfig { format, rate, channels, period_frames, periods: 4 })
}

/// `outboard play DEVICE FILE.wav [--bind]`
pub fn play(mut args: Args) -> Result<(), String> {
    let bind = args.flag("--bind");
    let options = device_options(&mut args)?;
    let period: usize = args.option("--period")?.unwrap_or(1024);
    let (Some(device), Some(file)) = (args.positional(), args.positional()) else {
        return Err("usage: outboard play DEVICE FILE.wav [--bind] [--period FRAMES]".into());
    };
    args.finish()?;
    let wav = Wav::read(Path::new(&file)).map_err(|e| e.to_string())?;
    let cfg = pcm_config(wav.rate, wav.bits, wav.channels, period)?;
    let (dev, _emu) = open_device(&device, bind, &options)?;
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

/// `outboard record DEVICE FILE.wav --seconds N [--rate R] [--bits B] [--channels C] [--play PLAY.wav]`
///
/// With `--play`, the file is played at the same time (full duplex), from
/// one process: a VFIO device has one owner.
pub fn record(mut args: Args) -> Result<(), String> {
    let bind = args.flag("--bind");
    let options = device_options(&mut args)?;
    let seconds: f64 = args.option("--seconds")?.unwrap_or(5.0);
    let rate: u32 = args.option("--rate")?.unwrap_or(48_000);
    let bits: u16 = args.option("--bits")?.unwrap_or(16);
    let channels: u16 = args.option("--channels")?.unwrap_or(2);
    let period: usize = args.option("--period")?.unwrap_or(1024);
    let play_file: Option<PathBuf> = args.option("--play")?;
    let (Some(device), Some(file)) = (args.positional(), args.positional()) else {
        return Err("usage: outboard record DEVICE FILE.wav [--seconds N] [--rate R] [--bits B] [--channels C] [--play PLAY.wav] [--bind]".into());
    };
    args.finish()?;
    if !(0.01..=3600.0).contains(&seconds) {
        return Err("--seconds must be between 0.01 and 3600".into());
    }
    let cfg = pcm_config(rate, bits, channels, period)?;
    let playback = match &play_file {
        Some(p) => {
            let wav = Wav::read(p).map_err(|e| e.to_string())?;
            Some((pcm_config(wav.rate, wav.bits, wav.channels, period)?, wav))
        }
        None => None,
    };
    let (dev, _emu) = open_device(&device, bind, &options)?;
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
    let out = PathBuf::from(&file);
    Wav { channels, rate, bits, data }.write(&out).map_err(|e| format!("{file}: {e}"))?;
    println!(
        "recorded {frames} frames ({rate} Hz, {bits} bits, {channels} channels) from {} into {file}: {} periods, {} xruns, {} late wakeups",
        dev.name(),
        stats.periods,
        stats.xruns,
        stats.late_wakeups
    );
    Ok(())
}
