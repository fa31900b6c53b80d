//! Pin configuration defaults (spec §7.3.3.31): what the BIOS says is wired
//! to each pin, and the pin capabilities (§7.3.4.9).

/// Port connectivity (bits 31:30).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connectivity {
    /// A jack.
    Jack,
    /// Nothing connected.
    None,
    /// A fixed function device (internal speaker, internal mic).
    Fixed,
    /// Both a jack and an internal device.
    Both,
}

/// Default device (bits 23:20).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Device {
    LineOut,
    Speaker,
    HpOut,
    Cd,
    SpdifOut,
    DigitalOtherOut,
    ModemLine,
    ModemHandset,
    LineIn,
    Aux,
    MicIn,
    Telephony,
    SpdifIn,
    DigitalOtherIn,
    Reserved,
    Other,
}

impl Device {
    pub fn is_output(self) -> bool {
        matches!(self, Device::LineOut | Device::Speaker | Device::HpOut | Device::SpdifOut | Device::DigitalOtherOut)
    }
    pub fn is_input(self) -> bool {
        matches!(
            self,
            Device::LineIn | Device::Aux | Device::MicIn | Device::Cd | Device::SpdifIn | Device::DigitalOtherIn
        )
    }
}

/// A decoded Configuration Default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinConfig(pub u32);

impl PinConfig {
    pub fn connectivity(self) -> Connectivity {
        match self.0 >> 30 {
            0 => Connectivity::Jack,
            1 => Connectivity::None,
            2 => Connectivity::Fixed,
            _ => Connectivity::Both,
        }
    }
    /// Location (bits 29:24): 6-bit gross/geometric location.
    pub fn location(self) -> u8 {
        ((self.0 >> 24) & 0x3f) as u8
    }
    pub fn device(self) -> Device {
        use Device::*;
        [
            LineOut,
            Speaker,
            HpOut,
            Cd,
            SpdifOut,
            DigitalOtherOut,
            ModemLine,
            ModemHandset,
            LineIn,
            Aux,
            MicIn,
            Telephony,
            SpdifIn,
            DigitalOtherIn,
            Reserved,
            Other,
        ][((self.0 >> 20) & 0xf) as usize]
    }
    /// Connection type (bits 19:16): 1/8", 1/4", ATAPI, RCA, optical, ...
    pub fn connection_type(self) -> u8 {
        ((self.0 >> 16) & 0xf) as u8
    }
    pub fn color(self) -> u8 {
        ((self.0 >> 12) & 0xf) as u8
    }
    /// Misc bit 0 (of bits 11:8): jack detect override (no presence detection).
    pub fn no_presence_detect(self) -> bool {
        self.0 & (1 << 8) != 0
    }
    /// Default association (bits 7:4): pins of one association form one
    /// multichannel output; 0xf is the lowest priority.
    pub fn association(self) -> u8 {
        ((self.0 >> 4) & 0xf) as u8
    }
    /// Sequence (bits 3:0) within the association.
    pub fn sequence(self) -> u8 {
        (self.0 & 0xf) as u8
    }
    /// Whether the pin is wired to anything.
    pub fn is_connected(self) -> bool {
        self.connectivity() != Connectivity::None
    }
}

/// Pin capability bits.
pub mod caps {
    pub const IMPEDANCE_SENSE: u32 = 1 << 0;
    pub const TRIGGER: u32 = 1 << 1;
    pub const PRESENCE_DETECT: u32 = 1 << 2;
    pub const HP_DRIVE: u32 = 1 << 3;
    pub const OUTPUT: u32 = 1 << 4;
    pub const INPUT: u32 = 1 << 5;
    pub const BALANCED: u32 = 1 << 6;
    pub const HDMI: u32 = 1 << 7;
    /// Vref control bits 15:8.
    pub const VREF_MASK: u32 = 0xff << 8;
    pub const EAPD: u32 = 1 << 16;
    pub const DP: u32 = 1 << 24;
    pub const HBR: u32 = 1 << 27;
}

/// Pin widget control bits (spec §7.3.3.13).
pub mod ctl {
    pub const OUT_ENABLE: u8 = 0x40;
    pub const IN_ENABLE: u8 = 0x20;
    pub const HP_ENABLE: u8 = 0x80;
    /// Vref 80% for microphone bias (bits 2:0 = 4).
    pub const VREF_80: u8 = 0x04;
    pub const VREF_50: u8 = 0x01;
}

/// A replacement Configuration Default for a pin whose BIOS value is wrong
/// (Linux's `hints` / `user_pin_configs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinOverride {
    /// The codec address it applies to; `None` for every codec.
    pub codec: Option<u8>,
    pub nid: u8,
    pub config: u32,
}

fn parse_num(text: &str) -> Option<u32> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => text.parse().ok(),
    }
}

/// Parse a pin override file: one override per line, `NID CONFIG` or
/// `CODEC NID CONFIG` (numbers in decimal or 0x hex), `#` starts a comment.
pub fn parse_overrides(text: &str) -> Result<Vec<PinOverride>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let nums: Option<Vec<u32>> = line.split_whitespace().map(parse_num).collect();
        let bad =
            || format!("line {}: `{line}`: expected `NID CONFIG` or `CODEC NID CONFIG` (e.g. 0x14 0x99130110)", n + 1);
        let o = match nums.ok_or_else(bad)?.as_slice() {
            [nid, config] => PinOverride { codec: None, nid: *nid as u8, config: *config },
            [codec, nid, config] if *codec < 15 => {
                PinOverride { codec: Some(*codec as u8), nid: *nid as u8, config: *config }
            }
            _ => return Err(bad()),
        };
        if o.nid == 0 || o.nid > 0x7f {
            return Err(format!("line {}: node {:#x} is not a widget node id (1-0x7f)", n + 1, o.nid));
        }
        out.push(o);
    }
    Ok(out)
}

/// Apply overrides to a codec model; returns how many pins changed.
pub fn apply_overrides(codec: &mut super::Codec, overrides: &[PinOverride]) -> usize {
    let mut changed = 0;
    for o in overrides.iter().filter(|o| o.codec.is_none_or(|c| c == codec.address)) {
        match codec.nodes.iter_mut().find(|n| n.nid == o.nid && n.pin_config.is_some()) {
            Some(n) => {
                n.pin_config = Some(o.config);
                changed += 1;
            }
            None => log::warn!("pin override for node {:#04x}: codec {} has no such pin", o.nid, codec.address),
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_real_pin_defaults() {
        // ALC269 on an Eee PC 1000: headphone jack, internal speaker, unused pin.
        let hp = PinConfig(0x0121_401f);
        assert_eq!(
            (hp.connectivity(), hp.device(), hp.association(), hp.sequence()),
            (Connectivity::Jack, Device::HpOut, 1, 0xf)
        );
        assert_eq!(hp.color(), 4); // green
        let spk = PinConfig(0x9913_0110);
        assert_eq!(
            (spk.connectivity(), spk.device(), spk.association(), spk.sequence()),
            (Connectivity::Fixed, Device::Speaker, 1, 0)
        );
        let unused = PinConfig(0x4111_11f0);
        assert!(!unused.is_connected());
        assert!(unused.no_presence_detect());
        let mic = PinConfig(0x01a1_9830);
        assert_eq!(mic.device(), Device::MicIn);
        assert!(mic.device().is_input() && !mic.device().is_output());
    }

    #[test]
    fn override_files_parse_with_errors_naming_the_line() {
        let o = parse_overrides(
            "# Eee PC: the unused pin is really a line out\n0x16 0x01014010\n\n2 0x1b 0x411111f0  # off\n",
        )
        .unwrap();
        assert_eq!(
            o,
            vec![
                PinOverride { codec: None, nid: 0x16, config: 0x0101_4010 },
                PinOverride { codec: Some(2), nid: 0x1b, config: 0x4111_11f0 },
            ]
        );
        assert!(parse_overrides("0x16").unwrap_err().starts_with("line 1:"));
        assert!(parse_overrides("\n0x16 zz").unwrap_err().starts_with("line 2:"));
        assert!(parse_overrides("0x80 0").unwrap_err().contains("not a widget"));
        assert!(parse_overrides("20 0x14 0").is_err(), "codec addresses are 0-14");
    }
}
