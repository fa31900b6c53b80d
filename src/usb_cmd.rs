//! `outboard info|play|record` on a USB audio device: the UAC driver alone,
//! no mixer.
//!
//! A USB DEVICE is `usb` (the first USB audio device), `usb:VID:PID`,
//! `VID:PID`, or `usb:PORT` (the sysfs name, e.g. `usb:3-1`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use outboard_hal::pcm::{Direction, PcmStream, SampleFormat};
use outboard_hal::usb::{sysfs as usb_sysfs, usbfs::UsbfsDevice, UsbDevice, UsbId};
use outboard_signal::wav::Wav;
use outboard_uac::device::StreamRequest;
use outboard_uac::quirks;
use outboard_uac::stream::StreamStats;
use outboard_uac::UacDevice;

use crate::args::Args;
use crate::pcm_io;

/// Whether a DEVICE argument names a USB device.
pub fn is_usb_spec(spec: &str) -> bool {
    spec == "usb" || spec.starts_with("usb:") || spec.parse::<UsbId>().is_ok()
}

/// Quirk overrides from `OUTBOARD_USB_QUIRKS` (`vvvv:pppp:FLAGS,...`).
fn quirk_overrides() -> Result<Vec<quirks::QuirkOverride>, String> {
    match std::env::var("OUTBOARD_USB_QUIRKS") {
        Ok(text) => quirks::parse_overrides(&text).map_err(|e| format!("OUTBOARD_USB_QUIRKS: {e}")),
        Err(_) => Ok(Vec::new()),
    }
}

/// Find and open a USB audio device through usbfs.
pub fn open(spec: &str) -> Result<UacDevice, String> {
    let root = Path::new(outboard_hal::pci::sysfs::SYSFS);
    let rest = spec.strip_prefix("usb:").unwrap_or(spec);
    let all = usb_sysfs::list(root).map_err(|e| e.to_string())?;
    let info = if spec == "usb" {
        all.into_iter()
            .find(|d| d.is_audio())
            .ok_or("no USB audio device found (`outboard list` shows what there is)")?
    } else if let Ok(id) = rest.parse::<UsbId>() {
        all.into_iter()
            .find(|d| d.id == id)
            .ok_or_else(|| format!("no USB device with id {id} (`outboard list` shows what there is)"))?
    } else {
        all.into_iter()
            .find(|d| d.port == rest)
            .ok_or_else(|| format!("no USB device at port {rest} (`outboard list` shows what there is)"))?
    };
    let usb: Arc<dyn UsbDevice> = Arc::new(UsbfsDevice::open_info(&info).map_err(|e| e.to_string())?);
    UacDevice::open(usb, &quirk_overrides()?).map_err(|e| e.to_string())
}

/// `--volume max|DB`: set every feature unit on the stream's path.
pub fn apply_volume(dev: &UacDevice, direction: Direction, volume: Option<&str>) -> Result<(), String> {
    let Some(v) = volume else { return Ok(()) };
    let controls = dev.feature_controls(direction);
    if controls.is_empty() {
        println!("no volume control on this path");
    }
    for fc in &controls {
        let db = match (v, fc.range) {
            ("max", Some(r)) => f64::from(r.max) / 256.0,
            ("max", None) => 127.0,
            (text, _) => text.parse::<f64>().map_err(|_| format!("--volume {text}: expected `max` or dB"))?,
        };
        dev.set_unit_volume_db(fc, db).map_err(|e| e.to_string())?;
        println!("volume: feature unit {} set to {db:.2} dB (clamped to its range), unmuted", fc.unit);
    }
    Ok(())
}

fn format_for_bits(bits: u16) -> Result<SampleFormat, String> {
    Ok(match bits {
        8 => SampleFormat::U8,
        16 => SampleFormat::S16Le,
        24 => SampleFormat::S24_3Le,
        32 => SampleFormat::S32Le,
        b => return Err(format!("{b}-bit WAV files are not supported (8, 16, 24 or 32)")),
    })
}

fn stream_report(what: &str, stats: &StreamStats) -> String {
    let g = StreamStats::get;
    let fb = g(&stats.feedback_accepted);
    format!(
        "{what}: urbs={} packets={} failed_packets={} partial_packets={}{}",
        g(&stats.urbs),
        g(&stats.packets),
        g(&stats.failed_packets),
        g(&stats.partial_packets),
        if fb > 0 {
            format!(
                " feedback_values={fb} feedback_rejected={} rate_hz={:.3}",
                g(&stats.feedback_rejected),
                g(&stats.rate_mhz) as f64 / 1000.0
            )
        } else {
            String::new()
        }
    )
}

/// `outboard info USB-DEVICE`
pub fn info(mut args: Args) -> Result<(), String> {
    let spec = args.positional().ok_or("usage: outboard info USB-DEVICE")?;
    args.finish()?;
    let dev = open(&spec)?;
    print!("{}", outboard_uac::report::describe(&dev));
    Ok(())
}

/// `outboard play USB-DEVICE FILE.wav [--period N] [--volume max|DB]`
pub fn play(mut args: Args) -> Result<(), String> {
    let (Some(spec), Some(file)) = (args.positional(), args.positional()) else {
        return Err("usage: outboard play USB-DEVICE FILE.wav [--period N] [--periods N] [--volume max|DB]".into());
    };
    let (spec, file) = (spec.as_str(), file.as_str());
    let period: usize = args.option("--period")?.unwrap_or(1024);
    let periods: usize = args.option("--periods")?.unwrap_or(4);
    let volume: Option<String> = args.option("--volume")?;
    args.finish()?;
    let wav = Wav::read(Path::new(file)).map_err(|e| format!("{file}: {e}"))?;
    let format = format_for_bits(wav.bits)?;
    let dev = open(spec)?;
    apply_volume(&dev, Direction::Playback, volume.as_deref())?;
    let req = StreamRequest {
        rate: wav.rate,
        channels: Some(wav.channels),
        format: Some(format),
        period_frames: period,
        periods,
    };
    let mut pcm = dev.open_stream(Direction::Playback, req, None).map_err(|e| e.to_string())?;
    let fb = pcm.config().frame_bytes();
    let frames = wav.data.len() / fb;
    println!(
        "playing {frames} frames on {} interface {} alt {} ({:?}, {} ch, {} Hz), {} URBs of {} packets",
        dev.name(),
        pcm.alt().interface,
        pcm.alt().alt,
        pcm.alt().format,
        pcm.alt().channels,
        wav.rate,
        pcm.plan().urbs,
        pcm.plan().packets_per_urb
    );
    let result = pcm_io::play(&mut pcm, &wav.data[..frames * fb], &mut || {});
    println!("{}", stream_report("usb", &pcm.shared().stats));
    let stats = result.map_err(|e| pcm.error().unwrap_or(e))?;
    println!("played {frames} frames: {} periods, {} late wakeups", stats.periods, stats.late_wakeups);
    Ok(())
}

/// `outboard record USB-DEVICE FILE.wav [--seconds N] [--rate R] [--bits B] [--channels C] [--play PLAY.wav]`
pub fn record(mut args: Args) -> Result<(), String> {
    let (Some(spec), Some(file)) = (args.positional(), args.positional()) else {
        return Err(
            "usage: outboard record USB-DEVICE FILE.wav [--seconds N] [--rate R] [--bits B] [--channels C]".into()
        );
    };
    let (spec, file) = (spec.as_str(), file.as_str());
    let seconds: f64 = args.option("--seconds")?.unwrap_or(5.0);
    let rate: u32 = args.option("--rate")?.unwrap_or(48_000);
    let bits: Option<u16> = args.option("--bits")?;
    let channels: Option<u16> = args.option("--channels")?;
    let period: usize = args.option("--period")?.unwrap_or(1024);
    let periods: usize = args.option("--periods")?.unwrap_or(4);
    let volume: Option<String> = args.option("--volume")?;
    let play_file: Option<PathBuf> = args.option("--play")?;
    args.finish()?;
    if !(0.01..=3600.0).contains(&seconds) {
        return Err("--seconds must be between 0.01 and 3600".into());
    }
    let format = bits.map(format_for_bits).transpose()?;
    let playback = match &play_file {
        Some(p) => Some(Wav::read(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => None,
    };
    let dev = open(spec)?;
    apply_volume(&dev, Direction::Capture, volume.as_deref())?;
    let req = StreamRequest { rate, channels, format, period_frames: period, periods };
    let mut pcm = dev.open_stream(Direction::Capture, req, None).map_err(|e| e.to_string())?;
    // Full duplex (--play): both streams from this one process, as a usbfs
    // device has one owner.
    let mut out_pcm = match &playback {
        Some(wav) => {
            let req = StreamRequest {
                rate: wav.rate,
                channels: Some(wav.channels),
                format: Some(format_for_bits(wav.bits)?),
                period_frames: period,
                periods,
            };
            Some(dev.open_stream(Direction::Playback, req, None).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let cfg = pcm.config();
    let frames = (seconds * f64::from(rate)) as usize;
    let (result, played) = std::thread::scope(|s| {
        let player = match (out_pcm.as_mut(), &playback) {
            (Some(out), Some(wav)) => {
                let fb = out.config().frame_bytes();
                let n = wav.data.len() / fb * fb;
                Some(s.spawn(move || pcm_io::play(out, &wav.data[..n], &mut || {})))
            }
            _ => None,
        };
        let recorded = pcm_io::record(&mut pcm, frames);
        let played = player.map(|p| p.join().unwrap_or_else(|_| Err("the playback thread panicked".into())));
        (recorded, played)
    });
    if let (Some(out), Some(played)) = (&out_pcm, played) {
        println!("{}", stream_report("usb playback", &out.shared().stats));
        let pstats = played.map_err(|e| out.error().unwrap_or(e))?;
        println!("played while recording: {} periods, {} late wakeups", pstats.periods, pstats.late_wakeups);
    }
    println!("{}", stream_report("usb", &pcm.shared().stats));
    let (data, stats) = result.map_err(|e| pcm.error().unwrap_or(e))?;
    let wav_bits = (cfg.format.bytes() * 8) as u16;
    Wav { channels: cfg.channels, rate, bits: wav_bits, data }
        .write(&PathBuf::from(file))
        .map_err(|e| format!("{file}: {e}"))?;
    println!(
        "recorded {frames} frames ({rate} Hz, {:?}, {} channels) from {} into {file}: {} periods, {} late wakeups",
        cfg.format,
        cfg.channels,
        dev.name(),
        stats.periods,
        stats.late_wakeups
    );
    Ok(())
}
