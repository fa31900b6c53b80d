//! HDMI and DisplayPort sinks: the ELD (EDID-Like Data) a display's audio
//! capabilities arrive in, and what a source sends back — the channel
//! allocation (CA), the audio InfoFrame and the channel-to-slot map — as
//! Linux's HDMI driver does it (sound/pci/hda/hda_eld.c, patch_hdmi.c,
//! sound/hda/hdmi_chmap.c). The bytes come from the display: a malformed
//! ELD is an error naming what is wrong, never trusted.

use std::fmt;

/// Bytes before the monitor name (Linux's `ELD_FIXED_BYTES`).
pub const FIXED_BYTES: usize = 20;
/// Longest monitor name (`ELD_MAX_MNL`).
pub const MAX_MNL: usize = 16;
/// Largest ELD a codec may hold that is read (Linux's `ELD_MAX_SIZE`).
pub const MAX_SIZE: usize = 256;

/// CEA-861 speaker positions, as InfoFrame speaker masks use them.
pub mod spk {
    pub const FL: u32 = 1 << 0;
    pub const FC: u32 = 1 << 1;
    pub const FR: u32 = 1 << 2;
    pub const FLC: u32 = 1 << 3;
    pub const FRC: u32 = 1 << 4;
    pub const RL: u32 = 1 << 5;
    pub const RC: u32 = 1 << 6;
    pub const RR: u32 = 1 << 7;
    pub const RLC: u32 = 1 << 8;
    pub const RRC: u32 = 1 << 9;
    pub const LFE: u32 = 1 << 10;
    pub const FLW: u32 = 1 << 11;
    pub const FRW: u32 = 1 << 12;
    pub const FLH: u32 = 1 << 13;
    pub const FCH: u32 = 1 << 14;
    pub const FRH: u32 = 1 << 15;
    pub const TC: u32 = 1 << 16;
}
use spk::*;

/// The speaker allocation bits of an ELD (CEA-861 Speaker Allocation data
/// block), each a pair or a single speaker.
const ELD_SPEAKERS: [(u32, &str); 11] = [
    (FL | FR, "FL/FR"),
    (LFE, "LFE"),
    (FC, "FC"),
    (RL | RR, "RL/RR"),
    (RC, "RC"),
    (FLC | FRC, "FLC/FRC"),
    (RLC | RRC, "RLC/RRC"),
    (FLW | FRW, "FLW/FRW"),
    (FLH | FRH, "FLH/FRH"),
    (TC, "TC"),
    (FCH, "FCH"),
];

/// How the display is connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    Hdmi,
    DisplayPort,
    /// A reserved connection type (2 or 3): no InfoFrame is sent.
    Reserved,
}

/// One Short Audio Descriptor: a coding the sink takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sad {
    /// CEA audio coding type: 1 is LPCM, 2 AC-3, 7 DTS, ...
    pub coding: u8,
    pub channels: u8,
    /// Rates in Hz.
    pub rates: Vec<u32>,
    /// LPCM sample sizes in bits (16, 20, 24).
    pub bits: Vec<u8>,
}

impl Sad {
    /// The coding's name, as Linux prints it.
    pub fn coding_name(&self) -> &'static str {
        const NAMES: [&str; 15] = [
            "undefined",
            "LPCM",
            "AC-3",
            "MPEG1",
            "MP3",
            "MPEG2",
            "AAC-LC",
            "DTS",
            "ATRAC",
            "DSD (One Bit Audio)",
            "E-AC-3/DD+ (Dolby Digital Plus)",
            "DTS-HD",
            "MLP (Dolby TrueHD)",
            "DST",
            "WMAPro",
        ];
        NAMES.get(usize::from(self.coding)).copied().unwrap_or("extended")
    }
}

/// A parsed ELD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eld {
    /// 2 (CEA-861-D or below) or 31 (partial).
    pub version: u8,
    pub monitor_name: String,
    pub connection: Connection,
    pub manufacturer: u16,
    pub product: u16,
    pub port_id: u64,
    /// Audio latency the sink adds, in ms.
    pub audio_sync_delay_ms: u16,
    /// Speaker allocation bits as the ELD gives them (see [`Eld::speakers`]).
    pub speaker_bits: u16,
    pub sads: Vec<Sad>,
}

/// Why an ELD was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EldError {
    TooShort(usize),
    TooLong(usize),
    Version(u8),
    MonitorNameLength(usize),
    MonitorNameOutside {
        mnl: usize,
        size: usize,
    },
    SadOutside {
        index: usize,
        size: usize,
    },
    /// The codec said byte N of the ELD is not valid.
    InvalidByte(usize),
}

impl fmt::Display for EldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EldError::TooShort(n) => write!(f, "ELD of {n} bytes is shorter than its {FIXED_BYTES}-byte header"),
            EldError::TooLong(n) => write!(f, "ELD of {n} bytes is longer than {MAX_SIZE}"),
            EldError::Version(v) => write!(f, "unknown ELD version {v} (2 or 31 expected)"),
            EldError::MonitorNameLength(n) => write!(f, "monitor name length {n} is reserved (at most {MAX_MNL})"),
            EldError::MonitorNameOutside { mnl, size } => {
                write!(f, "monitor name of {mnl} bytes runs past the ELD's {size}")
            }
            EldError::SadOutside { index, size } => {
                write!(f, "short audio descriptor {index} runs past the ELD's {size} bytes")
            }
            EldError::InvalidByte(i) => write!(f, "the codec marks ELD byte {i} as not valid"),
        }
    }
}

impl std::error::Error for EldError {}

const SAD_RATES: [u32; 7] = [32_000, 44_100, 48_000, 88_200, 96_000, 176_400, 192_000];

impl Eld {
    /// Parse an ELD as Linux's `hdmi_update_eld` does: the version must be
    /// known, the monitor name and every descriptor inside the buffer.
    pub fn parse(buf: &[u8]) -> Result<Eld, EldError> {
        let size = buf.len();
        if size < FIXED_BYTES {
            return Err(EldError::TooShort(size));
        }
        if size > MAX_SIZE {
            return Err(EldError::TooLong(size));
        }
        let version = buf[0] >> 3;
        if version != 2 && version != 31 {
            return Err(EldError::Version(version));
        }
        let mnl = usize::from(buf[4] & 0x1f);
        let sad_count = usize::from(buf[5] >> 4);
        if mnl > MAX_MNL {
            return Err(EldError::MonitorNameLength(mnl));
        }
        if FIXED_BYTES + mnl > size {
            return Err(EldError::MonitorNameOutside { mnl, size });
        }
        let name = &buf[FIXED_BYTES..FIXED_BYTES + mnl];
        let name = name.split(|&b| b == 0).next().unwrap_or(&[]);
        let monitor_name: String =
            String::from_utf8_lossy(name).chars().map(|c| if c.is_control() { '?' } else { c }).collect();
        let mut sads = Vec::new();
        for index in 0..sad_count {
            let at = FIXED_BYTES + mnl + 3 * index;
            let Some(b) = buf.get(at..at + 3) else {
                return Err(EldError::SadOutside { index, size });
            };
            let coding = (b[0] >> 3) & 0xf;
            let rates = SAD_RATES.iter().enumerate().filter(|(i, _)| b[1] & (1 << i) != 0).map(|(_, r)| *r).collect();
            let bits = if coding == 1 {
                [16u8, 20, 24].iter().enumerate().filter(|(i, _)| b[2] & (1 << i) != 0).map(|(_, b)| *b).collect()
            } else {
                Vec::new()
            };
            sads.push(Sad { coding, channels: (b[0] & 7) + 1, rates, bits });
        }
        Ok(Eld {
            version,
            monitor_name,
            connection: match (buf[5] >> 2) & 3 {
                0 => Connection::Hdmi,
                1 => Connection::DisplayPort,
                _ => Connection::Reserved,
            },
            manufacturer: u16::from_le_bytes([buf[16], buf[17]]),
            product: u16::from_le_bytes([buf[18], buf[19]]),
            port_id: u64::from_le_bytes([buf[8], buf[9], buf[10], buf[11], buf[12], buf[13], buf[14], buf[15]]),
            audio_sync_delay_ms: u16::from(buf[6]) * 2,
            speaker_bits: u16::from(buf[7] & 0x7f),
            sads,
        })
    }

    /// The speakers the sink has, by name ("FL/FR", "LFE", ...).
    pub fn speakers(&self) -> Vec<&'static str> {
        ELD_SPEAKERS.iter().enumerate().filter(|(i, _)| self.speaker_bits & (1 << i) != 0).map(|(_, s)| s.1).collect()
    }

    /// The speaker mask the InfoFrame's allocations are matched against.
    /// A sink that gives none is assumed to have them all, as Linux does, so
    /// as not to forbid multichannel playback.
    pub fn speaker_mask(&self) -> u32 {
        let bits = if self.speaker_bits == 0 { 0xffff } else { self.speaker_bits };
        ELD_SPEAKERS.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).fold(0, |m, (_, s)| m | s.0)
    }

    /// The most LPCM channels the sink takes (2 when it lists no LPCM).
    pub fn max_lpcm_channels(&self) -> u8 {
        self.sads.iter().filter(|s| s.coding == 1).map(|s| s.channels).max().unwrap_or(2)
    }

    /// Whether the sink plays `channels` of LPCM at `rate` Hz and `bits`.
    pub fn takes_lpcm(&self, channels: u8, rate: u32, bits: u8) -> bool {
        self.sads.iter().any(|s| {
            s.coding == 1 && channels <= s.channels && s.rates.contains(&rate) && s.bits.contains(&bits.min(24))
        })
    }
}

/// One CEA-861 channel allocation: its index and the speaker in each of the
/// eight slots (0 for none), slot 0 first.
struct Allocation {
    ca: u8,
    slots: [u32; 8],
}

/// CEA-861's channel allocations, in Linux's order of preference (the
/// common layouts first).
const ALLOCATIONS: [Allocation; 50] = {
    const fn a(ca: u8, s: [u32; 8]) -> Allocation {
        Allocation { ca, slots: s }
    }
    [
        a(0x00, [FL, FR, 0, 0, 0, 0, 0, 0]),
        a(0x01, [FL, FR, LFE, 0, 0, 0, 0, 0]),
        a(0x02, [FL, FR, 0, FC, 0, 0, 0, 0]),
        a(0x08, [FL, FR, 0, 0, RL, RR, 0, 0]),
        a(0x09, [FL, FR, LFE, 0, RL, RR, 0, 0]),
        a(0x0a, [FL, FR, 0, FC, RL, RR, 0, 0]),
        a(0x0b, [FL, FR, LFE, FC, RL, RR, 0, 0]),
        a(0x0f, [FL, FR, LFE, FC, RL, RR, RC, 0]),
        a(0x13, [FL, FR, LFE, FC, RL, RR, RLC, RRC]),
        a(0x03, [FL, FR, LFE, FC, 0, 0, 0, 0]),
        a(0x04, [FL, FR, 0, 0, RC, 0, 0, 0]),
        a(0x05, [FL, FR, LFE, 0, RC, 0, 0, 0]),
        a(0x06, [FL, FR, 0, FC, RC, 0, 0, 0]),
        a(0x07, [FL, FR, LFE, FC, RC, 0, 0, 0]),
        a(0x0c, [FL, FR, 0, 0, RL, RR, RC, 0]),
        a(0x0d, [FL, FR, LFE, 0, RL, RR, RC, 0]),
        a(0x0e, [FL, FR, 0, FC, RL, RR, RC, 0]),
        a(0x10, [FL, FR, 0, 0, RL, RR, RLC, RRC]),
        a(0x11, [FL, FR, LFE, 0, RL, RR, RLC, RRC]),
        a(0x12, [FL, FR, 0, FC, RL, RR, RLC, RRC]),
        a(0x14, [FL, FR, 0, 0, 0, 0, FLC, FRC]),
        a(0x15, [FL, FR, LFE, 0, 0, 0, FLC, FRC]),
        a(0x16, [FL, FR, 0, FC, 0, 0, FLC, FRC]),
        a(0x17, [FL, FR, LFE, FC, 0, 0, FLC, FRC]),
        a(0x18, [FL, FR, 0, 0, RC, 0, FLC, FRC]),
        a(0x19, [FL, FR, LFE, 0, RC, 0, FLC, FRC]),
        a(0x1a, [FL, FR, 0, FC, RC, 0, FLC, FRC]),
        a(0x1b, [FL, FR, LFE, FC, RC, 0, FLC, FRC]),
        a(0x1c, [FL, FR, 0, 0, RL, RR, FLC, FRC]),
        a(0x1d, [FL, FR, LFE, 0, RL, RR, FLC, FRC]),
        a(0x1e, [FL, FR, 0, FC, RL, RR, FLC, FRC]),
        a(0x1f, [FL, FR, LFE, FC, RL, RR, FLC, FRC]),
        a(0x20, [FL, FR, 0, FC, RL, RR, FCH, 0]),
        a(0x21, [FL, FR, LFE, FC, RL, RR, FCH, 0]),
        a(0x22, [FL, FR, 0, FC, RL, RR, 0, TC]),
        a(0x23, [FL, FR, LFE, FC, RL, RR, 0, TC]),
        a(0x24, [FL, FR, 0, 0, RL, RR, FLH, FRH]),
        a(0x25, [FL, FR, LFE, 0, RL, RR, FLH, FRH]),
        a(0x26, [FL, FR, 0, 0, RL, RR, FLW, FRW]),
        a(0x27, [FL, FR, LFE, 0, RL, RR, FLW, FRW]),
        a(0x28, [FL, FR, 0, FC, RL, RR, RC, TC]),
        a(0x29, [FL, FR, LFE, FC, RL, RR, RC, TC]),
        a(0x2a, [FL, FR, 0, FC, RL, RR, RC, FCH]),
        a(0x2b, [FL, FR, LFE, FC, RL, RR, RC, FCH]),
        a(0x2c, [FL, FR, 0, FC, RL, RR, FCH, TC]),
        a(0x2d, [FL, FR, LFE, FC, RL, RR, FCH, TC]),
        a(0x2e, [FL, FR, 0, FC, RL, RR, FLH, FRH]),
        a(0x2f, [FL, FR, LFE, FC, RL, RR, FLH, FRH]),
        a(0x30, [FL, FR, 0, FC, RL, RR, FLW, FRW]),
        a(0x31, [FL, FR, LFE, FC, RL, RR, FLW, FRW]),
    ]
};

fn allocation(ca: u8) -> Option<&'static Allocation> {
    ALLOCATIONS.iter().find(|a| a.ca == ca)
}

/// Linux's `hdmi_channel_allocation`: the first allocation with exactly
/// `channels` speakers, all of which the sink has; when none fits, the
/// first with that many speakers; 0 (stereo) for two channels or fewer.
pub fn channel_allocation(speaker_mask: u32, channels: u8) -> u8 {
    if channels <= 2 {
        return 0;
    }
    let count = |a: &Allocation| a.slots.iter().filter(|s| **s != 0).count() == usize::from(channels);
    let fits = |a: &&Allocation| {
        let mask = a.slots.iter().fold(0, |m, s| m | s);
        count(a) && speaker_mask & mask == mask
    };
    ALLOCATIONS.iter().find(fits).or_else(|| ALLOCATIONS.iter().find(|a| count(a))).map_or(0, |a| a.ca)
}

/// ALSA's default order of `channels` channels, as CEA speakers (7.1's
/// rear pair is CEA's rear-centre pair, its side pair CEA's rear pair).
fn alsa_order(channels: u8) -> &'static [u32] {
    match channels {
        0..=2 => &[FL, FR],
        3 => &[FL, FR, LFE],
        4 => &[FL, FR, RL, RR],
        5 => &[FL, FR, RL, RR, FC],
        6 => &[FL, FR, RL, RR, FC, LFE],
        7 => &[FL, FR, RL, RR, FC, LFE, RC],
        _ => &[FL, FR, RLC, RRC, FC, LFE, RL, RR],
    }
}

/// The eight SET_HDMI_CHAN_SLOT values for `channels` ALSA channels under
/// allocation `ca`: `channel << 4 | slot`, channel 0xf for an empty slot.
/// Each channel goes to the slot of its speaker (ALSA's default channel
/// order matched to CEA-861's slots; for stereo, 2.1, 5.1, 7.1 and the
/// other common layouts this is Linux's table, for the rarer ones Linux
/// fills slots in order instead); one whose speaker the allocation lacks
/// takes the first free slot.
pub fn slot_map(ca: u8, channels: u8) -> [u8; 8] {
    let slots = allocation(ca).map_or([FL, FR, 0, 0, 0, 0, 0, 0], |a| a.slots);
    let order = alsa_order(channels);
    let mut owner: [Option<u8>; 8] = [None; 8];
    let mut unplaced = Vec::new();
    for (ch, &speaker) in order.iter().enumerate().take(usize::from(channels.max(2))) {
        match slots.iter().position(|&s| s == speaker).filter(|&i| owner[i].is_none()) {
            Some(i) => owner[i] = Some(ch as u8),
            None => unplaced.push(ch as u8),
        }
    }
    for ch in unplaced {
        if let Some(i) =
            (0..8).find(|&i| owner[i].is_none() && slots[i] != 0).or_else(|| owner.iter().position(Option::is_none))
        {
            owner[i] = Some(ch);
        }
    }
    let mut out = [0u8; 8];
    for (slot, o) in owner.iter().enumerate() {
        out[slot] = (o.unwrap_or(0xf) << 4) | slot as u8;
    }
    out
}

/// The audio InfoFrame for `channels` of LPCM under allocation `ca`, as
/// the codec's DIP buffer takes it: HDMI's (type 0x84, version 1, length
/// 10, checksummed) or DisplayPort's SDP header and payload; none for a
/// reserved connection type.
pub fn audio_infoframe(connection: Connection, channels: u8, ca: u8) -> Vec<u8> {
    let cc = channels.clamp(1, 8) - 1;
    match connection {
        Connection::Hdmi => {
            let mut f = vec![0x84, 0x01, 0x0a, 0, cc, 0, 0, ca, 0, 0, 0, 0, 0, 0];
            let sum = f.iter().fold(0u8, |s, b| s.wrapping_add(*b));
            f[3] = sum.wrapping_neg();
            f
        }
        Connection::DisplayPort => vec![0x84, 0x1b, 0x11 << 2, cc, 0, 0, ca, 0],
        Connection::Reserved => Vec::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A synthetic ELD: version 2, HDMI, "DELL U2713HM", FL/FR + LFE + FC +
    /// RL/RR, LPCM 8 channels at 32-192 kHz 16/20/24 bits, and AC-3.
    pub(crate) fn eld_bytes() -> Vec<u8> {
        let name = b"DELL U2713HM";
        let mut b = vec![0u8; FIXED_BYTES];
        b[0] = 2 << 3;
        b[2] = 0x10; // baseline length in dwords (not checked)
        b[4] = (3 << 5) | name.len() as u8;
        b[5] = 2 << 4; // two SADs, HDMI
        b[6] = 10; // 20 ms
        b[7] = 0b0000_1111;
        b[16..18].copy_from_slice(&0x10ac_u16.to_le_bytes());
        b[18..20].copy_from_slice(&0xa0ba_u16.to_le_bytes());
        b.extend_from_slice(name);
        b.extend_from_slice(&[(1 << 3) | 7, 0x7f, 0x07]);
        b.extend_from_slice(&[(2 << 3) | 5, 0x07, 80]);
        b.resize(64, 0);
        b
    }

    #[test]
    fn a_valid_eld_reads_as_linux_prints_it() {
        let e = Eld::parse(&eld_bytes()).unwrap();
        assert_eq!((e.version, e.monitor_name.as_str(), e.connection), (2, "DELL U2713HM", Connection::Hdmi));
        assert_eq!((e.manufacturer, e.product, e.audio_sync_delay_ms), (0x10ac, 0xa0ba, 20));
        assert_eq!(e.speakers(), vec!["FL/FR", "LFE", "FC", "RL/RR"]);
        assert_eq!(e.sads.len(), 2);
        assert_eq!((e.sads[0].coding_name(), e.sads[0].channels), ("LPCM", 8));
        assert_eq!(e.sads[0].rates, SAD_RATES.to_vec());
        assert_eq!(e.sads[0].bits, vec![16, 20, 24]);
        assert_eq!((e.sads[1].coding_name(), e.sads[1].channels, e.sads[1].bits.len()), ("AC-3", 6, 0));
        assert_eq!(e.max_lpcm_channels(), 8);
        assert!(e.takes_lpcm(6, 48_000, 16) && e.takes_lpcm(2, 192_000, 32) && !e.takes_lpcm(2, 22_050, 16));
    }

    #[test]
    fn malformed_elds_are_refused_with_the_reason() {
        let good = eld_bytes();
        assert_eq!(Eld::parse(&good[..12]), Err(EldError::TooShort(12)));
        assert_eq!(Eld::parse(&[0x10; 300]), Err(EldError::TooLong(300)));
        let mut b = good.clone();
        b[0] = 5 << 3;
        assert_eq!(Eld::parse(&b), Err(EldError::Version(5)));
        let mut b = good.clone();
        b[4] = 0x1f;
        assert_eq!(Eld::parse(&b), Err(EldError::MonitorNameLength(31)));
        assert_eq!(Eld::parse(&good[..25]), Err(EldError::MonitorNameOutside { mnl: 12, size: 25 }));
        assert_eq!(Eld::parse(&good[..36]), Err(EldError::SadOutside { index: 1, size: 36 }));
        let mut b = good.clone();
        b[5] = 0xf0; // fifteen SADs in 64 bytes
        assert_eq!(Eld::parse(&b), Err(EldError::SadOutside { index: 10, size: 64 }));
        // Control characters in the name are not passed on.
        let mut b = good;
        b[20] = 0x1b;
        assert!(Eld::parse(&b).unwrap().monitor_name.starts_with("?ELL"));
        assert!(EldError::Version(5).to_string().contains("unknown ELD version 5"));
    }

    #[test]
    fn channel_allocation_picks_linux_s_first_fit() {
        let e = Eld::parse(&eld_bytes()).unwrap();
        let mask = e.speaker_mask();
        assert_eq!(channel_allocation(mask, 2), 0x00);
        assert_eq!(channel_allocation(mask, 6), 0x0b, "5.1");
        assert_eq!(channel_allocation(mask, 4), 0x08, "surround40");
        assert_eq!(channel_allocation(mask, 3), 0x01, "2.1");
        assert_eq!(channel_allocation(mask, 8), 0x13, "no 7.1 speakers: the first 8-speaker allocation, as Linux");
        assert_eq!(channel_allocation(spk::FL | spk::FR, 6), 0x0b, "nor 5.1 on a stereo sink");
        // No speaker allocation: every speaker assumed.
        assert_eq!(channel_allocation(Eld { speaker_bits: 0, ..e }.speaker_mask(), 8), 0x13);
    }

    #[test]
    fn slots_follow_the_speakers() {
        // Linux's table for 5.1 (CA 0x0b) and 7.1 (CA 0x13).
        assert_eq!(slot_map(0x0b, 6), [0x00, 0x11, 0x52, 0x43, 0x24, 0x35, 0xf6, 0xf7]);
        assert_eq!(slot_map(0x13, 8), [0x00, 0x11, 0x52, 0x43, 0x64, 0x75, 0x26, 0x37]);
        assert_eq!(slot_map(0x00, 2), [0x00, 0x11, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7]);
    }

    #[test]
    fn infoframes_carry_channels_and_allocation() {
        let f = audio_infoframe(Connection::Hdmi, 6, 0x0b);
        assert_eq!(f.len(), 14);
        assert_eq!((f[0], f[1], f[2], f[4], f[7]), (0x84, 0x01, 0x0a, 5, 0x0b));
        assert_eq!(f.iter().fold(0u8, |s, b| s.wrapping_add(*b)), 0, "checksummed");
        assert_eq!(audio_infoframe(Connection::DisplayPort, 2, 0), vec![0x84, 0x1b, 0x44, 1, 0, 0, 0, 0]);
        assert!(audio_infoframe(Connection::Reserved, 2, 0).is_empty());
        let mut b = eld_bytes();
        b[5] |= 3 << 2;
        assert_eq!(Eld::parse(&b).unwrap().connection, Connection::Reserved);
    }
}
