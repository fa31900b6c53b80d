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
//! - USB: usb-audio-class's `mixer` (the playback path's feature unit, the
//!   capture gain before the source selector, the selector's inputs).
//!
//! Each adapter only converts between the driver's API and compat-oss's.

use std::sync::Arc;

use outboard_hda::codec::controls::AmpControl;
use outboard_hda::codec::paths::InputRole;
use outboard_hda::device::HdaDevice;
use outboard_oss::hw::{Change, Gain, GainRange, HwControls, Jack, OutputPort, Side, Source, SourceKind};
use outboard_uac::mixer::{Mixer as UacMixer, SourceKind as UacSourceKind};
use outboard_uac::UacDevice;

fn range_of_amp(a: &AmpControl) -> GainRange {
    GainRange { min_db: a.min_db(), step_db: a.step_db(), steps: a.steps(), stereo: a.stereo, can_mute: a.can_mute() }
}

/// An HDA device's controls.
pub(crate) struct HdaControls {
    dev: Arc<HdaDevice>,
    output: Option<GainRange>,
    /// The outputs with volumes of their own, under `output` (Linux's vmaster).
    ports: Vec<(OutputPort, GainRange)>,
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
        let ports = dev
            .output_ports()
            .into_iter()
            .map(|p| {
                let range = GainRange { can_mute: p.can_mute, ..range_of_amp(&p.volume) };
                (OutputPort { label: p.label, index: p.index }, range)
            })
            .collect();
        let capture = dev.capture_gain_control().map_err(|e| e.to_string())?.as_ref().map(range_of_amp);
        let sources = paths
            .iter()
            .map(|p| Source {
                kind: source_kind(p.role),
                name: format!("{}{:?} at pin {:#04x}", if p.fixed { "internal " } else { "" }, p.role, p.pin),
            })
            .collect();
        Ok(HdaControls { dev, output, ports, capture, pins: paths.iter().map(|p| p.pin).collect(), sources })
    }
}

impl HwControls for HdaControls {
    fn gain_range(&self, gain: Gain) -> Option<GainRange> {
        match gain {
            Gain::Output => self.output,
            Gain::Capture => self.capture,
            Gain::Port(k) => self.ports.get(usize::from(k)).map(|(_, r)| *r),
        }
    }
    fn gain(&self, gain: Gain) -> Result<[Side; 2], String> {
        let v = match gain {
            Gain::Output => self.dev.output_volume_db(),
            Gain::Capture => self.dev.capture_gain_db(),
            Gain::Port(k) => self.dev.port_volume_db(k.into()).map(Some),
        };
        v.map_err(|e| e.to_string())?.ok_or_else(|| format!("{}: no {gain:?} amplifier", self.dev.name()))
    }
    fn set_gain(&self, gain: Gain, sides: [Side; 2]) -> Result<(), String> {
        match gain {
            Gain::Output => self.dev.set_output_volume_db(sides),
            Gain::Capture => self.dev.set_capture_gain_db(sides),
            Gain::Port(k) => self.dev.set_port_volume_db(k.into(), sides),
        }
        .map_err(|e| e.to_string())
    }
    fn output_ports(&self) -> Vec<OutputPort> {
        self.ports.iter().map(|(p, _)| p.clone()).collect()
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
    fn jacks(&self) -> Vec<Jack> {
        self.dev.jacks().into_iter().map(|j| Jack { label: j.label, index: j.index, phantom: j.phantom }).collect()
    }
    fn jacks_present(&self) -> Result<Vec<bool>, String> {
        self.dev.jacks_present().map_err(|e| e.to_string())
    }
    fn can_automute(&self) -> bool {
        self.dev.can_automute()
    }
    fn automute(&self) -> Result<bool, String> {
        Ok(self.dev.automute_enabled())
    }
    fn set_automute(&self, enabled: bool) -> Result<(), String> {
        self.dev.set_automute(enabled).map_err(|e| e.to_string())
    }
    fn poll_events(&self) -> Result<Vec<Change>, String> {
        // Jack events, with the speakers auto-muted or back on.
        Ok(if self.dev.service_jacks().map_err(|e| e.to_string())? { vec![Change::Jacks] } else { Vec::new() })
    }
}

fn range_of_grid(g: outboard_uac::mixer::VolumeGrid) -> GainRange {
    GainRange { min_db: g.min_db, step_db: g.step_db, steps: g.steps, stereo: g.stereo, can_mute: g.can_mute }
}

fn uac_source_kind(kind: UacSourceKind) -> SourceKind {
    match kind {
        UacSourceKind::Mic => SourceKind::Mic,
        UacSourceKind::Line => SourceKind::Line,
        UacSourceKind::Digital => SourceKind::Digital,
        UacSourceKind::Cd => SourceKind::Cd,
        UacSourceKind::Video => SourceKind::Video,
        UacSourceKind::Radio => SourceKind::Radio,
        UacSourceKind::Phone => SourceKind::Phone,
        UacSourceKind::Other => SourceKind::Other,
    }
}

/// A USB audio device's controls.
pub(crate) struct UacControls {
    mixer: UacMixer,
}

impl UacControls {
    pub(crate) fn new(dev: Arc<UacDevice>) -> UacControls {
        UacControls { mixer: UacMixer::new(dev) }
    }
}

impl HwControls for UacControls {
    fn gain_range(&self, gain: Gain) -> Option<GainRange> {
        match gain {
            Gain::Output => self.mixer.output_volume_grid(),
            Gain::Capture => self.mixer.capture_gain_grid(),
            Gain::Port(_) => None,
        }
        .map(range_of_grid)
    }
    fn gain(&self, gain: Gain) -> Result<[Side; 2], String> {
        let v = match gain {
            Gain::Output => self.mixer.output_volume_db(),
            Gain::Capture => self.mixer.capture_gain_db(),
            Gain::Port(_) => Ok(None),
        };
        v.map_err(|e| e.to_string())?.ok_or_else(|| format!("{}: no {gain:?} volume", self.mixer.device().name()))
    }
    fn set_gain(&self, gain: Gain, sides: [Side; 2]) -> Result<(), String> {
        match gain {
            Gain::Output => self.mixer.set_output_volume_db(sides),
            Gain::Capture => self.mixer.set_capture_gain_db(sides),
            Gain::Port(_) => {
                return Err(format!("{}: one output volume, no per-output ones", self.mixer.device().name()))
            }
        }
        .map_err(|e| e.to_string())
    }
    fn sources(&self) -> Vec<Source> {
        self.mixer
            .capture_sources()
            .into_iter()
            .map(|s| Source { kind: uac_source_kind(s.kind), name: s.name })
            .collect()
    }
    fn selected_source(&self) -> Result<Option<usize>, String> {
        self.mixer.selected_capture_source().map_err(|e| e.to_string())
    }
    fn select_source(&self, index: usize) -> Result<(), String> {
        self.mixer.select_capture_source(index).map_err(|e| e.to_string())
    }
}
