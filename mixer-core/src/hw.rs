//! The device's own mixer controls, as the device-node layers see them
//! (`/dev/mixer`, the ALSA control node): the output volume, the capture
//! gain and the capture source selector of whatever the daemon drives (HDA
//! amplifiers, USB feature and selector units).
//!
//! Neither the mixer nor the node layers may depend on a driver, so the
//! interface is defined here ([`HwControls`]) beside the engine it goes
//! with, and the daemon implements it for each device. Gains are in dB on
//! the control's own grid of steps ([`GainRange`]); each node layer maps its
//! own levels onto those steps (OSS: 0-100 in compat-oss's `mixer`; ALSA:
//! the steps themselves, with a dB scale).

use std::sync::{Arc, Mutex};

/// A gain the mixer can set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Gain {
    /// The device's output volume (the playback path's amplifiers or feature unit).
    Output,
    /// The capture path's gain (of the selected source, where that matters).
    Capture,
    /// One output's own volume ([`HwControls::output_ports`] index), on a
    /// device with several, under [`Gain::Output`] as Linux's virtual
    /// master: what an output plays at is its own level plus the master's
    /// offset from its top.
    Port(u8),
}

/// An output with a volume of its own, named as Linux's HDA driver names
/// its per-output controls ("Headphone", "Speaker", "Line Out", "Front"...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputPort {
    pub label: String,
    /// Which of the outputs with the same label.
    pub index: u32,
}

/// A gain control's steps: step `k` (`0..=steps`) is `min_db + k * step_db`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GainRange {
    pub min_db: f64,
    /// dB per step (> 0).
    pub step_db: f64,
    /// The highest step (the control takes `steps + 1` values).
    pub steps: u32,
    /// Left and right are set apart (otherwise one value for both).
    pub stereo: bool,
    /// The control has a mute (otherwise "muted" is its lowest step).
    pub can_mute: bool,
}

impl GainRange {
    pub fn max_db(&self) -> f64 {
        self.db(self.steps)
    }
    /// dB of step `k` (clamped to the range).
    pub fn db(&self, k: u32) -> f64 {
        self.min_db + f64::from(k.min(self.steps)) * self.step_db
    }
    /// The step nearest `db`, clamped to the range.
    pub fn step_of(&self, db: f64) -> u32 {
        if db == f64::INFINITY {
            return self.steps;
        }
        if self.step_db.is_nan() || self.step_db <= 0.0 || !db.is_finite() {
            return 0;
        }
        ((db - self.min_db) / self.step_db).round().clamp(0.0, f64::from(self.steps)) as u32
    }
}

/// One side (left or right) of a gain: `Some(dB)`, or `None` for muted.
pub type Side = Option<f64>;

/// What a capture source is, which names its OSS channel (`SOUND_MIXER_MIC`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Mic,
    Line,
    Cd,
    /// Aux inputs (OSS's LINE1-LINE3, "aux1" ...).
    Aux,
    /// S/PDIF and other digital inputs.
    Digital,
    Video,
    Radio,
    Phone,
    /// Anything else (an unnamed connector, a mixer's output).
    Other,
}

/// A capture source the hardware can select.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub kind: SourceKind,
    /// What the device calls it ("Mic at 0x18", "Line connector (terminal 2)").
    pub name: String,
}

/// A jack the device reports, named as Linux's drivers label it
/// ("Headphone", "Line Out", "Mic", "Internal Mic"...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jack {
    pub label: String,
    /// Which of the jacks with the same label.
    pub index: u32,
    /// The device cannot sense this jack: it always reads as plugged in.
    pub phantom: bool,
}

/// A device's mixer controls. Errors are messages for the daemon's log (the
/// client sees EIO).
pub trait HwControls: Send + Sync {
    /// The control behind `gain`, or `None` if the device has none.
    fn gain_range(&self, gain: Gain) -> Option<GainRange>;
    /// The gain as the hardware has it now, [left, right] (a mono control
    /// answers the same for both).
    fn gain(&self, gain: Gain) -> Result<[Side; 2], String>;
    /// Set the gain: each side to a dB on the range's grid, or muted. A mono
    /// control takes the left side.
    fn set_gain(&self, gain: Gain, sides: [Side; 2]) -> Result<(), String>;
    /// The outputs with volumes of their own under the output volume
    /// ([`Gain::Port`]); empty when the output volume is the only one.
    fn output_ports(&self) -> Vec<OutputPort> {
        Vec::new()
    }
    /// The capture sources, in the device's order (empty: none selectable).
    fn sources(&self) -> Vec<Source>;
    /// Which of [`HwControls::sources`] is recorded now, if the hardware says.
    fn selected_source(&self) -> Result<Option<usize>, String>;
    /// Record from source `index` (alone).
    fn select_source(&self, index: usize) -> Result<(), String>;
    /// The device's jacks (empty: it reports none).
    fn jacks(&self) -> Vec<Jack> {
        Vec::new()
    }
    /// Whether something is plugged into each of [`HwControls::jacks`] now.
    fn jacks_present(&self) -> Result<Vec<bool>, String> {
        Ok(Vec::new())
    }
    /// Whether the device can silence its speaker when headphones are
    /// plugged in (Linux's "Auto-Mute Mode": Disabled, Enabled).
    fn can_automute(&self) -> bool {
        false
    }
    /// Whether it does now.
    fn automute(&self) -> Result<bool, String> {
        Ok(false)
    }
    /// Turn auto-mute on or off.
    fn set_automute(&self, enabled: bool) -> Result<(), String> {
        let _ = enabled;
        Err("this device has no auto-mute".into())
    }
    /// Service what the device itself reports (a jack plugged in or
    /// pulled out, with what the driver does about it: speaker auto-mute),
    /// returning what may have changed. The daemon calls it a few times a
    /// second; it must be cheap when nothing happened.
    fn poll_events(&self) -> Result<Vec<Change>, String> {
        Ok(Vec::new())
    }
    /// Have `listener` called after every change made through these
    /// controls, by whichever node made it ([`Watched`]); controls that
    /// cannot tell ignore it.
    fn on_change(&self, listener: Listener) {
        let _ = listener;
    }
}

/// What changed on a device's controls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Gain(Gain),
    Source,
    /// A jack was plugged in or pulled out.
    Jacks,
    /// Auto-mute was turned on or off.
    AutoMute,
}

/// Told of each [`Change`].
pub type Listener = Box<dyn Fn(Change) + Send + Sync>;

/// One device's controls shared by several nodes (/dev/mixer and the ALSA
/// control node), telling each listener what any of them changed, so that
/// a level set through one raises the other's event.
pub struct Watched {
    inner: Arc<dyn HwControls>,
    listeners: Mutex<Vec<Listener>>,
}

impl Watched {
    pub fn new(inner: Arc<dyn HwControls>) -> Watched {
        Watched { inner, listeners: Mutex::new(Vec::new()) }
    }
    fn changed(&self, change: Change) {
        for l in self.listeners.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            l(change);
        }
    }
}

impl HwControls for Watched {
    fn gain_range(&self, gain: Gain) -> Option<GainRange> {
        self.inner.gain_range(gain)
    }
    fn gain(&self, gain: Gain) -> Result<[Side; 2], String> {
        self.inner.gain(gain)
    }
    fn set_gain(&self, gain: Gain, sides: [Side; 2]) -> Result<(), String> {
        self.inner.set_gain(gain, sides)?;
        self.changed(Change::Gain(gain));
        Ok(())
    }
    fn output_ports(&self) -> Vec<OutputPort> {
        self.inner.output_ports()
    }
    fn sources(&self) -> Vec<Source> {
        self.inner.sources()
    }
    fn selected_source(&self) -> Result<Option<usize>, String> {
        self.inner.selected_source()
    }
    fn select_source(&self, index: usize) -> Result<(), String> {
        self.inner.select_source(index)?;
        self.changed(Change::Source);
        Ok(())
    }
    fn jacks(&self) -> Vec<Jack> {
        self.inner.jacks()
    }
    fn can_automute(&self) -> bool {
        self.inner.can_automute()
    }
    fn automute(&self) -> Result<bool, String> {
        self.inner.automute()
    }
    fn set_automute(&self, enabled: bool) -> Result<(), String> {
        self.inner.set_automute(enabled)?;
        self.changed(Change::AutoMute);
        Ok(())
    }
    fn jacks_present(&self) -> Result<Vec<bool>, String> {
        self.inner.jacks_present()
    }
    fn poll_events(&self) -> Result<Vec<Change>, String> {
        let changes = self.inner.poll_events()?;
        for c in &changes {
            self.changed(*c);
        }
        Ok(changes)
    }
    fn on_change(&self, listener: Listener) {
        self.listeners.lock().unwrap_or_else(|e| e.into_inner()).push(listener);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_db() {
        // An HDA amp of 74 steps of 1 dB, 0 dB at the top (QEMU's hda-duplex).
        let r = GainRange { min_db: -74.0, step_db: 1.0, steps: 74, stereo: true, can_mute: true };
        assert_eq!(r.max_db(), 0.0);
        assert_eq!(r.db(37), -37.0);
        assert_eq!(r.db(500), 0.0);
        assert_eq!(r.step_of(-37.4), 37);
        assert_eq!(r.step_of(-200.0), 0);
        assert_eq!(r.step_of(12.0), 74);
        assert_eq!(r.step_of(f64::NAN), 0);
        assert_eq!(r.step_of(f64::INFINITY), 74);
    }
}
