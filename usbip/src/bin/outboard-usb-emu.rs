//! Emulated USB devices plugged into this machine's kernel through vhci-hcd
//! (USB/IP), so the kernel's own drivers (snd-usb-audio, usbfs) drive them.
//!
//! ```text
//! outboard-usb-emu uac2 [--speed high|full] [--rate HZ]... [--feedback-hz HZ]
//!                       [--hs-interval 0-4] [--capture FILE.raw] [--record FILE.raw]
//!                       [--loopback FRAMES [--wire]] [--seconds N] [--unplug-after SECS] [--stats FILE]
//! ```
//! Plugs in the emulated UAC2 device (`outboard_emu::usb::uac2`), prints
//! `attached usb BUSID ...` once the kernel has configured it, writes the OUT
//! (playback) data it receives to --record, plays --capture (raw frames in the
//! capture format, silence after) into its IN endpoint, and runs for --seconds
//! or until SIGTERM/SIGINT; --loopback sends back IN what arrives OUT, after
//! FRAMES frames of silence from each capture start (a cable from the
//! device's output to its input, for `outboard measure`); with --wire the
//! cable keeps the bus's time instead (FRAMES of delay; a host that submits
//! late leaves holes that the recording shows); --unplug-after pulls it out (vhci detach) while it
//! runs. At the end it prints its counters as `key=value` lines (and writes
//! them to --stats), among them `out_fps`: the OUT frames per second the host
//! sent in steady streaming, counted against the emulated bus clock, which is
//! what the device's feedback value asks the host to follow.
//! --hs-interval sets the streaming endpoints' high-speed bInterval (1-4;
//! 0 = f_uac2's own choice; default: the emulator's, 1).
//!
//! Logging: RUST_LOG (or OUTBOARD_LOG) = error|warn|info|debug, or a filter (default warn).

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use log::LevelFilter;
use outboard_emu::usb::uac2::{Uac2Device, Uac2Options, Uac2Stats};
use outboard_hal::usb::descriptors::configurations;
use outboard_hal::usb::mem::UsbFunction;
use outboard_hal::usb::Speed;
use outboard_usbip as usbip;

const USAGE: &str = "usage: outboard-usb-emu uac2 [--speed high|full] [--rate HZ]... [--feedback-hz HZ] \
[--hs-interval 0-4] [--capture FILE.raw] [--record FILE.raw] [--loopback FRAMES [--wire]] [--seconds N] [--unplug-after SECS] \
[--stats FILE]";

/// How long the kernel gets to enumerate and configure the device (the
/// bench's guest is an emulated CPU).
const ENUMERATION_DEADLINE: Duration = Duration::from_secs(60);
/// How often the counters are sampled.
const TICK: Duration = Duration::from_millis(10);
/// Streaming left out of the rate at its start (the host starts at the
/// nominal rate until it has read the feedback).
const WARMUP: f64 = 0.5;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Log to stderr as `outboard-usb-emu: LEVEL: message`; the filter is
/// RUST_LOG, else OUTBOARD_LOG (env_logger's syntax), else warn.
fn init_logging() {
    let mut builder = env_logger::Builder::new();
    builder.filter_level(LevelFilter::Warn);
    if let Some(spec) =
        ["RUST_LOG", "OUTBOARD_LOG"].into_iter().filter_map(|v| std::env::var(v).ok()).find(|s| !s.is_empty())
    {
        builder.parse_filters(&spec);
    }
    builder.format(|buf, record| {
        writeln!(buf, "outboard-usb-emu: {}: {}", record.level().as_str().to_ascii_lowercase(), record.args())
    });
    builder.write_style(env_logger::WriteStyle::Never);
    let _ = builder.try_init();
}

fn main() -> ExitCode {
    init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("uac2") => Opts::parse(&args[1..]).and_then(run_uac2),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("outboard-usb-emu: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, Default)]
struct Opts {
    speed: Option<Speed>,
    rates: Vec<u32>,
    feedback_hz: Option<f64>,
    hs_interval: Option<u8>,
    capture: Option<PathBuf>,
    record: Option<PathBuf>,
    loopback: Option<usize>,
    wire: bool,
    seconds: Option<f64>,
    unplug_after: Option<f64>,
    stats: Option<PathBuf>,
}

impl Opts {
    fn parse(args: &[String]) -> Result<Opts, String> {
        let mut o = Opts::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().ok_or_else(|| format!("{a} needs a value ({USAGE})"));
            let number = |v: &String| v.parse::<f64>().ok().filter(|x| x.is_finite() && *x > 0.0);
            match a.as_str() {
                "--speed" => {
                    o.speed = Some(match value()?.as_str() {
                        "high" => Speed::High,
                        "full" => Speed::Full,
                        other => return Err(format!("--speed {other}: want high or full")),
                    })
                }
                "--rate" => {
                    let v = value()?;
                    o.rates.push(v.parse().ok().filter(|&r: &u32| r > 0).ok_or(format!("--rate {v}: want Hz"))?);
                }
                "--feedback-hz" => {
                    let v = value()?;
                    o.feedback_hz = Some(number(v).ok_or(format!("--feedback-hz {v}: want Hz"))?);
                }
                "--hs-interval" => {
                    let v = value()?;
                    o.hs_interval =
                        Some(v.parse().ok().filter(|&i: &u8| i <= 4).ok_or(format!("--hs-interval {v}: want 0-4"))?);
                }
                "--capture" => o.capture = Some(PathBuf::from(value()?)),
                "--record" => o.record = Some(PathBuf::from(value()?)),
                "--wire" => o.wire = true,
                "--loopback" => {
                    let v = value()?;
                    o.loopback = Some(
                        v.parse()
                            .ok()
                            .filter(|&f: &usize| f <= 10 * 192_000)
                            .ok_or(format!("--loopback {v}: want frames"))?,
                    );
                }
                "--stats" => o.stats = Some(PathBuf::from(value()?)),
                "--seconds" => {
                    let v = value()?;
                    o.seconds = Some(number(v).ok_or(format!("--seconds {v}: want seconds"))?);
                }
                "--unplug-after" => {
                    let v = value()?;
                    o.unplug_after = Some(number(v).ok_or(format!("--unplug-after {v}: want seconds"))?);
                }
                other => return Err(format!("unknown argument {other} ({USAGE})")),
            }
        }
        Ok(o)
    }
}

/// The isochronous OUT data endpoint (usage type data) of a descriptor set.
fn out_endpoint(descriptors: &[u8]) -> Option<u8> {
    configurations(descriptors).iter().flat_map(|c| c.interfaces.iter()).flat_map(|i| i.endpoints.iter()).find_map(
        |e| {
            (e.transfer_type() == outboard_hal::usb::descriptors::TRANSFER_ISOCHRONOUS
                && !e.is_in()
                && e.usage_type() == 0)
                .then_some(e.address)
        },
    )
}

/// How long an endpoint may hold URBs without completing any before the
/// emulator says so (a stalled stream; the host's own timeouts are 10 s).
const STALL: Duration = Duration::from_secs(2);

/// Watches each endpoint for URBs that stop completing, and for streams the
/// host stops feeding, and logs both (the first is the server's fault, the
/// second the host's).
#[derive(Default)]
struct Watchdog {
    /// By endpoint: completed URBs when last seen changing, and since when.
    last: std::collections::BTreeMap<u8, (u64, Instant, bool)>,
}

impl Watchdog {
    fn check(&mut self, session: &usbip::SessionStats, t: f64) {
        let now = Instant::now();
        for (&addr, e) in &session.endpoints {
            if e.urbs == 0 {
                continue; // never streamed (the AC interrupt endpoint NAKs forever)
            }
            let w = self.last.entry(addr).or_insert((e.urbs, now, false));
            if w.0 != e.urbs {
                *w = (e.urbs, now, false);
            } else if !w.2 && now.duration_since(w.1) > STALL {
                w.2 = true;
                let next = e.next_completion.map(|n| {
                    if n >= now {
                        format!("the next due in {:?}", n - now)
                    } else {
                        format!("the next overdue by {:?}", now - n)
                    }
                });
                if e.in_flight > 0 {
                    log::warn!(
                        "at {t:.2} s: endpoint {addr:#04x} has {} URBs queued and completed none for {:?} ({})",
                        e.in_flight,
                        STALL,
                        next.unwrap_or_default()
                    );
                } else {
                    log::info!("at {t:.2} s: endpoint {addr:#04x}: the host has submitted nothing for {STALL:?}");
                }
            }
        }
    }
}

/// A sample of the counters.
#[derive(Clone, Copy, Debug)]
struct Sample {
    /// Seconds since the device was attached.
    t: f64,
    /// The device's count of OUT frames.
    frames: u64,
    /// OUT frames by the server's byte count, and the bus time they took.
    ep_frames: f64,
    bus: f64,
}

/// OUT rates over steady streaming: (frames per second of bus time,
/// frames per second of wall time, seconds streamed in all).
fn out_rates(samples: &[Sample]) -> Option<(f64, f64, f64)> {
    let first = samples.iter().position(|s| s.frames > 0)?;
    let last = samples.windows(2).rposition(|w| w[1].frames > w[0].frames)? + 1;
    let streamed = samples[last].t - samples[first].t;
    // Leave out the start; with too little left, take it all.
    let from = samples[first..last]
        .iter()
        .position(|s| s.t >= samples[first].t + WARMUP && samples[last].t - s.t >= 1.0)
        .map_or(first, |i| first + i);
    let (a, b) = (samples[from], samples[last]);
    if b.bus <= a.bus || b.t <= a.t {
        return None;
    }
    Some(((b.ep_frames - a.ep_frames) / (b.bus - a.bus), (b.frames - a.frames) as f64 / (b.t - a.t), streamed))
}

fn report(st: &Uac2Stats, rates: Option<(f64, f64, f64)>, session: &usbip::SessionStats) -> String {
    let list = |v: Vec<String>| v.join(",");
    let mut s = format!(
        "out_packets={}\nout_frames={}\nbad_out_packets={}\nfeedback_packets={}\ncapture_packets={}\n\
         capture_frames={}\nloopback_underruns={}\nrate={}\ncapture_rate={}\nplayback_alt={}\ncapture_alt={}\n\
         volume_db256={}\nmute={}\n",
        st.out_packets,
        st.out_frames,
        st.bad_out_packets,
        st.feedback_packets,
        st.capture_packets,
        st.capture_frames,
        st.loopback_underruns,
        st.rate,
        st.capture_rate,
        st.playback_alt,
        st.capture_alt,
        list(st.volume_db256.iter().map(i16::to_string).collect()),
        list(st.mute.iter().map(|&m| u8::from(m).to_string()).collect()),
    );
    match rates {
        Some((bus, wall, streamed)) => {
            s += &format!("streaming_seconds={streamed:.3}\nout_fps={bus:.2}\nout_fps_wall={wall:.2}\n")
        }
        None => s += "streaming_seconds=0\n",
    }
    s += &format!(
        "usbip_control_requests={}\nusbip_control_errors={}\nusbip_unlinked={}\n",
        session.control_requests, session.control_errors, session.unlinked
    );
    for (addr, e) in &session.endpoints {
        s += &format!(
            "usbip_ep_{addr:02x}=submitted:{} in_flight:{} gaps:{} urbs:{} packets:{} bytes:{} packet_errors:{} \
             bus_ms:{}\n",
            e.submitted,
            e.in_flight,
            e.gaps,
            e.urbs,
            e.packets,
            e.bytes,
            e.packet_errors,
            e.bus_time.as_millis()
        );
    }
    s
}

fn run_uac2(o: Opts) -> Result<(), String> {
    let mut options = Uac2Options::default();
    if let Some(speed) = o.speed {
        options.speed = speed;
    }
    if !o.rates.is_empty() {
        options.rates = o.rates.clone();
    }
    if let Some(i) = o.hs_interval {
        options.hs_interval = i;
    }
    let speed = options.speed;
    let frame_bytes = (usize::from(options.subslot_bytes) * usize::from(options.playback_channels)).max(1) as f64;
    let (device, control) = Uac2Device::new(options);
    let out_ep = out_endpoint(&device.descriptors()).ok_or("the UAC2 device has no isochronous OUT endpoint")?;
    if let Some(hz) = o.feedback_hz {
        control.set_feedback_hz(hz);
    }
    if o.loopback.is_some() && o.capture.is_some() {
        return Err("--loopback and --capture both say what the device captures: give one".into());
    }
    control.set_loopback(o.loopback, o.wire)?;
    if let Some(path) = &o.capture {
        control.set_capture_source(std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    let mut record = match &o.record {
        Some(p) => Some(File::create(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => None,
    };
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: the handler only stores to an atomic (async-signal-safe),
        // and it is a valid `extern "C" fn(c_int)`.
        unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
    }

    let mut attachment = Some(usbip::attach(Box::new(device), speed).map_err(|e| e.to_string())?);
    let handle = attachment.as_ref().map(|a| a.handle().clone()).ok_or("no attachment")?;
    let busid = match attachment.as_mut().map(|a| a.wait_enumerated(ENUMERATION_DEADLINE)) {
        Some(Ok(b)) => b,
        Some(Err(e)) => return Err(e.to_string()),
        None => return Err("no attachment".into()),
    };
    let port = attachment.as_ref().map_or(0, |a| a.port());
    println!("attached usb {busid} (vhci port {port}, {speed:?} speed)");
    let _ = std::io::stdout().flush();

    let t0 = Instant::now();
    let mut samples: Vec<Sample> = Vec::new();
    let mut watchdog = Watchdog::default();
    let mut failure = None;
    loop {
        std::thread::sleep(TICK);
        if let Some(f) = record.as_mut() {
            f.write_all(&control.take_received()).map_err(|e| format!("--record: {e}"))?;
        }
        let t = t0.elapsed().as_secs_f64();
        let st = control.stats();
        let session = handle.stats();
        watchdog.check(&session, t);
        let ep = session.endpoints.get(&out_ep).cloned().unwrap_or_default();
        samples.push(Sample {
            t,
            frames: st.out_frames,
            ep_frames: ep.bytes as f64 / frame_bytes,
            bus: ep.bus_time.as_secs_f64(),
        });
        if STOP.load(Ordering::SeqCst) || o.seconds.is_some_and(|s| t >= s) {
            break;
        }
        if let (Some(after), Some(a)) = (o.unplug_after, attachment.as_ref()) {
            if t >= after {
                match attachment.take().map(|a| a.detach()) {
                    Some(Ok(end)) => println!("unplugged after {t:.2} s (the session ended: {end:?})"),
                    Some(Err(e)) => {
                        failure = Some(format!("unplug after {t:.2} s: {e}"));
                        break;
                    }
                    None => {}
                }
                continue;
            }
            if a.session_ended() {
                failure = Some(format!("the kernel ended the session after {t:.2} s"));
                break;
            }
        } else if attachment.as_ref().is_some_and(|a| a.session_ended()) {
            failure = Some(format!("the kernel ended the session after {t:.2} s"));
            break;
        }
    }
    if let Some(a) = attachment.take() {
        if let Err(e) = a.detach() {
            failure.get_or_insert(format!("detach: {e}"));
        }
    }
    if let Some(f) = record.as_mut() {
        f.write_all(&control.take_received()).map_err(|e| format!("--record: {e}"))?;
    }
    let text = report(&control.stats(), out_rates(&samples), &handle.stats());
    print!("{text}");
    if let Some(p) = &o.stats {
        std::fs::write(p, &text).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn options_parse_and_bad_ones_are_named() {
        let o = Opts::parse(&args("--speed full --rate 48000 --rate 44100 --feedback-hz 47900.5 --seconds 3")).unwrap();
        assert_eq!(
            (o.speed, o.rates.clone(), o.feedback_hz, o.seconds),
            (Some(Speed::Full), vec![48000, 44100], Some(47900.5), Some(3.0))
        );
        assert!(Opts::parse(&args("--speed low")).unwrap_err().contains("--speed low"));
        assert_eq!(Opts::parse(&args("--hs-interval 4")).unwrap().hs_interval, Some(4));
        assert!(Opts::parse(&args("--hs-interval 5")).unwrap_err().contains("want 0-4"));
        assert!(Opts::parse(&args("--rate")).unwrap_err().contains("--rate needs a value"));
        assert!(Opts::parse(&args("--seconds -1")).unwrap_err().contains("--seconds -1"));
        assert!(Opts::parse(&args("--bogus")).unwrap_err().contains("unknown argument --bogus"));
    }

    #[test]
    fn the_rate_leaves_out_the_start_and_the_idle_tail() {
        // 1 s idle, 0.5 s at 48000 fps, then 4 s at 47900 (by bus and wall), then idle.
        let mut samples = Vec::new();
        let (mut frames, mut bus) = (0f64, 0f64);
        for i in 0..700 {
            let t = i as f64 * 0.01;
            if (1.0..5.5).contains(&t) {
                frames += if t < 1.5 { 480.0 } else { 479.0 };
                bus += 0.01;
            }
            samples.push(Sample { t, frames: frames as u64, ep_frames: frames, bus });
        }
        let (fps, wall, streamed) = out_rates(&samples).unwrap();
        assert!((fps - 47900.0).abs() < 1.0, "{fps}");
        assert!((wall - 47900.0).abs() < 20.0, "{wall}");
        assert!((streamed - 4.49).abs() < 0.02, "{streamed}");
        assert!(out_rates(&samples[..50]).is_none(), "nothing streamed yet");
    }
}
