//! The emulated UAC2 device, driven through MemUsb and the UsbDevice trait as
//! a driver would: control requests, alternate settings, iso transfers.

use std::time::Duration;

use outboard_emu::usb::descriptors::Uac2Layout;
use outboard_emu::usb::uac2::{Uac2Control, Uac2Device, Uac2Options};
use outboard_hal::usb::mem::MemUsb;
use outboard_hal::usb::request_type::{CLASS, DEVICE, DIR_IN, DIR_OUT, ENDPOINT, INTERFACE, STANDARD, VENDOR};
use outboard_hal::usb::{Completion, ControlSetup, Speed, Transfer, TransferStatus, UsbDevice};
use outboard_hal::Error;

const T: Duration = Duration::from_secs(1);
/// UAC2 requests and selectors.
const CUR: u8 = 1;
const RANGE: u8 = 2;
const SAM_FREQ: u8 = 1;
const CLOCK_VALID: u8 = 2;
const MUTE: u8 = 1;
const VOLUME: u8 = 2;

fn device(opts: Uac2Options) -> (MemUsb, Uac2Control, Uac2Layout) {
    let (dev, ctl) = Uac2Device::new(opts);
    let layout = dev.layout();
    (MemUsb::new("uac2-emu", Box::new(dev)), ctl, layout)
}

fn class_setup(dir: u8, request: u8, entity: u8, selector: u8, channel: u8) -> ControlSetup {
    ControlSetup {
        request_type: dir | CLASS | INTERFACE,
        request,
        value: u16::from(selector) << 8 | u16::from(channel),
        index: u16::from(entity) << 8,
        length: 0,
    }
}

fn get(d: &MemUsb, request: u8, entity: u8, selector: u8, channel: u8, len: usize) -> Result<Vec<u8>, Error> {
    let mut buf = vec![0u8; len];
    let n = d.control_in(class_setup(DIR_IN, request, entity, selector, channel), &mut buf, T)?;
    buf.truncate(n);
    Ok(buf)
}

fn set(d: &MemUsb, entity: u8, selector: u8, channel: u8, data: &[u8]) -> Result<(), Error> {
    d.control_out(class_setup(DIR_OUT, CUR, entity, selector, channel), data, T)
}

fn rate(d: &MemUsb, clock: u8) -> u32 {
    u32::from_le_bytes(get(d, CUR, clock, SAM_FREQ, 0, 4).unwrap().try_into().unwrap())
}

fn stalled(r: Result<impl std::fmt::Debug, Error>) -> bool {
    matches!(r, Err(Error::Stall { .. }))
}

/// One iso transfer, submitted and reaped.
fn iso(d: &MemUsb, endpoint: u8, buffer: Vec<u8>, packets: Vec<u32>) -> Completion {
    d.submit(Transfer::isochronous(endpoint, buffer, packets, 7)).unwrap();
    let c = d.reap(T).unwrap().expect("a completion");
    assert_eq!(c.transfer.user_data, 7);
    c
}

/// The bytes of each IN packet, laid end to end.
fn packet_payloads(c: &Completion) -> Vec<Vec<u8>> {
    let mut offset = 0;
    let mut out = Vec::new();
    for (p, r) in c.transfer.iso_packets.iter().zip(&c.iso_packets) {
        out.push(c.transfer.buffer[offset..offset + r.actual_length as usize].to_vec());
        offset += *p as usize;
    }
    out
}

#[test]
fn rates_are_selected_and_a_rate_not_offered_stalls() {
    let (d, ctl, l) = device(Uac2Options::default());
    assert_eq!((rate(&d, l.playback_clock), rate(&d, l.capture_clock)), (48000, 48000));
    set(&d, l.playback_clock, SAM_FREQ, 0, &44100u32.to_le_bytes()).unwrap();
    assert_eq!(rate(&d, l.playback_clock), 44100);
    assert!(stalled(set(&d, l.playback_clock, SAM_FREQ, 0, &22050u32.to_le_bytes())));
    assert!(stalled(set(&d, l.playback_clock, SAM_FREQ, 0, &[0x44, 0xac, 0x00])), "3 bytes is not a rate");
    assert_eq!(rate(&d, l.playback_clock), 44100, "a refused rate changes nothing");
    set(&d, l.capture_clock, SAM_FREQ, 0, &96000u32.to_le_bytes()).unwrap();
    let s = ctl.stats();
    assert_eq!((s.rate, s.capture_rate), (44100, 96000));
    assert_eq!(get(&d, CUR, l.capture_clock, CLOCK_VALID, 0, 1).unwrap(), vec![1]);
    assert!(stalled(get(&d, CUR, l.playback_clock, SAM_FREQ, 1, 4)), "clock controls have no channels");
    assert!(stalled(set(&d, l.playback_clock, CLOCK_VALID, 0, &[0])), "validity is read-only");
}

#[test]
fn range_is_the_layout_3_block_of_every_rate() {
    let (d, _, l) = device(Uac2Options { rates: vec![44100, 48000, 88200, 96000], ..Default::default() });
    // A host first reads wNumSubRanges alone, then the whole block.
    assert_eq!(get(&d, RANGE, l.playback_clock, SAM_FREQ, 0, 2).unwrap(), vec![4, 0]);
    let block = get(&d, RANGE, l.capture_clock, SAM_FREQ, 0, 256).unwrap();
    assert_eq!(block.len(), 2 + 4 * 12);
    let u32_at = |at: usize| u32::from_le_bytes(block[at..at + 4].try_into().unwrap());
    let triplets: Vec<(u32, u32, u32)> =
        (0..4).map(|i| (u32_at(2 + 12 * i), u32_at(6 + 12 * i), u32_at(10 + 12 * i))).collect();
    assert_eq!(triplets, vec![(44100, 44100, 0), (48000, 48000, 0), (88200, 88200, 0), (96000, 96000, 0)]);
}

#[test]
fn feature_units_take_mute_and_volume_in_256ths_of_a_db() {
    let (d, ctl, l) = device(Uac2Options::default());
    let (out_fu, in_fu) = (l.playback_feature_unit.unwrap(), l.capture_feature_unit.unwrap());
    let range = get(&d, RANGE, out_fu, VOLUME, 0, 8).unwrap();
    let w = |i: usize| i16::from_le_bytes([range[2 * i], range[2 * i + 1]]);
    assert_eq!((w(0), w(1), w(2), w(3)), (1, -100 * 256, 0, 256), "one subrange, -100..0 dB in 1 dB steps");
    assert_eq!(get(&d, CUR, out_fu, VOLUME, 0, 2).unwrap(), 0i16.to_le_bytes(), "starts at 0 dB");
    set(&d, out_fu, VOLUME, 0, &(-2560i16).to_le_bytes()).unwrap();
    assert_eq!(get(&d, CUR, out_fu, VOLUME, 0, 2).unwrap(), (-2560i16).to_le_bytes());
    set(&d, out_fu, MUTE, 0, &[1]).unwrap();
    set(&d, in_fu, VOLUME, 0, &(6 * 256i16).to_le_bytes()).unwrap();
    let s = ctl.stats();
    assert_eq!((s.volume_db256.clone(), s.mute.clone()), (vec![-2560, 0, 0], vec![true, false, false]));
    assert_eq!((s.capture_volume_db256[0], s.capture_mute[0]), (0, false), "+6 dB is clamped to the 0 dB top");
    assert_eq!(get(&d, CUR, out_fu, MUTE, 0, 1).unwrap(), vec![1]);
    assert!(stalled(set(&d, out_fu, VOLUME, 1, &0i16.to_le_bytes())), "only the master has controls");
    assert!(stalled(get(&d, RANGE, out_fu, MUTE, 0, 8)), "mute has no range");
    assert!(stalled(set(&d, out_fu, VOLUME, 0, &[0])), "volume is two bytes");
}

#[test]
fn requests_nobody_answers_stall() {
    let (d, _, l) = device(Uac2Options::default());
    assert!(stalled(get(&d, CUR, 0x42, 1, 0, 4)), "no entity 0x42");
    let vendor = ControlSetup { request_type: DIR_IN | VENDOR | DEVICE, request: 1, value: 0, index: 0, length: 0 };
    assert!(stalled(d.control_in(vendor, &mut [0; 4], T)));
    let to_endpoint =
        ControlSetup { request_type: DIR_IN | CLASS | ENDPOINT, request: CUR, value: 0x0100, index: 1, length: 0 };
    assert!(stalled(d.control_in(to_endpoint, &mut [0; 4], T)));
    let mut on_as = class_setup(DIR_IN, CUR, l.playback_clock, SAM_FREQ, 0);
    on_as.index |= u16::from(l.playback_interface);
    assert!(stalled(d.control_in(on_as, &mut [0; 4], T)), "clock requests go to the AC interface");
    assert!(d.set_alt_setting(1, 2).is_err());
    assert!(d.set_alt_setting(0, 1).is_err());
    assert!(d.set_alt_setting(3, 0).is_err());
}

#[test]
fn standard_requests_a_usbip_server_forwards() {
    let (dev, ctl) = Uac2Device::new(Uac2Options::default());
    let all = outboard_hal::usb::mem::UsbFunction::descriptors(&dev);
    let d = MemUsb::new("uac2-emu", Box::new(dev));
    let std_in = |request: u8, value: u16, index: u16, len: usize| {
        let mut buf = vec![0; len];
        let setup = ControlSetup { request_type: DIR_IN | STANDARD | DEVICE, request, value, index, length: 0 };
        d.control_in(setup, &mut buf, T).map(|n| buf[..n].to_vec())
    };
    assert_eq!(std_in(6, 0x0100, 0, 64).unwrap(), all[..18].to_vec());
    let head = std_in(6, 0x0200, 0, 9).unwrap();
    assert_eq!(usize::from(u16::from_le_bytes([head[2], head[3]])), all.len() - 18, "wLength 9 gets the head");
    assert_eq!(std_in(6, 0x0200, 0, 4096).unwrap(), all[18..].to_vec());
    assert_eq!(std_in(6, 0x0300, 0, 255).unwrap(), vec![4, 3, 0x09, 0x04]);
    let product = std_in(6, 0x0302, 0x0409, 255).unwrap();
    let text: Vec<u16> = product[2..].chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    assert_eq!(
        (product[0] as usize, String::from_utf16(&text).unwrap()),
        (product.len(), "Linux USB Audio Gadget".into())
    );
    let qualifier = std_in(6, 0x0600, 0, 10).unwrap();
    assert_eq!((qualifier[0], qualifier[1], qualifier[8]), (10, 6, 1));
    let other = std_in(6, 0x0700, 0, 4096).unwrap();
    assert_eq!(other[1], 7);
    assert!(stalled(std_in(6, 0x0399, 0, 255)), "no string 0x99");
    assert!(stalled(std_in(6, 0x0f00, 0, 255)), "no BOS");
    assert_eq!(std_in(0, 0, 0, 2).unwrap(), vec![1, 0], "self-powered");
    assert_eq!(std_in(8, 0, 0, 1).unwrap(), vec![1], "configured");

    let std_out = |recipient: u8, request: u8, value: u16, index: u16| {
        let setup = ControlSetup { request_type: DIR_OUT | STANDARD | recipient, request, value, index, length: 0 };
        d.control_out(setup, &[], T)
    };
    std_out(INTERFACE, 11, 1, 1).unwrap();
    std_out(INTERFACE, 11, 1, 2).unwrap();
    assert_eq!((ctl.stats().playback_alt, ctl.stats().capture_alt), (1, 1));
    std_out(ENDPOINT, 1, 0, 0x01).unwrap(); // CLEAR_FEATURE(ENDPOINT_HALT)
    assert!(stalled(std_out(ENDPOINT, 1, 0, 0x05)), "no endpoint 0x05");
    assert!(stalled(std_out(DEVICE, 9, 2, 0)), "no configuration 2");
    std_out(DEVICE, 9, 1, 0).unwrap();
    assert_eq!((ctl.stats().playback_alt, ctl.stats().capture_alt), (0, 0), "SET_CONFIGURATION resets the alts");
}

#[test]
fn out_packets_arrive_in_order_and_bad_ones_are_counted() {
    let (d, ctl, l) = device(Uac2Options::default());
    d.claim_interface(1).unwrap();
    d.set_alt_setting(1, 1).unwrap();
    // 10 transfers of 8 microframes, 6 frames of 4 bytes each (48 kHz stereo S16).
    let stream: Vec<u8> = (0..10 * 8 * 24).map(|i| (i * 7 % 251) as u8).collect();
    for chunk in stream.chunks(8 * 24) {
        let c = iso(&d, l.playback_endpoint, chunk.to_vec(), vec![24; 8]);
        c.check(d.name()).unwrap();
        assert!(c.iso_packets.iter().all(|p| p.actual_length == 24 && p.status == TransferStatus::Completed));
    }
    assert_eq!(ctl.take_received(), stream);
    assert!(ctl.take_received().is_empty(), "taken");
    let s = ctl.stats();
    assert_eq!((s.out_packets, s.out_frames, s.bad_out_packets), (80, 480, 0));

    // Half a frame, then more than wMaxPacketSize.
    let max = u32::from(l.playback_max_packet);
    let c = iso(&d, l.playback_endpoint, vec![9; 26 + max as usize + 4], vec![26, max + 4]);
    assert_eq!(c.iso_packets[0].status, TransferStatus::Completed);
    assert_eq!((c.iso_packets[1].status, c.iso_packets[1].actual_length), (TransferStatus::Error(libc::EMSGSIZE), max));
    assert_eq!(ctl.take_received().len(), 26 + max as usize, "at most wMaxPacketSize is taken");
    let s = ctl.stats();
    assert_eq!((s.out_packets, s.out_frames, s.bad_out_packets), (82, 480 + 6 + u64::from(max) / 4, 2));
}

#[test]
fn streaming_endpoints_at_alt_0_fail_the_transfer() {
    let (d, ctl, l) = device(Uac2Options::default());
    let c = iso(&d, l.playback_endpoint, vec![1; 48], vec![24, 24]);
    assert_eq!(c.status, TransferStatus::Error(libc::EPROTO));
    assert!(c.iso_packets.iter().all(|p| p.status == TransferStatus::Error(libc::EPROTO) && p.actual_length == 0));
    assert!(c.check(d.name()).is_err());
    assert!(ctl.take_received().is_empty());
    d.set_alt_setting(1, 1).unwrap();
    assert_eq!(iso(&d, l.capture_endpoint, vec![0; 100], vec![100]).status, TransferStatus::Error(libc::EPROTO));
    assert_eq!(iso(&d, l.feedback_endpoint, vec![0; 4], vec![4]).status, TransferStatus::Completed);
    d.set_alt_setting(1, 0).unwrap();
    assert_eq!(iso(&d, l.feedback_endpoint, vec![0; 4], vec![4]).status, TransferStatus::Error(libc::EPROTO));
    assert_eq!(iso(&d, 0x05, vec![0; 4], vec![4]).status, TransferStatus::Error(libc::EINVAL), "no such endpoint");
    assert_eq!(ctl.stats().capture_packets, 0);
}

/// Feedback packets for a clock of `hz`: the raw value and the bytes after it.
fn feedback(d: &MemUsb, ctl: &Uac2Control, ep: u8, hz: f64, len: u32) -> Vec<u8> {
    ctl.set_feedback_hz(hz);
    let c = iso(d, ep, vec![0xee; 2 * len as usize], vec![len, len]);
    c.check(d.name()).unwrap();
    assert_eq!(c.iso_packets.iter().map(|p| p.actual_length).collect::<Vec<_>>(), vec![len, len]);
    let payloads = packet_payloads(&c);
    assert_eq!(payloads[0], payloads[1]);
    payloads[0].clone()
}

#[test]
fn feedback_reports_the_clock_in_16_16_at_high_speed() {
    let (d, ctl, l) = device(Uac2Options::default());
    d.set_alt_setting(1, 1).unwrap();
    assert_eq!(l.feedback_max_packet, 4);
    // 16.16 frames per 125 us microframe: 47.9 kHz = 5.9875 -> 0x0005_fccd (0x0005_fccc.cc rounded).
    assert_eq!(feedback(&d, &ctl, l.feedback_endpoint, 47900.0, 4), [0xcd, 0xfc, 0x05, 0x00]);
    assert_eq!(feedback(&d, &ctl, l.feedback_endpoint, 48000.0, 4), [0x00, 0x00, 0x06, 0x00]);
    assert_eq!(feedback(&d, &ctl, l.feedback_endpoint, 48100.0, 4), [0x33, 0x03, 0x06, 0x00]);
    ctl.set_feedback_hz(f64::NAN);
    assert_eq!(feedback(&d, &ctl, l.feedback_endpoint, 0.0, 4), [0x00, 0x00, 0x06, 0x00], "back to nominal");
    assert_eq!(ctl.stats().feedback_packets, 8);
}

#[test]
fn feedback_reports_the_clock_in_10_14_at_full_speed() {
    let (d, ctl, l) = device(Uac2Options { speed: Speed::Full, ..Default::default() });
    d.set_alt_setting(1, 1).unwrap();
    assert_eq!(l.feedback_max_packet, 3);
    // 10.14 frames per 1 ms frame, 3 bytes: 47.9 = 0x0b_f99a, 48.0 = 0x0c_0000, 48.1 = 0x0c_0666.
    assert_eq!(feedback(&d, &ctl, l.feedback_endpoint, 47900.0, 3), [0x9a, 0xf9, 0x0b]);
    assert_eq!(feedback(&d, &ctl, l.feedback_endpoint, 48000.0, 3), [0x00, 0x00, 0x0c]);
    assert_eq!(feedback(&d, &ctl, l.feedback_endpoint, 48100.0, 3), [0x66, 0x06, 0x0c]);
    // A 2-byte buffer cannot hold the packet.
    let c = iso(&d, l.feedback_endpoint, vec![0; 2], vec![2]);
    assert_eq!(c.iso_packets[0].status, TransferStatus::Overflow);
}

/// Read one second of capture at the packet rate of `l`; returns the frames
/// per packet and the bytes, in order.
fn capture_one_second(d: &MemUsb, l: &Uac2Layout, packets_per_second: usize) -> (Vec<usize>, Vec<u8>) {
    let max = u32::from(l.capture_max_packet);
    let (mut frames, mut bytes) = (Vec::new(), Vec::new());
    for _ in 0..packets_per_second / 8 {
        let c = iso(d, l.capture_endpoint, vec![0xee; 8 * max as usize], vec![max; 8]);
        c.check(d.name()).unwrap();
        for p in packet_payloads(&c) {
            assert_eq!(p.len() % 4, 0, "whole frames");
            frames.push(p.len() / 4);
            bytes.extend(p);
        }
    }
    (frames, bytes)
}

#[test]
fn capture_follows_the_device_clock_and_plays_the_source_in_order() {
    for (speed, pps, rate, sizes) in [
        (Speed::High, 8000, 44100u32, [5, 6]),
        (Speed::High, 8000, 48000, [6, 6]),
        (Speed::Full, 1000, 44100, [44, 45]),
        (Speed::Full, 1000, 48000, [48, 48]),
    ] {
        let (d, ctl, l) = device(Uac2Options { speed, ..Default::default() });
        set(&d, l.capture_clock, SAM_FREQ, 0, &rate.to_le_bytes()).unwrap();
        // 0.9 s of a counting stereo signal, then the device runs dry.
        let source: Vec<u8> =
            (0..rate * 9 / 10).flat_map(|i| [(i as u16).to_le_bytes(), (!i as u16).to_le_bytes()]).flatten().collect();
        ctl.set_capture_source(source.clone());
        d.set_alt_setting(2, 1).unwrap();
        let (frames, bytes) = capture_one_second(&d, &l, pps);
        assert_eq!(frames.len(), pps);
        assert_eq!(frames.iter().sum::<usize>(), rate as usize, "{speed:?} {rate}: exactly one second of frames");
        assert!(frames.iter().all(|f| sizes.contains(f)), "{speed:?} {rate}: packets of {sizes:?} frames");
        assert_eq!(&bytes[..source.len()], &source[..], "the source, in order");
        assert!(bytes[source.len()..].iter().all(|&b| b == 0), "then silence");
        let s = ctl.stats();
        assert_eq!((s.capture_packets, s.capture_frames), (pps as u64, u64::from(rate)));
    }
}

#[test]
fn a_slow_device_clock_sends_fewer_frames() {
    let (d, ctl, l) = device(Uac2Options::default());
    ctl.set_feedback_hz(47900.0);
    d.set_alt_setting(2, 1).unwrap();
    let (frames, _) = capture_one_second(&d, &l, 8000);
    assert_eq!(frames.iter().sum::<usize>(), 47900);
    assert!(frames.iter().all(|&f| f == 5 || f == 6));
}
