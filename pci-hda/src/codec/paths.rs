//! Choosing what plays where: output paths from DACs to the line-out,
//! headphone and speaker pins, and input paths from mic and line-in pins to
//! ADCs, from the pin configuration alone.
//!
//! - The analog outputs are assigned as Linux's generic parser assigns them
//!   ([`super::generic`]): the same pins, the same DACs, the same routes.
//! - A mono line out Linux leaves alone, and the digital outputs (S/PDIF,
//!   HDMI, DisplayPort), take a free converter, else share one.
//! - A path is found depth-first from the pin through mixers and selectors to
//!   a converter, trying a direct connection first at every widget, at most
//!   [`MAX_DEPTH`] widgets deep (Linux's `__parse_nid_path`).
//! - Inputs go through the ADC that reaches the most of them (a capture
//!   source selector picks the input), else the first that reaches them.
//! - [`linux_route`] reads back the route Linux left in a dump, for
//!   comparison ([`super::vs_linux`]).

use super::generic;
use super::hints::Hints;
use super::pin::{Connectivity, Device, PinConfig};
use super::{Codec, Node, WidgetKind};

/// Longest path, in widgets (Linux's MAX_NID_PATH_DEPTH).
pub const MAX_DEPTH: usize = 10;
/// Widgets one path search visits at most (see [`find_path`]).
pub const SEARCH_STEPS: usize = 2048;

/// What an output pin is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OutputRole {
    LineOut,
    Headphone,
    Speaker,
    /// A mono line out (Linux's `mono_out_pin`): routed, never primary
    /// while a stereo output exists.
    Mono,
    Digital,
}

/// What an input pin is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InputRole {
    Mic,
    LineIn,
    Aux,
    Cd,
    Digital,
}

/// A route from a DAC to an output pin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputPath {
    pub pin: u8,
    pub role: OutputRole,
    /// Whether the pin is internal (fixed) rather than a jack.
    pub fixed: bool,
    /// Whether the pin can sense a plugged jack.
    pub presence_detect: bool,
    pub dac: u8,
    /// DAC first, pin last.
    pub nodes: Vec<u8>,
    /// The DAC also feeds another pin.
    pub shared: bool,
}

/// A route from an input pin to an ADC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputPath {
    pub pin: u8,
    pub role: InputRole,
    pub fixed: bool,
    pub adc: u8,
    /// Pin first, ADC last.
    pub nodes: Vec<u8>,
}

/// Every path the driver would use, and the pins it could not route.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub outputs: Vec<OutputPath>,
    pub inputs: Vec<InputPath>,
    /// Connected pins no converter reaches, with the pin's device.
    pub unrouted: Vec<(u8, Device)>,
    /// Input jacks Linux would retask as surround outputs (its "channel
    /// mode"), with the DAC each would take: (pin, DAC). Outboard does not
    /// switch them yet; the DACs are kept free for them as Linux keeps them.
    pub multi_io: Vec<(u8, u8)>,
    /// Linux's auto-mic: the input pins capture switches between by jack,
    /// internal first, then dock, plain, rear, front; the last plugged one
    /// of those that can sense is recorded, else the first. Empty when the
    /// inputs do not allow it (see [`auto_mic_pins`]) or the hint is off.
    pub auto_mic: Vec<u8>,
    /// What is on each HDMI/DisplayPort pin, as read when the device was
    /// opened (empty for a plan made from a dump). A pin with no display,
    /// or one whose ELD is malformed, is not among the outputs.
    pub displays: Vec<Display>,
}

/// An HDMI or DisplayPort pin and what is connected to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Display {
    pub pin: u8,
    /// The pin's route from its converter (enabled when a display is there).
    pub path: OutputPath,
    /// What was there when the device was opened.
    pub sink: Sink,
}

/// What an HDMI/DisplayPort pin reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sink {
    /// Nothing connected, or a display that has not given its ELD.
    None,
    Eld(super::eld::Eld),
    /// A display whose ELD is refused, and why.
    Malformed(String),
}

impl Plan {
    /// The ELD of the display on `pin`, if there is a valid one.
    pub fn display_eld(&self, pin: u8) -> Option<&super::eld::Eld> {
        self.displays.iter().find(|d| d.pin == pin).and_then(|d| match &d.sink {
            Sink::Eld(e) => Some(e),
            _ => None,
        })
    }
}

impl Plan {
    /// The first output of this role.
    pub fn output(&self, role: OutputRole) -> Option<&OutputPath> {
        self.outputs.iter().find(|o| o.role == role)
    }
    /// The primary output: the first line out, or what stands in for it.
    pub fn primary_output(&self) -> Option<&OutputPath> {
        self.outputs.iter().find(|o| o.role != OutputRole::Digital)
    }
}

/// Find a path from converter `conv` to `target` (searching `target`'s inputs
/// backwards through mixers and selectors). Returns the nodes from `conv` to
/// `target`.
///
/// The search is depth-first in connection order, as Linux's, and gives up
/// after [`SEARCH_STEPS`] widgets visited: a codec (or a dump) whose mixers
/// all connect to each other has more paths of ten widgets than could be
/// walked in a day, and the fuzzer found one that took 28 s to plan. Every
/// real codec's search ends long before the bound.
pub fn find_path(codec: &Codec, conv: u8, target: u8) -> Option<Vec<u8>> {
    fn search(codec: &Codec, conv: u8, at: u8, depth: usize, stack: &mut Vec<u8>, steps: &mut usize) -> bool {
        if *steps == 0 {
            return false;
        }
        *steps -= 1;
        let Some(node) = codec.node(at) else { return false };
        stack.push(at);
        if node.connections.contains(&conv) {
            stack.push(conv);
            return true;
        }
        if depth < MAX_DEPTH {
            for &c in &node.connections {
                if stack.contains(&c) {
                    continue;
                }
                let Some(next) = codec.node(c) else { continue };
                if !matches!(next.kind(), WidgetKind::Mixer | WidgetKind::Selector) {
                    continue;
                }
                if search(codec, conv, c, depth + 1, stack, steps) {
                    return true;
                }
            }
        }
        stack.pop();
        false
    }
    let mut stack = Vec::new();
    let mut steps = SEARCH_STEPS;
    if search(codec, conv, target, 1, &mut stack, &mut steps) {
        stack.reverse();
        Some(stack)
    } else {
        None
    }
}

/// Whether every hop of `nodes` (source first) is a real connection.
pub fn is_valid_path(codec: &Codec, nodes: &[u8]) -> bool {
    nodes.len() >= 2 && nodes.windows(2).all(|w| codec.node(w[1]).is_some_and(|n| n.connections.contains(&w[0])))
}

/// Plan the outputs and inputs of `codec` with Linux's defaults for it.
pub fn plan(codec: &Codec) -> Plan {
    plan_with(codec, &Hints::for_codec(codec))
}

/// Plan the outputs and inputs of `codec`: the analog outputs as Linux's
/// generic parser assigns them ([`generic`]), then the mono out and the
/// digital outputs on what is left, and the inputs.
pub fn plan_with(codec: &Codec, hints: &Hints) -> Plan {
    let (assigned, multi_io, cfg) = generic::assign(codec, hints);
    let mut plan = Plan { multi_io, ..Plan::default() };
    let output = |pin: u8, role: OutputRole, nodes: Vec<u8>| {
        let node = codec.node(pin);
        let config = PinConfig(node.and_then(|n| n.pin_config).unwrap_or(0));
        OutputPath {
            pin,
            role,
            fixed: config.connectivity() == Connectivity::Fixed,
            presence_detect: node.and_then(|n| n.pin_caps).unwrap_or(0) & super::pin::caps::PRESENCE_DETECT != 0
                && !config.no_presence_detect(),
            dac: nodes[0],
            nodes,
            shared: false,
        }
    };
    let device = |pin: u8| PinConfig(codec.node(pin).and_then(|n| n.pin_config).unwrap_or(0)).device();
    for a in assigned {
        match a.nodes {
            Some(nodes) if !nodes.is_empty() => plan.outputs.push(output(a.pin, a.role, nodes)),
            _ => plan.unrouted.push((a.pin, device(a.pin))),
        }
    }
    // A mono line out outside the line outs (Linux leaves it alone): a free
    // DAC if there is one, else the first it reaches.
    let dacs: Vec<&Node> = codec.nodes_of(WidgetKind::AudioOutput).collect();
    let extra = |pin: u8, role: OutputRole, digital: bool, plan: &mut Plan| {
        let reach: Vec<(u8, Vec<u8>)> = dacs
            .iter()
            .filter(|d| d.is_digital() == digital)
            .filter_map(|d| find_path(codec, d.nid, pin).map(|p| (d.nid, p)))
            .collect();
        let free = reach.iter().find(|(d, _)| !plan.outputs.iter().any(|o| o.dac == *d));
        match free.or(reach.first()) {
            Some((_, nodes)) => plan.outputs.push(output(pin, role, nodes.clone())),
            None => plan.unrouted.push((pin, device(pin))),
        }
    };
    if let Some(mono) = cfg.mono_out.filter(|m| !cfg.line_outs.contains(m)) {
        extra(mono, OutputRole::Mono, false, &mut plan);
    }
    for pin in digital_outputs(codec) {
        extra(pin, OutputRole::Digital, true, &mut plan);
    }
    let counts: Vec<u8> = plan.outputs.iter().map(|o| o.dac).collect();
    for o in &mut plan.outputs {
        o.shared = counts.iter().filter(|&&d| d == o.dac).count() > 1;
    }
    let (inputs, unrouted) = plan_inputs(codec);
    plan.inputs = inputs;
    plan.unrouted.extend(unrouted);
    if hints.auto_mic {
        plan.auto_mic = auto_mic_pins(codec, &cfg.inputs, &plan.inputs);
    }
    plan
}

/// Linux's `snd_hda_get_input_pin_attr`: 0 unused, 1 internal, 2 dock,
/// 3 plain, 4 rear, 5 front.
fn input_attr(config: PinConfig) -> u8 {
    let loc = config.location();
    match config.connectivity() {
        Connectivity::None => 0,
        Connectivity::Fixed | Connectivity::Both => 1,
        Connectivity::Jack => match (loc & 0x30, loc) {
            (0x10, _) => 1,
            (0x20, _) => 2,
            (_, 0x01) => 4,
            (_, 0x02) => 5,
            _ => 3,
        },
    }
}

/// Linux's `check_auto_mic_availability`: two or three inputs, each of a
/// different kind of place, the internal one a mic and the others mic jacks
/// that can sense, all routed to the same ADC. Returns them internal first.
pub fn auto_mic_pins(codec: &Codec, inputs: &[(InputRole, u8)], paths: &[InputPath]) -> Vec<u8> {
    let mut entries: Vec<(u8, u8)> = Vec::new();
    for &(role, pin) in inputs {
        let Some(config) = codec.node(pin).and_then(|n| n.pin_config).map(PinConfig) else { return Vec::new() };
        let attr = input_attr(config);
        if entries.iter().any(|e| e.1 == attr) || attr == 0 || role != InputRole::Mic {
            return Vec::new();
        }
        if attr != 1 && !super::jacks::detectable(codec, pin) {
            return Vec::new();
        }
        if entries.len() >= 3 {
            return Vec::new();
        }
        entries.push((pin, attr));
    }
    if entries.len() < 2 {
        return Vec::new();
    }
    entries.sort_by_key(|e| e.1);
    let adcs: Vec<Option<u8>> =
        entries.iter().map(|(pin, _)| paths.iter().find(|p| p.pin == *pin).map(|p| p.adc)).collect();
    if adcs.iter().any(Option::is_none) || adcs.windows(2).any(|w| w[0] != w[1]) {
        return Vec::new();
    }
    entries.into_iter().map(|e| e.0).collect()
}

/// Connected digital output pins (S/PDIF, HDMI, DisplayPort), by
/// association and sequence.
fn digital_outputs(codec: &Codec) -> Vec<u8> {
    let mut pins: Vec<&Node> = codec
        .nodes_of(WidgetKind::Pin)
        .filter(|n| {
            let Some(config) = n.pin_config.map(PinConfig) else { return false };
            config.is_connected()
                && (matches!(config.device(), Device::SpdifOut | Device::DigitalOtherOut)
                    || (n.is_digital() && config.device().is_output()))
        })
        .collect();
    pins.sort_by_key(|n| {
        let c = PinConfig(n.pin_config.unwrap_or(0));
        (c.association(), c.sequence(), n.nid)
    });
    pins.into_iter().map(|n| n.nid).collect()
}

/// The input paths: each connected analog input pin through the ADC that
/// reaches the most of them (a capture source selector picks the input),
/// else the first ADC that reaches it; digital inputs to the first digital
/// ADC; and the input pins none reaches.
fn plan_inputs(codec: &Codec) -> (Vec<InputPath>, Vec<(u8, Device)>) {
    let mut ins: Vec<(InputRole, &Node, PinConfig)> = codec
        .nodes_of(WidgetKind::Pin)
        .filter_map(|node| {
            let config = PinConfig(node.pin_config?);
            if !config.is_connected() {
                return None;
            }
            let role = match config.device() {
                Device::MicIn => InputRole::Mic,
                Device::LineIn => InputRole::LineIn,
                Device::Aux => InputRole::Aux,
                Device::Cd => InputRole::Cd,
                Device::SpdifIn | Device::DigitalOtherIn => InputRole::Digital,
                _ => return None,
            };
            Some((role, node, config))
        })
        .collect();
    ins.sort_by_key(|(role, n, c)| (*role, c.association(), c.sequence(), n.nid));
    let adcs: Vec<&Node> = codec.nodes_of(WidgetKind::AudioInput).collect();
    // One ADC records every analog input it can reach (Linux's input mux on
    // one ADC): the one that reaches the most, the first of equals.
    let mut main: Option<(u8, usize)> = None;
    for a in adcs.iter().filter(|a| !a.is_digital()) {
        let n = ins
            .iter()
            .filter(|(role, pin, _)| *role != InputRole::Digital && find_path(codec, pin.nid, a.nid).is_some())
            .count();
        if main.is_none_or(|(_, best)| n > best) {
            main = Some((a.nid, n));
        }
    }
    let (mut inputs, mut unrouted) = (Vec::new(), Vec::new());
    for (role, pin, config) in ins {
        let digital = role == InputRole::Digital;
        let via_main = main.filter(|_| !digital).and_then(|(adc, _)| find_path(codec, pin.nid, adc).map(|p| (adc, p)));
        let found = via_main.or_else(|| {
            adcs.iter()
                .filter(|a| a.is_digital() == digital)
                .find_map(|a| find_path(codec, pin.nid, a.nid).map(|p| (a.nid, p)))
        });
        match found {
            Some((adc, nodes)) => inputs.push(InputPath {
                pin: pin.nid,
                role,
                fixed: config.connectivity() == Connectivity::Fixed,
                adc,
                nodes,
            }),
            None => unrouted.push((pin.nid, config.device())),
        }
    }
    (inputs, unrouted)
}

/// The route Linux left a pin on, read from a dump's state: the selected
/// connection (`*`) at pins and selectors, the unmuted inputs of mixers.
/// `None` where the state does not lead to one DAC unambiguously.
pub fn linux_route(codec: &Codec, pin: u8) -> Option<Vec<u8>> {
    fn walk(codec: &Codec, nid: u8, depth: usize, route: &mut Vec<u8>) -> bool {
        let Some(node) = codec.node(nid) else { return false };
        route.push(nid);
        if node.kind() == WidgetKind::AudioOutput {
            return true;
        }
        if depth >= MAX_DEPTH {
            route.pop();
            return false;
        }
        let candidates: Vec<u8> = match (node.kind(), node.selected, node.connections.len()) {
            (_, _, 0) => Vec::new(),
            (_, _, 1) => node.connections.clone(),
            (WidgetKind::Mixer, _, _) => node
                .connections
                .iter()
                .enumerate()
                .filter(|(i, _)| node.amp_in_vals.get(*i).is_some_and(|v| v[0] & 0x80 == 0 || v[1] & 0x80 == 0))
                .map(|(_, c)| *c)
                .collect(),
            (_, Some(sel), _) => node.connections.get(sel).copied().into_iter().collect(),
            _ => Vec::new(),
        };
        // Follow the one candidate that reaches a DAC; more than one is ambiguous.
        let mut found: Option<Vec<u8>> = None;
        for c in candidates {
            if route.contains(&c) {
                continue;
            }
            let Some(next) = codec.node(c) else { continue };
            if !matches!(next.kind(), WidgetKind::AudioOutput | WidgetKind::Mixer | WidgetKind::Selector) {
                continue;
            }
            let mut sub = route.clone();
            if walk(codec, c, depth + 1, &mut sub) {
                if found.is_some() {
                    route.pop();
                    return false;
                }
                found = Some(sub);
            }
        }
        match found {
            Some(r) => {
                *route = r;
                true
            }
            None => {
                route.pop();
                false
            }
        }
    }
    let mut route = Vec::new();
    if walk(codec, pin, 1, &mut route) {
        route.reverse();
        Some(route)
    } else {
        None
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::codec::{AmpCaps, Node};

    fn node(nid: u8, wcaps: u32, conns: &[u8]) -> Node {
        Node { nid, wcaps, connections: conns.to_vec(), ..Node::default() }
    }

    pub(crate) fn pin(nid: u8, config: u32, conns: &[u8], selected: Option<usize>) -> Node {
        Node {
            nid,
            wcaps: 0x0040_018d,
            pin_caps: Some(0x0001_003c),
            pin_config: Some(config),
            connections: conns.to_vec(),
            selected,
            amp_out: Some(AmpCaps(1 << 31)),
            ..Node::default()
        }
    }

    /// The ALC269 of an Eee PC 1000 (from its dump): DACs 0x02/0x03, mixers
    /// 0x0c (0x02, 0x0b) and 0x0d (0x03, 0x0b), speaker 0x14 and headphone
    /// 0x15 each choosing between 0x0c and 0x0d; ADC 0x08 via mixer 0x23.
    pub(crate) fn alc269() -> Codec {
        Codec {
            nodes: vec![
                node(0x02, 0x0000_001d, &[]),
                node(0x03, 0x0000_001d, &[]),
                node(0x08, 0x0010_011b, &[0x23]),
                node(0x0b, 0x0020_010b, &[0x18, 0x19, 0x1a, 0x1b, 0x1d]),
                Node { amp_in_vals: vec![[0, 0], [0, 0]], ..node(0x0c, 0x0020_010b, &[0x02, 0x0b]) },
                Node { amp_in_vals: vec![[0, 0], [0, 0]], ..node(0x0d, 0x0020_010b, &[0x03, 0x0b]) },
                pin(0x12, 0x99a3_0920, &[], None),
                pin(0x14, 0x9913_0110, &[0x0c, 0x0d], Some(0)),
                pin(0x15, 0x0121_401f, &[0x0c, 0x0d], Some(1)),
                pin(0x16, 0x4111_11f0, &[0x0e], None),
                pin(0x18, 0x01a1_9830, &[0x0c, 0x0d], Some(0)),
                node(0x23, 0x0020_010b, &[0x18, 0x19, 0x1a, 0x1b, 0x1d, 0x0b, 0x12]),
            ],
            ..Codec::default()
        }
    }

    #[test]
    fn headphone_is_primary_without_a_line_out_and_each_pin_gets_a_dac() {
        let c = alc269();
        let p = plan(&c);
        let spk = p.output(OutputRole::Speaker).unwrap();
        let hp = p.output(OutputRole::Headphone).unwrap();
        // One speaker, one headphone, no line out: the generic parser makes
        // the headphone primary, so it gets the first DAC.
        assert_eq!(p.primary_output().unwrap().pin, 0x15);
        assert_eq!(hp.nodes, vec![0x02, 0x0c, 0x15]);
        assert_eq!(spk.nodes, vec![0x03, 0x0d, 0x14]);
        assert!(!spk.shared && !hp.shared);
        assert!(spk.fixed && !hp.fixed && hp.presence_detect);
        for o in &p.outputs {
            assert!(is_valid_path(&c, &o.nodes));
        }
        // The dump itself was taken under the old ALC269 parser (2.6.30),
        // which gave the speaker the first DAC: linux_route reads that state.
        assert_eq!(linux_route(&c, 0x14), Some(vec![0x02, 0x0c, 0x14]));
        assert_eq!(linux_route(&c, 0x15), Some(vec![0x03, 0x0d, 0x15]));
    }

    #[test]
    fn two_speakers_and_a_headphone_on_two_dacs_share_as_linux_does() {
        // Two speakers, one headphone, two DACs. Linux starts with the
        // speakers primary (more speakers than headphones), but that leaves
        // the headphone sharing the front's DAC (badness 0x102); with the
        // headphone primary only the second speaker shares (0x10), so
        // Linux keeps that.
        let mut c = alc269();
        c.nodes.push(pin(0x1b, 0x9917_0111, &[0x0c, 0x0d], Some(0)));
        let p = plan(&c);
        assert_eq!(p.primary_output().unwrap().role, OutputRole::Headphone);
        let dacs: Vec<(u8, u8, bool)> = p.outputs.iter().map(|o| (o.pin, o.dac, o.shared)).collect();
        assert_eq!(dacs, vec![(0x15, 0x02, false), (0x14, 0x03, true), (0x1b, 0x03, true)]);
    }

    #[test]
    fn an_internal_mic_and_a_mic_jack_make_auto_mic_and_a_line_in_stops_it() {
        let c = alc269();
        assert_eq!(plan(&c).auto_mic, vec![0x12, 0x18], "internal first, then the rear jack");
        let off = Hints { auto_mic: false, ..Hints::for_codec(&c) };
        assert!(plan_with(&c, &off).auto_mic.is_empty(), "the hint turns it off");
        let mut line = c.clone();
        line.nodes.push(pin(0x1a, 0x0181_3020, &[], None));
        for n in &mut line.nodes {
            if n.nid == 0x23 {
                n.connections.push(0x1a);
            }
        }
        assert!(plan(&line).auto_mic.is_empty(), "Linux switches only between mics");
        let mut two_jacks = c;
        two_jacks.nodes.push(pin(0x19, 0x01a1_9831, &[], None));
        assert!(plan(&two_jacks).auto_mic.is_empty(), "two rear mic jacks: which one?");
    }

    #[test]
    fn inputs_reach_the_adc_and_unconnected_pins_are_ignored() {
        let c = alc269();
        let p = plan(&c);
        let roles: Vec<_> = p.inputs.iter().map(|i| (i.role, i.pin)).collect();
        assert_eq!(roles, vec![(InputRole::Mic, 0x12), (InputRole::Mic, 0x18)]);
        assert_eq!(p.inputs[1].nodes, vec![0x18, 0x23, 0x08]);
        assert!(p.unrouted.is_empty(), "{:?}", p.unrouted);
        assert!(!p.outputs.iter().any(|o| o.pin == 0x16), "0x16 is marked not connected");
    }

    #[test]
    fn a_pin_with_no_free_dac_shares_one() {
        let mut c = alc269();
        c.nodes.retain(|n| n.nid != 0x03);
        let p = plan(&c);
        assert!(p.outputs.iter().all(|o| o.dac == 0x02 && o.shared));
        assert_eq!(p.output(OutputRole::Headphone).unwrap().nodes, vec![0x02, 0x0c, 0x15]);
    }

    #[test]
    fn cycles_and_deep_graphs_end() {
        // Two mixers feeding each other, and a pin behind them: no DAC.
        let c = Codec {
            nodes: vec![
                node(0x02, 0x0000_001d, &[]),
                node(0x0a, 0x0020_010b, &[0x0b]),
                node(0x0b, 0x0020_010b, &[0x0a]),
                pin(0x14, 0x0101_4010, &[0x0a], Some(0)),
            ],
            ..Codec::default()
        };
        let p = plan(&c);
        assert!(p.outputs.is_empty());
        assert_eq!(p.unrouted, vec![(0x14, Device::LineOut)]);
        assert_eq!(linux_route(&c, 0x14), None);
    }
}
