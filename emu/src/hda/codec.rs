//! Emulated HDA codecs: what answers the verbs the controller forwards.

use std::collections::VecDeque;

/// A codec on the emulated link.
pub trait CodecModel: Send {
    /// Answer one verb (`payload` is the low 20 bits of the command) for node `nid`.
    fn verb(&mut self, nid: u8, payload: u32) -> u32;
    /// The stream tag and format the output converter is set to, if running.
    fn output_stream(&self) -> Option<(u8, u16)>;
    /// The stream tag and format the input converter is set to, if running.
    fn input_stream(&self) -> Option<(u8, u16)>;
    /// Samples arriving at the DAC (raw stream bytes).
    fn play(&mut self, data: &[u8]);
    /// Fill `out` with what the ADC hears (raw stream bytes).
    fn record(&mut self, out: &mut [u8]);
    /// For tests that need the concrete model back.
    fn as_any(&mut self) -> &mut dyn std::any::Any;
}

/// QEMU's `hda-duplex`, as the bench sees it: vendor id 0x1af40022; node 1
/// the audio function group; 2 DAC, 3 output pin, 4 ADC, 5 input pin.
pub struct DuplexCodec {
    out_stream: u8,
    out_format: u16,
    in_stream: u8,
    in_format: u16,
    played: Vec<u8>,
    line_in: VecDeque<u8>,
}

impl Default for DuplexCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl DuplexCodec {
    pub const VENDOR_ID: u32 = 0x1af4_0022;
    pub const DAC: u8 = 2;
    pub const OUT_PIN: u8 = 3;
    pub const ADC: u8 = 4;
    pub const IN_PIN: u8 = 5;

    pub fn new() -> DuplexCodec {
        DuplexCodec {
            out_stream: 0,
            out_format: 0,
            in_stream: 0,
            in_format: 0,
            played: Vec::new(),
            line_in: VecDeque::new(),
        }
    }

    /// What the DAC has received.
    pub fn played(&self) -> &[u8] {
        &self.played
    }

    /// Queue bytes for the ADC to capture (silence once they run out).
    pub fn feed_line_in(&mut self, data: &[u8]) {
        self.line_in.extend(data);
    }

    fn parameter(&self, nid: u8, id: u32) -> u32 {
        // As QEMU's hw/audio/hda-codec-common.h describes hda-duplex with its
        // mixer on: PCM 16 kHz-96 kHz at 16 bits, amps of 0x4a steps (0x4a = 0 dB).
        const PCM: u32 = (1 << 17) | 0x1fc;
        const AMP: u32 = (1 << 31) | (3 << 16) | (0x4a << 8) | 0x4a;
        match (nid, id) {
            (0, 0x00) => Self::VENDOR_ID,
            (0, 0x02) => 0x0010_0101,
            (0, 0x04) => 0x0001_0001, // one function group at node 1
            (1, 0x04) => 0x0002_0004, // nodes 2..5
            (1, 0x05) => 0x0000_0001, // audio function group
            (1, 0x08) => 0x0000_0808,
            (1, 0x0a) | (Self::DAC, 0x0a) | (Self::ADC, 0x0a) => PCM,
            (1, 0x0b) | (Self::DAC, 0x0b) | (Self::ADC, 0x0b) => 1,
            (Self::DAC, 0x09) => 0x0000_001d, // audio output: stereo, out amp, amp and format override
            (Self::DAC, 0x12) | (Self::ADC, 0x0d) => AMP,
            (Self::ADC, 0x09) => 0x0010_011b, // audio input: stereo, in amp, overrides, connection list
            (Self::OUT_PIN, 0x09) => 0x0040_0101, // pin, connection list
            (Self::IN_PIN, 0x09) => 0x0040_0001, // pin
            (Self::OUT_PIN, 0x0c) => 0x0000_0010, // output capable
            (Self::IN_PIN, 0x0c) => 0x0000_0020, // input capable
            (Self::OUT_PIN, 0x0e) | (Self::ADC, 0x0e) => 1,
            _ => 0,
        }
    }

    /// Configuration defaults: a green line-out jack (association 1) and a
    /// red line-in jack (association 2).
    fn pin_config(nid: u8) -> u32 {
        match nid {
            Self::OUT_PIN => 0x0000_4010,
            Self::IN_PIN => 0x0080_5020,
            _ => 0,
        }
    }
}

impl CodecModel for DuplexCodec {
    fn verb(&mut self, nid: u8, payload: u32) -> u32 {
        let verb12 = (payload >> 8) & 0xfff;
        let verb4 = (payload >> 16) & 0xf;
        let data8 = payload & 0xff;
        match (verb12, verb4) {
            (0xf00, _) => self.parameter(nid, data8),
            (0x706, _) => {
                match nid {
                    Self::DAC => self.out_stream = (data8 >> 4) as u8,
                    Self::ADC => self.in_stream = (data8 >> 4) as u8,
                    _ => {}
                }
                0
            }
            (0xf06, _) => match nid {
                Self::DAC => u32::from(self.out_stream) << 4,
                Self::ADC => u32::from(self.in_stream) << 4,
                _ => 0,
            },
            (0xf1c, _) => Self::pin_config(nid),
            (0xf02, _) if nid == Self::OUT_PIN => u32::from(Self::DAC),
            (0xf02, _) if nid == Self::ADC => u32::from(Self::IN_PIN),
            (_, 0x2) => {
                match nid {
                    Self::DAC => self.out_format = payload as u16,
                    Self::ADC => self.in_format = payload as u16,
                    _ => {}
                }
                0
            }
            (_, 0xa) => match nid {
                Self::DAC => u32::from(self.out_format),
                Self::ADC => u32::from(self.in_format),
                _ => 0,
            },
            _ => 0,
        }
    }

    fn output_stream(&self) -> Option<(u8, u16)> {
        (self.out_stream != 0).then_some((self.out_stream, self.out_format))
    }

    fn input_stream(&self) -> Option<(u8, u16)> {
        (self.in_stream != 0).then_some((self.in_stream, self.in_format))
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
