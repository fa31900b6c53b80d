//! `outboard serve`: the daemon. Opens each device and runs a mixer engine on
//! its streams, serves the OSS nodes through CUSE until SIGTERM or SIGINT,
//! then removes the nodes and leaves the devices quiet.
//!
//! The steps, each in its own function: settings ([`crate::config`]), the
//! devices and their engines ([`open_cards`]), which nodes each gets
//! ([`nodes::plan`]), the node handlers ([`handlers`]), the CUSE servers
//! ([`start_servers`]), the control socket ([`control`]), and the stop in
//! order ([`shut_down`]).

mod control;
mod nodes;
mod notify;
mod privilege;

use std::os::unix::thread::JoinHandleExt;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use outboard_alsa::control::Control;
use outboard_alsa::pcm::Pcm;
use outboard_cuse::{DeviceInfo, Handler, Server};
use outboard_mixer::engine::Engine;
use outboard_mixer::limits::Limits;
use outboard_oss::dsp::{Dsp, AUDIO_DEFAULTS, DSP_DEFAULTS};
use outboard_oss::hw::{HwControls, Watched};
use outboard_oss::info::{Card, OssSystem};
use outboard_oss::mixer::Mixer;
use outboard_oss::sndstat::SndStat;

use crate::config::{DeviceSettings, ServeSettings};
use crate::devices::{discover, open_streams, Streams};
use crate::signals::{self, STOP};

pub use control::clients;

/// A node to create, and what answers it.
type Node = (String, Arc<dyn Handler>);

/// A device being served: its engine, its controls, and what keeps it open
/// (dropped last).
struct ServedCard {
    name: String,
    settings: DeviceSettings,
    engine: Arc<Engine>,
    controls: Option<Arc<dyn HwControls>>,
    keep: Box<dyn std::any::Any>,
}

/// Open every device and start its engine. Devices that were found (not
/// named) and fail to open are skipped with a warning.
fn open_cards(settings: &ServeSettings) -> Result<Vec<ServedCard>, String> {
    let discovered = settings.devices.is_empty();
    let devices: Vec<DeviceSettings> = if discovered {
        let found = discover()?;
        log::info!("serving the devices found: {}", found.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "));
        found
            .into_iter()
            .map(|spec| DeviceSettings { label: spec.to_string(), spec, ..settings.defaults.clone() })
            .collect()
    } else {
        settings.devices.clone()
    };
    let several = devices.len() > 1;
    let mut cards = Vec::new();
    for d in devices {
        // With several devices, a hardware volume given for all applies to
        // the USB ones (HDA amps are the driver's).
        let volume = d.hw_volume.filter(|_| d.spec.is_usb() || !several);
        match open_streams(&d.spec, &d.hda, d.shape, volume) {
            Ok(Streams { name, playback, capture, keep, hw }) => {
                let engine = Arc::new(Engine::start_with(Some(playback), capture).map_err(|e| format!("{name}: {e}"))?);
                engine.suspend_when_idle(
                    (settings.idle_stop > 0).then(|| Duration::from_secs(settings.idle_stop.into())),
                );
                // /dev/mixer and the ALSA control node share the controls,
                // each told of what the other changed.
                let controls = hw.map(|h| Arc::new(Watched::new(h)) as Arc<dyn HwControls>);
                cards.push(ServedCard { name, settings: d, engine, controls, keep });
            }
            Err(e) if discovered => log::warn!("{}: {e}; not served", d.spec),
            Err(e) => return Err(if several { format!("{}: {e}", d.label) } else { e }),
        }
    }
    if cards.is_empty() {
        return Err("none of the devices found could be opened (see above)".into());
    }
    Ok(cards)
}

/// How often the devices' own events (jacks) are serviced.
const EVENT_POLL: Duration = Duration::from_millis(100);

/// Service each device's own events (a jack plugged in or pulled out: the
/// driver's speaker auto-mute, and an event on the ALSA control node) until
/// the daemon stops. Only devices with a jack they can sense are watched;
/// with none, no thread.
fn watch_devices(cards: &[ServedCard]) -> Option<JoinHandle<()>> {
    let watched: Vec<(String, Arc<dyn HwControls>)> = cards
        .iter()
        .filter_map(|c| c.controls.clone().map(|h| (c.name.clone(), h)))
        .filter(|(_, h)| h.jacks().iter().any(|j| !j.phantom))
        .collect();
    if watched.is_empty() {
        return None;
    }
    let spawned = std::thread::Builder::new().name("outboard-events".into()).spawn(move || {
        let mut failing = vec![false; watched.len()];
        while !STOP.load(Ordering::SeqCst) {
            for ((name, hw), failing) in watched.iter().zip(failing.iter_mut()) {
                match hw.poll_events() {
                    Ok(_) => *failing = false,
                    Err(e) if !*failing => {
                        log::warn!("{name}: servicing jack events: {e}");
                        *failing = true;
                    }
                    Err(_) => {}
                }
            }
            std::thread::sleep(EVENT_POLL);
        }
    });
    match spawned {
        Ok(t) => Some(t),
        Err(e) => {
            log::warn!("cannot start the device event thread ({e}): jacks are not followed");
            None
        }
    }
}

/// The CUSE handlers of every planned node, and the DSP handlers among them
/// (for the client listing).
#[allow(clippy::type_complexity)]
fn handlers(
    cards: &[&ServedCard],
    plan: &nodes::Plan,
) -> Result<(Arc<OssSystem>, Vec<(String, Arc<dyn Handler>)>, Vec<Arc<Dsp>>), String> {
    // What the OSS 4 info ioctls (SYSINFO, AUDIOINFO, ...) report: every
    // card and node, numbered in the order the handlers are made below.
    let audio_paths = plan.audio_paths();
    let mixer_paths = plan.mixer_paths();
    let system = Arc::new(OssSystem::new(
        cards.iter().map(|c| Card { name: c.name.clone(), engine: c.engine.clone() }).collect(),
        &audio_paths.iter().map(|(i, p)| (*i, p.as_str())).collect::<Vec<_>>(),
        &mixer_paths.iter().map(|(i, p)| (*i, p.as_str())).collect::<Vec<_>>(),
    )?);
    let mut nodes: Vec<(String, Arc<dyn Handler>)> = Vec::new();
    let mut dsps = Vec::new();
    for (set_index, set) in plan.sets.iter().enumerate() {
        for (k, (node, defaults)) in [(&set.dsp, DSP_DEFAULTS), (&set.audio, AUDIO_DEFAULTS)].into_iter().enumerate() {
            let handler = Arc::new(Dsp::on(system.clone(), 2 * set_index + k, defaults)?);
            dsps.push(handler.clone());
            nodes.push((node.clone(), handler));
        }
        let mixer = Mixer::on(system.clone(), set_index)?;
        let mixer = match cards[set.card].controls.clone() {
            Some(hw) => mixer.with_hw(hw),
            None => mixer,
        };
        nodes.push((set.mixer.clone(), Arc::new(mixer)));
    }
    if plan.sndstat {
        let lines: Vec<String> = cards
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{i}: Outboard {} ({} Hz, 16-bit stereo)", c.name, c.settings.shape.rate))
            .collect();
        nodes.push(("sndstat".to_string(), Arc::new(SndStat::new(&lines))));
    }
    Ok((system, nodes, dsps))
}

/// The ALSA card numbers: pinned ones, then for the others the lowest that
/// no kernel sound driver and no other card here has.
fn card_numbers(cards: &[&ServedCard]) -> Vec<u32> {
    let taken_by_kernel = |n: u32| {
        Path::new(&format!("/dev/snd/controlC{n}")).exists() || Path::new(&format!("/proc/asound/card{n}")).exists()
    };
    let pinned: Vec<u32> = cards.iter().filter_map(|c| c.settings.card).collect();
    let mut free = (0u32..32).filter(|n| !pinned.contains(n) && !taken_by_kernel(*n));
    cards.iter().map(|c| c.settings.card.unwrap_or_else(|| free.next().unwrap_or(31))).collect()
}

/// The ALSA nodes of the cards that serve them: each card's control node
/// and its PCM device 0 in the directions it has. Returns the nodes and a
/// line per card for the log.
fn alsa_handlers(cards: &[&ServedCard]) -> (Vec<Node>, Vec<Arc<Pcm>>, Vec<String>) {
    let mut nodes: Vec<Node> = Vec::new();
    let mut pcms = Vec::new();
    let mut lines = Vec::new();
    for (c, n) in cards.iter().zip(card_numbers(cards)) {
        // A config table's name is the card's id; otherwise Outboard, Outboard1...
        let named = c.settings.label != c.settings.spec.to_string();
        let id = match (named, n) {
            (true, _) => outboard_alsa::card::card_id(&c.settings.label),
            (false, 0) => "Outboard".to_string(),
            (false, n) => format!("Outboard{n}"),
        };
        let card = outboard_alsa::card::Card {
            number: n,
            id,
            name: c.name.clone(),
            engine: c.engine.clone(),
            hw: c.controls.clone(),
        };
        let mut names = vec![format!("snd/controlC{n}")];
        let control = Arc::new(Control::new(card.clone()));
        nodes.push((names[0].clone(), control.clone()));
        for (capture, suffix, present) in [(false, "p", card.has_playback()), (true, "c", card.has_capture())] {
            if present {
                let node = format!("snd/pcmC{n}D0{suffix}");
                let pcm = Pcm::new(card.clone(), capture, &format!("/dev/{node}"));
                control.serve_pcm(&pcm, capture);
                pcms.push(pcm.clone());
                nodes.push((node.clone(), pcm));
                names.push(node);
            }
        }
        let paths: Vec<String> = names.iter().map(|n| format!("/dev/{n}")).collect();
        lines.push(format!("serving {} (ALSA card {n}, hw:{n} or hw:{}) on {}", paths.join(" and "), card.id, c.name));
    }
    (nodes, pcms, lines)
}

/// Create each node and serve it on its own thread until STOP.
fn start_servers(nodes: &[(String, Arc<dyn Handler>)]) -> Result<Vec<JoinHandle<Result<(), String>>>, String> {
    let mut servers = Vec::new();
    for (node, handler) in nodes {
        let server = Server::create(&DeviceInfo { name: node.clone(), major: 0, minor: 0 }, handler.clone())
            .map_err(|e| format!("creating /dev/{node}: {e}"))?;
        let label = node.clone();
        let thread = std::thread::Builder::new()
            .name(format!("cuse {node}"))
            .spawn(move || {
                let r = server.run(&STOP);
                drop(server); // the node goes away with /dev/cuse's descriptor
                crate::signals::wake(); // the main loop sees a server ended
                r.map_err(|e| format!("/dev/{label}: {e}"))
            })
            .map_err(|e| e.to_string())?;
        servers.push(thread);
    }
    Ok(servers)
}

/// The gid of `group` from /etc/group.
fn group_id(group: &str) -> Option<u32> {
    std::fs::read_to_string("/etc/group").ok()?.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next() == Some(group)).then(|| f.nth(1).and_then(|g| g.parse().ok())).flatten()
    })
}

/// Give a new node its owner root:`group` and `mode` (as the udev rules in
/// packaging/ do, for machines without udev), once devtmpfs has created it.
fn set_owner(path: &Path, group: &str, mode: u32) -> Result<(), String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !path.exists() {
        if std::time::Instant::now() >= deadline {
            return Err(format!("{} did not appear within 5 s", path.display()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if !privilege::is_root() {
        log::warn!("{}: not root, so the node keeps the owner and mode the kernel gave it", path.display());
        return Ok(());
    }
    let gid = group_id(group);
    if gid.is_none() {
        log::warn!("{}: no group `{group}`; leaving the node's group as it is", path.display());
    }
    std::os::unix::fs::chown(path, Some(0), gid).map_err(|e| format!("{}: chown: {e}", path.display()))?;
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode))
        .map_err(|e| format!("{}: chmod: {e}", path.display()))
}

/// Stop in order: the servers (their nodes go), the handlers, then each
/// engine and its device, so the device's mappings are gone before VFIO
/// releases its group.
fn shut_down(
    servers: Vec<JoinHandle<Result<(), String>>>,
    nodes: Vec<(String, Arc<dyn Handler>)>,
    system: Option<Arc<OssSystem>>,
    cards: Vec<ServedCard>,
) -> Result<(), String> {
    STOP.store(true, Ordering::SeqCst);
    // Interrupt each server's blocking read on /dev/cuse.
    for t in &servers {
        // SAFETY: the thread is still joinable (not joined yet), so its
        // pthread_t is valid; SIGTERM's handler only sets STOP.
        unsafe { libc::pthread_kill(t.as_pthread_t(), libc::SIGTERM) };
    }
    let mut result = Ok(());
    for t in servers {
        match t.join() {
            Ok(Err(e)) => result = Err(e),
            Err(_) => result = Err("a CUSE server thread panicked".to_string()),
            Ok(Ok(())) => {}
        }
    }
    for c in &cards {
        let name = if cards.len() > 1 { format!(" {}", c.name) } else { String::new() };
        println!("engine{name}: {}", c.engine.stats());
    }
    let removed = nodes.iter().map(|(n, _)| format!("/dev/{n}")).collect::<Vec<_>>().join(" and ");
    // What the engines already gave a device plays out before it stops: a
    // client that closed just before the stop (its close waits only until
    // the engine took its last sample) is heard to its end.
    let ring = cards
        .iter()
        .filter_map(|c| c.engine.playback_config())
        .map(|cfg| cfg.period_time() * (cfg.periods as u32 + 1))
        .max()
        .unwrap_or_default();
    std::thread::sleep(ring.min(Duration::from_secs(2)));
    // The handlers hold the engines, and the engines the devices' streams
    // and their register mappings: all must go before the devices.
    drop(nodes);
    drop(system);
    let mut quiet = Vec::new();
    for ServedCard { name, engine, controls, keep, .. } in cards {
        drop(controls); // they hold the device too
        match Arc::try_unwrap(engine) {
            Ok(engine) => drop(engine.stop()),
            Err(_) => log::warn!("{name}: the engine is still shared at shutdown; it stops with the process"),
        }
        drop(keep); // streams stopped, controller in reset / interfaces at alt 0: quiet
        quiet.push(name);
    }
    println!("stopped: {removed} removed, {} left quiet", quiet.join(" and "));
    result
}

/// `outboard serve [DEVICE...] [--config FILE] [options]`, with the settings
/// its command line and config file give.
pub fn run(settings: ServeSettings) -> Result<(), String> {
    // Before any thread: the account to become, and the helper that keeps
    // root to read callers' descriptor flags in /proc (forked now).
    let account = privilege::resolve(settings.user.as_deref())?;
    let helper =
        if account.uid != 0 && privilege::is_root() { Some(privilege::Helper::spawn(&account)?) } else { None };
    notify::connect();
    signals::catch()?;
    let cards = open_cards(&settings)?;
    // The OSS nodes are for the devices that serve them; the plan numbers
    // those devices from 0.
    let oss: Vec<&ServedCard> = cards.iter().filter(|c| c.settings.oss).collect();
    let alsa: Vec<&ServedCard> = cards.iter().filter(|c| c.settings.alsa).collect();
    if oss.is_empty() && alsa.is_empty() {
        return Err("no node to serve: every device has `oss = false` and `alsa = false`".into());
    }
    let wishes: Vec<nodes::Wish> =
        oss.iter().map(|c| nodes::Wish { number: c.settings.number, node: c.settings.node.clone() }).collect();
    let plan = nodes::plan(&settings.node, &wishes);
    let (system, mut nodes, dsps) = if oss.is_empty() {
        (None, Vec::new(), Vec::new())
    } else {
        let (s, n, d) = handlers(&oss, &plan)?;
        (Some(s), n, d)
    };
    let (alsa_nodes, pcms, alsa_lines) = alsa_handlers(&alsa);
    nodes.extend(alsa_nodes);
    // One set of client limits for every audio node, OSS and ALSA alike.
    let limits = Limits::new(settings.max_clients, settings.max_clients_per_user);
    dsps.iter().for_each(|d| d.set_limits(limits.clone()));
    pcms.iter().for_each(|p| p.set_limits(limits.clone()));
    if let Some(h) = &helper {
        let h = h.clone();
        let probe: outboard_alsa::pcm::NonblockProbe = Arc::new(move |pid, node| h.nonblocking(pid, node));
        pcms.iter().for_each(|p| p.set_nonblock_probe(probe.clone()));
    }
    let sources: Vec<control::Source> =
        dsps.into_iter().map(control::Source::Oss).chain(pcms.into_iter().map(control::Source::Alsa)).collect();
    let servers = start_servers(&nodes)?;
    // Each node's owner and mode are set now or never: once the daemon has
    // given up root it cannot, so a node it cannot set up is an error, not
    // a node left root-only.
    let owned: Result<(), String> =
        nodes.iter().try_for_each(|(node, _)| set_owner(&Path::new("/dev").join(node), &settings.group, settings.mode));
    let _ = std::fs::remove_file(&settings.control); // a stale socket from a killed daemon
    let listener = owned.and_then(|()| {
        let listener = std::os::unix::net::UnixListener::bind(&settings.control)
            .map_err(|e| format!("{}: {e}", settings.control.display()))?;
        // Who may list the clients is who may use the nodes (connecting
        // takes write permission on the socket), not whatever the umask left.
        set_owner(&settings.control, &settings.group, settings.mode & 0o660)?;
        Ok(listener)
    });
    let listener = match listener {
        Ok(l) => l,
        Err(e) => {
            log::error!("{e}");
            drop((oss, alsa));
            return shut_down(servers, nodes, system, cards).and(Err(format!("not serving: {e}")));
        }
    };
    // Every device, /dev/cuse and node owner is set: from here on the
    // daemon needs only the descriptors it holds.
    match privilege::drop_privileges(&account) {
        Ok(d) => println!(
            "running as {} (uid {}, gid {}){}, no_new_privs, {}",
            d.user,
            d.uid,
            d.gid,
            if d.uid == 0 { "" } else { ", no capabilities" },
            if d.seccomp { "seccomp filter on" } else { "no seccomp filter" }
        ),
        Err(e) => {
            log::error!("{e}");
            drop((oss, alsa, listener));
            return shut_down(servers, nodes, system, cards).and(Err(format!("not serving: {e}")));
        }
    }
    let control_thread = std::thread::spawn(move || control::serve(listener, sources));
    for line in &alsa_lines {
        println!("{line}");
    }
    for set in plan.sets.iter().filter(|_| !oss.is_empty()) {
        let card = oss[set.card];
        let mut names = vec![format!("/dev/{}", set.dsp), format!("/dev/{}", set.audio), format!("/dev/{}", set.mixer)];
        if set.default && plan.sndstat {
            names.push("/dev/sndstat".into());
        }
        let shape = card.settings.shape;
        println!(
            "serving {} on {} ({} Hz, 16-bit stereo, {}-frame periods{})",
            names.join(" and "),
            card.name,
            shape.rate,
            shape.period,
            if card.engine.capture_config().is_some() { ", playback and capture" } else { ", playback" }
        );
    }
    let events = watch_devices(&cards);
    notify::notify("READY=1");
    while !signals::stopping() && servers.iter().all(|t| !t.is_finished()) {
        // Woken by a stop or a server thread that ended; no idle wakeups.
        signals::wait(None, Duration::from_secs(60));
    }
    notify::notify("STOPPING=1");
    STOP.store(true, Ordering::SeqCst);
    let _ = control_thread.join();
    if let Some(t) = events {
        let _ = t.join();
    }
    let _ = std::fs::remove_file(&settings.control);
    drop((oss, alsa));
    shut_down(servers, nodes, system, cards)
}
