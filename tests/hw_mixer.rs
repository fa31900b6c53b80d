//! /dev/mixer's handler on the drivers' real controls (issue #5), against
//! emulated hardware: HDA controllers built from real codec dumps (their
//! amplifiers and selectors read back from the emulated codec), QEMU's
//! usb-audio feature unit as hw/usb/dev-audio.c answers it, the f_uac2
//! emulator, and a UAC1 card with a capture source selector. Each test does
//! what an OSS mixer program does (MIXER_WRITE, RECSRC) and checks what the
//! device was set to.

#[path = "../src/hw_controls.rs"]
#[allow(dead_code)]
mod hw_controls;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use outboard_cuse::{Handler, Request};
use outboard_emu::hda::emulated_hda_from_dump;
use outboard_emu::hda::model::{ModelCodec, NodeState};
use outboard_emu::hda::EmulatedHda;
use outboard_emu::usb::descriptors::qemu_usb_audio;
use outboard_emu::usb::uac2::{Uac2Device, Uac2Options};
use outboard_hal::usb::mem::{MemUsb, UsbFunction};
use outboard_hal::usb::{ControlSetup, IsoPacketResult, Speed, Transfer, TransferStatus, UsbDevice};
use outboard_hda::device::HdaDevice;
use outboard_mixer::devices::{MemoryDevice, Pacing};
use outboard_mixer::engine::Engine;
use outboard_mixer::format::SampleFormat;
use outboard_mixer::pcm::{PcmConfig, PcmStream};
use outboard_oss::hw::HwControls;
use outboard_oss::info::OssSystem;
use outboard_oss::mixer::*;
use outboard_oss::soundcard::*;
use outboard_uac::UacDevice;

use hw_controls::{HdaControls, UacControls};

const REQ: Request = Request::new(1, 4321, 0, 0);

fn mixer(hw: Arc<dyn HwControls>) -> Mixer {
    let cfg = PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: 256, periods: 4 };
    let play: Box<dyn PcmStream> = Box::new(MemoryDevice::null(cfg, Pacing::RealTime));
    let engine = Arc::new(Engine::start_with(Some(play), None).unwrap());
    let system = Arc::new(OssSystem::single("test card", engine, &["/dev/dsp"], Some("/dev/mixer")));
    Mixer::on(system, 0).unwrap().with_hw(hw)
}

fn ioctl(m: &Mixer, cmd: u32, arg: u32) -> Result<u32, i32> {
    m.ioctl(&REQ, 1, cmd, &arg.to_le_bytes()).map(|(_, out)| u32::from_le_bytes(out[..4].try_into().unwrap()))
}

fn lr(l: u32, r: u32) -> u32 {
    l | (r << 8)
}

// ------------------------------------------------------------------ HDA

fn dump(name: &str) -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/hw-fixtures/hda-codecs").join(name);
    match std::fs::read(&path) {
        Ok(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        Err(_) => {
            eprintln!("!!!! SKIPPED: no codec dump at {} !!!!", path.display());
            assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "under CI the codec dumps must be there");
            None
        }
    }
}

fn hda(name: &str) -> Option<(EmulatedHda, Arc<HdaDevice>, Mixer)> {
    let hw = emulated_hda_from_dump(&dump(name)?).unwrap();
    let dev = Arc::new(HdaDevice::open(hw.pci.clone()).unwrap());
    let controls = HdaControls::new(dev.clone()).unwrap();
    let m = mixer(Arc::new(controls));
    Some((hw, dev, m))
}

fn node(hw: &EmulatedHda, nid: u8) -> NodeState {
    hw.emu.with_codec_at(0, |c| c.as_any().downcast_mut::<ModelCodec>().unwrap().state(nid)).unwrap()
}

/// The ALC260 of an Acer Aspire 9500: line out through mixer 0x08 (output
/// amp: 64 steps of 1 dB, 0 dB at the top, no mute), a mono speaker through
/// 0x0a; mic 0x12, line in 0x14 and CD 0x16 straight into ADC 0x04, which
/// selects among them and has an input amp per connection (35 steps of
/// 1 dB from 0 dB, with mute).
#[test]
fn hda_volume_sets_the_output_amps_and_recsrc_the_adc_selector() {
    let Some((hw, _dev, m)) = hda("alc260-acer-aspire-9500") else { return };
    // Set up at 0 dB, the top of 0x08's range.
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_VOLUME, 0), Ok(lr(100, 100)));
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, lr(50, 50)), Ok(lr(50, 50)));
    // 50 of 64 steps: step 32, -32 dB, on both channels.
    assert_eq!(node(&hw, 0x08).amp_out, [32, 32]);
    // The speaker's amp (0 dB at step 0x23) takes the same -32 dB: step 3.
    assert_eq!(node(&hw, 0x0a).amp_out[0], 3);
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_VOLUME, 0), Ok(lr(50, 50)));
    // Apart; then 0, which 0x08 cannot mute: the lowest step, and the line
    // out pin 0x0f's output amp (mute only, Linux's "Front Playback
    // Switch") mutes; the mono speaker's at its pin 0x11 ("Speaker
    // Playback Switch").
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, lr(75, 10)), Ok(lr(75, 10)));
    assert_eq!(node(&hw, 0x08).amp_out, [48, 6]);
    assert_eq!(node(&hw, 0x0f).amp_out, [0, 0], "unmuted");
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, lr(0, 40)), Ok(lr(0, 40)));
    assert_eq!(node(&hw, 0x08).amp_out, [0, 26]);
    assert_eq!(node(&hw, 0x0f).amp_out, [0x80, 0], "left muted");
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, 0), Ok(0));
    assert_eq!(node(&hw, 0x08).amp_out, [0, 0]);
    assert_eq!(node(&hw, 0x0f).amp_out, [0x80, 0x80]);
    assert_eq!(node(&hw, 0x11).amp_out[0], 0x80);
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, lr(50, 50)), Ok(lr(50, 50)));
    assert_eq!(node(&hw, 0x0f).amp_out, [0, 0], "unmuted again");
    assert_eq!(node(&hw, 0x11).amp_out[0], 0);

    let sources = mask(SOUND_MIXER_MIC) | mask(SOUND_MIXER_LINE) | mask(SOUND_MIXER_CD);
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_RECMASK, 0), Ok(sources));
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_CAPS, 0), Ok(SOUND_CAP_EXCL_INPUT));
    // The first source is selected at start: the mic, connection 0.
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_RECSRC, 0), Ok(mask(SOUND_MIXER_MIC)));
    assert_eq!(node(&hw, 0x04).select, 0);
    // CD is connection 4 of [0x12 0x13 0x14 0x15 0x16 0x0f 0x10].
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_RECSRC, mask(SOUND_MIXER_CD)), Ok(mask(SOUND_MIXER_CD)));
    assert_eq!(node(&hw, 0x04).select, 4);
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_RECSRC, mask(SOUND_MIXER_LINE)), Ok(mask(SOUND_MIXER_LINE)));
    assert_eq!(node(&hw, 0x04).select, 2);
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_RECSRC, mask(SOUND_MIXER_MIC)), Ok(mask(SOUND_MIXER_MIC)));
    assert_eq!(node(&hw, 0x04).select, 0);
    // Sources the codec lacks: EINVAL, and the selection stays.
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_RECSRC, mask(SOUND_MIXER_RADIO)), Err(libc::EINVAL));
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_RECSRC, mask(SOUND_MIXER_LINE1)), Err(libc::EINVAL));
    assert_eq!(node(&hw, 0x04).select, 0);

    // IGAIN is the ADC's input amp on the selected connection.
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_IGAIN, 0), Ok(lr(0, 0)), "setup left it at 0 dB, the bottom");
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_IGAIN, lr(50, 50)), Ok(lr(50, 50)));
    // 50 of 35 steps: step 18, +18 dB.
    assert_eq!(node(&hw, 0x04).amp_in.get(&0), Some(&[18, 18]));
    // The CD's connection takes the same gain when it is selected.
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_RECSRC, mask(SOUND_MIXER_CD)), Ok(mask(SOUND_MIXER_CD)));
    assert_eq!(node(&hw, 0x04).amp_in.get(&4), Some(&[18, 18]));
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_IGAIN, 0), Ok(lr(50, 50)));
    // IGAIN 0 mutes it.
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_IGAIN, 0), Ok(0));
    assert_eq!(node(&hw, 0x04).amp_in.get(&4), Some(&[0x80, 0x80]));
}

/// The ALC888 of an Asus M3A-H: mics 0x18, 0x19 and line in 0x1a are summed
/// by mixer 0x23 into ADC 0x08, so a source is chosen by muting the
/// mixer's other inputs; four line outs and a headphone, each with its own
/// volume amp (31 steps of 1.5 dB).
#[test]
fn hda_recsrc_on_a_mixer_mutes_the_other_sources() {
    let Some((hw, _dev, m)) = hda("alc1200-asus-m3a-h") else { return };
    let mics_line = mask(SOUND_MIXER_MIC) | mask(SOUND_MIXER_LINE1) | mask(SOUND_MIXER_LINE);
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_RECMASK, 0), Ok(mics_line));
    let inputs = |hw: &EmulatedHda| {
        let st = node(hw, 0x23);
        [0u8, 1, 2].map(|i| st.amp_in.get(&i).is_none_or(|a| a[0] & 0x80 != 0))
    };
    // Setup unmuted all three; the first mic alone is left on.
    assert_eq!(inputs(&hw), [false, true, true]);
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_RECSRC, 0), Ok(mask(SOUND_MIXER_MIC)));
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_RECSRC, mask(SOUND_MIXER_LINE)), Ok(mask(SOUND_MIXER_LINE)));
    assert_eq!(inputs(&hw), [true, true, false], "muted: mic, second mic; on: line");
    // The second mic is LINE1.
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_RECSRC, mask(SOUND_MIXER_LINE1)), Ok(mask(SOUND_MIXER_LINE1)));
    assert_eq!(inputs(&hw), [true, false, true]);

    // Every analog output's volume amp follows VOLUME.
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, lr(50, 100)), Ok(lr(50, 100)));
    for nid in [0x0c, 0x0d, 0x0e, 0x0f, 0x26] {
        // 50 of 31 steps: step 16 (-22.5 dB); 100: step 31 (0 dB).
        assert_eq!(node(&hw, nid).amp_out, [16, 31], "amp {nid:#04x}");
    }
}

#[test]
fn hda_jacks_under_the_daemon_plug_mute_the_speaker_and_tell_the_listeners() {
    use outboard_oss::hw::{Change, Watched};
    let Some(text) = dump("alc269-asus-eeepc-1000") else { return };
    let hw = emulated_hda_from_dump(&text).unwrap();
    let dev = Arc::new(HdaDevice::open(hw.pci.clone()).unwrap());
    let controls: Arc<dyn HwControls> = Arc::new(Watched::new(Arc::new(HdaControls::new(dev.clone()).unwrap())));
    let heard = Arc::new(Mutex::new(Vec::new()));
    let h = heard.clone();
    controls.on_change(Box::new(move |c| h.lock().unwrap().push(c)));
    // The jacks as Linux's driver names them for this codec.
    let jacks: Vec<String> = controls.jacks().iter().map(|j| format!("{} Jack", j.label)).collect();
    assert!(jacks.contains(&"Headphone Jack".to_string()), "{jacks:?}");
    assert!(jacks.contains(&"Speaker Phantom Jack".to_string()), "{jacks:?}");
    let hp_index = jacks.iter().position(|j| j == "Headphone Jack").unwrap();
    let plan = &dev.codecs()[0].plan;
    let (spk, hp) = (
        plan.output(outboard_hda::codec::paths::OutputRole::Speaker).unwrap().pin,
        plan.output(outboard_hda::codec::paths::OutputRole::Headphone).unwrap().pin,
    );
    assert!(!controls.jacks_present().unwrap()[hp_index]);
    // Nothing happened: nothing to report (what the daemon's poll sees
    // ten times a second).
    assert_eq!(controls.poll_events().unwrap(), []);

    hw.emu.with_codec(|c| c.as_any().downcast_mut::<ModelCodec>().unwrap().set_plugged(hp, true));
    hw.emu.send_unsolicited(0, u32::from(hp) << 26);
    assert_eq!(controls.poll_events().unwrap(), [Change::Jacks]);
    assert!(controls.jacks_present().unwrap()[hp_index], "the headphone jack reads plugged");
    assert_eq!(node(&hw, spk).pin_ctl & 0x40, 0, "the speaker is auto-muted");
    assert_eq!(*heard.lock().unwrap(), [Change::Jacks], "the nodes' listeners heard of it");
    assert_eq!(controls.poll_events().unwrap(), [], "one event, one report");

    hw.emu.with_codec(|c| c.as_any().downcast_mut::<ModelCodec>().unwrap().set_plugged(hp, false));
    hw.emu.send_unsolicited(0, u32::from(hp) << 26);
    assert_eq!(controls.poll_events().unwrap(), [Change::Jacks]);
    assert!(!controls.jacks_present().unwrap()[hp_index]);
    assert_eq!(node(&hw, spk).pin_ctl & 0x40, 0x40, "the speaker is back");

    // Auto-Mute Mode set to Disabled: headphones in, the speaker plays on;
    // enabled again with them in, it is silenced at once.
    assert!(controls.can_automute());
    assert_eq!(controls.automute(), Ok(true));
    controls.set_automute(false).unwrap();
    assert_eq!(heard.lock().unwrap().last(), Some(&Change::AutoMute));
    hw.emu.with_codec(|c| c.as_any().downcast_mut::<ModelCodec>().unwrap().set_plugged(hp, true));
    hw.emu.send_unsolicited(0, u32::from(hp) << 26);
    assert_eq!(controls.poll_events().unwrap(), [Change::Jacks]);
    assert_eq!(node(&hw, spk).pin_ctl & 0x40, 0x40, "auto-mute off: the speaker plays on");
    controls.set_automute(true).unwrap();
    assert_eq!(node(&hw, spk).pin_ctl & 0x40, 0, "auto-mute on: the speaker is silenced");
}

/// Linux's per-output volumes under a virtual Master on a laptop codec
/// with a speaker and a headphone jack on DACs of their own: each output
/// has its own level, and Master moves both by its offset from the top.
#[test]
fn hda_per_output_volumes_sit_under_a_virtual_master() {
    use outboard_oss::hw::Gain;
    let Some(text) = dump("alc269-asus-eeepc-1000") else { return };
    let hw = emulated_hda_from_dump(&text).unwrap();
    let dev = Arc::new(HdaDevice::open(hw.pci.clone()).unwrap());
    let controls = HdaControls::new(dev.clone()).unwrap();
    let ports = controls.output_ports();
    let mut labels: Vec<&str> = ports.iter().map(|p| p.label.as_str()).collect();
    labels.sort_unstable();
    assert_eq!(labels, ["Headphone", "Speaker"], "named as Linux names them");
    let at = |label: &str| ports.iter().position(|p| p.label == label).unwrap();
    let (spk_port, hp_port) = (at("Speaker") as u8, at("Headphone") as u8);
    let amps: Vec<u8> = dev.output_ports().iter().map(|p| p.volume.nid).collect();
    let (spk, hp) = (amps[usize::from(spk_port)], amps[usize::from(hp_port)]);
    assert_ne!(spk, hp);
    let master = controls.gain_range(Gain::Output).unwrap();
    let hp_range = controls.gain_range(Gain::Port(hp_port)).unwrap();
    let step = |nid: u8| node(&hw, nid).amp_out.map(|v| v & 0x7f);
    let muted = |nid: u8| node(&hw, nid).amp_out.map(|v| v & 0x80 != 0);
    let spk_before = step(spk);

    // The headphone 10 dB down: its amp alone moves.
    let hp_db = hp_range.max_db() - 10.0;
    controls.set_gain(Gain::Port(hp_port), [Some(hp_db); 2]).unwrap();
    assert_eq!(step(hp), [hp_range.step_of(hp_db) as u8; 2]);
    assert_eq!(step(spk), spk_before, "the speaker keeps its level");
    assert_eq!(controls.gain(Gain::Port(hp_port)).unwrap(), [Some(hp_db); 2]);

    // Master 20 dB down from its top: both outputs 20 dB lower, each from
    // its own level; the per-output values read as they were set.
    controls.set_gain(Gain::Output, [Some(master.max_db() - 20.0); 2]).unwrap();
    assert_eq!(step(hp), [hp_range.step_of(hp_db - 20.0) as u8; 2]);
    let spk_range = controls.gain_range(Gain::Port(spk_port)).unwrap();
    let spk_db = spk_range.db(u32::from(spk_before[0]));
    assert_eq!(step(spk), [spk_range.step_of(spk_db - 20.0) as u8; 2]);
    assert_eq!(controls.gain(Gain::Output).unwrap(), [Some(master.max_db() - 20.0); 2]);
    assert_eq!(controls.gain(Gain::Port(hp_port)).unwrap(), [Some(hp_db); 2]);

    // Master muted: both silent (at their volume amplifier or, where that
    // has no mute, at the pin's); unmuted: both back where they were.
    let plan = &dev.codecs()[0].plan;
    let pin = |role| plan.output(role).unwrap().pin;
    use outboard_hda::codec::paths::OutputRole;
    let silenced = |amp: u8, pin: u8| muted(amp) == [true; 2] || muted(pin) == [true; 2];
    let (spk_pin, hp_pin) = (pin(OutputRole::Speaker), pin(OutputRole::Headphone));
    controls.set_gain(Gain::Output, [None; 2]).unwrap();
    assert!(silenced(hp, hp_pin), "the headphone is muted");
    assert!(silenced(spk, spk_pin), "the speaker is muted");
    controls.set_gain(Gain::Output, [Some(master.max_db()); 2]).unwrap();
    assert!(!silenced(hp, hp_pin) && !silenced(spk, spk_pin), "both unmuted");
    assert_eq!(step(hp), [hp_range.step_of(hp_db) as u8; 2]);
    assert_eq!(step(spk), spk_before);

    // A port that is not there is an error, not a panic.
    assert!(controls.set_gain(Gain::Port(7), [Some(0.0); 2]).is_err());
    assert!(controls.gain(Gain::Port(7)).is_err());
}

// ------------------------------------------------------------------ USB

/// QEMU's usb-audio as hw/usb/dev-audio.c (QEMU 10.0) answers the driver:
/// feature unit 2, volume on channels 1 and 2 only (CN 0 STALLs) with MIN
/// 0x8001, MAX 0x0800, RES 0x0088; a SET_CUR keeps
/// `((raw - 0x8000) * 255 + 0x4400) / 0x8800` (at most 255) as the voice's
/// amplitude in 255ths, and GET_CUR answers it back as
/// `(vol * 0x8800 + 127) / 255 + 0x8000`. Mute: master only.
struct QemuUsbAudio {
    vol: Arc<Mutex<([u16; 2], bool)>>,
}

impl UsbFunction for QemuUsbAudio {
    fn descriptors(&self) -> Vec<u8> {
        qemu_usb_audio(false)
    }
    fn speed(&self) -> Speed {
        Speed::Full
    }
    fn control(&mut self, setup: &ControlSetup, data: &[u8]) -> Result<Vec<u8>, TransferStatus> {
        let (cs, cn) = ((setup.value >> 8) as u8, (setup.value & 0xff) as u8);
        let mut st = self.vol.lock().unwrap();
        let ch = usize::from(cn.wrapping_sub(1));
        match (setup.request_type, setup.request, setup.index, cs) {
            (0xa1, 0x81, 0x0200, 1) => Ok(vec![u8::from(st.1)]),
            (0x21, 0x01, 0x0200, 1) => {
                st.1 = data[0] & 1 != 0;
                Ok(Vec::new())
            }
            (0xa1, 0x81, 0x0200, 2) if ch < 2 => {
                let v = (u32::from(st.0[ch]) * 0x8800 + 127) / 255 + 0x8000;
                Ok((v as u16).to_le_bytes().to_vec())
            }
            (0xa1, 0x82, 0x0200, 2) if ch < 2 => Ok(vec![0x01, 0x80]),
            (0xa1, 0x83, 0x0200, 2) if ch < 2 => Ok(vec![0x00, 0x08]),
            (0xa1, 0x84, 0x0200, 2) if ch < 2 => Ok(vec![0x88, 0x00]),
            (0x21, 0x01, 0x0200, 2) if ch < 2 => {
                let raw = u16::from_le_bytes([data[0], data[1]]);
                let v = (u32::from(raw.wrapping_sub(0x8000)) * 255 + 0x4400) / 0x8800;
                st.0[ch] = v.min(255) as u16;
                Ok(Vec::new())
            }
            _ => Err(TransferStatus::Stall),
        }
    }
    fn set_alt_setting(&mut self, _: u8, _: u8) -> Result<(), TransferStatus> {
        Ok(())
    }
    fn transfer(&mut self, _: &mut Transfer) -> (TransferStatus, Vec<IsoPacketResult>, usize) {
        (TransferStatus::Stall, Vec::new(), 0)
    }
}

fn uac(function: Box<dyn UsbFunction>) -> (Arc<UacDevice>, Mixer) {
    let usb: Arc<dyn UsbDevice> = Arc::new(MemUsb::new("usb 1-1", function));
    let dev = Arc::new(UacDevice::open(usb, &[]).unwrap());
    let m = mixer(Arc::new(UacControls::new(dev.clone())));
    (dev, m)
}

#[test]
fn usb_volume_sets_qemu_s_feature_unit_per_channel() {
    let vol = Arc::new(Mutex::new(([240u16, 240], false)));
    let (_dev, m) = uac(Box::new(QemuUsbAudio { vol: vol.clone() }));
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_DEVMASK, 0), Ok(mask(SOUND_MIXER_VOLUME) | mask(SOUND_MIXER_PCM)));
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_STEREODEVS, 0), Ok(mask(SOUND_MIXER_VOLUME) | mask(SOUND_MIXER_PCM)));
    // QEMU starts at 240/255, which GET_CUR answers as 0x0000 (0 dB): step
    // 241 of -128..+8 dB in 255 steps of 0.53 dB, level 95.
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_VOLUME, 0), Ok(lr(95, 95)));
    // 50: step 128 of 255, raw -32767 + 128 * 136 = -15359 (-60 dB), which
    // QEMU keeps as 128/255 of full scale (-5.99 dB).
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, lr(50, 50)), Ok(lr(50, 50)));
    assert_eq!(*vol.lock().unwrap(), ([128, 128], false));
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_VOLUME, 0), Ok(lr(50, 50)));
    // 100 and 25: steps 255 (raw 1913, QEMU 254) and 64 (raw -24063, QEMU 64).
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, lr(100, 25)), Ok(lr(100, 25)));
    assert_eq!(*vol.lock().unwrap(), ([254, 64], false));
    // One side 0: that channel at its minimum, the master mute stays off;
    // both 0: the master mute.
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, lr(0, 80)), Ok(lr(0, 80)));
    assert_eq!(vol.lock().unwrap().0[0], 0);
    assert!(!vol.lock().unwrap().1);
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, 0), Ok(0));
    assert!(vol.lock().unwrap().1);
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_RECMASK, 0), Ok(0), "playback only: no sources");
}

#[test]
fn usb_uac2_master_only_units_are_mono_and_igain_is_the_capture_unit() {
    let (device, control) = Uac2Device::new(Uac2Options::default());
    let (_dev, m) = uac(Box::new(device));
    let all = mask(SOUND_MIXER_VOLUME) | mask(SOUND_MIXER_PCM) | mask(SOUND_MIXER_IGAIN);
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_DEVMASK, 0), Ok(all));
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_STEREODEVS, 0), Ok(mask(SOUND_MIXER_PCM)), "master-only units are mono");
    // -100..0 dB in 1 dB steps; a mono control takes the left level.
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, lr(50, 80)), Ok(lr(50, 50)));
    assert_eq!(control.stats().volume_db256[0], -50 * 256);
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_IGAIN, lr(75, 75)), Ok(lr(75, 75)));
    assert_eq!(control.stats().capture_volume_db256[0], -25 * 256);
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_IGAIN, 0), Ok(0));
    assert!(control.stats().capture_mute[0]);
    assert_eq!(control.stats().capture_volume_db256[0], -100 * 256);
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_RECMASK, 0), Ok(0), "f_uac2 has no selector");
}

/// A hand-made UAC1 card with a capture source selector:
///
/// ```text
/// playback: IT 1 (USB streaming) -> FU 2 (master mute, volume L/R) -> OT 3 (speaker)
/// capture:  IT 4 (microphone) ┐
///           IT 5 (line)      ├-> SU 7 -> FU 8 (master mute + volume) -> OT 9 (USB streaming)
///           IT 6 (CD player) ┘
/// ```
/// AS interface 1: playback, iso OUT 0x01; AS interface 2: capture, iso IN
/// 0x82; both 16-bit stereo at 48 kHz. Volumes -64..0 dB in 1 dB steps.
fn selector_card_descriptors() -> Vec<u8> {
    let mut ac: Vec<u8> = Vec::new();
    let it = |id: u8, ty: u16| vec![12, 0x24, 0x02, id, ty as u8, (ty >> 8) as u8, 0, 2, 0x03, 0x00, 0, 0];
    let ot = |id: u8, ty: u16, src: u8| vec![9, 0x24, 0x03, id, ty as u8, (ty >> 8) as u8, 0, src, 0];
    ac.extend(it(1, 0x0101));
    // FU 2: bControlSize 1, master mute, channel 1 and 2 volume.
    ac.extend([10, 0x24, 0x06, 2, 1, 1, 0x01, 0x02, 0x02, 0]);
    ac.extend(ot(3, 0x0301, 2));
    ac.extend(it(4, 0x0201));
    ac.extend(it(5, 0x0603));
    ac.extend(it(6, 0x0703));
    // SU 7: three input pins.
    ac.extend([9, 0x24, 0x05, 7, 3, 4, 5, 6, 0]);
    // FU 8: master mute and volume.
    ac.extend([10, 0x24, 0x06, 8, 7, 1, 0x03, 0x00, 0x00, 0]);
    ac.extend(ot(9, 0x0101, 8));
    let total = (10 + ac.len()) as u16;
    let mut cfg: Vec<u8> = vec![9, 0x04, 0, 0, 0, 0x01, 0x01, 0, 0];
    cfg.extend([10, 0x24, 0x01, 0x00, 0x01, total as u8, (total >> 8) as u8, 2, 1, 2]);
    cfg.extend(ac);
    for (iface, link, ep, attr) in [(1u8, 1u8, 0x01u8, 0x09u8), (2, 9, 0x82, 0x05)] {
        cfg.extend([9, 0x04, iface, 0, 0, 0x01, 0x02, 0, 0]);
        cfg.extend([9, 0x04, iface, 1, 1, 0x01, 0x02, 0, 0]);
        cfg.extend([7, 0x24, 0x01, link, 1, 0x01, 0x00]);
        cfg.extend([11, 0x24, 0x02, 1, 2, 2, 16, 1, 0x80, 0xbb, 0x00]);
        cfg.extend([9, 0x05, ep, attr, 200, 0, 1, 0, 0]);
        cfg.extend([7, 0x25, 0x01, 0, 0, 0, 0]);
    }
    let len = (9 + cfg.len()) as u16;
    let mut out = vec![18, 0x01, 0x10, 0x01, 0, 0, 0, 64, 0x34, 0x12, 0x78, 0x56, 0, 1, 0, 0, 0, 1];
    out.extend([9, 0x02, len as u8, (len >> 8) as u8, 3, 1, 0, 0x80, 50]);
    out.extend(cfg);
    out
}

#[derive(Default)]
struct CardState {
    selector: u8,
    /// (unit, channel) -> raw volume; (unit) -> mute.
    volume: std::collections::HashMap<(u8, u8), i16>,
    mute: std::collections::HashMap<u8, bool>,
}

struct SelectorCard(Arc<Mutex<CardState>>);

impl UsbFunction for SelectorCard {
    fn descriptors(&self) -> Vec<u8> {
        selector_card_descriptors()
    }
    fn speed(&self) -> Speed {
        Speed::Full
    }
    fn control(&mut self, setup: &ControlSetup, data: &[u8]) -> Result<Vec<u8>, TransferStatus> {
        let mut st = self.0.lock().unwrap();
        let (unit, cs, cn) = ((setup.index >> 8) as u8, (setup.value >> 8) as u8, setup.value as u8);
        let volume_ok = matches!((unit, cn), (2, 1 | 2) | (8, 0));
        match (setup.request_type, setup.request, unit, cs) {
            (0xa1, 0x81, 7, 0) if cn == 0 => Ok(vec![st.selector]),
            (0x21, 0x01, 7, 0) if cn == 0 && (1..=3).contains(&data[0]) => {
                st.selector = data[0];
                Ok(Vec::new())
            }
            (0xa1, 0x81, 2 | 8, 1) if cn == 0 => Ok(vec![u8::from(*st.mute.get(&unit).unwrap_or(&false))]),
            (0x21, 0x01, 2 | 8, 1) if cn == 0 => {
                st.mute.insert(unit, data[0] != 0);
                Ok(Vec::new())
            }
            (0xa1, 0x81, _, 2) if volume_ok => {
                Ok(st.volume.get(&(unit, cn)).copied().unwrap_or(0).to_le_bytes().to_vec())
            }
            (0xa1, 0x82, _, 2) if volume_ok => Ok((-64i16 * 256).to_le_bytes().to_vec()),
            (0xa1, 0x83, _, 2) if volume_ok => Ok(0i16.to_le_bytes().to_vec()),
            (0xa1, 0x84, _, 2) if volume_ok => Ok(256i16.to_le_bytes().to_vec()),
            (0x21, 0x01, _, 2) if volume_ok => {
                st.volume.insert((unit, cn), i16::from_le_bytes([data[0], data[1]]));
                Ok(Vec::new())
            }
            _ => Err(TransferStatus::Stall),
        }
    }
    fn set_alt_setting(&mut self, _: u8, _: u8) -> Result<(), TransferStatus> {
        Ok(())
    }
    fn transfer(&mut self, _: &mut Transfer) -> (TransferStatus, Vec<IsoPacketResult>, usize) {
        (TransferStatus::Stall, Vec::new(), 0)
    }
}

#[test]
fn usb_recsrc_drives_the_capture_selector_unit() {
    let state = Arc::new(Mutex::new(CardState { selector: 1, ..CardState::default() }));
    let (dev, m) = uac(Box::new(SelectorCard(state.clone())));
    // The driver's view: selector 7 on the capture path, its pins' terminals.
    let sel = dev.selector(outboard_hal::pcm::Direction::Capture).unwrap();
    assert_eq!(sel.unit, 7);
    let terms: Vec<(u8, u8, u16)> =
        sel.inputs.iter().map(|i| (i.pin, i.terminal.unwrap().0, i.terminal.unwrap().1 .0)).collect();
    assert_eq!(terms, [(1, 4, 0x0201), (2, 5, 0x0603), (3, 6, 0x0703)]);
    assert!(dev.selector(outboard_hal::pcm::Direction::Playback).is_none());

    let all = mask(SOUND_MIXER_MIC) | mask(SOUND_MIXER_LINE) | mask(SOUND_MIXER_CD);
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_RECMASK, 0), Ok(all));
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_RECSRC, 0), Ok(mask(SOUND_MIXER_MIC)));
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_RECSRC, mask(SOUND_MIXER_LINE)), Ok(mask(SOUND_MIXER_LINE)));
    assert_eq!(state.lock().unwrap().selector, 2);
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_RECSRC, mask(SOUND_MIXER_CD)), Ok(mask(SOUND_MIXER_CD)));
    assert_eq!(state.lock().unwrap().selector, 3);
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_RECSRC, mask(SOUND_MIXER_VIDEO)), Err(libc::EINVAL));
    assert_eq!(state.lock().unwrap().selector, 3);
    // The device changing it itself shows.
    state.lock().unwrap().selector = 1;
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_RECSRC, 0), Ok(mask(SOUND_MIXER_MIC)));

    // IGAIN: FU 8 after the selector (64 steps of 1 dB): 50 is -32 dB.
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_IGAIN, lr(50, 50)), Ok(lr(50, 50)));
    assert_eq!(state.lock().unwrap().volume.get(&(8, 0)), Some(&(-32 * 256)));
    // VOLUME: FU 2, per channel.
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, lr(100, 75)), Ok(lr(100, 75)));
    let st = state.lock().unwrap();
    assert_eq!((st.volume.get(&(2, 1)), st.volume.get(&(2, 2))), (Some(&0), Some(&(-16 * 256))));
}
