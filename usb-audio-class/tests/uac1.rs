//! The UAC1 driver against QEMU's usb-audio descriptors, behind an in-memory
//! device that behaves as QEMU's does (STALLs the sampling-frequency request,
//! answers the feature unit's volume requests) and records every packet.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use outboard_emu::usb::descriptors::qemu_usb_audio;
use outboard_hal::pcm::{Direction, PcmState, PcmStream, SampleFormat};
use outboard_hal::usb::mem::{MemUsb, UsbFunction};
use outboard_hal::usb::{ControlSetup, IsoPacketResult, Speed, Transfer, TransferStatus, UsbDevice};
use outboard_uac::device::StreamRequest;
use outboard_uac::model::{EntityKind, Rates, SyncType, UacVersion};
use outboard_uac::parse::parse_device;
use outboard_uac::quirks::{QuirkOverride, Quirks};
use outboard_uac::stream::UrbPlan;
use outboard_uac::UacDevice;

#[derive(Default)]
struct Seen {
    bytes: Vec<u8>,
    packet_sizes: Vec<u32>,
    alt: u8,
    rate_requests: Vec<u32>,
    volume: Vec<(u8, i16)>,
}

/// QEMU's usb-audio as the driver sees it.
struct QemuLike {
    descriptors: Vec<u8>,
    seen: Arc<Mutex<Seen>>,
    /// Whether the sampling-frequency request STALLs (QEMU: yes).
    stall_rate: bool,
}

impl UsbFunction for QemuLike {
    fn descriptors(&self) -> Vec<u8> {
        self.descriptors.clone()
    }
    fn speed(&self) -> Speed {
        Speed::Full
    }
    fn control(&mut self, setup: &ControlSetup, data: &[u8]) -> Result<Vec<u8>, TransferStatus> {
        let mut seen = self.seen.lock().unwrap();
        match (setup.request_type, setup.request) {
            (0x22, 0x01) if self.stall_rate => Err(TransferStatus::Stall),
            (0x22, 0x01) => {
                seen.rate_requests.push(u32::from_le_bytes([data[0], data[1], data[2], 0]));
                Ok(Vec::new())
            }
            (0xa2, 0x81) => Ok(seen.rate_requests.last().copied().unwrap_or(48_000).to_le_bytes()[..3].to_vec()),
            // Feature unit 2 volume: -64 dB .. 0x7fff, step 1/256 dB.
            (0xa1, 0x82) => Ok(0xc000u16.to_le_bytes().to_vec()),
            (0xa1, 0x83) => Ok(0x7fffu16.to_le_bytes().to_vec()),
            (0xa1, 0x84) => Ok(1u16.to_le_bytes().to_vec()),
            (0xa1, 0x81) => Ok(vec![0, 0]),
            (0x21, 0x01) if setup.value >> 8 == 2 => {
                seen.volume.push(((setup.value & 0xff) as u8, i16::from_le_bytes([data[0], data[1]])));
                Ok(Vec::new())
            }
            (0x21, 0x01) => Ok(Vec::new()),
            _ => Err(TransferStatus::Stall),
        }
    }
    fn set_alt_setting(&mut self, interface: u8, alt: u8) -> Result<(), TransferStatus> {
        if interface != 1 || alt > 3 {
            return Err(TransferStatus::Stall);
        }
        self.seen.lock().unwrap().alt = alt;
        Ok(())
    }
    fn transfer(&mut self, t: &mut Transfer) -> (TransferStatus, Vec<IsoPacketResult>, usize) {
        let mut seen = self.seen.lock().unwrap();
        if seen.alt == 0 || t.endpoint != 0x01 {
            return (TransferStatus::Stall, Vec::new(), 0);
        }
        seen.bytes.extend_from_slice(&t.buffer);
        seen.packet_sizes.extend_from_slice(&t.iso_packets);
        let results = t
            .iso_packets
            .iter()
            .map(|&l| IsoPacketResult { length: l, actual_length: l, status: TransferStatus::Completed })
            .collect();
        (TransferStatus::Completed, results, t.buffer.len())
    }
}

fn device(descriptors: Vec<u8>, stall_rate: bool) -> (Arc<MemUsb>, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let f = QemuLike { descriptors, seen: Arc::clone(&seen), stall_rate };
    (Arc::new(MemUsb::new("usb 1-1 46f4:0002", Box::new(f))), seen)
}

fn request(rate: u32, channels: u16) -> StreamRequest {
    StreamRequest { rate, channels: Some(channels), format: Some(SampleFormat::S16Le), period_frames: 480, periods: 4 }
}

#[test]
fn qemu_usb_audio_parses_into_the_model() {
    let m = parse_device(&qemu_usb_audio(false), Speed::Full, "qemu").unwrap();
    assert_eq!(m.version, UacVersion::V1);
    assert_eq!(m.control_interface, 0);
    let ids: Vec<u8> = m.entities.iter().map(|e| e.id).collect();
    assert_eq!(ids, [1, 2, 3]);
    match &m.entity(2).unwrap().kind {
        EntityKind::FeatureUnit { source, controls, .. } => {
            assert_eq!(*source, 1);
            assert_eq!(controls, &[0b01, 0b10, 0b10], "master mute, volume per channel");
        }
        other => panic!("unit 2 is {other:?}"),
    }
    assert_eq!(m.streams.len(), 1);
    let s = &m.streams[0];
    assert_eq!((s.interface, s.direction), (1, Direction::Playback));
    let alt = &s.alts[0];
    assert_eq!((alt.alt, alt.format, alt.channels, alt.terminal), (1, SampleFormat::S16Le, 2, 1));
    assert_eq!(alt.rates, Rates::Discrete(vec![48_000]));
    assert_eq!((alt.endpoint.address, alt.endpoint.sync, alt.endpoint.max_bytes), (0x01, SyncType::Sync, 192));
    assert!(alt.feedback.is_none());
    assert_eq!(m.path_from(1), [1, 2, 3]);
    assert_eq!(m.feature_units_on_path(1), [2]);
}

#[test]
fn qemu_multichannel_alt_settings_are_all_found() {
    let m = parse_device(&qemu_usb_audio(true), Speed::Full, "qemu").unwrap();
    let alts: Vec<(u8, u16, u32)> =
        m.streams[0].alts.iter().map(|a| (a.alt, a.channels, a.endpoint.max_bytes)).collect();
    assert_eq!(alts.iter().map(|a| (a.0, a.1)).collect::<Vec<_>>(), [(1, 2), (2, 6), (3, 8)]);
    for (_, ch, max) in alts {
        assert!(max >= 48 * 2 * u32::from(ch), "a {ch}-channel alt must hold 48 frames per packet");
    }
}

/// Run a stream's pump by hand for `urbs` completions.
fn pump_urbs(stream: &outboard_uac::stream::UacStream, urbs: usize) {
    let mut pump = stream.pump();
    pump.start().unwrap();
    for _ in 0..urbs {
        assert!(pump.step(Duration::from_secs(1)), "{:?}", stream.error());
    }
    pump.finish();
}

#[test]
fn playback_sends_the_ring_bit_exact_in_48_frame_packets() {
    let (usb, seen) = device(qemu_usb_audio(false), true);
    let dev = UacDevice::open(usb.clone(), &[]).unwrap();
    assert_eq!(dev.quirks(), Quirks::FIXED_RATE);
    let plan = UrbPlan { urbs: 4, packets_per_urb: 8 };
    let mut stream = dev.open_stream(Direction::Playback, request(48_000, 2), Some(plan)).unwrap();
    assert_eq!(seen.lock().unwrap().alt, 1);
    assert!(seen.lock().unwrap().rate_requests.is_empty(), "FIXED_RATE: no rate request");
    let ring: Vec<u8> = (0..480 * 4 * 4).map(|i| (i * 7 % 251) as u8).collect();
    stream.write_frames(0, &ring).unwrap();
    pump_urbs(&stream, 20); // 24 URBs submitted, 20 completed and refilled
    let seen_now = seen.lock().unwrap();
    assert!(seen_now.packet_sizes.iter().all(|s| *s == 192), "48 frames of 4 bytes per 1 ms packet");
    let sent = &seen_now.bytes;
    assert!(sent.len() >= 20 * 8 * 192);
    for (i, b) in sent.iter().enumerate() {
        assert_eq!(*b, ring[i % ring.len()], "byte {i} differs from the ring");
    }
    drop(seen_now);
    assert_eq!(stream.shared().frames(), 24 * 8 * 48);
    drop(stream);
    assert_eq!(seen.lock().unwrap().alt, 0, "dropping the stream leaves alt 0");
}

#[test]
fn a_stalled_rate_request_on_a_one_rate_device_is_survived() {
    let (usb, seen) = device(qemu_usb_audio(false), true);
    let none = [QuirkOverride { id: "46f4:0002".parse().unwrap(), flags: Quirks::default() }];
    let dev = UacDevice::open(usb, &none).unwrap();
    let stream = dev.open_stream(Direction::Playback, request(48_000, 2), None);
    assert!(stream.is_ok(), "{:?}", stream.err());
    assert_eq!(seen.lock().unwrap().alt, 1);
}

#[test]
fn rate_requests_reach_a_device_that_takes_them_and_44k1_follows_the_pattern() {
    // The same device offering 44.1 kHz with a sampling-frequency control.
    let mut d = qemu_usb_audio(false);
    let at = d.windows(3).position(|w| w == [0x80, 0xbb, 0x00]).unwrap();
    d[at..at + 3].copy_from_slice(&[0x44, 0xac, 0x00]);
    let cs_ep = d.windows(3).rposition(|w| w == [7, 0x25, 1]).unwrap();
    d[cs_ep + 3] = 0x01; // bmAttributes: sampling frequency control
    let (usb, seen) = device(d, false);
    let none = [QuirkOverride { id: "46f4:0002".parse().unwrap(), flags: Quirks::default() }];
    let dev = UacDevice::open(usb, &none).unwrap();
    let stream = dev
        .open_stream(Direction::Playback, request(44_100, 2), Some(UrbPlan { urbs: 2, packets_per_urb: 10 }))
        .unwrap();
    assert_eq!(seen.lock().unwrap().rate_requests, [44_100]);
    pump_urbs(&stream, 100); // 100 URBs of 10 packets = 1 s
    let sizes = seen.lock().unwrap().packet_sizes.clone();
    assert_eq!(sizes.len(), 1000);
    let frames: Vec<u32> = sizes.iter().map(|s| s / 4).collect();
    assert_eq!(frames[..10], [44, 44, 44, 44, 44, 44, 44, 44, 44, 45]);
    assert_eq!(frames.iter().sum::<u32>(), 44_100, "exactly 44100 frames per second");
}

#[test]
fn a_rate_or_shape_the_device_lacks_is_refused_with_what_it_offers() {
    let (usb, _) = device(qemu_usb_audio(true), true);
    let dev = UacDevice::open(usb, &[]).unwrap();
    let e = dev.open_stream(Direction::Playback, request(44_100, 2), None).unwrap_err().to_string();
    assert!(e.contains("no playback alt setting for 44100 Hz"), "{e}");
    assert!(e.contains("alt 3: S16Le 8 ch 48000 Hz"), "{e}");
    let e = dev.open_stream(Direction::Capture, request(48_000, 2), None).unwrap_err().to_string();
    assert!(e.contains("no capture alt setting") && e.contains("nothing"), "{e}");
    let six = dev.open_stream(Direction::Playback, request(48_000, 6), None).unwrap();
    assert_eq!((six.alt().alt, six.alt().channels), (2, 6));
}

#[test]
fn volume_goes_to_every_channel_of_the_feature_unit() {
    let (usb, seen) = device(qemu_usb_audio(false), true);
    let dev = UacDevice::open(usb, &[]).unwrap();
    let fcs = dev.feature_controls(Direction::Playback);
    assert_eq!(fcs.len(), 1);
    let fc = &fcs[0];
    assert_eq!((fc.unit, fc.volume_channels.clone(), fc.mute_channels.clone()), (2, vec![1, 2], vec![0]));
    let r = fc.range.unwrap();
    assert_eq!((r.min, r.max, r.res), (-0x4000, 0x7fff, 1));
    dev.set_unit_volume_db(fc, -6.0).unwrap();
    dev.set_unit_volume_db(fc, 500.0).unwrap();
    assert_eq!(seen.lock().unwrap().volume, [(1, -1536), (2, -1536), (1, 0x7fff), (2, 0x7fff)]);
}

#[test]
fn unplug_mid_stream_ends_it_with_a_clear_error() {
    let (usb, _) = device(qemu_usb_audio(false), true);
    let dev = UacDevice::open(usb.clone(), &[]).unwrap();
    let mut stream = dev.open_stream(Direction::Playback, request(48_000, 2), None).unwrap();
    let mut pump = stream.pump();
    pump.start().unwrap();
    assert!(pump.step(Duration::from_secs(1)));
    usb.unplug();
    let mut steps = 0;
    while pump.step(Duration::from_millis(100)) {
        steps += 1;
        assert!(steps < 100, "the pump never noticed the unplug");
    }
    pump.finish();
    assert_eq!(stream.state(), PcmState::Disconnected);
    let e = stream.wait_period(Duration::from_secs(1)).unwrap_err().to_string();
    assert!(e.contains("46f4:0002 is gone"), "{e}");
    assert!(stream.position().is_err());
    assert_eq!(usb.in_flight(), 0, "nothing left in flight");
}

#[test]
fn a_running_stream_wakes_its_reader_every_period() {
    let (usb, _) = device(qemu_usb_audio(false), true);
    let dev = UacDevice::open(usb, &[]).unwrap();
    let mut stream = dev.open_stream(Direction::Playback, request(48_000, 2), None).unwrap();
    stream.start().unwrap();
    // The in-memory device completes at once: periods fly by.
    for _ in 0..3 {
        stream.wait_period(Duration::from_secs(2)).unwrap();
    }
    assert!(stream.position().unwrap() < 480 * 4);
    stream.stop().unwrap();
    assert_eq!(stream.state(), PcmState::Prepared);
}

#[test]
fn malformed_descriptors_never_panic_the_parser() {
    for multi in [false, true] {
        let good = qemu_usb_audio(multi);
        for cut in 0..good.len() {
            let _ = parse_device(&good[..cut], Speed::Full, "cut");
        }
        for i in 0..good.len() {
            for v in [0u8, 1, 2, 0x7f, 0xff] {
                let mut bad = good.clone();
                bad[i] = v;
                let _ = parse_device(&bad, Speed::Full, "corrupt");
            }
        }
    }
    // A feature unit whose control size is 0 is skipped; the rest stays.
    let mut d = qemu_usb_audio(false);
    let fu = d.windows(3).position(|w| w == [13, 0x24, 6]).unwrap();
    d[fu + 5] = 0;
    let m = parse_device(&d, Speed::Full, "zero control size").unwrap();
    assert!(m.entity(2).is_none());
    assert_eq!(m.streams[0].alts.len(), 1);
}

#[test]
fn linux_f_uac1_gadget_parses_both_directions() {
    let raw = outboard_emu::usb::descriptors::f_uac1();
    let m = parse_device(&raw, Speed::High, "g_audio").unwrap();
    assert_eq!(m.version, UacVersion::V1);
    let play = m.streams(Direction::Playback).next().expect("host playback (OUT)");
    let cap = m.streams(Direction::Capture).next().expect("host capture (IN)");
    let (pa, ca) = (&play.alts[0], &cap.alts[0]);
    assert_eq!((pa.endpoint.address, pa.endpoint.sync), (0x01, SyncType::Adaptive));
    assert_eq!((ca.endpoint.address, ca.endpoint.sync), (0x82, SyncType::Async));
    for a in [pa, ca] {
        assert_eq!((a.format, a.channels), (SampleFormat::S16Le, 2));
        assert_eq!(a.rates, Rates::Discrete(vec![48_000]));
        assert!(a.feedback.is_none() && a.implicit.is_none());
    }
    // f_uac1's terminals: USB streaming in -> speaker-side output, and back.
    assert!(m.path_from(pa.terminal).len() >= 2);
    assert!(m.skipped.is_empty(), "{:?}", m.skipped);
}
