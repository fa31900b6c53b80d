//! The device nodes' handlers (ALSA control and PCM; OSS dsp, audio,
//! mixer and sndstat) as a client's whole conversation drives them, through
//! the kernel's CUSE: ioctls in rounds (each retry's ranges copied from, and
//! back to, a stand-in for the caller's memory), reads, writes, polls,
//! closes and reopens, from 64-bit, i386 and x32 callers. The input is a
//! program of such steps; the caller's memory is whatever the steps put
//! there (structs with any sizes, counts, pointers and indexes).
//!
//! The nodes must never panic, loop, allocate without bound or block a
//! caller who opened them O_NONBLOCK, whatever a client sends. Each ioctl
//! must end within a few rounds, ask for no more ranges or bytes than the
//! kernel carries, answer no more bytes than the room it asked for, and
//! fail only with a positive errno; reads, writes and polls answer within
//! what was asked; nothing outside the device's ranges reaches its
//! controls. Then per family: ALSA's STATUS always answers with a state
//! the kernel has, released opens leave the mixer and the PCM nodes are
//! freed with their last reference; OSS's released opens leave the mixer.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use outboard_alsa::abi::PCM_IOCTL_STATUS;
use outboard_alsa::card::Card;
use outboard_alsa::compat32;
use outboard_alsa::control::{self, Control};
use outboard_alsa::pcm::{self, Pcm};
use outboard_cuse::{CallerAbi, Errno, Handler, IoctlCall, IoctlReply, Request, MAX_IOVS, MAX_PAYLOAD};
use outboard_mixer::devices::{MemoryDevice, Pacing};
use outboard_mixer::engine::Engine;
use outboard_mixer::hw::{Gain, GainRange, HwControls, Jack, OutputPort, Side, Source, SourceKind};
use outboard_mixer::pcm::{PcmConfig, PcmStream, SampleFormat};
use outboard_oss::soundcard::*;

use crate::{lock, Input};

const CFG: PcmConfig =
    PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: 256, periods: 4 };

/// The caller's memory: 64 KiB at `BASE`; anything else faults.
pub(crate) const BASE: u64 = 0x10_0000;
const MEMORY: usize = 1 << 16;
/// More rounds than any ioctl of the nodes needs (WRITEI of one window: 2).
const MAX_ROUNDS: usize = 8;

pub(crate) struct Memory(Vec<u8>);

impl Memory {
    fn slice(&mut self, addr: u64, len: usize) -> Result<&mut [u8], Errno> {
        let at = usize::try_from(addr.checked_sub(BASE).ok_or(libc::EFAULT)?).map_err(|_| libc::EFAULT)?;
        let end = at.checked_add(len).ok_or(libc::EFAULT)?;
        self.0.get_mut(at..end).ok_or(libc::EFAULT)
    }
}

/// An ioctl as fs/fuse/ioctl.c carries it for a CUSE device: rounds until
/// done, each retry's input ranges read from the caller (EFAULT if they
/// are not the caller's), the output copied back across the last retry's
/// output ranges.
fn ioctl(h: &dyn Handler, req: &Request, fh: u64, cmd: u32, arg: u64, mem: &mut Memory) -> Result<i32, Errno> {
    let (mut input, mut out_ranges, mut out_size) = (Vec::new(), Vec::new(), 0usize);
    for _ in 0..MAX_ROUNDS {
        let call = IoctlCall { cmd, arg, input: &input, out_size };
        match h.ioctl_round(req, fh, &call) {
            Err(e) => {
                assert!(e > 0, "ioctl {cmd:#x} failed with errno {e}");
                return Err(e);
            }
            Ok(IoctlReply::Done { result, out }) => {
                assert!(out.len() <= out_size, "ioctl {cmd:#x} answered {} bytes into {out_size}", out.len());
                let mut at = 0;
                for r in &out_ranges {
                    let r: &outboard_cuse::UserRange = r;
                    let n = r.len.min(out.len() - at);
                    mem.slice(r.addr, n)?.copy_from_slice(&out[at..at + n]);
                    at += n;
                }
                return Ok(result);
            }
            Ok(IoctlReply::Retry { input: ins, output }) => {
                assert!(ins.len() <= MAX_IOVS && output.len() <= MAX_IOVS, "ioctl {cmd:#x}: too many ranges");
                let in_bytes: usize = ins.iter().map(|r| r.len).sum();
                out_size = output.iter().map(|r| r.len).sum();
                assert!(
                    in_bytes <= MAX_PAYLOAD && out_size <= MAX_PAYLOAD,
                    "ioctl {cmd:#x}: {in_bytes}/{out_size} bytes"
                );
                input = Vec::with_capacity(in_bytes);
                for r in &ins {
                    input.extend_from_slice(mem.slice(r.addr, r.len)?);
                }
                out_ranges = output;
            }
        }
    }
    panic!("ioctl {cmd:#x} still asked for more after {MAX_ROUNDS} rounds");
}

/// Run up to 64 steps of the program against `nodes`, each opened
/// O_RDWR|O_NONBLOCK at the start (a blocking DRAIN or transfer would wait
/// for the real-time device, which is right but too slow to fuzz).
/// `commands` are the ioctl numbers the nodes know, reached by one byte; a
/// byte past them sends a number of the fuzzer's own. Returns the handles
/// still open and the caller's memory.
fn run(nodes: &[&dyn Handler], commands: &[u32], input: &mut Input) -> (Vec<Option<u64>>, Memory) {
    let nonblock = libc::O_NONBLOCK as u32;
    let opener = Request::new(1, std::process::id(), 0, 0);
    let open = |node: &dyn Handler| node.open(&opener, nonblock | libc::O_RDWR as u32).ok();
    let mut handles: Vec<Option<u64>> = nodes.iter().map(|n| open(*n)).collect();
    let mut mem = Memory(vec![0; MEMORY]);
    for _ in 0..64 {
        if input.is_empty() {
            break;
        }
        let op = input.u8();
        let which = usize::from(op >> 4) % nodes.len();
        let node = nodes[which];
        match op & 0x7 {
            // Put bytes into the caller's memory.
            0 | 1 => {
                let at = usize::from(input.u16());
                let len = usize::from(input.u8()) * 4;
                let bytes = input.bytes(len);
                let end = (at + bytes.len()).min(MEMORY);
                mem.0[at..end].copy_from_slice(&bytes[..end - at]);
            }
            // An ioctl, its argument an address in (or past) the memory or a value.
            2 | 3 => {
                let Some(fh) = handles[which] else { continue };
                let pick = usize::from(input.u8());
                let cmd = commands.get(pick).copied().unwrap_or_else(|| input.u32());
                let arg = match input.u8() {
                    0 => u64::from(input.u32()),
                    _ => BASE + u64::from(input.u16()),
                };
                let abi = match input.u8() % 4 {
                    1 => CallerAbi::Ilp32,
                    2 => CallerAbi::X32,
                    _ => CallerAbi::Native,
                };
                let req = Request { abi, ..Request::new(2, std::process::id(), 0, 0) };
                let _ = ioctl(node, &req, fh, cmd, arg, &mut mem);
            }
            4 => {
                let Some(fh) = handles[which] else { continue };
                let size = u32::from(input.u16());
                if let Ok(bytes) = node.read(&opener, fh, size, nonblock) {
                    assert!(bytes.len() <= size as usize, "read {} bytes for {size}", bytes.len());
                }
            }
            5 => {
                let Some(fh) = handles[which] else { continue };
                let len = usize::from(input.u16() % 4096);
                let data = input.bytes(len).to_vec();
                if let Ok(n) = node.write(&opener, fh, &data, nonblock) {
                    assert!(n as usize <= data.len(), "wrote {n} of {}", data.len());
                }
            }
            6 => {
                let Some(fh) = handles[which] else { continue };
                let events = u32::from(input.u8());
                if let Ok(ready) = node.poll(&opener, fh, events, None) {
                    let known = (libc::POLLIN
                        | libc::POLLOUT
                        | libc::POLLERR
                        | libc::POLLHUP
                        | libc::POLLRDNORM
                        | libc::POLLWRNORM) as u32;
                    assert!(ready & !(events | known) == 0, "poll answered {ready:#x} for {events:#x}");
                }
            }
            // close() and open again, in the access mode the step's bit 3 picks.
            _ => {
                if let Some(fh) = handles[which].take() {
                    let _ = node.flush(&opener, fh);
                    node.release(&opener, fh);
                }
                let access = if op & 0x08 != 0 { libc::O_WRONLY } else { libc::O_RDWR } as u32;
                handles[which] = node.open(&opener, nonblock | access).ok();
            }
        }
    }
    (handles, mem)
}

fn release_all(nodes: &[&dyn Handler], handles: &[Option<u64>]) {
    let opener = Request::new(1, std::process::id(), 0, 0);
    for (h, node) in handles.iter().zip(nodes) {
        if let Some(fh) = *h {
            node.release(&opener, fh);
        }
    }
}

/// The i386 numbers the ALSA nodes convert (the others are the 64-bit ones).
const ALSA_COMPAT32: &[u32] = &[
    compat32::HW_REFINE,
    compat32::HW_PARAMS,
    compat32::SW_PARAMS,
    compat32::STATUS,
    compat32::STATUS_T64,
    compat32::STATUS_EXT,
    compat32::STATUS_EXT_T64,
    compat32::DELAY,
    compat32::SYNC_PTR,
    compat32::REWIND,
    compat32::FORWARD,
    compat32::WRITEI,
    compat32::READI,
    compat32::WRITEN,
    compat32::READN,
    compat32::ELEM_LIST,
    compat32::ELEM_READ,
    compat32::ELEM_WRITE,
];

/// Every ioctl the ALSA nodes know: the control's, the PCM's, the i386 ones.
pub(crate) fn alsa_commands() -> Vec<u32> {
    control::IOCTLS.iter().chain(pcm::IOCTLS).chain(ALSA_COMPAT32).copied().collect()
}

/// One engine for the whole run (its threads are not remade per input),
/// paced in real time as a device is; each input gets new nodes on it.
fn shared_engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let play = MemoryDevice::null(CFG, Pacing::RealTime);
            let capture = MemoryDevice::capture(CFG, vec![0x55; 48_000], Pacing::RealTime);
            match Engine::start_with(Some(Box::new(play)), Some(Box::new(capture))) {
                Ok(e) => Arc::new(e),
                Err(e) => panic!("the engine did not start: {e}"),
            }
        })
        .clone()
}

/// The states of include/uapi/sound/asound.h (OPEN..DISCONNECTED).
const STATES: std::ops::RangeInclusive<i32> = 0..=8;

/// ALSA: a control node and a playback and a capture PCM node of one card.
/// The input's first byte: bit 0, the card has device controls (shaped by
/// the bytes after it).
pub fn alsa_ioctls(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.u8();
    let mut card = Card { number: 3, id: "Fuzz".into(), name: "fuzzed".into(), engine: shared_engine(), hw: None };
    if flags & 1 != 0 {
        card.hw = Some(Arc::new(FakeHw::new(&mut input)));
    }
    let control = Control::new(card.clone());
    let playback = Pcm::new(card.clone(), false, "/dev/snd/pcmC3D0p");
    let capture = Pcm::new(card, true, "/dev/snd/pcmC3D0c");
    let nodes: [&dyn Handler; 3] = [&control, &*playback, &*capture];
    let (handles, mut mem) = run(&nodes, &alsa_commands(), &mut input);

    // Whatever happened, STATUS answers with a state the kernel has.
    for (which, node) in nodes.iter().enumerate().skip(1) {
        if let Some(fh) = handles[which] {
            let req = Request::new(3, std::process::id(), 0, 0);
            if ioctl(*node, &req, fh, PCM_IOCTL_STATUS, BASE, &mut mem) == Ok(0) {
                let state = i32::from_le_bytes([mem.0[0], mem.0[1], mem.0[2], mem.0[3]]);
                assert!(STATES.contains(&state), "STATUS state {state}");
            } else {
                panic!("STATUS on an open PCM failed");
            }
        }
    }
    release_all(&nodes, &handles);
    // Released opens leave the mixer, and the nodes go with their last
    // reference (no cycle keeps them; their poll threads end within 5 ms).
    for pcm in [&playback, &capture] {
        assert!(pcm.clients().is_empty(), "released opens still listed: {:?}", pcm.clients().len());
    }
    let nodes = [Arc::downgrade(&playback), Arc::downgrade(&capture)];
    drop((playback, capture));
    let deadline = Instant::now() + Duration::from_secs(2);
    while nodes.iter().any(|n| n.strong_count() > 0) {
        assert!(Instant::now() < deadline, "a PCM node outlived its last reference");
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// Every ioctl the OSS nodes know, with the mixer's per-channel numbers.
pub(crate) fn oss_commands() -> Vec<u32> {
    let mut v = vec![
        SNDCTL_DSP_RESET,
        SNDCTL_DSP_SYNC,
        SNDCTL_DSP_SPEED,
        SNDCTL_DSP_STEREO,
        SNDCTL_DSP_GETBLKSIZE,
        SNDCTL_DSP_SETFMT,
        SNDCTL_DSP_CHANNELS,
        SNDCTL_DSP_POST,
        SNDCTL_DSP_SETFRAGMENT,
        SNDCTL_DSP_GETFMTS,
        SNDCTL_DSP_GETOSPACE,
        SNDCTL_DSP_GETISPACE,
        SNDCTL_DSP_NONBLOCK,
        SNDCTL_DSP_GETCAPS,
        SNDCTL_DSP_GETODELAY,
        SNDCTL_DSP_GETTRIGGER,
        SNDCTL_DSP_SETTRIGGER,
        SNDCTL_DSP_GETIPTR,
        SNDCTL_DSP_GETOPTR,
        SNDCTL_DSP_GETPLAYVOL,
        SNDCTL_DSP_SETPLAYVOL,
        SNDCTL_DSP_GETRECVOL,
        SNDCTL_DSP_SETRECVOL,
        SNDCTL_DSP_GETERROR,
        SNDCTL_DSP_COOKEDMODE,
        SNDCTL_DSP_SILENCE,
        SNDCTL_DSP_SKIP,
        SNDCTL_DSP_CURRENT_IPTR,
        SNDCTL_DSP_CURRENT_OPTR,
        SNDCTL_SYSINFO,
        SNDCTL_MIX_NRMIX,
        SNDCTL_MIX_NREXT,
        SNDCTL_AUDIOINFO,
        SNDCTL_MIXERINFO,
        SNDCTL_CARDINFO,
        SNDCTL_ENGINEINFO,
        SNDCTL_AUDIOINFO_EX,
        OSS_GETVERSION,
        SOUND_MIXER_INFO,
    ];
    v.extend((0..SOUND_MIXER_NRDEVICES).flat_map(|c| [mixer_read(c), mixer_write(c)]));
    v.extend([mixer_read(SOUND_MIXER_RECSRC), mixer_write(SOUND_MIXER_RECSRC)]);
    v.extend([SOUND_MIXER_READ_DEVMASK, SOUND_MIXER_READ_RECMASK, SOUND_MIXER_READ_CAPS, SOUND_MIXER_READ_STEREODEVS]);
    v
}

/// OSS: /dev/dsp, /dev/audio, /dev/mixer and /dev/sndstat of one card, set
/// up as `serve` sets them up (one OSS system for the info ioctls). The
/// input's first byte: bit 0, the mixer has device controls (shaped by the
/// bytes after it). The engine is shared by every input and runs on devices
/// that go as fast as they are asked (it parks when no stream is open):
/// SNDCTL_DSP_SYNC waits for what was queued to play out, even on a
/// non-blocking open, as Linux's OSS emulation does.
pub fn oss_ioctls(data: &[u8]) {
    use outboard_oss::dsp::{Dsp, AUDIO_DEFAULTS, DSP_DEFAULTS};
    use outboard_oss::info::OssSystem;
    use outboard_oss::mixer::Mixer;
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    let engine = ENGINE.get_or_init(|| {
        let play: Box<dyn PcmStream> = Box::new(MemoryDevice::null(CFG, Pacing::Immediate));
        let capture: Box<dyn PcmStream> = Box::new(MemoryDevice::capture(CFG, vec![0x33; 48_000], Pacing::Immediate));
        match Engine::start_with(Some(play), Some(capture)) {
            Ok(e) => Arc::new(e),
            Err(e) => panic!("the engine did not start: {e}"),
        }
    });
    let mut input = Input::new(data);
    let flags = input.u8();
    let system = Arc::new(OssSystem::single("Fuzz", engine.clone(), &["/dev/dsp", "/dev/audio"], Some("/dev/mixer")));
    let (Ok(dsp), Ok(audio), Ok(mut mixer)) =
        (Dsp::on(system.clone(), 0, DSP_DEFAULTS), Dsp::on(system.clone(), 1, AUDIO_DEFAULTS), Mixer::on(system, 0))
    else {
        panic!("the OSS nodes could not be made");
    };
    if flags & 1 != 0 {
        mixer = mixer.with_hw(Arc::new(FakeHw::new(&mut input)));
    }
    let sndstat = outboard_oss::sndstat::SndStat::new(&["0: Outboard Fuzz (48000 Hz, 16-bit stereo)".to_string()]);
    let nodes: [&dyn Handler; 4] = [&dsp, &audio, &mixer, &sndstat];
    let (handles, _mem) = run(&nodes, &oss_commands(), &mut input);
    release_all(&nodes, &handles);
    for d in [&dsp, &audio] {
        assert!(d.clients().is_empty(), "released opens still listed: {}", d.clients().len());
    }
}

/// Device controls whose shape (four gain ranges, output ports, capture
/// sources, jacks, auto-mute) comes from the input, keeping the values set.
/// Anything outside a range or the source list that reaches them is a
/// finding: the nodes must check what a client asks before the device sees
/// it.
pub(crate) struct FakeHw {
    ranges: [Option<GainRange>; 4],
    ports: Vec<OutputPort>,
    sources: Vec<Source>,
    jacks: Vec<Jack>,
    gains: Mutex<[[Side; 2]; 4]>,
    selected: Mutex<Option<usize>>,
    automute: Mutex<Option<bool>>,
}

impl FakeHw {
    /// Reads 4 range shapes (a flags byte, then minimum dB, step in 1/16
    /// dB and step count if bit 0 is set), a byte of counts (bits 0-1 ports,
    /// 2-4 sources, 5-7 jacks) and an auto-mute byte.
    pub(crate) fn new(input: &mut Input) -> FakeHw {
        let mut range = || {
            let shape = input.u8();
            (shape & 1 != 0).then(|| GainRange {
                min_db: f64::from(input.u8() as i8),
                step_db: f64::from(input.u8()) / 16.0,
                steps: u32::from(input.u8()),
                stereo: shape & 2 != 0,
                can_mute: shape & 4 != 0,
            })
        };
        let ranges = [range(), range(), range(), range()];
        let counts = input.u8();
        let label = |i: usize| ["Speaker", "Headphone", "Line Out", "Mic", "Line", "CD", ""][i % 7].to_string();
        let ports = (0..usize::from(counts & 3)).map(|i| OutputPort { label: label(i), index: i as u32 }).collect();
        let kinds = [SourceKind::Mic, SourceKind::Line, SourceKind::Cd, SourceKind::Aux, SourceKind::Other];
        let sources = (0..usize::from((counts >> 2) & 7))
            .map(|i| Source { kind: kinds[i % kinds.len()], name: label(i + 3) })
            .collect();
        let jacks = (0..usize::from(counts >> 5))
            .map(|i| Jack { label: label(i), index: (i / 2) as u32, phantom: i % 2 == 1 })
            .collect();
        let automute = (input.u8() & 1 != 0).then_some(false);
        FakeHw {
            ranges,
            ports,
            sources,
            jacks,
            gains: Mutex::new([[None; 2]; 4]),
            selected: Mutex::new(None),
            automute: Mutex::new(automute),
        }
    }

    fn slot(gain: Gain) -> usize {
        match gain {
            Gain::Output => 0,
            Gain::Capture => 1,
            Gain::Port(k) => 2 + usize::from(k.min(1)),
        }
    }
}

impl HwControls for FakeHw {
    fn gain_range(&self, gain: Gain) -> Option<GainRange> {
        match gain {
            Gain::Port(k) if usize::from(k) >= self.ports.len() => None,
            _ => self.ranges[Self::slot(gain)],
        }
    }
    fn gain(&self, gain: Gain) -> Result<[Side; 2], String> {
        self.gain_range(gain).ok_or("no such control")?;
        Ok(lock(&self.gains)[Self::slot(gain)])
    }
    fn set_gain(&self, gain: Gain, sides: [Side; 2]) -> Result<(), String> {
        let range = self.gain_range(gain).ok_or("no such control")?;
        for db in sides.iter().flatten() {
            let (lo, hi) = (range.min_db.min(range.max_db()), range.min_db.max(range.max_db()));
            assert!((lo - 1e-9..=hi + 1e-9).contains(db), "{gain:?}: {db} dB reached the device, outside {lo}..{hi}");
        }
        lock(&self.gains)[Self::slot(gain)] = sides;
        Ok(())
    }
    fn output_ports(&self) -> Vec<OutputPort> {
        self.ports.clone()
    }
    fn sources(&self) -> Vec<Source> {
        self.sources.clone()
    }
    fn selected_source(&self) -> Result<Option<usize>, String> {
        Ok(*lock(&self.selected))
    }
    fn select_source(&self, index: usize) -> Result<(), String> {
        assert!(index < self.sources.len(), "source {index} of {} reached the device", self.sources.len());
        *lock(&self.selected) = Some(index);
        Ok(())
    }
    fn jacks(&self) -> Vec<Jack> {
        self.jacks.clone()
    }
    fn jacks_present(&self) -> Result<Vec<bool>, String> {
        Ok((0..self.jacks.len()).map(|i| i % 2 == 0).collect())
    }
    fn can_automute(&self) -> bool {
        lock(&self.automute).is_some()
    }
    fn automute(&self) -> Result<bool, String> {
        lock(&self.automute).ok_or("no auto-mute".into())
    }
    fn set_automute(&self, enabled: bool) -> Result<(), String> {
        *lock(&self.automute).as_mut().ok_or("no auto-mute")? = enabled;
        Ok(())
    }
}
