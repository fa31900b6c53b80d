//! Output pins and DACs chosen as Linux's generic parser chooses them
//! (sound/pci/hda/hda_auto_parser.c `snd_hda_parse_pin_defcfg`, and
//! hda_generic.c `parse_output_paths`, `fill_and_eval_dacs`,
//! `try_assign_dacs`, `map_singles`, `fill_multi_ios`,
//! `assign_out_path_ctls` and their badness tables). The code is Outboard's;
//! the rules, their order and their costs are Linux's, so that a codec plays
//! from the same pins through the same DACs as under snd-hda-intel.
//!
//! In short:
//! - The BIOS pin configuration sorts the pins into line outs (one
//!   association), headphones and speakers; with no line out the speakers,
//!   else the headphones, are the primary outputs, and a headphone is
//!   primary over no more speakers than headphones ([`AutoCfg`]).
//! - Several assignments are evaluated: with hard-wired pins (those that
//!   reach only one free DAC) served first or not, with retaskable input
//!   jacks (multi-I/O surround) filled before the headphones or after, and
//!   with the headphones and speakers swapped as primary. Each costs a
//!   *badness* (no DAC for the primary output, a shared DAC, a shared volume
//!   or mute control, ...); the cheapest wins.
//! - Paths avoid the codec's analog loopback mixer ([`Hints::mixer_nid`]).

use std::cmp::Ordering;

use super::hints::Hints;
use super::paths::{InputRole, OutputRole, MAX_DEPTH, SEARCH_STEPS};
use super::pin::{caps, Connectivity, Device, PinConfig};
use super::{wcaps, Codec, WidgetKind};

/// What the primary outputs are (Linux's `line_out_type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LineOutType {
    #[default]
    Line,
    Speaker,
    Headphone,
}

/// The pins by what the BIOS says they are, in Linux's order
/// (`struct auto_pin_cfg`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AutoCfg {
    /// The primary outputs: front, surround, center/LFE, side.
    pub line_outs: Vec<u8>,
    pub line_out_type: LineOutType,
    pub hp_outs: Vec<u8>,
    pub speaker_outs: Vec<u8>,
    /// The first mono line out (routed only if it is also a line out).
    pub mono_out: Option<u8>,
    /// Analog inputs, mic first, then line in, CD, aux (Linux's order, used
    /// for the multi-I/O jacks).
    pub inputs: Vec<(InputRole, u8)>,
}

/// Linux's `AUTO_CFG_MAX_OUTS`.
const MAX_OUTS: usize = 5;
/// Linux's `AUTO_CFG_MAX_INS` (3.x kernels).
const MAX_INS: usize = 8;

/// Linux's `sort()` of the 3.x kernels (lib/sort.c, a heapsort): not
/// stable, and the order it leaves pins of equal sequence in decides which
/// is front and which surround, so it is reproduced step for step.
fn linux_sort<T>(v: &mut [T], cmp: impl Fn(&T, &T) -> Ordering) {
    let n = v.len();
    if n < 2 {
        return;
    }
    let sift = |v: &mut [T], mut r: usize, end: usize| {
        while r * 2 + 1 < end {
            let mut c = r * 2 + 1;
            if c + 1 < end && cmp(&v[c], &v[c + 1]) == Ordering::Less {
                c += 1;
            }
            if cmp(&v[r], &v[c]) != Ordering::Less {
                break;
            }
            v.swap(r, c);
            r = c;
        }
    };
    for i in (0..n / 2).rev() {
        sift(v, i, n);
    }
    for i in (1..n).rev() {
        v.swap(0, i);
        sift(v, 0, i);
    }
}

/// Linux's `reorder_outputs`: with 3 or 4 outputs the 2nd and 3rd swap (the
/// BIOS sequence puts surround before center/LFE; ALSA the other way).
fn reorder(pins: &mut [u8]) {
    if matches!(pins.len(), 3 | 4) {
        pins.swap(1, 2);
    }
}

fn has_volume(codec: &Codec, nid: u8, input: bool) -> bool {
    let Some(n) = codec.node(nid) else { return false };
    let (bit, amp) = if input { (wcaps::IN_AMP, n.amp_in) } else { (wcaps::OUT_AMP, n.amp_out) };
    n.has(bit) && amp.is_some_and(|a| a.steps() > 0)
}

fn has_mute(codec: &Codec, nid: u8, input: bool) -> bool {
    let Some(n) = codec.node(nid) else { return false };
    let (bit, amp) = if input { (wcaps::IN_AMP, n.amp_in) } else { (wcaps::OUT_AMP, n.amp_out) };
    n.has(bit) && amp.is_some_and(|a| a.can_mute())
}

/// A widget's type as Linux reads it: a node the codec does not have reads
/// capabilities 0, an audio output.
fn kind(codec: &Codec, nid: u8) -> WidgetKind {
    codec.node(nid).map_or(WidgetKind::AudioOutput, |n| n.kind())
}

impl AutoCfg {
    /// Linux's `snd_hda_parse_pin_defcfg` and the headphone-as-primary step
    /// of `snd_hda_gen_parse_auto_config`.
    pub fn parse(codec: &Codec, hints: &Hints) -> AutoCfg {
        let mut cfg = AutoCfg::default();
        // (pin, sort key)
        let (mut lines, mut spks, mut hps) = (Vec::<(u8, u8)>::new(), Vec::new(), Vec::new());
        let mut line_assoc = 0;
        for node in codec.nodes_of(WidgetKind::Pin) {
            let Some(config) = node.pin_config.map(PinConfig) else { continue };
            if config.connectivity() == Connectivity::None {
                continue;
            }
            let mut device = config.device();
            // Linux's workaround for BIOSes that call the internal speaker a
            // line out.
            if device == Device::LineOut && matches!(config.connectivity(), Connectivity::Fixed | Connectivity::Both) {
                device = Device::Speaker;
            }
            // Digital pins are HDMI, DisplayPort or S/PDIF, whatever the
            // BIOS calls them: they take digital converters, not DACs.
            if node.is_digital() && device.is_output() {
                continue;
            }
            let pincaps = node.pin_caps.unwrap_or(0);
            let valid = pincaps == 0
                || if device.is_output() { pincaps & caps::OUTPUT != 0 } else { pincaps & caps::INPUT != 0 };
            if !valid {
                continue;
            }
            let (assoc, seq) = (config.association(), config.sequence());
            let role = match device {
                Device::LineOut => {
                    if !node.has(wcaps::STEREO) && cfg.mono_out.is_none() {
                        cfg.mono_out = Some(node.nid);
                    }
                    if assoc == 0 {
                        continue;
                    }
                    if line_assoc == 0 {
                        line_assoc = assoc;
                    } else if line_assoc != assoc {
                        continue;
                    }
                    if lines.len() < MAX_OUTS {
                        lines.push((node.nid, seq));
                    }
                    continue;
                }
                Device::Speaker => {
                    if spks.len() < MAX_OUTS {
                        spks.push((node.nid, assoc << 4 | seq));
                    }
                    continue;
                }
                Device::HpOut => {
                    if hps.len() < MAX_OUTS {
                        hps.push((node.nid, assoc << 4 | seq));
                    }
                    continue;
                }
                Device::MicIn => InputRole::Mic,
                Device::LineIn => InputRole::LineIn,
                Device::Cd => InputRole::Cd,
                Device::Aux => InputRole::Aux,
                _ => continue,
            };
            if cfg.inputs.len() < MAX_INS {
                cfg.inputs.push((role, node.nid));
            }
        }
        // No line out but several headphones: the ones whose sequence is not
        // 0xf are line outs.
        if lines.is_empty() && hps.len() > 1 {
            let (keep, moved): (Vec<_>, Vec<_>) = hps.into_iter().partition(|(_, seq)| seq & 0xf == 0xf);
            lines = moved;
            hps = keep;
            if hps.is_empty() {
                cfg.line_out_type = LineOutType::Headphone;
            }
        }
        let by_seq = |a: &(u8, u8), b: &(u8, u8)| a.1.cmp(&b.1);
        for group in [&mut lines, &mut spks, &mut hps] {
            linux_sort(group, by_seq);
        }
        cfg.line_outs = lines.into_iter().map(|p| p.0).collect();
        cfg.speaker_outs = spks.into_iter().map(|p| p.0).collect();
        cfg.hp_outs = hps.into_iter().map(|p| p.0).collect();
        if cfg.line_outs.is_empty() {
            if !cfg.speaker_outs.is_empty() {
                cfg.line_outs = std::mem::take(&mut cfg.speaker_outs);
                cfg.line_out_type = LineOutType::Speaker;
            } else if !cfg.hp_outs.is_empty() {
                cfg.line_outs = std::mem::take(&mut cfg.hp_outs);
                cfg.line_out_type = LineOutType::Headphone;
            }
        }
        reorder(&mut cfg.line_outs);
        reorder(&mut cfg.hp_outs);
        reorder(&mut cfg.speaker_outs);
        // Inputs by type, a pin with a boost amp first among equals.
        let rank = |r: InputRole| match r {
            InputRole::Mic => 0,
            InputRole::LineIn => 1,
            InputRole::Cd => 2,
            InputRole::Aux => 3,
            InputRole::Digital => 4,
        };
        linux_sort(&mut cfg.inputs, |a, b| {
            rank(a.0).cmp(&rank(b.0)).then_with(|| has_volume(codec, b.1, true).cmp(&has_volume(codec, a.1, true)))
        });
        if hints.primary_hp && cfg.line_out_type == LineOutType::Speaker && cfg.line_outs.len() <= cfg.hp_outs.len() {
            cfg.speaker_outs = std::mem::replace(&mut cfg.line_outs, std::mem::take(&mut cfg.hp_outs));
            cfg.line_out_type = LineOutType::Headphone;
        }
        cfg
    }
}

/// Linux's badness costs.
mod bad {
    pub const NO_PRIMARY_DAC: i32 = 0x10000;
    pub const NO_DAC: i32 = 0x4000;
    pub const MULTI_IO: i32 = 0x120;
    pub const NO_EXTRA_DAC: i32 = 0x102;
    pub const NO_EXTRA_SURR_DAC: i32 = 0x101;
    pub const SHARED_SURROUND: i32 = 0x100;
    pub const NO_INDEP_HP: i32 = 0x10;
    pub const SHARED_CLFE: i32 = 0x10;
    pub const SHARED_EXTRA_SURROUND: i32 = 0x10;
    pub const SHARED_VOL: i32 = 0x10;
}

/// Linux's `struct badness_table`.
struct Badness {
    no_primary_dac: i32,
    no_dac: i32,
    shared_primary: i32,
    shared_surr: i32,
    shared_clfe: i32,
    shared_surr_main: i32,
}

const MAIN_OUT: Badness = Badness {
    no_primary_dac: bad::NO_PRIMARY_DAC,
    no_dac: bad::NO_DAC,
    shared_primary: bad::NO_PRIMARY_DAC,
    shared_surr: bad::SHARED_SURROUND,
    shared_clfe: bad::SHARED_CLFE,
    shared_surr_main: bad::SHARED_SURROUND,
};

const EXTRA_OUT: Badness = Badness {
    no_primary_dac: bad::NO_DAC,
    no_dac: bad::NO_DAC,
    shared_primary: bad::NO_EXTRA_DAC,
    shared_surr: bad::SHARED_EXTRA_SURROUND,
    shared_clfe: bad::SHARED_EXTRA_SURROUND,
    shared_surr_main: bad::NO_EXTRA_SURR_DAC,
};

/// An amp a path's volume or mute control sits on: node, input side.
type Ctl = (u8, bool);

#[derive(Clone, Debug)]
struct Path {
    /// DAC first, pin last.
    nodes: Vec<u8>,
    vol: Option<Ctl>,
    mute: Option<Ctl>,
}

/// Where a path search may go (Linux's `anchor_nid`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Anchor {
    Any,
    Avoid(u8),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    Line,
    Hp,
    Speaker,
}

/// One evaluation's state (the parts of Linux's `hda_gen_spec` it uses).
struct Gen<'a> {
    codec: &'a Codec,
    hints: &'a Hints,
    all_dacs: Vec<u8>,
    /// Every path made; `None` where one was invalidated.
    paths: Vec<Option<Path>>,
    cfg: AutoCfg,
    dacs: [Vec<Option<u8>>; 3],
    path_of: [Vec<Option<usize>>; 3],
    /// Input jacks that would become surround outputs: (pin, DAC, path).
    multi_io: Vec<(u8, u8, usize)>,
    /// Answers of [`Gen::reachable`] so far.
    reach: std::cell::RefCell<std::collections::HashMap<(u8, u8), bool>>,
}

impl<'a> Gen<'a> {
    fn new(codec: &'a Codec, hints: &'a Hints, cfg: AutoCfg) -> Gen<'a> {
        let all_dacs = codec.nodes_of(WidgetKind::AudioOutput).map(|n| n.nid).take(16).collect();
        Gen {
            codec,
            hints,
            all_dacs,
            paths: Vec::new(),
            cfg,
            dacs: Default::default(),
            path_of: Default::default(),
            multi_io: Vec::new(),
            reach: Default::default(),
        }
    }

    fn pins(&self, g: Group) -> &[u8] {
        match g {
            Group::Line => &self.cfg.line_outs,
            Group::Hp => &self.cfg.hp_outs,
            Group::Speaker => &self.cfg.speaker_outs,
        }
    }

    fn avoid(&self) -> Anchor {
        self.hints.mixer_nid.map_or(Anchor::Any, Anchor::Avoid)
    }

    fn dac_used(&self, dac: u8) -> bool {
        self.paths.iter().flatten().any(|p| p.nodes.first() == Some(&dac))
    }

    /// Linux's `snd_hda_get_conn_index(.., recursive)`: whether `nid` feeds
    /// `mux`, directly or through widgets that are not pins or converters.
    fn feeds(&self, mux: u8, nid: u8, depth: u32, steps: &mut usize) -> bool {
        if *steps == 0 {
            return false;
        }
        *steps -= 1;
        let Some(node) = self.codec.node(mux) else { return false };
        if node.connections.contains(&nid) {
            return true;
        }
        if depth > 10 {
            return false;
        }
        node.connections.iter().any(|&c| {
            !matches!(kind(self.codec, c), WidgetKind::Pin | WidgetKind::AudioOutput)
                && self.feeds(c, nid, depth + 1, steps)
        })
    }

    /// Whether `from` feeds `to` (memoised: a codec or a dump whose
    /// mixers all connect to each other makes each search long, and the
    /// variants ask the same questions again and again).
    fn reachable(&self, from: u8, to: u8) -> bool {
        if from == 0 || to == 0 {
            return false;
        }
        if let Some(&known) = self.reach.borrow().get(&(from, to)) {
            return known;
        }
        let r = self.feeds(to, from, 1, &mut SEARCH_STEPS.clone());
        self.reach.borrow_mut().insert((from, to), r);
        r
    }

    /// Linux's `__parse_nid_path`: depth first from `to` back to `from`,
    /// direct connections first, through anything but converters and pins.
    fn parse(&self, from: u8, to: u8, anchor: Anchor, depth: usize, out: &mut Vec<u8>, steps: &mut usize) -> bool {
        if *steps == 0 {
            return false;
        }
        *steps -= 1;
        if anchor == Anchor::Avoid(to) {
            return false;
        }
        let Some(node) = self.codec.node(to) else { return false };
        if node.connections.contains(&from) {
            out.push(from);
            return true;
        }
        if depth >= MAX_DEPTH {
            return false;
        }
        for &c in &node.connections {
            if matches!(kind(self.codec, c), WidgetKind::AudioOutput | WidgetKind::AudioInput | WidgetKind::Pin) {
                continue;
            }
            if self.parse(from, c, anchor, depth + 1, out, steps) {
                out.push(c);
                return true;
            }
        }
        false
    }

    /// Linux's `snd_hda_add_new_path`: the index of a path from `dac` to
    /// `pin`, made if there is none yet.
    fn add_path(&mut self, dac: u8, pin: u8, anchor: Anchor) -> Option<usize> {
        if !self.reachable(dac, pin) {
            return None;
        }
        let existing = self
            .paths
            .iter()
            .position(|p| p.as_ref().is_some_and(|p| p.nodes.first() == Some(&dac) && p.nodes.last() == Some(&pin)));
        if existing.is_some() {
            return existing;
        }
        let mut nodes = Vec::new();
        if !self.parse(dac, pin, anchor, 1, &mut nodes, &mut SEARCH_STEPS.clone()) {
            return None;
        }
        nodes.push(pin);
        self.paths.push(Some(Path { nodes, vol: None, mute: None }));
        Some(self.paths.len() - 1)
    }

    fn look_for_dac(&self, pin: u8, digital: bool) -> Option<u8> {
        self.all_dacs.iter().copied().find(|&d| {
            !self.dac_used(d) && self.codec.node(d).is_some_and(|n| n.is_digital() == digital) && self.reachable(d, pin)
        })
    }

    fn dac_if_single(&self, pin: u8) -> Option<u8> {
        let mut found = None;
        for &d in &self.all_dacs {
            if !self.dac_used(d) && self.reachable(d, pin) {
                if found.is_some() {
                    return None;
                }
                found = Some(d);
            }
        }
        found
    }

    fn ctl_used(&self, ctl: Ctl, vol: bool) -> bool {
        self.paths.iter().flatten().any(|p| if vol { p.vol == Some(ctl) } else { p.mute == Some(ctl) })
    }

    /// Linux's `assign_out_path_ctls`: the path's volume and mute controls,
    /// and the badness of sharing them or having none.
    fn assign_ctls(&mut self, idx: Option<usize>) -> i32 {
        let Some(path) = idx.and_then(|i| self.paths.get(i)).and_then(Option::as_ref) else {
            return bad::SHARED_VOL * 2;
        };
        if path.vol.is_some() || path.mute.is_some() {
            return 0;
        }
        let nodes = path.nodes.clone();
        let codec = self.codec;
        let mut badness = 0;
        let vol = nodes.iter().rev().copied().find(|&n| has_volume(codec, n, false)).map(|n| (n, false));
        let last = nodes.len() - 1;
        let mute = nodes.iter().enumerate().rev().find_map(|(i, &n)| {
            if has_mute(codec, n, false) || (i != last && i != 0 && has_mute(codec, n, true)) {
                Some(n)
            } else {
                None
            }
        });
        let mute = mute.map(|n| {
            let out_side =
                matches!(kind(codec, n), WidgetKind::Pin | WidgetKind::AudioOutput) || has_mute(codec, n, false);
            (n, !out_side)
        });
        let (mut set_vol, mut set_mute) = (None, None);
        match vol {
            Some(c) if !self.ctl_used(c, true) => set_vol = Some(c),
            _ => badness += bad::SHARED_VOL,
        }
        match mute {
            Some(c) if !self.ctl_used(c, false) => set_mute = Some(c),
            _ => badness += bad::SHARED_VOL,
        }
        if let Some(Some(p)) = idx.and_then(|i| self.paths.get_mut(i)) {
            p.vol = set_vol;
            p.mute = set_mute;
        }
        badness
    }

    fn slot(g: Group) -> usize {
        match g {
            Group::Line => 0,
            Group::Hp => 1,
            Group::Speaker => 2,
        }
    }

    /// Linux's `get_primary_out`: the DAC of the primary output `i` (line
    /// outs, then multi-I/O jacks).
    fn primary_out(&self, i: usize) -> Option<u8> {
        let lines = self.cfg.line_outs.len();
        if i < lines {
            self.dacs[0].get(i).copied().flatten()
        } else {
            self.multi_io.get(i - lines).map(|m| m.1)
        }
    }

    fn try_dac(&self, dac: Option<u8>, pin: u8) -> Option<u8> {
        dac.filter(|&d| self.reachable(d, pin))
    }

    /// Linux's `try_assign_dacs`.
    fn try_assign(&mut self, g: Group, bad: &Badness) -> i32 {
        let s = Self::slot(g);
        let pins = self.pins(g).to_vec();
        let mut badness = 0;
        for (i, &pin) in pins.iter().enumerate() {
            if let Some(idx) = self.path_of[s][i].filter(|&p| self.paths.get(p).is_some_and(Option::is_some)) {
                badness += self.assign_ctls(Some(idx));
                continue;
            }
            // A DAC the codec's driver pairs with the pin, even if taken.
            let preferred = self.hints.preferred_dacs.iter().find(|(p, _)| *p == pin).map(|&(_, d)| d);
            if preferred.is_some_and(|d| self.dac_used(d)) {
                badness += bad.shared_primary;
            }
            self.dacs[s][i] = preferred.or_else(|| self.look_for_dac(pin, false));
            if self.dacs[s][i].is_none() && i == 0 {
                // Steal a surround's DAC for the front.
                for j in 1..pins.len() {
                    if self.dacs[s][j].is_some_and(|d| self.reachable(d, pin)) {
                        self.dacs[s][0] = self.dacs[s][j].take();
                        if let Some(p) = self.path_of[s][j].take() {
                            self.paths[p] = None;
                        }
                        break;
                    }
                }
            }
            let mut dac = self.dacs[s][i];
            if dac.is_none() {
                if pins.len() > 2 {
                    dac = self.try_dac(self.primary_out(i), pin);
                }
                if dac.is_none() {
                    dac = self.try_dac(self.dacs[s][0], pin);
                }
                if dac.is_none() {
                    dac = self.try_dac(self.primary_out(i), pin);
                }
                if dac.is_some() {
                    badness += match i {
                        0 => bad.shared_primary,
                        1 => bad.shared_surr,
                        _ => bad.shared_clfe,
                    };
                } else if let Some(d) = self.try_dac(self.dacs[0].first().copied().flatten(), pin) {
                    dac = Some(d);
                    badness += bad.shared_surr_main;
                } else if i == 0 {
                    badness += bad.no_primary_dac;
                } else {
                    badness += bad.no_dac;
                }
            }
            let Some(d) = dac else { continue };
            let mut path = self.add_path(d, pin, self.avoid());
            if path.is_none() && i == 0 && self.hints.mixer_nid.is_some() {
                path = self.add_path(d, pin, Anchor::Any);
            }
            match path {
                None => {
                    self.dacs[s][i] = None;
                    badness += bad.no_dac;
                }
                Some(p) => {
                    self.path_of[s][i] = Some(p);
                    badness += self.assign_ctls(Some(p));
                }
            }
        }
        badness
    }

    /// Linux's `map_singles`: pins that reach exactly one free DAC get it.
    fn map_singles(&mut self, g: Group) -> bool {
        let s = Self::slot(g);
        let pins = self.pins(g).to_vec();
        let mut found = false;
        for (i, &pin) in pins.iter().enumerate() {
            if self.dacs[s][i].is_some() {
                continue;
            }
            let Some(dac) = self.dac_if_single(pin) else { continue };
            let mut path = self.add_path(dac, pin, self.avoid());
            if path.is_none() && i == 0 && self.hints.mixer_nid.is_some() {
                path = self.add_path(dac, pin, Anchor::Any);
            }
            if let Some(p) = path {
                self.dacs[s][i] = Some(dac);
                self.path_of[s][i] = Some(p);
                found = true;
            }
        }
        found
    }

    /// Input jacks at the reference pin's location that can drive output:
    /// the line ins, then the mics.
    fn multiio_candidates(&self, reference: u8) -> [Vec<u8>; 2] {
        let location = self.codec.node(reference).and_then(|n| n.pin_config).map_or(0, |c| PinConfig(c).location());
        [InputRole::LineIn, InputRole::Mic].map(|role| {
            self.cfg
                .inputs
                .iter()
                .filter(|&&(r, pin)| {
                    let Some(node) = self.codec.node(pin) else { return false };
                    let config = PinConfig(node.pin_config.unwrap_or(0));
                    r == role
                        && config.connectivity() == Connectivity::Jack
                        && (location == 0 || config.location() == location)
                        && node.pin_caps.unwrap_or(0) & caps::OUTPUT != 0
                })
                .map(|&(_, pin)| pin)
                .collect()
        })
    }

    /// Linux's `fill_multi_ios`.
    fn fill_multi_ios(&mut self, reference: u8, hardwired: bool) -> i32 {
        let old = self.multi_io.len();
        let mut badness = 0;
        let groups = self.multiio_candidates(reference);
        if old < 2 && groups.iter().map(Vec::len).sum::<usize>() >= 2 {
            // As Linux: "enough" ends a type's loop, not the whole search.
            for group in groups {
                for pin in group {
                    if self.multi_io.iter().any(|m| m.0 == pin) {
                        continue;
                    }
                    let dac = if hardwired { self.dac_if_single(pin) } else { self.look_for_dac(pin, false) };
                    let Some(dac) = dac else {
                        badness += 1;
                        continue;
                    };
                    let Some(p) = self.add_path(dac, pin, self.avoid()) else {
                        badness += 1;
                        continue;
                    };
                    self.multi_io.push((pin, dac, p));
                    if self.multi_io.len() >= 2 {
                        break;
                    }
                }
            }
        }
        if badness != 0 {
            badness = bad::MULTI_IO;
        }
        if old == self.multi_io.len() {
            return if hardwired { 1 } else { badness };
        }
        if !hardwired && self.multi_io.len() < 2 {
            // Linux drops the paths made here by shortening its path list.
            let made = self.multi_io.len() - old;
            self.paths.truncate(self.paths.len().saturating_sub(made));
            self.multi_io.truncate(old);
            return badness;
        }
        for k in old..self.multi_io.len() {
            let p = self.multi_io[k].2;
            badness += self.assign_ctls(Some(p));
        }
        badness
    }

    /// Linux's `indep_hp_possible`.
    fn indep_hp_possible(&self) -> bool {
        let idx = if self.cfg.line_out_type == LineOutType::Headphone {
            self.path_of[0].first()
        } else {
            self.path_of[1].first()
        };
        let Some(path) = idx.copied().flatten().and_then(|i| self.paths.get(i)).and_then(Option::as_ref) else {
            return false;
        };
        let Some(mixer) = self.hints.mixer_nid else { return true };
        if !path.nodes.contains(&mixer) {
            return true;
        }
        let has_mixer = |p: &Option<usize>| {
            p.and_then(|i| self.paths.get(i)).and_then(Option::as_ref).is_some_and(|p| p.nodes.contains(&mixer))
        };
        let own = idx.copied().flatten();
        !self.path_of[0].iter().take_while(|p| **p != own).any(has_mixer) && !self.path_of[2].iter().any(has_mixer)
    }

    /// Linux's `fill_and_eval_dacs`: one assignment and its badness.
    fn fill_and_eval(&mut self, hardwired: bool, mio_first: bool) -> i32 {
        self.paths.clear();
        self.multi_io.clear();
        for g in [Group::Line, Group::Hp, Group::Speaker] {
            let n = self.pins(g).len();
            self.dacs[Self::slot(g)] = vec![None; n];
            self.path_of[Self::slot(g)] = vec![None; n];
        }
        let multi_io_ok =
            self.hints.multi_io && self.cfg.line_outs.len() == 1 && self.cfg.line_out_type != LineOutType::Speaker;
        let mut badness = 0;
        if hardwired {
            loop {
                let mut mapped = self.map_singles(Group::Line);
                mapped |= self.map_singles(Group::Hp);
                mapped |= self.map_singles(Group::Speaker);
                if multi_io_ok && mio_first && self.fill_multi_ios(self.cfg.line_outs[0], true) == 0 {
                    mapped = true;
                }
                if !mapped {
                    break;
                }
            }
        }
        badness += self.try_assign(Group::Line, &MAIN_OUT);
        if multi_io_ok && mio_first {
            self.fill_multi_ios(self.cfg.line_outs[0], false);
        }
        if self.cfg.line_out_type != LineOutType::Headphone {
            badness += self.try_assign(Group::Hp, &EXTRA_OUT);
        }
        if self.cfg.line_out_type != LineOutType::Speaker {
            badness += self.try_assign(Group::Speaker, &EXTRA_OUT);
        }
        if multi_io_ok {
            badness += self.fill_multi_ios(self.cfg.line_outs[0], false);
        }
        let mut give_multi_io_badness = false;
        if self.hints.multi_io && self.cfg.line_out_type == LineOutType::Speaker {
            if let Some(&hp) = self.cfg.hp_outs.first() {
                give_multi_io_badness = self.multiio_candidates(hp).iter().map(Vec::len).sum::<usize>() >= 2;
            }
        }
        if self.multi_io.len() != 2 && (!self.multi_io.is_empty() || give_multi_io_badness) {
            self.multi_io.clear();
            badness += bad::MULTI_IO;
        }
        if self.hints.indep_hp && !self.indep_hp_possible() {
            badness += bad::NO_INDEP_HP;
        }
        badness
    }

    /// Linux's `parse_output_paths`: evaluate the variants, keep the best.
    fn run(&mut self) {
        let (mut hardwired, mut mio_first) = (true, true);
        let (mut best, mut best_cfg, mut best_wired, mut best_mio) = (i32::MAX, self.cfg.clone(), true, true);
        let mut swapped = false;
        let mut badness;
        loop {
            badness = self.fill_and_eval(hardwired, mio_first);
            if badness < best {
                (best, best_cfg, best_wired, best_mio) = (badness, self.cfg.clone(), hardwired, mio_first);
            }
            if badness == 0 {
                break;
            }
            mio_first = !mio_first;
            if !mio_first {
                continue;
            }
            hardwired = !hardwired;
            if !hardwired {
                continue;
            }
            if swapped {
                break;
            }
            swapped = true;
            let cfg = &mut self.cfg;
            if !cfg.speaker_outs.is_empty() && cfg.line_out_type == LineOutType::Headphone {
                cfg.hp_outs = std::mem::replace(&mut cfg.line_outs, std::mem::take(&mut cfg.speaker_outs));
                cfg.line_out_type = LineOutType::Speaker;
                hardwired = true;
                continue;
            }
            if !cfg.hp_outs.is_empty() && cfg.line_out_type == LineOutType::Speaker {
                cfg.speaker_outs = std::mem::replace(&mut cfg.line_outs, std::mem::take(&mut cfg.hp_outs));
                cfg.line_out_type = LineOutType::Headphone;
                hardwired = true;
                continue;
            }
            break;
        }
        if badness != 0 {
            self.cfg = best_cfg;
            self.fill_and_eval(best_wired, best_mio);
        }
    }

    fn path(&self, idx: Option<usize>) -> Option<&Path> {
        idx.and_then(|i| self.paths.get(i)).and_then(Option::as_ref)
    }
}

/// One output the assignment settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assigned {
    pub pin: u8,
    pub role: OutputRole,
    /// DAC first, pin last; `None` when no DAC could be given.
    pub nodes: Option<Vec<u8>>,
}

/// The analog outputs Linux's generic parser would drive, in order: the
/// primary outputs, then headphones, then speakers; and the input jacks it
/// would retask as surround outputs (pin, DAC).
pub fn assign(codec: &Codec, hints: &Hints) -> (Vec<Assigned>, Vec<(u8, u8)>, AutoCfg) {
    let cfg = AutoCfg::parse(codec, hints);
    let mut gen = Gen::new(codec, hints, cfg);
    if !gen.cfg.line_outs.is_empty() {
        gen.run();
    }
    let primary = match gen.cfg.line_out_type {
        LineOutType::Line => OutputRole::LineOut,
        LineOutType::Speaker => OutputRole::Speaker,
        LineOutType::Headphone => OutputRole::Headphone,
    };
    let mut out = Vec::new();
    let mut push = |gen: &Gen<'_>, g: Group, role: OutputRole| {
        let s = Gen::slot(g);
        for (i, &pin) in gen.pins(g).iter().enumerate() {
            let nodes = gen.path(gen.path_of[s].get(i).copied().flatten()).map(|p| p.nodes.clone());
            out.push(Assigned { pin, role, nodes });
        }
    };
    push(&gen, Group::Line, primary);
    if gen.cfg.line_out_type != LineOutType::Headphone {
        push(&gen, Group::Hp, OutputRole::Headphone);
    }
    if gen.cfg.line_out_type != LineOutType::Speaker {
        push(&gen, Group::Speaker, OutputRole::Speaker);
    }
    let multi_io = gen.multi_io.iter().map(|m| (m.0, m.1)).collect();
    (out, multi_io, gen.cfg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::paths::{plan, tests::pin};
    use crate::codec::{AmpCaps, Node};

    fn widget(nid: u8, wcaps: u32, conns: &[u8]) -> Node {
        let amp = AmpCaps(0x1f | 0x1f << 8 | 0x05 << 16);
        Node { nid, wcaps, connections: conns.to_vec(), amp_out: Some(amp), ..Node::default() }
    }

    /// The ALC262 of HP's z420/z620 workstations (from their dumps, taken
    /// under Linux 3.x): DACs 0x02/0x03; mixers 0x0c (0x02 + loopback
    /// 0x0b), 0x0d (0x03 + 0x0b), mono 0x0e (0x02 + 0x0b); a rear line out
    /// 0x15 and a front headphone 0x1b on 0x0c/0x0d; an internal mono
    /// "line out" 0x16 that only 0x0e feeds.
    fn alc262_z420() -> Codec {
        Codec {
            vendor_id: 0x10ec_0262,
            nodes: vec![
                widget(0x02, 0x0000_0011, &[]),
                widget(0x03, 0x0000_0011, &[]),
                widget(0x0b, 0x0020_010b, &[0x18, 0x19, 0x1a]),
                widget(0x0c, 0x0020_010f, &[0x02, 0x0b]),
                widget(0x0d, 0x0020_010f, &[0x03, 0x0b]),
                widget(0x0e, 0x0020_010e, &[0x02, 0x0b]),
                pin(0x15, 0x0101_4c10, &[0x0c, 0x0d], Some(0)),
                Node { wcaps: 0x0040_010c, ..pin(0x16, 0x9903_0120, &[0x0e], None) },
                pin(0x1b, 0x0221_1c40, &[0x0c, 0x0d], Some(1)),
            ],
            ..Codec::default()
        }
    }

    #[test]
    fn alc262_line_out_takes_the_first_dac_and_the_headphone_its_own() {
        let c = alc262_z420();
        let hints = Hints::for_codec(&c);
        assert_eq!(hints.mixer_nid, Some(0x0b));
        let cfg = AutoCfg::parse(&c, &hints);
        // A fixed "line out" is a speaker to Linux.
        assert_eq!((cfg.line_outs.as_slice(), cfg.hp_outs.as_slice()), ([0x15].as_slice(), [0x1b].as_slice()));
        assert_eq!(cfg.speaker_outs, vec![0x16]);
        let p = plan(&c);
        let routes: Vec<(u8, OutputRole, Vec<u8>, bool)> =
            p.outputs.iter().map(|o| (o.pin, o.role, o.nodes.clone(), o.shared)).collect();
        // Serving the hard-wired speaker first would leave the headphone
        // sharing the line out's DAC (badness 0x112); Linux prefers the line
        // out on 0x02 with the speaker sharing it (0x102).
        assert_eq!(
            routes,
            vec![
                (0x15, OutputRole::LineOut, vec![0x02, 0x0c, 0x15], true),
                (0x1b, OutputRole::Headphone, vec![0x03, 0x0d, 0x1b], false),
                (0x16, OutputRole::Speaker, vec![0x02, 0x0e, 0x16], true),
            ]
        );
    }

    #[test]
    fn paths_avoid_the_loopback_mixer_unless_the_front_has_no_other() {
        let mut c = alc262_z420();
        // The line out reaches DACs only through the loopback mixer.
        for n in &mut c.nodes {
            if n.nid == 0x0b {
                n.connections = vec![0x02];
            }
            if n.nid == 0x15 {
                n.connections = vec![0x0b];
            }
        }
        let p = plan(&c);
        let front = p.outputs.iter().find(|o| o.pin == 0x15).unwrap();
        assert_eq!(front.nodes, vec![0x02, 0x0b, 0x15], "the primary output may go through it");
        // The first pin of each group may; a second headphone that only the
        // loopback mixer reaches gets no path (Linux leaves it unrouted).
        c.nodes.push(pin(0x1a, 0x0221_1c4f, &[0x0b], None));
        let p = plan(&c);
        assert!(p.unrouted.iter().any(|(pin, _)| *pin == 0x1a), "{p:?}");
        let hints = Hints { mixer_nid: None, ..Hints::for_codec(&c) };
        let p = crate::codec::paths::plan_with(&c, &hints);
        assert!(p.outputs.iter().any(|o| o.pin == 0x1a && o.nodes == [0x02, 0x0b, 0x1a]), "without the hint: {p:?}");
    }

    #[test]
    fn a_graph_of_mixers_all_feeding_each_other_is_planned() {
        // 16 DACs, 40 mixers that each take every DAC's mixer and every other
        // mixer, 14 output pins on every mixer: every search is bounded.
        let mixers: Vec<u8> = (0x20..0x48).collect();
        let mut nodes: Vec<Node> = (0x02..0x12).map(|d| widget(d, 0x0000_0011, &[])).collect();
        for &m in &mixers {
            let conns: Vec<u8> = mixers.iter().copied().filter(|&o| o != m).take(15).collect();
            nodes.push(widget(m, 0x0020_010f, &conns));
        }
        for (i, p) in (0x50..0x5e).enumerate() {
            let config = 0x0101_4010 | (i as u32 & 0xf);
            nodes.push(pin(p, config, &mixers[..15], Some(0)));
        }
        let c = Codec { vendor_id: 0x10ec_0269, nodes, ..Codec::default() };
        let t = std::time::Instant::now();
        let p = plan(&c);
        eprintln!("planned in {:?}", t.elapsed());
        assert!(p.outputs.is_empty(), "no mixer reaches a DAC");
        assert_eq!(p.unrouted.len(), MAX_OUTS, "Linux takes five line outs of one association");
    }

    #[test]
    fn linux_sort_leaves_equal_keys_in_heapsort_order() {
        // lib/sort.c of the 3.x kernels on two and three equal keys.
        let mut two = [(0x14, 0), (0x15, 0)];
        linux_sort(&mut two, |a, b| a.1.cmp(&b.1));
        assert_eq!(two, [(0x15, 0), (0x14, 0)]);
        let mut three = [(1, 0), (2, 0), (3, 0)];
        linux_sort(&mut three, |a, b| a.1.cmp(&b.1));
        assert_eq!(three, [(2, 0), (3, 0), (1, 0)]);
        let mut mixed = [5, 3, 9, 1, 4, 4, 0];
        linux_sort(&mut mixed, |a, b| a.cmp(b));
        assert_eq!(mixed, [0, 1, 3, 4, 4, 5, 9]);
    }
}
