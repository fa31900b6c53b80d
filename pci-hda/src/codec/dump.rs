//! Codec dumps in the `/proc/asound/card*/codec#*` text format that Linux
//! prints (sound/pci/hda/hda_proc.c), alone or inside an `alsa-info.sh`
//! report, read into the same [`Codec`] model a live read
//! ([`super::live::read_codec`]) produces: raw parameter values, with the
//! function group's defaults filled in where a widget does not override them.
//!
//! The reader goes line by line and keys on what a line starts with, not on
//! its indentation. A codec starts at a `Codec:` line and ends at the next
//! one, at an alsa-info `!!` header or a `--endcollapse--` marker; text
//! outside codecs (report sections, upload junk) is not looked at. Inside a
//! codec, lines the model has no use for (power, unsolicited, processing,
//! digital, ...) are passed over; malformed or unknown lines are skipped with
//! a warning, never trusted. Both generations of the format are read: the old
//! one-line `PCM: rates 0x.., bits 0x.., types 0x..` and bracket-less
//! `Amp-In vals: 0x80 0x80` (index 0 only), and the current one.

use super::{wcaps, AmpCaps, Codec, Node, PcmCaps, WidgetKind};

/// Every codec in `text`, in order; malformed lines are logged
/// (`log::warn!`) and skipped.
pub fn parse_dumps(text: &str) -> Vec<Codec> {
    let (codecs, warnings) = parse_dumps_with_warnings(text);
    for w in &warnings {
        log::warn!("codec dump: {w}");
    }
    codecs
}

/// Every codec in `text`, and a warning (`line N: what: text`) for each line
/// inside a codec that was skipped as malformed or unknown.
pub fn parse_dumps_with_warnings(text: &str) -> (Vec<Codec>, Vec<String>) {
    let mut p = Parser::default();
    for (i, line) in text.lines().enumerate() {
        p.line_no = i + 1;
        p.line(line);
    }
    p.end_codec();
    (p.codecs, p.warnings)
}

/// Lines inside a codec that the model does not use, by how they start.
const IGNORED: &[&str] = &[
    "Power",
    "Unsolicited",
    "Processing",
    "Coefficient Index",
    "Control",
    "Converter",
    "SDI-Select",
    "Digital",
    "IEC Coding Type",
    "Delay",
    "Conn =",
    "DefAssociation",
    "Misc",
    "Vref caps",
    "GPIO",
    "IO[",
    "Devices:",
    "Dev ",
    "*Dev ",
    "Device:",
    "Volume-Knob",
    "Analog Loopback",
    "No Modem Function Group",
    "MFG Function Id",
    "N/A",
];

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
    /// The driver's own list (`In-driver Connection:`): ignored.
    InDriver,
    /// A wrapped `Amp-In vals` line.
    AmpInVals,
}

/// A node as the dump printed it, before the defaults are applied.
#[derive(Default)]
struct NodeDraft {
    node: Node,
    amp_in: Option<u32>,
    amp_out: Option<u32>,
    pcm: Option<PcmCaps>,
    /// Index of the `*` in the connection list.
    star: Option<usize>,
}

/// A codec being read.
#[derive(Default)]
struct CodecDraft {
    codec: Codec,
    nodes: Vec<NodeDraft>,
    /// Whether the dump shows an audio function group at all.
    has_afg: bool,
    /// `State of AFG node 0x..`, printed by newer kernels.
    afg_nid: Option<u8>,
    /// `Modem Function Group: 0x..`.
    mfg_nid: Option<u8>,
}

#[derive(Default)]
struct Parser {
    codecs: Vec<Codec>,
    warnings: Vec<String>,
    cur: Option<CodecDraft>,
    /// The node lines apply to; `None` before the first node or after a
    /// malformed `Node` line (whose lines are then skipped quietly).
    node: Option<usize>,
    skipping_node: bool,
    pcm: PcmTarget,
    cont: Continues,
    line_no: usize,
}

/// A hex number, with or without `0x`.
fn hex(s: &str) -> Option<u32> {
    let s = s.trim();
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    u32::from_str_radix(digits, 16).ok()
}

/// A hex number that must fit in a byte.
fn hex8(s: &str) -> Option<u8> {
    hex(s).and_then(|v| u8::try_from(v).ok())
}

/// The first word of `s` (up to whitespace or `:`), as hex.
fn first_hex(s: &str) -> Option<u32> {
    s.split(|c: char| c.is_whitespace() || c == ':').find(|t| !t.is_empty()).and_then(hex)
}

/// `ofs=0x3f, nsteps=0x40, stepsize=0x03, mute=0` as the raw Amplifier
/// Capabilities; `N/A` (the parameter read as 0) is 0.
fn amp_caps(s: &str) -> Option<u32> {
    if s.starts_with("N/A") {
        return Some(0);
    }
    let (mut ofs, mut steps, mut size, mut mute) = (None, None, None, None);
    for part in s.split(',') {
        let (k, v) = part.split_once('=')?;
        let v = hex(v).filter(|&v| v <= 0x7f)?;
        match k.trim() {
            "ofs" => ofs = Some(v),
            "nsteps" => steps = Some(v),
            "stepsize" => size = Some(v),
            "mute" if v <= 1 => mute = Some(v),
            _ => return None,
        }
    }
    Some(ofs? | steps? << 8 | size? << 16 | mute? << 31)
}

/// Amp values: `[0x80 0x80] [0x00 0x00]` (one bracket per index; a mono
/// amp's single value is repeated), or the old bracket-less `0x80 0x80`
/// (index 0 only).
fn amp_vals(s: &str) -> Option<Vec<[u8; 2]>> {
    let pair = |t: &str| -> Option<[u8; 2]> {
        let v: Vec<u8> = t.split_whitespace().map(hex8).collect::<Option<_>>()?;
        match v.as_slice() {
            [m] => Some([*m, *m]),
            [l, r] => Some([*l, *r]),
            _ => None,
        }
    };
    if !s.contains('[') {
        return if s.is_empty() { Some(Vec::new()) } else { pair(s).map(|p| vec![p]) };
    }
    let mut out = Vec::new();
    for group in s.split('[').skip(1) {
        let (inner, rest) = group.split_once(']')?;
        if !rest.trim().is_empty() {
            return None;
        }
        out.push(pair(inner)?);
    }
    s.split('[').next().filter(|head| head.trim().is_empty())?;
    Some(out)
}

/// The `[0x..]` of `rates [0x5f0]: ...`.
fn bracket_hex(s: &str) -> Option<u32> {
    hex(s.split_once('[')?.1.split_once(']')?.0)
}

impl Parser {
    fn warn(&mut self, what: &str, line: &str) {
        let shown: String = line.chars().take(100).collect();
        self.warnings.push(format!("line {}: {what}: {shown:?}", self.line_no));
    }

    /// Finish the codec being read, if any.
    fn end_codec(&mut self) {
        self.end_list();
        self.node = None;
        self.skipping_node = false;
        self.pcm = PcmTarget::None;
        if let Some(draft) = self.cur.take() {
            let codec = self.finish(draft);
            self.codecs.push(codec);
        }
    }

    /// Leave a connection list (noting one shorter than stated).
    fn end_list(&mut self) {
        if let (Continues::Connections(n), Some(d)) = (self.cont, self.node_mut()) {
            if d.node.connections.len() < n {
                let msg = format!(
                    "connection list of node {:#04x} has {} of {n} entries",
                    d.node.nid,
                    d.node.connections.len()
                );
                self.warnings.push(format!("line {}: {msg}", self.line_no));
            }
        }
        self.cont = Continues::Nothing;
    }

    fn node_mut(&mut self) -> Option<&mut NodeDraft> {
        let i = self.node?;
        self.cur.as_mut()?.nodes.get_mut(i)
    }

    fn line(&mut self, raw: &str) {
        let mut line = raw.trim();
        // A quoted-printable soft break after a bracket (mailed reports).
        if let Some(s) = line.strip_suffix('=').filter(|s| s.ends_with(']')) {
            line = s;
        }
        if let Some(name) = line.strip_prefix("Codec:") {
            self.end_codec();
            let name = name.trim();
            let codec = Codec { name: (!name.is_empty()).then(|| name.to_string()), ..Codec::default() };
            self.cur = Some(CodecDraft { codec, ..CodecDraft::default() });
            return;
        }
        if line.starts_with("!!") || line.starts_with("--endcollapse--") || line.starts_with("--startcollapse--") {
            self.end_codec();
            return;
        }
        if self.cur.is_none() || line.is_empty() {
            return; // outside a codec: not ours
        }
        if line.starts_with("0x") || line.starts_with('[') {
            self.continuation(line);
            return;
        }
        self.end_list();
        if !self.codec_line(line) && !self.node_line(line) && !IGNORED.iter().any(|p| line.starts_with(p)) {
            self.warn("unknown line", line);
        }
    }

    /// Codec and function-group lines; false if `line` is none of them.
    fn codec_line(&mut self, line: &str) -> bool {
        let Some(d) = self.cur.as_mut() else { return false };
        let field = |key: &str| line.strip_prefix(key).map(str::trim);
        let ok = if let Some(v) = field("Address:") {
            v.parse::<u8>().ok().filter(|&a| a < 16).map(|a| d.codec.address = a).is_some()
        } else if let Some(v) = field("Vendor Id:") {
            hex(v).map(|v| d.codec.vendor_id = v).is_some()
        } else if let Some(v) = field("Subsystem Id:") {
            hex(v).map(|v| d.codec.subsystem_id = v).is_some()
        } else if let Some(v) = field("Revision Id:") {
            hex(v).map(|v| d.codec.revision_id = v).is_some()
        } else if line.starts_with("AFG Function Id:") {
            d.has_afg = true;
            true
        } else if let Some(v) = field("Function Id:") {
            // Old kernels: the type of the first function group (1 = audio).
            hex(v).map(|t| d.has_afg |= t & 0xff == 1).is_some()
        } else if let Some(v) = field("Modem Function Group:") {
            hex8(v).map(|n| d.mfg_nid = Some(n)).is_some()
        } else if let Some(v) = field("State of AFG node") {
            d.has_afg = true;
            first_hex(v).and_then(|n| u8::try_from(n).ok()).map(|n| d.afg_nid = Some(n)).is_some()
        } else if let Some(v) = field("Default PCM:") {
            d.has_afg = true;
            self.pcm = PcmTarget::Default;
            v.is_empty() || self.pcm_line(v)
        } else if let Some(v) = field("Default Amp-In caps:") {
            d.has_afg = true;
            amp_caps(v).map(|c| d.codec.default_amp_in = AmpCaps(c)).is_some()
        } else if let Some(v) = field("Default Amp-Out caps:") {
            d.has_afg = true;
            amp_caps(v).map(|c| d.codec.default_amp_out = AmpCaps(c)).is_some()
        } else if line.starts_with("rates") || line.starts_with("bits") || line.starts_with("formats") {
            self.pcm_line(line)
        } else {
            return false;
        };
        if !ok {
            self.warn("malformed line", line);
        }
        true
    }

    /// `rates [0x..]`, `bits [0x..]`, `formats [0x..]`, or the old one-line
    /// `rates 0x.., bits 0x.., types 0x..`, into the current PCM block.
    fn pcm_line(&mut self, line: &str) -> bool {
        let mut caps = match self.pcm {
            PcmTarget::None => return false,
            PcmTarget::Default => self.cur.as_ref().map(|d| d.codec.default_pcm),
            PcmTarget::Node => self.node_mut().and_then(|d| d.pcm),
        }
        .unwrap_or_default();
        for part in line.split(',') {
            let part = part.trim();
            let (key, value) = part.split_once(|c: char| c.is_whitespace()).unwrap_or((part, ""));
            let value = if value.contains('[') { bracket_hex(value) } else { first_hex(value) };
            match (key, value) {
                ("rates", Some(r)) if r <= 0xfff => caps.pcm = (caps.pcm & !0xfff) | r,
                ("bits", Some(b)) if b <= 0xff => caps.pcm = (caps.pcm & 0xfff) | b << 16,
                ("formats" | "types", Some(f)) => caps.formats = f,
                _ => return false,
            }
        }
        match self.pcm {
            PcmTarget::Default => self.cur.iter_mut().for_each(|d| d.codec.default_pcm = caps),
            _ => self.node_mut().into_iter().for_each(|d| d.pcm = Some(caps)),
        }
        true
    }

    /// Widget lines; false if `line` is none of them.
    fn node_line(&mut self, line: &str) -> bool {
        if let Some(rest) = line.strip_prefix("Node ") {
            self.node_header(line, rest);
            return true;
        }
        const KEYS: &[&str] =
            &["Amp-In ", "Amp-Out ", "PCM:", "Pincap", "Pin Default", "Pin-ctls:", "EAPD", "Connection:", "In-driver"];
        if !KEYS.iter().any(|k| line.starts_with(k)) {
            return false;
        }
        if self.node.is_none() {
            if !self.skipping_node {
                self.warn("widget line outside a node", line);
            }
            return true;
        }
        let field = |key: &str| line.strip_prefix(key).map(str::trim);
        let ok = if let Some(v) = field("Amp-In caps:") {
            amp_caps(v).and_then(|c| self.node_mut().map(|d| d.amp_in = Some(c))).is_some()
        } else if let Some(v) = field("Amp-Out caps:") {
            amp_caps(v).and_then(|c| self.node_mut().map(|d| d.amp_out = Some(c))).is_some()
        } else if let Some(v) = field("Amp-In vals:") {
            self.cont = Continues::AmpInVals;
            amp_vals(v).and_then(|v| self.node_mut().map(|d| d.node.amp_in_vals = v)).is_some()
        } else if let Some(v) = field("Amp-Out vals:") {
            amp_vals(v).and_then(|v| self.node_mut().map(|d| d.node.amp_out_vals = v.first().copied())).is_some()
        } else if let Some(v) = field("PCM:") {
            self.pcm = PcmTarget::Node;
            self.node_mut().into_iter().for_each(|d| d.pcm = Some(PcmCaps::default()));
            v.is_empty() || self.pcm_line(v)
        } else if let Some(v) = field("Pincap") {
            first_hex(v).and_then(|c| self.node_mut().map(|d| d.node.pin_caps = Some(c))).is_some()
        } else if let Some(v) = field("Pin Default") {
            first_hex(v).and_then(|c| self.node_mut().map(|d| d.node.pin_config = Some(c))).is_some()
        } else if let Some(v) = field("Pin-ctls:") {
            first_hex(v)
                .and_then(|c| u8::try_from(c).ok())
                .and_then(|c| self.node_mut().map(|d| d.node.pin_ctl = Some(c)))
                .is_some()
        } else if let Some(v) = field("EAPD") {
            // `EAPD 0x2: EAPD`, or `EAPD: 0x2` in some versions.
            let v = v.trim_start_matches(':');
            first_hex(v)
                .and_then(|c| u8::try_from(c).ok())
                .and_then(|c| self.node_mut().map(|d| d.node.eapd = Some(c)))
                .is_some()
        } else if let Some(v) = field("Connection:") {
            // A negative count is an error code: no list follows.
            let n = v.parse::<i32>().ok().filter(|&n| n <= 0x7f);
            self.cont = Continues::Connections(n.and_then(|n| usize::try_from(n).ok()).unwrap_or(0));
            n.is_some()
        } else if line.starts_with("In-driver Connection:") {
            self.cont = Continues::InDriver;
            true
        } else {
            false
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
        let Some(d) = self.cur.as_mut() else { return };
        if let (Some(nid), Some(w)) = (nid, caps) {
            d.nodes.push(NodeDraft { node: Node { nid, wcaps: w, ..Node::default() }, ..NodeDraft::default() });
            self.node = Some(d.nodes.len() - 1);
            self.skipping_node = false;
        } else {
            self.node = None;
            self.skipping_node = true;
            self.warn("malformed node line (its lines are skipped)", line);
        }
    }

    /// A line of bare numbers (`0x0c* 0x0d`) or brackets, continuing the
    /// line before.
    fn continuation(&mut self, line: &str) {
        match self.cont {
            Continues::Connections(n) => {
                let Some(d) = self.node_mut() else { return };
                let mut ok = true;
                for t in line.split_whitespace() {
                    let starred = t.ends_with('*');
                    match hex8(t.trim_end_matches('*')) {
                        Some(nid) if d.node.connections.len() < n => {
                            if starred && d.star.is_none() {
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
            Continues::InDriver => {}
            Continues::AmpInVals => match amp_vals(line) {
                Some(v) => self.node_mut().into_iter().for_each(|d| d.node.amp_in_vals.extend(&v)),
                None => self.warn("malformed amp values", line),
            },
            Continues::Nothing => {
                if !self.skipping_node {
                    self.warn("stray list line", line);
                }
            }
        }
    }

    /// Apply what a live read would: defaults where a widget does not
    /// override them, the selection rules of `live.rs`, nodes in nid order.
    fn finish(&mut self, draft: CodecDraft) -> Codec {
        let mut codec = draft.codec;
        if draft.has_afg || !draft.nodes.is_empty() {
            codec.afg = Some(draft.afg_nid.unwrap_or(if draft.mfg_nid == Some(1) { 2 } else { 1 }));
        }
        for d in draft.nodes {
            let mut n = d.node;
            let (w, kind) = (n.wcaps, n.kind());
            let own = w & wcaps::AMP_OVERRIDE != 0;
            let amp = |bit: u32, printed: Option<u32>, default: AmpCaps| {
                (w & bit != 0).then(|| printed.filter(|&c| own && c != 0).map_or(default, AmpCaps))
            };
            n.amp_in = amp(wcaps::IN_AMP, d.amp_in, codec.default_amp_in);
            n.amp_out = amp(wcaps::OUT_AMP, d.amp_out, codec.default_amp_out);
            if matches!(kind, WidgetKind::AudioOutput | WidgetKind::AudioInput) {
                n.pcm = Some(d.pcm.filter(|_| w & wcaps::FORMAT_OVERRIDE != 0).unwrap_or(codec.default_pcm));
            }
            if kind != WidgetKind::Pin {
                (n.pin_caps, n.pin_config, n.pin_ctl, n.eapd) = (None, None, None, None);
            }
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
        let before = codec.nodes.len();
        codec.nodes.dedup_by_key(|n| n.nid);
        if codec.nodes.len() != before {
            self.warnings.push(format!("line {}: duplicate node ids dropped (first kept)", self.line_no));
        }
        codec
    }
}
