//! Reading a codec's graph from hardware through GET_PARAMETER and the
//! other GET verbs (HDA spec §7.3.3-4).

use super::{wcaps, AmpCaps, Codec, Node, PcmCaps, WidgetKind};
use crate::controller::Controller;
use crate::verb::{param, Verb, GET_PARAMETER};
use crate::{Error, Result};

/// GET verbs used while reading the graph.
const GET_CONNECTION_SELECT: u16 = 0xf01;
const GET_CONNECTION_LIST_ENTRY: u16 = 0xf02;
const GET_PIN_WIDGET_CONTROL: u16 = 0xf07;
const GET_EAPD_BTL: u16 = 0xf0c;
const GET_CONFIG_DEFAULT: u16 = 0xf1c;
const GET_SUBSYSTEM_ID: u16 = 0xf20;
/// Longest connection list the spec allows (7-bit length).
const MAX_CONNECTIONS: u32 = 127;

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

/// Decode connection list entries from GET_CONNECTION_LIST_ENTRY responses,
/// expanding ranges (spec §7.3.3.3). Bad ranges are skipped with a warning.
pub fn decode_connections(responses: &[u32], long_form: bool, len: usize) -> Vec<u8> {
    let (per, bits) = if long_form { (2, 16) } else { (4, 8) };
    let mask = (1u32 << bits) - 1;
    let range_bit = 1u32 << (bits - 1);
    let mut out: Vec<u8> = Vec::new();
    for i in 0..len {
        let Some(resp) = responses.get(i / per) else { break };
        let entry = (resp >> ((i % per) * bits)) & mask;
        let nid = (entry & (range_bit - 1)) as u8;
        if entry & range_bit != 0 {
            match out.last().copied() {
                Some(prev) if prev < nid && nid - prev <= 32 => out.extend(prev + 1..=nid),
                _ => log::warn!("connection list range to {nid:#04x} without a valid start: ignored"),
            }
        } else {
            out.push(nid);
        }
    }
    out
}

/// Read a codec's identity, its audio function group and every widget in it.
pub fn read_codec(ctrl: &mut Controller, address: u8) -> Result<Codec> {
    read_codec_with(address, |nid, verb, data| ctrl.send(Verb::new(address, nid, verb, data)))
}

/// [`read_codec`] through any verb transport: `cmd(nid, verb, data)` sends
/// one GET verb to the codec at `address` and returns its response (a
/// controller, an emulator, or a fuzzer answering whatever it likes).
pub fn read_codec_with(address: u8, mut cmd: impl FnMut(u8, u16, u8) -> Result<u32>) -> Result<Codec> {
    let mut codec = Codec {
        address,
        vendor_id: cmd(0, GET_PARAMETER, param::VENDOR_ID)?,
        revision_id: cmd(0, GET_PARAMETER, param::REVISION_ID)?,
        ..Codec::default()
    };
    // Intel's display codecs hide pins and connections until told not to.
    if super::intel_hides_display_pins(codec.vendor_id) {
        let v = cmd(super::INTEL_VENDOR_NID, super::INTEL_GET_VENDOR_VERB, 0)?;
        if v != u32::MAX && v & super::INTEL_EN_ALL_PIN_CVTS == 0 {
            cmd(super::INTEL_VENDOR_NID, super::INTEL_SET_VENDOR_VERB, (v | super::INTEL_EN_ALL_PIN_CVTS) as u8)?;
        }
    }
    for fg in subnodes(address, 0, cmd(0, GET_PARAMETER, param::SUBORDINATE_NODE_COUNT)?)? {
        if cmd(fg, GET_PARAMETER, param::FUNCTION_GROUP_TYPE)? & 0xff != 1 {
            continue; // modem or vendor function group
        }
        codec.afg = Some(fg);
        codec.subsystem_id = cmd(fg, GET_SUBSYSTEM_ID, 0)?;
        codec.default_pcm = PcmCaps {
            pcm: cmd(fg, GET_PARAMETER, param::PCM)?,
            formats: cmd(fg, GET_PARAMETER, param::STREAM_FORMATS)?,
        };
        codec.default_amp_in = AmpCaps(cmd(fg, GET_PARAMETER, param::AMP_IN_CAP)?);
        codec.default_amp_out = AmpCaps(cmd(fg, GET_PARAMETER, param::AMP_OUT_CAP)?);
        for nid in subnodes(address, fg, cmd(fg, GET_PARAMETER, param::SUBORDINATE_NODE_COUNT)?)? {
            let w = cmd(nid, GET_PARAMETER, param::AUDIO_WIDGET_CAP)?;
            let mut node = Node { nid, wcaps: w, ..Node::default() };
            let own = w & wcaps::AMP_OVERRIDE != 0;
            if w & wcaps::IN_AMP != 0 {
                node.amp_in =
                    Some(if own { AmpCaps(cmd(nid, GET_PARAMETER, param::AMP_IN_CAP)?) } else { codec.default_amp_in });
            }
            if w & wcaps::OUT_AMP != 0 {
                node.amp_out = Some(if own {
                    AmpCaps(cmd(nid, GET_PARAMETER, param::AMP_OUT_CAP)?)
                } else {
                    codec.default_amp_out
                });
            }
            let kind = node.kind();
            if matches!(kind, WidgetKind::AudioOutput | WidgetKind::AudioInput) {
                node.pcm = Some(if w & wcaps::FORMAT_OVERRIDE != 0 {
                    PcmCaps {
                        pcm: cmd(nid, GET_PARAMETER, param::PCM)?,
                        formats: cmd(nid, GET_PARAMETER, param::STREAM_FORMATS)?,
                    }
                } else {
                    codec.default_pcm
                });
            }
            if kind == WidgetKind::Pin {
                let caps = cmd(nid, GET_PARAMETER, param::PIN_CAP)?;
                node.pin_caps = Some(caps);
                node.pin_config = Some(cmd(nid, GET_CONFIG_DEFAULT, 0)?);
                node.pin_ctl = Some(cmd(nid, GET_PIN_WIDGET_CONTROL, 0)? as u8);
                if caps & super::pin::caps::EAPD != 0 {
                    node.eapd = Some(cmd(nid, GET_EAPD_BTL, 0)? as u8);
                }
            }
            if w & wcaps::CONN_LIST != 0 {
                let len_resp = cmd(nid, GET_PARAMETER, param::CONN_LIST_LEN)?;
                let len = (len_resp & 0x7f).min(MAX_CONNECTIONS) as usize;
                let long_form = len_resp & 0x80 != 0;
                let per = if long_form { 2 } else { 4 };
                let mut responses = Vec::new();
                for i in (0..len).step_by(per) {
                    responses.push(cmd(nid, GET_CONNECTION_LIST_ENTRY, i as u8)?);
                }
                node.connections = decode_connections(&responses, long_form, len);
                if node.connections.len() > 1 && kind != WidgetKind::Mixer && kind != WidgetKind::Power {
                    let sel = cmd(nid, GET_CONNECTION_SELECT, 0)? as usize & 0xff;
                    node.selected = (sel < node.connections.len()).then_some(sel);
                } else if node.connections.len() == 1 && kind != WidgetKind::Mixer {
                    node.selected = Some(0);
                }
            }
            codec.nodes.push(node);
        }
        break;
    }
    Ok(codec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ranges_are_checked() {
        assert_eq!(subnodes(0, 1, 0x0002_0004).unwrap(), 2..6);
        assert!(subnodes(0, 1, 0x007f_0004).is_err());
        assert!(subnodes(0, 1, 0x0000_0004).is_err());
    }

    #[test]
    fn connection_lists_decode_with_ranges() {
        // Short form: 0x02, 0x03, range to 0x06, 0x0b.
        assert_eq!(decode_connections(&[0x0b86_0302], false, 4), vec![2, 3, 4, 5, 6, 0x0b]);
        // Long form, two per response.
        assert_eq!(decode_connections(&[0x0015_0014, 0x0000_0018], true, 3), vec![0x14, 0x15, 0x18]);
        // A range with no start is dropped, not trusted.
        assert_eq!(decode_connections(&[0x0000_0085], false, 1), Vec::<u8>::new());
        // A list shorter than its stated length stops at what was read.
        assert_eq!(decode_connections(&[0x0403_0201], false, 9), vec![1, 2, 3, 4]);
    }
}
