//! `outboard measure`: the bench-rig tester. Opens the device's own
//! streams (no mixer, no kernel driver, no sound server), runs
//! `outboard-measure`'s tests on them, and reports: a summary, `--json`,
//! `--report DIR` (HTML with plots), and `--limits` for the exit status.

use std::fmt;
use std::io::IsTerminal;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use outboard_emu::loopback::{Impairments, Loopback};
use outboard_hal::pcm::{Direction, PcmConfig, PcmStream, SampleFormat};
use outboard_measure::limits::{Limits, Verdict};
use outboard_measure::run::{parse_tests, run as run_tests, Options, Report, Test};
use outboard_uac::device::StreamRequest;

use crate::cli::MeasureArgs;
use crate::devices::{apply_usb_volume, open_hda, open_usb, DeviceSpec};

/// USB streams keep 24 URBs of 32 packets in flight (96 ms at high speed,
/// 768 ms at full speed), where a player keeps a few: a measurement wants
/// no hole in the bus's time from a host that was late, not low latency.
const USB_PLAN: outboard_uac::stream::UrbPlan = outboard_uac::stream::UrbPlan { urbs: 24, packets_per_urb: 32 };

/// The emulated loopback card's name on the command line.
const LOOPBACK: &str = "emulated-loopback";

/// A device `outboard measure` takes: any device, or the emulated loopback.
#[derive(Clone, Debug, PartialEq)]
pub enum MeasureDevice {
    Device(DeviceSpec),
    Loopback(Impairments),
}

impl FromStr for MeasureDevice {
    type Err = String;
    fn from_str(text: &str) -> Result<MeasureDevice, String> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix(LOOPBACK) {
            let imp = match rest.strip_prefix(':') {
                Some(list) => list.parse::<Impairments>()?,
                None if rest.is_empty() => Impairments::default(),
                None => return Err(format!("`{text}`: write {LOOPBACK}:NAME=VALUE,...")),
            };
            return Ok(MeasureDevice::Loopback(imp));
        }
        text.parse().map(MeasureDevice::Device)
    }
}

impl fmt::Display for MeasureDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MeasureDevice::Device(d) => write!(f, "{d}"),
            MeasureDevice::Loopback(imp) => write!(f, "{LOOPBACK}:{imp}"),
        }
    }
}

/// The streams a run uses, and what keeps them alive.
struct Opened {
    play: Box<dyn PcmStream>,
    rec: Box<dyn PcmStream>,
    _keep: Vec<Box<dyn std::any::Any>>,
    name: String,
}

fn hda_format(bits: Option<u16>) -> Result<Vec<SampleFormat>, String> {
    match bits {
        None => Ok(vec![SampleFormat::S32Le, SampleFormat::S16Le]),
        Some(16) => Ok(vec![SampleFormat::S16Le]),
        Some(32) => Ok(vec![SampleFormat::S32Le]),
        Some(b) => Err(format!("--bits {b}: measuring takes 16 or 32 bits")),
    }
}

/// A boxed stream.
type Stream = Box<dyn PcmStream>;

/// Open the directions asked for (`play`, `rec`) of one device, from one
/// handle (a VFIO or usbfs device has one owner); also its name.
fn open_device(
    dev: &MeasureDevice,
    play: bool,
    rec: bool,
    a: &MeasureArgs,
    keep: &mut Vec<Box<dyn std::any::Any>>,
) -> Result<(Option<Stream>, Option<Stream>, String), String> {
    let channels = a.channels.unwrap_or(2);
    let (period, periods) = (a.period as usize, a.periods as usize);
    let wanted = |d: Direction| (d == Direction::Playback && play) || (d == Direction::Capture && rec);
    let directions = [Direction::Playback, Direction::Capture];
    match dev {
        MeasureDevice::Loopback(imp) => {
            let card = Loopback::new(imp.clone(), a.rate, channels);
            let format = match a.bits {
                None | Some(32) => SampleFormat::S32Le,
                Some(16) => SampleFormat::S16Le,
                Some(b) => return Err(format!("--bits {b}: the emulated loopback takes 16 or 32 bits")),
            };
            let cfg = PcmConfig { format, rate: a.rate, channels, period_frames: period, periods };
            let mut out = directions.iter().map(|&d| -> Result<Option<Stream>, String> {
                if !wanted(d) {
                    return Ok(None);
                }
                Ok(Some(Box::new(card.open(d, cfg).map_err(|e| e.to_string())?)))
            });
            let (p, r) = (out.next().transpose()?.flatten(), out.next().transpose()?.flatten());
            let name = card.name();
            keep.push(Box::new(card));
            Ok((p, r, name))
        }
        MeasureDevice::Device(spec) if spec.is_usb() => {
            let usb = std::sync::Arc::new(open_usb(spec)?);
            let mut format = match a.bits {
                None => None,
                Some(16) => Some(SampleFormat::S16Le),
                Some(24) => Some(SampleFormat::S24_3Le),
                Some(32) => Some(SampleFormat::S32Le),
                Some(b) => return Err(format!("--bits {b}: give 16, 24 or 32")),
            };
            let mut streams = Vec::new();
            for d in directions {
                if !wanted(d) {
                    streams.push(None);
                    continue;
                }
                apply_usb_volume(&usb, d, a.volume)?;
                let req =
                    StreamRequest { rate: a.rate, channels: Some(channels), format, period_frames: period, periods };
                let s = usb.open_stream(d, req, Some(USB_PLAN)).map_err(|e| e.to_string())?;
                // Capture in the format playback took (the deepest offered, unless --bits).
                format = Some(s.config().format);
                streams.push(Some(Box::new(s) as Stream));
            }
            let name = usb.name().to_string();
            keep.push(Box::new(usb));
            let mut it = streams.into_iter();
            Ok((it.next().flatten(), it.next().flatten(), name))
        }
        MeasureDevice::Device(spec) => {
            if a.volume.is_some() {
                return Err("--volume applies to USB devices".into());
            }
            let hda = open_hda(spec, &a.hda.settings())?;
            let dev = std::sync::Arc::new(hda.dev);
            let mut last = String::new();
            for format in hda_format(a.bits)? {
                let cfg = PcmConfig { format, rate: a.rate, channels, period_frames: period, periods };
                let open = |d: Direction| -> Result<Option<Stream>, outboard_hda::Error> {
                    if !wanted(d) {
                        return Ok(None);
                    }
                    Ok(Some(Box::new(dev.open_pcm(d, cfg)?)))
                };
                match open(Direction::Playback).and_then(|p| Ok((p, open(Direction::Capture)?))) {
                    Ok((p, r)) => {
                        let name = dev.name().to_string();
                        keep.push(Box::new((dev, hda.emulator)));
                        return Ok((p, r, name));
                    }
                    Err(e) => last = e.to_string(),
                }
            }
            Err(format!("{spec}: {last}"))
        }
    }
}

/// Open the streams: both on DEVICE, or playback on DEVICE and capture on
/// `--to`.
fn open(a: &MeasureArgs) -> Result<Opened, String> {
    let mut keep = Vec::new();
    let missing = |what: &str, dev: &MeasureDevice| format!("{dev} has no {what} stream");
    match (&a.device, &a.to) {
        (MeasureDevice::Loopback(_), Some(MeasureDevice::Device(_)))
        | (MeasureDevice::Device(_), Some(MeasureDevice::Loopback(_))) => Err(format!(
            "{} and {} are not cabled together: an emulated loopback's outputs reach only its own inputs",
            a.device,
            a.to.as_ref().map(|t| t.to_string()).unwrap_or_default()
        )),
        // Two emulated loopbacks are one cable: the receiving card's impairments apply.
        (MeasureDevice::Loopback(_), Some(to @ MeasureDevice::Loopback(_))) => one(to, a, keep),
        (dev, Some(to)) if dev != to => {
            let (play, _, pname) = open_device(dev, true, false, a, &mut keep)?;
            let (_, rec, rname) = open_device(to, false, true, a, &mut keep)?;
            Ok(Opened {
                play: play.ok_or_else(|| missing("playback", dev))?,
                rec: rec.ok_or_else(|| missing("capture", to))?,
                _keep: keep,
                name: format!("{pname} -> {rname}"),
            })
        }
        (dev, _) => one(dev, a, keep),
    }
}

/// Both streams of one device.
fn one(dev: &MeasureDevice, a: &MeasureArgs, mut keep: Vec<Box<dyn std::any::Any>>) -> Result<Opened, String> {
    let (play, rec, name) = open_device(dev, true, true, a, &mut keep)?;
    let missing = |what: &str| format!("{dev} has no {what} stream");
    Ok(Opened {
        play: play.ok_or_else(|| missing("playback"))?,
        rec: rec.ok_or_else(|| missing("capture"))?,
        _keep: keep,
        name,
    })
}

fn options(a: &MeasureArgs) -> Result<Options, String> {
    let check = |name: &str, v: f64, lo: f64, hi: f64| {
        if v.is_finite() && (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(format!("--{name} must be from {lo} to {hi}"))
        }
    };
    let tests = match &a.tests {
        Some(list) => parse_tests(list)?,
        None => {
            let mut t = Options::default().tests;
            if a.to.is_some() {
                t.push(Test::Drift);
            }
            t
        }
    };
    Ok(Options {
        tests,
        repeats: a.repeats as usize,
        sweep_seconds: check("sweep-seconds", a.sweep_seconds, 0.5, 60.0)?,
        level_dbfs: check("level", a.level, -60.0, 0.0)?,
        glitch_seconds: check("glitch-seconds", a.glitch_seconds, 1.0, 86_400.0)?,
        drift_seconds: check("drift-seconds", a.drift_seconds, 1.0, 3600.0)?,
        max_latency: check("max-latency", a.max_latency, 0.01, 10.0)?,
    })
}

/// The summary's lines.
fn summary(report: &Report, verdicts: &[Verdict]) -> String {
    let mut out = String::new();
    for f in report.figures() {
        let verdict = verdicts.iter().find(|v| v.name == f.name);
        let mark = match verdict {
            Some(v) if v.pass => "  PASS",
            Some(_) => "  FAIL",
            None => "",
        };
        let value = if f.value.fract() == 0.0 && f.value.abs() < 1e9 {
            format!("{}", f.value)
        } else {
            format!("{:.2}", f.value)
        };
        out.push_str(&format!("  {:<26} {:>10} {:<6} {}{mark}\n", f.name, value, f.unit, f.what));
    }
    for v in verdicts.iter().filter(|v| v.value.is_none()) {
        out.push_str(&format!("  {:<26} {:>10} {:<6} not measured (add its test to --tests)  FAIL\n", v.name, "-", ""));
    }
    if let Some(g) = &report.glitches {
        for (input, list) in g.iter().enumerate() {
            for glitch in list {
                out.push_str(&format!(
                    "  glitch on input {input}: {:?} at {:.4} s (frame {}), {} frames\n",
                    glitch.kind, glitch.seconds, glitch.frame, glitch.frames
                ));
            }
        }
    }
    out
}

/// `outboard measure DEVICE [--to DEVICE] ...`
pub fn run(a: MeasureArgs) -> Result<(), String> {
    let opts = options(&a)?;
    let limits = match &a.limits {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .map_err(|e| format!("{}: {e}", p.display()))
                .and_then(|t| Limits::parse(&t).map_err(|e| format!("{}: {e}", p.display())))?,
        ),
        None => None,
    };
    let mut opened = open(&a)?;
    let cfg = opened.play.config();
    println!(
        "measuring {} ({} Hz, {:?}, {} outputs, {} inputs, {}-frame periods): {}",
        opened.name,
        cfg.rate,
        cfg.format,
        cfg.channels,
        opened.rec.config().channels,
        cfg.period_frames,
        opts.tests.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
    );
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new_spinner();
        b.enable_steady_tick(Duration::from_millis(120));
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let result = run_tests(&mut *opened.play, &mut *opened.rec, &opts, &mut |step| bar.set_message(step.to_string()));
    bar.finish_and_clear();
    let report = result.map_err(|e| e.to_string())?;
    let verdicts = limits.as_ref().map(|l| l.check(&report.figures())).unwrap_or_default();
    print!("{}", summary(&report, &verdicts));
    if let Some(path) = &a.json {
        let doc = serde_json::json!({
            "device": a.device.to_string(),
            "to": a.to.as_ref().map(|t| t.to_string()),
            "name": opened.name,
            "format": format!("{:?}", cfg.format),
            "figures": report.figures(),
            "limits": verdicts,
            "passed": verdicts.iter().all(|v| v.pass),
            "report": report,
        });
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if let Some(dir) = &a.report {
        let title = format!("outboard measure: {}", opened.name);
        outboard_measure::report::write(Path::new(dir), &title, &report, &verdicts)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        println!("wrote {}", dir.join("index.html").display());
    }
    let failed: Vec<&str> = verdicts.iter().filter(|v| !v.pass).map(|v| v.name.as_str()).collect();
    if !failed.is_empty() {
        return Err(format!("{} of {} limits failed: {}", failed.len(), verdicts.len(), failed.join(", ")));
    }
    if limits.is_some() {
        println!("all {} limits hold", verdicts.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_parse_with_their_impairments() {
        let d: MeasureDevice = "emulated-loopback:delay=5,gain=-1".parse().unwrap();
        assert_eq!(d.to_string(), "emulated-loopback:delay=5,gain=-1");
        assert_eq!(
            "emulated-loopback".parse::<MeasureDevice>().unwrap(),
            MeasureDevice::Loopback(Impairments::default())
        );
        assert_eq!("emulated".parse::<MeasureDevice>().unwrap(), MeasureDevice::Device(DeviceSpec::Emulated));
        assert!("emulated-loopback:wow=1".parse::<MeasureDevice>().unwrap_err().contains("not an impairment"));
        assert!("emulated-loopbackx".parse::<MeasureDevice>().is_err());
    }
}
