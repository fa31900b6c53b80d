//! `outboard info|play|record` on a USB audio device: the UAC driver alone,
//! no mixer.
//!
//! A USB DEVICE is `usb` (the first USB audio device), `usb:VID:PID`,
//! `VID:PID`, or `usb:PORT` (the sysfs name, e.g. `usb:3-1`).

use outboard_hal::pcm::{Direction, PcmStream, SampleFormat};
use outboard_signal::wav::Wav;
use outboard_uac::device::StreamRequest;
use outboard_uac::report::DeviceReport;
use outboard_uac::stream::StreamStats;

use crate::cli::{HdaArgs, InfoArgs, PlayArgs, RecordArgs};
use crate::devices::{apply_usb_volume, open_usb};
use crate::pcm_io;

/// HDA-only options refused on a USB device, naming the option.
fn refuse_hda_options(hda: &HdaArgs) -> Result<(), String> {
    let named =
        [(hda.bind, "--bind"), (hda.pin_config.is_some(), "--pin-config"), (hda.position.is_some(), "--position")];
    match named.iter().find(|(set, _)| *set) {
        Some((_, opt)) => Err(format!("{opt} applies to HDA controllers, not to a USB device")),
        None => Ok(()),
    }
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

/// `outboard info USB-DEVICE [--json]`
pub fn info(args: InfoArgs) -> Result<(), String> {
    refuse_hda_options(&args.hda)?;
    let dev = open_usb(&args.device)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&DeviceReport::new(&dev)).map_err(|e| e.to_string())?);
    } else {
        print!("{}", outboard_uac::report::describe(&dev));
    }
    Ok(())
}

/// `outboard play USB-DEVICE FILE.wav [--period N] [--volume max|DB]`
pub fn play(args: PlayArgs) -> Result<(), String> {
    refuse_hda_options(&args.hda)?;
    let file = args.file.display().to_string();
    let file = file.as_str();
    let (period, periods) = (args.ring.period as usize, args.ring.periods as usize);
    let wav = Wav::read(&args.file).map_err(|e| format!("{file}: {e}"))?;
    let format = format_for_bits(wav.bits)?;
    let dev = open_usb(&args.device)?;
    apply_usb_volume(&dev, Direction::Playback, args.volume)?;
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
pub fn record(args: RecordArgs) -> Result<(), String> {
    refuse_hda_options(&args.hda)?;
    let file = args.file.display().to_string();
    let file = file.as_str();
    let (seconds, rate, bits, channels) = (args.seconds, args.rate, args.bits, args.channels);
    let (period, periods) = (args.ring.period as usize, args.ring.periods as usize);
    let play_file = args.play.clone();
    if !(0.01..=3600.0).contains(&seconds) {
        return Err("--seconds must be between 0.01 and 3600".into());
    }
    let format = bits.map(format_for_bits).transpose()?;
    let playback = match &play_file {
        Some(p) => Some(Wav::read(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => None,
    };
    let dev = open_usb(&args.device)?;
    apply_usb_volume(&dev, Direction::Capture, args.volume)?;
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
    Wav { channels: cfg.channels, rate, bits: wav_bits, data }.write(&args.file).map_err(|e| format!("{file}: {e}"))?;
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
