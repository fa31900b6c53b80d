//! A device's mixer controls ([`Mixer`]), in the same shape as
//! `outboard-hda`'s `HdaDevice` (output volume, capture gain, capture
//! sources, select and selected), for a daemon's mixer nodes:
//!
//! - the output volume is the first feature unit with a volume control on the
//!   playback path;
//! - the capture gain is the first such unit on the capture path between the
//!   USB streaming terminal and the source selector (it acts on whichever
//!   source is selected);
//! - the capture sources are a selector unit's inputs on the capture path,
//!   each named and classed by the input terminal behind it.
//!
//! Values written are remembered per channel and read back from there, as
//! Linux's USB mixer caches them (devices such as QEMU's usb-audio answer
//! GET_CUR from a coarser value than they were set to).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use outboard_hal::pcm::Direction;

use crate::controls::VolumeRange;
use crate::device::{FeatureControl, SelectorControl, UacDevice};
use crate::model::{EntityKind, TerminalType};
use crate::{Error, Result};

/// Left and right in dB; `None` is muted.
pub type Sides = [Option<f64>; 2];

/// A volume control's grid: step `k` (`0..=steps`) is `min_db + k * step_db`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VolumeGrid {
    pub min_db: f64,
    pub step_db: f64,
    pub steps: u32,
    /// Left and right are set apart (the unit has volume on channels 1 and 2).
    pub stereo: bool,
    /// The unit has a mute control.
    pub can_mute: bool,
}

/// What a capture source carries, from its input terminal's type (USB Audio
/// Terminal Types 1.0 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Mic,
    Line,
    Digital,
    Cd,
    Video,
    Radio,
    Phone,
    Other,
}

impl SourceKind {
    /// The kind of an input terminal type.
    pub fn of_terminal(t: TerminalType) -> SourceKind {
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
}

/// One capture source: a selector unit's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureSource {
    pub kind: SourceKind,
    /// "Line connector (terminal 2)", or "unit 5 (pin 2)" when no input
    /// terminal is behind the pin.
    pub name: String,
}

/// A feature unit's volume as the mixer uses it.
#[derive(Clone, Debug)]
struct UnitVolume {
    control: FeatureControl,
    range: VolumeRange,
}

impl UnitVolume {
    fn stereo(&self) -> bool {
        self.control.volume_channels.contains(&1) && self.control.volume_channels.contains(&2)
    }
    /// The side (0 left, 1 right) a channel follows: odd channels left, even
    /// right (1 = front left, 2 = front right, ...); the master left.
    fn side(&self, channel: u8) -> usize {
        usize::from(self.stereo() && channel > 0 && channel % 2 == 0)
    }
    fn grid(&self) -> VolumeGrid {
        let res = i32::from(self.range.res.max(1));
        let steps = (i32::from(self.range.max) - i32::from(self.range.min)) / res;
        VolumeGrid {
            min_db: VolumeRange::db(self.range.min),
            step_db: f64::from(res) / 256.0,
            steps: u32::try_from(steps).unwrap_or(0),
            stereo: self.stereo(),
            can_mute: !self.control.mute_channels.is_empty(),
        }
    }
}

/// A USB audio device's mixer controls: found once (on first use; finding
/// them asks the device for its volume ranges) and the values written.
pub struct Mixer {
    dev: Arc<UacDevice>,
    found: OnceLock<Found>,
    /// What was last written, by (unit, channel): volume (raw) and mute.
    volumes: Mutex<HashMap<(u8, u8), i16>>,
    mutes: Mutex<HashMap<(u8, u8), bool>>,
}

struct Found {
    output: Option<UnitVolume>,
    capture: Option<UnitVolume>,
    selector: Option<SelectorControl>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    Output,
    Capture,
}

impl Mixer {
    pub fn new(dev: Arc<UacDevice>) -> Mixer {
        Mixer { dev, found: OnceLock::new(), volumes: Mutex::default(), mutes: Mutex::default() }
    }

    /// The device.
    pub fn device(&self) -> &Arc<UacDevice> {
        &self.dev
    }

    fn mixer_found(&self) -> &Found {
        let dev = &self.dev;
        self.found.get_or_init(|| {
            let with_volume = |fc: FeatureControl| -> Option<UnitVolume> {
                let range = fc.range?;
                (!fc.volume_channels.is_empty() && range.max > range.min).then_some(UnitVolume { control: fc, range })
            };
            let output = dev.feature_controls(Direction::Playback).into_iter().find_map(with_volume);
            let selector = dev.selector(Direction::Capture);
            let model = dev.model();
            let terminal = model.streams(Direction::Capture).flat_map(|s| s.alts.first()).map(|a| a.terminal).next();
            let before_selector: Vec<u8> = terminal
                .map(|t| {
                    model
                        .path_from(t)
                        .into_iter()
                        .take_while(|id| {
                            !matches!(model.entity(*id).map(|e| &e.kind), Some(EntityKind::SelectorUnit { .. }))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let capture = dev
                .feature_controls(Direction::Capture)
                .into_iter()
                .filter(|fc| before_selector.contains(&fc.unit))
                .find_map(with_volume);
            Found { output, capture, selector }
        })
    }

    fn unit_volume(&self, which: Which) -> Option<&UnitVolume> {
        let f = self.mixer_found();
        match which {
            Which::Output => f.output.as_ref(),
            Which::Capture => f.capture.as_ref(),
        }
    }

    fn cached_volume(&self, unit: u8, channel: u8) -> Result<i16> {
        if let Some(v) = self.volumes.lock().unwrap_or_else(|e| e.into_inner()).get(&(unit, channel)) {
            return Ok(*v);
        }
        self.dev.channel_volume(unit, channel)
    }

    fn cached_mute(&self, unit: u8, channel: u8) -> Result<bool> {
        if let Some(m) = self.mutes.lock().unwrap_or_else(|e| e.into_inner()).get(&(unit, channel)) {
            return Ok(*m);
        }
        self.dev.channel_mute(unit, channel)
    }

    fn sides_of(&self, which: Which) -> Result<Option<Sides>> {
        let Some(u) = self.unit_volume(which) else { return Ok(None) };
        let c = &u.control;
        let mut out: Sides = [None, None];
        for (side, slot) in out.iter_mut().enumerate() {
            // The side's first volume channel (the master for a mono unit).
            let Some(&ch) = c.volume_channels.iter().find(|&&ch| u.side(ch) == side || !u.stereo()) else {
                continue;
            };
            let raw = self.cached_volume(c.unit, ch)?;
            let mut muted = false;
            for m in [ch, 0].into_iter().filter(|m| c.mute_channels.contains(m)) {
                muted |= self.cached_mute(c.unit, m)?;
            }
            *slot = (!muted).then_some(VolumeRange::db(raw));
        }
        Ok(Some(out))
    }

    fn set_sides(&self, which: Which, sides: Sides) -> Result<()> {
        let u = self.unit_volume(which).ok_or_else(|| {
            Error::Invalid(format!(
                "{}: no {} volume control",
                self.dev.name(),
                if which == Which::Output { "output" } else { "capture" }
            ))
        })?;
        let c = &u.control;
        for &ch in &c.volume_channels {
            let raw = match sides[u.side(ch)] {
                Some(db) => u.range.raw_for_db(db),
                None => u.range.min,
            };
            self.dev.set_channel_volume(c.unit, ch, raw)?;
            self.volumes.lock().unwrap_or_else(|e| e.into_inner()).insert((c.unit, ch), raw);
        }
        for &ch in &c.mute_channels {
            // A channel's own mute follows its side; the master mutes when
            // every side is muted.
            let on = if ch == 0 { sides.iter().all(Option::is_none) } else { sides[u.side(ch)].is_none() };
            self.dev.set_channel_mute(c.unit, ch, on)?;
            self.mutes.lock().unwrap_or_else(|e| e.into_inner()).insert((c.unit, ch), on);
        }
        Ok(())
    }

    /// The output volume control's grid, if the playback path has one.
    pub fn output_volume_grid(&self) -> Option<VolumeGrid> {
        self.unit_volume(Which::Output).map(UnitVolume::grid)
    }

    /// The output volume, left and right (`None`: muted); `Ok(None)` when
    /// the playback path has no volume control.
    pub fn output_volume_db(&self) -> Result<Option<Sides>> {
        self.sides_of(Which::Output)
    }

    /// Set the output volume (clamped to the grid; `None` mutes the side).
    pub fn set_output_volume_db(&self, sides: Sides) -> Result<()> {
        self.set_sides(Which::Output, sides)
    }

    /// The capture gain control's grid, if the capture path has one.
    pub fn capture_gain_grid(&self) -> Option<VolumeGrid> {
        self.unit_volume(Which::Capture).map(UnitVolume::grid)
    }

    /// The capture gain, left and right (`None`: muted).
    pub fn capture_gain_db(&self) -> Result<Option<Sides>> {
        self.sides_of(Which::Capture)
    }

    /// Set the capture gain.
    pub fn set_capture_gain_db(&self, sides: Sides) -> Result<()> {
        self.set_sides(Which::Capture, sides)
    }

    /// The capture sources (a selector unit's inputs, in pin order); empty
    /// when the capture path has no selector.
    pub fn capture_sources(&self) -> Vec<CaptureSource> {
        let Some(sel) = &self.mixer_found().selector else { return Vec::new() };
        sel.inputs
            .iter()
            .map(|i| match i.terminal {
                Some((id, t)) => {
                    CaptureSource { kind: SourceKind::of_terminal(t), name: format!("{} (terminal {id})", t.name()) }
                }
                None => CaptureSource { kind: SourceKind::Other, name: format!("unit {} (pin {})", i.source, i.pin) },
            })
            .collect()
    }

    /// Which of [`capture_sources`](Self::capture_sources) the selector passes now.
    pub fn selected_capture_source(&self) -> Result<Option<usize>> {
        let Some(sel) = &self.mixer_found().selector else { return Ok(None) };
        let pin = self.dev.selector_input(sel.unit)?;
        Ok(sel.inputs.iter().position(|i| i.pin == pin))
    }

    /// Make the selector pass capture source `index`.
    pub fn select_capture_source(&self, index: usize) -> Result<()> {
        let sel = self
            .mixer_found()
            .selector
            .as_ref()
            .ok_or_else(|| Error::Invalid(format!("{}: no capture source selector", self.dev.name())))?;
        let input = sel
            .inputs
            .get(index)
            .ok_or_else(|| Error::Invalid(format!("{}: no capture source {index}", self.dev.name())))?;
        self.dev.select_selector_input(sel.unit, input.pin)
    }
}
