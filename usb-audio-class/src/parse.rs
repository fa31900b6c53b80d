//! UAC1 and UAC2 class-specific descriptors into a [`DeviceModel`].
//!
//! Every field is read through bounds-checked accessors: a descriptor too
//! short for what its subtype says is skipped with a warning, and so is an
//! alternate setting whose format the driver cannot name. Nothing is trusted
//! past a bad length (the hal's walker already stops there).

use outboard_hal::pcm::SampleFormat;
use outboard_hal::usb::descriptors::{self, kind, Configuration, Endpoint, InterfaceAlt};
use outboard_hal::usb::{Speed, UsbId};

use crate::model::{
    AltSetting, DeviceModel, Entity, EntityKind, IsoEndpoint, Rates, StreamingInterface, SyncType, TerminalType,
    UacVersion,
};
use crate::quirks::Quirks;
use crate::{Error, Result};

/// bInterfaceClass of audio interfaces.
pub const CLASS_AUDIO: u8 = 1;
/// bInterfaceSubClass values.
pub const SUBCLASS_CONTROL: u8 = 1;
pub const SUBCLASS_STREAMING: u8 = 2;
pub const SUBCLASS_MIDI: u8 = 3;
/// bInterfaceProtocol of a UAC2 function (IP_VERSION_02_00).
pub const PROTOCOL_UAC2: u8 = 0x20;
/// And of UAC3, which this driver does not speak.
pub const PROTOCOL_UAC3: u8 = 0x30;

/// AudioControl descriptor subtypes.
mod ac {
    pub const HEADER: u8 = 0x01;
    pub const INPUT_TERMINAL: u8 = 0x02;
    pub const OUTPUT_TERMINAL: u8 = 0x03;
    pub const MIXER_UNIT: u8 = 0x04;
    pub const SELECTOR_UNIT: u8 = 0x05;
    pub const FEATURE_UNIT: u8 = 0x06;
    /// UAC1 processing unit; UAC2 effect unit.
    pub const PROCESSING_OR_EFFECT: u8 = 0x07;
    /// UAC1 extension unit; UAC2 processing unit.
    pub const EXTENSION_OR_PROCESSING: u8 = 0x08;
    pub const V2_EXTENSION_UNIT: u8 = 0x09;
    pub const V2_CLOCK_SOURCE: u8 = 0x0a;
    pub const V2_CLOCK_SELECTOR: u8 = 0x0b;
    pub const V2_CLOCK_MULTIPLIER: u8 = 0x0c;
    pub const V2_SAMPLE_RATE_CONVERTER: u8 = 0x0d;
}

/// AudioStreaming descriptor subtypes.
mod as_ {
    pub const GENERAL: u8 = 0x01;
    pub const FORMAT_TYPE: u8 = 0x02;
}

/// A bounds-checked view of one descriptor.
#[derive(Clone, Copy)]
struct Desc<'a>(&'a [u8]);

impl<'a> Desc<'a> {
    fn u8(self, at: usize) -> Option<u8> {
        self.0.get(at).copied()
    }
    fn u16(self, at: usize) -> Option<u16> {
        Some(u16::from_le_bytes([self.u8(at)?, self.u8(at + 1)?]))
    }
    fn u24(self, at: usize) -> Option<u32> {
        Some(u32::from_le_bytes([self.u8(at)?, self.u8(at + 1)?, self.u8(at + 2)?, 0]))
    }
    fn u32(self, at: usize) -> Option<u32> {
        Some(u32::from_le_bytes([self.u8(at)?, self.u8(at + 1)?, self.u8(at + 2)?, self.u8(at + 3)?]))
    }
    fn bytes(self, at: usize, n: usize) -> Option<&'a [u8]> {
        self.0.get(at..at.checked_add(n)?)
    }
    fn subtype(self) -> Option<u8> {
        self.u8(2)
    }
}

fn class_specific<'a>(descs: &[&'a [u8]], subtype: u8) -> Option<Desc<'a>> {
    descs.iter().map(|d| Desc(d)).find(|d| d.u8(1) == Some(kind::CS_INTERFACE) && d.subtype() == Some(subtype))
}

/// Build the model of the first audio function in `raw` (usbfs's descriptor
/// blob: device descriptor, then configurations), with no quirks.
pub fn parse_device(raw: &[u8], speed: Speed, device: &str) -> Result<DeviceModel> {
    parse_device_with(raw, speed, device, |_| Quirks::default()).map(|(model, _)| model)
}

/// The same, with the quirks `quirks_for` gives for the device's id: the
/// model's implicit-feedback links are made once, as those quirks say.
pub fn parse_device_with(
    raw: &[u8],
    speed: Speed,
    device: &str,
    quirks_for: impl FnOnce(UsbId) -> Quirks,
) -> Result<(DeviceModel, Quirks)> {
    let mut model = parse_unlinked(raw, speed, device)?;
    let quirks = quirks_for(model.id);
    model.link_implicit_feedback(
        quirks.contains(Quirks::GENERIC_IMPLICIT_FB),
        quirks.contains(Quirks::SKIP_IMPLICIT_FB),
    );
    Ok((model, quirks))
}

fn parse_unlinked(raw: &[u8], speed: Speed, device: &str) -> Result<DeviceModel> {
    let dev = descriptors::DeviceDescriptor::parse(raw)
        .ok_or_else(|| Error::NotAudio { device: device.into(), why: "no valid device descriptor".into() })?;
    let id = UsbId { vendor: dev.vendor, product: dev.product };
    let configs = descriptors::configurations(raw);
    let config = configs
        .iter()
        .find(|c| c.interfaces.iter().any(is_control))
        .ok_or_else(|| Error::NotAudio { device: device.into(), why: "no audio control interface".into() })?;
    parse_configuration(config, id, speed, device)
}

fn is_control(i: &InterfaceAlt<'_>) -> bool {
    i.class == CLASS_AUDIO && i.subclass == SUBCLASS_CONTROL
}

/// Build the model from one configuration.
pub fn parse_configuration(config: &Configuration<'_>, id: UsbId, speed: Speed, device: &str) -> Result<DeviceModel> {
    let control = config
        .interfaces
        .iter()
        .find(|i| is_control(i) && i.alt == 0)
        .ok_or_else(|| Error::NotAudio { device: device.into(), why: "no audio control interface".into() })?;
    let version = match control.protocol {
        PROTOCOL_UAC2 => UacVersion::V2,
        PROTOCOL_UAC3 => {
            return Err(Error::NotAudio { device: device.into(), why: "UAC3 is not supported".into() });
        }
        0 => UacVersion::V1,
        other => {
            log::warn!("{device}: audio control protocol {other:#04x} is unknown; assuming UAC1 as Linux does");
            UacVersion::V1
        }
    };
    let entities: Vec<Entity> = control.extra.iter().filter_map(|d| parse_entity(Desc(d), version, device)).collect();

    // Which streaming interfaces belong to this function.
    let members: Option<Vec<u8>> = match version {
        UacVersion::V1 => class_specific(&control.extra, ac::HEADER).and_then(|h| {
            let n = usize::from(h.u8(7)?);
            Some(h.bytes(8, n)?.to_vec())
        }),
        UacVersion::V2 => config.associations.iter().map(|d| Desc(d)).find_map(|a| {
            let first = a.u8(2)?;
            let count = a.u8(3)?;
            (first <= control.number && control.number < first.saturating_add(count))
                .then(|| (first..first.saturating_add(count)).collect())
        }),
    };
    if members.is_none() {
        log::warn!("{device}: no interface list for the audio function; taking every streaming interface");
    }

    let mut streams: Vec<StreamingInterface> = Vec::new();
    let mut skipped = Vec::new();
    for iface in &config.interfaces {
        if iface.class != CLASS_AUDIO || iface.subclass == SUBCLASS_CONTROL {
            continue;
        }
        if members.as_ref().is_some_and(|m| !m.contains(&iface.number)) {
            continue;
        }
        if iface.subclass != SUBCLASS_STREAMING {
            if iface.alt == 0 {
                skipped.push(format!(
                    "interface {}: subclass {} (MIDI or other), not driven",
                    iface.number, iface.subclass
                ));
            }
            continue;
        }
        if iface.alt == 0 && iface.endpoints.is_empty() {
            continue;
        }
        let Some(alt) = parse_alt(iface, version, speed, device) else {
            skipped.push(format!("interface {} alt {}: not understood (see the log)", iface.number, iface.alt));
            continue;
        };
        match streams.iter_mut().find(|s| s.interface == iface.number) {
            Some(s) if s.direction == alt.direction() => s.alts.push(alt),
            Some(_) => {
                log::warn!("{device}: interface {} mixes directions; alt {} skipped", iface.number, iface.alt);
                skipped.push(format!("interface {} alt {}: direction differs from alt 1", iface.number, iface.alt));
            }
            None => streams.push(StreamingInterface {
                interface: iface.number,
                direction: alt.direction(),
                alts: vec![alt],
            }),
        }
    }
    Ok(DeviceModel {
        id,
        speed,
        version,
        configuration: config.value,
        control_interface: control.number,
        entities,
        streams,
        skipped,
    })
}

fn parse_entity(d: Desc<'_>, version: UacVersion, device: &str) -> Option<Entity> {
    if d.u8(1) != Some(kind::CS_INTERFACE) {
        return None;
    }
    let subtype = d.subtype()?;
    let parsed = parse_entity_fields(d, subtype, version);
    if parsed.is_none() && subtype != ac::HEADER {
        log::warn!(
            "{device}: audio control descriptor subtype {subtype:#04x} of {} bytes is malformed; skipped",
            d.0.len()
        );
    }
    parsed
}

fn sources(d: Desc<'_>, count_at: usize) -> Option<Vec<u8>> {
    let n = usize::from(d.u8(count_at)?);
    Some(d.bytes(count_at + 1, n)?.to_vec())
}

fn parse_entity_fields(d: Desc<'_>, subtype: u8, version: UacVersion) -> Option<Entity> {
    let v2 = version == UacVersion::V2;
    let id = d.u8(3)?;
    let kind = match subtype {
        ac::HEADER => return None,
        ac::INPUT_TERMINAL if v2 => EntityKind::InputTerminal {
            terminal_type: TerminalType(d.u16(4)?),
            clock: Some(d.u8(7)?),
            channels: d.u8(8)?,
        },
        ac::INPUT_TERMINAL => {
            EntityKind::InputTerminal { terminal_type: TerminalType(d.u16(4)?), channels: d.u8(7)?, clock: None }
        }
        ac::OUTPUT_TERMINAL if v2 => EntityKind::OutputTerminal {
            terminal_type: TerminalType(d.u16(4)?),
            source: d.u8(7)?,
            clock: Some(d.u8(8)?),
        },
        ac::OUTPUT_TERMINAL => {
            EntityKind::OutputTerminal { terminal_type: TerminalType(d.u16(4)?), source: d.u8(7)?, clock: None }
        }
        ac::MIXER_UNIT => {
            let s = sources(d, 4)?;
            let channels = d.u8(5 + s.len())?;
            EntityKind::MixerUnit { sources: s, channels }
        }
        ac::SELECTOR_UNIT => EntityKind::SelectorUnit { sources: sources(d, 4)? },
        ac::FEATURE_UNIT => {
            let source = d.u8(4)?;
            let (mut controls, mut read_only) = (Vec::new(), Vec::new());
            if v2 {
                let n = d.0.len().checked_sub(6)? / 4;
                for ch in 0..n {
                    let bits = d.u32(5 + 4 * ch)?;
                    let (mut present, mut ro) = (0u32, 0u32);
                    for c in 0..16 {
                        match (bits >> (2 * c)) & 3 {
                            0 => {}
                            3 => present |= 1 << c,
                            _ => {
                                present |= 1 << c;
                                ro |= 1 << c;
                            }
                        }
                    }
                    controls.push(present);
                    read_only.push(ro);
                }
            } else {
                let size = usize::from(d.u8(5)?);
                if size == 0 {
                    return None;
                }
                let n = d.0.len().checked_sub(7)? / size;
                for ch in 0..n {
                    let raw = d.bytes(6 + size * ch, size)?;
                    let mut bits = 0u32;
                    for (i, b) in raw.iter().take(4).enumerate() {
                        bits |= u32::from(*b) << (8 * i);
                    }
                    controls.push(bits);
                    read_only.push(0);
                }
            }
            EntityKind::FeatureUnit { source, controls, read_only }
        }
        ac::PROCESSING_OR_EFFECT if v2 => EntityKind::OtherUnit { subtype, sources: vec![d.u8(6)?] },
        ac::PROCESSING_OR_EFFECT | ac::EXTENSION_OR_PROCESSING | ac::V2_EXTENSION_UNIT => {
            EntityKind::OtherUnit { subtype, sources: sources(d, 6)? }
        }
        ac::V2_CLOCK_SOURCE if v2 => {
            let controls = d.u8(5)?;
            EntityKind::ClockSource {
                attributes: d.u8(4)?,
                frequency_writable: controls & 3 == 3,
                validity_readable: (controls >> 2) & 3 != 0,
            }
        }
        ac::V2_CLOCK_SELECTOR if v2 => {
            let s = sources(d, 4)?;
            let controls = d.u8(5 + s.len())?;
            EntityKind::ClockSelector { sources: s, writable: controls & 3 == 3 }
        }
        ac::V2_CLOCK_MULTIPLIER if v2 => EntityKind::ClockMultiplier { source: d.u8(4)? },
        ac::V2_SAMPLE_RATE_CONVERTER if v2 => EntityKind::OtherUnit { subtype, sources: vec![d.u8(4)?] },
        _ => return None,
    };
    Some(Entity { id, kind })
}

/// The sample format of a type I/III format, given the format tag (UAC1
/// wFormatTag) or bitmap (UAC2 bmFormats) already reduced to a [`Coding`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coding {
    Pcm,
    Pcm8,
    Float,
    ALaw,
    MuLaw,
}

fn sample_format(coding: Coding, subslot: u8, bits: u8) -> Option<SampleFormat> {
    Some(match (coding, subslot) {
        (Coding::Pcm8, 1) => SampleFormat::U8,
        (Coding::Pcm, 1) => SampleFormat::S8,
        (Coding::Pcm, 2) => SampleFormat::S16Le,
        (Coding::Pcm, 3) => SampleFormat::S24_3Le,
        // USB puts a 24-bit sample in the high bits of a 4-byte subslot
        // (MSB-justified): to the host it is S32 with fewer significant bits.
        (Coding::Pcm, 4) if bits <= 32 => SampleFormat::S32Le,
        (Coding::Float, 4) => SampleFormat::F32Le,
        (Coding::Float, 8) => SampleFormat::F64Le,
        (Coding::ALaw, 1) => SampleFormat::ALaw,
        (Coding::MuLaw, 1) => SampleFormat::MuLaw,
        _ => return None,
    })
}

fn iso_endpoint(ep: &Endpoint<'_>) -> IsoEndpoint {
    let d = Desc(ep.raw);
    IsoEndpoint {
        address: ep.address,
        sync: SyncType::from_bits(ep.attributes),
        usage: ep.usage_type(),
        max_bytes: ep.max_bytes_per_interval(),
        interval: ep.interval,
        refresh: d.u8(7).unwrap_or(0),
        synch_address: d.u8(8).unwrap_or(0),
    }
}

fn parse_alt(iface: &InterfaceAlt<'_>, version: UacVersion, speed: Speed, device: &str) -> Option<AltSetting> {
    let what = || format!("{device}: interface {} alt {}", iface.number, iface.alt);
    let general = class_specific(&iface.extra, as_::GENERAL);
    let format = class_specific(&iface.extra, as_::FORMAT_TYPE);
    let (Some(general), Some(format)) = (general, format) else {
        log::warn!("{}: no AS_GENERAL or FORMAT_TYPE descriptor; skipped", what());
        return None;
    };
    let isos: Vec<&Endpoint<'_>> =
        iface.endpoints.iter().filter(|e| e.transfer_type() == descriptors::TRANSFER_ISOCHRONOUS).collect();
    // The data endpoint is the first isochronous one that is not a feedback
    // endpoint; a second one in the other direction is its sync endpoint.
    let Some(data) = isos.iter().find(|e| e.usage_type() != 1).copied() else {
        log::warn!("{}: no isochronous data endpoint; skipped", what());
        return None;
    };
    let feedback = isos
        .iter()
        .find(|e| e.address != data.address && e.is_in() != data.is_in() && e.usage_type() != 2)
        .map(|e| iso_endpoint(e));
    let endpoint = iso_endpoint(data);
    let cs_ep = data.extra.iter().map(|d| Desc(d)).find(|d| d.u8(1) == Some(kind::CS_ENDPOINT));

    let parsed = match version {
        UacVersion::V1 => parse_alt_v1(general, format),
        UacVersion::V2 => parse_alt_v2(general, format),
    };
    let Some((terminal, coding, format_type, channels, subslot, bits, rates)) = parsed else {
        log::warn!("{}: malformed or unsupported format descriptors; skipped", what());
        return None;
    };
    let sample = match format_type {
        // Type III carries IEC61937 frames in 16-bit stereo subframes.
        3 => Some(SampleFormat::S16Le).filter(|_| subslot == 2),
        _ => sample_format(coding, subslot, bits),
    };
    let Some(sample) = sample else {
        log::warn!("{}: {coding:?} in {subslot}-byte subslots of {bits} bits is not supported; skipped", what());
        return None;
    };
    if channels == 0 || endpoint.max_bytes == 0 {
        log::warn!("{}: zero channels or a zero-size endpoint; skipped", what());
        return None;
    }
    if speed == Speed::High && !(1..=16).contains(&endpoint.interval) {
        log::warn!("{}: bInterval {} is out of range for high speed; skipped", what(), endpoint.interval);
        return None;
    }
    let (rate_control, controls) = match (version, cs_ep) {
        (UacVersion::V1, Some(c)) => (c.u8(3).unwrap_or(0) & 1 != 0, c.u8(3).unwrap_or(0)),
        (UacVersion::V2, _) => (false, general.u8(4).unwrap_or(0)),
        _ => (false, 0),
    };
    Some(AltSetting {
        interface: iface.number,
        alt: iface.alt,
        terminal,
        format: sample,
        subslot_bytes: subslot,
        bits,
        channels: u16::from(channels),
        rates,
        format_type,
        endpoint,
        feedback,
        implicit: None,
        rate_control,
        controls,
    })
}

type AltFields = (u8, Coding, u8, u8, u8, u8, Rates);

fn parse_alt_v1(general: Desc<'_>, format: Desc<'_>) -> Option<AltFields> {
    let terminal = general.u8(3)?;
    let coding = match general.u16(5)? {
        0x0001 => Coding::Pcm,
        0x0002 => Coding::Pcm8,
        0x0003 => Coding::Float,
        0x0004 => Coding::ALaw,
        0x0005 => Coding::MuLaw,
        // Type III tags (IEC61937 AC-3, MPEG, ...): passed as 16-bit data.
        0x1001..=0x1006 => Coding::Pcm,
        _ => return None,
    };
    let format_type = format.u8(3)?;
    if format_type != 1 && format_type != 3 {
        return None;
    }
    let channels = format.u8(4)?;
    let subslot = format.u8(5)?;
    let bits = format.u8(6)?;
    let n = usize::from(format.u8(7)?);
    let rates = if n == 0 {
        let (min, max) = (format.u24(8)?, format.u24(11)?);
        if min > max {
            return None;
        }
        Rates::Continuous { min, max }
    } else {
        Rates::Discrete((0..n).map(|i| format.u24(8 + 3 * i)).collect::<Option<Vec<u32>>>()?)
    };
    Some((terminal, coding, format_type, channels, subslot, bits, rates))
}

fn parse_alt_v2(general: Desc<'_>, format: Desc<'_>) -> Option<AltFields> {
    let terminal = general.u8(3)?;
    let general_type = general.u8(5)?;
    let formats = general.u32(6)?;
    let channels = general.u8(10)?;
    let format_type = format.u8(3)?;
    if format_type != general_type || (format_type != 1 && format_type != 3) {
        return None;
    }
    // bmFormats: bit 0 PCM, 1 PCM8, 2 IEEE float, 3 A-law, 4 mu-law. A device
    // may set several; PCM wins as it does in Linux.
    let coding = [(0, Coding::Pcm), (1, Coding::Pcm8), (2, Coding::Float), (3, Coding::ALaw), (4, Coding::MuLaw)]
        .into_iter()
        .find(|(bit, _)| formats & (1 << bit) != 0)
        .map(|(_, c)| c)
        .or((format_type == 3).then_some(Coding::Pcm))?;
    Some((terminal, coding, format_type, channels, format.u8(4)?, format.u8(5)?, Rates::FromClock))
}
