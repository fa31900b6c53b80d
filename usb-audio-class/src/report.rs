//! The parsed model as text, the way `lsusb -v` shows a device, plus what
//! the driver will use of it (`outboard info`).

use std::fmt::Write;

use outboard_hal::pcm::Direction;
use outboard_hal::usb::Speed;

use crate::controls::VolumeRange;
use crate::device::{rates_text, UacDevice};
use crate::model::{feature, AltSetting, DeviceModel, EntityKind, IsoEndpoint, SyncType, UacVersion};

fn sync_name(s: SyncType) -> &'static str {
    match s {
        SyncType::None => "no sync",
        SyncType::Async => "asynchronous",
        SyncType::Adaptive => "adaptive",
        SyncType::Sync => "synchronous",
    }
}

fn endpoint_text(ep: &IsoEndpoint, speed: Speed) -> String {
    let unit_us = if matches!(speed, Speed::High | Speed::Super | Speed::SuperPlus) { 125 } else { 1000 };
    let every = unit_us << u32::from(ep.interval.clamp(1, 16) - 1);
    let usage = match ep.usage {
        1 => ", feedback",
        2 => ", implicit feedback data",
        _ => "",
    };
    format!(
        "endpoint {:#04x} iso {} {}{usage}, {} bytes every {} us",
        ep.address,
        if ep.address & 0x80 != 0 { "IN" } else { "OUT" },
        sync_name(ep.sync),
        ep.max_bytes,
        every
    )
}

fn controls_text(mask: u32) -> String {
    let names: Vec<&str> = (0..16u8).filter(|c| mask & (1 << c) != 0).map(feature::name).collect();
    if names.is_empty() {
        "-".into()
    } else {
        names.join("+")
    }
}

/// The entity graph and streaming interfaces of a model.
pub fn describe_model(model: &DeviceModel) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "USB audio function {} ({:?} speed, UAC{}), configuration {}, control interface {}",
        model.id,
        model.speed,
        if model.version == UacVersion::V2 { 2 } else { 1 },
        model.configuration,
        model.control_interface
    );
    for e in &model.entities {
        let src = |v: &[u8]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",");
        let detail = match &e.kind {
            EntityKind::InputTerminal { terminal_type, channels, clock } => format!(
                "{} ({:#06x}), {channels} channels{}",
                terminal_type.name(),
                terminal_type.0,
                clock.map(|c| format!(", clock {c}")).unwrap_or_default()
            ),
            EntityKind::OutputTerminal { terminal_type, source, clock } => format!(
                "{} ({:#06x}) <- {source}{}",
                terminal_type.name(),
                terminal_type.0,
                clock.map(|c| format!(", clock {c}")).unwrap_or_default()
            ),
            EntityKind::MixerUnit { sources, channels } => format!("<- {}, {channels} channels", src(sources)),
            EntityKind::SelectorUnit { sources } => format!("<- {}", src(sources)),
            EntityKind::FeatureUnit { source, controls, .. } => format!(
                "<- {source}: {}",
                controls
                    .iter()
                    .enumerate()
                    .map(|(ch, m)| format!(
                        "{} {}",
                        if ch == 0 { "master".to_string() } else { format!("ch{ch}") },
                        controls_text(*m)
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            EntityKind::OtherUnit { subtype, sources } => format!("subtype {subtype:#04x} <- {}", src(sources)),
            EntityKind::ClockSource { attributes, frequency_writable, .. } => format!(
                "{}{}",
                ["external", "internal fixed", "internal variable", "internal programmable"]
                    [usize::from(attributes & 3)],
                if *frequency_writable { ", rate settable" } else { "" }
            ),
            EntityKind::ClockSelector { sources, .. } => format!("<- {}", src(sources)),
            EntityKind::ClockMultiplier { source } => format!("<- {source}"),
        };
        let _ = writeln!(s, "  {} {}: {detail}", e.kind_name(), e.id);
    }
    for st in &model.streams {
        let dir = if st.direction == Direction::Playback { "playback" } else { "capture" };
        let _ = writeln!(s, "{dir} interface {}", st.interface);
        for a in &st.alts {
            let _ = writeln!(s, "  alt {}: {}", a.alt, alt_text(a, model.speed));
        }
    }
    for note in &model.skipped {
        let _ = writeln!(s, "skipped: {note}");
    }
    s
}

fn alt_text(a: &AltSetting, speed: Speed) -> String {
    let mut t = format!(
        "{:?}, {} ch, {} of {} bits, {}, terminal {}, {}",
        a.format,
        a.channels,
        a.bits,
        a.subslot_bytes * 8,
        rates_text(&a.rates),
        a.terminal,
        endpoint_text(&a.endpoint, speed)
    );
    if let Some(fb) = &a.feedback {
        let _ = write!(t, "; feedback {}", endpoint_text(fb, speed));
    }
    if a.format_type == 3 {
        t.push_str(" (type III, IEC61937: not used)");
    }
    t
}

/// The model plus what the driver will use: the alt setting it picks at
/// 48 kHz (else the first rate) per direction, and its volume controls.
pub fn describe(dev: &UacDevice) -> String {
    let model = dev.model();
    let mut s = describe_model(model);
    let _ = writeln!(s, "quirks: {}", dev.quirks());
    for direction in [Direction::Playback, Direction::Capture] {
        let dir = if direction == Direction::Playback { "playback" } else { "capture" };
        let Some(first) = model.streams(direction).flat_map(|st| st.alts.iter()).next() else { continue };
        let rate = preferred_rate(first);
        match dev.choose_alt(direction, rate, None, None) {
            Ok(a) => {
                let _ = writeln!(
                    s,
                    "driver {dir}: interface {} alt {} at {rate} Hz, {:?} {} ch, {} sync{}",
                    a.interface,
                    a.alt,
                    a.format,
                    a.channels,
                    sync_name(a.endpoint.sync),
                    if a.feedback.is_some() { ", following the feedback endpoint" } else { "" }
                );
            }
            Err(e) => {
                let _ = writeln!(s, "driver {dir}: {e}");
            }
        }
        for fc in dev.feature_controls(direction) {
            let range = fc
                .range
                .map(|r: VolumeRange| {
                    format!(
                        "{:.2} to {:.2} dB in {:.4} dB steps",
                        VolumeRange::db(r.min),
                        VolumeRange::db(r.max),
                        VolumeRange::db(r.res)
                    )
                })
                .unwrap_or_else(|| "range unknown".into());
            let _ = writeln!(
                s,
                "driver {dir} volume: feature unit {} (volume on channels {:?}, mute on {:?}), {range}",
                fc.unit, fc.volume_channels, fc.mute_channels
            );
        }
    }
    s
}

/// A device and what the driver uses of it, for serialising
/// (`outboard info --json`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct DeviceReport {
    pub name: String,
    /// vvvv:pppp.
    pub id: String,
    pub speed: String,
    pub uac_version: u8,
    pub quirks: String,
    pub streams: Vec<AltReport>,
    /// What the driver picks per direction at 48 kHz (else the first rate).
    pub driver: Vec<DriverChoice>,
    pub volume_controls: Vec<VolumeReport>,
    /// Descriptors the parser skipped, and why.
    pub skipped: Vec<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct AltReport {
    pub direction: &'static str,
    pub interface: u8,
    pub alt: u8,
    pub format: String,
    pub bits: u8,
    pub channels: u16,
    pub rates: String,
    pub endpoint: u8,
    pub sync: &'static str,
    pub feedback_endpoint: Option<u8>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct DriverChoice {
    pub direction: &'static str,
    pub rate: u32,
    /// `interface alt` chosen, or why none.
    pub interface: Option<u8>,
    pub alt: Option<u8>,
    pub error: Option<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct VolumeReport {
    pub direction: &'static str,
    pub unit: u8,
    pub volume_channels: Vec<u8>,
    pub mute_channels: Vec<u8>,
    pub min_db: Option<f64>,
    pub max_db: Option<f64>,
    pub step_db: Option<f64>,
}

fn dir_name(d: Direction) -> &'static str {
    if d == Direction::Playback {
        "playback"
    } else {
        "capture"
    }
}

impl DeviceReport {
    pub fn new(dev: &UacDevice) -> DeviceReport {
        let model = dev.model();
        let streams = model
            .streams
            .iter()
            .flat_map(|s| s.alts.iter())
            .map(|a| AltReport {
                direction: dir_name(a.direction()),
                interface: a.interface,
                alt: a.alt,
                format: format!("{:?}", a.format),
                bits: a.bits,
                channels: a.channels,
                rates: rates_text(&a.rates),
                endpoint: a.endpoint.address,
                sync: sync_name(a.endpoint.sync),
                feedback_endpoint: a.feedback.as_ref().map(|f| f.address),
            })
            .collect();
        let mut driver = Vec::new();
        let mut volume_controls = Vec::new();
        for direction in [Direction::Playback, Direction::Capture] {
            let Some(first) = model.streams(direction).flat_map(|st| st.alts.iter()).next() else { continue };
            let rate = preferred_rate(first);
            let (interface, alt, error) = match dev.choose_alt(direction, rate, None, None) {
                Ok(a) => (Some(a.interface), Some(a.alt), None),
                Err(e) => (None, None, Some(e.to_string())),
            };
            driver.push(DriverChoice { direction: dir_name(direction), rate, interface, alt, error });
            for fc in dev.feature_controls(direction) {
                volume_controls.push(VolumeReport {
                    direction: dir_name(direction),
                    unit: fc.unit,
                    volume_channels: fc.volume_channels.clone(),
                    mute_channels: fc.mute_channels.clone(),
                    min_db: fc.range.map(|r| VolumeRange::db(r.min)),
                    max_db: fc.range.map(|r| VolumeRange::db(r.max)),
                    step_db: fc.range.map(|r| VolumeRange::db(r.res)),
                });
            }
        }
        DeviceReport {
            name: dev.name().to_string(),
            id: model.id.to_string(),
            speed: format!("{:?}", model.speed),
            uac_version: if model.version == UacVersion::V2 { 2 } else { 1 },
            quirks: dev.quirks().to_string(),
            streams,
            driver,
            volume_controls,
            skipped: model.skipped.clone(),
        }
    }
}

/// 48 kHz if the alt setting offers it, else its first rate.
fn preferred_rate(first: &AltSetting) -> u32 {
    if first.rates.contains(48_000) {
        return 48_000;
    }
    match &first.rates {
        crate::model::Rates::Discrete(v) if !v.is_empty() => v[0],
        crate::model::Rates::Continuous { min, .. } => *min,
        _ => 48_000,
    }
}
