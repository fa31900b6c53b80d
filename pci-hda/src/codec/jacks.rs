//! The codec's jacks as Linux's HDA driver reports them (`hda_jack.c`,
//! `snd_hda_get_pin_label`): one per routed pin, labelled from the pin's
//! configuration default, and whether the codec can tell that something is
//! plugged in. A pin that cannot (no presence detect, detection overridden
//! off, no unsolicited responses) or that is not a plain jack (fixed or
//! both) is a *phantom* jack: always reported as present.

use super::paths::{InputRole, OutputRole, Plan};
use super::pin::{caps, Connectivity, Device, PinConfig};
use super::{wcaps, Codec};

/// One jack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jack {
    pub pin: u8,
    /// "Headphone", "Line Out", "Mic", "Internal Mic", "Line", ...
    pub label: String,
    /// Which of the jacks with the same label (Linux's control index).
    pub index: u32,
    /// Cannot sense presence: always present.
    pub phantom: bool,
}

/// Linux's `snd_hda_get_input_pin_attr`, as far as labels need it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Internal,
    Dock,
    Rear,
    Front,
    Normal,
}

fn place(config: PinConfig) -> Place {
    let loc = config.location();
    match config.connectivity() {
        Connectivity::Fixed | Connectivity::Both => return Place::Internal,
        _ => {}
    }
    match (loc & 0x30, loc) {
        (0x10, _) => Place::Internal,
        (0x20, _) => Place::Dock,
        (_, 0x01) => Place::Rear,
        (_, 0x02) => Place::Front,
        _ => Place::Normal,
    }
}

/// Whether the codec can report jack presence on `pin` (Linux's
/// `is_jack_detectable`, without jack polling).
pub fn detectable(codec: &Codec, pin: u8) -> bool {
    let Some(node) = codec.node(pin) else { return false };
    let config = PinConfig(node.pin_config.unwrap_or(0));
    node.pin_caps.unwrap_or(0) & caps::PRESENCE_DETECT != 0
        && !config.no_presence_detect()
        && node.has(wcaps::UNSOL_CAPABLE)
}

fn input_label(config: PinConfig) -> &'static str {
    match (config.device(), place(config)) {
        (Device::MicIn, Place::Internal) => "Internal Mic",
        (Device::MicIn, Place::Dock) => "Dock Mic",
        (Device::MicIn, Place::Rear) => "Rear Mic",
        (Device::MicIn, Place::Front) => "Front Mic",
        (Device::MicIn, _) => "Mic",
        (Device::LineIn, Place::Internal) => "Internal Line",
        (Device::LineIn, Place::Dock) => "Dock Line",
        (Device::LineIn, _) => "Line",
        (Device::Aux, _) => "Aux",
        (Device::Cd, _) => "CD",
        (Device::SpdifIn, _) => "SPDIF In",
        (Device::DigitalOtherIn, _) => "Digital In",
        (Device::HpOut, _) => "Headphone Mic",
        _ => "Misc",
    }
}

/// An output's label: its kind, and among several line outs or speakers
/// the channel pair it carries (Linux's `fill_audio_out_name`).
fn output_label(config: PinConfig, role: OutputRole, nth: usize, of: usize) -> String {
    let base = match (config.device(), role) {
        (Device::LineOut, _) if place(config) == Place::Internal => "Speaker",
        (_, OutputRole::Headphone) => "Headphone",
        (_, OutputRole::Speaker) => "Speaker",
        (_, OutputRole::Digital) => "SPDIF",
        (Device::HpOut, _) => "Headphone",
        (Device::Speaker, _) => "Speaker",
        _ => "Line Out",
    };
    let suffix = match (role, of) {
        (OutputRole::LineOut | OutputRole::Speaker, 2..) => [" Front", " Surround", " CLFE", ""].get(nth).copied(),
        _ => None,
    };
    format!("{base}{}", suffix.unwrap_or(""))
}

/// The jacks of a planned codec, in the order Linux adds their controls:
/// inputs, line outs, headphones, speakers, digital, mono.
pub fn jacks(codec: &Codec, plan: &Plan) -> Vec<Jack> {
    let mut out: Vec<Jack> = Vec::new();
    let mut add = |pin: u8, label: String| {
        let Some(config) = codec.node(pin).and_then(|n| n.pin_config).map(PinConfig) else { return };
        if config.connectivity() == Connectivity::None || out.iter().any(|j| j.pin == pin) {
            return;
        }
        let phantom = config.connectivity() != Connectivity::Jack || !detectable(codec, pin);
        let label = if phantom { format!("{label} Phantom") } else { label };
        let index = out.iter().filter(|j| j.label == label).count() as u32;
        out.push(Jack { pin, label, index, phantom });
    };
    for i in plan.inputs.iter().filter(|i| i.role != InputRole::Digital) {
        if let Some(c) = codec.node(i.pin).and_then(|n| n.pin_config) {
            add(i.pin, input_label(PinConfig(c)).to_string());
        }
    }
    for role in [OutputRole::LineOut, OutputRole::Headphone, OutputRole::Speaker, OutputRole::Digital] {
        let pins: Vec<u8> = plan.outputs.iter().filter(|o| o.role == role).map(|o| o.pin).collect();
        for (nth, &pin) in pins.iter().enumerate() {
            if let Some(c) = codec.node(pin).and_then(|n| n.pin_config) {
                add(pin, output_label(PinConfig(c), role, nth, pins.len()));
            }
        }
    }
    for i in plan.inputs.iter().filter(|i| i.role == InputRole::Digital) {
        if let Some(c) = codec.node(i.pin).and_then(|n| n.pin_config) {
            add(i.pin, input_label(PinConfig(c)).to_string());
        }
    }
    for o in plan.outputs.iter().filter(|o| o.role == OutputRole::Mono) {
        add(o.pin, "Mono Out".to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::paths::plan;
    use crate::codec::paths::tests::{alc269, pin};

    fn names(codec: &Codec) -> Vec<String> {
        jacks(codec, &plan(codec))
            .iter()
            .map(|j| if j.index > 0 { format!("{} Jack,{}", j.label, j.index) } else { format!("{} Jack", j.label) })
            .collect()
    }

    #[test]
    fn a_laptop_codec_has_its_jacks_named_as_linux_names_them() {
        // ALC269 (Eee PC 1000): internal mic (fixed), rear mic jack,
        // headphone jack with presence detect, internal speaker (fixed).
        let c = alc269();
        assert_eq!(names(&c), ["Internal Mic Phantom Jack", "Rear Mic Jack", "Headphone Jack", "Speaker Phantom Jack"]);
    }

    #[test]
    fn jacks_that_cannot_sense_are_phantoms_and_twins_get_an_index() {
        let mut c = alc269();
        // Detection overridden off on the headphone pin (misc bit 0).
        c.nodes.iter_mut().find(|n| n.nid == 0x15).unwrap().pin_config = Some(0x0121_411f);
        // A second headphone jack at the front.
        c.nodes.push(pin(0x1b, 0x0221_4020, &[0x0c, 0x0d], Some(0)));
        let n = names(&c);
        assert!(n.contains(&"Headphone Phantom Jack".to_string()), "{n:?}");
        assert!(n.contains(&"Headphone Jack".to_string()), "{n:?}");
        // No unsolicited responses: a phantom too.
        let mut c = alc269();
        c.nodes.iter_mut().find(|n| n.nid == 0x15).unwrap().wcaps &= !wcaps::UNSOL_CAPABLE;
        assert!(names(&c).contains(&"Headphone Phantom Jack".to_string()));
    }

    #[test]
    fn line_outs_carry_their_channel_pair() {
        let mut c = alc269();
        // Two line outs of one association: front and surround.
        c.nodes.push(pin(0x16, 0x0101_4010, &[0x0c, 0x0d], Some(0)));
        c.nodes.push(pin(0x17, 0x0101_4011, &[0x0c, 0x0d], Some(1)));
        c.nodes.retain(|n| !(n.nid == 0x16 && n.pin_config == Some(0x4111_11f0)));
        let n = names(&c);
        assert!(n.contains(&"Line Out Front Jack".to_string()), "{n:?}");
        assert!(n.contains(&"Line Out Surround Jack".to_string()), "{n:?}");
    }
}
