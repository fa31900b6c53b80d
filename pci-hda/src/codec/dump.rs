//! Codec dumps in the `/proc/asound/card*/codec#*` text format that Linux
//! prints (sound/pci/hda/hda_proc.c), alone or inside an `alsa-info.sh`
//! report, read into the same [`Codec`] model a live read
//! ([`super::live::read_codec`]) produces: raw parameter values, with the
//! function group's defaults where a widget does not override them.
//!
//! The reader goes line by line and keys on what a line starts with, not on
//! its indentation. A codec starts at a `Codec:` line and ends at the next
//! one, at an alsa-info `!!` header or a `--startcollapse--`/`--endcollapse--`
//! marker; text outside codecs (report sections, upload junk) is not looked
//! at. Inside a codec, lines the model has no use for (power, unsolicited,
//! processing, digital, controls, ...) are passed over; malformed or unknown
//! lines are skipped with a warning, never trusted. Both generations of the
//! format are read: the old one-line `PCM: rates 0x.., bits 0x.., types 0x..`
//! and bracket-less `Amp-In vals: 0x80 0x80` (index 0 only), and today's.

use super::{wcaps, AmpCaps, Codec, Node, PcmCaps, WidgetKind};

/// Every codec in `text`, in order; skipped lines are logged (`log::warn!`).
pub fn parse_dumps(text: &str) -> Vec<Codec> {
    let (codecs, warnings) = parse_dumps_with_warnings(text);
    for w in &warnings {
        log::warn!("codec dump: {w}");
    }
    codecs
}

/// Every codec in `text`, and a warning (`line N: what: "text"`) for each
/// line inside a codec that was skipped as malformed or unknown.
pub fn parse_dumps_with_warnings(text: &str) -> (Vec<Codec>, Vec<String>) {
    let mut p = Parser::default();
    for (i, line) in text.lines().enumerate() {
        p.line_no = i + 1;
        p.line(line);
    }
    p.end_codec();
    p.attach_pin_configs();
    (p.codecs, p.warnings)
}

/// Lines inside a codec that the model does not use, by how they start.
const IGNORED: &str = "Power|Unsolicited|Processing|Coefficient Index|Control|Converter|SDI-Select|Digital|\
    IEC Coding Type|Delay|Conn =|DefAssociation|Misc|Vref caps|GPIO|IO[|Devices:|Dev |*Dev |Device:|Volume-Knob|\
    Analog Loopback|No Modem Function Group|MFG Function Id|N/A";
/// Codec and function-group lines.
const CODEC_KEYS: &str = "Address:|Vendor Id:|Subsystem Id:|Revision Id:|Modem Function Group:|Function Id:|\
    AFG Function Id:|State of AFG node|Default PCM:|Default Amp-In caps:|Default Amp-Out caps:|rates|bits|formats";
/// Widget lines (after its `Node` line).
const NODE_KEYS: &str = "Amp-In caps:|Amp-Out caps:|Amp-In vals:|Amp-Out vals:|PCM:|Pincap|Pin Default|Pin-ctls:|\
    EAPD|Connection:|In-driver Connection:";

/// The first of `keys` (`|`-separated) that `line` starts with, and the rest.
fn key_of<'a>(line: &'a str, keys: &'static str) -> Option<(&'static str, &'a str)> {
    keys.split('|').find_map(|k| line.strip_prefix(k).map(|v| (k, v.trim())))
}

/// A hex number, with or without `0x`.
fn hex(s: &str) -> Option<u32> {
    let s = s.trim();
    u32::from_str_radix(s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s), 16).ok()
}

/// A hex number that fits in a byte.
fn hex8(s: &str) -> Option<u8> {
    hex(s).and_then(|v| u8::try_from(v).ok())
}

/// The first word of `s` (up to whitespace or `:`), as hex.
fn first_hex(s: &str) -> Option<u32> {
    s.split(|c: char| c.is_whitespace() || c == ':').find(|t| !t.is_empty()).and_then(hex)
}

/// `ofs=0x3f, nsteps=0x40, stepsize=0x03, mute=0` as raw Amplifier
/// Capabilities; `N/A` (the parameter read as 0) is 0.
fn amp_caps(s: &str) -> Option<u32> {
    if s.starts_with("N/A") {
        return Some(0);
    }
    let mut f = [None; 4];
    for part in s.split(',') {
        let (k, v) = part.split_once('=')?;
        let i = ["ofs", "nsteps", "stepsize", "mute"].iter().position(|n| *n == k.trim())?;
        f[i] = hex(v).filter(|&v| v <= if i == 3 { 1 } else { 0x7f });
    }
    Some(f[0]? | f[1]? << 8 | f[2]? << 16 | f[3]? << 31)
}

/// Amp values: `[0x80 0x80] [0x00 0x00]` (one bracket per index; a mono
/// amp's one value is repeated), or the old bracket-less `0x80 0x80`.
fn amp_vals(s: &str) -> Option<Vec<[u8; 2]>> {
    let pair = |t: &str| -> Option<[u8; 2]> {
        let v: Vec<u8> = t.split_whitespace().map(hex8).collect::<Option<_>>()?;
        match v[..] {
            [m] => Some([m, m]),
            [l, r] => Some([l, r]),
            _ => None,
        }
    };
    if !s.contains('[') {
        return if s.is_empty() { Some(Vec::new()) } else { pair(s).map(|p| vec![p]) };
    }
    let mut groups = s.split('[');
    groups.next().filter(|head| head.trim().is_empty())?;
    groups
        .map(|g| g.split_once(']').filter(|(_, rest)| rest.trim().is_empty()).and_then(|(inner, _)| pair(inner)))
        .collect()
}

/// Where `rates`/`bits`/`formats` lines go.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum PcmTarget {
    #[default]
    None,
    Default,
    Node,
}

/// What a line of bare numbers or brackets continues.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Continues {
    #[default]
    Nothing,
    /// The hardware connection list, of this stated length.
    Connections(usize),
    /// The driver's own list (`In-driver Connection:`): not the hardware's.
    InDriver,
    /// A wrapped `Amp-In vals` line.
    AmpInVals,
}

/// A node as the dump printed it, before defaults and selection rules.
#[derive(Default)]
struct NodeDraft {
    node: Node,
    amp_in: Option<u32>,
    amp_out: Option<u32>,
    pcm: Option<PcmCaps>,
    /// Index of the `*` in the connection list.
    star: Option<usize>,
    /// The `In-driver Connection:` list.
    in_driver: Vec<u8>,
}

/// A codec being read.
#[derive(Default)]
struct CodecDraft {
    codec: Codec,
    nodes: Vec<NodeDraft>,
    /// Whether the dump shows an audio function group at all.
    has_afg: bool,
    /// `State of AFG node 0x..` (newer kernels).
    afg_nid: Option<u8>,
    /// `Modem Function Group: 0x..`.
    mfg_nid: Option<u8>,
}

#[derive(Default)]
struct Parser {
    codecs: Vec<Codec>,
    warnings: Vec<String>,
    cur: Option<CodecDraft>,
    /// Index of the node lines apply to; `None` before the first `Node` line
    /// or after a malformed one (whose lines are then skipped quietly).
    node: Option<usize>,
    skipping_node: bool,
    pcm: PcmTarget,
    cont: Continues,
    line_no: usize,
    /// Reading an alsa-info `/sys/class/sound/hwC<card>D<address>/
    /// {driver,user}_pin_configs:` list: (card, address).
    sysfs: Option<(u32, u8)>,
    /// What those lists said: (card, address, pin, configuration).
    pin_configs: Vec<(u32, u8, u8, u32)>,
    /// Every (address, card) with a sysfs pin list, empty or not, in order.
    sysfs_codecs: Vec<(u8, u32)>,
}

impl Parser {
    fn warn(&mut self, what: &str, line: &str) {
        let shown: String = line.chars().take(100).collect();
        self.warnings.push(format!("line {}: {what}: {shown:?}", self.line_no));
    }

    fn node_mut(&mut self) -> Option<&mut NodeDraft> {
        let i = self.node?;
        self.cur.as_mut()?.nodes.get_mut(i)
    }

    fn with_node(&mut self, f: impl FnOnce(&mut NodeDraft)) {
        self.node_mut().map(f);
    }

    fn line(&mut self, raw: &str) {
        let mut line = raw.trim();
        // A quoted-printable soft break after a bracket (mailed reports).
        if let Some(s) = line.strip_suffix('=').filter(|s| s.ends_with(']')) {
            line = s;
        }
        if let Some(name) = line.strip_prefix("Codec:") {
            self.end_codec();
            let name = Some(name.trim().to_string()).filter(|n| !n.is_empty());
            self.cur = Some(CodecDraft { codec: Codec { name, ..Codec::default() }, ..CodecDraft::default() });
        } else if line.starts_with("!!") || line.starts_with("--endcollapse--") || line.starts_with("--startcollapse--")
        {
            self.end_codec();
        } else if self.cur.is_none() {
            self.sysfs_line(line);
        } else if line.is_empty() {
            // Nothing.
        } else if line.starts_with("0x") || line.starts_with('[') {
            self.continuation(line);
        } else {
            self.end_list();
            if !self.codec_line(line) && !self.node_line(line) && key_of(line, IGNORED).is_none() {
                self.warn("unknown line", line);
            }
        }
    }

    /// Outside codecs: the pin configurations Linux's driver and user set,
    /// from an alsa-info report's sysfs section.
    fn sysfs_line(&mut self, line: &str) {
        if let Some(rest) = line.strip_prefix("/sys/class/sound/hwC") {
            self.sysfs = None;
            let Some((id, file)) = rest.split_once('/') else { return };
            let Some((card, address)) = id.split_once('D') else { return };
            let (Ok(card), Ok(address)) = (card.parse::<u32>(), address.parse::<u8>()) else { return };
            if file.ends_with("_pin_configs:") && !self.sysfs_codecs.contains(&(address, card)) {
                self.sysfs_codecs.push((address, card));
            }
            if matches!(file, "driver_pin_configs:" | "user_pin_configs:") {
                self.sysfs = Some((card, address));
            }
            return;
        }
        let Some((card, address)) = self.sysfs else { return };
        let mut words = line.split_whitespace();
        match (words.next().and_then(hex8), words.next().and_then(hex), words.next()) {
            (Some(pin), Some(config), None) => self.pin_configs.push((card, address, pin, config)),
            _ => self.sysfs = None,
        }
    }

    /// Give each codec the pin configurations listed for it: the n-th card
    /// with sysfs lists (empty ones too) for an address goes with the n-th
    /// codec at that address.
    fn attach_pin_configs(&mut self) {
        for &(card, address, pin, config) in &self.pin_configs {
            let nth = self.sysfs_codecs.iter().filter(|(a, c)| *a == address && *c < card).count();
            if let Some(codec) = self.codecs.iter_mut().filter(|c| c.address == address).nth(nth) {
                codec.linux_pin_configs.retain(|(p, _)| *p != pin);
                codec.linux_pin_configs.push((pin, config));
            }
        }
    }

    /// Codec and function-group lines; false if `line` is none of them.
    fn codec_line(&mut self, line: &str) -> bool {
        let (Some((key, v)), Some(d)) = (key_of(line, CODEC_KEYS), self.cur.as_mut()) else { return false };
        let c = &mut d.codec;
        let ok = match key {
            "Address:" => v.parse::<u8>().ok().filter(|&a| a < 16).map(|a| c.address = a).is_some(),
            "Vendor Id:" => hex(v).map(|v| c.vendor_id = v).is_some(),
            "Subsystem Id:" => hex(v).map(|v| c.subsystem_id = v).is_some(),
            "Revision Id:" => hex(v).map(|v| c.revision_id = v).is_some(),
            "Modem Function Group:" => hex8(v).map(|n| d.mfg_nid = Some(n)).is_some(),
            // Old kernels: the type of the first function group (1 = audio).
            "Function Id:" => hex(v).map(|t| d.has_afg |= t & 0xff == 1).is_some(),
            _ => {
                // The rest is printed only for an audio function group.
                d.has_afg = true;
                match key {
                    "AFG Function Id:" => true,
                    "State of AFG node" => {
                        first_hex(v).and_then(|n| u8::try_from(n).ok()).map(|n| d.afg_nid = Some(n)).is_some()
                    }
                    "Default Amp-In caps:" => amp_caps(v).map(|a| c.default_amp_in = AmpCaps(a)).is_some(),
                    "Default Amp-Out caps:" => amp_caps(v).map(|a| c.default_amp_out = AmpCaps(a)).is_some(),
                    "Default PCM:" => {
                        self.pcm = PcmTarget::Default;
                        v.is_empty() || self.pcm_line(v)
                    }
                    _ => self.pcm_line(line),
                }
            }
        };
        if !ok {
            self.warn("malformed line", line);
        }
        true
    }

    /// `rates [0x..]`, `bits [0x..]`, `formats [0x..]`, or the old one-line
    /// `rates 0x.., bits 0x.., types 0x..`, into the current PCM block.
    fn pcm_line(&mut self, line: &str) -> bool {
        let caps = match self.pcm {
            PcmTarget::None => return false,
            PcmTarget::Default => self.cur.as_ref().map(|d| d.codec.default_pcm),
            PcmTarget::Node => self.node_mut().and_then(|d| d.pcm),
        };
        let mut caps = caps.unwrap_or_default();
        for part in line.split(',').map(str::trim) {
            let (key, value) = part.split_once(char::is_whitespace).unwrap_or((part, ""));
            let bracketed = value.split_once('[').and_then(|(_, v)| v.split_once(']'));
            match (key, bracketed.map_or_else(|| first_hex(value), |(v, _)| hex(v))) {
                ("rates", Some(r)) if r <= 0xfff => caps.pcm = (caps.pcm & !0xfff) | r,
                ("bits", Some(b)) if b <= 0xff => caps.pcm = (caps.pcm & 0xfff) | b << 16,
                ("formats" | "types", Some(f)) => caps.formats = f,
                _ => return false,
            }
        }
        match self.pcm {
            PcmTarget::Default => self.cur.iter_mut().for_each(|d| d.codec.default_pcm = caps),
            _ => self.with_node(|d| d.pcm = Some(caps)),
        }
        true
    }

    /// Widget lines; false if `line` is none of them.
    fn node_line(&mut self, line: &str) -> bool {
        if let Some(rest) = line.strip_prefix("Node ") {
            self.node_header(line, rest);
            return true;
        }
        let Some((key, v)) = key_of(line, NODE_KEYS) else { return false };
        if self.node.is_none() {
            if !self.skipping_node {
                self.warn("widget line outside a node", line);
            }
            return true;
        }
        let byte = |s: &str| first_hex(s).and_then(|c| u8::try_from(c).ok());
        let ok = match key {
            "Amp-In caps:" => amp_caps(v).map(|c| self.with_node(|d| d.amp_in = Some(c))).is_some(),
            "Amp-Out caps:" => amp_caps(v).map(|c| self.with_node(|d| d.amp_out = Some(c))).is_some(),
            "Amp-In vals:" => {
                self.cont = Continues::AmpInVals;
                amp_vals(v).map(|v| self.with_node(|d| d.node.amp_in_vals = v)).is_some()
            }
            "Amp-Out vals:" => {
                amp_vals(v).map(|v| self.with_node(|d| d.node.amp_out_vals = v.first().copied())).is_some()
            }
            "PCM:" => {
                self.pcm = PcmTarget::Node;
                self.with_node(|d| d.pcm = Some(PcmCaps::default()));
                v.is_empty() || self.pcm_line(v)
            }
            "Pincap" => first_hex(v).map(|c| self.with_node(|d| d.node.pin_caps = Some(c))).is_some(),
            "Pin Default" => first_hex(v).map(|c| self.with_node(|d| d.node.pin_config = Some(c))).is_some(),
            "Pin-ctls:" => byte(v).map(|c| self.with_node(|d| d.node.pin_ctl = Some(c))).is_some(),
            // `EAPD 0x2: EAPD`, or `EAPD: 0x2` in some versions.
            "EAPD" => byte(v.trim_start_matches(':')).map(|c| self.with_node(|d| d.node.eapd = Some(c))).is_some(),
            "Connection:" => {
                // A negative count is an error code: no list follows.
                let n = v.parse::<i32>().ok().filter(|&n| n <= 0x7f);
                self.cont = Continues::Connections(n.and_then(|n| usize::try_from(n).ok()).unwrap_or(0));
                n.is_some()
            }
            _ => {
                self.cont = Continues::InDriver;
                true
            }
        };
        if !ok {
            self.warn("malformed line", line);
        }
        true
    }

    /// `Node 0x02 [Audio Output] wcaps 0x1d: Stereo Amp-Out`.
    fn node_header(&mut self, line: &str, rest: &str) {
        self.pcm = PcmTarget::None;
        let nid = rest.split_whitespace().next().and_then(hex8);
        let caps = rest.split_once("wcaps ").and_then(|(_, w)| first_hex(w));
        let (Some(nid), Some(wcaps), Some(d)) = (nid, caps, self.cur.as_mut()) else {
            self.node = None;
            self.skipping_node = true;
            return self.warn("malformed node line (its lines are skipped)", line);
        };
        d.nodes.push(NodeDraft { node: Node { nid, wcaps, ..Node::default() }, ..NodeDraft::default() });
        self.node = Some(d.nodes.len() - 1);
        self.skipping_node = false;
    }

    /// A line of bare numbers (`0x0c* 0x0d`) or brackets, continuing the
    /// line before.
    fn continuation(&mut self, line: &str) {
        match self.cont {
            Continues::Connections(n) => {
                let Some(d) = self.node_mut() else { return };
                let mut ok = true;
                for t in line.split_whitespace() {
                    match hex8(t.trim_end_matches('*')) {
                        Some(nid) if d.node.connections.len() < n => {
                            if t.ends_with('*') && d.star.is_none() {
                                d.star = Some(d.node.connections.len());
                            }
                            d.node.connections.push(nid);
                        }
                        _ => ok = false,
                    }
                }
                if !ok {
                    self.warn("connection entries skipped (malformed or beyond the stated count)", line);
                }
            }
            Continues::InDriver => {
                let Some(d) = self.node_mut() else { return };
                for nid in line.split_whitespace().filter_map(|t| hex8(t.trim_end_matches('*'))) {
                    if d.in_driver.len() < 0x7f {
                        d.in_driver.push(nid);
                    }
                }
            }
            Continues::AmpInVals => match amp_vals(line) {
                Some(v) => self.with_node(|d| d.node.amp_in_vals.extend(v)),
                None => self.warn("malformed amp values", line),
            },
            Continues::Nothing if self.skipping_node => {}
            Continues::Nothing => self.warn("stray list line", line),
        }
    }

    /// Leave a connection list, noting one shorter than it said.
    fn end_list(&mut self) {
        if let (Continues::Connections(n), Some(d)) = (self.cont, self.node_mut()) {
            let (nid, got) = (d.node.nid, d.node.connections.len());
            if got < n {
                self.warn(&format!("node {nid:#04x} lists {got} of {n} connections"), "");
            }
        }
        self.cont = Continues::Nothing;
    }

    /// Finish the codec being read, if any.
    fn end_codec(&mut self) {
        self.end_list();
        (self.node, self.skipping_node, self.pcm) = (None, false, PcmTarget::None);
        if let Some(draft) = self.cur.take() {
            let codec = self.finish(draft);
            self.codecs.push(codec);
        }
    }

    /// What a live read would give: the function group's defaults where a
    /// widget does not override them, `live.rs`'s selection rules, nodes in
    /// nid order.
    fn finish(&mut self, draft: CodecDraft) -> Codec {
        let mut codec = draft.codec;
        if draft.has_afg || !draft.nodes.is_empty() {
            codec.afg = Some(draft.afg_nid.unwrap_or(if draft.mfg_nid == Some(1) { 2 } else { 1 }));
        }
        for d in draft.nodes {
            let mut n = d.node;
            let (w, kind) = (n.wcaps, n.kind());
            // Without the override bit a widget uses the defaults, whatever
            // its own parameter (printed) says; N/A (0) also means the default.
            let amp = |bit: u32, own: Option<u32>, default: AmpCaps| {
                (w & bit != 0).then(|| own.filter(|&c| w & wcaps::AMP_OVERRIDE != 0 && c != 0).map_or(default, AmpCaps))
            };
            n.amp_in = amp(wcaps::IN_AMP, d.amp_in, codec.default_amp_in);
            n.amp_out = amp(wcaps::OUT_AMP, d.amp_out, codec.default_amp_out);
            if matches!(kind, WidgetKind::AudioOutput | WidgetKind::AudioInput) {
                n.pcm = Some(d.pcm.filter(|_| w & wcaps::FORMAT_OVERRIDE != 0).unwrap_or(codec.default_pcm));
            }
            if kind != WidgetKind::Pin {
                (n.pin_caps, n.pin_config, n.pin_ctl, n.eapd) = (None, None, None, None);
            }
            // Intel's display codecs from Haswell on hide their pins'
            // connections until the driver enables them
            // ([`super::intel_hides_display_pins`]); the dump shows the
            // hardware's list empty and the one Linux used after enabling.
            if super::intel_hides_display_pins(codec.vendor_id) && n.connections.is_empty() && kind == WidgetKind::Pin {
                n.connections = d.in_driver;
            }
            // Volume knobs list the widgets they control; live reads lists
            // only with the connection-list bit.
            if w & wcaps::CONN_LIST == 0 {
                n.connections.clear();
            }
            n.selected = match (kind, n.connections.len()) {
                (WidgetKind::Mixer, _) | (_, 0) => None,
                (_, 1) => Some(0),
                (WidgetKind::Power, _) => None,
                (_, len) => d.star.filter(|&s| s < len),
            };
            codec.nodes.push(n);
        }
        codec.nodes.sort_by_key(|n| n.nid);
        let count = codec.nodes.len();
        codec.nodes.dedup_by_key(|n| n.nid);
        if codec.nodes.len() != count {
            self.warn("duplicate node ids in the codec ending here (first kept)", "");
        }
        codec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An alsa-info report holding two codecs: nodes of a real ALC269 dump in
    /// today's format, and a STAC9200-like codec in the old one, with lines
    /// that must be skipped or ignored.
    const REPORT: &str = include_str!("../../tests/fixtures/alsa-info-two-codecs.txt");

    fn node(codec: &Codec, nid: u8) -> &Node {
        codec.node(nid).unwrap_or_else(|| panic!("node {nid:#04x} missing"))
    }

    #[test]
    fn reads_every_field_of_a_current_dump() {
        let (codecs, warnings) = parse_dumps_with_warnings(REPORT);
        assert_eq!(codecs.len(), 2, "{codecs:#?}");
        let c = &codecs[0];
        assert_eq!(c.name.as_deref(), Some("Realtek ALC269"));
        assert_eq!((c.address, c.vendor_id, c.subsystem_id, c.revision_id), (0, 0x10ec_0269, 0x1043_834a, 0x10_0004));
        assert_eq!(c.afg, Some(1));
        assert_eq!(c.default_pcm, PcmCaps { pcm: 0x000e_05f0, formats: 1 });
        assert_eq!((c.default_amp_in, c.default_amp_out), (AmpCaps(0), AmpCaps(0)));
        let nids: Vec<u8> = c.nodes.iter().map(|n| n.nid).collect();
        assert_eq!(nids, [0x02, 0x08, 0x0b, 0x0c, 0x0e, 0x14, 0x15, 0x23], "sorted by nid");
        let dac = node(c, 0x02);
        assert_eq!(dac.amp_out, Some(AmpCaps(0x3f | 0x40 << 8 | 0x03 << 16)));
        assert_eq!((dac.amp_in, dac.amp_out_vals), (None, Some([0x40, 0x40])));
        assert_eq!(dac.pcm, Some(PcmCaps { pcm: 0x000e_0560, formats: 1 }));
        let adc = node(c, 0x08);
        assert_eq!(adc.amp_in, Some(AmpCaps(0x11 | 0x2e << 8 | 0x03 << 16 | 1 << 31)));
        assert_eq!(
            (adc.amp_in_vals.as_slice(), adc.connections.as_slice(), adc.selected),
            (&[[1, 1]][..], &[0x23][..], Some(0))
        );
        let mix = node(c, 0x0b);
        assert_eq!((mix.connections.as_slice(), mix.selected), (&[0x18, 0x19, 0x1a, 0x1b, 0x1d][..], None));
        assert_eq!(mix.amp_in_vals, vec![[0x80, 0x80]; 5]);
        assert_eq!(node(c, 0x0e).amp_in_vals, vec![[0, 0], [0x80, 0x80]], "mono values repeat");
        let speaker = Node {
            nid: 0x14,
            wcaps: 0x0040_010d,
            amp_out: Some(AmpCaps(1 << 31)),
            pin_caps: Some(0x0001_0050),
            pin_config: Some(0x9913_0110),
            connections: vec![0x0c, 0x0d],
            selected: Some(0),
            pin_ctl: Some(0x40),
            eapd: Some(0x02),
            amp_out_vals: Some([0, 0]),
            ..Node::default()
        };
        assert_eq!(node(c, 0x14), &speaker);
        assert_eq!((node(c, 0x15).selected, node(c, 0x15).pin_ctl), (Some(1), Some(0xc0)));
        assert_eq!(node(c, 0x23).selected, Some(5));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("Pin pwr"), "{warnings:?}");
    }

    #[test]
    fn reads_the_old_format_and_fills_defaults_like_a_live_read() {
        let c = &parse_dumps(REPORT)[1];
        assert_eq!(
            (c.name.as_deref(), c.address, c.vendor_id, c.afg),
            (Some("SigmaTel STAC9200"), 3, 0x8384_7690, Some(1))
        );
        assert_eq!(c.default_pcm, PcmCaps { pcm: 0x000e_007f, formats: 1 });
        let default_out = AmpCaps(0x1f | 0x1f << 8 | 0x05 << 16 | 1 << 31);
        assert_eq!(c.default_amp_out, default_out);
        assert_eq!(node(c, 0x02).pcm, Some(c.default_pcm), "no format override: the default PCM");
        let sel = node(c, 0x0b);
        assert_eq!((sel.amp_out, sel.amp_out_vals), (Some(default_out), Some([0x1f, 0x1f])), "no amp override");
        assert_eq!(node(c, 0x05).amp_out, Some(default_out), "caps not printed: the default");
        assert!(node(c, 0x05).connections.is_empty(), "the in-driver list is not the hardware's");
        assert_eq!((node(c, 0x07).connections.as_slice(), node(c, 0x07).selected), (&[0x02, 0x08, 0x0a][..], Some(0)));
        let hp = node(c, 0x0d);
        assert_eq!((hp.eapd, hp.pin_config, hp.selected), (Some(2), Some(0x0221_401f), Some(0)));
        assert!(node(c, 0x1f).connections.is_empty(), "a volume knob has no connection-list bit");
        assert!(c.node(0x99).is_none(), "text after the codec section is not read");
    }

    #[test]
    fn reads_the_pin_configs_linux_used_from_the_sysfs_section() {
        let text = "Codec: A\nAddress: 0\nVendor Id: 0x14f15069\nCodec: B\nAddress: 3\nVendor Id: 0x80862804\n\
            Codec: C\nAddress: 0\nVendor Id: 0x10ec0662\n\
            !!Sysfs Files\n!!-----------\n\n\
            /sys/class/sound/hwC0D0/init_pin_configs:\n0x19 0x042140f0\n\n\
            /sys/class/sound/hwC0D0/driver_pin_configs:\n0x19 0x042110ff\n0x1c 0x212140ff\n\n\
            /sys/class/sound/hwC0D0/user_pin_configs:\n0x1c 0x411111f0\n\n\
            /sys/class/sound/hwC0D3/driver_pin_configs:\n\n\
            /sys/class/sound/hwC1D0/driver_pin_configs:\n0x14 0x99130110\nnot a pin line\n0x15 0x0\n";
        let c = parse_dumps(text);
        // The user's setting wins over the driver's; init (BIOS) lists are
        // not Linux's own; card 1's list goes with the second codec at 0.
        assert_eq!(c[0].linux_pin_configs, vec![(0x19, 0x0421_10ff), (0x1c, 0x4111_11f0)]);
        assert!(c[1].linux_pin_configs.is_empty());
        assert_eq!(c[2].linux_pin_configs, vec![(0x14, 0x9913_0110)], "a list ends at a line that is not a pin");
        // Card 0's codec at 0 has only empty lists: card 1's fix-ups still go
        // to the second codec at 0 (an HDMI card before the analog one).
        let text = "Codec: HDMI\nAddress: 0\nCodec: Analog\nAddress: 0\n!!Sysfs Files\n\
            /sys/class/sound/hwC0D0/init_pin_configs:\n0x05 0x18560010\n\n\
            /sys/class/sound/hwC0D0/driver_pin_configs:\n\n\
            /sys/class/sound/hwC1D0/driver_pin_configs:\n0x0e 0x400000f0\n";
        let c = parse_dumps(text);
        assert!(c[0].linux_pin_configs.is_empty());
        assert_eq!(c[1].linux_pin_configs, vec![(0x0e, 0x4000_00f0)]);
    }

    #[test]
    fn crlf_wrapped_lists_and_codecs_without_audio() {
        let crlf = REPORT.replace('\n', "\r\n");
        assert_eq!(parse_dumps(&crlf), parse_dumps(REPORT));
        let text = "Codec: LSI Si3054\nAddress: 1\nVendor Id: 0x11c13026\nModem Function Group: 0x1\n\
            Codec: Realtek ALC889\nAddress: 2\nVendor Id: 0x10ec0889\n\
            Node 0x0b [Audio Mixer] wcaps 0x20010b: Stereo Amp-In\n  Amp-In vals:  [0x80 0x80] [0x97 0x97]=\n [0x00 0x00]\n\
              Connection: 3\n     0x18 0x19\n     0x1a\nNode 0x0c [Audio Selector] wcaps 0x300101: Stereo\n\
              Connection: 3\n     0x18 0x19* 0x1a 0x1b\n";
        let (codecs, warnings) = parse_dumps_with_warnings(text);
        assert_eq!(codecs.len(), 2);
        assert_eq!((codecs[0].afg, codecs[0].nodes.len()), (None, 0), "a modem-only codec");
        let mix = node(&codecs[1], 0x0b);
        assert_eq!(mix.amp_in_vals, vec![[0x80, 0x80], [0x97, 0x97], [0, 0]]);
        assert_eq!(mix.connections, vec![0x18, 0x19, 0x1a]);
        assert_eq!(node(&codecs[1], 0x0c).connections, vec![0x18, 0x19, 0x1a], "no more than stated");
        assert_eq!(node(&codecs[1], 0x0c).selected, Some(1));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn damaged_input_never_panics_nor_breaks_invariants() {
        let check = |text: &str| {
            for c in parse_dumps_with_warnings(text).0 {
                assert!(c.nodes.windows(2).all(|w| w[0].nid < w[1].nid));
                for n in &c.nodes {
                    assert!(n.selected.is_none_or(|s| s < n.connections.len()));
                }
            }
        };
        for end in (0..REPORT.len()).filter(|&i| REPORT.is_char_boundary(i)) {
            check(&REPORT[..end]);
        }
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..3000 {
            let mut bytes = REPORT.as_bytes().to_vec();
            for _ in 0..4 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let i = (seed % bytes.len() as u64) as usize;
                bytes[i] = (seed >> 32) as u8;
            }
            check(&String::from_utf8_lossy(&bytes));
        }
        for junk in [
            "Node",
            "Codec:",
            "Node 0x [",
            "Connection: 99999999999",
            "Connection: 2\n0x*",
            "[",
            "rates [",
            "PCM: rates",
        ] {
            check(&format!("Codec: x\nNode 0x02 [Audio Output] wcaps 0x1d: Stereo\n{junk}\n0x1 0xzz* [0x1]"));
        }
    }
}
