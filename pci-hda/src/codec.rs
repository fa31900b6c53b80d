//! Codec discovery: the function groups and widgets a codec reports through
//! GET_PARAMETER (HDA spec §7.3.4). The path-finding parser builds on this.

use crate::controller::Controller;
use crate::verb::{param, Verb, GET_PARAMETER};
use crate::{Error, Result};

/// Widget types (Audio Widget Capabilities bits 23:20).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WidgetKind {
    AudioOutput,
    AudioInput,
    Mixer,
    Selector,
    Pin,
    Power,
    VolumeKnob,
    BeepGenerator,
    VendorDefined,
    Reserved(u8),
}

impl From<u32> for WidgetKind {
    fn from(caps: u32) -> WidgetKind {
        match ((caps >> 20) & 0xf) as u8 {
            0 => WidgetKind::AudioOutput,
            1 => WidgetKind::AudioInput,
            2 => WidgetKind::Mixer,
            3 => WidgetKind::Selector,
            4 => WidgetKind::Pin,
            5 => WidgetKind::Power,
            6 => WidgetKind::VolumeKnob,
            7 => WidgetKind::BeepGenerator,
            0xf => WidgetKind::VendorDefined,
            other => WidgetKind::Reserved(other),
        }
    }
}

/// One widget of an audio function group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Widget {
    pub nid: u8,
    pub kind: WidgetKind,
    /// Audio Widget Capabilities, raw.
    pub caps: u32,
}

/// What a codec says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodecInfo {
    pub address: u8,
    pub vendor_id: u32,
    pub revision_id: u32,
    /// Node id of the audio function group, if the codec has one.
    pub audio_function_group: Option<u8>,
    pub widgets: Vec<Widget>,
}

impl CodecInfo {
    /// Widgets of one kind, in node order.
    pub fn widgets_of(&self, kind: WidgetKind) -> impl Iterator<Item = &Widget> {
        self.widgets.iter().filter(move |w| w.kind == kind)
    }
}

/// Split a Subordinate Node Count response into a node range.
fn subnodes(codec: u8, nid: u8, resp: u32) -> Result<std::ops::Range<u8>> {
    let start = (resp >> 16) & 0xff;
    let count = resp & 0xff;
    if start == 0 || start + count > 0x80 {
        return Err(Error::Hardware {
            device: format!("codec {codec}"),
            what: format!("node {nid:#04x} reports subordinate nodes {start}..{} (outside 1..127)", start + count),
        });
    }
    Ok(start as u8..(start + count) as u8)
}

/// Read a codec's identity, its audio function group and every widget in it.
pub fn read_codec(ctrl: &mut Controller, codec: u8) -> Result<CodecInfo> {
    let mut get = |nid: u8, p: u8| ctrl.send(Verb::new(codec, nid, GET_PARAMETER, p));
    let vendor_id = get(0, param::VENDOR_ID)?;
    let revision_id = get(0, param::REVISION_ID)?;
    let mut info =
        CodecInfo { address: codec, vendor_id, revision_id, audio_function_group: None, widgets: Vec::new() };
    for fg in subnodes(codec, 0, get(0, param::SUBORDINATE_NODE_COUNT)?)? {
        if get(fg, param::FUNCTION_GROUP_TYPE)? & 0xff != 1 {
            continue; // modem or vendor function group
        }
        info.audio_function_group = Some(fg);
        for nid in subnodes(codec, fg, get(fg, param::SUBORDINATE_NODE_COUNT)?)? {
            let caps = get(nid, param::AUDIO_WIDGET_CAP)?;
            info.widgets.push(Widget { nid, kind: WidgetKind::from(caps), caps });
        }
        break;
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widget_kinds_and_node_ranges() {
        assert_eq!(WidgetKind::from(0x0000_0011), WidgetKind::AudioOutput);
        assert_eq!(WidgetKind::from(0x0040_0181), WidgetKind::Pin);
        assert_eq!(WidgetKind::from(0x00f0_0000), WidgetKind::VendorDefined);
        assert_eq!(subnodes(0, 1, 0x0002_0004).unwrap(), 2..6);
        assert!(subnodes(0, 1, 0x007f_0004).is_err());
        assert!(subnodes(0, 1, 0x0000_0004).is_err());
    }
}
