//! Codecs: the model of a codec's widget graph ([`Codec`], [`Node`]), filled
//! either from live hardware ([`live::read_codec`]) or from a text dump in
//! `/proc/asound/card*/codec#*` format ([`dump::parse_dumps`]), and the
//! analysis on top of it: pin configuration ([`pin`]) and output/input path
//! selection ([`paths`]).
//!
//! The model keeps raw parameter values as the codec reports them (HDA spec
//! §7.3.4), with typed accessors, so the live reader and the dump parser
//! produce exactly the same thing.

pub mod controls;
pub mod dump;
pub mod eld;
pub mod generic;
pub mod hints;
pub mod jacks;
pub mod live;
pub mod paths;
pub mod pin;
pub mod setup;
pub mod vs_linux;

pub use live::read_codec;

/// The vendor widget of Intel's display codecs (Linux's `INTEL_VENDOR_NID`).
pub const INTEL_VENDOR_NID: u8 = 0x08;
/// Intel's vendor verbs on it: get and set; bit 0 enables every display pin
/// and converter (`INTEL_EN_ALL_PIN_CVTS`).
pub const INTEL_GET_VENDOR_VERB: u16 = 0xf81;
pub const INTEL_SET_VENDOR_VERB: u16 = 0x781;
pub const INTEL_EN_ALL_PIN_CVTS: u32 = 0x01;

/// Intel display codecs that show their second and third pins and
/// converters (and every pin's connection list) only once the driver sets
/// [`INTEL_EN_ALL_PIN_CVTS`] (Linux's `intel_haswell_enable_all_pins`):
/// Haswell, Broadwell, Skylake, Broxton, Kaby Lake.
pub fn intel_hides_display_pins(vendor_id: u32) -> bool {
    matches!(vendor_id, 0x8086_2807..=0x8086_280b)
}

/// Widget types (Audio Widget Capabilities bits 23:20).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
    fn from(wcaps: u32) -> WidgetKind {
        match ((wcaps >> 20) & 0xf) as u8 {
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

/// Audio Widget Capabilities bits (spec §7.3.4.6).
pub mod wcaps {
    pub const STEREO: u32 = 1 << 0;
    pub const IN_AMP: u32 = 1 << 1;
    pub const OUT_AMP: u32 = 1 << 2;
    pub const AMP_OVERRIDE: u32 = 1 << 3;
    pub const FORMAT_OVERRIDE: u32 = 1 << 4;
    pub const STRIPE: u32 = 1 << 5;
    pub const PROC_WIDGET: u32 = 1 << 6;
    pub const UNSOL_CAPABLE: u32 = 1 << 7;
    pub const CONN_LIST: u32 = 1 << 8;
    pub const DIGITAL: u32 = 1 << 9;
    pub const POWER_CNTRL: u32 = 1 << 10;
    pub const LR_SWAP: u32 = 1 << 11;
    pub const CP_CAPS: u32 = 1 << 12;
}

/// Amplifier capabilities (spec §7.3.4.10), raw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AmpCaps(pub u32);

impl AmpCaps {
    /// Step that means 0 dB.
    pub fn offset(self) -> u32 {
        self.0 & 0x7f
    }
    /// Number of steps (the register takes 0..=steps).
    pub fn steps(self) -> u32 {
        (self.0 >> 8) & 0x7f
    }
    /// Size of one step in 0.25 dB units, minus one.
    pub fn step_size(self) -> u32 {
        (self.0 >> 16) & 0x7f
    }
    pub fn can_mute(self) -> bool {
        self.0 & (1 << 31) != 0
    }
    /// Gain in dB of step `n`.
    pub fn db(self, n: u32) -> f64 {
        (f64::from(n) - f64::from(self.offset())) * f64::from(self.step_size() + 1) * 0.25
    }
    /// The step closest to `db`, clamped to the amp's range.
    pub fn step_for_db(self, db: f64) -> u32 {
        let per = f64::from(self.step_size() + 1) * 0.25;
        let n = (db / per + f64::from(self.offset())).round();
        n.clamp(0.0, f64::from(self.steps())) as u32
    }
}

/// Supported PCM rates, sizes and formats (spec §7.3.4.7-8), raw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PcmCaps {
    /// Supported PCM parameter: rate bits 11:0, size bits 20:16.
    pub pcm: u32,
    /// Supported stream formats: bit 0 PCM, 1 float32, 2 AC3.
    pub formats: u32,
}

/// Rates in the order of the PCM parameter's bits 0-11.
pub const PCM_RATES: [u32; 12] =
    [8_000, 11_025, 16_000, 22_050, 32_000, 44_100, 48_000, 88_200, 96_000, 176_400, 192_000, 384_000];
/// Sample sizes in the order of bits 16-20.
pub const PCM_BITS: [u32; 5] = [8, 16, 20, 24, 32];

impl PcmCaps {
    pub fn rates(self) -> Vec<u32> {
        PCM_RATES.iter().enumerate().filter(|(i, _)| self.pcm & (1 << i) != 0).map(|(_, r)| *r).collect()
    }
    pub fn bits(self) -> Vec<u32> {
        PCM_BITS.iter().enumerate().filter(|(i, _)| self.pcm & (1 << (16 + i)) != 0).map(|(_, b)| *b).collect()
    }
}

/// One node (widget) of an audio function group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    pub nid: u8,
    /// Audio Widget Capabilities, raw.
    pub wcaps: u32,
    /// Input amp capabilities in effect (the widget's own, or the function
    /// group's default when it does not override).
    pub amp_in: Option<AmpCaps>,
    pub amp_out: Option<AmpCaps>,
    /// Converters: rates/sizes in effect.
    pub pcm: Option<PcmCaps>,
    /// Pins: Pin Capabilities, raw.
    pub pin_caps: Option<u32>,
    /// Pins: Configuration Default, raw (what the BIOS says is wired there).
    pub pin_config: Option<u32>,
    /// Inputs, in connection-list order.
    pub connections: Vec<u8>,
    /// Index into `connections` of the input currently selected (the `*` in a
    /// dump; for mixers, which sum every input, usually none).
    pub selected: Option<usize>,
    /// Pins: pin widget control as it was read.
    pub pin_ctl: Option<u8>,
    /// EAPD/BTL enable as it was read.
    pub eapd: Option<u8>,
    /// Input amp gain/mute per connection, [left, right] (bit 7 = mute), as
    /// it was read (a dump's `Amp-In vals`; mono amps repeat the left value).
    pub amp_in_vals: Vec<[u8; 2]>,
    /// Output amp gain/mute, [left, right].
    pub amp_out_vals: Option<[u8; 2]>,
}

impl Node {
    pub fn kind(&self) -> WidgetKind {
        WidgetKind::from(self.wcaps)
    }
    pub fn has(&self, bit: u32) -> bool {
        self.wcaps & bit != 0
    }
    pub fn is_digital(&self) -> bool {
        self.has(wcaps::DIGITAL)
    }
    /// Channels: from the stereo bit and the channel-count extension (bits 15:13).
    pub fn channels(&self) -> u32 {
        ((((self.wcaps >> 13) & 0x7) << 1) | (self.wcaps & 1)) + 1
    }
}

/// A codec and its audio function group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Codec {
    /// Address on the link (0-14).
    pub address: u8,
    /// The codec's name as a dump gives it ("Realtek ALC269"), if known.
    pub name: Option<String>,
    pub vendor_id: u32,
    pub subsystem_id: u32,
    pub revision_id: u32,
    /// Node id of the audio function group, if there is one.
    pub afg: Option<u8>,
    /// Function-group defaults.
    pub default_pcm: PcmCaps,
    pub default_amp_in: AmpCaps,
    pub default_amp_out: AmpCaps,
    /// The function group's widgets, in node order.
    pub nodes: Vec<Node>,
    /// Pin configurations Linux used over the BIOS's (its driver's fixups,
    /// then the user's), as an alsa-info report's sysfs section lists them
    /// (`driver_pin_configs`, `user_pin_configs`): (pin, configuration).
    /// Only dumps carry them; `hda-codec --vs-linux` plans with them.
    pub linux_pin_configs: Vec<(u8, u32)>,
}

impl Codec {
    pub fn node(&self, nid: u8) -> Option<&Node> {
        self.nodes.iter().find(|n| n.nid == nid)
    }
    pub fn nodes_of(&self, kind: WidgetKind) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(move |n| n.kind() == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amp_caps_in_db() {
        // ALC269 DAC amp: ofs 0x3f, 0x40 steps; step size 3 means (3+1) * 0.25 = 1 dB.
        let a = AmpCaps(0x3f | (0x40 << 8) | (0x03 << 16));
        assert_eq!((a.offset(), a.steps(), a.step_size(), a.can_mute()), (0x3f, 0x40, 3, false));
        assert_eq!(a.db(0x3f), 0.0);
        assert_eq!(a.db(0), -63.0);
        assert_eq!(a.db(0x40), 1.0);
        assert_eq!(a.step_for_db(-6.0), 0x39);
        assert_eq!(a.step_for_db(-100.0), 0);
        assert_eq!(a.step_for_db(30.0), 0x40);
    }

    #[test]
    fn pcm_caps_list_rates_and_sizes() {
        let p = PcmCaps { pcm: 0x000e_0560, formats: 1 };
        assert_eq!(p.rates(), vec![44_100, 48_000, 96_000, 192_000]);
        assert_eq!(p.bits(), vec![16, 20, 24]);
    }

    #[test]
    fn widget_kinds_and_channels() {
        assert_eq!(WidgetKind::from(0x0000_001d), WidgetKind::AudioOutput);
        assert_eq!(WidgetKind::from(0x0040_0181), WidgetKind::Pin);
        assert_eq!(WidgetKind::from(0x00f0_0000), WidgetKind::VendorDefined);
        let n = Node { wcaps: 0x0000_001d, ..Node::default() };
        assert_eq!(n.channels(), 2);
        let hdmi = Node { wcaps: 0x0000_6211, ..Node::default() };
        assert_eq!(hdmi.channels(), 8);
    }
}
