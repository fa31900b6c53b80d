//! The UAC2 driver against the emulated f_uac2-shaped device in outboard-emu:
//! clock-source rates, asynchronous playback following the feedback
//! endpoint, and capture, all through the ordinary UsbDevice interface.

use std::sync::Arc;
use std::time::Duration;

use outboard_emu::usb::descriptors::f_uac2;
use outboard_emu::usb::uac2::{Uac2Control, Uac2Device, Uac2Options};
use outboard_hal::pcm::{Direction, PcmStream, SampleFormat};
use outboard_hal::usb::mem::MemUsb;
use outboard_hal::usb::{Speed, UsbDevice};
use outboard_uac::device::StreamRequest;
use outboard_uac::model::{EntityKind, Rates, SyncType, UacVersion};
use outboard_uac::parse::parse_device;
use outboard_uac::stream::{UacStream, UrbPlan};
use outboard_uac::UacDevice;

fn emulated(opts: Uac2Options) -> (Arc<MemUsb>, Uac2Control) {
    let (dev, control) = Uac2Device::new(opts);
    (Arc::new(MemUsb::new("usb 1-1 1d6b:0101", Box::new(dev))), control)
}

fn request(rate: u32) -> StreamRequest {
    StreamRequest { rate, channels: Some(2), format: Some(SampleFormat::S16Le), period_frames: 480, periods: 4 }
}

#[test]
fn f_uac2_parses_into_the_model() {
    for speed in [Speed::High, Speed::Full] {
        let m = parse_device(&f_uac2(speed), speed, "g_audio").unwrap();
        assert_eq!(m.version, UacVersion::V2);
        assert_eq!(m.control_interface, 0);
        let clocks = m.entities.iter().filter(|e| matches!(e.kind, EntityKind::ClockSource { .. })).count();
        assert_eq!(clocks, 2, "f_uac2 has a clock per direction");
        let play = m.streams(Direction::Playback).next().unwrap();
        let cap = m.streams(Direction::Capture).next().unwrap();
        assert_eq!((play.interface, cap.interface), (1, 2));
        let pa = &play.alts[0];
        assert_eq!((pa.format, pa.channels, pa.rates.clone()), (SampleFormat::S16Le, 2, Rates::FromClock));
        assert_eq!((pa.endpoint.address, pa.endpoint.sync), (0x01, SyncType::Async));
        let fb = pa.feedback.as_ref().expect("async OUT has a feedback endpoint");
        assert_eq!((fb.address, fb.usage), (0x82, 1));
        assert_eq!(cap.alts[0].endpoint.address, 0x83);
        // Each streaming terminal runs on its own clock source.
        let pc = m.clock_source_of(pa.terminal).unwrap();
        let cc = m.clock_source_of(cap.alts[0].terminal).unwrap();
        assert_ne!(pc, cc);
        assert_eq!(m.feature_units_on_path(pa.terminal).len(), 1);
    }
}

#[test]
fn rates_come_from_the_clock_and_are_set_through_it() {
    let (usb, control) = emulated(Uac2Options::default());
    let dev = UacDevice::open(usb, &[]).unwrap();
    let alt = &dev.model().streams(Direction::Playback).next().unwrap().alts[0];
    assert_eq!(alt.rates, Rates::Discrete(vec![44_100, 48_000, 96_000]));
    let s = dev.open_stream(Direction::Playback, request(96_000), None).unwrap();
    assert_eq!(control.stats().rate, 96_000);
    assert_eq!(control.stats().playback_alt, 1);
    drop(s);
    assert_eq!(control.stats().playback_alt, 0);
    let e = dev.open_stream(Direction::Playback, request(32_000), None).unwrap_err().to_string();
    assert!(e.contains("no playback alt setting for 32000 Hz") && e.contains("44100/48000/96000 Hz"), "{e}");
}

/// Drive a stream's pump until the device has taken `packets` OUT packets.
fn pump_until(stream: &UacStream, control: &Uac2Control, packets: u64) {
    let mut pump = stream.pump();
    pump.start().unwrap();
    let mut steps = 0;
    while control.stats().out_packets < packets {
        assert!(pump.step(Duration::from_secs(1)), "{:?}", stream.error());
        steps += 1;
        assert!(steps < 1_000_000);
    }
    pump.finish();
}

#[test]
fn async_playback_follows_the_feedback_value_bit_exact() {
    for hz in [47_900.0, 48_000.0, 48_100.0] {
        let (usb, control) = emulated(Uac2Options::default());
        control.set_feedback_hz(hz);
        let dev = UacDevice::open(usb, &[]).unwrap();
        let plan = UrbPlan { urbs: 4, packets_per_urb: 8 };
        let mut stream = dev.open_stream(Direction::Playback, request(48_000), Some(plan)).unwrap();
        let ring: Vec<u8> = (0..480 * 4 * 4).map(|i| (i * 13 % 253) as u8).collect();
        stream.write_frames(0, &ring).unwrap();
        // Two seconds of microframes.
        pump_until(&stream, &control, 16_000);
        let st = control.stats();
        assert_eq!(st.bad_out_packets, 0);
        let per_second = st.out_frames as f64 * 8000.0 / st.out_packets as f64;
        assert!((per_second - hz).abs() < 2.0, "feedback {hz} Hz: the driver sent {per_second:.1} frames/s");
        let got = control.take_received();
        assert_eq!(got.len() as u64, st.out_frames * 4);
        for (i, b) in got.iter().enumerate() {
            assert_eq!(*b, ring[i % ring.len()], "byte {i}: a frame was lost or repeated (feedback {hz} Hz)");
        }
        let fb = outboard_uac::stream::StreamStats::get(&stream.shared().stats.feedback_accepted);
        assert!(fb > 100, "feedback values taken: {fb}");
    }
}

#[test]
fn capture_delivers_the_device_stream_in_order() {
    for rate in [48_000u32, 44_100] {
        let (usb, control) = emulated(Uac2Options::default());
        let source: Vec<u8> = (0..rate as usize * 4).map(|i| (i * 31 % 241) as u8).collect();
        control.set_capture_source(source.clone());
        let dev = UacDevice::open(usb, &[]).unwrap();
        let req = StreamRequest { period_frames: 4410, periods: 4, ..request(rate) };
        let mut stream =
            dev.open_stream(Direction::Capture, req, Some(UrbPlan { urbs: 4, packets_per_urb: 8 })).unwrap();
        assert_eq!(control.stats().capture_rate, rate);
        // Read the ring one period at a time as the pump fills it: 1 s of audio.
        let mut pump = stream.pump();
        pump.start().unwrap();
        let (mut got, period_bytes) = (Vec::new(), 4410 * 4);
        while got.len() < source.len() - period_bytes {
            assert!(pump.step(Duration::from_secs(1)));
            let frames = stream.shared().frames() as usize;
            while got.len() + period_bytes <= frames * 4 {
                let mut buf = vec![0u8; period_bytes];
                stream.read_frames(got.len() / 4, &mut buf).unwrap();
                got.extend_from_slice(&buf);
            }
            assert!(frames * 4 - got.len() <= 3 * period_bytes, "the test fell behind the ring");
        }
        pump.finish();
        assert_eq!(&got[..], &source[..got.len()], "{rate} Hz: captured bytes differ from the device's stream");
        let st = control.stats();
        let per_second = st.capture_frames as f64 * 8000.0 / st.capture_packets as f64;
        assert!((per_second - f64::from(rate)).abs() < 2.0, "{per_second}");
    }
}

#[test]
fn playback_and_capture_on_one_device_each_get_their_own_completions() {
    let (usb, control) = emulated(Uac2Options::default());
    control.set_feedback_hz(47_950.0);
    let source: Vec<u8> = (0..48_000 * 4).map(|i| (i * 17 % 239) as u8).collect();
    control.set_capture_source(source.clone());
    let dev = UacDevice::open(usb.clone(), &[]).unwrap();
    let plan = Some(UrbPlan { urbs: 4, packets_per_urb: 8 });
    let mut play = dev.open_stream(Direction::Playback, request(48_000), plan).unwrap();
    let big = StreamRequest { period_frames: 12_000, periods: 4, ..request(48_000) };
    let mut cap = dev.open_stream(Direction::Capture, big, plan).unwrap();
    let ring: Vec<u8> = (0..480 * 4 * 4).map(|i| (i * 3 % 211) as u8).collect();
    play.write_frames(0, &ring).unwrap();
    let (mut pp, mut cp) = (play.pump(), cap.pump());
    pp.start().unwrap();
    cp.start().unwrap();
    // Interleave the two pumps, as their threads would.
    for _ in 0..300 {
        assert!(pp.step(Duration::from_secs(1)), "{:?}", play.error());
        assert!(cp.step(Duration::from_secs(1)), "{:?}", cap.error());
    }
    // Stopping playback leaves capture running.
    pp.finish();
    assert_eq!(usb.in_flight_on(0x01), 0);
    assert!(usb.in_flight_on(0x83) > 0, "capture's URBs survive playback's stop");
    let before = cap.shared().frames();
    for _ in 0..50 {
        assert!(cp.step(Duration::from_secs(1)), "{:?}", cap.error());
    }
    assert!(cap.shared().frames() > before);
    cp.finish();
    assert_eq!(usb.in_flight(), 0);

    let got = control.take_received();
    assert!(!got.is_empty());
    for (i, b) in got.iter().enumerate() {
        assert_eq!(*b, ring[i % ring.len()], "playback byte {i}");
    }
    let fb = outboard_uac::stream::StreamStats::get(&play.shared().stats.feedback_accepted);
    assert!(fb > 10, "feedback values reached the playback pump: {fb}");
    let frames = cap.shared().frames() as usize;
    assert!(frames > 10_000 && frames < 48_000);
    let mut captured = vec![0u8; frames * 4];
    cap.read_frames(0, &mut captured).unwrap();
    assert_eq!(captured, source[..frames * 4], "capture bytes in order");
}

/// The emulated device with its feedback endpoint turned into an interrupt
/// endpoint and its capture endpoint marked as implicit feedback data: an
/// asynchronous playback endpoint paced by the capture stream.
struct ImplicitFb {
    inner: Uac2Device,
    descriptors: Vec<u8>,
}

impl outboard_hal::usb::mem::UsbFunction for ImplicitFb {
    fn descriptors(&self) -> Vec<u8> {
        self.descriptors.clone()
    }
    fn speed(&self) -> Speed {
        self.inner.speed()
    }
    fn control(
        &mut self,
        setup: &outboard_hal::usb::ControlSetup,
        data: &[u8],
    ) -> Result<Vec<u8>, outboard_hal::usb::TransferStatus> {
        self.inner.control(setup, data)
    }
    fn set_alt_setting(&mut self, interface: u8, alt: u8) -> Result<(), outboard_hal::usb::TransferStatus> {
        self.inner.set_alt_setting(interface, alt)
    }
    fn transfer(
        &mut self,
        t: &mut outboard_hal::usb::Transfer,
    ) -> (outboard_hal::usb::TransferStatus, Vec<outboard_hal::usb::IsoPacketResult>, usize) {
        self.inner.transfer(t)
    }
}

fn implicit_device() -> (Arc<MemUsb>, Uac2Control) {
    use outboard_hal::usb::mem::UsbFunction;
    let (inner, control) = Uac2Device::new(Uac2Options::default());
    let mut d = inner.descriptors();
    let fb = d.windows(3).position(|w| w == [7, 5, 0x82]).unwrap();
    d[fb + 3] = 0x03; // interrupt: no longer a feedback endpoint
    let cap = d.windows(3).position(|w| w == [7, 5, 0x83]).unwrap();
    d[cap + 3] = 0x25; // isochronous, asynchronous, implicit feedback data
    let f = ImplicitFb { inner, descriptors: d };
    (Arc::new(MemUsb::new("usb 1-1 1d6b:0101", Box::new(f))), control)
}

#[test]
fn implicit_feedback_paces_playback_by_the_capture_stream() {
    let (usb, control) = implicit_device();
    control.set_feedback_hz(47_900.0); // the device clock, seen only through capture packet sizes
    let dev = UacDevice::open(usb.clone(), &[]).unwrap();
    let alt = dev.choose_alt(Direction::Playback, 48_000, Some(2), None).unwrap();
    assert!(alt.feedback.is_none());
    assert_eq!(alt.implicit.as_ref().map(|i| i.endpoint.address), Some(0x83));
    let plan = Some(UrbPlan { urbs: 4, packets_per_urb: 8 });
    let mut play = dev.open_stream(Direction::Playback, request(48_000), plan).unwrap();
    assert_eq!(control.stats().capture_alt, 1, "playback runs the capture endpoint itself");
    // Capture cannot take the endpoint while playback runs it.
    let e = dev.open_stream(Direction::Capture, request(48_000), plan).unwrap_err().to_string();
    assert!(e.contains("implicit feedback"), "{e}");
    let ring: Vec<u8> = (0..480 * 4 * 4).map(|i| (i * 5 % 199) as u8).collect();
    play.write_frames(0, &ring).unwrap();
    pump_until(&play, &control, 16_000);
    let st = control.stats();
    assert_eq!(st.bad_out_packets, 0);
    let per_second = st.out_frames as f64 * 8000.0 / st.out_packets as f64;
    assert!((per_second - 47_900.0).abs() < 5.0, "the driver sent {per_second:.1} frames/s, the device runs at 47900");
    let got = control.take_received();
    for (i, b) in got.iter().enumerate() {
        assert_eq!(*b, ring[i % ring.len()], "byte {i}");
    }
    drop(play);
    assert_eq!((control.stats().playback_alt, control.stats().capture_alt), (0, 0));
    // With the quirk that turns it off, the same device plays the nominal pattern.
    let (usb, control) = implicit_device();
    control.set_feedback_hz(47_900.0);
    let skip = [outboard_uac::quirks::QuirkOverride {
        id: "1d6b:0101".parse().unwrap(),
        flags: outboard_uac::quirks::Quirks::SKIP_IMPLICIT_FB,
    }];
    let dev = UacDevice::open(usb, &skip).unwrap();
    let play = dev.open_stream(Direction::Playback, request(48_000), plan).unwrap();
    assert!(play.alt().implicit.is_none());
    pump_until(&play, &control, 8_000);
    let st = control.stats();
    assert_eq!(st.out_frames * 8000 / st.out_packets, 48_000);
}

#[test]
fn with_capture_running_implicit_playback_follows_its_packets() {
    let (usb, control) = implicit_device();
    control.set_feedback_hz(48_100.0);
    let dev = UacDevice::open(usb.clone(), &[]).unwrap();
    let plan = Some(UrbPlan { urbs: 4, packets_per_urb: 8 });
    let big = StreamRequest { period_frames: 12_000, periods: 8, ..request(48_000) };
    let cap = dev.open_stream(Direction::Capture, big, plan).unwrap();
    let play = dev.open_stream(Direction::Playback, request(48_000), plan).unwrap();
    let (mut cp, mut pp) = (cap.pump(), play.pump());
    cp.start().unwrap();
    pp.start().unwrap();
    while control.stats().out_packets < 16_000 {
        assert!(cp.step(Duration::from_secs(1)), "{:?}", cap.error());
        assert!(pp.step(Duration::from_secs(1)), "{:?}", play.error());
    }
    pp.finish();
    cp.finish();
    let st = control.stats();
    let per_second = st.out_frames as f64 * 8000.0 / st.out_packets as f64;
    assert!((per_second - 48_100.0).abs() < 5.0, "the driver sent {per_second:.1} frames/s, the device runs at 48100");
    assert_eq!(usb.in_flight(), 0);
}

#[test]
fn full_speed_async_playback_follows_10_14_feedback() {
    for hz in [47_900.0, 48_100.0] {
        let (usb, control) = emulated(Uac2Options { speed: Speed::Full, ..Uac2Options::default() });
        control.set_feedback_hz(hz);
        let dev = UacDevice::open(usb, &[]).unwrap();
        assert_eq!(dev.model().speed, Speed::Full);
        let mut stream = dev
            .open_stream(Direction::Playback, request(48_000), Some(UrbPlan { urbs: 4, packets_per_urb: 8 }))
            .unwrap();
        let ring: Vec<u8> = (0..480 * 4 * 4).map(|i| (i * 11 % 251) as u8).collect();
        stream.write_frames(0, &ring).unwrap();
        // Measure in the steady state: the first URBs go out at the nominal
        // rate before the first feedback value is back.
        let mut pump = stream.pump();
        pump.start().unwrap();
        let mut mark = None;
        while control.stats().out_packets < 3_000 {
            assert!(pump.step(Duration::from_secs(1)), "{:?}", stream.error());
            let st = control.stats();
            if mark.is_none() && st.out_packets >= 1_000 {
                mark = Some((st.out_frames, st.out_packets));
            }
        }
        pump.finish();
        let (f0, p0) = mark.unwrap();
        let st = control.stats();
        let per_second = (st.out_frames - f0) as f64 * 1000.0 / (st.out_packets - p0) as f64;
        assert!((per_second - hz).abs() < 1.0, "full speed, feedback {hz}: {per_second:.2} frames/s");
        let got = control.take_received();
        assert!(got.iter().enumerate().all(|(i, b)| *b == ring[i % ring.len()]), "a frame lost or repeated");
    }
}
