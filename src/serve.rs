//! `outboard serve`: the daemon. Brings up a device, runs the mixer engine on
//! its playback and capture streams, and serves the OSS `/dev/dsp` and
//! `/dev/audio` nodes through CUSE until SIGTERM or SIGINT, then removes the
//! nodes and leaves the device quiet.

use std::os::unix::thread::JoinHandleExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use outboard_cuse::Handler;
use outboard_cuse::{DeviceInfo, Server};
use outboard_hal::pcm::{Direction, PcmConfig, PcmStream, SampleFormat};
use outboard_mixer::engine::Engine;
use outboard_oss::dsp::{Dsp, AUDIO_DEFAULTS, DSP_DEFAULTS};
use outboard_oss::hw::HwControls;
use outboard_oss::info::{Card, OssSystem};
use outboard_oss::mixer::Mixer;
use outboard_oss::sndstat::SndStat;
use outboard_uac::device::StreamRequest;

use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;

use crate::args::Args;
use crate::hda_cmd::{device_options, open_device};

pub(crate) static STOP: AtomicBool = AtomicBool::new(false);

/// Where `outboard serve` answers `outboard clients`.
pub const CONTROL_SOCKET: &str = "/run/outboard.sock";

/// Answer each connection on the control socket with the client listing.
fn control_loop(listener: UnixListener, handlers: Vec<Arc<Dsp>>) {
    if listener.set_nonblocking(true).is_err() {
        return;
    }
    while !STOP.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((mut conn, _)) => {
                let mut text = String::new();
                for h in &handlers {
                    for c in h.clients() {
                        text += &format!(
                            "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                            c.node, c.pid, c.program, c.mode, c.format, c.state, c.xruns
                        );
                    }
                }
                let _ = conn.write_all(text.as_bytes());
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// The gid of `group` from /etc/group.
fn group_id(group: &str) -> Option<u32> {
    std::fs::read_to_string("/etc/group").ok()?.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next() == Some(group)).then(|| f.nth(1).and_then(|g| g.parse().ok())).flatten()
    })
}

/// Give a new node its owner root:`group` and `mode` (as a kernel driver's
/// udev rule would), once devtmpfs has created it.
fn set_owner(path: &std::path::Path, group: &str, mode: u32) {
    for _ in 0..100 {
        if path.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let gid = group_id(group);
    if gid.is_none() {
        log::warn!("{}: no group `{group}`; leaving the node's owner as it is", path.display());
    }
    if let Err(e) = std::os::unix::fs::chown(path, Some(0), gid) {
        log::warn!("{}: chown: {e}", path.display());
    }
    if let Err(e) = std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)) {
        log::warn!("{}: chmod: {e}", path.display());
    }
}

/// `outboard clients [--control PATH]`: who holds which node.
pub fn clients(mut args: Args) -> Result<(), String> {
    let control: PathBuf = args.option("--control")?.unwrap_or_else(|| PathBuf::from(CONTROL_SOCKET));
    args.finish()?;
    let mut conn = UnixStream::connect(&control)
        .map_err(|e| format!("{}: {e} (is `outboard serve` running?)", control.display()))?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut conn, &mut text).map_err(|e| format!("{}: {e}", control.display()))?;
    println!("NODE\tPID\tPROGRAM\tMODE\tFORMAT\tSTATE\tXRUNS");
    print!("{text}");
    Ok(())
}

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// SIGTERM and SIGINT set STOP and interrupt the blocking read on /dev/cuse
/// (no SA_RESTART), so the loop sees it and shuts down in order.
pub(crate) fn catch_signals() -> Result<(), String> {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: a zeroed sigaction is valid to fill in; the handler only
        // stores to an atomic, which is async-signal-safe.
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = 0;
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(format!("installing a signal handler: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// An integer setting: `--KEY VALUE` on the command line, else `KEY = VALUE`
/// in the config file (checked to fit `T`), else `default`.
fn number<T>(
    args: &mut Args,
    config: &std::collections::HashMap<String, crate::config::Value>,
    key: &str,
    default: T,
) -> Result<T, String>
where
    T: std::str::FromStr + TryFrom<i64>,
    T::Err: std::fmt::Display,
{
    if let Some(v) = args.option(&format!("--{key}"))? {
        return Ok(v);
    }
    match config.get(key) {
        Some(crate::config::Value::Int(n)) => {
            T::try_from(*n).map_err(|_| format!("config: `{key} = {n}` is out of range"))
        }
        _ => Ok(default),
    }
}

/// The device a daemon drives: its streams for the engine, and what must stay
/// alive (and be dropped last) for them to run.
pub(crate) struct Streams {
    pub(crate) name: String,
    pub(crate) playback: Box<dyn PcmStream>,
    pub(crate) capture: Option<Box<dyn PcmStream>>,
    pub(crate) keep: Box<dyn std::any::Any>,
    /// The device's own mixer controls, for /dev/mixer.
    pub(crate) hw: Option<Arc<dyn HwControls>>,
}

/// The devices to serve when none is named: HDA controllers bound to
/// vfio-pci, then USB audio devices.
fn discover() -> Result<Vec<String>, String> {
    let root = std::path::Path::new(outboard_hal::pci::sysfs::SYSFS);
    let mut found: Vec<String> = outboard_hal::pci::sysfs::list(root)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|d| {
            d.class_subclass() == outboard_hal::pci::config::CLASS_HDA && d.driver.as_deref() == Some("vfio-pci")
        })
        .map(|d| d.address.to_string())
        .collect();
    found.extend(
        outboard_hal::usb::sysfs::list(root)
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|d| d.is_audio())
            .map(|d| format!("usb:{}", d.port)),
    );
    if found.is_empty() {
        return Err(
            "no device to serve: no HDA controller is bound to vfio-pci and no USB audio device is plugged in \
             (`outboard list` shows what there is; name a device, or `emulated`)"
                .into(),
        );
    }
    log::info!("serving the devices found: {}", found.join(", "));
    Ok(found)
}

/// Open DEVICE (an HDA controller or a USB audio device) and its playback
/// stream, and its capture stream if it has one.
#[allow(clippy::too_many_arguments)]
pub(crate) fn open_streams(
    device: &str,
    bind: bool,
    options: &outboard_hda::device::HdaOptions,
    rate: u32,
    period: usize,
    periods: usize,
    node: &str,
    hw_volume: Option<&str>,
) -> Result<Streams, String> {
    if crate::usb_cmd::is_usb_spec(device) {
        let dev = Arc::new(crate::usb_cmd::open(device)?);
        crate::usb_cmd::apply_volume(&dev, Direction::Playback, hw_volume)?;
        let req = StreamRequest { rate, channels: Some(2), format: None, period_frames: period, periods };
        let playback = dev.open_stream(Direction::Playback, req, None).map_err(|e| e.to_string())?;
        let capture = match dev.open_stream(Direction::Capture, req, None) {
            Ok(c) => Some(Box::new(c) as Box<dyn PcmStream>),
            Err(e) => {
                log::info!("{}: no capture ({e}); /dev/{node} is playback only", dev.name());
                None
            }
        };
        let hw: Arc<dyn HwControls> = Arc::new(crate::hw_controls::UacControls::new(dev.clone()));
        return Ok(Streams {
            name: dev.name().to_string(),
            playback: Box::new(playback),
            capture,
            keep: Box::new(dev),
            hw: Some(hw),
        });
    }
    if hw_volume.is_some() {
        return Err("--hw-volume applies to USB devices only (HDA amps are set by the driver's path setup)".into());
    }
    let (dev, emu) = open_device(device, bind, options)?;
    let dev = Arc::new(dev);
    let cfg = PcmConfig { format: SampleFormat::S16Le, rate, channels: 2, period_frames: period, periods };
    let playback = dev.open_pcm(Direction::Playback, cfg).map_err(|e| e.to_string())?;
    let capture = match dev.open_pcm(Direction::Capture, cfg) {
        Ok(c) => Some(Box::new(c) as Box<dyn PcmStream>),
        Err(e) => {
            log::info!("{}: no capture ({e}); /dev/{node} is playback only", dev.name());
            None
        }
    };
    let hw = match crate::hw_controls::HdaControls::new(dev.clone()) {
        Ok(c) => Some(Arc::new(c) as Arc<dyn HwControls>),
        Err(e) => {
            log::warn!("{}: no mixer controls ({e}); /dev/mixer sets the master gain only", dev.name());
            None
        }
    };
    Ok(Streams { name: dev.name().to_string(), playback: Box::new(playback), capture, keep: Box::new((dev, emu)), hw })
}

/// `outboard serve [DEVICE...] [--config FILE] [--bind] [--name dsp] [--rate 48000] [--period 1024] [--periods 4] [--hw-volume max|DB]`
///
/// With no DEVICE (on the command line or as `device` in the config) it
/// serves every device it finds ([`discover`]).
///
/// Options on the command line win over the same settings in the config file.
pub fn run(mut args: Args) -> Result<(), String> {
    let config = match args.option::<PathBuf>("--config")? {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            crate::config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Default::default(),
    };
    let cfg_str = |key: &str| match config.get(key) {
        Some(crate::config::Value::Str(s)) => Some(s.clone()),
        _ => None,
    };
    let bind = args.flag("--bind") || config.get("bind") == Some(&crate::config::Value::Bool(true));
    let options = device_options(&mut args)?;
    let name: String = args.option("--name")?.or_else(|| cfg_str("node")).unwrap_or_else(|| "dsp".to_string());
    let control: PathBuf = args
        .option("--control")?
        .or_else(|| cfg_str("control").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(CONTROL_SOCKET));
    let group: String = args.option("--group")?.or_else(|| cfg_str("group")).unwrap_or_else(|| "audio".to_string());
    let mode = args.option::<String>("--mode")?.or_else(|| cfg_str("mode")).unwrap_or_else(|| "0660".into());
    let mode = u32::from_str_radix(&mode, 8).map_err(|e| format!("mode {mode:?}: {e} (octal, e.g. 0660)"))?;
    let rate: u32 = number(&mut args, &config, "rate", 48_000)?;
    let period: usize = number(&mut args, &config, "period", 1024)?;
    let periods: usize = number(&mut args, &config, "periods", 4)?;
    let hw_volume: Option<String> = args.option("--hw-volume")?.or_else(|| cfg_str("hw_volume"));
    let mut devices: Vec<String> = std::iter::from_fn(|| args.positional()).collect();
    args.finish()?;
    let discovered = devices.is_empty() && cfg_str("device").is_none();
    if devices.is_empty() {
        devices = match cfg_str("device") {
            Some(list) => list.split(',').map(|d| d.trim().to_string()).filter(|d| !d.is_empty()).collect(),
            None => discover()?,
        };
    }
    catch_signals()?;

    // One engine per device. The first device is the default one (/dev/dsp,
    // /dev/audio, /dev/mixer); with several, each also gets /dev/dspN,
    // /dev/audioN and /dev/mixerN, N counting from 0 in the order given.
    let mut cards: Vec<(String, Arc<Engine>, Box<dyn std::any::Any>)> = Vec::new();
    let mut card_controls: Vec<Option<Arc<dyn HwControls>>> = Vec::new();
    for device in &devices {
        let volume = hw_volume.as_deref().filter(|_| crate::usb_cmd::is_usb_spec(device) || devices.len() == 1);
        match open_streams(device, bind, &options, rate, period, periods, &name, volume) {
            Ok(Streams { name: dev_name, playback, capture, keep, hw }) => {
                let engine =
                    Arc::new(Engine::start_with(Some(playback), capture).map_err(|e| format!("{dev_name}: {e}"))?);
                cards.push((dev_name, engine, keep));
                card_controls.push(hw);
            }
            Err(e) if discovered => log::warn!("{device}: {e}; not served"),
            Err(e) => return Err(if devices.len() > 1 { format!("{device}: {e}") } else { e }),
        }
    }
    if cards.is_empty() {
        return Err("none of the devices found could be opened (see above)".into());
    }
    let audio = if name == "dsp" { "audio".to_string() } else { format!("audio-{name}") };
    let mixer_name = if name == "dsp" { "mixer".to_string() } else { format!("mixer-{name}") };
    let mut handlers = Vec::new();
    let mut nodes: Vec<(String, Arc<dyn Handler>)> = Vec::new();
    let mut node_sets: Vec<(Vec<String>, usize)> = Vec::new();
    let numbered = cards.len() > 1;
    let mut sets = Vec::new();
    for i in 0..cards.len() {
        if i == 0 {
            sets.push((i, name.clone(), audio.clone(), mixer_name.clone()));
        }
        if numbered {
            sets.push((i, format!("{name}{i}"), format!("{audio}{i}"), format!("{mixer_name}{i}")));
        }
    }
    // What the OSS 4 info ioctls (SYSINFO, AUDIOINFO, ...) report: every
    // card and node, numbered in the order the handlers are made below.
    let audio_paths: Vec<(usize, String)> =
        sets.iter().flat_map(|(i, d, a, _)| [(*i, format!("/dev/{d}")), (*i, format!("/dev/{a}"))]).collect();
    let mixer_paths: Vec<(usize, String)> = sets.iter().map(|(i, _, _, m)| (*i, format!("/dev/{m}"))).collect();
    let system = Arc::new(OssSystem::new(
        cards.iter().map(|(n, e, _)| Card { name: n.clone(), engine: e.clone() }).collect(),
        &audio_paths.iter().map(|(i, p)| (*i, p.as_str())).collect::<Vec<_>>(),
        &mixer_paths.iter().map(|(i, p)| (*i, p.as_str())).collect::<Vec<_>>(),
    )?);
    for (set, (i, dsp_node, audio_node, mixer_node)) in sets.into_iter().enumerate() {
        for (k, (node, defaults)) in
            [(dsp_node.clone(), DSP_DEFAULTS), (audio_node.clone(), AUDIO_DEFAULTS)].into_iter().enumerate()
        {
            let handler = Arc::new(Dsp::on(system.clone(), 2 * set + k, defaults)?);
            handlers.push(handler.clone());
            nodes.push((node, handler));
        }
        let mixer = Mixer::on(system.clone(), set)?;
        let mixer = match card_controls.get(i).cloned().flatten() {
            Some(hw) => mixer.with_hw(hw),
            None => mixer,
        };
        nodes.push((mixer_node.clone(), Arc::new(mixer)));
        node_sets.push((vec![dsp_node, audio_node, mixer_node], i));
    }
    if name == "dsp" {
        let lines: Vec<String> = cards
            .iter()
            .enumerate()
            .map(|(i, (dev_name, _, _))| format!("{i}: Outboard {dev_name} ({rate} Hz, 16-bit stereo)"))
            .collect();
        nodes.push(("sndstat".to_string(), Arc::new(SndStat::new(&lines))));
    }
    let mut servers = Vec::new();
    for (node, handler) in &nodes {
        let server = Server::create(&DeviceInfo { name: node.clone(), major: 0, minor: 0 }, handler.clone())
            .map_err(|e| format!("creating /dev/{node}: {e}"))?;
        let label = node.clone();
        let thread = std::thread::Builder::new()
            .name(format!("cuse {node}"))
            .spawn(move || {
                let r = server.run(&STOP);
                drop(server); // the node goes away with /dev/cuse's descriptor
                r.map_err(|e| format!("/dev/{label}: {e}"))
            })
            .map_err(|e| e.to_string())?;
        servers.push(thread);
    }
    for (node, _) in &nodes {
        set_owner(&PathBuf::from(format!("/dev/{node}")), &group, mode);
    }
    let _ = std::fs::remove_file(&control); // a stale socket from a killed daemon
    let listener = UnixListener::bind(&control).map_err(|e| format!("{}: {e}", control.display()))?;
    let control_thread = std::thread::spawn(move || control_loop(listener, handlers));
    for (set, i) in &node_sets {
        let (dev_name, engine, _) = &cards[*i];
        let mut names: Vec<String> = set.iter().map(|n| format!("/dev/{n}")).collect();
        if *i == 0 && set[0] == name && name == "dsp" {
            names.push("/dev/sndstat".into());
        }
        println!(
            "serving {} on {dev_name} ({rate} Hz, 16-bit stereo, {period}-frame periods{})",
            names.join(" and "),
            if engine.capture_config().is_some() { ", playback and capture" } else { ", playback" }
        );
    }
    while !STOP.load(Ordering::SeqCst) && servers.iter().all(|t| !t.is_finished()) {
        std::thread::sleep(Duration::from_millis(100));
    }
    STOP.store(true, Ordering::SeqCst);
    // Interrupt each server's blocking read on /dev/cuse.
    for t in &servers {
        // SAFETY: the thread is still joinable (not joined yet), so its
        // pthread_t is valid; SIGTERM's handler only sets STOP.
        unsafe { libc::pthread_kill(t.as_pthread_t(), libc::SIGTERM) };
    }
    let _ = control_thread.join();
    let _ = std::fs::remove_file(&control);
    let mut result = Ok(());
    for t in servers {
        match t.join() {
            Ok(Err(e)) => result = Err(e),
            Err(_) => result = Err("a CUSE server thread panicked".to_string()),
            Ok(Ok(())) => {}
        }
    }
    for (dev_name, engine, _) in &cards {
        let stats = engine.stats();
        println!(
            "engine{}: {} periods, {} late wakeups (worst {:.1} ms late), {} device errors",
            if cards.len() > 1 { format!(" {dev_name}") } else { String::new() },
            stats.periods.load(Ordering::Relaxed),
            stats.late_wakeups.load(Ordering::Relaxed),
            stats.worst_lateness_us.load(Ordering::Relaxed) as f64 / 1000.0,
            stats.device_errors.load(Ordering::Relaxed)
        );
    }
    let removed = nodes.iter().map(|(n, _)| format!("/dev/{n}")).collect::<Vec<_>>().join(" and ");
    // The handlers hold the engine, and the engine the device's streams and
    // their register mappings: all must go before the device, or VFIO cannot
    // release the device's group.
    drop(nodes);
    drop(card_controls); // they hold the devices too
    drop(system);
    let mut quiet = Vec::new();
    for (dev_name, engine, dev) in cards {
        match Arc::try_unwrap(engine) {
            Ok(engine) => drop(engine.stop()),
            Err(_) => log::warn!("{dev_name}: the engine is still shared at shutdown; it stops with the process"),
        }
        drop(dev); // streams stopped, controller in reset / interfaces at alt 0: quiet
        quiet.push(dev_name);
    }
    println!("stopped: {removed} removed, {} left quiet", quiet.join(" and "));
    result
}
