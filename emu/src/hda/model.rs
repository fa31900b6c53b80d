//! An emulated codec built from a codec model (a real codec's dump, parsed by
//! `outboard_hda::codec::dump`): it answers every GET_PARAMETER and GET verb
//! the driver uses from the model, keeps the state the SET verbs change
//! (stream ids, formats, selects, amps, pin controls, EAPD, power,
//! unsolicited enables), and routes stream data by tag to its converters.
//! Tests read that state back to check what the driver programmed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use outboard_hda::codec::{Codec, WidgetKind};

use super::codec::CodecModel;

/// What the driver has set on one node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeState {
    pub stream: u8,
    pub format: u16,
    pub select: u8,
    pub pin_ctl: u8,
    pub eapd: u8,
    pub power: u8,
    pub unsol: u8,
    /// Output amp [left, right]: bit 7 mute, bits 6:0 gain.
    pub amp_out: [u8; 2],
    /// Input amps by index.
    pub amp_in: BTreeMap<u8, [u8; 2]>,
    /// HDMI/DP pins: the DIP packet 0 (the audio InfoFrame) as written.
    pub dip: Vec<u8>,
    /// HDMI/DP pins: the byte index the next DIP write goes to.
    pub dip_at: u8,
    /// HDMI/DP pins: DIP transmission (0 off, 0xc0 best effort).
    pub dip_xmit: u8,
    /// HDMI/DP pins: the converter channel in each slot (0xf none).
    pub chan_slots: [u8; 8],
    /// HDMI converters: channels - 1.
    pub chan_count: u8,
}

/// A codec emulated from its model.
pub struct ModelCodec {
    codec: Codec,
    afg: u8,
    state: BTreeMap<u8, NodeState>,
    played: Vec<u8>,
    line_in: VecDeque<u8>,
    plugged: BTreeSet<u8>,
    /// HDMI/DP pins with a display: its ELD (`None`: present, ELD not valid).
    displays: BTreeMap<u8, Option<Vec<u8>>>,
    /// Intel display codecs: whether the driver has enabled every pin (until
    /// then, pins show no connections).
    intel_all_pins: bool,
}

impl ModelCodec {
    pub fn new(codec: Codec) -> ModelCodec {
        let afg = codec.afg.unwrap_or(1);
        let mut state = BTreeMap::new();
        for n in &codec.nodes {
            // Power-on state: amps muted, nothing selected, pins off.
            let amp = if n.amp_out.is_some_and(|a| a.can_mute()) { 0x80 } else { 0 };
            state.insert(n.nid, NodeState { amp_out: [amp, amp], ..NodeState::default() });
        }
        ModelCodec {
            codec,
            afg,
            state,
            played: Vec::new(),
            line_in: VecDeque::new(),
            plugged: BTreeSet::new(),
            displays: BTreeMap::new(),
            intel_all_pins: false,
        }
    }

    /// The model this codec was built from.
    pub fn model(&self) -> &Codec {
        &self.codec
    }

    /// What the driver set on `nid`.
    pub fn state(&self, nid: u8) -> NodeState {
        self.state.get(&nid).cloned().unwrap_or_default()
    }

    /// Bytes that reached a DAC carrying a running stream.
    pub fn played(&self) -> &[u8] {
        &self.played
    }

    /// Plug something into (or pull it out of) a pin's jack.
    pub fn set_plugged(&mut self, pin: u8, plugged: bool) {
        if plugged {
            self.plugged.insert(pin);
        } else {
            self.plugged.remove(&pin);
        }
    }

    /// Connect a display to an HDMI/DisplayPort pin with this ELD (`None`:
    /// a display that has not given a valid ELD), or take it away.
    pub fn set_display(&mut self, pin: u8, display: Option<Option<Vec<u8>>>) {
        match display {
            Some(eld) => {
                self.displays.insert(pin, eld);
            }
            None => {
                self.displays.remove(&pin);
            }
        }
    }

    /// Whether the driver enabled every pin of an Intel display codec.
    pub fn intel_all_pins_enabled(&self) -> bool {
        self.intel_all_pins
    }

    /// Queue bytes for the ADCs to capture.
    pub fn feed_line_in(&mut self, data: &[u8]) {
        self.line_in.extend(data);
    }

    fn node_range(&self) -> (u8, u8) {
        let first = self.codec.nodes.first().map(|n| n.nid).unwrap_or(2);
        let last = self.codec.nodes.last().map(|n| n.nid).unwrap_or(first);
        (first, last - first + 1)
    }

    fn parameter(&self, nid: u8, id: u8) -> u32 {
        let c = &self.codec;
        if nid == 0 {
            return match id {
                0x00 => c.vendor_id,
                0x02 => c.revision_id,
                0x04 => (u32::from(self.afg) << 16) | 1,
                _ => 0,
            };
        }
        if nid == self.afg {
            let (first, count) = self.node_range();
            return match id {
                0x04 => (u32::from(first) << 16) | u32::from(count),
                0x05 => 1,
                0x0a => c.default_pcm.pcm,
                0x0b => c.default_pcm.formats,
                0x0d => c.default_amp_in.0,
                0x12 => c.default_amp_out.0,
                0x0f => 0x0f,
                _ => 0,
            };
        }
        let Some(n) = c.node(nid) else { return 0 };
        match id {
            0x09 => n.wcaps,
            0x0a => n.pcm.map(|p| p.pcm).unwrap_or(c.default_pcm.pcm),
            0x0b => n.pcm.map(|p| p.formats).unwrap_or(c.default_pcm.formats),
            0x0c => n.pin_caps.unwrap_or(0),
            0x0d => n.amp_in.map(|a| a.0).unwrap_or(0),
            0x12 => n.amp_out.map(|a| a.0).unwrap_or(0),
            0x0e if self.pins_hidden(n) => 0,
            0x0e => n.connections.len().min(0x7f) as u32,
            _ => 0,
        }
    }

    /// An Intel display codec's pin before the driver enabled them all.
    fn pins_hidden(&self, n: &outboard_hda::codec::Node) -> bool {
        outboard_hda::codec::intel_hides_display_pins(self.codec.vendor_id)
            && !self.intel_all_pins
            && n.kind() == WidgetKind::Pin
    }

    fn converter(&self, kind: WidgetKind) -> Option<(u8, u16)> {
        self.codec
            .nodes_of(kind)
            .filter_map(|n| self.state.get(&n.nid))
            .find(|s| s.stream != 0)
            .map(|s| (s.stream, s.format))
    }
}

impl CodecModel for ModelCodec {
    fn verb(&mut self, nid: u8, payload: u32) -> u32 {
        let verb12 = ((payload >> 8) & 0xfff) as u16;
        let verb4 = ((payload >> 16) & 0xf) as u8;
        let data = (payload & 0xff) as u8;
        let data16 = (payload & 0xffff) as u16;
        let hidden = self.codec.node(nid).is_some_and(|n| self.pins_hidden(n));
        let conns = self.codec.node(nid).filter(|_| !hidden).map(|n| n.connections.clone()).unwrap_or_default();
        if nid == outboard_hda::codec::INTEL_VENDOR_NID
            && outboard_hda::codec::intel_hides_display_pins(self.codec.vendor_id)
        {
            match (payload >> 8) & 0xfff {
                0xf81 => return u32::from(self.intel_all_pins),
                0x781 => {
                    self.intel_all_pins = payload & 1 != 0;
                    return 0;
                }
                _ => {}
            }
        }
        let subsystem = self.codec.subsystem_id;
        let config = self.codec.node(nid).and_then(|n| n.pin_config).unwrap_or(0);
        let plugged = self.plugged.contains(&nid);
        let display = self.displays.get(&nid).cloned();
        let st = self.state.entry(nid).or_default();
        match (verb12, verb4) {
            (0xf00, _) => return self.parameter(nid, data),
            (0xf01, _) => return u32::from(st.select),
            (0x701, _) => st.select = data,
            (0xf02, _) => {
                let i = usize::from(data);
                return (0..4).filter_map(|k| conns.get(i + k).map(|&c| u32::from(c) << (8 * k))).fold(0, |a, b| a | b);
            }
            (0xf05, _) => return u32::from(st.power) | (u32::from(st.power) << 4),
            (0x705, _) => st.power = data & 0xf,
            (0xf06, _) => return u32::from(st.stream) << 4,
            (0x706, _) => st.stream = data >> 4,
            (0xf07, _) => return u32::from(st.pin_ctl),
            (0x707, _) => st.pin_ctl = data,
            (0xf08, _) => return u32::from(st.unsol),
            (0x708, _) => st.unsol = data,
            (0xf09, _) => {
                return match display {
                    Some(Some(_)) => (1 << 31) | (1 << 30),
                    Some(None) => 1 << 31,
                    None if plugged => 1 << 31,
                    None => 0,
                }
            }
            (0xf2e, _) => return display.flatten().filter(|_| data == 8).map_or(0, |e| e.len() as u32),
            (0xf2f, _) => {
                return display
                    .flatten()
                    .and_then(|e| e.get(usize::from(data)).copied())
                    .map_or(0, |b| (1 << 31) | u32::from(b))
            }
            (0x72d, _) => st.chan_count = data,
            (0xf2d, _) => return u32::from(st.chan_count),
            (0x730, _) => {
                // Packet 0 only (the audio InfoFrame); the byte index wraps in the packet.
                st.dip_at = data & 0x1f;
            }
            (0x731, _) => {
                let at = usize::from(st.dip_at);
                if st.dip.len() <= at {
                    st.dip.resize(at + 1, 0);
                }
                st.dip[at] = data;
                st.dip_at = (st.dip_at + 1) & 0x1f;
            }
            (0x732, _) => st.dip_xmit = data,
            (0xf32, _) => return u32::from(st.dip_xmit),
            (0x734, _) => st.chan_slots[usize::from(data & 7)] = data >> 4,
            (0xf0c, _) => return u32::from(st.eapd),
            (0x70c, _) => st.eapd = data,
            (0xf1c, _) => return config,
            (0xf20, _) => return subsystem,
            (_, 0x2) => st.format = data16,
            (_, 0xa) => return u32::from(st.format),
            (_, 0x3) => {
                let v = (data16 & 0xff) as u8;
                let index = ((data16 >> 8) & 0xf) as u8;
                let (left, right) = (data16 & (1 << 13) != 0, data16 & (1 << 12) != 0);
                if data16 & (1 << 15) != 0 {
                    if left {
                        st.amp_out[0] = v;
                    }
                    if right {
                        st.amp_out[1] = v;
                    }
                }
                if data16 & (1 << 14) != 0 {
                    let a = st.amp_in.entry(index).or_insert([0x80, 0x80]);
                    if left {
                        a[0] = v;
                    }
                    if right {
                        a[1] = v;
                    }
                }
            }
            (_, 0xb) => {
                let index = (data16 & 0xf) as u8;
                let side = usize::from(data16 & (1 << 13) == 0);
                return u32::from(if data16 & (1 << 15) != 0 {
                    st.amp_out[side]
                } else {
                    st.amp_in.get(&index).map(|a| a[side]).unwrap_or(0x80)
                });
            }
            _ => {}
        }
        0
    }

    fn output_stream(&self) -> Option<(u8, u16)> {
        self.converter(WidgetKind::AudioOutput)
    }

    fn input_stream(&self) -> Option<(u8, u16)> {
        self.converter(WidgetKind::AudioInput)
    }

    fn play(&mut self, data: &[u8]) {
        self.played.extend_from_slice(data);
    }

    fn record(&mut self, out: &mut [u8]) {
        for b in out {
            *b = self.line_in.pop_front().unwrap_or(0);
        }
    }

    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
