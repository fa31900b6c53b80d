//! USB Audio Class: what a device decides (its descriptor blob, its
//! answers to control requests, its feedback packets) and the quirk
//! override strings of the config file.

use std::sync::Arc;

use outboard_hal::pcm::PcmConfig;
use outboard_hal::usb::mem::{MemUsb, UsbFunction};
use outboard_hal::usb::{ControlSetup, IsoPacketResult, Speed, Transfer, TransferStatus};
use outboard_uac::controls::{channels_with, rates_from_range};
use outboard_uac::device::rates_text;
use outboard_uac::model::{feature, AltSetting, DeviceModel, EntityKind, Rates};
use outboard_uac::packets::{units_per_second, FeedbackDecoder, PacketSizer};
use outboard_uac::parse::parse_device;
use outboard_uac::report::describe_model;
use outboard_uac::stream::UrbPlan;
use outboard_uac::{controls, quirks, UacDevice};

use crate::{lock, Input, Shared};

/// A USB function whose descriptors and control answers come from the
/// input. Each control request takes one byte: below 0xf0 it is the length
/// of the answer (then that many bytes); 0xf0 and up stall it.
struct Function {
    descriptors: Vec<u8>,
    speed: Speed,
    answers: Shared<Vec<u8>>,
}

impl UsbFunction for Function {
    fn descriptors(&self) -> Vec<u8> {
        self.descriptors.clone()
    }
    fn speed(&self) -> Speed {
        self.speed
    }
    fn control(&mut self, _setup: &ControlSetup, _out: &[u8]) -> Result<Vec<u8>, TransferStatus> {
        let mut answers = lock(&self.answers);
        let Some((&len, rest)) = answers.split_first() else { return Err(TransferStatus::Stall) };
        if len >= 0xf0 {
            *answers = rest.to_vec();
            return Err(TransferStatus::Stall);
        }
        let n = usize::from(len).min(rest.len());
        let answer = rest[..n].to_vec();
        *answers = rest[n..].to_vec();
        Ok(answer)
    }
    fn set_alt_setting(&mut self, _interface: u8, _alt: u8) -> Result<(), TransferStatus> {
        Ok(())
    }
    fn transfer(&mut self, _transfer: &mut Transfer) -> (TransferStatus, Vec<IsoPacketResult>, usize) {
        (TransferStatus::Stall, Vec::new(), 0)
    }
}

/// A device opened and asked what the daemon asks, through the control
/// requests themselves. Input: a speed byte, a 16-bit descriptor length, the descriptors, then
/// the control answers. The device is opened as the daemon opens one (the
/// model parsed, quirks looked up, UAC2 clocks asked their rates); then
/// every clock, feature unit and selector is asked what the mixer asks.
pub fn uac_controls(data: &[u8]) {
    let mut input = Input::new(data);
    let speed = match input.u8() % 3 {
        0 => Speed::Full,
        1 => Speed::High,
        _ => Speed::Super,
    };
    let len = usize::from(input.u16());
    let descriptors = input.bytes(len).to_vec();
    let answers: Shared<Vec<u8>> = Arc::new(std::sync::Mutex::new(input.rest().to_vec()));
    let function = Function { descriptors, speed, answers };
    queries(Arc::new(MemUsb::new("fuzz", Box::new(function))));
}

/// What the daemon asks a UAC device: open (the model, quirks, UAC2 clock
/// rates), then every clock, feature unit and selector what the mixer asks.
pub(crate) fn queries(usb: Arc<MemUsb>) {
    let Ok(device) = UacDevice::open(usb.clone(), &[]) else { return };
    let model = device.model();
    for entity in &model.entities {
        match &entity.kind {
            EntityKind::ClockSource { .. } => {
                let _ = controls::clock_rates(usb.as_ref(), model, entity.id);
                let _ = controls::clock_valid(usb.as_ref(), model, entity.id);
                let _ = controls::clock_rate(usb.as_ref(), model, entity.id);
            }
            EntityKind::FeatureUnit { .. } => {
                for channel in controls::channels_with(model, entity.id, feature::VOLUME) {
                    if let Ok(range) = controls::volume_range(usb.as_ref(), model, entity.id, channel) {
                        let _ = range.raw_for_db(-6.0);
                    }
                    let _ = controls::volume(usb.as_ref(), model, entity.id, channel);
                }
                for channel in controls::channels_with(model, entity.id, feature::MUTE) {
                    let _ = controls::mute(usb.as_ref(), model, entity.id, channel);
                }
            }
            EntityKind::SelectorUnit { .. } => {
                let _ = controls::selector_input(usb.as_ref(), model, entity.id);
            }
            _ => {}
        }
    }
}

/// A quirk override string (`usb_quirks` in the config file).
pub fn uac_quirks(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(overrides) = quirks::parse_overrides(&text) {
        for o in &overrides {
            let _ = quirks::lookup(o.id, &overrides);
        }
    }
}

/// A device's whole descriptor blob (what usbfs hands back: the device
/// descriptor, then each configuration's wTotalLength bytes) through
/// `parse_device`, at full and at high speed. On a model it accepts, what
/// the driver does next with it without I/O (the report text, the terminal
/// graph and clock walks, packet sizing at every rate an alt setting names),
/// checked for the promises the driver relies on: no alt setting with zero
/// channels, an empty endpoint or (at high speed) a bInterval outside
/// 1..=16, and terminal paths that start at their terminal, never repeat an
/// entity and stay short.
pub fn uac_descriptors(data: &[u8]) {
    for speed in [Speed::Full, Speed::High] {
        if let Ok(model) = parse_device(data, speed, "fuzz") {
            check_model(&model, speed);
        }
    }
}

fn check_model(model: &DeviceModel, speed: Speed) {
    assert!(!describe_model(model).is_empty());
    for e in &model.entities {
        let _ = e.kind_name();
        let _ = model.clock_source_of(e.id);
        let path = model.path_from(e.id);
        assert_eq!(path.first(), Some(&e.id), "a path starts at its terminal");
        assert!(path.len() <= 32, "path of {} entities", path.len());
        for (i, id) in path.iter().enumerate() {
            assert!(!path[..i].contains(id), "path {path:?} repeats entity {id}");
        }
        let _ = model.feature_units_on_path(e.id);
        for control in 0..16 {
            let _ = channels_with(model, e.id, control);
        }
    }
    for stream in &model.streams {
        for alt in &stream.alts {
            assert_eq!(alt.direction(), stream.direction, "interface {} alt {}", alt.interface, alt.alt);
            check_alt(alt, speed);
        }
    }
}

fn check_alt(alt: &AltSetting, speed: Speed) {
    assert!(alt.channels > 0 && alt.endpoint.max_bytes > 0, "alt {alt:?}");
    assert!(alt.frame_bytes() > 0, "alt {alt:?}");
    if speed == Speed::High {
        assert!((1..=16).contains(&alt.endpoint.interval), "alt {alt:?}");
    }
    let _ = rates_text(&alt.rates);
    let rates: Vec<u32> = match &alt.rates {
        Rates::Discrete(v) => v.iter().copied().take(8).collect(),
        Rates::Continuous { min, max } => vec![*min, *max],
        Rates::FromClock => vec![48_000],
    };
    for rate in rates.into_iter().filter(|r| *r != 0) {
        assert!(alt.rates == Rates::FromClock || alt.rates.contains(rate));
        // As the stream sizes its packets: frames per packet bounded by the endpoint.
        let max_frames = u32::try_from(alt.endpoint.max_bytes as usize / alt.frame_bytes()).unwrap_or(u32::MAX);
        let mut sizer = PacketSizer::new(rate, speed, alt.endpoint.interval, max_frames);
        for _ in 0..16 {
            assert!(sizer.next_frames() <= max_frames);
        }
        let config = PcmConfig {
            format: alt.format,
            rate,
            channels: alt.channels,
            period_frames: (rate / 100).max(1) as usize,
            periods: 2,
        };
        let plan = UrbPlan::for_period(&config, sizer.packets_per_second(), alt.direction());
        assert!(plan.packets_per_urb >= 1);
    }
}

/// Frames a packet may hold in this target's sizer (an endpoint's wMaxPacketSize / frame size).
const MAX_FRAMES: u32 = 1024;

/// The bytes a UAC2 device answers while streaming is set up and running:
/// a clock source's SAM_FREQ RANGE answer through `rates_from_range`, then
/// feedback endpoint packets through `FeedbackDecoder::decode`, each
/// accepted value followed by a `PacketSizer` as the stream does. Input:
///
/// ```text
/// [0]        bit 0: high speed (else full speed)
/// [1..5]     the stream's nominal rate in Hz, u32 LE
/// [5..7]     L, the RANGE answer's length, u16 LE (clipped to what is left)
/// [7..7+L]   the RANGE answer as the device sends it
/// rest       feedback packets: a length byte (taken mod 8), then that many bytes
/// ```
pub fn uac_answers(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return };
    let speed = if flags & 1 != 0 { Speed::High } else { Speed::Full };
    let Some((rate, rest)) = take_u32(rest) else { return };
    let Some((len, rest)) = take_u16(rest) else { return };
    let (range, mut packets) = rest.split_at(usize::from(len).min(rest.len()));

    range_answer(range);

    let mut decoder = FeedbackDecoder::new(rate, speed);
    let mut sizer = PacketSizer::new(rate, speed, 1, MAX_FRAMES);
    let units = f64::from(units_per_second(speed));
    while let Some((&n, tail)) = packets.split_first() {
        let (packet, tail) = tail.split_at(usize::from(n % 8).min(tail.len()));
        packets = tail;
        let value = decoder.decode(packet);
        if let Some(f) = value {
            // Accepted values are within -1/8..+1/2 of the nominal rate.
            let hz = f as f64 / 65536.0 * units;
            let rate = f64::from(rate);
            assert!(hz >= rate * 0.875 - 1.0 && hz <= rate * 1.5 + 1.0, "{packet:02x?} -> {hz} Hz at {rate} Hz");
        }
        sizer.set_feedback(value);
        for _ in 0..4 {
            assert!(sizer.next_frames() <= MAX_FRAMES);
        }
        assert!(sizer.current_rate().is_finite());
    }
}

/// A RANGE answer as `controls::clock_rates` reads it, with the count the
/// device claims (unchecked here) and with no count limit at all.
fn range_answer(answer: &[u8]) {
    let Some((count, triples)) = take_u16(answer) else { return };
    for count in [usize::from(count), usize::MAX] {
        let rates = rates_from_range(triples, count);
        let ranges: Vec<(u32, u32)> = triples.chunks_exact(12).take(count).map(|t| (word(t, 0), word(t, 4))).collect();
        match rates {
            Rates::Discrete(v) => {
                assert!(v.windows(2).all(|w| w[0] < w[1]), "not sorted or repeated: {v:?}");
                for r in v {
                    assert!(ranges.iter().any(|(min, max)| (*min..=*max).contains(&r)), "{r} Hz in none of {ranges:?}");
                }
            }
            Rates::Continuous { min, max } => {
                assert!(min < max);
                assert!(ranges.iter().any(|(lo, _)| *lo == min) && ranges.iter().any(|(_, hi)| *hi == max));
            }
            Rates::FromClock => panic!("a RANGE answer gave FromClock"),
        }
    }
}

fn word(t: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([t[at], t[at + 1], t[at + 2], t[at + 3]])
}

fn take_u16(b: &[u8]) -> Option<(u16, &[u8])> {
    let (head, rest) = b.split_first_chunk::<2>()?;
    Some((u16::from_le_bytes(*head), rest))
}

fn take_u32(b: &[u8]) -> Option<(u32, &[u8])> {
    let (head, rest) = b.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*head), rest))
}
