//! Programming a codec for the chosen paths: power, connection selects,
//! amplifiers in dB, pin controls, EAPD, and jack detection with
//! speaker auto-mute (as Linux's generic parser does), and HDMI/DisplayPort
//! displays: their ELD, channel allocation and audio InfoFrame.

use super::paths::{InputPath, OutputPath, OutputRole, Plan, Sink};
use super::pin::{caps as pincaps, ctl};
use super::{wcaps, Codec, WidgetKind};
use crate::controller::Controller;
use crate::verb::{
    amp, hdmi, Verb, GET_PIN_SENSE, SET_AMP_GAIN_MUTE, SET_CONNECT_SEL, SET_EAPD_BTL, SET_PIN_WIDGET_CONTROL,
    SET_POWER_STATE, SET_UNSOLICITED_ENABLE,
};
use crate::Result;

/// Unsolicited-response tag for a pin: its node id (fits the 6-bit tag).
pub fn jack_tag(pin: u8) -> u8 {
    pin & 0x3f
}

/// Set one amplifier (both channels) to `db` (clamped to its range), or mute.
fn set_amp(ctrl: &mut Controller, codec: &Codec, nid: u8, output: bool, index: u8, db: f64, mute: bool) -> Result<()> {
    let Some(node) = codec.node(nid) else { return Ok(()) };
    let caps = if output { node.amp_out } else { node.amp_in };
    let Some(caps) = caps else { return Ok(()) };
    let dir = if output { amp::OUTPUT } else { amp::INPUT | amp::index(index) };
    let gain = caps.step_for_db(db) as u16;
    let muted = if mute && caps.can_mute() { amp::MUTE } else { 0 };
    ctrl.send(Verb::long(codec.address, nid, SET_AMP_GAIN_MUTE, dir | amp::LEFT | amp::RIGHT | muted | gain))?;
    Ok(())
}

/// Power up the function group and every widget that has power control.
pub fn power_up(ctrl: &mut Controller, codec: &Codec) -> Result<()> {
    if let Some(afg) = codec.afg {
        ctrl.send(Verb::new(codec.address, afg, SET_POWER_STATE, 0))?;
    }
    for n in codec.nodes.iter().filter(|n| n.has(wcaps::POWER_CNTRL)) {
        ctrl.send(Verb::new(codec.address, n.nid, SET_POWER_STATE, 0))?;
    }
    Ok(())
}

/// Route every hop of `nodes` (source first): select the previous node at
/// selectors and pins, unmute the matching input of mixers, and set every
/// amplifier on the way to 0 dB (output amps) or unmuted 0 dB (inputs).
fn route(ctrl: &mut Controller, codec: &Codec, nodes: &[u8]) -> Result<()> {
    for w in nodes.windows(2) {
        let (from, at) = (w[0], w[1]);
        let Some(node) = codec.node(at) else { continue };
        let Some(index) = node.connections.iter().position(|&c| c == from) else { continue };
        if node.kind() != WidgetKind::Mixer && node.connections.len() > 1 {
            ctrl.send(Verb::new(codec.address, at, SET_CONNECT_SEL, index as u8))?;
        }
        set_amp(ctrl, codec, at, false, index as u8, 0.0, false)?;
    }
    for &nid in nodes {
        set_amp(ctrl, codec, nid, true, 0, 0.0, false)?;
    }
    Ok(())
}

/// Set up one output path: route it, enable the pin's output (with the
/// headphone amp for headphones) and its external amplifier.
pub fn enable_output(ctrl: &mut Controller, codec: &Codec, path: &OutputPath) -> Result<()> {
    route(ctrl, codec, &path.nodes)?;
    let pin = codec.node(path.pin);
    let pin_caps = pin.and_then(|p| p.pin_caps).unwrap_or(0);
    let mut pinctl = ctl::OUT_ENABLE;
    if path.role == OutputRole::Headphone && pin_caps & pincaps::HP_DRIVE != 0 {
        pinctl |= ctl::HP_ENABLE;
    }
    ctrl.send(Verb::new(codec.address, path.pin, SET_PIN_WIDGET_CONTROL, pinctl))?;
    if pin_caps & pincaps::EAPD != 0 {
        ctrl.send(Verb::new(codec.address, path.pin, SET_EAPD_BTL, 0x02))?;
    }
    Ok(())
}

/// Set up one input path: route it and enable the pin's input, with 80%
/// bias voltage for microphones whose pin offers it.
pub fn enable_input(ctrl: &mut Controller, codec: &Codec, path: &InputPath) -> Result<()> {
    route(ctrl, codec, &path.nodes)?;
    let pin_caps = codec.node(path.pin).and_then(|p| p.pin_caps).unwrap_or(0);
    let mut pinctl = ctl::IN_ENABLE;
    if path.role == super::paths::InputRole::Mic && pin_caps & (1 << (8 + 4)) != 0 {
        pinctl |= ctl::VREF_80; // Vref caps bit 4 = 80%
    }
    ctrl.send(Verb::new(codec.address, path.pin, SET_PIN_WIDGET_CONTROL, pinctl))?;
    Ok(())
}

/// Whether something is plugged into `pin` (pin sense bit 31).
pub fn jack_present(ctrl: &mut Controller, codec: &Codec, pin: u8) -> Result<bool> {
    Ok(ctrl.send(Verb::new(codec.address, pin, GET_PIN_SENSE, 0))? & (1 << 31) != 0)
}

/// Turn on unsolicited jack events for every jack that can sense presence
/// (outputs and inputs: [`super::jacks`]).
pub fn enable_jack_events(ctrl: &mut Controller, codec: &Codec, plan: &Plan) -> Result<()> {
    for j in super::jacks::jacks(codec, plan).iter().filter(|j| !j.phantom) {
        ctrl.send(Verb::new(codec.address, j.pin, SET_UNSOLICITED_ENABLE, 0x80 | jack_tag(j.pin)))?;
    }
    Ok(())
}

/// Speaker auto-mute: with headphones plugged in, the speakers (and line
/// outs sharing their DAC are left alone) are silenced by turning their pin
/// output off; unplugged, they come back. With `enabled` false (Linux's
/// "Auto-Mute Mode" set to Disabled) the speakers stay on. Returns whether
/// headphones are in.
pub fn update_automute(ctrl: &mut Controller, codec: &Codec, plan: &Plan, enabled: bool) -> Result<bool> {
    let mut hp_in = false;
    for hp in plan.outputs.iter().filter(|o| o.role == OutputRole::Headphone && o.presence_detect) {
        hp_in |= jack_present(ctrl, codec, hp.pin)?;
    }
    let mute = hp_in && enabled;
    for spk in plan.outputs.iter().filter(|o| o.role == OutputRole::Speaker) {
        let pinctl = if mute { 0 } else { ctl::OUT_ENABLE };
        ctrl.send(Verb::new(codec.address, spk.pin, SET_PIN_WIDGET_CONTROL, pinctl))?;
        let eapd = codec.node(spk.pin).and_then(|n| n.pin_caps).unwrap_or(0) & pincaps::EAPD != 0;
        if eapd {
            ctrl.send(Verb::new(codec.address, spk.pin, SET_EAPD_BTL, if mute { 0 } else { 0x02 }))?;
        }
    }
    Ok(hp_in)
}

/// Whether the codec has what speaker auto-mute acts on: a headphone jack
/// that senses presence and a speaker (Linux then offers "Auto-Mute Mode").
pub fn can_automute(plan: &Plan) -> bool {
    plan.outputs.iter().any(|o| o.role == OutputRole::Headphone && o.presence_detect)
        && plan.outputs.iter().any(|o| o.role == OutputRole::Speaker)
}

/// Set an output path's volume: the last amplifier with steps on the path
/// (closest to the pin) carries the gain, the rest stay at 0 dB. Returns the
/// dB actually set, or `None` if the path has no adjustable amplifier.
pub fn set_output_volume(
    ctrl: &mut Controller,
    codec: &Codec,
    path: &OutputPath,
    db: f64,
    mute: bool,
) -> Result<Option<f64>> {
    let Some(nid) = path
        .nodes
        .iter()
        .rev()
        .copied()
        .find(|&n| codec.node(n).and_then(|x| x.amp_out).is_some_and(|a| a.steps() > 0))
    else {
        return Ok(None);
    };
    let caps = codec.node(nid).and_then(|n| n.amp_out).unwrap_or_default();
    set_amp(ctrl, codec, nid, true, 0, db, mute)?;
    Ok(Some(caps.db(caps.step_for_db(db))))
}

/// Whether `pin` is an HDMI or DisplayPort pin.
pub fn is_display_pin(codec: &Codec, pin: u8) -> bool {
    codec.node(pin).and_then(|n| n.pin_caps).is_some_and(|c| c & (pincaps::HDMI | pincaps::DP) != 0)
}

/// What is on an HDMI/DisplayPort pin: nothing unless the pin senses a
/// display *and* its ELD is valid (Linux's `hdmi_eld_valid`); then the ELD,
/// read byte by byte (Linux's `snd_hdmi_get_eld`) and parsed, or why it was
/// refused. A codec that gives an ELD size of 0 is read for 128 bytes, as
/// Linux does for boards that do so.
pub fn read_display(ctrl: &mut Controller, codec: &Codec, pin: u8) -> Result<Sink> {
    use super::eld::{Eld, EldError, FIXED_BYTES, MAX_SIZE};
    let sense = ctrl.send(Verb::new(codec.address, pin, GET_PIN_SENSE, 0))?;
    if sense & (1 << 31) == 0 || sense & hdmi::SENSE_ELD_VALID == 0 {
        return Ok(Sink::None);
    }
    let mut size = ctrl.send(Verb::new(codec.address, pin, hdmi::GET_DIP_SIZE, hdmi::DIP_SIZE_ELD))? as usize & 0xffff;
    if size == 0 {
        size = 128;
    }
    if size < FIXED_BYTES {
        return Ok(Sink::Malformed(EldError::TooShort(size).to_string()));
    }
    if size > MAX_SIZE {
        return Ok(Sink::Malformed(EldError::TooLong(size).to_string()));
    }
    let mut buf = Vec::with_capacity(size);
    for i in 0..size {
        // MAX_SIZE is 256: every index fits the 8-bit payload.
        let v = ctrl.send(Verb::new(codec.address, pin, hdmi::GET_ELD_DATA, i as u8))?;
        if v & (1 << 31) == 0 {
            return Ok(Sink::Malformed(EldError::InvalidByte(i).to_string()));
        }
        buf.push(v as u8);
    }
    Ok(match Eld::parse(&buf) {
        Ok(e) => Sink::Eld(e),
        Err(e) => Sink::Malformed(e.to_string()),
    })
}

/// Before a stream plays on an HDMI/DisplayPort pin (Linux's
/// `hdmi_setup_audio_infoframe`): the converter's channel count, each
/// channel's slot and the audio InfoFrame with the channel allocation that
/// fits the display's speakers; the InfoFrame is sent as often as possible.
pub fn setup_display_stream(
    ctrl: &mut Controller,
    codec: &Codec,
    converter: u8,
    pin: u8,
    eld: &super::eld::Eld,
    channels: u8,
) -> Result<u8> {
    use super::eld::{audio_infoframe, channel_allocation, slot_map};
    let a = codec.address;
    let ca = channel_allocation(eld.speaker_mask(), channels);
    ctrl.send(Verb::new(a, converter, hdmi::SET_CVT_CHAN_COUNT, channels.saturating_sub(1)))?;
    for slot in slot_map(ca, channels) {
        ctrl.send(Verb::new(a, pin, hdmi::SET_CHAN_SLOT, slot))?;
    }
    ctrl.send(Verb::new(a, pin, hdmi::SET_DIP_INDEX, 0))?;
    ctrl.send(Verb::new(a, pin, hdmi::SET_DIP_XMIT, 0))?;
    let frame = audio_infoframe(eld.connection, channels, ca);
    if frame.is_empty() {
        return Ok(ca);
    }
    ctrl.send(Verb::new(a, pin, hdmi::SET_DIP_INDEX, 0))?;
    for byte in frame {
        ctrl.send(Verb::new(a, pin, hdmi::SET_DIP_DATA, byte))?;
    }
    ctrl.send(Verb::new(a, pin, hdmi::SET_DIP_INDEX, 0))?;
    ctrl.send(Verb::new(a, pin, hdmi::SET_DIP_XMIT, hdmi::DIP_XMIT_BEST))?;
    Ok(ca)
}
