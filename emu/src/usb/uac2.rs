//! An emulated UAC2 audio device shaped like Linux's f_uac2 gadget function
//! (drivers/usb/gadget/function/f_uac2.c and u_audio.c, 6.12), behind
//! [`outboard_hal::usb::mem::UsbFunction`].
//!
//! `MemUsb::new("uac2-emu", Box::new(device))` gives a driver a `UsbDevice`;
//! the USB/IP server presents the same function to a Linux guest. The device
//! is pure in-memory logic: it does nothing between calls, keeps no time and
//! starts no thread. Whoever calls [`UsbFunction::transfer`] paces it (the
//! USB/IP server does so in real time, a test as fast as it likes): each
//! isochronous packet is one service interval of the device.
//!
//! "Playback" and "capture" are the host's: playback is host -> device on
//! the iso OUT endpoint, with the asynchronous feedback IN endpoint beside it
//! on the same interface; capture is device -> host on the iso IN endpoint.
//! The numbers (interfaces 0/1/2, clocks, units, endpoints) come from
//! [`Uac2Config::layout`]: AC interrupt 0x81, OUT 0x01, feedback 0x82,
//! capture IN 0x83, as f_uac2 numbers them (its AC interrupt endpoint is
//! allocated first, because its feature units are on by default).
//!
//! Where this device differs from f_uac2 on purpose, for a stricter test:
//! - SET_CUR of a sampling frequency that is not one of the clock's rates
//!   STALLs (f_uac2 acknowledges it and keeps the old rate).
//! - Feature-unit requests for a channel other than the master (CN 0) STALL,
//!   as the descriptors declare controls only on the master (f_uac2 ignores
//!   the CN and answers for the master).
//! - The feedback value is in the standard units at every bInterval: frames
//!   per microframe (16.16) at high speed, frames per frame (10.14) at full
//!   speed (u_audio scales it to frames per packet when bInterval > 1, which
//!   snd-usb-audio detects and undoes).
//! - The HS bInterval of the streaming endpoints is an option
//!   ([`Uac2Options::hs_interval`], default 1: one packet per microframe).
//!
//! Transfers the device cannot take complete with an error rather than
//! vanish: see [`Uac2Device`]'s `transfer` notes.

use std::sync::{Arc, Mutex, MutexGuard};

use outboard_hal::usb::mem::UsbFunction;
use outboard_hal::usb::{request_type, ControlSetup, IsoPacketResult, Speed, Transfer, TransferKind, TransferStatus};

use super::descriptors::{uac2_string_text, Uac2Config, Uac2Layout, Uac2Stream};
use super::descriptors::{UAC2_VOLUME_MAX, UAC2_VOLUME_MIN, UAC2_VOLUME_RES};

/// Standard requests (USB 2.0 Table 9-4) and descriptor types (Table 9-5),
/// as the hal defines them.
mod std_req {
    pub use outboard_hal::usb::descriptors::kind::{
        CONFIGURATION as DT_CONFIGURATION, DEVICE as DT_DEVICE, DEVICE_QUALIFIER as DT_DEVICE_QUALIFIER,
        OTHER_SPEED_CONFIGURATION as DT_OTHER_SPEED_CONFIGURATION, STRING as DT_STRING,
    };
    pub use outboard_hal::usb::request::*;
}

/// UAC2 class requests (§A.14) and control selectors (§A.17.1, §A.17.7).
mod uac2_req {
    pub const CUR: u8 = 0x01;
    pub const RANGE: u8 = 0x02;
    pub const CS_SAM_FREQ: u8 = 0x01;
    pub const CS_CLOCK_VALID: u8 = 0x02;
    pub const FU_MUTE: u8 = 0x01;
    pub const FU_VOLUME: u8 = 0x02;
}

/// bmRequestType's type and recipient fields.
const TYPE_MASK: u8 = 0x60;
const RECIPIENT_MASK: u8 = 0x1f;
/// f_uac2's UAC_MAX_RATES.
const MAX_RATES: usize = 10;

/// What the emulated device is. Channel counts, rates and the sample format
/// apply to both directions.
#[derive(Clone, Debug, PartialEq)]
pub struct Uac2Options {
    /// High (default) or Full.
    pub speed: Speed,
    /// The clock sources' discrete rates (RANGE answers them in this order);
    /// the first is the initial rate. At most 10 (f_uac2's UAC_MAX_RATES).
    pub rates: Vec<u32>,
    /// Host -> device (iso OUT).
    pub playback_channels: u16,
    /// Device -> host (iso IN).
    pub capture_channels: u16,
    #[doc(alias = "bSubslotSize")]
    pub subslot_bytes: u8,
    #[doc(alias = "bBitResolution")]
    pub bit_resolution: u8,
    /// bInterval of both streaming endpoints at high speed: 1-4, or 0 for
    /// f_uac2's own choice (the largest interval whose packet fits, 4 = 1 ms
    /// for stereo 16-bit). Default 1: a packet every microframe.
    #[doc(alias = "hs_bint")]
    pub hs_interval: u8,
}

impl Default for Uac2Options {
    fn default() -> Self {
        Uac2Options {
            speed: Speed::High,
            rates: vec![48000, 44100, 96000],
            playback_channels: 2,
            capture_channels: 2,
            subslot_bytes: 2,
            bit_resolution: 16,
            hs_interval: 1,
        }
    }
}

impl Uac2Options {
    /// The options made valid, each correction logged: speed High or Full;
    /// 1-27 channels (UAC2's channel positions); subslot 1-4 bytes; bit
    /// resolution 1..=8 × subslot; 1-10 nonzero rates (48000 if none);
    /// hs_interval 0-4.
    pub fn sanitized(&self) -> Uac2Options {
        let mut o = self.clone();
        if !matches!(o.speed, Speed::High | Speed::Full) {
            log::warn!("uac2-emu: speed {:?} is not emulated; using High", o.speed);
            o.speed = Speed::High;
        }
        for (name, ch) in [("playback", &mut o.playback_channels), ("capture", &mut o.capture_channels)] {
            if !(1..=27).contains(ch) {
                log::warn!("uac2-emu: {ch} {name} channels is outside 1-27; using {}", (*ch).clamp(1, 27));
                *ch = (*ch).clamp(1, 27);
            }
        }
        if !(1..=4).contains(&o.subslot_bytes) {
            log::warn!("uac2-emu: subslot of {} bytes is outside 1-4; using 2", o.subslot_bytes);
            o.subslot_bytes = 2;
        }
        if o.bit_resolution == 0 || o.bit_resolution > o.subslot_bytes * 8 {
            log::warn!(
                "uac2-emu: {} bits do not fit {}-byte subslots; using {}",
                o.bit_resolution,
                o.subslot_bytes,
                o.subslot_bytes * 8
            );
            o.bit_resolution = o.subslot_bytes * 8;
        }
        o.rates.retain(|&r| r != 0);
        if o.rates.is_empty() {
            log::warn!("uac2-emu: no sampling rates given; using 48000");
            o.rates.push(48000);
        }
        if o.rates.len() > MAX_RATES {
            log::warn!(
                "uac2-emu: {} rates given, f_uac2 takes {MAX_RATES}; using the first {MAX_RATES}",
                o.rates.len()
            );
            o.rates.truncate(MAX_RATES);
        }
        if o.hs_interval > 4 {
            log::warn!("uac2-emu: HS bInterval {} is outside 0-4; using f_uac2's choice", o.hs_interval);
            o.hs_interval = 0;
        }
        o
    }

    /// The f_uac2 descriptor configuration these options describe.
    pub fn config(&self) -> Uac2Config {
        let o = self.sanitized();
        let stream = |channels: u16| Uac2Stream {
            channel_mask: (1u32 << channels) - 1,
            rates: o.rates.clone(),
            subslot_bytes: o.subslot_bytes,
            bit_resolution: o.bit_resolution,
            hs_interval: o.hs_interval,
        };
        Uac2Config {
            speed: o.speed,
            playback: stream(o.playback_channels),
            capture: stream(o.capture_channels),
            feature_units: true,
            fb_max: 5,
        }
    }
}

/// What the device has seen and how it is set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Uac2Stats {
    /// OUT packets taken, their whole frames, and those that were not a whole
    /// number of frames or exceeded wMaxPacketSize.
    pub out_packets: u64,
    pub out_frames: u64,
    pub bad_out_packets: u64,
    pub feedback_packets: u64,
    pub capture_packets: u64,
    pub capture_frames: u64,
    /// The playback (OUT) clock source's current SAM_FREQ.
    pub rate: u32,
    /// The capture (IN) clock source's current SAM_FREQ.
    pub capture_rate: u32,
    pub playback_alt: u8,
    pub capture_alt: u8,
    /// The playback feature unit's volume (1/256 dB) and mute, per channel,
    /// index 0 = master (the only one with controls).
    pub volume_db256: Vec<i16>,
    pub mute: Vec<bool>,
    /// The same for the capture path's feature unit.
    pub capture_volume_db256: Vec<i16>,
    pub capture_mute: Vec<bool>,
    /// Loopback mode: capture frames that found the loop empty (silence sent).
    pub loopback_underruns: u64,
}

#[derive(Debug)]
struct State {
    configuration: u8,
    playback_alt: u8,
    capture_alt: u8,
    playback_rate: u32,
    capture_rate: u32,
    /// Feature units: (volume, mute) per channel, index 0 = master.
    playback_fu: (Vec<i16>, Vec<bool>),
    capture_fu: (Vec<i16>, Vec<bool>),
    /// The device clock's real rate; None = each clock's nominal SAM_FREQ.
    clock_hz: Option<f64>,
    capture_source: Vec<u8>,
    capture_pos: usize,
    /// Frames owed to the capture stream, Q16 × packets per second.
    capture_phase: u64,
    received: Vec<u8>,
    /// Loopback mode.
    loopback: Option<Loop>,
    /// The bus time of the transfer about to be carried out, if the host
    /// keeps one: (first packet's tick, ticks between packets).
    bus_time: Option<(u64, u64)>,
    stats: Uac2Stats,
}

/// Loopback mode's cable.
///
/// - A wire (with bus time, from the USB/IP server): each OUT frame is kept
///   at the device time it was played (frames since the bus started, from
///   its packet's (micro)frame), and an IN frame at device time `t` is the
///   OUT frame of `t - delay`, or silence if none was played then. A host
///   that submits late leaves a hole in the bus's time, as on a real bus:
///   the recording shows the glitch.
/// - A queue (without bus time, or when asked): IN takes what came OUT from
///   the capture start on, in order, after `delay` frames of silence; the
///   host's lateness does not show.
#[derive(Debug)]
struct Loop {
    delay: u64,
    /// Wire mode (keeps bus time) rather than queue mode.
    wire: bool,
    /// Played frames by device time: `history[i]` is frame `end - len + i`.
    history: std::collections::VecDeque<u8>,
    end: u64,
    /// Where each stream's next frame falls in device time, while it runs
    /// without a gap: (next tick, next frame time).
    out_next: Option<(u64, u64)>,
    in_next: Option<(u64, u64)>,
    /// Queue mode: frames of silence to send before the queue's.
    silence_owed: u64,
}

/// Frames of played sound a loop keeps: 10 s at 192 kHz.
const LOOP_FRAMES: u64 = 10 * 192_000;

/// The emulated device; give it to `MemUsb` (or the USB/IP server).
///
/// Transfers it cannot carry out complete with these statuses (MemUsb cannot
/// refuse a submission, which is where usbfs would refuse most of them):
/// - an isochronous transfer to a streaming endpoint whose interface is at
///   alternate setting 0 (or while unconfigured): the URB and every packet
///   `Error(EPROTO)`, nothing moved. Such an endpoint does not exist on the
///   wire; an iso IN token to it gets no answer, which a host controller
///   reports as a protocol error (iso has no STALL handshake). Through
///   USB/IP it never gets here: the guest's usbcore refuses the URB.
/// - an endpoint the device does not have, or the wrong transfer type or
///   direction for it, or packet lengths that overrun the buffer:
///   `Error(EINVAL)`, as usbfs answers a malformed URB.
/// - the AC interrupt endpoint completes empty: f_uac2 only notifies when its
///   own side changes a control, which never happens here (the USB/IP server
///   takes an empty answer as a NAK).
pub struct Uac2Device {
    config: Uac2Config,
    layout: Uac2Layout,
    descriptors: Vec<u8>,
    state: Arc<Mutex<State>>,
}

/// The test's handle on a [`Uac2Device`]: the device clock, what it
/// captures, what it received. Clones share the device.
#[derive(Clone)]
pub struct Uac2Control {
    state: Arc<Mutex<State>>,
    /// Bytes a frame of playback and of capture.
    frames: (usize, usize),
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl Uac2Device {
    /// The device, configured (configuration 1, every interface at alt 0, as
    /// usbfs hands a device to a driver), both clocks at the first rate.
    pub fn new(opts: Uac2Options) -> (Uac2Device, Uac2Control) {
        let config = opts.config();
        let layout = config.layout();
        let descriptors = config.descriptors();
        let rate = config.playback.rates[0];
        let fu = |s: &Uac2Stream| {
            (vec![UAC2_VOLUME_MAX; usize::from(s.channels()) + 1], vec![false; usize::from(s.channels()) + 1])
        };
        let state = State {
            configuration: 1,
            playback_alt: 0,
            capture_alt: 0,
            playback_rate: rate,
            capture_rate: rate,
            playback_fu: fu(&config.playback),
            capture_fu: fu(&config.capture),
            clock_hz: None,
            capture_source: Vec::new(),
            capture_pos: 0,
            capture_phase: 0,
            received: Vec::new(),
            loopback: None,
            bus_time: None,
            stats: Uac2Stats::default(),
        };
        let state = Arc::new(Mutex::new(state));
        let frames = (config.playback.frame_bytes(), config.capture.frame_bytes());
        (Uac2Device { config, layout, descriptors, state: state.clone() }, Uac2Control { state, frames })
    }

    /// Where the interfaces, units, clocks and endpoints are.
    pub fn layout(&self) -> Uac2Layout {
        self.layout
    }

    /// The descriptor configuration (channels, rates, format, speed).
    pub fn config(&self) -> &Uac2Config {
        &self.config
    }

    /// Bus (micro)frames a second: the USB/IP server's ticks.
    fn ticks_per_second(&self) -> u64 {
        if self.high_speed() {
            8000
        } else {
            1000
        }
    }

    fn high_speed(&self) -> bool {
        self.config.speed == Speed::High
    }

    fn get_descriptor(&self, value: u16) -> Result<Vec<u8>, TransferStatus> {
        let (ty, index) = ((value >> 8) as u8, value as u8);
        match ty {
            std_req::DT_DEVICE => Ok(self.descriptors[..18].to_vec()),
            std_req::DT_CONFIGURATION if index == 0 => Ok(self.descriptors[18..].to_vec()),
            std_req::DT_STRING if index == 0 => Ok(vec![4, std_req::DT_STRING, 0x09, 0x04]),
            std_req::DT_STRING => {
                let text = uac2_string_text(index).ok_or(TransferStatus::Stall)?;
                let mut d = vec![0, std_req::DT_STRING];
                d.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
                d[0] = d.len().min(255) as u8;
                Ok(d)
            }
            // A dual-speed device: the other speed's device and configuration.
            std_req::DT_DEVICE_QUALIFIER => Ok(vec![10, ty, 0x00, 0x02, 0xef, 0x02, 0x01, 64, 1, 0]),
            std_req::DT_OTHER_SPEED_CONFIGURATION if index == 0 => {
                let other = if self.high_speed() { Speed::Full } else { Speed::High };
                let mut d = Uac2Config { speed: other, ..self.config.clone() }.descriptors().split_off(18);
                d[1] = std_req::DT_OTHER_SPEED_CONFIGURATION;
                Ok(d)
            }
            _ => Err(TransferStatus::Stall),
        }
    }

    fn has_endpoint(&self, address: u8) -> bool {
        let l = &self.layout;
        address & 0x7f == 0
            || [Some(l.playback_endpoint), Some(l.feedback_endpoint), Some(l.capture_endpoint), l.interrupt_endpoint]
                .contains(&Some(address))
    }

    fn standard(&self, st: &mut State, setup: &ControlSetup) -> Result<Vec<u8>, TransferStatus> {
        use request_type::{DEVICE, ENDPOINT, INTERFACE};
        let recipient = setup.request_type & RECIPIENT_MASK;
        let dir_in = setup.request_type & request_type::DIR_IN != 0;
        // wIndex: an interface or endpoint number, by recipient.
        let target = setup.index as u8;
        let interface = target;
        let known_interface = interface <= self.layout.capture_interface;
        match (setup.request, recipient) {
            (std_req::GET_DESCRIPTOR, DEVICE) if dir_in => self.get_descriptor(setup.value),
            // Self-powered, as bmAttributes says; no remote wakeup.
            (std_req::GET_STATUS, DEVICE) if dir_in => Ok(vec![1, 0]),
            (std_req::GET_STATUS, INTERFACE) if dir_in && known_interface => Ok(vec![0, 0]),
            // Isochronous and interrupt endpoints here never halt.
            (std_req::GET_STATUS, ENDPOINT) if dir_in && self.has_endpoint(target) => Ok(vec![0, 0]),
            (std_req::CLEAR_FEATURE, ENDPOINT)
                if setup.value == std_req::ENDPOINT_HALT && self.has_endpoint(target) =>
            {
                Ok(Vec::new())
            }
            (std_req::SET_ADDRESS, DEVICE) => Ok(Vec::new()),
            (std_req::GET_CONFIGURATION, DEVICE) if dir_in => Ok(vec![st.configuration]),
            (std_req::SET_CONFIGURATION, DEVICE) if setup.value <= 1 => {
                st.configuration = setup.value as u8;
                self.select_alt(st, self.layout.playback_interface, 0)?;
                self.select_alt(st, self.layout.capture_interface, 0)?;
                Ok(Vec::new())
            }
            (std_req::GET_INTERFACE, INTERFACE) if dir_in && known_interface && st.configuration != 0 => {
                Ok(vec![if interface == self.layout.playback_interface {
                    st.playback_alt
                } else if interface == self.layout.capture_interface {
                    st.capture_alt
                } else {
                    0
                }])
            }
            (std_req::SET_INTERFACE, INTERFACE) if st.configuration != 0 => {
                self.select_alt(st, interface, setup.value as u8).map(|()| Vec::new())
            }
            _ => Err(TransferStatus::Stall),
        }
    }

    fn select_alt(&self, st: &mut State, interface: u8, alt: u8) -> Result<(), TransferStatus> {
        let l = &self.layout;
        match (interface, alt) {
            (i, 0) if i == l.ac_interface => {}
            (i, 0 | 1) if i == l.playback_interface => {
                if let Some(lp) = st.loopback.as_mut() {
                    lp.out_next = None;
                }
                st.playback_alt = alt
            }
            (i, 0 | 1) if i == l.capture_interface => {
                if alt == 1 && st.capture_alt == 0 {
                    st.capture_phase = 0;
                    if let Some(lp) = st.loopback.as_mut() {
                        lp.in_next = None;
                        if !lp.wire {
                            // Queue mode: the delay's silence, then what comes from now on.
                            lp.silence_owed = lp.delay;
                            lp.history.clear();
                        }
                    }
                }
                st.capture_alt = alt;
            }
            _ => return Err(TransferStatus::Stall),
        }
        log::debug!("uac2-emu: interface {interface} alt {alt}");
        Ok(())
    }

    fn class(&self, st: &mut State, setup: &ControlSetup, data: &[u8]) -> Result<Vec<u8>, TransferStatus> {
        use uac2_req::*;
        let l = &self.layout;
        if setup.request_type & RECIPIENT_MASK != request_type::INTERFACE || setup.index as u8 != l.ac_interface {
            return Err(TransferStatus::Stall);
        }
        let entity = (setup.index >> 8) as u8;
        let (selector, channel) = ((setup.value >> 8) as u8, setup.value as u8);
        let dir_in = setup.request_type & request_type::DIR_IN != 0;
        if entity == l.playback_clock || entity == l.capture_clock {
            let rates = &self.config.playback.rates;
            let rate = if entity == l.playback_clock { &mut st.playback_rate } else { &mut st.capture_rate };
            return match (dir_in, setup.request, selector, channel) {
                (true, CUR, CS_SAM_FREQ, 0) => Ok(rate.to_le_bytes().to_vec()),
                (true, RANGE, CS_SAM_FREQ, 0) => {
                    // Layout 3 parameter block: wNumSubRanges, then dMIN/dMAX/dRES per rate.
                    let mut d = (rates.len() as u16).to_le_bytes().to_vec();
                    for r in rates {
                        d.extend(r.to_le_bytes());
                        d.extend(r.to_le_bytes());
                        d.extend(0u32.to_le_bytes());
                    }
                    Ok(d)
                }
                (true, CUR, CS_CLOCK_VALID, 0) => Ok(vec![1]),
                (false, CUR, CS_SAM_FREQ, 0) => {
                    let new = <[u8; 4]>::try_from(data).map(u32::from_le_bytes).map_err(|_| TransferStatus::Stall)?;
                    if !rates.contains(&new) {
                        log::debug!("uac2-emu: clock {entity}: {new} Hz is not one of {rates:?}");
                        return Err(TransferStatus::Stall);
                    }
                    *rate = new;
                    log::debug!("uac2-emu: clock {entity} at {new} Hz");
                    Ok(Vec::new())
                }
                _ => Err(TransferStatus::Stall),
            };
        }
        let unit = if Some(entity) == l.playback_feature_unit {
            &mut st.playback_fu
        } else if Some(entity) == l.capture_feature_unit {
            &mut st.capture_fu
        } else {
            return Err(TransferStatus::Stall);
        };
        match (dir_in, setup.request, selector, channel) {
            (true, CUR, FU_MUTE, 0) => Ok(vec![u8::from(unit.1[0])]),
            (false, CUR, FU_MUTE, 0) if data.len() == 1 => {
                unit.1[0] = data[0] != 0;
                Ok(Vec::new())
            }
            (true, CUR, FU_VOLUME, 0) => Ok(unit.0[0].to_le_bytes().to_vec()),
            (false, CUR, FU_VOLUME, 0) => {
                let v = <[u8; 2]>::try_from(data).map(i16::from_le_bytes).map_err(|_| TransferStatus::Stall)?;
                // u_audio_set_volume() clamps to the range.
                unit.0[0] = v.clamp(UAC2_VOLUME_MIN, UAC2_VOLUME_MAX);
                Ok(Vec::new())
            }
            (true, RANGE, FU_VOLUME, 0) => Ok([1, UAC2_VOLUME_MIN, UAC2_VOLUME_MAX, UAC2_VOLUME_RES]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect()),
            _ => Err(TransferStatus::Stall),
        }
    }

    /// The device clock's rate for a stream at `nominal` Hz.
    fn clock_hz(st: &State, nominal: u32) -> f64 {
        st.clock_hz.unwrap_or(f64::from(nominal))
    }

    fn playback_out(&self, st: &mut State, t: &Transfer) -> (TransferStatus, Vec<IsoPacketResult>, usize) {
        let max = usize::from(self.layout.playback_max_packet);
        let frame = self.config.playback.frame_bytes();
        let mut offset = 0;
        let mut results = Vec::with_capacity(t.iso_packets.len());
        for &len in &t.iso_packets {
            let len = len as usize;
            let take = len.min(max);
            st.received.extend_from_slice(&t.buffer[offset..offset + take]);
            let tick = st.bus_time.map(|(start, interval)| (start + results.len() as u64 * interval, interval));
            let rate = st.playback_rate;
            if let Some(lp) = st.loopback.as_mut() {
                lp.play(&t.buffer[offset..offset + take - take % frame], frame, tick, self.ticks_per_second(), rate);
            }
            st.stats.out_packets += 1;
            st.stats.out_frames += (take / frame) as u64;
            let status = if len > max {
                log::debug!("uac2-emu: OUT packet of {len} bytes, wMaxPacketSize {max}");
                TransferStatus::Error(libc::EMSGSIZE)
            } else {
                TransferStatus::Completed
            };
            if len > max || len % frame != 0 {
                st.stats.bad_out_packets += 1;
            }
            results.push(IsoPacketResult { length: len as u32, actual_length: take as u32, status });
            offset += len;
        }
        let moved = results.iter().map(|r| r.actual_length as usize).sum();
        (TransferStatus::Completed, results, moved)
    }

    fn feedback_in(&self, st: &mut State, t: &mut Transfer) -> (TransferStatus, Vec<IsoPacketResult>, usize) {
        let value = feedback_value(Self::clock_hz(st, st.playback_rate), self.high_speed());
        let size = usize::from(self.layout.feedback_max_packet);
        let mut offset = 0;
        let mut results = Vec::with_capacity(t.iso_packets.len());
        for &len in &t.iso_packets {
            let len = len as usize;
            let n = len.min(size);
            t.buffer[offset..offset + n].copy_from_slice(&value.to_le_bytes()[..n]);
            st.stats.feedback_packets += 1;
            // A buffer shorter than the device's packet: babble.
            let status = if len < size { TransferStatus::Overflow } else { TransferStatus::Completed };
            results.push(IsoPacketResult { length: len as u32, actual_length: n as u32, status });
            offset += len;
        }
        let moved = results.iter().map(|r| r.actual_length as usize).sum();
        (TransferStatus::Completed, results, moved)
    }

    fn capture_in(&self, st: &mut State, t: &mut Transfer) -> (TransferStatus, Vec<IsoPacketResult>, usize) {
        let frame = self.config.capture.frame_bytes();
        let max_frames = u64::from(self.layout.capture_max_packet) / frame as u64;
        // Packets per second: one per 2^(bInterval-1) microframes at HS, one per frame at FS.
        let pps: u64 = if self.high_speed() { 8000 >> (self.layout.capture_interval - 1) } else { 1000 };
        let hz_q16 = (Self::clock_hz(st, st.capture_rate) * 65536.0).round().max(0.0) as u64;
        let mut offset = 0;
        let mut results = Vec::with_capacity(t.iso_packets.len());
        for &len in &t.iso_packets {
            let len = len as usize;
            st.capture_phase += hz_q16;
            let owed = st.capture_phase / (pps << 16);
            st.capture_phase %= pps << 16;
            let frames = owed.min(max_frames) as usize;
            let fit = frames.min(len / frame);
            let bytes = fit * frame;
            let dst = &mut t.buffer[offset..offset + bytes];
            let tick = st.bus_time.map(|(start, interval)| (start + results.len() as u64 * interval, interval));
            let rate = st.capture_rate;
            if let Some(lp) = st.loopback.as_mut() {
                st.stats.loopback_underruns += lp.record(dst, frame, tick, self.ticks_per_second(), rate);
            } else {
                // The capture source in order, silence once it runs out.
                let start = st.capture_pos.min(st.capture_source.len());
                let end = (st.capture_pos + bytes).min(st.capture_source.len());
                dst[..end - start].copy_from_slice(&st.capture_source[start..end]);
                dst[end - start..].fill(0);
            }
            // Frames the device sent that the buffer could not hold are gone.
            st.capture_pos += frames * frame;
            st.stats.capture_packets += 1;
            st.stats.capture_frames += fit as u64;
            let status = if fit < frames { TransferStatus::Overflow } else { TransferStatus::Completed };
            results.push(IsoPacketResult { length: len as u32, actual_length: bytes as u32, status });
            offset += len;
        }
        let moved = results.iter().map(|r| r.actual_length as usize).sum();
        (TransferStatus::Completed, results, moved)
    }
}

impl Loop {
    fn new(delay: u64, wire: bool) -> Loop {
        Loop {
            delay,
            wire,
            history: std::collections::VecDeque::new(),
            end: 0,
            out_next: None,
            in_next: None,
            silence_owed: 0,
        }
    }

    /// Device time of a packet's first frame: its stream's next frame time
    /// if the packet follows the last one, else the bus time of its tick.
    fn place(next: &mut Option<(u64, u64)>, tick: u64, interval: u64, per_second: u64, rate: u32, frames: u64) -> u64 {
        let at = match *next {
            Some((t, f)) if t == tick => f,
            _ => tick * u64::from(rate) / per_second,
        };
        *next = Some((tick + interval, at + frames));
        at
    }

    /// OUT frames of one packet (whole frames of `frame` bytes).
    fn play(&mut self, data: &[u8], frame: usize, tick: Option<(u64, u64)>, per_second: u64, rate: u32) {
        let frames = (data.len() / frame.max(1)) as u64;
        let Some((tick, interval)) = tick.filter(|_| self.wire) else {
            self.history.extend(data);
            let over = self.history.len().saturating_sub(LOOP_FRAMES as usize * frame);
            self.history.drain(..over);
            return;
        };
        let at = Self::place(&mut self.out_next, tick, interval, per_second, rate, frames);
        if at > self.end {
            // Nothing was played in between: silence on the wire.
            let gap = (at - self.end).min(LOOP_FRAMES) as usize;
            self.history.extend(std::iter::repeat_n(0, gap * frame));
        } else if at < self.end {
            // Played again over a stretch already kept (a restart): the newer wins.
            let back = ((self.end - at) as usize * frame).min(self.history.len());
            self.history.truncate(self.history.len() - back);
        }
        self.history.extend(data);
        self.end = at + frames;
        let kept = (self.history.len() / frame) as u64;
        if kept > LOOP_FRAMES {
            self.history.drain(..(kept - LOOP_FRAMES) as usize * frame);
        }
    }

    /// Fill one IN packet; returns the frames that found nothing played
    /// (silence sent) in queue mode, or not yet played with bus time.
    fn record(&mut self, dst: &mut [u8], frame: usize, tick: Option<(u64, u64)>, per_second: u64, rate: u32) -> u64 {
        let frames = (dst.len() / frame.max(1)) as u64;
        let Some((tick, interval)) = tick.filter(|_| self.wire) else {
            let quiet = self.silence_owed.min(frames);
            self.silence_owed -= quiet;
            let (silence, rest) = dst.split_at_mut(quiet as usize * frame);
            silence.fill(0);
            let have = self.history.len().min(rest.len());
            for (d, s) in rest.iter_mut().zip(self.history.drain(..have)) {
                *d = s;
            }
            rest[have..].fill(0);
            return ((rest.len() - have) / frame.max(1)) as u64;
        };
        let at = Self::place(&mut self.in_next, tick, interval, per_second, rate, frames);
        let start = self.end.saturating_sub((self.history.len() / frame) as u64);
        let mut missing = 0;
        for i in 0..frames {
            let want = (at + i).checked_sub(self.delay);
            let d = &mut dst[i as usize * frame..(i as usize + 1) * frame];
            match want {
                Some(w) if w >= start && w < self.end => {
                    let from = (w - start) as usize * frame;
                    for (k, b) in d.iter_mut().enumerate() {
                        *b = self.history[from + k];
                    }
                }
                Some(w) if w >= self.end && self.out_next.is_some() => {
                    missing += 1;
                    d.fill(0);
                }
                _ => d.fill(0),
            }
        }
        missing
    }
}

/// The feedback endpoint's value for a device clock of `hz`: 16.16 frames
/// per microframe in 4 bytes at high speed, 10.14 frames per frame in 3
/// bytes at full speed (USB 2.0 §5.12.4.2; snd_usb_handle_sync_urb()).
pub fn feedback_value(hz: f64, high_speed: bool) -> u32 {
    if high_speed {
        (hz * 65536.0 / 8000.0).round() as u32
    } else {
        ((hz * 16384.0 / 1000.0).round() as u32) & 0x00ff_ffff
    }
}

fn failed(t: &Transfer, status: TransferStatus) -> (TransferStatus, Vec<IsoPacketResult>, usize) {
    let packets = t.iso_packets.iter().map(|&length| IsoPacketResult { length, actual_length: 0, status }).collect();
    (status, packets, 0)
}

impl UsbFunction for Uac2Device {
    fn descriptors(&self) -> Vec<u8> {
        self.descriptors.clone()
    }

    fn speed(&self) -> Speed {
        self.config.speed
    }

    fn control(&mut self, setup: &ControlSetup, data_out: &[u8]) -> Result<Vec<u8>, TransferStatus> {
        let mut st = lock(&self.state);
        let answer = match setup.request_type & TYPE_MASK {
            request_type::STANDARD => self.standard(&mut st, setup),
            request_type::CLASS => self.class(&mut st, setup, data_out),
            _ => Err(TransferStatus::Stall),
        };
        match answer {
            Ok(mut data) => {
                data.truncate(usize::from(setup.length));
                Ok(data)
            }
            Err(status) => {
                log::debug!(
                    "uac2-emu: STALL {:#04x}/{:#04x} value {:#06x} index {:#06x}",
                    setup.request_type,
                    setup.request,
                    setup.value,
                    setup.index
                );
                Err(status)
            }
        }
    }

    fn set_alt_setting(&mut self, interface: u8, alt: u8) -> Result<(), TransferStatus> {
        let mut st = lock(&self.state);
        if st.configuration == 0 {
            return Err(TransferStatus::Stall);
        }
        self.select_alt(&mut st, interface, alt)
    }

    fn bus_time(&mut self, start_tick: u64, interval: u64) {
        lock(&self.state).bus_time = Some((start_tick, interval.max(1)));
    }

    fn transfer(&mut self, t: &mut Transfer) -> (TransferStatus, Vec<IsoPacketResult>, usize) {
        let mut st = lock(&self.state);
        let l = self.layout;
        let ep = t.endpoint;
        if Some(ep) == l.interrupt_endpoint && t.kind == TransferKind::Interrupt && st.configuration != 0 {
            return (TransferStatus::Completed, Vec::new(), 0);
        }
        let active = if ep == l.playback_endpoint || ep == l.feedback_endpoint {
            st.playback_alt == 1
        } else if ep == l.capture_endpoint {
            st.capture_alt == 1
        } else {
            log::debug!("uac2-emu: no endpoint {ep:#04x} of type {:?}", t.kind);
            return failed(t, TransferStatus::Error(libc::EINVAL));
        };
        let total: u64 = t.iso_packets.iter().map(|&l| u64::from(l)).sum();
        if t.kind != TransferKind::Isochronous || total > t.buffer.len() as u64 {
            log::debug!("uac2-emu: malformed {:?} transfer on endpoint {ep:#04x}", t.kind);
            return failed(t, TransferStatus::Error(libc::EINVAL));
        }
        if !active || st.configuration == 0 {
            log::debug!("uac2-emu: endpoint {ep:#04x} is not in the active alternate setting");
            return failed(t, TransferStatus::Error(libc::EPROTO));
        }
        if ep == l.playback_endpoint {
            self.playback_out(&mut st, t)
        } else if ep == l.feedback_endpoint {
            self.feedback_in(&mut st, t)
        } else {
            self.capture_in(&mut st, t)
        }
    }
}

impl Uac2Control {
    /// The device's real clock, in Hz: the feedback endpoint reports it and
    /// the capture stream produces this many frames per second. It applies
    /// to both streams as given (set it to the rate of the stream a test
    /// looks at); a value that is not finite and positive goes back to each
    /// clock's nominal SAM_FREQ, which is the default.
    pub fn set_feedback_hz(&self, hz: f64) {
        let mut st = lock(&self.state);
        st.clock_hz = if hz.is_finite() && hz > 0.0 {
            Some(hz)
        } else {
            log::debug!("uac2-emu: clock back to nominal");
            None
        };
    }

    /// Interleaved frames in the capture alt's format; capture takes them in
    /// order, then silence.
    pub fn set_capture_source(&self, bytes: Vec<u8>) {
        let mut st = lock(&self.state);
        st.capture_source = bytes;
        st.capture_pos = 0;
    }

    /// Loopback mode: the capture endpoint sends back what the playback
    /// endpoint received, `prefill_frames` frames later (a cable from the
    /// device's output to its input with that much delay): on the bus's
    /// time when `wire` and the host keeps one (a late host's holes show),
    /// else as a queue from each capture start (see `Loop`). Both
    /// directions must carry the same frames (channels and subslot size);
    /// `None` turns it off.
    pub fn set_loopback(&self, prefill_frames: Option<usize>, wire: bool) -> Result<(), String> {
        let (p, c) = self.frames;
        if prefill_frames.is_some() && p != c {
            return Err(format!("loopback needs the same frame on both sides: playback {p} bytes, capture {c}"));
        }
        lock(&self.state).loopback = prefill_frames.map(|f| Loop::new(f as u64, wire));
        Ok(())
    }

    /// OUT payload received since the last call, in order.
    pub fn take_received(&self) -> Vec<u8> {
        std::mem::take(&mut lock(&self.state).received)
    }

    pub fn stats(&self) -> Uac2Stats {
        let st = lock(&self.state);
        Uac2Stats {
            rate: st.playback_rate,
            capture_rate: st.capture_rate,
            playback_alt: st.playback_alt,
            capture_alt: st.capture_alt,
            volume_db256: st.playback_fu.0.clone(),
            mute: st.playback_fu.1.clone(),
            capture_volume_db256: st.capture_fu.0.clone(),
            capture_mute: st.capture_fu.1.clone(),
            ..st.stats.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_codes_are_the_specs() {
        use std_req::*;
        assert_eq!(
            [GET_STATUS, CLEAR_FEATURE, SET_ADDRESS, GET_DESCRIPTOR, GET_CONFIGURATION, SET_CONFIGURATION],
            [0, 1, 5, 6, 8, 9]
        );
        assert_eq!([GET_INTERFACE, SET_INTERFACE, DT_DEVICE_QUALIFIER, DT_OTHER_SPEED_CONFIGURATION], [10, 11, 6, 7]);
        use uac2_req::*;
        // UAC2 Table A-14 (CUR 0x01, RANGE 0x02), A-17 (SAM_FREQ 1, CLOCK_VALID 2), A-23 (MUTE 1, VOLUME 2).
        assert_eq!([CUR, RANGE, CS_SAM_FREQ, CS_CLOCK_VALID, FU_MUTE, FU_VOLUME], [1, 2, 1, 2, 1, 2]);
    }

    #[test]
    fn feedback_values_in_both_formats() {
        assert_eq!(feedback_value(48000.0, true), 6 << 16);
        assert_eq!(feedback_value(44100.0, true), 0x0005_8333);
        assert_eq!(feedback_value(48000.0, false), 48 << 14);
        assert_eq!(feedback_value(44100.0, false), 0x000b_0666);
    }

    #[test]
    fn bad_options_are_made_valid() {
        let o = Uac2Options {
            speed: Speed::Super,
            rates: vec![0; 3],
            playback_channels: 0,
            capture_channels: 40,
            subslot_bytes: 9,
            bit_resolution: 32,
            hs_interval: 7,
        }
        .sanitized();
        assert_eq!(
            (o.speed, o.rates.clone(), o.playback_channels, o.capture_channels),
            (Speed::High, vec![48000], 1, 27)
        );
        assert_eq!((o.subslot_bytes, o.bit_resolution, o.hs_interval), (2, 16, 0));
        let (dev, _) = Uac2Device::new(o);
        assert_eq!(dev.config().capture.channels(), 27);
    }

    #[test]
    fn a_loop_with_bus_time_delays_by_device_time_whenever_each_side_started() {
        // 2-byte frames, 6 a microframe (48 kHz at high speed).
        let mut lp = Loop::new(100, true);
        let frame = |t: u64| ((t % 60_000) as u16).to_le_bytes();
        // Playback runs from tick 1000; capture starts later, at tick 1030.
        for tick in 1000..1200u64 {
            let data: Vec<u8> = (0..6).flat_map(|k| frame(tick * 6 + k)).collect();
            lp.play(&data, 2, Some((tick, 1)), 8000, 48_000);
            if tick >= 1030 {
                let mut got = vec![0u8; 12];
                let missing = lp.record(&mut got, 2, Some((tick, 1)), 8000, 48_000);
                assert_eq!(missing, 0);
                for k in 0..6 {
                    let t = tick * 6 + k;
                    let want = if t - 100 >= 6000 { frame(t - 100) } else { [0, 0] };
                    assert_eq!(&got[k as usize * 2..k as usize * 2 + 2], &want, "frame time {t}");
                }
            }
        }
        // The OUT side stopped: the wire is silent after what it played.
        let mut got = vec![0u8; 12];
        lp.out_next = None;
        assert_eq!(lp.record(&mut got, 2, Some((1300, 1)), 8000, 48_000), 0);
        assert_eq!(got, vec![0; 12]);
    }

    #[test]
    fn a_loop_without_bus_time_is_a_queue_after_its_delay() {
        let mut lp = Loop::new(2, false);
        lp.silence_owed = 2; // as a capture start leaves it
        lp.play(&[1, 2, 3, 4], 2, None, 8000, 48_000);
        let mut got = vec![9u8; 10];
        assert_eq!(lp.record(&mut got, 2, None, 8000, 48_000), 1, "one frame found nothing");
        assert_eq!(got, vec![0, 0, 0, 0, 1, 2, 3, 4, 0, 0]);
    }
}
