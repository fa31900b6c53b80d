//! The HDA driver's bring-up and streaming against the emulated controller:
//! the same code the bench runs on QEMU's ICH9, here in `cargo test`.

use std::time::Duration;

use outboard_emu::hda::codec::DuplexCodec;
use outboard_emu::hda::{emulated_hda, Faults};
use outboard_hda::codec::{read_codec, WidgetKind};
use outboard_hda::stream::{Stream, StreamConfig};
use outboard_hda::verb::{Verb, SET_CHANNEL_STREAMID, SET_CONVERTER_FORMAT};
use outboard_hda::{Controller, Error};
use outboard_signal::signal;

fn config() -> StreamConfig {
    StreamConfig { rate: 48_000, bits: 16, channels: 2, period_bytes: 1024, periods: 4 }
}

#[test]
fn bring_up_reads_the_codec_through_corb_and_rirb() {
    let hw = emulated_hda();
    let mut ctrl = Controller::open(hw.pci.clone()).unwrap();
    assert_eq!(ctrl.caps().gcap, 0x4401);
    assert_eq!((ctrl.caps().output_streams, ctrl.caps().input_streams), (4, 4));
    ctrl.reset().unwrap();
    assert_eq!(ctrl.codec_mask(), 1);
    ctrl.init_command_rings().unwrap();
    let info = read_codec(&mut ctrl, 0).unwrap();
    assert_eq!(info.vendor_id, DuplexCodec::VENDOR_ID);
    assert_eq!(info.afg, Some(1));
    let kinds: Vec<_> = info.nodes.iter().map(|w| (w.nid, w.kind())).collect();
    assert_eq!(
        kinds,
        vec![(2, WidgetKind::AudioOutput), (3, WidgetKind::Pin), (4, WidgetKind::AudioInput), (5, WidgetKind::Pin)]
    );
    assert!(!ctrl.uses_immediate_commands());
    // More verbs than the 256-entry rings hold: the pointers wrap.
    for _ in 0..300 {
        assert_eq!(ctrl.send(Verb::new(0, 0, outboard_hda::verb::GET_PARAMETER, 0)).unwrap(), DuplexCodec::VENDOR_ID);
    }
}

#[test]
fn a_played_signal_reaches_the_codec_bit_exact_with_an_interrupt_per_period() {
    let hw = emulated_hda();
    let mut ctrl = Controller::open(hw.pci.clone()).unwrap();
    ctrl.reset().unwrap();
    ctrl.init_command_rings().unwrap();
    let irq = ctrl.enable_interrupts().unwrap();
    let cfg = config();
    let index = ctrl.caps().output_descriptor(0).unwrap();
    let stream = Stream::setup(&ctrl, index, 3, cfg).unwrap();
    let sent = signal::to_le_bytes(&signal::test_signal(cfg.buffer_bytes() / 4, 2, 9));
    stream.write(0, &sent).unwrap();
    ctrl.send(Verb::long(0, DuplexCodec::DAC, SET_CONVERTER_FORMAT, stream.format().unwrap())).unwrap();
    ctrl.send(Verb::new(0, DuplexCodec::DAC, SET_CHANNEL_STREAMID, 3 << 4)).unwrap();
    stream.start().unwrap();

    let frames_per_period = cfg.period_bytes / 4;
    for period in 0..cfg.periods {
        hw.emu.advance_frames(frames_per_period);
        assert!(irq.wait(Duration::from_secs(1)).unwrap() >= 1, "period {period} raised no interrupt");
        assert_eq!(stream.ack().unwrap() & 0x04, 0x04, "BCIS set");
        ctrl.ack_interrupt().unwrap();
        assert_eq!(stream.lpib().unwrap(), ((period + 1) * cfg.period_bytes) % cfg.buffer_bytes());
    }
    assert_eq!(hw.emu.played(), sent, "the codec received exactly what was written");
    stream.stop().unwrap();
    hw.emu.advance_frames(1000);
    assert_eq!(hw.emu.played().len(), sent.len(), "a stopped stream moves no data");
}

#[test]
fn a_stream_whose_tag_the_codec_does_not_carry_is_not_heard() {
    let hw = emulated_hda();
    let mut ctrl = Controller::open(hw.pci.clone()).unwrap();
    ctrl.reset().unwrap();
    ctrl.init_command_rings().unwrap();
    let stream = Stream::setup(&ctrl, ctrl.caps().output_descriptor(0).unwrap(), 2, config()).unwrap();
    stream.write(0, &[0x55; 4096]).unwrap();
    ctrl.send(Verb::new(0, DuplexCodec::DAC, SET_CHANNEL_STREAMID, 5 << 4)).unwrap();
    stream.start().unwrap();
    hw.emu.advance_frames(512);
    assert!(hw.emu.played().is_empty());
    assert_eq!(stream.lpib().unwrap(), 2048, "the DMA engine still ran");
}

#[test]
fn a_controller_stuck_in_reset_is_a_timeout_naming_gctl() {
    let hw = emulated_hda();
    hw.emu.set_faults(Faults { stuck_in_reset: true, ..Faults::default() });
    let mut ctrl = Controller::open(hw.pci.clone()).unwrap();
    let err = ctrl.reset().unwrap_err();
    assert!(matches!(err, Error::Timeout { register: "GCTL", .. }), "{err}");
    assert!(err.to_string().contains("0000:00:1b.0"), "{err}");
}

#[test]
fn a_codec_that_never_answers_is_a_clear_error() {
    let hw = emulated_hda();
    let mut ctrl = Controller::open(hw.pci.clone()).unwrap();
    ctrl.reset().unwrap();
    ctrl.init_command_rings().unwrap();
    hw.emu.set_faults(Faults { silent_codec: true, ..Faults::default() });
    let err = read_codec(&mut ctrl, 0).unwrap_err();
    assert!(matches!(err, Error::NoResponse { codec: 0, .. }), "{err}");
    assert!(err.to_string().contains("did not answer verb 0x000f0000"), "{err}");
}

#[test]
fn a_stalled_corb_falls_back_to_immediate_commands() {
    let hw = emulated_hda();
    let mut ctrl = Controller::open(hw.pci.clone()).unwrap();
    ctrl.reset().unwrap();
    ctrl.init_command_rings().unwrap();
    hw.emu.set_faults(Faults { corb_stalled: true, ..Faults::default() });
    let info = read_codec(&mut ctrl, 0).unwrap();
    assert_eq!(info.vendor_id, DuplexCodec::VENDOR_ID);
    assert!(ctrl.uses_immediate_commands());
}

#[test]
fn bad_stream_requests_are_refused_and_memory_is_freed() {
    let hw = emulated_hda();
    {
        let mut ctrl = Controller::open(hw.pci.clone()).unwrap();
        ctrl.reset().unwrap();
        ctrl.init_command_rings().unwrap();
        let idx = ctrl.caps().output_descriptor(0).unwrap();
        let bad_rate = StreamConfig { rate: 12_345, ..config() };
        assert!(Stream::setup(&ctrl, idx, 1, bad_rate).unwrap_err().to_string().contains("12345 Hz"));
        let one_period = StreamConfig { periods: 1, ..config() };
        assert!(Stream::setup(&ctrl, idx, 1, one_period).is_err());
        assert!(Stream::setup(&ctrl, idx, 0, config()).unwrap_err().to_string().contains("tag 0"));
        let s = Stream::setup(&ctrl, idx, 1, config()).unwrap();
        s.start().unwrap();
        assert!(hw.dma.live_buffers() >= 3);
    }
    assert_eq!(hw.dma.live_buffers(), 0, "rings, BDL and buffer freed with the controller");
}
