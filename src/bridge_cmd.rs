//! `outboard bridge FROM TO`: one device's capture played on another device
//! (a line input monitored on another card, a USB microphone to the
//! speakers), through mixer-core's [`Bridge`]: the two devices' clocks
//! drift, so it resamples with a ratio its drift loop steers from the level
//! between them (docs/mixer.md, "Drift").
//!
//! Each device gets its own mixer engine (the same one when FROM and TO name
//! one device). The bridge runs for `--seconds` or until SIGTERM/SIGINT,
//! prints the loop's readings every `--report` seconds and its statistics
//! at the end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use outboard_hal::pcm::PcmStream;
use outboard_mixer::bridge::{Bridge, BridgeStats};
use outboard_mixer::engine::Engine;
use outboard_mixer::format::SampleFormat;
use outboard_mixer::stream::StreamParams;

use crate::cli::BridgeArgs;
use crate::devices::{open_streams, DeviceSpec, StreamShape, Streams};
use crate::signals::{self, STOP};

/// How often the adjustment is sampled for the median.
const SAMPLE: Duration = Duration::from_millis(100);

/// Xruns in the first this long are the start-up's (the devices' first
/// periods, page faults, a guest's first scheduling), counted apart.
const STARTUP: Duration = Duration::from_secs(2);

/// What the command line asks for, checked.
struct Options {
    from: DeviceSpec,
    to: DeviceSpec,
    seconds: Option<f64>,
    target: Option<usize>,
    shape: StreamShape,
    report: f64,
    hda: crate::devices::HdaSettings,
}

impl Options {
    fn new(args: BridgeArgs) -> Result<Options, String> {
        if let Some(s) = args.seconds {
            if !(0.1..=86_400.0).contains(&s) {
                return Err("--seconds must be between 0.1 and 86400".into());
            }
        }
        if !(0.1..=3600.0).contains(&args.report) {
            return Err("--report must be between 0.1 and 3600 seconds".into());
        }
        Ok(Options {
            hda: args.hda.settings(),
            from: args.from,
            to: args.to,
            seconds: args.seconds,
            target: args.target.map(|t| t as usize),
            shape: StreamShape { rate: args.rate, period: args.period as usize, periods: args.periods as usize },
            report: args.report,
        })
    }
}

/// The engines the bridge runs between, and the devices under them (dropped
/// last: the engines hold the devices' streams).
struct Engines {
    from: Arc<Engine>,
    to: Arc<Engine>,
    names: (String, String),
    keep: Vec<Box<dyn std::any::Any>>,
}

fn open(o: &Options) -> Result<Engines, String> {
    let open = |spec: &DeviceSpec| -> Result<Streams, String> {
        open_streams(spec, &o.hda, o.shape, None).map_err(|e| format!("{spec}: {e}"))
    };
    let no_capture = |spec: &DeviceSpec| format!("{spec}: the device has no capture stream to bridge from");
    // One device: its capture to its own playback, on one engine. Each
    // `emulated` is a controller of its own.
    if o.from == o.to && o.from != DeviceSpec::Emulated {
        let s = open(&o.from)?;
        let capture = s.capture.ok_or_else(|| no_capture(&o.from))?;
        let engine =
            Arc::new(Engine::start_with(Some(s.playback), Some(capture)).map_err(|e| format!("{}: {e}", s.name))?);
        return Ok(Engines { from: engine.clone(), to: engine, names: (s.name.clone(), s.name), keep: vec![s.keep] });
    }
    let from = open(&o.from)?;
    let capture = from.capture.ok_or_else(|| no_capture(&o.from))?;
    drop(from.playback);
    let to = open(&o.to)?;
    drop(to.capture);
    let engine_from = Engine::start_with(None, Some(capture)).map_err(|e| format!("{}: {e}", from.name))?;
    let engine_to = Engine::start_with(Some(to.playback), None).map_err(|e| format!("{}: {e}", to.name))?;
    Ok(Engines {
        from: Arc::new(engine_from),
        to: Arc::new(engine_to),
        names: (from.name, to.name),
        // Devices go in the order they were opened.
        keep: vec![from.keep, to.keep],
    })
}

/// The loop's readings now, as one line.
fn readings(t: f64, target: usize, s: &BridgeStats) -> String {
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    format!(
        "bridge: t={t:.1}s ppm={:+.1} offset={:+.1} level={} target={target} readings={} disturbed={} resyncs={} \
         saturated={} xruns capture={} playback={}",
        s.ppm(),
        s.offset_ppm(),
        load(&s.fill),
        load(&s.readings),
        load(&s.disturbed),
        load(&s.resyncs),
        load(&s.saturated),
        load(&s.capture_xruns),
        load(&s.playback_xruns),
    )
}

/// Stop an engine (once nothing else holds it); its device streams' own
/// xrun counts (playback, capture).
fn stop(engine: Arc<Engine>) -> (u64, u64) {
    let xruns = |d: &Option<Box<dyn PcmStream>>| d.as_ref().map_or(0, |d| d.xruns());
    match Arc::try_unwrap(engine) {
        Ok(e) => {
            let (play, cap) = e.stop();
            (xruns(&play), xruns(&cap))
        }
        Err(_) => {
            log::warn!("bridge: an engine is still shared at the end; it stops with the process");
            (0, 0)
        }
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// `outboard bridge FROM TO [--seconds N] [--target FRAMES] [--rate R] [--period N] [--periods N]
/// [--report SECS] [--bind]`
pub fn run(args: BridgeArgs) -> Result<(), String> {
    let o = Options::new(args)?;
    signals::catch()?;
    let engines = open(&o)?;
    let (from, to) = (&engines.from, &engines.to);
    let ccfg = from.capture_config().ok_or("the capture engine has no capture stream")?;
    let pcfg = to.playback_config().ok_or("the playback engine has no playback stream")?;
    // The level between the devices swings by a period of each (one
    // delivers, the other takes, a period at a time); hold twice that.
    let target = o.target.unwrap_or(2 * (ccfg.period_frames + pcfg.period_frames));
    let rate = ccfg.rate;
    let params = |buffer_frames: usize| StreamParams {
        buffer_frames,
        avail_min: ccfg.period_frames.min(pcfg.period_frames),
        ..StreamParams::new(SampleFormat::F32Le, rate, ccfg.channels, ccfg.period_frames)
    };
    // Rings with room for stalls well beyond the target on either side.
    let capture = from.capture(params(4 * target + 4 * ccfg.period_frames)).map_err(|e| e.to_string())?;
    let playback = to.playback(params(4 * target + 4 * pcfg.period_frames)).map_err(|e| e.to_string())?;
    println!(
        "bridge: {} (capture, {} Hz, {} ch, {}-frame periods) -> {} (playback, {} Hz, {} ch, {}-frame periods), \
         target {target} frames ({:.1} ms)",
        engines.names.0,
        ccfg.rate,
        ccfg.channels,
        ccfg.period_frames,
        engines.names.1,
        pcfg.rate,
        pcfg.channels,
        pcfg.period_frames,
        target as f64 * 1000.0 / f64::from(rate)
    );
    let bridge = Bridge::start(capture, playback, target).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let mut ppm: Vec<(f64, f64)> = Vec::new();
    let mut startup_xruns = None;
    let mut next_report = o.report;
    loop {
        std::thread::sleep(SAMPLE);
        let t = t0.elapsed().as_secs_f64();
        let stats = bridge.stats();
        ppm.push((t, stats.ppm()));
        if startup_xruns.is_none() && t >= STARTUP.as_secs_f64() {
            startup_xruns =
                Some((stats.capture_xruns.load(Ordering::Relaxed), stats.playback_xruns.load(Ordering::Relaxed)));
        }
        let end = STOP.load(Ordering::SeqCst) || o.seconds.is_some_and(|s| t >= s);
        if t >= next_report || end {
            println!("{}", readings(t, target, stats));
            next_report += o.report;
        }
        if end {
            break;
        }
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let s = bridge.stats();
    let (moved, resyncs, saturated) = (load(&s.frames), load(&s.resyncs), load(&s.saturated));
    let (updates, disturbed, offset) = (load(&s.readings), load(&s.disturbed), s.offset_ppm());
    let (capture, playback) = bridge.stop().ok_or("the bridge thread panicked")?;
    let xruns = (capture.xruns(), playback.xruns());
    let startup = startup_xruns.unwrap_or(xruns);
    // What the bridge queued plays out (the end of the stream, not an underrun).
    drop(capture);
    if let Err(e) = playback.drain(Duration::from_secs(2)) {
        log::warn!("bridge: the playback did not drain: {e}");
    }
    drop(playback);
    // The median of the second half: the loop has settled by then (its time
    // constant is 5 s).
    let half: Vec<f64> = ppm.iter().filter(|(t, _)| *t >= elapsed / 2.0).map(|(_, p)| *p).collect();
    let median_ppm = median(half).unwrap_or(0.0);
    println!(
        "bridge stopped after {elapsed:.1} s: {moved} frames moved; xruns capture={} playback={} \
         (after start-up capture={} playback={}); resyncs={resyncs} saturated={saturated}; \
         {updates} readings, {disturbed} disturbed",
        xruns.0,
        xruns.1,
        xruns.0.saturating_sub(startup.0),
        xruns.1.saturating_sub(startup.1)
    );
    // The adjustment u makes 1 + u·1e-6 output frames per input frame, so
    // the capture clock runs 1/(1 + u·1e-6) − 1 against the playback clock.
    println!(
        "bridge: median_ppm={median_ppm:+.1} over the last {:.1} s, offset_ppm={offset:+.1}: the bridge makes {:.7} \
         playback frames per capture frame; the capture clock runs {:+.1} ppm against the playback clock",
        elapsed / 2.0,
        1.0 + median_ppm * 1e-6,
        (1.0 / (1.0 + median_ppm * 1e-6) - 1.0) * 1e6
    );
    let Engines { from, to, names, keep } = engines;
    if Arc::ptr_eq(&from, &to) {
        drop(to);
        let text = from.stats().to_string();
        let (play, cap) = stop(from);
        println!("engine ({}): {text}; device xruns playback {play} capture {cap}", names.0);
    } else {
        let (text_from, text_to) = (from.stats().to_string(), to.stats().to_string());
        let (_, cap) = stop(from);
        let (play, _) = stop(to);
        println!("engine capture ({}): {text_from}; device xruns {cap}", names.0);
        println!("engine playback ({}): {text_to}; device xruns {play}", names.1);
    }
    drop(keep); // streams stopped: the devices go quiet
    Ok(())
}
