//! Codec verbs (HDA spec §7.3): how commands to a codec are encoded, the
//! parameter ids read with GET_PARAMETER, and the stream format word.

/// A command for one codec node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verb {
    /// Codec address (0-14).
    pub codec: u8,
    /// Node id (0-127).
    pub nid: u8,
    /// A 12-bit verb with an 8-bit payload, or a 4-bit verb with a 16-bit
    /// payload, already combined into the low 20 bits.
    pub payload: u32,
}

impl Verb {
    /// A 12-bit verb (e.g. [`GET_PARAMETER`]) with an 8-bit payload.
    pub const fn new(codec: u8, nid: u8, verb: u16, data: u8) -> Verb {
        Verb { codec, nid, payload: ((verb as u32 & 0xfff) << 8) | data as u32 }
    }

    /// A 4-bit verb (e.g. [`SET_CONVERTER_FORMAT`]) with a 16-bit payload.
    pub const fn long(codec: u8, nid: u8, verb: u8, data: u16) -> Verb {
        Verb { codec, nid, payload: ((verb as u32 & 0xf) << 16) | data as u32 }
    }

    /// The 32-bit CORB entry (or ICOI value).
    pub const fn encode(self) -> u32 {
        ((self.codec as u32 & 0xf) << 28) | ((self.nid as u32 & 0x7f) << 20) | (self.payload & 0xf_ffff)
    }
}

/// Get a parameter (payload: the parameter id).
pub const GET_PARAMETER: u16 = 0xf00;
/// Set converter stream and channel (payload: stream << 4 | channel).
pub const SET_CHANNEL_STREAMID: u16 = 0x706;
/// Get converter stream and channel.
pub const GET_CHANNEL_STREAMID: u16 = 0xf06;
/// Set converter format (4-bit verb, 16-bit format payload).
pub const SET_CONVERTER_FORMAT: u8 = 0x2;
/// Set amplifier gain/mute (4-bit verb 0x3).
pub const SET_AMP_GAIN_MUTE: u8 = 0x3;
/// Set pin widget control.
pub const SET_PIN_WIDGET_CONTROL: u16 = 0x707;
/// Set power state (payload: 0 = D0, fully on; 3 = D3).
pub const SET_POWER_STATE: u16 = 0x705;
/// Select a connection-list entry (payload: index).
pub const SET_CONNECT_SEL: u16 = 0x701;
/// Enable unsolicited responses (payload: bit 7 enable, bits 5:0 tag).
pub const SET_UNSOLICITED_ENABLE: u16 = 0x708;
/// Set EAPD/BTL enable (payload bit 1: EAPD, the external amplifier on).
pub const SET_EAPD_BTL: u16 = 0x70c;
/// Read pin sense (bit 31: something is plugged in).
pub const GET_PIN_SENSE: u16 = 0xf09;
/// Get amplifier gain/mute (4-bit verb 0xb; payload bits in [`amp_get`];
/// answer: bit 7 mute, bits 6:0 gain).
pub const GET_AMP_GAIN_MUTE: u8 = 0xb;
/// Get the selected connection-list entry (answer: the index).
pub const GET_CONNECT_SEL: u16 = 0xf01;

/// HDMI/DisplayPort verbs (HDA spec §7.3.3.35-.41, Linux's AC_VERB_*HDMI*).
pub mod hdmi {
    /// Pin sense bit: a display's ELD is valid (bit 31 is presence).
    pub const SENSE_ELD_VALID: u32 = 1 << 30;
    /// Size of a DIP buffer (payload: buffer index; 0x08 is the ELD's).
    pub const GET_DIP_SIZE: u16 = 0xf2e;
    /// Payload for [`GET_DIP_SIZE`]: the ELD buffer.
    pub const DIP_SIZE_ELD: u8 = 0x08;
    /// One ELD byte (payload: its index; answer bit 31: valid, bits 7:0 data).
    pub const GET_ELD_DATA: u16 = 0xf2f;
    /// Converter channel count (payload: channels - 1).
    pub const SET_CVT_CHAN_COUNT: u16 = 0x72d;
    /// DIP packet and byte index (payload: packet << 5 | byte).
    pub const SET_DIP_INDEX: u16 = 0x730;
    /// One DIP byte, at the index, which then moves on.
    pub const SET_DIP_DATA: u16 = 0x731;
    /// DIP transmission (payload: 0 off, 0xc0 as often as possible).
    pub const SET_DIP_XMIT: u16 = 0x732;
    pub const DIP_XMIT_BEST: u8 = 0xc0;
    /// Converter channel to slot (payload: channel << 4 | slot).
    pub const SET_CHAN_SLOT: u16 = 0x734;
}

/// Payload bits of [`GET_AMP_GAIN_MUTE`] (spec §7.3.3.7).
pub mod amp_get {
    /// Set: the output amp; clear: an input amp.
    pub const OUTPUT: u16 = 1 << 15;
    /// Set: the left channel; clear: the right.
    pub const LEFT: u16 = 1 << 13;
    /// Input amp index (bits 3:0).
    pub const fn index(i: u8) -> u16 {
        (i as u16) & 0xf
    }
}

/// Payload bits of [`SET_AMP_GAIN_MUTE`].
pub mod amp {
    pub const OUTPUT: u16 = 1 << 15;
    pub const INPUT: u16 = 1 << 14;
    pub const LEFT: u16 = 1 << 13;
    pub const RIGHT: u16 = 1 << 12;
    pub const MUTE: u16 = 1 << 7;
    /// Input amp index (bits 11:8).
    pub const fn index(i: u8) -> u16 {
        ((i as u16) & 0xf) << 8
    }
}

/// Parameter ids for [`GET_PARAMETER`].
pub mod param {
    pub const VENDOR_ID: u8 = 0x00;
    pub const REVISION_ID: u8 = 0x02;
    pub const SUBORDINATE_NODE_COUNT: u8 = 0x04;
    pub const FUNCTION_GROUP_TYPE: u8 = 0x05;
    pub const AUDIO_FG_CAP: u8 = 0x08;
    pub const AUDIO_WIDGET_CAP: u8 = 0x09;
    pub const PCM: u8 = 0x0a;
    pub const STREAM_FORMATS: u8 = 0x0b;
    pub const PIN_CAP: u8 = 0x0c;
    pub const AMP_IN_CAP: u8 = 0x0d;
    pub const CONN_LIST_LEN: u8 = 0x0e;
    pub const POWER_STATES: u8 = 0x0f;
    pub const AMP_OUT_CAP: u8 = 0x12;
}

/// A response read from the RIRB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    pub value: u32,
    /// The codec that sent it.
    pub codec: u8,
    /// An unsolicited response (jack event), not an answer.
    pub unsolicited: bool,
}

impl Response {
    /// Decode the two 32-bit words of a RIRB entry.
    pub const fn decode(value: u32, extended: u32) -> Response {
        Response { value, codec: (extended & 0xf) as u8, unsolicited: extended & 0x10 != 0 }
    }
}

/// Encode a PCM stream format (spec §3.7.1) for SDnFMT and converters.
/// Returns `None` for rates and sizes HDA cannot express.
pub fn stream_format(rate: u32, bits: u32, channels: u16) -> Option<u16> {
    // (base 44.1 kHz?, multiplier, divisor) for each rate.
    let (base441, mult, div) = match rate {
        8_000 => (false, 1, 6),
        11_025 => (true, 1, 4),
        16_000 => (false, 1, 3),
        22_050 => (true, 1, 2),
        32_000 => (false, 2, 3),
        44_100 => (true, 1, 1),
        48_000 => (false, 1, 1),
        88_200 => (true, 2, 1),
        96_000 => (false, 2, 1),
        176_400 => (true, 4, 1),
        192_000 => (false, 4, 1),
        _ => return None,
    };
    let bits_code = match bits {
        8 => 0,
        16 => 1,
        20 => 2,
        24 => 3,
        32 => 4,
        _ => return None,
    };
    if !(1..=16).contains(&channels) {
        return None;
    }
    Some((u16::from(base441) << 14) | ((mult - 1) << 11) | ((div - 1) << 8) | (bits_code << 4) | (channels - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_encode_as_the_spec_lays_them_out() {
        assert_eq!(Verb::new(0, 0, GET_PARAMETER, param::VENDOR_ID).encode(), 0x000f_0000);
        assert_eq!(Verb::new(2, 0x14, SET_PIN_WIDGET_CONTROL, 0x40).encode(), 0x2147_0740);
        assert_eq!(Verb::long(0, 2, SET_CONVERTER_FORMAT, 0x0011).encode(), 0x0022_0011);
    }

    #[test]
    fn formats_match_the_spec_table() {
        assert_eq!(stream_format(48_000, 16, 2), Some(0x0011));
        assert_eq!(stream_format(44_100, 16, 2), Some(0x4011));
        assert_eq!(stream_format(96_000, 24, 2), Some(0x0831));
        assert_eq!(stream_format(8_000, 16, 1), Some(0x0510));
        assert_eq!(stream_format(192_000, 32, 8), Some(0x1847));
        assert_eq!(stream_format(12_345, 16, 2), None);
        assert_eq!(stream_format(48_000, 12, 2), None);
        assert_eq!(stream_format(48_000, 16, 0), None);
    }

    #[test]
    fn responses_decode_codec_and_unsolicited_bit() {
        assert_eq!(Response::decode(0x1af4_0022, 0x0), Response { value: 0x1af4_0022, codec: 0, unsolicited: false });
        assert!(Response::decode(0, 0x12).unsolicited);
        assert_eq!(Response::decode(0, 0x12).codec, 2);
    }
}
