//! OSS 4 device discovery on /dev/dsp, /dev/audio and /dev/mixer's handlers:
//! what a program enumerating devices (ossinfo, mumble, openal) reads back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use outboard_cuse::abi::read;
use outboard_cuse::{Handler, Request};
use outboard_mixer::devices::{MemoryDevice, Pacing};
use outboard_mixer::engine::Engine;
use outboard_mixer::format::SampleFormat;
use outboard_mixer::pcm::{Direction, PcmConfig, PcmStream};
use outboard_oss::dsp::{Dsp, AUDIO_DEFAULTS, DSP_DEFAULTS};
use outboard_oss::info::OssSystem;
use outboard_oss::info::SUPPORTED_FORMATS;
use outboard_oss::mixer::Mixer;
use outboard_oss::oss4::*;
use outboard_oss::soundcard::*;
use outboard_oss::soundcard::{SOUND_MIXER_INFO, SOUND_MIXER_WRITE_VOLUME, SOUND_VERSION};

const REQ: Request = Request::new(1, 4321, 0, 0);
const CFG: PcmConfig =
    PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: 256, periods: 4 };

fn engine(capture: bool) -> Arc<Engine> {
    let play: Box<dyn PcmStream> = Box::new(MemoryDevice::null(CFG, Pacing::RealTime));
    let cap = capture
        .then(|| Box::new(MemoryDevice::capture(CFG, vec![0; 48_000 * 4], Pacing::RealTime)) as Box<dyn PcmStream>);
    if let Some(c) = &cap {
        assert_eq!(c.direction(), Direction::Capture);
    }
    Arc::new(Engine::start_with(Some(play), cap).unwrap())
}

/// The daemon's layout: one HDA card with /dev/dsp, /dev/audio and /dev/mixer.
fn nodes(capture: bool) -> (Dsp, Dsp, Mixer) {
    let system = Arc::new(OssSystem::single(
        "HDA 0000:00:1b.0",
        engine(capture),
        &["/dev/dsp", "/dev/audio"],
        Some("/dev/mixer"),
    ));
    (
        Dsp::on(system.clone(), 0, DSP_DEFAULTS).unwrap(),
        Dsp::on(system.clone(), 1, AUDIO_DEFAULTS).unwrap(),
        Mixer::on(system, 0).unwrap(),
    )
}

/// An `_IOWR` info ioctl with `dev` in its first field, as a program sends it.
fn ask<T: zerocopy::FromBytes>(h: &dyn Handler, fh: u64, cmd: u32, dev: i32) -> Result<T, i32> {
    let mut arg = vec![0u8; arg_size(cmd)];
    arg[..4].copy_from_slice(&dev.to_le_bytes());
    let (rc, out) = h.ioctl(&REQ, fh, cmd, &arg)?;
    assert_eq!(rc, 0);
    assert_eq!(out.len(), arg_size(cmd), "the answer fills the caller's struct");
    Ok(read::<T>(&out).unwrap())
}

fn int(h: &dyn Handler, fh: u64, cmd: u32, v: i32) -> Result<i32, i32> {
    let (_, out) = h.ioctl(&REQ, fh, cmd, &v.to_le_bytes())?;
    Ok(i32::from_le_bytes(out[..4].try_into().unwrap()))
}

#[test]
fn sysinfo_and_audioinfo_describe_the_device_and_its_nodes() {
    let (dsp, audio, mixer) = nodes(true);
    let fh = dsp.open(&REQ, libc::O_WRONLY as u32).unwrap();
    let afh = audio.open(&REQ, libc::O_RDONLY as u32).unwrap();
    let mfh = mixer.open(&REQ, libc::O_RDWR as u32).unwrap();

    for (h, f) in [(&dsp as &dyn Handler, fh), (&mixer, mfh)] {
        let s: OssSysinfo = ask(h, f, SNDCTL_SYSINFO, 0).unwrap();
        assert_eq!(get_str(&s.product), "Outboard");
        assert_eq!(get_str(&s.version), env!("CARGO_PKG_VERSION"));
        assert_eq!(s.versionnum, SOUND_VERSION);
        assert_eq!((s.numaudios, s.numaudioengines, s.numcards, s.nummixers), (2, 2, 1, 1));
        assert_eq!(s.openedaudio[0], 0b11, "both audio nodes are open");
    }

    // dev = -1 on /dev/dsp: its own device.
    let a: OssAudioinfo = ask(&dsp, fh, SNDCTL_AUDIOINFO, -1).unwrap();
    assert_eq!(a.dev, 0);
    assert_eq!(get_str(&a.name), "HDA 0000:00:1b.0");
    assert_eq!(get_str(&a.devnode), "/dev/dsp");
    let caps = a.caps as u32;
    for c in [PCM_CAP_OUTPUT, PCM_CAP_INPUT, PCM_CAP_DUPLEX, PCM_CAP_TRIGGER, PCM_CAP_MULTI, PCM_CAP_DEFAULT] {
        assert_eq!(caps & c, c, "caps {caps:#x} lack {c:#x}");
    }
    assert_eq!(int(&dsp, fh, SNDCTL_DSP_GETCAPS, 0).unwrap() as u32, caps, "GETCAPS says the same");
    assert_eq!(a.oformats as u32, SUPPORTED_FORMATS);
    assert_eq!(a.oformats, int(&dsp, fh, SNDCTL_DSP_GETFMTS, 0).unwrap());
    assert_eq!(a.iformats as u32, SUPPORTED_FORMATS);
    assert_eq!((a.min_rate, a.max_rate, a.min_channels, a.max_channels), (8_000, 192_000, 1, 8));
    assert_eq!((a.card_number, a.mixer_dev, a.enabled, a.nrates), (0, 0, 1, 0));
    assert_eq!(a.busy as u32, OSS_OPEN_WRITE);
    assert_eq!(a.pid, 4321);
    // The device's own buffer: 4 periods of 256 frames at 48 kHz.
    assert_eq!(a.latency, 21_333);
    // What SPEED and CHANNELS do agrees with the advertised limits.
    assert_eq!(int(&dsp, fh, SNDCTL_DSP_SPEED, 1_000_000).unwrap(), a.max_rate);
    assert_eq!(int(&dsp, fh, SNDCTL_DSP_CHANNELS, 99).unwrap(), a.max_channels);

    // AUDIOINFO_EX and ENGINEINFO, for the other node and from it.
    let b: OssAudioinfo = ask(&dsp, fh, SNDCTL_AUDIOINFO_EX, 1).unwrap();
    assert_eq!((b.dev, get_str(&b.devnode).as_str(), b.busy as u32), (1, "/dev/audio", OSS_OPEN_READ));
    assert_eq!(get_str(&b.name), "HDA 0000:00:1b.0 (/dev/audio)");
    assert_eq!(b.caps as u32 & PCM_CAP_DEFAULT, 0, "only /dev/dsp is the default");
    let e: OssAudioinfo = ask(&audio, afh, SNDCTL_ENGINEINFO, -1).unwrap();
    assert_eq!(e.dev, 1);
    // From the mixer, a device by number.
    let m: OssAudioinfo = ask(&mixer, mfh, SNDCTL_AUDIOINFO, 0).unwrap();
    assert_eq!(get_str(&m.devnode), "/dev/dsp");
    // Another user sees that the node is busy, not who holds it (the daemon
    // reads /proc as root, past hidepid).
    let other = Request::new(2, 999, 1000, 1000);
    let mut arg = vec![0u8; arg_size(SNDCTL_AUDIOINFO)];
    arg[..4].copy_from_slice(&0i32.to_le_bytes());
    let o: OssAudioinfo = read(&mixer.ioctl(&other, mfh, SNDCTL_AUDIOINFO, &arg).unwrap().1).unwrap();
    assert_eq!((o.busy as u32, o.pid, get_str(&o.cmd)), (OSS_OPEN_WRITE, -1, String::new()));

    // Out of range, or -1 where the node has no audio device: EINVAL (OSS 4).
    assert_eq!(ask::<OssAudioinfo>(&dsp, fh, SNDCTL_AUDIOINFO, 2).unwrap_err(), libc::EINVAL);
    assert_eq!(ask::<OssAudioinfo>(&dsp, fh, SNDCTL_ENGINEINFO, -7).unwrap_err(), libc::EINVAL);
    assert_eq!(ask::<OssAudioinfo>(&mixer, mfh, SNDCTL_AUDIOINFO, -1).unwrap_err(), libc::EINVAL);
    assert_eq!(dsp.ioctl(&REQ, fh, SNDCTL_AUDIOINFO, &[0xff, 0xff]), Err(libc::EINVAL), "short argument");
    assert_eq!(dsp.ioctl(&REQ, 999, SNDCTL_SYSINFO, &[]), Err(libc::EBADF), "unknown file handle");

    // Closing clears busy and openedaudio.
    dsp.release(&REQ, fh);
    let s: OssSysinfo = ask(&audio, afh, SNDCTL_SYSINFO, 0).unwrap();
    assert_eq!(s.openedaudio[0], 0b10);
    let a: OssAudioinfo = ask(&audio, afh, SNDCTL_AUDIOINFO, 0).unwrap();
    assert_eq!((a.busy, a.pid), (0, -1));
}

#[test]
fn cardinfo_and_mixerinfo_name_the_hardware() {
    let (dsp, _audio, mixer) = nodes(true);
    let fh = dsp.open(&REQ, libc::O_WRONLY as u32).unwrap();
    let mfh = mixer.open(&REQ, libc::O_RDWR as u32).unwrap();
    std::thread::sleep(Duration::from_millis(50)); // a few device periods

    let c: OssCardInfo = ask(&dsp, fh, SNDCTL_CARDINFO, 0).unwrap();
    assert_eq!(c.card, 0);
    assert_eq!(get_str(&c.shortname), "HDA");
    assert_eq!(get_str(&c.longname), "Outboard: HDA 0000:00:1b.0");
    let hw = get_str(&c.hw_info);
    assert_eq!(hw, "playback: S16Le 48000 Hz 2 ch, 4 periods of 256 frames\ncapture: S16Le 48000 Hz 2 ch, 4 periods of 256 frames\n");
    assert!(c.intr_count > 0, "the engine ran periods");
    assert_eq!(ask::<OssCardInfo>(&mixer, mfh, SNDCTL_CARDINFO, 1).unwrap_err(), libc::ENXIO);
    assert_eq!(ask::<OssCardInfo>(&mixer, mfh, SNDCTL_CARDINFO, -1).unwrap_err(), libc::ENXIO);

    // MIXERINFO: -1 is the mixer itself, or the dsp's card's mixer.
    let m: OssMixerinfo = ask(&mixer, mfh, SNDCTL_MIXERINFO, -1).unwrap();
    assert_eq!((m.dev, get_str(&m.devnode).as_str(), get_str(&m.name).as_str()), (0, "/dev/mixer", "HDA 0000:00:1b.0"));
    assert_eq!((m.card_number, m.enabled, m.nrext), (0, 1, 0));
    let from_dsp: OssMixerinfo = ask(&dsp, fh, SNDCTL_MIXERINFO, -1).unwrap();
    assert_eq!(get_str(&from_dsp.devnode), "/dev/mixer");
    assert_eq!(ask::<OssMixerinfo>(&dsp, fh, SNDCTL_MIXERINFO, 1).unwrap_err(), libc::ENXIO);
    // A volume change shows in modify_counter (and SOUND_MIXER_INFO).
    int(&mixer, mfh, SOUND_MIXER_WRITE_VOLUME, 50 | (50 << 8)).unwrap();
    let after: OssMixerinfo = ask(&mixer, mfh, SNDCTL_MIXERINFO, 0).unwrap();
    assert_eq!(after.modify_counter, m.modify_counter + 1);
    let (_, old) = mixer.ioctl(&REQ, mfh, SOUND_MIXER_INFO, &[]).unwrap();
    let old: MixerInfo = read(&old).unwrap();
    assert_eq!((get_str(&old.id).as_str(), old.modify_counter), ("outboard0", after.modify_counter));

    assert_eq!(int(&mixer, mfh, SNDCTL_MIX_NRMIX, 0), Ok(1));
    assert_eq!(int(&mixer, mfh, SNDCTL_MIX_NREXT, -1), Ok(0));
    assert_eq!(int(&dsp, fh, SNDCTL_MIX_NREXT, 0), Ok(0));
    assert_eq!(int(&mixer, mfh, SNDCTL_MIX_NREXT, 3), Err(libc::ENXIO));
}

#[test]
fn a_playback_only_device_says_so() {
    let (dsp, _audio, _mixer) = nodes(false);
    let fh = dsp.open(&REQ, libc::O_WRONLY as u32).unwrap();
    let a: OssAudioinfo = ask(&dsp, fh, SNDCTL_AUDIOINFO, -1).unwrap();
    let caps = a.caps as u32;
    assert_eq!(caps & (PCM_CAP_OUTPUT | PCM_CAP_INPUT | PCM_CAP_DUPLEX), PCM_CAP_OUTPUT);
    assert_eq!(a.iformats, 0, "nothing to record in");
    let c: OssCardInfo = ask(&dsp, fh, SNDCTL_CARDINFO, 0).unwrap();
    assert!(get_str(&c.hw_info).ends_with("capture: none\n"));
    assert_eq!(dsp.open(&REQ, libc::O_RDONLY as u32), Err(libc::ENODEV), "and refuses to record");
}

#[test]
fn discovery_does_not_wait_for_a_blocked_write() {
    let (dsp, _audio, _mixer) = nodes(false);
    let dsp = Arc::new(dsp);
    let fh = dsp.open(&REQ, libc::O_WRONLY as u32).unwrap();
    // Two fragments of 4 KiB: one second of U8 mono at 8 kHz.
    int(&*dsp, fh, SNDCTL_DSP_SETFRAGMENT, (2 << 16) | 12).unwrap();
    let writer = {
        let dsp = dsp.clone();
        // 1.5 s: more than the buffer holds.
        std::thread::spawn(move || dsp.write(&REQ, fh, &[0x80; 12_000], libc::O_WRONLY as u32))
    };
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    let a: OssAudioinfo = ask(&*dsp, fh, SNDCTL_ENGINEINFO, -1).unwrap();
    assert!(t.elapsed() < Duration::from_millis(50), "answered in {:?}", t.elapsed());
    assert_eq!(a.busy as u32, OSS_OPEN_WRITE);
    assert!(!writer.is_finished(), "the write was still blocked");
    assert_eq!(writer.join().unwrap(), Ok(12_000));
}

#[test]
fn several_cards_number_their_nodes_in_order() {
    use outboard_oss::info::Card;
    let cards =
        || vec![Card { name: "HDA".into(), engine: engine(true) }, Card { name: "USB".into(), engine: engine(false) }];
    let audio = [(0, "/dev/dsp"), (0, "/dev/audio"), (0, "/dev/dsp0"), (1, "/dev/dsp1")];
    let system = Arc::new(OssSystem::new(cards(), &audio, &[(0, "/dev/mixer"), (1, "/dev/mixer1")]).unwrap());
    let usb = Dsp::on(system.clone(), 3, DSP_DEFAULTS).unwrap();
    let fh = usb.open(&REQ, libc::O_WRONLY as u32).unwrap();
    let own: OssAudioinfo = ask(&usb, fh, SNDCTL_AUDIOINFO, -1).unwrap();
    assert_eq!((own.dev, own.card_number, own.mixer_dev), (3, 1, 1));
    assert_eq!((get_str(&own.name).as_str(), get_str(&own.devnode).as_str()), ("USB", "/dev/dsp1"));
    assert_eq!(own.caps as u32 & (PCM_CAP_INPUT | PCM_CAP_DEFAULT), 0, "playback only, not the default");
    let alias: OssAudioinfo = ask(&usb, fh, SNDCTL_AUDIOINFO, 2).unwrap();
    assert_eq!(get_str(&alias.name), "HDA (/dev/dsp0)");
    let s: OssSysinfo = ask(&usb, fh, SNDCTL_SYSINFO, 0).unwrap();
    assert_eq!((s.numaudios, s.numcards, s.nummixers, s.openedaudio[0]), (4, 2, 2, 0b1000));
    let m: OssMixerinfo = ask(&usb, fh, SNDCTL_MIXERINFO, -1).unwrap();
    assert_eq!((m.dev, get_str(&m.devnode).as_str()), (1, "/dev/mixer1"));
    let c: OssCardInfo = ask(&usb, fh, SNDCTL_CARDINFO, 1).unwrap();
    assert_eq!(get_str(&c.longname), "Outboard: USB");

    // A node on a card that is not there is refused when the system is made.
    let e = OssSystem::new(cards(), &[(2, "/dev/dsp2")], &[]).err().unwrap();
    assert_eq!(e, "/dev/dsp2 is on card 2, and there are 2");
    assert!(Dsp::on(system, 9, DSP_DEFAULTS).is_err());
}
