//! The devices' own mixer controls behind /dev/mixer: compat-oss's
//! [`HwControls`] for an HDA controller and for a USB audio device. The OSS
//! layer maps levels onto the ranges given here (see
//! `outboard_oss::mixer`); this file only finds the controls and moves dB.
//!
//! - HDA: the output volume is the volume amplifier of every analog output
//!   path (the primary output's range); the capture gain is the selected
//!   source's capture amplifier; the sources are the input paths into the
//!   capture ADC (pci-hda's `codec::controls`). With several sources the
//!   first is selected at start, so one is recorded at a time.
//! - USB: the output volume is the first feature unit with a volume control
//!   on the playback path; the capture gain the first such unit on the
//!   capture path downstream of the source selector; the sources a selector
//!   unit on the capture path, each named by the input terminal behind it.
//!   Values written are remembered per channel and read back from there,
//!   as Linux's USB mixer caches them (devices such as QEMU's usb-audio
//!   answer GET_CUR from a coarser value than they were set to).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use outboard_hal::pcm::Direction;
use outboard_hda::codec::controls::AmpControl;
use outboard_hda::codec::paths::InputRole;
use outboard_hda::device::HdaDevice;
use outboard_oss::hw::{Gain, GainRange, HwControls, Side, Source, SourceKind};
use outboard_uac::controls::VolumeRange;
use outboard_uac::device::{FeatureControl, SelectorControl};
use outboard_uac::model::{EntityKind, TerminalType};
use outboard_uac::UacDevice;

fn range_of_amp(a: &AmpControl) -> GainRange {
    GainRange { min_db: a.min_db(), step_db: a.step_db(), steps: a.steps(), stereo: a.stereo, can_mute: a.can_mute() }
}

/// An HDA device's controls.
pub(crate) struct HdaControls {
    dev: Arc<HdaDevice>,
    output: Option<GainRange>,
    capture: Option<GainRange>,
    /// The capture sources' pins, in [`HwControls::sources`] order.
    pins: Vec<u8>,
    sources: Vec<Source>,
}

fn source_kind(role: InputRole) -> SourceKind {
    match role {
        InputRole::Mic => SourceKind::Mic,
        InputRole::LineIn => SourceKind::Line,
        InputRole::Aux => SourceKind::Aux,
        InputRole::Cd => SourceKind::Cd,
        InputRole::Digital => SourceKind::Digital,
    }
}

impl HdaControls {
    /// The controls of `dev`. With several capture sources the first is
    /// selected, alone (setup routed them all).
    pub(crate) fn new(dev: Arc<HdaDevice>) -> Result<HdaControls, String> {
        let paths = dev.capture_sources();
        if paths.len() > 1 {
            dev.select_capture_source(paths[0].pin).map_err(|e| e.to_string())?;
        }
        let output = dev
            .output_volume_controls()
            .first()
            .map(|a| GainRange { can_mute: dev.output_can_mute(), ..range_of_amp(a) });
        let capture = dev.capture_gain_control().map_err(|e| e.to_string())?.as_ref().map(range_of_amp);
        let sources = paths
            .iter()
            .map(|p| Source {
                kind: source_kind(p.role),
                name: format!("{}{:?} at pin {:#04x}", if p.fixed { "internal " } else { "" }, p.role, p.pin),
            })
            .collect();
        Ok(HdaControls { dev, output, capture, pins: paths.iter().map(|p| p.pin).collect(), sources })
    }
}

impl HwControls for HdaControls {
    fn gain_range(&self, gain: Gain) -> Option<GainRange> {
        match gain {
            Gain::Output => self.output,
            Gain::Capture => self.capture,
        }
    }
    fn gain(&self, gain: Gain) -> Result<[Side; 2], String> {
        let v = match gain {
            Gain::Output => self.dev.output_volume_db(),
            Gain::Capture => self.dev.capture_gain_db(),
        };
        v.map_err(|e| e.to_string())?.ok_or_else(|| format!("{}: no {gain:?} amplifier", self.dev.name()))
    }
    fn set_gain(&self, gain: Gain, sides: [Side; 2]) -> Result<(), String> {
        match gain {
            Gain::Output => self.dev.set_output_volume_db(sides),
            Gain::Capture => self.dev.set_capture_gain_db(sides),
        }
        .map_err(|e| e.to_string())
    }
    fn sources(&self) -> Vec<Source> {
        self.sources.clone()
    }
    fn selected_source(&self) -> Result<Option<usize>, String> {
        let pin = self.dev.selected_capture_source().map_err(|e| e.to_string())?;
        Ok(pin.and_then(|p| self.pins.iter().position(|&q| q == p)))
    }
    fn select_source(&self, index: usize) -> Result<(), String> {
        let pin = self.pins.get(index).ok_or_else(|| format!("no capture source {index}"))?;
        self.dev.select_capture_source(*pin).map_err(|e| e.to_string())
    }
}

/// A feature unit's volume as the mixer uses it.
#[derive(Clone, Debug)]
struct UnitVolume {
    control: FeatureControl,
    range: VolumeRange,
}

impl UnitVolume {
    /// Left and right apart: the unit has volume on channels 1 and 2.
    fn stereo(&self) -> bool {
        self.control.volume_channels.contains(&1) && self.control.volume_channels.contains(&2)
    }
    /// The side (0 left, 1 right) a channel follows: odd channels left, even
    /// right (1 = front left, 2 = front right, ...); the master left.
    fn side(&self, channel: u8) -> usize {
        usize::from(self.stereo() && channel > 0 && channel % 2 == 0)
    }
    fn gain_range(&self) -> GainRange {
        let res = i32::from(self.range.res.max(1));
        let steps = (i32::from(self.range.max) - i32::from(self.range.min)) / res;
        GainRange {
            min_db: VolumeRange::db(self.range.min),
            step_db: f64::from(res) / 256.0,
            steps: u32::try_from(steps).unwrap_or(0),
            stereo: self.stereo(),
            can_mute: !self.control.mute_channels.is_empty(),
        }
    }
}

/// A USB audio device's controls.
pub(crate) struct UacControls {
    dev: Arc<UacDevice>,
    output: Option<UnitVolume>,
    capture: Option<UnitVolume>,
    selector: Option<SelectorControl>,
    sources: Vec<Source>,
    /// What was last written, by (unit, channel): volume (raw) and mute.
    volumes: Mutex<HashMap<(u8, u8), i16>>,
    mutes: Mutex<HashMap<(u8, u8), bool>>,
}

/// The OSS kind of a terminal type (USB Audio Terminal Types 1.0 §2).
fn terminal_kind(t: TerminalType) -> SourceKind {
    match t.0 {
        0x0201..=0x02ff | 0x0402 => SourceKind::Mic,
        0x0601 | 0x0603 | 0x0604 => SourceKind::Line,
        0x0602 | 0x0605..=0x0607 => SourceKind::Digital,
        0x0703 | 0x0706 => SourceKind::Cd,
        0x0709..=0x070f => SourceKind::Video,
        0x0710 => SourceKind::Radio,
        0x0500..=0x05ff => SourceKind::Phone,
        _ => SourceKind::Other,
    }
}

impl UacControls {
    /// The controls of `dev`: its feature units' ranges are asked once.
    pub(crate) fn new(dev: Arc<UacDevice>) -> UacControls {
        let with_volume = |fc: FeatureControl| -> Option<UnitVolume> {
            let range = fc.range?;
            (!fc.volume_channels.is_empty() && range.max > range.min).then_some(UnitVolume { control: fc, range })
        };
        let output = dev.feature_controls(Direction::Playback).into_iter().find_map(with_volume);
        let selector = dev.selector(Direction::Capture);
        // Capture: the feature units between the streaming terminal and the
        // selector (those act on whichever source is selected).
        let terminal = dev.model().streams(Direction::Capture).flat_map(|s| s.alts.first()).map(|a| a.terminal).next();
        let before_selector: Vec<u8> = terminal
            .map(|t| {
                dev.model()
                    .path_from(t)
                    .into_iter()
                    .take_while(|id| {
                        !matches!(dev.model().entity(*id).map(|e| &e.kind), Some(EntityKind::SelectorUnit { .. }))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let capture = dev
            .feature_controls(Direction::Capture)
            .into_iter()
            .filter(|fc| before_selector.contains(&fc.unit))
            .find_map(with_volume);
        let sources = selector
            .iter()
            .flat_map(|s| s.inputs.iter())
            .map(|i| match i.terminal {
                Some((id, t)) => Source { kind: terminal_kind(t), name: format!("{} (terminal {id})", t.name()) },
                None => Source { kind: SourceKind::Other, name: format!("unit {} (pin {})", i.source, i.pin) },
            })
            .collect();
        UacControls {
            dev,
            output,
            capture,
            selector,
            sources,
            volumes: Mutex::new(HashMap::new()),
            mutes: Mutex::new(HashMap::new()),
        }
    }

    fn unit(&self, gain: Gain) -> Result<&UnitVolume, String> {
        match gain {
            Gain::Output => self.output.as_ref(),
            Gain::Capture => self.capture.as_ref(),
        }
        .ok_or_else(|| format!("{}: no {gain:?} volume", self.dev.name()))
    }

    fn volume(&self, unit: u8, channel: u8) -> Result<i16, String> {
        if let Some(v) = self.volumes.lock().unwrap_or_else(|e| e.into_inner()).get(&(unit, channel)) {
            return Ok(*v);
        }
        self.dev.channel_volume(unit, channel).map_err(|e| e.to_string())
    }

    fn muted(&self, unit: u8, channel: u8) -> Result<bool, String> {
        if let Some(m) = self.mutes.lock().unwrap_or_else(|e| e.into_inner()).get(&(unit, channel)) {
            return Ok(*m);
        }
        self.dev.channel_mute(unit, channel).map_err(|e| e.to_string())
    }
}

impl HwControls for UacControls {
    fn gain_range(&self, gain: Gain) -> Option<GainRange> {
        self.unit(gain).ok().map(UnitVolume::gain_range)
    }

    fn gain(&self, gain: Gain) -> Result<[Side; 2], String> {
        let u = self.unit(gain)?;
        let c = &u.control;
        let mut out: [Side; 2] = [None, None];
        for (side, slot) in out.iter_mut().enumerate() {
            // The side's first volume channel (the master for a mono unit).
            let Some(&ch) = c.volume_channels.iter().find(|&&ch| u.side(ch) == side || !u.stereo()) else {
                continue;
            };
            let raw = self.volume(c.unit, ch)?;
            let muted_ch = [ch, 0].into_iter().filter(|m| c.mute_channels.contains(m));
            let mut muted = false;
            for m in muted_ch {
                muted |= self.muted(c.unit, m)?;
            }
            *slot = (!muted).then_some(VolumeRange::db(raw));
        }
        Ok(out)
    }

    fn set_gain(&self, gain: Gain, sides: [Side; 2]) -> Result<(), String> {
        let u = self.unit(gain)?;
        let c = &u.control;
        let err = |e: outboard_uac::Error| e.to_string();
        for &ch in &c.volume_channels {
            let raw = match sides[u.side(ch)] {
                Some(db) => u.range.raw_for_db(db),
                None => u.range.min,
            };
            self.dev.set_channel_volume(c.unit, ch, raw).map_err(err)?;
            self.volumes.lock().unwrap_or_else(|e| e.into_inner()).insert((c.unit, ch), raw);
        }
        for &ch in &c.mute_channels {
            // A channel's own mute follows its side; the master mutes when
            // every side is muted.
            let on = if ch == 0 { sides.iter().all(Option::is_none) } else { sides[u.side(ch)].is_none() };
            self.dev.set_channel_mute(c.unit, ch, on).map_err(err)?;
            self.mutes.lock().unwrap_or_else(|e| e.into_inner()).insert((c.unit, ch), on);
        }
        Ok(())
    }

    fn sources(&self) -> Vec<Source> {
        self.sources.clone()
    }

    fn selected_source(&self) -> Result<Option<usize>, String> {
        let Some(sel) = &self.selector else { return Ok(None) };
        let pin = self.dev.selector_input(sel.unit).map_err(|e| e.to_string())?;
        Ok(sel.inputs.iter().position(|i| i.pin == pin))
    }

    fn select_source(&self, index: usize) -> Result<(), String> {
        let sel = self.selector.as_ref().ok_or_else(|| format!("{}: no source selector", self.dev.name()))?;
        let input = sel.inputs.get(index).ok_or_else(|| format!("no capture source {index}"))?;
        self.dev.select_selector_input(sel.unit, input.pin).map_err(|e| e.to_string())
    }
}
