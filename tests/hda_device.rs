//! The HDA device layer (bring-up, paths, streams through `PcmStream`) on the
//! emulated controller: interrupt fallbacks, position sources, jack
//! auto-mute, pin overrides, and how bad hardware is reported.

use std::time::Duration;

use outboard_emu::hda::model::ModelCodec;
use outboard_emu::hda::{emulated_hda, emulated_hda_from_dump, emulated_hda_irqs, Faults};
use outboard_hal::irq::IrqKind;
use outboard_hal::mmio::{MmioHandler, Width};
use outboard_hal::pcm::{Direction, PcmConfig, PcmStream, SampleFormat};
use outboard_hda::codec::paths::OutputRole;
use outboard_hda::codec::pin::parse_overrides;
use outboard_hda::device::{HdaDevice, HdaOptions, PositionSource};
use outboard_signal::signal;

const ALC269_EEEPC: &str = "alc269-asus-eeepc-1000";

fn cfg() -> PcmConfig {
    PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: 256, periods: 4 }
}

/// Play one ring's worth through `dev` in real time (the emulator's clock
/// thread runs the link) and return what reached the codec.
fn play_one_ring(dev: &HdaDevice, emu: &outboard_emu::hda::HdaEmulator) -> (Vec<u8>, Vec<u8>) {
    let mut pcm = dev.open_pcm(Direction::Playback, cfg()).unwrap();
    let bytes = cfg().buffer_frames() * cfg().frame_bytes();
    let data = signal::to_le_bytes(&signal::test_signal(bytes / 4, 2, 4));
    pcm.write_frames(0, &data).unwrap();
    pcm.start().unwrap();
    for _ in 0..cfg().periods {
        pcm.wait_period(Duration::from_secs(2)).unwrap();
    }
    pcm.stop().unwrap();
    (data, emu.played())
}

#[test]
fn streams_run_on_msi_intx_and_with_no_interrupt_at_all() {
    for kinds in [&[IrqKind::Msi][..], &[IrqKind::Intx][..], &[][..]] {
        let hw = emulated_hda_irqs(kinds);
        hw.emu.start_clock();
        let dev = HdaDevice::open(hw.pci.clone()).unwrap();
        let (sent, heard) = play_one_ring(&dev, &hw.emu);
        assert!(heard.len() >= sent.len(), "{kinds:?}: {} of {} bytes", heard.len(), sent.len());
        assert_eq!(&heard[..sent.len()], &sent[..], "{kinds:?}: the codec heard what was played");
        if !kinds.is_empty() {
            assert!(hw.emu.interrupts_raised() >= 4, "{kinds:?}: a period interrupt each");
        }
    }
}

#[test]
fn the_position_buffer_and_lpib_agree() {
    let hw = emulated_hda();
    let dev = HdaDevice::open_with(
        hw.pci.clone(),
        &HdaOptions { position: PositionSource::PositionBuffer, ..HdaOptions::default() },
    )
    .unwrap();
    let mut pcm = dev.open_pcm(Direction::Playback, cfg()).unwrap();
    pcm.start().unwrap();
    hw.emu.advance_frames(300);
    assert_eq!(pcm.position().unwrap(), 300);
    assert_eq!(pcm.stream().lpib().unwrap(), 1200);
    hw.emu.advance_frames(800);
    assert_eq!(pcm.position().unwrap(), 1100 - 1024, "wraps at the ring's end");
}

#[test]
fn a_stream_that_does_not_start_is_a_timeout_and_leaves_the_stream_stopped() {
    let hw = emulated_hda();
    hw.emu.start_clock();
    let dev = HdaDevice::open(hw.pci.clone()).unwrap();
    hw.emu.set_faults(Faults { stream_stalled: true, ..Faults::default() });
    let mut pcm = dev.open_pcm(Direction::Playback, cfg()).unwrap();
    let index = pcm.stream().index();
    pcm.start().unwrap();
    let err = pcm.wait_period(Duration::from_millis(200)).unwrap_err();
    assert!(err.to_string().contains("timed out") && err.to_string().contains(&format!("stream {index}")), "{err}");
    drop(pcm);
    let ctl = hw.emu.mmio_read(0x80 + 0x20 * u64::from(index), Width::W8);
    assert_eq!(ctl & 0x02, 0, "RUN is clear: the device is quiet");
}

#[test]
fn rirb_overruns_are_counted_and_commands_go_on() {
    let hw = emulated_hda();
    hw.emu.set_faults(Faults { rirb_overrun: true, ..Faults::default() });
    let dev = HdaDevice::open(hw.pci.clone()).unwrap();
    assert_eq!(dev.codecs()[0].codec.vendor_id, 0x1af4_0022, "the codec was still read");
    assert!(dev.rirb_overruns() > 0, "and the overruns were seen");
}

fn dump(name: &str) -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/hw-fixtures/hda-codecs").join(name);
    match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) => {
            eprintln!("!!!! SKIPPED: {}: {e} !!!!", path.display());
            assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "under CI the codec dumps must be there");
            None
        }
    }
}

#[test]
fn plugging_headphones_mutes_the_speaker_and_pulling_them_unmutes_it() {
    let Some(text) = dump(ALC269_EEEPC) else { return };
    let hw = emulated_hda_from_dump(&text).unwrap();
    let dev = HdaDevice::open(hw.pci.clone()).unwrap();
    let plan = &dev.codecs()[0].plan;
    let spk = plan.output(OutputRole::Speaker).unwrap().pin;
    let hp = plan.output(OutputRole::Headphone).unwrap().pin;
    let pin_ctl = |pin: u8| hw.emu.with_codec(|c| c.as_any().downcast_mut::<ModelCodec>().unwrap().state(pin).pin_ctl);
    assert_eq!(pin_ctl(spk) & 0x40, 0x40, "speaker on while nothing is plugged");
    assert_eq!(pin_ctl(hp) & 0xc0, 0xc0, "headphone pin: output and headphone amp");
    let unsol = hw.emu.with_codec(|c| c.as_any().downcast_mut::<ModelCodec>().unwrap().state(hp).unsol);
    assert_eq!(unsol, 0x80 | hp, "jack events enabled with the pin's tag");

    hw.emu.with_codec(|c| c.as_any().downcast_mut::<ModelCodec>().unwrap().set_plugged(hp, true));
    hw.emu.send_unsolicited(0, u32::from(hp) << 26);
    assert!(dev.poll_jacks().unwrap());
    assert_eq!(pin_ctl(spk) & 0x40, 0, "speaker muted with headphones in");

    hw.emu.with_codec(|c| c.as_any().downcast_mut::<ModelCodec>().unwrap().set_plugged(hp, false));
    hw.emu.send_unsolicited(0, u32::from(hp) << 26);
    assert!(!dev.poll_jacks().unwrap());
    assert_eq!(pin_ctl(spk) & 0x40, 0x40, "speaker back when they are pulled");
}

#[test]
fn a_pin_override_adds_an_output_the_bios_hid() {
    let Some(text) = dump(ALC269_EEEPC) else { return };
    let hw = emulated_hda_from_dump(&text).unwrap();
    let plain = HdaDevice::open(hw.pci.clone()).unwrap();
    assert!(plain.codecs()[0].plan.outputs.iter().all(|o| o.pin != 0x1a), "0x1a is marked unused by the BIOS");
    drop(plain);
    let overrides = parse_overrides("0x1a 0x01014020  # a line-out jack after all\n").unwrap();
    let dev = HdaDevice::open_with(hw.pci.clone(), &HdaOptions { pin_overrides: overrides, ..HdaOptions::default() })
        .unwrap();
    let line = dev.codecs()[0].plan.output(OutputRole::LineOut).expect("the overridden pin is a line out");
    assert_eq!(line.pin, 0x1a);
}

/// An ELD as a display gives it: version 2, `name`, the speaker allocation
/// bits, and one LPCM descriptor of `channels` at 32-48 kHz, 16/20/24 bits.
fn eld(name: &str, speakers: u8, channels: u8) -> Vec<u8> {
    let mut b = vec![0u8; 20];
    b[0] = 2 << 3;
    b[4] = name.len() as u8;
    b[5] = 1 << 4;
    b[6] = 5;
    b[7] = speakers;
    b.extend_from_slice(name.as_bytes());
    b.extend_from_slice(&[(1 << 3) | (channels - 1), 0x07, 0x07]);
    b.resize(48, 0);
    b
}

#[test]
fn hdmi_pins_play_only_with_a_display_and_get_its_infoframe() {
    use outboard_emu::hda::emulated_hda_from_codecs;
    use outboard_hda::codec::paths::Sink;
    // The four NVIDIA HDMI/DP codecs of an HP z420 (one converter 0x04 and
    // one pin 0x05 each), alone on a controller as on the graphics card.
    let Some(text) = dump("canonical__alc262--hp-z420-workstation-ccert-201206-11246") else { return };
    let nvidia: Vec<_> =
        outboard_hda::codec::dump::parse_dumps(&text).into_iter().filter(|c| c.vendor_id == 0x10de_0014).collect();
    assert_eq!(nvidia.len(), 4);
    let hw = emulated_hda_from_codecs(nvidia).unwrap();
    let model = |a: u8, f: &mut dyn FnMut(&mut ModelCodec)| {
        hw.emu.with_codec_at(a, |c| f(c.as_any().downcast_mut::<ModelCodec>().unwrap())).unwrap()
    };
    let state = |a: u8, nid: u8| {
        hw.emu.with_codec_at(a, |c| c.as_any().downcast_mut::<ModelCodec>().unwrap().state(nid)).unwrap()
    };
    // A 5.1 television on codec 0; a display with a broken ELD (a monitor
    // name longer than the ELD) on codec 1; one that has not given its ELD
    // yet on codec 2; nothing on codec 3.
    model(0, &mut |m| m.set_display(0x05, Some(Some(eld("LG TV", 0b1111, 6)))));
    let mut broken = eld("Broken", 1, 2);
    broken[4] = 0x10;
    broken.truncate(30);
    model(1, &mut |m| m.set_display(0x05, Some(Some(broken.clone()))));
    model(2, &mut |m| m.set_display(0x05, Some(None)));
    hw.emu.start_clock();
    let dev = HdaDevice::open(hw.pci.clone()).unwrap();
    let plans: Vec<_> = dev.codecs().iter().map(|c| &c.plan).collect();
    assert_eq!(plans[0].outputs.len(), 1, "the television's pin is an output");
    assert!(matches!(&plans[0].displays[0].sink, Sink::Eld(e) if e.monitor_name == "LG TV"));
    assert!(plans[1].outputs.is_empty() && plans[2].outputs.is_empty() && plans[3].outputs.is_empty());
    match &plans[1].displays[0].sink {
        Sink::Malformed(why) => assert!(why.contains("monitor name of 16 bytes runs past the ELD's 30"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!((&plans[2].displays[0].sink, &plans[3].displays[0].sink), (&Sink::None, &Sink::None));
    let report = outboard_hda::report::describe(&dev.codecs()[0].codec, plans[0]);
    assert!(report.contains("display pin 0x05: Hdmi \"LG TV\"") && report.contains("FL/FR LFE FC RL/RR"), "{report}");
    assert!(report.contains("LPCM 6 ch, rates [32000, 44100, 48000], bits 16/20/24"), "{report}");

    // 5.1 plays on the television: channel count, slots and the InfoFrame
    // with the 5.1 allocation (CA 0x0b) reach its pin before the samples.
    let six = PcmConfig { channels: 6, ..cfg() };
    let mut pcm = dev.open_pcm(Direction::Playback, six).unwrap();
    let (st_cvt, st_pin) = (state(0, 0x04), state(0, 0x05));
    assert_eq!(st_cvt.chan_count, 5);
    assert_eq!(st_pin.dip_xmit, 0xc0, "InfoFrame sent");
    assert_eq!(&st_pin.dip[..8], &[0x84, 0x01, 0x0a, st_pin.dip[3], 5, 0, 0, 0x0b]);
    assert_eq!(st_pin.dip.iter().fold(0u8, |s, b| s.wrapping_add(*b)), 0, "checksummed");
    assert_eq!(st_pin.chan_slots, [0, 1, 5, 4, 2, 3, 0xf, 0xf], "FL FR LFE FC RL RR, as CEA-861 orders 5.1");
    let bytes = six.buffer_frames() * six.frame_bytes();
    let data = signal::to_le_bytes(&signal::test_signal(bytes / 2 / 6, 6, 4));
    pcm.write_frames(0, &data).unwrap();
    pcm.start().unwrap();
    for _ in 0..six.periods {
        pcm.wait_period(Duration::from_secs(2)).unwrap();
    }
    pcm.stop().unwrap();
    let heard = hw.emu.played();
    assert!(heard.len() >= data.len() && heard[..data.len()] == data[..], "the converter got the samples");
    drop(pcm);
    // What the display does not take is refused, naming what it does.
    let err = dev.open_pcm(Direction::Playback, PcmConfig { channels: 8, ..cfg() }).err().unwrap().to_string();
    assert!(err.contains("the display \"LG TV\" on pin 0x05 does not take 8 channels"), "{err}");
    assert!(err.contains("LPCM 6 ch"), "{err}");

    // Displays come and go: each stream plays on the first one there now.
    model(0, &mut |m| m.set_display(0x05, None));
    let err = dev.open_pcm(Direction::Playback, cfg()).err().unwrap().to_string();
    assert!(err.contains("no display connected"), "{err}");
    model(3, &mut |m| m.set_display(0x05, Some(Some(eld("Projector", 1, 2)))));
    let mut pcm = dev.open_pcm(Direction::Playback, cfg()).unwrap();
    assert_eq!(state(3, 0x05).pin_ctl & 0x40, 0x40, "the pin plugged since is enabled");
    assert_eq!(state(3, 0x04).stream, 1, "its converter carries the stream");
    assert_eq!(state(3, 0x05).dip[7], 0, "stereo: allocation 0");
    pcm.stop().unwrap();
}

#[test]
fn plugging_a_mic_records_from_it_and_pulling_it_goes_back_to_the_internal_mic() {
    let Some(text) = dump(ALC269_EEEPC) else { return };
    let hw = emulated_hda_from_dump(&text).unwrap();
    let dev = HdaDevice::open(hw.pci.clone()).unwrap();
    // The Eee PC: an internal mic and a rear mic jack that can sense.
    assert_eq!(dev.codecs()[0].plan.auto_mic, vec![0x12, 0x18]);
    assert_eq!(dev.selected_capture_source().unwrap(), Some(0x12), "nothing plugged: the internal mic");
    let plug = |on: bool| {
        hw.emu.with_codec(|c| c.as_any().downcast_mut::<ModelCodec>().unwrap().set_plugged(0x18, on));
        hw.emu.send_unsolicited(0, 0x18 << 26);
    };
    plug(true);
    dev.poll_jacks().unwrap();
    assert_eq!(dev.selected_capture_source().unwrap(), Some(0x18), "a mic plugged in records");
    plug(false);
    dev.poll_jacks().unwrap();
    assert_eq!(dev.selected_capture_source().unwrap(), Some(0x12), "and pulled, the internal mic again");
    drop(dev);
    // The hint turns it off: plugging changes nothing.
    let hints = outboard_hda::codec::hints::HintSettings { auto_mic: Some(false), ..Default::default() };
    let dev = HdaDevice::open_with(hw.pci.clone(), &HdaOptions { hints, ..HdaOptions::default() }).unwrap();
    assert!(dev.codecs()[0].plan.auto_mic.is_empty());
    let before = dev.selected_capture_source().unwrap();
    plug(true);
    dev.poll_jacks().unwrap();
    assert_eq!(dev.selected_capture_source().unwrap(), before);
}

#[test]
fn intel_display_pins_are_enabled_then_routed_and_play() {
    use outboard_emu::hda::emulated_hda_from_codecs;
    use outboard_hda::codec::paths::{OutputRole, Sink};
    // The Haswell display codec of an HP Z1 G2: its pins show no connection
    // until the driver sets Intel's "enable all pins and converters" bit.
    let Some(text) = dump("canonical__92hd89e3--hp-z1-g2-touch-workstation-ccert-201406-15258") else { return };
    let hsw: Vec<_> =
        outboard_hda::codec::dump::parse_dumps(&text).into_iter().filter(|c| c.vendor_id == 0x8086_2807).collect();
    assert_eq!(hsw.len(), 1);
    assert_eq!(hsw[0].node(0x06).unwrap().connections, vec![0x02, 0x03, 0x04], "the list Linux used, from the dump");
    let hw = emulated_hda_from_codecs(hsw).unwrap();
    let intel = |f: &mut dyn FnMut(&mut ModelCodec) -> bool| {
        hw.emu.with_codec(|c| f(c.as_any().downcast_mut::<ModelCodec>().unwrap()))
    };
    intel(&mut |m| {
        m.set_display(0x06, Some(Some(eld("HP Z24n", 1, 2))));
        m.intel_all_pins_enabled()
    });
    hw.emu.start_clock();
    let dev = HdaDevice::open(hw.pci.clone()).unwrap();
    assert!(intel(&mut |m| m.intel_all_pins_enabled()), "the driver enabled the pins");
    let plan = &dev.codecs()[0].plan;
    let outs: Vec<(u8, u8, OutputRole)> = plan.outputs.iter().map(|o| (o.pin, o.dac, o.role)).collect();
    assert_eq!(outs, vec![(0x06, 0x03, OutputRole::Digital)], "the pin with a display, on its own converter");
    assert_eq!(
        plan.displays.iter().map(|d| (d.pin, matches!(d.sink, Sink::Eld(_)))).collect::<Vec<_>>(),
        [(0x05, false), (0x06, true)]
    );
    let (sent, heard) = play_one_ring(&dev, &hw.emu);
    assert!(heard.len() >= sent.len() && heard[..sent.len()] == sent[..], "the display's converter got the samples");
}
