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
