//! Mixer controls on the chosen paths, found where Linux's generic parser
//! (sound/pci/hda/hda_generic.c) puts its "Playback Volume", "Capture
//! Volume" and "Capture Source":
//!
//! - an output path's volume is the output amplifier with steps nearest the
//!   pin (`look_for_out_vol_nid`); where that one cannot mute, the path's
//!   mute is the output amplifier with a mute bit nearest the pin
//!   (`look_for_out_mute_nid`), else a mixer's input on the path;
//! - an input path's capture volume is within the 3 widgets nearest the
//!   ADC: the first with an output amplifier with steps, else with an input
//!   amplifier with steps on the path's own connection (`parse_capvol_in_path`);
//! - the capture source is one of the input paths into the ADC: at
//!   selectors (and an ADC with several connections) it is selected, at
//!   mixers its input is unmuted and the other sources' inputs are muted
//!   (Linux's `mux_select` activating one path and deactivating the old).
//!
//! Gains are read and written as amplifier steps; [`AmpControl`] converts
//! dB (the amplifier's own caps say how many dB a step is).

use super::paths::{InputPath, OutputPath, Plan};
use super::{wcaps, AmpCaps, Codec, WidgetKind};
use crate::controller::Controller;
use crate::verb::{amp, amp_get, Verb, GET_AMP_GAIN_MUTE, GET_CONNECT_SEL, SET_AMP_GAIN_MUTE, SET_CONNECT_SEL};
use crate::Result;

/// An amplifier that carries a control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AmpControl {
    pub nid: u8,
    /// The widget's output amplifier, or its input amplifier at `index`.
    pub output: bool,
    pub index: u8,
    pub caps: AmpCaps,
    /// Left and right are apart (the widget is stereo).
    pub stereo: bool,
}

/// One channel of an amplifier as the codec has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AmpValue {
    /// The gain register (0 ..= steps).
    pub step: u32,
    pub muted: bool,
}

impl AmpControl {
    /// The amplifier of `nid` (its output one, or input `index`), if it has
    /// steps to set.
    pub fn of(codec: &Codec, nid: u8, output: bool, index: u8) -> Option<AmpControl> {
        let node = codec.node(nid)?;
        let caps = if output { node.amp_out } else { node.amp_in }?;
        let present = node.has(if output { wcaps::OUT_AMP } else { wcaps::IN_AMP });
        (present && caps.steps() > 0).then_some(AmpControl {
            nid,
            output,
            index,
            caps,
            stereo: node.has(wcaps::STEREO),
        })
    }
    /// dB of step 0.
    pub fn min_db(&self) -> f64 {
        self.caps.db(0)
    }
    /// dB per step.
    pub fn step_db(&self) -> f64 {
        f64::from(self.caps.step_size() + 1) * 0.25
    }
    /// The highest step.
    pub fn steps(&self) -> u32 {
        self.caps.steps()
    }
    pub fn can_mute(&self) -> bool {
        self.caps.can_mute()
    }
    /// dB of a value; `None` when muted.
    pub fn db(&self, v: AmpValue) -> Option<f64> {
        (!v.muted).then(|| self.caps.db(v.step))
    }
}

/// Where a path's volume is: its output amplifier with steps nearest the pin.
pub fn output_volume(codec: &Codec, path: &OutputPath) -> Option<AmpControl> {
    path.nodes.iter().rev().find_map(|&nid| AmpControl::of(codec, nid, true, 0))
}

/// Where an output path's mute is: the output amplifier with a mute bit
/// nearest the pin, else the input amplifier with a mute bit on the path's
/// connection at a mixer on it (nearest the pin first). Its gain is not
/// touched (it may have no steps at all).
pub fn output_mute(codec: &Codec, path: &OutputPath) -> Option<AmpControl> {
    let mute_amp = |nid: u8, output: bool, index: u8| -> Option<AmpControl> {
        let node = codec.node(nid)?;
        let caps = if output { node.amp_out } else { node.amp_in }?;
        let present = node.has(if output { wcaps::OUT_AMP } else { wcaps::IN_AMP });
        (present && caps.can_mute()).then_some(AmpControl { nid, output, index, caps, stereo: node.has(wcaps::STEREO) })
    };
    path.nodes.iter().rev().find_map(|&nid| mute_amp(nid, true, 0)).or_else(|| {
        let hops: Vec<(u8, u8, u8)> = hops(codec, &path.nodes).collect();
        hops.into_iter().rev().find_map(|(_, at, index)| {
            codec.node(at).filter(|n| n.kind() == WidgetKind::Mixer)?;
            mute_amp(at, false, index)
        })
    })
}

/// Set an amplifier's mute bits, [left, right], keeping its gain.
pub fn set_amp_mute(ctrl: &mut Controller, address: u8, a: &AmpControl, muted: [bool; 2]) -> Result<()> {
    let [l, r] = read_amp(ctrl, address, a)?;
    write_amp(ctrl, address, a, [AmpValue { muted: muted[0], ..l }, AmpValue { muted: muted[1], ..r }])
}

/// Where an input path's capture volume is: of the 3 widgets nearest the
/// ADC, the first with an output amplifier with steps, or with an input
/// amplifier with steps on the path's connection.
pub fn capture_volume(codec: &Codec, path: &InputPath) -> Option<AmpControl> {
    let n = path.nodes.len();
    (0..3.min(n)).find_map(|depth| {
        let i = n - 1 - depth;
        let nid = path.nodes[i];
        AmpControl::of(codec, nid, true, 0).or_else(|| {
            let from = *path.nodes.get(i.checked_sub(1)?)?;
            let index = codec.node(nid)?.connections.iter().position(|&c| c == from)?;
            AmpControl::of(codec, nid, false, u8::try_from(index).ok()?)
        })
    })
}

fn amp_dir(a: &AmpControl) -> u16 {
    if a.output {
        amp::OUTPUT
    } else {
        amp::INPUT | amp::index(a.index)
    }
}

/// Read an amplifier, [left, right] (a mono one answers left for both).
pub fn read_amp(ctrl: &mut Controller, address: u8, a: &AmpControl) -> Result<[AmpValue; 2]> {
    let dir = if a.output { amp_get::OUTPUT } else { amp_get::index(a.index) };
    let mut side = |left: bool| -> Result<AmpValue> {
        let bits = if left { amp_get::LEFT } else { 0 };
        let r = ctrl.send(Verb::long(address, a.nid, GET_AMP_GAIN_MUTE, dir | bits))?;
        Ok(AmpValue { step: r & 0x7f, muted: r & 0x80 != 0 })
    };
    let left = side(true)?;
    let right = if a.stereo { side(false)? } else { left };
    Ok([left, right])
}

/// Write an amplifier, [left, right] (a mono one takes left).
pub fn write_amp(ctrl: &mut Controller, address: u8, a: &AmpControl, v: [AmpValue; 2]) -> Result<()> {
    let word = |v: AmpValue| {
        let mute = if v.muted && a.can_mute() { amp::MUTE } else { 0 };
        mute | (v.step.min(a.steps()) as u16 & 0x7f)
    };
    if !a.stereo || v[0] == v[1] {
        let verb = Verb::long(address, a.nid, SET_AMP_GAIN_MUTE, amp_dir(a) | amp::LEFT | amp::RIGHT | word(v[0]));
        ctrl.send(verb)?;
    } else {
        for (side, v) in [(amp::LEFT, v[0]), (amp::RIGHT, v[1])] {
            ctrl.send(Verb::long(address, a.nid, SET_AMP_GAIN_MUTE, amp_dir(a) | side | word(v)))?;
        }
    }
    Ok(())
}

/// Set an amplifier in dB, [left, right]: each side to the nearest step
/// (clamped to the range), `None` muted (at step 0; step 0 alone where it
/// cannot mute).
pub fn set_amp_db(ctrl: &mut Controller, address: u8, a: &AmpControl, db: [Option<f64>; 2]) -> Result<()> {
    let value = |d: Option<f64>| match d {
        Some(d) if d.is_finite() => AmpValue { step: a.caps.step_for_db(d), muted: false },
        Some(d) if d > 0.0 => AmpValue { step: a.steps(), muted: false },
        _ => AmpValue { step: 0, muted: true },
    };
    write_amp(ctrl, address, a, [value(db[0]), value(db[1])])
}

/// Mute or unmute one input of a mixer, keeping its gain.
fn set_input_mute(ctrl: &mut Controller, codec: &Codec, nid: u8, index: u8, muted: bool) -> Result<()> {
    let Some(node) = codec.node(nid) else { return Ok(()) };
    let Some(caps) = node.amp_in.filter(|c| c.can_mute() && node.has(wcaps::IN_AMP)) else { return Ok(()) };
    let a = AmpControl { nid, output: false, index, caps, stereo: node.has(wcaps::STEREO) };
    let [l, r] = read_amp(ctrl, codec.address, &a)?;
    write_amp(ctrl, codec.address, &a, [AmpValue { muted, ..l }, AmpValue { muted, ..r }])
}

/// The hops of a path (source first) as (from, at, index of `from` in
/// `at`'s connections).
fn hops<'a>(codec: &'a Codec, nodes: &'a [u8]) -> impl Iterator<Item = (u8, u8, u8)> + 'a {
    nodes.windows(2).filter_map(|w| {
        let index = codec.node(w[1])?.connections.iter().position(|&c| c == w[0])?;
        Some((w[0], w[1], u8::try_from(index).ok()?))
    })
}

/// Whether `at` chooses among its inputs with a connection select (a
/// selector, a pin or an ADC with several connections; mixers sum).
fn selects(codec: &Codec, at: u8) -> bool {
    codec.node(at).is_some_and(|n| n.kind() != WidgetKind::Mixer && n.connections.len() > 1)
}

/// Whether an input path is live now: every selector on it selects it and
/// every mixer on it has its input unmuted (as far as it can mute).
pub fn input_active(ctrl: &mut Controller, codec: &Codec, path: &InputPath) -> Result<bool> {
    for (_, at, index) in hops(codec, &path.nodes) {
        if selects(codec, at) {
            let sel = ctrl.send(Verb::new(codec.address, at, GET_CONNECT_SEL, 0))?;
            if sel & 0xff != u32::from(index) {
                return Ok(false);
            }
        } else if codec.node(at).is_some_and(|n| n.kind() == WidgetKind::Mixer) {
            let Some(node) = codec.node(at) else { continue };
            let Some(caps) = node.amp_in.filter(|c| c.can_mute() && node.has(wcaps::IN_AMP)) else { continue };
            let a = AmpControl { nid: at, output: false, index, caps, stereo: node.has(wcaps::STEREO) };
            if read_amp(ctrl, codec.address, &a)?[0].muted {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Make `path` the one source its ADC records: select it at every selector
/// on its way, unmute its input at every mixer, and mute the other sources'
/// inputs at mixers it does not pass the same way.
pub fn select_input(ctrl: &mut Controller, codec: &Codec, plan: &Plan, path: &InputPath) -> Result<()> {
    let ours: Vec<(u8, u8, u8)> = hops(codec, &path.nodes).collect();
    for other in plan.inputs.iter().filter(|i| i.adc == path.adc && i.pin != path.pin) {
        for (from, at, index) in hops(codec, &other.nodes) {
            let mixer = codec.node(at).is_some_and(|n| n.kind() == WidgetKind::Mixer);
            if mixer && !ours.contains(&(from, at, index)) {
                set_input_mute(ctrl, codec, at, index, true)?;
            }
        }
    }
    for &(_, at, index) in &ours {
        if selects(codec, at) {
            ctrl.send(Verb::new(codec.address, at, SET_CONNECT_SEL, index))?;
        } else if codec.node(at).is_some_and(|n| n.kind() == WidgetKind::Mixer) {
            set_input_mute(ctrl, codec, at, index, false)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::paths::{InputRole, OutputRole};
    use crate::codec::Node;

    fn node(nid: u8, wcaps: u32, conns: &[u8], amp_in: Option<u32>, amp_out: Option<u32>) -> Node {
        Node {
            nid,
            wcaps,
            connections: conns.to_vec(),
            amp_in: amp_in.map(AmpCaps),
            amp_out: amp_out.map(AmpCaps),
            ..Node::default()
        }
    }

    const MUTE: u32 = 1 << 31;
    /// 31 steps of 1.5 dB, 0 dB at the top.
    const STEPS: u32 = 0x1f | (0x1f << 8) | (5 << 16);

    /// DAC 0x02 -> mixer 0x0c (output amp with steps, no mute; input amps
    /// mute only) -> pin 0x14 without amps; pin 0x18 -> selector 0x22
    /// (output amp with steps) -> ADC 0x08 (input amp with steps).
    fn codec() -> Codec {
        Codec {
            nodes: vec![
                node(0x02, 0x0000_0001, &[], None, None),
                node(0x08, 0x0010_0103, &[0x22], Some(MUTE | STEPS), None),
                node(0x0c, 0x0020_0107, &[0x02, 0x0b], Some(MUTE), Some(STEPS)),
                node(0x14, 0x0040_0101, &[0x0c], None, None),
                node(0x18, 0x0040_0001, &[], None, None),
                node(0x22, 0x0030_0105, &[0x19, 0x18], None, Some(STEPS)),
            ],
            ..Codec::default()
        }
    }

    #[test]
    fn volume_and_mute_of_an_output_path() {
        let c = codec();
        let path = OutputPath {
            pin: 0x14,
            role: OutputRole::LineOut,
            fixed: false,
            presence_detect: false,
            dac: 0x02,
            nodes: vec![0x02, 0x0c, 0x14],
            shared: false,
        };
        let vol = output_volume(&c, &path).unwrap();
        assert_eq!((vol.nid, vol.output, vol.steps(), vol.can_mute()), (0x0c, true, 31, false));
        assert_eq!((vol.min_db(), vol.step_db()), (-46.5, 1.5));
        // No output amp with a mute on the way: the mixer's input from the DAC.
        let mute = output_mute(&c, &path).unwrap();
        assert_eq!((mute.nid, mute.output, mute.index), (0x0c, false, 0));
    }

    #[test]
    fn capture_volume_prefers_an_output_amp_near_the_adc() {
        let c = codec();
        let path =
            InputPath { pin: 0x18, role: InputRole::Mic, fixed: false, adc: 0x08, nodes: vec![0x18, 0x22, 0x08] };
        // The ADC's own input amp comes first (depth 0), on connection 0.
        let a = capture_volume(&c, &path).unwrap();
        assert_eq!((a.nid, a.output, a.index), (0x08, false, 0));
        // Without it, the selector's output amp one widget back.
        let mut c2 = c.clone();
        c2.nodes[1] = node(0x08, 0x0010_0101, &[0x22], None, None);
        let a = capture_volume(&c2, &path).unwrap();
        assert_eq!((a.nid, a.output), (0x22, true));
    }
}
