//! USB audio descriptor sets, byte for byte as usbfs returns them: the device
//! descriptor, then the configuration descriptor with everything under it
//! (`wTotalLength` covers the whole set).
//!
//! - [`qemu_usb_audio`]: QEMU's `usb-audio` (hw/usb/dev-audio.c), UAC1,
//!   playback only, with and without `multi=on`.
//! - [`f_uac1`]: Linux's UAC1 gadget function behind `g_audio`'s device
//!   descriptor.
//! - [`f_uac2`]: Linux's UAC2 gadget function behind `g_audio`'s device
//!   descriptor, at high or full speed; [`Uac2Config`] builds the same
//!   layout with other channel counts, rates and sample formats (the
//!   emulated device in [`super::uac2`] uses it).
//!
//! The Linux descriptors were read from Debian's `linux-source-6.12`
//! 6.12.117-1~deb12u1 (the bench guest's kernel series):
//! drivers/usb/gadget/function/f_uac1.c, f_uac2.c, u_uac1.h, u_uac2.h,
//! drivers/usb/gadget/legacy/audio.c and drivers/usb/gadget/composite.c.
//! QEMU's were read from hw/usb/dev-audio.c and hw/usb/desc.c as in QEMU
//! 5.x and later (the `multi` property), the bench's QEMU being 10.0.
//!
//! What the gadget's UDC decides (endpoint numbers, ep0 packet size) is
//! taken as a UDC with numbered, per-direction endpoints handed out first
//! fit (dwc2, as on a Raspberry Pi) would give it: `usb_ep_autoconfig()` is
//! called for the AC interrupt endpoint first, then the streaming ones, so
//! the interrupt endpoint is 0x81.

use outboard_hal::usb::descriptors::kind;
use outboard_hal::usb::Speed;

/// bInterfaceClass / bFunctionClass: audio.
const CLASS_AUDIO: u8 = 0x01;
/// bInterfaceSubClass: audio control, audio streaming.
const SUBCLASS_AUDIOCONTROL: u8 = 0x01;
const SUBCLASS_AUDIOSTREAMING: u8 = 0x02;
/// bInterfaceProtocol of UAC2 interfaces (IP_VERSION_02_00).
const UAC_VERSION_2: u8 = 0x20;

/// Class-specific AC descriptor subtypes (UAC1 §A.5, UAC2 §A.9).
mod ac {
    pub const HEADER: u8 = 0x01;
    pub const INPUT_TERMINAL: u8 = 0x02;
    pub const OUTPUT_TERMINAL: u8 = 0x03;
    pub const FEATURE_UNIT: u8 = 0x06;
    pub const CLOCK_SOURCE: u8 = 0x0a;
}
/// Class-specific AS descriptor subtypes.
mod asd {
    pub const GENERAL: u8 = 0x01;
    pub const FORMAT_TYPE: u8 = 0x02;
}
/// Class-specific endpoint descriptor subtype EP_GENERAL.
const EP_GENERAL: u8 = 0x01;
/// Terminal types (USB Audio Terminal Types §2).
mod terminal {
    pub const USB_STREAMING: u16 = 0x0101;
    pub const MICROPHONE: u16 = 0x0201;
    pub const SPEAKER: u16 = 0x0301;
}
/// bmAttributes of endpoints (USB 2.0 Table 9-13).
mod ep_attr {
    pub const ISO: u8 = 0x01;
    pub const INTERRUPT: u8 = 0x03;
    pub const ASYNC: u8 = 0x04;
    pub const ADAPTIVE: u8 = 0x08;
    pub const SYNC: u8 = 0x0c;
    pub const FEEDBACK: u8 = 0x10;
}

/// `Linux Foundation` / `Linux-USB Audio Gadget`: the ids the legacy
/// `g_audio` module presents (AUDIO_VENDOR_NUM/AUDIO_PRODUCT_NUM in
/// drivers/usb/gadget/legacy/audio.c) for both its UAC1 and UAC2 flavours.
pub const G_AUDIO_VENDOR: u16 = 0x1d6b;
pub const G_AUDIO_PRODUCT: u16 = 0x0101;
/// composite.c's default bcdDevice: the kernel's major.patchlevel in BCD.
pub const G_AUDIO_BCD_DEVICE: u16 = 0x0612;

fn lo(v: u16) -> u8 {
    v.to_le_bytes()[0]
}
fn hi(v: u16) -> u8 {
    v.to_le_bytes()[1]
}

/// Append one descriptor: bLength and bDescriptorType, then `body`.
fn push(out: &mut Vec<u8>, kind: u8, body: &[u8]) {
    let len = body.len() + 2;
    debug_assert!(len <= 255, "descriptor of {len} bytes");
    out.push(len as u8);
    out.push(kind);
    out.extend_from_slice(body);
}

/// A configuration descriptor followed by `body`, wTotalLength filled in.
#[doc(alias = "wTotalLength")]
fn configuration(num_interfaces: u8, i_configuration: u8, attributes: u8, max_power: u8, body: &[u8]) -> Vec<u8> {
    let total = u16::try_from(9 + body.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(usize::from(total));
    push(
        &mut out,
        kind::CONFIGURATION,
        &[lo(total), hi(total), num_interfaces, 1, i_configuration, attributes, max_power],
    );
    out.extend_from_slice(body);
    out
}

/// An 18-byte device descriptor.
#[allow(clippy::too_many_arguments)]
fn device(usb: u16, class: [u8; 3], ep0: u8, vendor: u16, product: u16, bcd: u16, strings: [u8; 3]) -> Vec<u8> {
    let mut out = Vec::with_capacity(18);
    push(
        &mut out,
        kind::DEVICE,
        &[
            lo(usb),
            hi(usb),
            class[0],
            class[1],
            class[2],
            ep0,
            lo(vendor),
            hi(vendor),
            lo(product),
            hi(product),
            lo(bcd),
            hi(bcd),
            strings[0],
            strings[1],
            strings[2],
            1,
        ],
    );
    out
}

/// An endpoint descriptor: 7 bytes, or 9 (bRefresh, bSynchAddress) for
/// audio-class 1 endpoints.
fn endpoint(out: &mut Vec<u8>, address: u8, attributes: u8, max_packet: u16, interval: u8, audio: bool) {
    let mut body = vec![address, attributes, lo(max_packet), hi(max_packet), interval];
    if audio {
        body.extend_from_slice(&[0, 0]);
    }
    push(out, kind::ENDPOINT, &body);
}

/// A standard interface descriptor.
fn interface(out: &mut Vec<u8>, number: u8, alt: u8, endpoints: u8, subclass: u8, protocol: u8, string: u8) {
    push(out, kind::INTERFACE, &[number, alt, endpoints, CLASS_AUDIO, subclass, protocol, string]);
}

// ---------------------------------------------------------------- QEMU

/// QEMU's `usb-audio` device, as hw/usb/dev-audio.c describes it: `desc_audio`
/// (`multi=off`, the default) or `desc_audio_multi` (`multi=on`).
///
/// Full speed, bcdUSB 1.00, 46f4:0002 (the CRC16 of "QEMU"), strings 1-3
/// (QEMU / QEMU USB Audio / serial), configuration string 4. One UAC1
/// playback path: input terminal 1 (USB streaming) -> feature unit 2 (master
/// mute, per-channel volume) -> output terminal 3 (speaker). AS interface 1:
/// alt 0 zero bandwidth, alt 1 stereo; with `multi` also alt 2 (6 channels)
/// and alt 3 (8 channels). Every streaming alt is 16-bit PCM at 48000 Hz
/// only, on iso OUT endpoint 0x01 with bmAttributes 0x0d (*synchronous*, not
/// adaptive), wMaxPacketSize 96 bytes per channel pair (192/576/768),
/// bInterval 1, with QEMU's 9-byte audio endpoint descriptors.
///
/// Quirk kept as QEMU has it: with `multi`, the AC header's wTotalLength
/// says 0x38 (56) though its descriptors add up to 55.
pub fn qemu_usb_audio(multi: bool) -> Vec<u8> {
    let mut out = device(0x0100, [0, 0, 0], 64, 0x46f4, 0x0002, 0x0000, [1, 2, 3]);
    let mut b = Vec::new();
    interface(&mut b, 0, 0, 0, SUBCLASS_AUDIOCONTROL, 0x04, 5);
    // AC header: bcdADC 1.00, wTotalLength, one streaming interface (1).
    let ac_total: u16 = if multi { 0x38 } else { 0x2b };
    push(&mut b, kind::CS_INTERFACE, &[ac::HEADER, 0x00, 0x01, lo(ac_total), hi(ac_total), 1, 1]);
    let (channels, channel_config): (u8, u16) = if multi { (8, 0x063f) } else { (2, 0x0003) };
    let it = terminal::USB_STREAMING;
    push(
        &mut b,
        kind::CS_INTERFACE,
        &[ac::INPUT_TERMINAL, 1, lo(it), hi(it), 0, channels, lo(channel_config), hi(channel_config), 0, 6],
    );
    // Feature unit 2 from terminal 1: bControlSize 2, master mute, volume per channel.
    let mut fu = vec![ac::FEATURE_UNIT, 2, 1, 2, 0x01, 0x00];
    for _ in 0..channels {
        fu.extend_from_slice(&[0x02, 0x00]);
    }
    fu.push(7);
    push(&mut b, kind::CS_INTERFACE, &fu);
    let ot = terminal::SPEAKER;
    push(&mut b, kind::CS_INTERFACE, &[ac::OUTPUT_TERMINAL, 3, lo(ot), hi(ot), 0, 2, 8]);
    interface(&mut b, 1, 0, 0, SUBCLASS_AUDIOSTREAMING, 0, 9);
    let alts: &[u8] = if multi { &[2, 6, 8] } else { &[2] };
    for (alt, &ch) in (1u8..).zip(alts) {
        interface(&mut b, 1, alt, 1, SUBCLASS_AUDIOSTREAMING, 0, 10);
        // AS general: terminal link 1, bDelay 0, wFormatTag PCM.
        push(&mut b, kind::CS_INTERFACE, &[asd::GENERAL, 1, 0, 0x01, 0x00]);
        // Type I: ch channels, 2-byte subframes, 16 bits, one rate: 48000.
        push(&mut b, kind::CS_INTERFACE, &[asd::FORMAT_TYPE, 1, ch, 2, 16, 1, 0x80, 0xbb, 0x00]);
        endpoint(&mut b, 0x01, ep_attr::ISO | ep_attr::SYNC, 96 * u16::from(ch), 1, true);
        push(&mut b, kind::CS_ENDPOINT, &[EP_GENERAL, 0, 0, 0, 0]);
    }
    out.extend(configuration(2, 4, 0xc0, 0x32, &b));
    out
}

// ---------------------------------------------------------------- f_uac1

/// Linux's f_uac1 with its default parameters (u_uac1.h: capture and
/// playback masks 0x3 = stereo, 48000 Hz, 2-byte samples; mute and volume
/// present on both paths, -100..0 dB in 1 dB steps) behind `g_audio`'s
/// device descriptor, as 6.12 builds it.
///
/// The device descriptor is the legacy `g_audio` module's (compiled with
/// CONFIG_GADGET_UAC1): 1d6b:0101, the Linux Foundation's "Linux-USB Audio
/// Gadget" id that g_audio uses, class 0xef/0x02/0x01 (IAD) even though 6.12's
/// f_uac1 emits no IAD, bcdUSB 2.00 (composite.c for a non-SuperSpeed UDC),
/// ep0 64, bcdDevice 0x0612, manufacturer string 1, product 2, no serial.
/// The configuration: value 1, no string, self-powered (0xc0), bMaxPower 0.
///
/// Function strings are 4-16 (the device took 1-3): AC interface 4, terminals
/// 5-10, feature units 11 (capture) and 12 (playback), AS alts 13-16.
/// Interfaces: AC 0 (with the AC interrupt endpoint 0x81), AS 1 = host
/// playback (iso OUT 0x01, adaptive), AS 2 = host capture (iso IN 0x82,
/// asynchronous). Both streaming endpoints: 9-byte descriptors,
/// wMaxPacketSize 200 (UAC1_OUT_EP_MAX_PACKET_SIZE), bInterval 4.
///
/// In 6.12 the same descriptor list serves full and high speed (f_uac1's
/// `usb_assign_descriptors(f, f_audio_desc, f_audio_desc, ...)`), so this
/// one blob is both; at full speed that bInterval 4 means a packet every
/// 4 ms, which 200 bytes cannot carry at 48 kHz (a kernel bug, fixed by
/// later patches that give full speed bInterval 1).
pub fn f_uac1() -> Vec<u8> {
    let mut out =
        device(0x0200, [0xef, 0x02, 0x01], 64, G_AUDIO_VENDOR, G_AUDIO_PRODUCT, G_AUDIO_BCD_DEVICE, [1, 2, 0]);
    let mut b = Vec::new();
    // IDs as setup_descriptor() numbers them: usb_out_it 1, io_in_it 2,
    // io_out_ot 3, usb_in_ot 4, out FU 5, in FU 6.
    let fu_len = 7 + 3 * 2; // UAC_DT_FEATURE_UNIT_SIZE(2)
    let ac_total: u16 = 10 + (12 + 9 + fu_len) * 2;
    interface(&mut b, 0, 0, 1, SUBCLASS_AUDIOCONTROL, 0, 4);
    push(&mut b, kind::CS_INTERFACE, &[ac::HEADER, 0x00, 0x01, lo(ac_total), hi(ac_total), 2, 1, 2]);
    let stream = terminal::USB_STREAMING;
    push(&mut b, kind::CS_INTERFACE, &[ac::INPUT_TERMINAL, 1, lo(stream), hi(stream), 0, 2, 0x03, 0x00, 6, 5]);
    let spk = terminal::SPEAKER;
    push(&mut b, kind::CS_INTERFACE, &[ac::OUTPUT_TERMINAL, 3, lo(spk), hi(spk), 0, 5, 7]);
    // Feature units: bControlSize 2, master mute (bit 0) + volume (bit 1), channels none.
    push(&mut b, kind::CS_INTERFACE, &[ac::FEATURE_UNIT, 5, 1, 2, 0x03, 0x00, 0, 0, 0, 0, 12]);
    let mic = terminal::MICROPHONE;
    push(&mut b, kind::CS_INTERFACE, &[ac::INPUT_TERMINAL, 2, lo(mic), hi(mic), 0, 2, 0x03, 0x00, 9, 8]);
    push(&mut b, kind::CS_INTERFACE, &[ac::OUTPUT_TERMINAL, 4, lo(stream), hi(stream), 0, 6, 10]);
    push(&mut b, kind::CS_INTERFACE, &[ac::FEATURE_UNIT, 6, 2, 2, 0x03, 0x00, 0, 0, 0, 0, 11]);
    endpoint(&mut b, 0x81, ep_attr::INTERRUPT, 2, 4, false);
    for (number, alt0, alt1, link, address, attributes, lock) in [
        (1u8, 13u8, 14u8, 1u8, 0x01u8, ep_attr::ISO | ep_attr::ADAPTIVE, [1u8, 1, 1, 0]),
        (2, 15, 16, 4, 0x82, ep_attr::ISO | ep_attr::ASYNC, [1, 0, 0, 0]),
    ] {
        interface(&mut b, number, 0, 0, SUBCLASS_AUDIOSTREAMING, 0, alt0);
        interface(&mut b, number, 1, 1, SUBCLASS_AUDIOSTREAMING, 0, alt1);
        // AS general: bDelay 1, PCM.
        push(&mut b, kind::CS_INTERFACE, &[asd::GENERAL, link, 1, 0x01, 0x00]);
        push(&mut b, kind::CS_INTERFACE, &[asd::FORMAT_TYPE, 1, 2, 2, 16, 1, 0x80, 0xbb, 0x00]);
        endpoint(&mut b, address, attributes, 200, 4, true);
        // bmAttributes (sampling frequency control), bLockDelayUnits, wLockDelay.
        push(&mut b, kind::CS_ENDPOINT, &[EP_GENERAL, lock[0], lock[1], lock[2], lock[3]]);
    }
    out.extend(configuration(3, 0, 0xc0, 0, &b));
    out
}

// ---------------------------------------------------------------- f_uac2

/// One direction of an f_uac2 function, in the host's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uac2Stream {
    /// The channel mask (bmChannelConfig); its bit count is bNrChannels.
    #[doc(alias = "chmask")]
    pub channel_mask: u32,
    /// The clock source's discrete rates, first = initial.
    #[doc(alias = "srates")]
    pub rates: Vec<u32>,
    #[doc(alias = "bSubslotSize")]
    pub subslot_bytes: u8,
    #[doc(alias = "bBitResolution")]
    pub bit_resolution: u8,
    /// High-speed bInterval: 1-4 fixed, 0 = f_uac2's choice (the largest
    /// interval from 4 down whose packet fits 1024 bytes).
    #[doc(alias = "hs_bint")]
    pub hs_interval: u8,
}

impl Uac2Stream {
    pub fn channels(&self) -> u16 {
        self.channel_mask.count_ones() as u16
    }
    /// Bytes per frame.
    pub fn frame_bytes(&self) -> usize {
        usize::from(self.channels()) * usize::from(self.subslot_bytes)
    }
}

/// An f_uac2 instance: what its configfs attributes / g_audio module
/// parameters set. Field names are the host's view: `playback` is f_uac2's
/// `c_*` (host -> device, iso OUT), `capture` its `p_*` (device -> host).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uac2Config {
    pub speed: Speed,
    #[doc(alias = "c_chmask")]
    pub playback: Uac2Stream,
    #[doc(alias = "p_chmask")]
    pub capture: Uac2Stream,
    /// Mute and volume controls on both paths (f_uac2's
    /// `[pc]_mute_present`/`[pc]_volume_present`), hence feature units and
    /// the AC interrupt endpoint.
    pub feature_units: bool,
    /// Per mille of headroom in the async packet sizes (FBACK_FAST_MAX).
    pub fb_max: u32,
}

/// f_uac2's volume range (UAC2_DEF_MIN_DB/MAX_DB/RES_DB), in 1/256 dB.
pub const UAC2_VOLUME_MIN: i16 = -100 * 256;
pub const UAC2_VOLUME_MAX: i16 = 0;
pub const UAC2_VOLUME_RES: i16 = 256;

/// f_uac2's string ids behind g_audio (1-3 are the device's).
pub mod uac2_string {
    pub const MANUFACTURER: u8 = 1;
    pub const PRODUCT: u8 = 2;
    pub const SERIAL: u8 = 3;
    pub const ASSOC: u8 = 4;
    pub const IF_CTRL: u8 = 5;
    pub const CLKSRC_IN: u8 = 6;
    pub const CLKSRC_OUT: u8 = 7;
    pub const USB_IT: u8 = 8;
    pub const USB_IT_CH: u8 = 9;
    pub const IO_IT: u8 = 10;
    pub const IO_IT_CH: u8 = 11;
    pub const USB_OT: u8 = 12;
    pub const IO_OT: u8 = 13;
    pub const FU_IN: u8 = 14;
    pub const FU_OUT: u8 = 15;
    pub const AS_OUT_ALT0: u8 = 16;
    pub const AS_OUT_ALT1: u8 = 17;
    pub const AS_IN_ALT0: u8 = 18;
    pub const AS_IN_ALT1: u8 = 19;
}

/// The text of f_uac2's (and g_audio's) string `index` with default names;
/// the manufacturer is composite.c's default ("sysname release with UDC").
pub fn uac2_string_text(index: u8) -> Option<&'static str> {
    use uac2_string::*;
    Some(match index {
        MANUFACTURER => "Linux 6.12.117 with outboard-emu",
        PRODUCT => "Linux USB Audio Gadget",
        SERIAL => "",
        ASSOC => "Source/Sink",
        IF_CTRL => "Topology Control",
        CLKSRC_IN => "Input Clock",
        CLKSRC_OUT => "Output Clock",
        USB_IT => "USBH Out",
        USB_IT_CH => "Playback Channels",
        IO_IT => "USBD Out",
        IO_IT_CH => "Capture Channels",
        USB_OT => "USBH In",
        IO_OT => "USBD In",
        FU_IN => "Capture Volume",
        FU_OUT => "Playback Volume",
        AS_OUT_ALT0 => "Playback Inactive",
        AS_OUT_ALT1 => "Playback Active",
        AS_IN_ALT0 => "Capture Inactive",
        AS_IN_ALT1 => "Capture Active",
        _ => return None,
    })
}

/// Where things are in an f_uac2 descriptor set: the numbers a driver (or
/// the emulator answering it) needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uac2Layout {
    pub ac_interface: u8,
    pub playback_interface: u8,
    pub capture_interface: u8,
    /// The AC interrupt IN endpoint (only with feature units).
    pub interrupt_endpoint: Option<u8>,
    pub playback_endpoint: u8,
    pub feedback_endpoint: u8,
    pub capture_endpoint: u8,
    /// Input terminal 1 (USB streaming in), its feature unit, output terminal 3.
    pub playback_terminal: u8,
    pub capture_terminal: u8,
    pub playback_feature_unit: Option<u8>,
    pub capture_feature_unit: Option<u8>,
    #[doc(alias = "bClockID")]
    pub playback_clock: u8,
    pub capture_clock: u8,
    pub playback_max_packet: u16,
    pub playback_interval: u8,
    pub capture_max_packet: u16,
    pub capture_interval: u8,
    pub feedback_max_packet: u16,
    pub feedback_interval: u8,
}

impl Uac2Config {
    /// f_uac2's defaults (u_uac2.h): host playback (c_) stereo at 64000 Hz,
    /// host capture (p_) stereo at 48000 Hz, 2-byte samples (16 bits),
    /// automatic HS bInterval, asynchronous OUT with a feedback endpoint,
    /// mute and volume present, FBACK_FAST_MAX = 5.
    pub fn f_uac2_default(speed: Speed) -> Uac2Config {
        let stream = |rate| Uac2Stream {
            channel_mask: 0x3,
            rates: vec![rate],
            subslot_bytes: 2,
            bit_resolution: 16,
            hs_interval: 0,
        };
        Uac2Config { speed, playback: stream(64000), capture: stream(48000), feature_units: true, fb_max: 5 }
    }

    fn high_speed(&self) -> bool {
        !matches!(self.speed, Speed::Full | Speed::Low)
    }

    /// wMaxPacketSize and bInterval as f_uac2's set_ep_max_packet_size_bint()
    /// computes them for an asynchronous endpoint: the largest rate plus
    /// fb_max per mille, rounded up to whole frames per interval.
    fn packet_and_interval(&self, s: &Uac2Stream) -> (u16, u8) {
        let max_rate = s.rates.iter().copied().max().unwrap_or(0) as u64;
        let rate = max_rate * (1000 + u64::from(self.fb_max)) / 1000;
        let frame = s.frame_bytes() as u64;
        let size = |factor: u64, bint: u8| frame * rate.div_ceil(factor / (1u64 << (bint - 1)));
        let (limit, bint) = if self.high_speed() {
            let bint = match s.hs_interval {
                1..=4 => s.hs_interval,
                _ => (1..=4).rev().find(|&b| size(8000, b) <= 1024).unwrap_or(1),
            };
            (1024, bint)
        } else {
            (1023, 1)
        };
        let factor = if self.high_speed() { 8000 } else { 1000 };
        (size(factor, bint).min(limit) as u16, bint)
    }

    /// The numbers of this layout.
    pub fn layout(&self) -> Uac2Layout {
        let (playback_max_packet, playback_interval) = self.packet_and_interval(&self.playback);
        let (capture_max_packet, capture_interval) = self.packet_and_interval(&self.capture);
        let fu = self.feature_units;
        // setup_descriptor(): terminals 1-4, then feature units, then clocks.
        let next = if fu { 7 } else { 5 };
        Uac2Layout {
            ac_interface: 0,
            playback_interface: 1,
            capture_interface: 2,
            interrupt_endpoint: fu.then_some(0x81),
            playback_endpoint: 0x01,
            feedback_endpoint: if fu { 0x82 } else { 0x81 },
            capture_endpoint: if fu { 0x83 } else { 0x82 },
            playback_terminal: 1,
            capture_terminal: 4,
            playback_feature_unit: fu.then_some(5),
            capture_feature_unit: fu.then_some(6),
            playback_clock: next,
            capture_clock: next + 1,
            playback_max_packet,
            playback_interval,
            capture_max_packet,
            capture_interval,
            feedback_max_packet: if self.high_speed() { 4 } else { 3 },
            feedback_interval: if self.high_speed() { 4 } else { 1 },
        }
    }

    /// The whole descriptor set (device + configuration) for this speed.
    pub fn descriptors(&self) -> Vec<u8> {
        use uac2_string as s;
        let l = self.layout();
        let hs = self.high_speed();
        let mut out =
            device(0x0200, [0xef, 0x02, 0x01], 64, G_AUDIO_VENDOR, G_AUDIO_PRODUCT, G_AUDIO_BCD_DEVICE, [1, 2, 0]);
        let (p, c) = (&self.playback, &self.capture);
        let fu_len = |st: &Uac2Stream| 6 + (usize::from(st.channels()) + 1) * 4; // UAC2_DT_FEATURE_UNIT_SIZE
        let fus = if self.feature_units { fu_len(p) + fu_len(c) } else { 0 };
        let ac_total = u16::try_from(9 + 2 * 8 + 2 * 17 + 2 * 12 + fus).unwrap_or(u16::MAX);

        let mut b = Vec::new();
        // IAD over the three interfaces: audio, subclass undefined, protocol 2.0.
        push(&mut b, kind::INTERFACE_ASSOCIATION, &[l.ac_interface, 3, CLASS_AUDIO, 0x00, UAC_VERSION_2, s::ASSOC]);
        interface(
            &mut b,
            l.ac_interface,
            0,
            u8::from(self.feature_units),
            SUBCLASS_AUDIOCONTROL,
            UAC_VERSION_2,
            s::IF_CTRL,
        );
        // AC header: bcdADC 2.00, bCategory I/O box, bmControls 0.
        push(&mut b, kind::CS_INTERFACE, &[ac::HEADER, 0x00, 0x02, 0x08, lo(ac_total), hi(ac_total), 0]);
        // Clock sources: internal fixed (0x01), frequency control read/write (0x03).
        push(&mut b, kind::CS_INTERFACE, &[ac::CLOCK_SOURCE, l.capture_clock, 0x01, 0x03, 0, s::CLKSRC_IN]);
        push(&mut b, kind::CS_INTERFACE, &[ac::CLOCK_SOURCE, l.playback_clock, 0x01, 0x03, 0, s::CLKSRC_OUT]);
        let input_terminal = |b: &mut Vec<u8>, id: u8, ty: u16, clock: u8, st: &Uac2Stream, ch_name: u8, name: u8| {
            let m = st.channel_mask.to_le_bytes();
            // bmControls: copy protect read/write (f_uac2's CONTROL_RDWR << COPY_CTRL).
            push(
                b,
                kind::CS_INTERFACE,
                &[
                    ac::INPUT_TERMINAL,
                    id,
                    lo(ty),
                    hi(ty),
                    0,
                    clock,
                    st.channels() as u8,
                    m[0],
                    m[1],
                    m[2],
                    m[3],
                    ch_name,
                    0x03,
                    0x00,
                    name,
                ],
            );
        };
        let output_terminal = |b: &mut Vec<u8>, id: u8, ty: u16, source: u8, clock: u8, name: u8| {
            push(b, kind::CS_INTERFACE, &[ac::OUTPUT_TERMINAL, id, lo(ty), hi(ty), 0, source, clock, 0x03, 0x00, name]);
        };
        let feature_unit = |b: &mut Vec<u8>, id: u8, source: u8, st: &Uac2Stream, name: u8| {
            // Master: mute and volume read/write (0x3 << 0 | 0x3 << 2); channels: none.
            let mut body = vec![ac::FEATURE_UNIT, id, source, 0x0f, 0, 0, 0];
            body.extend(std::iter::repeat_n(0u8, usize::from(st.channels()) * 4));
            body.push(name);
            push(b, kind::CS_INTERFACE, &body);
        };
        input_terminal(&mut b, 1, terminal::USB_STREAMING, l.playback_clock, p, s::USB_IT_CH, s::USB_IT);
        if let Some(id) = l.playback_feature_unit {
            feature_unit(&mut b, id, 1, p, s::FU_OUT);
        }
        input_terminal(&mut b, 2, terminal::MICROPHONE, l.capture_clock, c, s::IO_IT_CH, s::IO_IT);
        if let Some(id) = l.capture_feature_unit {
            feature_unit(&mut b, id, 2, c, s::FU_IN);
        }
        output_terminal(
            &mut b,
            4,
            terminal::USB_STREAMING,
            l.capture_feature_unit.unwrap_or(2),
            l.capture_clock,
            s::USB_OT,
        );
        output_terminal(&mut b, 3, terminal::SPEAKER, l.playback_feature_unit.unwrap_or(1), l.playback_clock, s::IO_OT);
        if let Some(ep) = l.interrupt_endpoint {
            endpoint(&mut b, ep, ep_attr::INTERRUPT, 6, if hs { 4 } else { 1 }, false);
        }
        let as_header = |b: &mut Vec<u8>, link: u8, st: &Uac2Stream| {
            let m = st.channel_mask.to_le_bytes();
            // bmControls 0, format type I, bmFormats PCM, channels, no channel names.
            push(
                b,
                kind::CS_INTERFACE,
                &[asd::GENERAL, link, 0, 1, 0x01, 0, 0, 0, st.channels() as u8, m[0], m[1], m[2], m[3], 0],
            );
            push(b, kind::CS_INTERFACE, &[asd::FORMAT_TYPE, 1, st.subslot_bytes, st.bit_resolution]);
        };
        let cs_iso = |b: &mut Vec<u8>| push(b, kind::CS_ENDPOINT, &[EP_GENERAL, 0, 0, 0, 0, 0]);

        interface(&mut b, l.playback_interface, 0, 0, SUBCLASS_AUDIOSTREAMING, UAC_VERSION_2, s::AS_OUT_ALT0);
        interface(&mut b, l.playback_interface, 1, 2, SUBCLASS_AUDIOSTREAMING, UAC_VERSION_2, s::AS_OUT_ALT1);
        as_header(&mut b, 1, p);
        endpoint(
            &mut b,
            l.playback_endpoint,
            ep_attr::ISO | ep_attr::ASYNC,
            l.playback_max_packet,
            l.playback_interval,
            false,
        );
        cs_iso(&mut b);
        endpoint(
            &mut b,
            l.feedback_endpoint,
            ep_attr::ISO | ep_attr::FEEDBACK,
            l.feedback_max_packet,
            l.feedback_interval,
            false,
        );

        interface(&mut b, l.capture_interface, 0, 0, SUBCLASS_AUDIOSTREAMING, UAC_VERSION_2, s::AS_IN_ALT0);
        interface(&mut b, l.capture_interface, 1, 1, SUBCLASS_AUDIOSTREAMING, UAC_VERSION_2, s::AS_IN_ALT1);
        as_header(&mut b, 4, c);
        endpoint(
            &mut b,
            l.capture_endpoint,
            ep_attr::ISO | ep_attr::ASYNC,
            l.capture_max_packet,
            l.capture_interval,
            false,
        );
        cs_iso(&mut b);

        out.extend(configuration(3, 0, 0xc0, 0, &b));
        out
    }
}

/// Linux's f_uac2 (drivers/usb/gadget/function/f_uac2.c, 6.12.117) with its
/// default parameters (see [`Uac2Config::f_uac2_default`]) behind `g_audio`'s
/// device descriptor (1d6b:0101, class 0xef/0x02/0x01, bcdUSB 2.00, ep0 64,
/// bcdDevice 0x0612, strings 1/2, no serial; configuration 1, no string,
/// self-powered, bMaxPower 0).
///
/// IAD over interfaces 0-2; AC interface 0 with clock sources 8 (capture,
/// "Input Clock") and 7 (playback, "Output Clock"), input terminals 1 (USB
/// streaming) and 2 (microphone), feature units 5 (playback) and 6 (capture),
/// output terminals 4 (USB streaming) and 3 (speaker), and the AC interrupt
/// endpoint 0x81 (6 bytes; bInterval 4 at HS, 1 at FS). AS interface 1 = host
/// playback: alt 1 has iso OUT 0x01 (asynchronous) and the feedback iso IN
/// 0x82 (4 bytes, bInterval 4 at HS; 3 bytes, bInterval 1 at FS). AS
/// interface 2 = host capture: iso IN 0x83 (asynchronous).
///
/// Packet sizes (64000 Hz OUT, 48000 Hz IN, stereo S16, +0.5 %): high speed
/// picks bInterval 4 (one packet per ms): OUT 260 bytes, IN 196 bytes; full
/// speed bInterval 1: the same sizes.
pub fn f_uac2(speed: Speed) -> Vec<u8> {
    Uac2Config::f_uac2_default(speed).descriptors()
}
