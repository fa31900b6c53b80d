//! Choosing what plays where: output paths from DACs to the line-out,
//! headphone and speaker pins, and input paths from mic and line-in pins to
//! ADCs, from the pin configuration alone (the approach of Linux's generic
//! parser, sound/pci/hda/hda_generic.c, without per-board tables).
//!
//! - Pins are classified by their Configuration Default; pins marked as not
//!   connected are ignored; line outs are ordered by association and sequence.
//!   With no line out, the speakers (else the headphones) are the primary
//!   outputs, as in Linux.
//! - A path is found depth-first from the pin through mixers and selectors to
//!   a converter, trying a direct connection first at every widget, at most
//!   [`MAX_DEPTH`] widgets deep (Linux's `__parse_nid_path`).
//! - DACs are assigned first to pins that can reach only one free DAC, then in
//!   order (line outs, headphones, speakers) to the first free DAC each can
//!   reach; a pin with no free DAC shares the first one it reaches.
//! - Inputs take the first ADC that reaches them; ADCs are shared (a capture
//!   source selector picks the input).

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

struct Pin<'a> {
    node: &'a Node,
    config: PinConfig,
}

/// Connected pins sorted by role, association and sequence.
struct Pins<'a> {
    outputs: Vec<(OutputRole, Pin<'a>)>,
    inputs: Vec<(InputRole, Pin<'a>)>,
}

/// Linux's `reorder_outputs`: with 3 or 4 outputs in a group, the 2nd and
/// 3rd swap (the BIOS sequence puts surround before center/LFE).
fn reorder(group: &mut [Pin<'_>]) {
    if matches!(group.len(), 3 | 4) {
        group.swap(1, 2);
    }
}

/// Connected pins, by what the BIOS says they are, ordered as Linux's
/// `snd_hda_parse_pin_defcfg` orders them: line outs of the first association
/// (association 0 and mono line outs are not line outs), headphones and
/// speakers, each by association and sequence. The primary outputs come
/// first: line outs; without them the speakers, unless there are no more
/// speakers than headphones, in which case the headphones
/// (`snd_hda_gen_parse_auto_config`).
fn classify(codec: &Codec) -> Pins<'_> {
    let (mut lines, mut hps, mut spks, mut digital) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut mono = Vec::new();
    let mut ins = Vec::new();
    let mut line_assoc = None;
    for node in codec.nodes_of(WidgetKind::Pin) {
        let Some(raw) = node.pin_config else { continue };
        let config = PinConfig(raw);
        if !config.is_connected() {
            continue;
        }
        let caps = node.pin_caps.unwrap_or(0);
        let pin = Pin { node, config };
        match config.device() {
            Device::SpdifOut | Device::DigitalOtherOut => digital.push(pin),
            d if node.is_digital() && d.is_output() => digital.push(pin),
            Device::LineOut if caps & super::pin::caps::OUTPUT != 0 || caps == 0 => {
                let assoc = config.association();
                if !node.has(super::wcaps::STEREO) {
                    if mono.is_empty() {
                        mono.push(pin);
                    }
                    continue;
                }
                if assoc == 0 {
                    continue;
                }
                if *line_assoc.get_or_insert(assoc) != assoc {
                    continue;
                }
                lines.push(pin);
            }
            Device::HpOut => hps.push(pin),
            Device::Speaker => spks.push(pin),
            Device::MicIn => ins.push((InputRole::Mic, pin)),
            Device::LineIn => ins.push((InputRole::LineIn, pin)),
            Device::Aux => ins.push((InputRole::Aux, pin)),
            Device::Cd => ins.push((InputRole::Cd, pin)),
            Device::SpdifIn | Device::DigitalOtherIn => ins.push((InputRole::Digital, pin)),
            _ => {} // modem, telephony, other: not audio paths
        }
    }
    let key = |p: &Pin<'_>| (p.config.association(), p.config.sequence(), p.node.nid);
    for group in [&mut lines, &mut hps, &mut spks, &mut digital] {
        group.sort_by_key(key);
    }
    for group in [&mut lines, &mut hps, &mut spks] {
        reorder(group);
    }
    ins.sort_by(|a, b| a.0.cmp(&b.0).then(key(&a.1).cmp(&key(&b.1))));
    fn tag(role: OutputRole, v: Vec<Pin<'_>>) -> impl Iterator<Item = (OutputRole, Pin<'_>)> {
        v.into_iter().map(move |p| (role, p))
    }
    let mut outs: Vec<(OutputRole, Pin<'_>)> = Vec::new();
    if !lines.is_empty() {
        outs.extend(tag(OutputRole::LineOut, lines));
        outs.extend(tag(OutputRole::Headphone, hps));
        outs.extend(tag(OutputRole::Speaker, spks));
    } else if spks.len() > hps.len() {
        outs.extend(tag(OutputRole::Speaker, spks));
        outs.extend(tag(OutputRole::Headphone, hps));
    } else {
        outs.extend(tag(OutputRole::Headphone, hps));
        outs.extend(tag(OutputRole::Speaker, spks));
    }
    outs.extend(tag(OutputRole::Mono, mono));
    outs.extend(tag(OutputRole::Digital, digital));
    Pins { outputs: outs, inputs: ins }
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

/// Plan the outputs and inputs of `codec`.
pub fn plan(codec: &Codec) -> Plan {
    let Pins { outputs: outs, inputs: ins } = classify(codec);
    let mut plan = Plan::default();
    let dacs: Vec<&Node> = codec.nodes_of(WidgetKind::AudioOutput).collect();
    let reachable = |pin: &Pin<'_>, digital: bool| -> Vec<(u8, Vec<u8>)> {
        dacs.iter()
            .filter(|d| d.is_digital() == digital)
            .filter_map(|d| find_path(codec, d.nid, pin.node.nid).map(|p| (d.nid, p)))
            .collect()
    };
    let options: Vec<Vec<(u8, Vec<u8>)>> =
        outs.iter().map(|(role, pin)| reachable(pin, *role == OutputRole::Digital)).collect();
    let mut chosen: Vec<Option<(u8, Vec<u8>, bool)>> = vec![None; outs.len()];
    let mut used: Vec<u8> = Vec::new();
    // Pass 1: pins with exactly one reachable DAC that is still free.
    for (i, opts) in options.iter().enumerate() {
        if let [(dac, path)] = opts.as_slice() {
            if !used.contains(dac) {
                used.push(*dac);
                chosen[i] = Some((*dac, path.clone(), false));
            }
        }
    }
    // The primary group: the leading pins that share the first pin's role.
    let primary_role = outs.first().map(|(r, _)| *r);
    let primaries = outs.iter().take_while(|(r, _)| Some(*r) == primary_role).count();
    // Pass 2: in order, the first free DAC. A pin left without one shares a
    // primary output's DAC (the one at its own position in its group, else
    // the first), as Linux's try_assign_dacs does; else the first it reaches.
    for (i, opts) in options.iter().enumerate() {
        if chosen[i].is_some() {
            continue;
        }
        if let Some((dac, path)) = opts.iter().find(|(d, _)| !used.contains(d)) {
            used.push(*dac);
            chosen[i] = Some((*dac, path.clone(), false));
            continue;
        }
        let role = outs[i].0;
        let pos_in_group = outs[..i].iter().filter(|(r, _)| *r == role).count();
        let primary_dac = |k: usize| if k < primaries.min(i) { chosen[k].as_ref().map(|c| c.0) } else { None };
        let share = [primary_dac(pos_in_group), primary_dac(0)]
            .into_iter()
            .flatten()
            .find_map(|d| opts.iter().find(|(o, _)| *o == d))
            .or(opts.first());
        if let Some((dac, path)) = share {
            chosen[i] = Some((*dac, path.clone(), true));
        }
    }
    for ((role, pin), c) in outs.iter().zip(chosen) {
        match c {
            Some((dac, nodes, shared)) => plan.outputs.push(OutputPath {
                pin: pin.node.nid,
                role: *role,
                fixed: pin.config.connectivity() == Connectivity::Fixed,
                presence_detect: pin.node.pin_caps.unwrap_or(0) & super::pin::caps::PRESENCE_DETECT != 0
                    && !pin.config.no_presence_detect(),
                dac,
                nodes,
                shared,
            }),
            None => plan.unrouted.push((pin.node.nid, pin.config.device())),
        }
    }
    // Mark DACs that ended up feeding several pins.
    let counts: Vec<u8> = plan.outputs.iter().map(|o| o.dac).collect();
    for o in &mut plan.outputs {
        if counts.iter().filter(|&&d| d == o.dac).count() > 1 {
            o.shared = true;
        }
    }

    let adcs: Vec<&Node> = codec.nodes_of(WidgetKind::AudioInput).collect();
    for (role, pin) in &ins {
        let digital = *role == InputRole::Digital;
        let found = adcs.iter().filter(|a| a.is_digital() == digital).find_map(|a| {
            // Search from the ADC back to the pin; the path runs pin -> ADC.
            find_path(codec, pin.node.nid, a.nid).map(|p| (a.nid, p))
        });
        match found {
            Some((adc, nodes)) => plan.inputs.push(InputPath {
                pin: pin.node.nid,
                role: *role,
                fixed: pin.config.connectivity() == Connectivity::Fixed,
                adc,
                nodes,
            }),
            None => plan.unrouted.push((pin.node.nid, pin.config.device())),
        }
    }
    plan
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
            pin_caps: Some(0x0001_001c),
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
    fn more_speakers_than_headphones_keep_the_speakers_primary() {
        let mut c = alc269();
        c.nodes.push(pin(0x1b, 0x9917_0111, &[0x0c, 0x0d], Some(0)));
        let p = plan(&c);
        assert_eq!(p.primary_output().unwrap().role, OutputRole::Speaker);
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
