//! Seed inputs: for each target, inputs that take the harness through what
//! a real program or device does (an emulated codec's and USB device's
//! answers, a CUSE session, an OSS and an ALSA program's calls), so the
//! fuzzer starts deep. `cargo run -p outboard-fuzz --example seeds` writes
//! them into `fuzz/corpus/`; the corpus test replays them from there.

use std::sync::{Arc, Mutex};

use outboard_alsa::abi::*;
use outboard_alsa::hw_params::{param, ACCESS_RW_INTERLEAVED};
use outboard_cuse::abi::{self as fuse, *};
use outboard_emu::hda::codec::{CodecModel, DuplexCodec};
use outboard_emu::hda::model::ModelCodec;
use outboard_emu::usb::descriptors::{f_uac1, f_uac2, qemu_usb_audio};
use outboard_emu::usb::uac2::{feedback_value, Uac2Device, Uac2Options};
use outboard_hal::usb::mem::{MemUsb, UsbFunction};
use outboard_hal::usb::{ControlSetup, IsoPacketResult, Speed, Transfer, TransferStatus};
use outboard_oss::soundcard::*;

use crate::nodes::BASE;
use zerocopy::{FromZeros, IntoBytes};

use crate::lock;

/// The project's own two-codec fixture (an alsa-info dump).
const DUMP: &str = include_str!("../../pci-hda/tests/fixtures/alsa-info-two-codecs.txt");

/// The config file `outboard install` ships.
const SHIPPED_CONFIG: &str = include_str!("../../packaging/outboard.toml");

/// A config with the global keys and two device tables.
const TWO_DEVICES: &str = r#"node = "dsp"
group = "audio"
mode = "0660"
max_clients = 64
max_clients_per_user = 8
idle_stop = 5
user = "outboard"
period = 1024
periods = 4

[devices.onboard]
device = "0000:00:1b.0"
bind = true
number = 0
card = 1
rate = 48000
hw_volume = "max"

[devices.headset]
device = "usb:0d8c:0014"
period = 512
node = "headset"
oss = true
alsa = false
"#;

/// Every seed: (target, file name, bytes).
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut v = vec![
        ("hda_dump", "alsa-info-two-codecs".to_string(), DUMP.as_bytes().to_vec()),
        (
            "hda_pins",
            "two-hints".to_string(),
            [b"0x14 0x99130110 # internal speaker\n1 0x1b 0x0121401f\n\0".as_slice(), DUMP.as_bytes()].concat(),
        ),
        ("uac_quirks", "two".to_string(), b"0d8c:0014:ctl_msg_delay+get_sample_rate, 08bb:2902:0x4".to_vec()),
        ("hda_live", "duplex".to_string(), live(&mut DuplexCodec::new())),
        ("cuse_messages", "session".to_string(), cuse_session()),
    ];
    for (i, codec) in outboard_hda::codec::dump::parse_dumps(DUMP).into_iter().enumerate() {
        v.push(("hda_live", format!("fixture-codec{i}"), live(&mut ModelCodec::new(codec))));
    }
    v.push(("uac_controls", "f_uac1".to_string(), uac(0, f_uac1(), None)));
    for (speed, name) in [(Speed::High, "f_uac2-high"), (Speed::Full, "f_uac2-full")] {
        let opts = Uac2Options { speed, ..Uac2Options::default() };
        let (device, _control) = Uac2Device::new(opts);
        let blob = device.config().descriptors();
        v.push(("uac_controls", name.to_string(), uac(u8::from(speed == Speed::High), blob, Some(Box::new(device)))));
    }
    for (name, blob) in [
        ("qemu-usb-audio", qemu_usb_audio(false)),
        ("qemu-usb-audio-multi", qemu_usb_audio(true)),
        ("f_uac1", f_uac1()),
        ("f_uac2-high", f_uac2(Speed::High)),
        ("f_uac2-full", f_uac2(Speed::Full)),
    ] {
        v.push(("uac_descriptors", name.to_string(), blob));
    }
    v.extend(uac_answers().into_iter().map(|(name, bytes)| ("uac_answers", name.to_string(), bytes)));
    v.push(("config_file", "shipped".to_string(), SHIPPED_CONFIG.as_bytes().to_vec()));
    v.push(("config_file", "two-devices".to_string(), TWO_DEVICES.as_bytes().to_vec()));
    v.push(("oss_ioctls", "program".to_string(), oss_program()));
    v.push(("alsa_ioctls", "program".to_string(), alsa_program()));
    v
}

/// A SAM_FREQ RANGE answer: wNumSubRanges, then (dMIN, dMAX, dRES) triples.
fn range_answer(triples: &[(u32, u32, u32)]) -> Vec<u8> {
    let mut d = (triples.len() as u16).to_le_bytes().to_vec();
    for (min, max, res) in triples {
        for v in [min, max, res] {
            d.extend(v.to_le_bytes());
        }
    }
    d
}

/// One `uac_answers` input: speed, rate, RANGE answer, feedback packets.
fn answers(high_speed: bool, rate: u32, range: &[u8], packets: &[Vec<u8>]) -> Vec<u8> {
    let mut d = vec![u8::from(high_speed)];
    d.extend(rate.to_le_bytes());
    d.extend((range.len() as u16).to_le_bytes());
    d.extend(range);
    for p in packets {
        d.push(p.len() as u8);
        d.extend(p);
    }
    d
}

/// The emulated f_uac2 clock's RANGE answer with its feedback at 47.9,
/// 48.0 and 48.1 kHz in the standard format of each speed, and a
/// continuous and a stepped RANGE with 16.16-per-frame feedback (the odd
/// scaling some devices send; the decoder must find the shift).
fn uac_answers() -> Vec<(&'static str, Vec<u8>)> {
    let points: Vec<(u32, u32, u32)> = Uac2Options::default().rates.iter().map(|&r| (r, r, 0)).collect();
    let emulated = range_answer(&points);
    let mut v = Vec::new();
    for high_speed in [false, true] {
        let bytes = if high_speed { 4 } else { 3 };
        let packets: Vec<Vec<u8>> = [47_900.0, 48_000.0, 48_100.0]
            .iter()
            .map(|&hz| feedback_value(hz, high_speed).to_le_bytes()[..bytes].to_vec())
            .collect();
        let name = if high_speed { "f_uac2-high" } else { "f_uac2-full" };
        v.push((name, answers(high_speed, 48_000, &emulated, &packets)));
    }
    let per_frame: Vec<Vec<u8>> = [44_050.0f64, 44_100.0]
        .iter()
        .map(|hz| ((hz / 1000.0 * 65536.0).round() as u32).to_le_bytes().to_vec())
        .collect();
    let continuous = range_answer(&[(8_000, 96_000, 1)]);
    v.push(("continuous-1616-full", answers(false, 44_100, &continuous, &per_frame)));
    let stepped = range_answer(&[(8_000, 192_000, 4_000), (44_100, 44_100, 0)]);
    v.push(("stepped-1616-high", answers(true, 44_100, &stepped, &per_frame)));
    v
}

/// A codec's answers to `read_codec`, in the order it asks: address 0,
/// then each answer.
fn live(codec: &mut dyn CodecModel) -> Vec<u8> {
    let mut out = vec![0u8];
    let _ = outboard_hda::codec::live::read_codec_with(0, |nid, verb, data| {
        let answer = codec.verb(nid, (u32::from(verb) << 8) | u32::from(data));
        out.extend_from_slice(&answer.to_le_bytes());
        Ok(answer)
    });
    out
}

/// A USB function that answers as `inner` does (or stalls, with none) and
/// writes each answer down in the harness's encoding.
struct Recorder {
    inner: Option<Box<dyn UsbFunction>>,
    descriptors: Vec<u8>,
    speed: Speed,
    log: Arc<Mutex<Vec<u8>>>,
}

impl UsbFunction for Recorder {
    fn descriptors(&self) -> Vec<u8> {
        self.descriptors.clone()
    }
    fn speed(&self) -> Speed {
        self.speed
    }
    fn control(&mut self, setup: &ControlSetup, out: &[u8]) -> Result<Vec<u8>, TransferStatus> {
        let answer = match &mut self.inner {
            Some(f) => f.control(setup, out),
            None => Err(TransferStatus::Stall),
        };
        let mut log = lock(&self.log);
        match &answer {
            Ok(data) => {
                let n = data.len().min(0xef);
                log.push(n as u8);
                log.extend_from_slice(&data[..n]);
            }
            Err(_) => log.push(0xf0),
        }
        answer
    }
    fn set_alt_setting(&mut self, interface: u8, alt: u8) -> Result<(), TransferStatus> {
        match &mut self.inner {
            Some(f) => f.set_alt_setting(interface, alt),
            None => Ok(()),
        }
    }
    fn transfer(&mut self, _transfer: &mut Transfer) -> (TransferStatus, Vec<IsoPacketResult>, usize) {
        (TransferStatus::Stall, Vec::new(), 0)
    }
}

fn uac(speed_byte: u8, descriptors: Vec<u8>, inner: Option<Box<dyn UsbFunction>>) -> Vec<u8> {
    let speed = if speed_byte == 1 { Speed::High } else { Speed::Full };
    let log = Arc::new(Mutex::new(Vec::new()));
    let recorder = Recorder { inner, descriptors: descriptors.clone(), speed, log: log.clone() };
    crate::uac::queries(Arc::new(MemUsb::new("seed", Box::new(recorder))));
    let mut out = vec![speed_byte];
    out.extend_from_slice(&(descriptors.len() as u16).to_le_bytes());
    out.extend_from_slice(&descriptors);
    out.extend_from_slice(&lock(&log));
    out
}

fn message(opcode: u32, unique: u16, body: &[u8]) -> Vec<u8> {
    let index = [FUSE_OPEN, FUSE_READ, FUSE_WRITE, FUSE_RELEASE, FUSE_FLUSH, FUSE_INTERRUPT, FUSE_IOCTL, FUSE_POLL]
        .iter()
        .position(|&o| o == opcode)
        .map_or(0x80, |i| i as u8);
    let mut m = vec![index];
    m.extend_from_slice(&unique.to_le_bytes());
    m.extend_from_slice(&(body.len() as u16).to_le_bytes());
    m.extend_from_slice(body);
    m
}

/// A CUSE session: open, write, an ioctl in its rounds, read, poll, an
/// interrupt, flush, release.
fn cuse_session() -> Vec<u8> {
    let mut v = fuse::bytes(&CuseInitIn { major: 7, minor: 31, unused: 0, flags: 0 }).to_vec();
    v.push(0);
    v.extend(message(FUSE_OPEN, 2, fuse::bytes(&OpenIn { flags: 2, open_flags: 0 })));
    let w = ReadWriteIn { fh: 3, size: 8, ..ReadWriteIn::default() };
    v.extend(message(FUSE_WRITE, 4, &[fuse::bytes(&w), &[1u8; 8]].concat()));
    let io =
        IoctlIn { fh: 3, flags: FUSE_IOCTL_UNRESTRICTED, cmd: SNDCTL_DSP_SPEED, arg: 0x1000, in_size: 0, out_size: 0 };
    v.extend(message(FUSE_IOCTL, 6, fuse::bytes(&io)));
    let io = IoctlIn { in_size: 4, out_size: 4, flags: FUSE_IOCTL_UNRESTRICTED | FUSE_IOCTL_RETRY, ..io };
    v.extend(message(FUSE_IOCTL, 8, &[fuse::bytes(&io), &48_000u32.to_le_bytes()].concat()));
    v.extend(message(FUSE_READ, 10, fuse::bytes(&ReadWriteIn { fh: 3, size: 16, ..ReadWriteIn::default() })));
    let p = PollIn { fh: 3, kh: 1, flags: FUSE_POLL_SCHEDULE_NOTIFY, events: 5 };
    v.extend(message(FUSE_POLL, 12, fuse::bytes(&p)));
    v.extend(message(FUSE_INTERRUPT, 15, fuse::bytes(&InterruptIn { unique: 4 })));
    v.extend(message(FUSE_FLUSH, 16, fuse::bytes(&ReleaseIn { fh: 3, ..ReleaseIn::default() })));
    v.extend(message(FUSE_RELEASE, 18, fuse::bytes(&ReleaseIn { fh: 3, ..ReleaseIn::default() })));
    v
}

/// A node program in the encoding of the nodes' runner (`nodes::run`).
struct Program {
    bytes: Vec<u8>,
    commands: Vec<u32>,
}

impl Program {
    fn new(head: &[u8], commands: Vec<u32>) -> Program {
        Program { bytes: head.to_vec(), commands }
    }
    /// Put `data` into the caller's memory at `at` (in steps of up to 1020 bytes).
    fn put(&mut self, at: u16, data: &[u8]) -> &mut Program {
        for (k, chunk) in data.chunks(1020).enumerate() {
            let mut chunk = chunk.to_vec();
            chunk.resize(chunk.len().div_ceil(4) * 4, 0);
            self.bytes.push(0);
            self.bytes.extend_from_slice(&(at + (k * 1020) as u16).to_le_bytes());
            self.bytes.push((chunk.len() / 4) as u8);
            self.bytes.extend_from_slice(&chunk);
        }
        self
    }
    fn pick(&self, cmd: u32) -> u8 {
        let i = self.commands.iter().position(|&c| c == cmd).expect("a command the nodes know");
        u8::try_from(i).expect("within a byte")
    }
    /// An ioctl on `node` whose argument is the address `at` in the memory.
    fn ioctl(&mut self, node: u8, cmd: u32, at: u16) -> &mut Program {
        let pick = self.pick(cmd);
        self.bytes.extend_from_slice(&[node << 4 | 2, pick, 1]);
        self.bytes.extend_from_slice(&at.to_le_bytes());
        self.bytes.push(0);
        self
    }
    /// An int-argument ioctl: the int put at 0x10, then the call.
    fn int(&mut self, node: u8, cmd: u32, v: i32) -> &mut Program {
        self.put(0x10, &v.to_le_bytes()).ioctl(node, cmd, 0x10)
    }
    /// An ioctl whose argument is a value, not an address.
    fn value(&mut self, node: u8, cmd: u32, v: u32) -> &mut Program {
        let pick = self.pick(cmd);
        self.bytes.extend_from_slice(&[node << 4 | 2, pick, 0]);
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self.bytes.push(0);
        self
    }
    fn read(&mut self, node: u8, size: u16) -> &mut Program {
        self.bytes.push(node << 4 | 4);
        self.bytes.extend_from_slice(&size.to_le_bytes());
        self
    }
    fn write(&mut self, node: u8, data: &[u8]) -> &mut Program {
        self.bytes.push(node << 4 | 5);
        self.bytes.extend_from_slice(&(data.len() as u16).to_le_bytes());
        self.bytes.extend_from_slice(data);
        self
    }
    fn poll(&mut self, node: u8, events: u8) -> &mut Program {
        self.bytes.extend_from_slice(&[node << 4 | 6, events]);
        self
    }
    fn reopen(&mut self, node: u8, write_only: bool) -> &mut Program {
        self.bytes.push(node << 4 | 7 | if write_only { 8 } else { 0 });
        self
    }
}

/// Device controls for `nodes::FakeHw`: four ranges (-74 dB in 74 steps of
/// 1 dB, stereo, with mute), two ports, two sources, two jacks, auto-mute.
const HW_SHAPE: [u8; 18] = [7, 0xb6, 16, 74, 7, 0xb6, 16, 74, 7, 0xb6, 16, 74, 7, 0xb6, 16, 74, 0x4a, 1];

/// OSS (nodes: 0 dsp, 1 audio, 2 mixer, 3 sndstat): an OSS program's set-up,
/// play and pointers on dsp, a recording on audio, the OSS 4 info ioctls,
/// the mixer's levels and recording source, /dev/sndstat read.
fn oss_program() -> Vec<u8> {
    let mut p = Program::new(&[[1u8].as_slice(), &HW_SHAPE].concat(), crate::nodes::oss_commands());
    p.int(0, SNDCTL_DSP_SETFRAGMENT, 0x0004_000b)
        .int(0, SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32)
        .int(0, SNDCTL_DSP_CHANNELS, 2)
        .int(0, SNDCTL_DSP_SPEED, 44_100)
        .ioctl(0, SNDCTL_DSP_GETBLKSIZE, 0x10)
        .write(0, &[0x11; 4096])
        .ioctl(0, SNDCTL_DSP_GETOSPACE, 0x20)
        .ioctl(0, SNDCTL_DSP_GETODELAY, 0x20)
        .ioctl(0, SNDCTL_DSP_GETOPTR, 0x20)
        .int(0, SNDCTL_DSP_SETPLAYVOL, 0x3232)
        .poll(0, 4)
        .ioctl(0, SNDCTL_DSP_POST, 0)
        .ioctl(0, SNDCTL_DSP_SYNC, 0)
        .ioctl(0, SNDCTL_DSP_RESET, 0)
        .ioctl(0, SNDCTL_SYSINFO, 0x100)
        .int(0, SNDCTL_AUDIOINFO, 0)
        .int(0, SNDCTL_ENGINEINFO, 1)
        .int(0, SNDCTL_CARDINFO, 0)
        .int(0, SNDCTL_MIXERINFO, 0)
        .int(1, SNDCTL_DSP_SPEED, 8_000)
        .read(1, 2048)
        .ioctl(1, SNDCTL_DSP_GETISPACE, 0x20)
        .ioctl(1, SNDCTL_DSP_GETIPTR, 0x20)
        .ioctl(2, SOUND_MIXER_INFO, 0x100)
        .ioctl(2, SOUND_MIXER_READ_DEVMASK, 0x10)
        .ioctl(2, mixer_read(SOUND_MIXER_VOLUME), 0x10)
        .int(2, mixer_write(SOUND_MIXER_VOLUME), 0x4040)
        .int(2, mixer_write(SOUND_MIXER_PCM), 0x2020)
        .int(2, mixer_write(SOUND_MIXER_RECSRC), 1 << SOUND_MIXER_LINE)
        .ioctl(2, OSS_GETVERSION, 0x10)
        .read(3, 4096)
        .reopen(0, true)
        .write(0, &[0x22; 1024]);
    p.bytes
}

/// hw_params asking for S16_LE stereo 48 kHz, 256-frame periods, 4 of
/// them, read-write interleaved; or (`any`) everything open, for REFINE.
fn hw_params(any: bool) -> HwParams {
    let mut p = HwParams::new_zeroed();
    for m in p.masks.iter_mut() {
        m.bits = [!0; 8];
    }
    for i in p.intervals.iter_mut() {
        *i = Interval { min: 0, max: u32::MAX, flags: 0 };
    }
    p.rmask = !0;
    if !any {
        p.masks[param::ACCESS].bits = [1 << ACCESS_RW_INTERLEAVED, 0, 0, 0, 0, 0, 0, 0];
        p.masks[param::FORMAT].bits = [1 << 2, 0, 0, 0, 0, 0, 0, 0]; // S16_LE
        let exact = |v: u32| Interval { min: v, max: v, flags: 0 };
        p.intervals[param::CHANNELS - param::SAMPLE_BITS] = exact(2);
        p.intervals[param::RATE - param::SAMPLE_BITS] = exact(48_000);
        p.intervals[param::PERIOD_SIZE - param::SAMPLE_BITS] = exact(256);
        p.intervals[param::PERIODS - param::SAMPLE_BITS] = exact(4);
    }
    p
}

/// ALSA (nodes: 0 control, 1 playback, 2 capture): the control calls
/// alsamixer makes, and alsa-lib's open sequence then a transfer through
/// WRITEI/READI's rounds, status, delay, pause and drop on each PCM.
fn alsa_program() -> Vec<u8> {
    let mut p = Program::new(&[[1u8].as_slice(), &HW_SHAPE].concat(), crate::nodes::alsa_commands());
    let mut list = CtlElemList::new_zeroed();
    list.space = 32;
    list.pids = BASE + 0x1000;
    let mut id = CtlElemId::new_zeroed();
    id.numid = 1;
    let tlv = [1u32.to_le_bytes(), 64u32.to_le_bytes()].concat();
    p.ioctl(0, CTL_IOCTL_PVERSION, 0x10)
        .ioctl(0, CTL_IOCTL_CARD_INFO, 0x100)
        .put(0x100, list.as_bytes())
        .ioctl(0, CTL_IOCTL_ELEM_LIST, 0x100)
        .put(0x2000, &[0; 1024])
        .put(0x2000, id.as_bytes())
        .ioctl(0, CTL_IOCTL_ELEM_INFO, 0x2000)
        .ioctl(0, CTL_IOCTL_ELEM_READ, 0x2000)
        .ioctl(0, CTL_IOCTL_ELEM_WRITE, 0x2000)
        .put(0x3000, &tlv)
        .ioctl(0, CTL_IOCTL_TLV_READ, 0x3000)
        .int(0, CTL_IOCTL_SUBSCRIBE_EVENTS, 1)
        .int(0, CTL_IOCTL_PCM_NEXT_DEVICE, -1)
        .read(0, 512)
        .poll(0, 1);
    let mut sw = SwParams::new_zeroed();
    sw.avail_min = 256;
    sw.start_threshold = 512;
    sw.stop_threshold = 1024;
    sw.boundary = 1024 << 40;
    sw.proto = PCM_VERSION;
    for (node, transfer) in [(1u8, PCM_IOCTL_WRITEI_FRAMES), (2, PCM_IOCTL_READI_FRAMES)] {
        p.ioctl(node, PCM_IOCTL_PVERSION, 0x10)
            .ioctl(node, PCM_IOCTL_INFO, 0x100)
            .int(node, PCM_IOCTL_USER_PVERSION, PCM_VERSION as i32)
            .int(node, PCM_IOCTL_TTSTAMP, 1)
            .put(0x4000, hw_params(true).as_bytes())
            .ioctl(node, PCM_IOCTL_HW_REFINE, 0x4000)
            .put(0x4000, hw_params(false).as_bytes())
            .ioctl(node, PCM_IOCTL_HW_PARAMS, 0x4000)
            .put(0x5000, sw.as_bytes())
            .ioctl(node, PCM_IOCTL_SW_PARAMS, 0x5000)
            .ioctl(node, PCM_IOCTL_PREPARE, 0)
            .put(0x8000, &[0x22; 1024])
            .put(0x7000, XferI { result: 0, buf: BASE + 0x8000, frames: 256 }.as_bytes())
            .ioctl(node, transfer, 0x7000)
            .ioctl(node, PCM_IOCTL_START, 0)
            .ioctl(node, PCM_IOCTL_STATUS, 0x6000)
            .ioctl(node, PCM_IOCTL_DELAY, 0x6000)
            .ioctl(node, PCM_IOCTL_HWSYNC, 0)
            .poll(node, 5)
            .value(node, PCM_IOCTL_PAUSE, 1)
            .value(node, PCM_IOCTL_PAUSE, 0)
            .ioctl(node, PCM_IOCTL_DROP, 0)
            .ioctl(node, PCM_IOCTL_HW_FREE, 0);
    }
    p.bytes
}
