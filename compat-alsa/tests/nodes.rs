//! The control and PCM nodes as alsa-lib drives them, through the same
//! ioctl rounds the kernel's CUSE driver makes (each retry's ranges read
//! from, and written to, a stand-in for the caller's memory), on a mixer
//! engine whose device records what it played.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use outboard_alsa::abi::*;
use outboard_alsa::card::Card;
use outboard_alsa::control::Control;
use outboard_alsa::hw_params::param;
use outboard_alsa::pcm::{state, Pcm};
use outboard_cuse::{Errno, Handler, IoctlCall, IoctlReply, Request};
use outboard_mixer::devices::{MemoryDevice, Pacing};
use outboard_mixer::engine::Engine;
use outboard_mixer::pcm::{PcmConfig, SampleFormat};
use zerocopy::{FromBytes, FromZeros, IntoBytes};

const CFG: PcmConfig =
    PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: 256, periods: 4 };

/// The caller's memory: one block at `BASE`.
struct Memory {
    bytes: Vec<u8>,
}
const BASE: u64 = 0x10_0000;

impl Memory {
    fn new(size: usize) -> Memory {
        Memory { bytes: vec![0; size] }
    }
    fn slice(&mut self, addr: u64, len: usize) -> Result<&mut [u8], Errno> {
        let at = addr.checked_sub(BASE).ok_or(libc::EFAULT)? as usize;
        self.bytes.get_mut(at..at + len).ok_or(libc::EFAULT)
    }
}

/// What the kernel does for an unrestricted ioctl: call, and on RETRY copy
/// the ranges asked for in, call again with room for the ranges out, and
/// at the end copy the output back across them.
fn ioctl(h: &dyn Handler, fh: u64, cmd: u32, arg: u64, mem: &mut Memory) -> Result<i32, Errno> {
    ioctl_as(h, outboard_cuse::CallerAbi::Native, fh, cmd, arg, mem)
}

/// The same for a caller of another ABI (an i386 program).
fn ioctl_as(
    h: &dyn Handler,
    abi: outboard_cuse::CallerAbi,
    fh: u64,
    cmd: u32,
    arg: u64,
    mem: &mut Memory,
) -> Result<i32, Errno> {
    ioctl_req(h, Request { abi, ..Request::new(1, std::process::id(), 0, 0) }, fh, cmd, arg, mem)
}

/// The same from another process.
fn ioctl_as_pid(h: &dyn Handler, pid: u32, fh: u64, cmd: u32, arg: u64, mem: &mut Memory) -> Result<i32, Errno> {
    ioctl_req(h, Request::new(1, pid, 0, 0), fh, cmd, arg, mem)
}

thread_local! {
    /// Each round this thread made: the command and whether the node said it
    /// answers it at once (on the server's reading thread).
    static ROUNDS: std::cell::RefCell<Vec<(u32, bool)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The rounds made since the last call, as (command, answered at once).
fn rounds() -> Vec<(u32, bool)> {
    ROUNDS.with(|r| std::mem::take(&mut *r.borrow_mut()))
}

fn ioctl_req(h: &dyn Handler, req: Request, fh: u64, cmd: u32, arg: u64, mem: &mut Memory) -> Result<i32, Errno> {
    let (mut input, mut out_ranges, mut out_size) = (Vec::new(), Vec::new(), 0);
    for _ in 0..8 {
        let call = IoctlCall { cmd, arg, input: &input, out_size };
        // A round the node answers on its reading thread must not wait: it
        // would hold up every other request to the node.
        let at_once = h.answers_at_once(&call);
        ROUNDS.with(|r| r.borrow_mut().push((cmd, at_once)));
        let t = std::time::Instant::now();
        let round = h.ioctl_round(&req, fh, &call);
        assert!(
            !at_once || t.elapsed() < Duration::from_millis(300),
            "ioctl {cmd:#x}: a round answered at once took {:?}",
            t.elapsed()
        );
        match round? {
            IoctlReply::Done { result, out } => {
                let mut at = 0;
                for r in &out_ranges {
                    let r: &outboard_cuse::UserRange = r;
                    let n = r.len.min(out.len() - at.min(out.len()));
                    mem.slice(r.addr, n)?.copy_from_slice(&out[at..at + n]);
                    at += n;
                }
                return Ok(result);
            }
            IoctlReply::Retry { input: ins, output } => {
                input = Vec::new();
                for r in &ins {
                    input.extend_from_slice(mem.slice(r.addr, r.len)?);
                }
                out_size = output.iter().map(|r| r.len).sum();
                out_ranges = output;
            }
        }
    }
    panic!("ioctl {cmd:#x} kept asking for more rounds");
}

fn card(capture: bool) -> (Card, Arc<Mutex<Vec<u8>>>) {
    let (dev, played) = MemoryDevice::recording(CFG, Pacing::RealTime);
    let cap: Option<Box<dyn outboard_mixer::pcm::PcmStream>> =
        if capture { Some(Box::new(MemoryDevice::capture(CFG, vec![0; 48_000 * 4], Pacing::RealTime))) } else { None };
    let engine = Arc::new(Engine::start_with(Some(Box::new(dev)), cap).unwrap());
    (Card { number: 3, id: "Emu".into(), name: "emulated".into(), engine, hw: None }, played)
}

/// A capture-only card whose device hears `heard` (S16_LE stereo, then
/// silence; the memory device moves only when the engine waits on it).
fn card_hearing(heard: Vec<u8>) -> Card {
    let cap = MemoryDevice::capture(CFG, heard, Pacing::RealTime);
    let engine = Arc::new(Engine::start_with(None, Some(Box::new(cap))).unwrap());
    Card { number: 3, id: "Emu".into(), name: "emulated".into(), engine, hw: None }
}

fn put<T: IntoBytes + zerocopy::Immutable>(mem: &mut Memory, at: u64, v: &T) {
    mem.slice(at, v.as_bytes().len()).unwrap().copy_from_slice(v.as_bytes());
}
fn get<T: FromBytes>(mem: &mut Memory, at: u64) -> T {
    let n = std::mem::size_of::<T>();
    T::read_from_bytes(mem.slice(at, n).unwrap()).unwrap()
}

#[test]
fn the_control_node_answers_what_aplay_l_asks() {
    let (card, _) = card(false);
    let ctl = Control::new(card);
    let fh = ctl.open(&Request::new(1, 1, 0, 0), 0).unwrap();
    let mut mem = Memory::new(4096);
    assert_eq!(ioctl(&ctl, fh, CTL_IOCTL_CARD_INFO, BASE, &mut mem), Ok(0));
    let info: CtlCardInfo = get(&mut mem, BASE);
    assert_eq!(info.card, 3);
    assert!(info.driver.starts_with(b"Outboard\0"), "a driver alsa-lib has no dmix config for");
    assert!(info.id.starts_with(b"Emu\0"));
    // Devices: 0, then none.
    put(&mut mem, BASE, &-1i32);
    ioctl(&ctl, fh, CTL_IOCTL_PCM_NEXT_DEVICE, BASE, &mut mem).unwrap();
    assert_eq!(get::<i32>(&mut mem, BASE), 0);
    ioctl(&ctl, fh, CTL_IOCTL_PCM_NEXT_DEVICE, BASE, &mut mem).unwrap();
    assert_eq!(get::<i32>(&mut mem, BASE), -1);
    // Playback exists; capture does not: ENOENT, which aplay -l skips.
    let mut asked = PcmInfo::new_zeroed();
    put(&mut mem, BASE, &asked);
    ioctl(&ctl, fh, CTL_IOCTL_PCM_INFO, BASE, &mut mem).unwrap();
    let got: PcmInfo = get(&mut mem, BASE);
    assert_eq!((got.card, got.device, got.stream, got.subdevices_count), (3, 0, 0, 1));
    asked.stream = 1;
    put(&mut mem, BASE, &asked);
    assert_eq!(ioctl(&ctl, fh, CTL_IOCTL_PCM_INFO, BASE, &mut mem), Err(libc::ENOENT));
    asked.device = 1;
    asked.stream = 0;
    put(&mut mem, BASE, &asked);
    assert_eq!(ioctl(&ctl, fh, CTL_IOCTL_PCM_INFO, BASE, &mut mem), Err(libc::ENXIO));
    put(&mut mem, BASE, &-1i32);
    ioctl(&ctl, fh, CTL_IOCTL_HWDEP_NEXT_DEVICE, BASE, &mut mem).unwrap();
    assert_eq!(get::<i32>(&mut mem, BASE), -1);
    assert_eq!(ioctl(&ctl, fh, 0xdead_beef, BASE, &mut mem), Err(libc::ENOTTY));
}

/// HW_PARAMS for S16_LE stereo 48 kHz, `period` frames x `periods`.
fn hw_params(period: u32, periods: u32) -> HwParams {
    let mut p = HwParams::new_zeroed();
    for m in &mut p.masks {
        m.bits = [u32::MAX; 8];
    }
    for i in &mut p.intervals {
        *i = Interval { min: 0, max: u32::MAX, flags: 0 };
    }
    p.masks[param::FORMAT].bits = [1 << 2, 0, 0, 0, 0, 0, 0, 0];
    let set = |p: &mut HwParams, k: usize, v: u32| p.intervals[k - 8] = Interval { min: v, max: v, flags: 0 };
    set(&mut p, param::CHANNELS, 2);
    set(&mut p, param::RATE, 48_000);
    set(&mut p, param::PERIOD_SIZE, period);
    set(&mut p, param::PERIODS, periods);
    p.rmask = u32::MAX;
    p
}

fn status(pcm: &Pcm, fh: u64, mem: &mut Memory) -> PcmStatus {
    ioctl(pcm, fh, PCM_IOCTL_STATUS, BASE, mem).unwrap();
    get(mem, BASE)
}

#[test]
fn a_stream_written_with_writei_plays_bit_exact_and_drains_to_the_end() {
    let (card, played) = card(false);
    let pcm = Pcm::new(card, false, "/dev/snd/pcmC3D0p");
    let fh = pcm.open(&Request::new(1, 1, 0, 0), 0).unwrap();
    let mut mem = Memory::new(1 << 20);
    put(&mut mem, BASE, &0i32);
    ioctl(&*pcm, fh, PCM_IOCTL_PVERSION, BASE, &mut mem).unwrap();
    assert_eq!(get::<u32>(&mut mem, BASE), PCM_VERSION);
    assert_eq!(status(&pcm, fh, &mut mem).state, state::OPEN);
    // Before HW_PARAMS, transfers are in the wrong state.
    put(&mut mem, BASE, &XferI { result: 0, buf: BASE + 4096, frames: 10 });
    assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_WRITEI_FRAMES, BASE, &mut mem), Err(libc::EBADFD));

    put(&mut mem, BASE, &hw_params(256, 4));
    assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_HW_PARAMS, BASE, &mut mem), Ok(0));
    let chosen: HwParams = get(&mut mem, BASE);
    assert_eq!(chosen.intervals[param::BUFFER_SIZE - 8].min, 1024);
    assert_eq!(status(&pcm, fh, &mut mem).state, state::SETUP);
    // SW_PARAMS: start once the buffer is full, stop at an underrun.
    let mut sw = SwParams::new_zeroed();
    sw.avail_min = 256;
    sw.start_threshold = 1024;
    sw.stop_threshold = 1024;
    put(&mut mem, BASE, &sw);
    ioctl(&*pcm, fh, PCM_IOCTL_SW_PARAMS, BASE, &mut mem).unwrap();
    let back: SwParams = get(&mut mem, BASE);
    assert!(back.boundary >= 1024 && back.boundary % 1024 == 0);
    assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_PREPARE, 0, &mut mem), Ok(0));
    assert_eq!(status(&pcm, fh, &mut mem).state, state::PREPARED);

    // 0.25 s of a ramp that never repeats within it.
    let frames = 12_000usize;
    let samples: Vec<i16> = (0..frames * 2).map(|i| (i as i32 * 7 % 65_536 - 32_768) as i16).collect();
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let buf = BASE + 4096;
    mem.slice(buf, data.len()).unwrap().copy_from_slice(&data);
    let mut done = 0usize;
    rounds();
    while done < frames {
        put(&mut mem, BASE, &XferI { result: 0, buf: buf + (done * 4) as u64, frames: (frames - done) as u64 });
        assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_WRITEI_FRAMES, BASE, &mut mem), Ok(0));
        let x: XferI = get(&mut mem, BASE);
        assert!(x.result > 0, "{x:?}");
        done += x.result as usize;
        // Asking for the argument and for the samples is answered at once;
        // the round that moves them (it waits for room) on a request thread.
        let w = PCM_IOCTL_WRITEI_FRAMES;
        assert_eq!(rounds(), [(w, true), (w, true), (w, false)]);
    }
    let s = status(&pcm, fh, &mut mem);
    assert_eq!(s.state, state::RUNNING);
    assert_eq!(s.appl_ptr, frames as u64);
    // SYNC_PTR as alsa-lib's mmap-less path: hw_ptr moves, appl_ptr is ours.
    let mut sp = SyncPtr::new_zeroed();
    sp.flags = 1 << 1 | 1 << 2;
    put(&mut mem, BASE, &sp);
    assert_eq!(rounds(), [(PCM_IOCTL_STATUS, true), (PCM_IOCTL_STATUS, true)]);
    ioctl(&*pcm, fh, PCM_IOCTL_SYNC_PTR, BASE, &mut mem).unwrap();
    assert_eq!(rounds(), [(PCM_IOCTL_SYNC_PTR, true), (PCM_IOCTL_SYNC_PTR, true)]);
    let sp: SyncPtr = get(&mut mem, BASE);
    assert_eq!(sp.control.appl_ptr, frames as u64);
    assert!(sp.status.hw_ptr <= frames as u64);
    assert_eq!(sp.status.state, state::RUNNING);

    assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_DRAIN, 0, &mut mem), Ok(0));
    assert_eq!(rounds(), [(PCM_IOCTL_DRAIN, false)], "a drain waits: on a request thread");
    let s = status(&pcm, fh, &mut mem);
    assert_eq!(s.state, state::SETUP, "after a drain");
    assert_eq!(s.hw_ptr, frames as u64, "drain returned when the last sample left, not before");
    // The device got every sample, in order, once.
    std::thread::sleep(Duration::from_millis(50));
    let out = played.lock().unwrap().clone();
    let at = out.windows(8).position(|w| w == &data[..8]).expect("the start of the stream");
    assert_eq!(&out[at..at + data.len()], &data[..], "bit-exact");
    pcm.release(&Request::new(1, 1, 0, 0), fh);
}

#[test]
fn wrong_states_and_bad_requests_get_the_kernels_errors() {
    let (card, _) = card(false);
    let pcm = Pcm::new(card, false, "/dev/snd/pcmC3D0p");
    let fh = pcm.open(&Request::new(1, 1, 0, 0), libc::O_NONBLOCK as u32).unwrap();
    let mut mem = Memory::new(1 << 16);
    assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_PREPARE, 0, &mut mem), Err(libc::EBADFD));
    assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_START, 0, &mut mem), Err(libc::EBADFD));
    // An impossible HW_PARAMS: 9 channels.
    let mut p = hw_params(256, 4);
    p.intervals[param::CHANNELS - 8] = Interval { min: 9, max: 9, flags: 0 };
    put(&mut mem, BASE, &p);
    assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_HW_PARAMS, BASE, &mut mem), Err(libc::EINVAL));
    put(&mut mem, BASE, &hw_params(256, 4));
    ioctl(&*pcm, fh, PCM_IOCTL_HW_PARAMS, BASE, &mut mem).unwrap();
    ioctl(&*pcm, fh, PCM_IOCTL_PREPARE, 0, &mut mem).unwrap();
    // START with nothing queued: EPIPE.
    assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_START, 0, &mut mem), Err(libc::EPIPE));
    // A transfer pointing outside the caller's memory faults, and nothing breaks.
    put(&mut mem, BASE, &XferI { result: 0, buf: 0xdead_0000, frames: 100 });
    assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_WRITEI_FRAMES, BASE, &mut mem), Err(libc::EFAULT));
    // Non-blocking: a write larger than the buffer takes what fits.
    let buf = BASE + 4096;
    put(&mut mem, BASE, &XferI { result: 0, buf, frames: 4000 });
    ioctl(&*pcm, fh, PCM_IOCTL_WRITEI_FRAMES, BASE, &mut mem).unwrap();
    let x: XferI = get(&mut mem, BASE);
    assert!(x.result > 0 && x.result <= 1024, "{x:?}");
    // PAUSE passes a value; REWIND writes back what it moved (nothing).
    assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_PAUSE, 1, &mut mem), Ok(0));
    assert_eq!(status(&pcm, fh, &mut mem).state, state::PAUSED);
    assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_PAUSE, 0, &mut mem), Ok(0));
    put(&mut mem, BASE, &100u64);
    ioctl(&*pcm, fh, PCM_IOCTL_REWIND, BASE, &mut mem).unwrap();
    assert_eq!(get::<u64>(&mut mem, BASE), 0);
    assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_LINK, 7, &mut mem), Err(libc::EBADFD));
    // DROP: back to SETUP; an xrun forced by XRUN reads as such until PREPARE.
    ioctl(&*pcm, fh, PCM_IOCTL_DROP, 0, &mut mem).unwrap();
    assert_eq!(status(&pcm, fh, &mut mem).state, state::SETUP);
    ioctl(&*pcm, fh, PCM_IOCTL_PREPARE, 0, &mut mem).unwrap();
    ioctl(&*pcm, fh, PCM_IOCTL_XRUN, 0, &mut mem).unwrap();
    assert_eq!(status(&pcm, fh, &mut mem).state, state::XRUN);
    put(&mut mem, BASE, &XferI { result: 0, buf, frames: 10 });
    assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_WRITEI_FRAMES, BASE, &mut mem), Err(libc::EPIPE));
    assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_DELAY, BASE, &mut mem), Err(libc::EPIPE));
    ioctl(&*pcm, fh, PCM_IOCTL_PREPARE, 0, &mut mem).unwrap();
    assert_eq!(status(&pcm, fh, &mut mem).state, state::PREPARED);
    assert_eq!(ioctl(&*pcm, fh, 0x1234_5678, BASE, &mut mem), Err(libc::ENOTTY));
}

/// A device's controls: an output amp of 74 steps of 1 dB with a mute, and
/// two capture sources; it remembers what was set.
#[derive(Default)]
struct FakeHw {
    output: Mutex<[outboard_mixer::hw::Side; 2]>,
    source: Mutex<usize>,
    /// With jacks: a headphone jack it senses (plugged or not) and a line
    /// out it cannot sense; a jack event waiting to be serviced.
    headphones: Mutex<Option<bool>>,
    jack_event: Mutex<bool>,
    /// With per-output volumes: a speaker's and a headphone's levels.
    ports: Mutex<Option<[[outboard_mixer::hw::Side; 2]; 2]>>,
    /// With speaker auto-mute: whether it is on.
    automute: Mutex<Option<bool>>,
}

impl outboard_mixer::hw::HwControls for FakeHw {
    fn gain_range(&self, gain: outboard_mixer::hw::Gain) -> Option<outboard_mixer::hw::GainRange> {
        let port = matches!(gain, outboard_mixer::hw::Gain::Port(k) if k < 2 && self.ports.lock().unwrap().is_some());
        (gain == outboard_mixer::hw::Gain::Output || port).then_some(outboard_mixer::hw::GainRange {
            min_db: -74.0,
            step_db: 1.0,
            steps: 74,
            stereo: true,
            can_mute: true,
        })
    }
    fn gain(&self, gain: outboard_mixer::hw::Gain) -> Result<[outboard_mixer::hw::Side; 2], String> {
        match gain {
            outboard_mixer::hw::Gain::Port(k) => {
                self.ports.lock().unwrap().and_then(|p| p.get(usize::from(k)).copied()).ok_or("no such port".into())
            }
            _ => Ok(*self.output.lock().unwrap()),
        }
    }
    fn set_gain(&self, gain: outboard_mixer::hw::Gain, sides: [outboard_mixer::hw::Side; 2]) -> Result<(), String> {
        match gain {
            outboard_mixer::hw::Gain::Port(k) => {
                let mut ports = self.ports.lock().unwrap();
                *ports.as_mut().and_then(|p| p.get_mut(usize::from(k))).ok_or("no such port")? = sides;
            }
            _ => *self.output.lock().unwrap() = sides,
        }
        Ok(())
    }
    fn can_automute(&self) -> bool {
        self.automute.lock().unwrap().is_some()
    }
    fn automute(&self) -> Result<bool, String> {
        self.automute.lock().unwrap().ok_or("no auto-mute".into())
    }
    fn set_automute(&self, enabled: bool) -> Result<(), String> {
        *self.automute.lock().unwrap().as_mut().ok_or("no auto-mute")? = enabled;
        Ok(())
    }
    fn output_ports(&self) -> Vec<outboard_mixer::hw::OutputPort> {
        let port = |label: &str| outboard_mixer::hw::OutputPort { label: label.into(), index: 0 };
        match *self.ports.lock().unwrap() {
            Some(_) => vec![port("Speaker"), port("Headphone")],
            None => Vec::new(),
        }
    }
    fn sources(&self) -> Vec<outboard_mixer::hw::Source> {
        ["Line", "Mic"]
            .iter()
            .zip([outboard_mixer::hw::SourceKind::Line, outboard_mixer::hw::SourceKind::Mic])
            .map(|(n, kind)| outboard_mixer::hw::Source { kind, name: n.to_string() })
            .collect()
    }
    fn selected_source(&self) -> Result<Option<usize>, String> {
        Ok(Some(*self.source.lock().unwrap()))
    }
    fn select_source(&self, index: usize) -> Result<(), String> {
        *self.source.lock().unwrap() = index;
        Ok(())
    }
    fn jacks(&self) -> Vec<outboard_mixer::hw::Jack> {
        let jack = |label: &str, phantom| outboard_mixer::hw::Jack { label: label.into(), index: 0, phantom };
        match *self.headphones.lock().unwrap() {
            Some(_) => vec![jack("Headphone", false), jack("Line Out Phantom", true)],
            None => Vec::new(),
        }
    }
    fn jacks_present(&self) -> Result<Vec<bool>, String> {
        Ok(self.headphones.lock().unwrap().map(|hp| vec![hp, true]).unwrap_or_default())
    }
    fn poll_events(&self) -> Result<Vec<outboard_mixer::hw::Change>, String> {
        let event = std::mem::take(&mut *self.jack_event.lock().unwrap());
        Ok(if event { vec![outboard_mixer::hw::Change::Jacks] } else { Vec::new() })
    }
}

fn elem_id(numid: u32) -> CtlElemId {
    CtlElemId { numid, ..CtlElemId::new_zeroed() }
}

fn name_of(id: &CtlElemId) -> String {
    let end = id.name.iter().position(|&b| b == 0).unwrap_or(44);
    String::from_utf8_lossy(&id.name[..end]).into_owned()
}

#[test]
fn the_mixer_elements_act_on_the_devices_controls_with_their_db_scales_and_events() {
    let (mut card, _) = card(false);
    let hw =
        Arc::new(FakeHw { output: Mutex::new([Some(-10.0), Some(-20.0)]), source: Mutex::new(0), ..FakeHw::default() });
    card.hw = Some(hw.clone());
    let engine = card.engine.clone();
    let ctl = Control::new(card);
    let req = Request::new(1, 1, 0, 0);
    let (fh, watcher) = (ctl.open(&req, 0).unwrap(), ctl.open(&req, libc::O_NONBLOCK as u32).unwrap());
    let mut mem = Memory::new(1 << 16);
    // ELEM_LIST: first the count, then the ids (into the caller's array).
    put(&mut mem, BASE, &CtlElemList { space: 0, ..CtlElemList::new_zeroed() });
    ioctl(&ctl, fh, CTL_IOCTL_ELEM_LIST, BASE, &mut mem).unwrap();
    let count = get::<CtlElemList>(&mut mem, BASE).count;
    assert_eq!(count, 5, "Master volume and switch, PCM, Input Source, the playback channel map");
    let pids = BASE + 4096;
    put(&mut mem, BASE, &CtlElemList { space: count, pids, ..CtlElemList::new_zeroed() });
    ioctl(&ctl, fh, CTL_IOCTL_ELEM_LIST, BASE, &mut mem).unwrap();
    assert_eq!(get::<CtlElemList>(&mut mem, BASE).used, 5);
    let names: Vec<String> = (0..5).map(|i| name_of(&get::<CtlElemId>(&mut mem, pids + i * 64))).collect();
    assert_eq!(
        names,
        [
            "Master Playback Volume",
            "Master Playback Switch",
            "PCM Playback Volume",
            "Input Source",
            "Playback Channel Map"
        ]
    );

    // ELEM_INFO by name: the amp's 74 steps.
    let mut info = CtlElemInfo::new_zeroed();
    info.id.iface = 2;
    outboard_alsa::abi::put_str(&mut info.id.name, "Master Playback Volume");
    put(&mut mem, BASE, &info);
    ioctl(&ctl, fh, CTL_IOCTL_ELEM_INFO, BASE, &mut mem).unwrap();
    let info: CtlElemInfo = get(&mut mem, BASE);
    assert_eq!((info.id.numid, info.kind, info.count), (1, 2, 2));
    assert_eq!(i64::from_le_bytes(info.value[8..16].try_into().unwrap()), 74);
    // Its dB scale: -74 dB in 1 dB steps, its own mute (no mute-at-min flag).
    put(&mut mem, BASE, &CtlTlv { numid: 1, length: 64 });
    ioctl(&ctl, fh, CTL_IOCTL_TLV_READ, BASE, &mut mem).unwrap();
    let tlv: [u32; 6] = get(&mut mem, BASE);
    assert_eq!(tlv, [1, 16, 1, 8, (-7400i32) as u32, 100]);
    put(&mut mem, BASE, &CtlTlv { numid: 1, length: 4 });
    assert_eq!(ioctl(&ctl, fh, CTL_IOCTL_TLV_READ, BASE, &mut mem), Err(libc::ENOMEM));

    // Read: the amp's levels as steps; write: set in dB on the hardware.
    put(&mut mem, BASE, &CtlElemValue { id: elem_id(1), ..CtlElemValue::new_zeroed() });
    ioctl(&ctl, fh, CTL_IOCTL_ELEM_READ, BASE, &mut mem).unwrap();
    let v: CtlElemValue = get(&mut mem, BASE);
    assert_eq!(
        (i64::from_le_bytes(v.value[0..8].try_into().unwrap()), i64::from_le_bytes(v.value[8..16].try_into().unwrap())),
        (64, 54)
    );
    // A subscriber hears of the change.
    put(&mut mem, BASE, &1i32);
    ioctl(&ctl, watcher, CTL_IOCTL_SUBSCRIBE_EVENTS, BASE, &mut mem).unwrap();
    assert_eq!(ctl.read(&req, watcher, 72, libc::O_NONBLOCK as u32), Err(libc::EAGAIN));
    let mut w = CtlElemValue { id: elem_id(1), ..CtlElemValue::new_zeroed() };
    w.value[0..8].copy_from_slice(&70i64.to_le_bytes());
    w.value[8..16].copy_from_slice(&70i64.to_le_bytes());
    put(&mut mem, BASE, &w);
    ioctl(&ctl, fh, CTL_IOCTL_ELEM_WRITE, BASE, &mut mem).unwrap();
    assert_eq!(*hw.output.lock().unwrap(), [Some(-4.0), Some(-4.0)]);
    let ev = ctl.read(&req, watcher, 72 * 4, libc::O_NONBLOCK as u32).unwrap();
    assert_eq!(ev.len(), 72);
    let ev = CtlEvent::read_from_bytes(&ev).unwrap();
    assert_eq!((ev.mask, ev.id.numid), (1, 1));
    // Out of range: EINVAL, nothing set.
    w.value[0..8].copy_from_slice(&75i64.to_le_bytes());
    put(&mut mem, BASE, &w);
    assert_eq!(ioctl(&ctl, fh, CTL_IOCTL_ELEM_WRITE, BASE, &mut mem), Err(libc::EINVAL));
    assert_eq!(*hw.output.lock().unwrap(), [Some(-4.0), Some(-4.0)]);
    // The switch mutes, keeping the level for the unmute.
    let mut sw = CtlElemValue { id: elem_id(2), ..CtlElemValue::new_zeroed() };
    put(&mut mem, BASE, &sw);
    ioctl(&ctl, fh, CTL_IOCTL_ELEM_WRITE, BASE, &mut mem).unwrap();
    assert_eq!(*hw.output.lock().unwrap(), [None, None]);
    sw.value[0..8].copy_from_slice(&1i64.to_le_bytes());
    sw.value[8..16].copy_from_slice(&1i64.to_le_bytes());
    put(&mut mem, BASE, &sw);
    ioctl(&ctl, fh, CTL_IOCTL_ELEM_WRITE, BASE, &mut mem).unwrap();
    assert_eq!(*hw.output.lock().unwrap(), [Some(-4.0), Some(-4.0)]);
    // PCM: the mixer's master gain, 0.25 dB steps; 243 is -3 dB.
    let mut pcm = CtlElemValue { id: elem_id(3), ..CtlElemValue::new_zeroed() };
    pcm.value[0..8].copy_from_slice(&243i64.to_le_bytes());
    put(&mut mem, BASE, &pcm);
    ioctl(&ctl, fh, CTL_IOCTL_ELEM_WRITE, BASE, &mut mem).unwrap();
    assert!((20.0 * f64::from(engine.master_gain()).log10() + 3.0).abs() < 0.01);
    // Input Source: enumerated, by item.
    let mut src = CtlElemValue { id: elem_id(4), ..CtlElemValue::new_zeroed() };
    src.value[0..4].copy_from_slice(&1u32.to_le_bytes());
    put(&mut mem, BASE, &src);
    ioctl(&ctl, fh, CTL_IOCTL_ELEM_WRITE, BASE, &mut mem).unwrap();
    assert_eq!(*hw.source.lock().unwrap(), 1);
    let mut info = CtlElemInfo { id: elem_id(4), ..CtlElemInfo::new_zeroed() };
    info.value[4..8].copy_from_slice(&1u32.to_le_bytes());
    put(&mut mem, BASE, &info);
    ioctl(&ctl, fh, CTL_IOCTL_ELEM_INFO, BASE, &mut mem).unwrap();
    let info: CtlElemInfo = get(&mut mem, BASE);
    assert_eq!((info.kind, u32::from_le_bytes(info.value[0..4].try_into().unwrap())), (3, 2));
    assert!(info.value[8..].starts_with(b"Mic\0"));
    // An element that is not there.
    put(&mut mem, BASE, &CtlElemValue { id: elem_id(9), ..CtlElemValue::new_zeroed() });
    assert_eq!(ioctl(&ctl, fh, CTL_IOCTL_ELEM_READ, BASE, &mut mem), Err(libc::ENOENT));
}

#[test]
fn an_i386_program_plays_through_its_own_layouts() {
    use outboard_alsa::compat32;
    use outboard_cuse::CallerAbi::Ilp32;
    let (card, played) = card(false);
    let pcm = Pcm::new(card, false, "/dev/snd/pcmC3D0p");
    let fh = pcm.open(&Request::new(1, 1, 0, 0), 0).unwrap();
    let mut mem = Memory::new(1 << 20);
    // HW_PARAMS: 604 bytes, fifo_size a u32.
    let p = hw_params(256, 4);
    let mut p32 = p.as_bytes()[..536].to_vec();
    p32.extend_from_slice(&[0; 68]);
    mem.slice(BASE, 604).unwrap().copy_from_slice(&p32);
    assert_eq!(ioctl_as(&*pcm, Ilp32, fh, compat32::HW_PARAMS, BASE, &mut mem), Ok(0));
    assert_eq!(get::<[u32; 3]>(&mut mem, BASE + 260 + (param::BUFFER_SIZE as u64 - 8) * 12)[0], 1024);
    // The 64-bit layouts' numbers mean something else to an i386 caller:
    // refused, nothing read.
    assert_eq!(ioctl_as(&*pcm, Ilp32, fh, PCM_IOCTL_HW_PARAMS, BASE, &mut mem), Err(libc::ENOTTY));
    // SW_PARAMS: 104 bytes; the boundary comes back under 2^31.
    let mut sw = vec![0u8; 104];
    sw[12..16].copy_from_slice(&256u32.to_le_bytes());
    sw[20..24].copy_from_slice(&1024u32.to_le_bytes()); // start_threshold
    sw[24..28].copy_from_slice(&1024u32.to_le_bytes()); // stop_threshold
    mem.slice(BASE, 104).unwrap().copy_from_slice(&sw);
    ioctl_as(&*pcm, Ilp32, fh, compat32::SW_PARAMS, BASE, &mut mem).unwrap();
    let boundary = get::<u32>(&mut mem, BASE + 36);
    assert!(boundary > 0 && boundary < 1 << 31 && boundary % 1024 == 0, "{boundary}");
    ioctl_as(&*pcm, Ilp32, fh, PCM_IOCTL_PREPARE, 0, &mut mem).unwrap();
    // WRITEI with a 12-byte snd_xferi.
    let frames = 4800u32;
    let data: Vec<u8> = (0..frames * 2).flat_map(|i| ((i * 5 % 60_000) as i16).to_le_bytes()).collect();
    let buf = BASE + 4096;
    mem.slice(buf, data.len()).unwrap().copy_from_slice(&data);
    let mut done = 0u32;
    while done < frames {
        let x = [0i32.to_le_bytes(), ((buf as u32) + done * 4).to_le_bytes(), (frames - done).to_le_bytes()].concat();
        mem.slice(BASE, 12).unwrap().copy_from_slice(&x);
        ioctl_as(&*pcm, Ilp32, fh, compat32::WRITEI, BASE, &mut mem).unwrap();
        let n = get::<i32>(&mut mem, BASE);
        assert!(n > 0, "{n}");
        done += n as u32;
    }
    // STATUS (108 bytes): appl_ptr at 20; SYNC_PTR (132): appl_ptr at 68.
    ioctl_as(&*pcm, Ilp32, fh, compat32::STATUS, BASE, &mut mem).unwrap();
    assert_eq!((get::<i32>(&mut mem, BASE), get::<u32>(&mut mem, BASE + 20)), (3, frames));
    mem.slice(BASE, 132).unwrap().fill(0);
    ioctl_as(&*pcm, Ilp32, fh, compat32::SYNC_PTR, BASE, &mut mem).unwrap();
    assert_eq!(get::<u32>(&mut mem, BASE + 68), frames);
    // time64 STATUS (128 bytes): appl_ptr at 40.
    ioctl_as(&*pcm, Ilp32, fh, compat32::STATUS_T64, BASE, &mut mem).unwrap();
    assert_eq!(get::<u32>(&mut mem, BASE + 40), frames);
    ioctl_as(&*pcm, Ilp32, fh, PCM_IOCTL_DRAIN, 0, &mut mem).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let out = played.lock().unwrap().clone();
    let at = out.windows(8).position(|w| w == &data[..8]).expect("the start of the stream");
    assert_eq!(&out[at..at + data.len()], &data[..], "bit-exact");
}

/// HW_PARAMS as `aplay -I` asks: non-interleaved read/write access only.
fn hw_params_noninterleaved() -> HwParams {
    let mut p = hw_params(256, 4);
    p.masks[param::ACCESS].bits = [1 << 4, 0, 0, 0, 0, 0, 0, 0];
    p
}

#[test]
fn a_non_interleaved_stream_plays_each_channel_from_its_own_buffer() {
    let (card, played) = card(false);
    let pcm = Pcm::new(card, false, "/dev/snd/pcmC3D0p");
    let fh = pcm.open(&Request::new(1, 1, 0, 0), 0).unwrap();
    let mut mem = Memory::new(1 << 20);
    // An open request offers both read/write accesses; HW_PARAMS picks
    // interleaved unless the caller asks for the other.
    let mut p = hw_params(256, 4);
    put(&mut mem, BASE, &p);
    ioctl(&*pcm, fh, PCM_IOCTL_HW_REFINE, BASE, &mut mem).unwrap();
    assert_eq!(get::<HwParams>(&mut mem, BASE).masks[param::ACCESS].bits[0], 1 << 3 | 1 << 4);
    p = hw_params_noninterleaved();
    put(&mut mem, BASE, &p);
    assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_HW_PARAMS, BASE, &mut mem), Ok(0));
    assert_eq!(get::<HwParams>(&mut mem, BASE).masks[param::ACCESS].bits[0], 1 << 4);
    ioctl(&*pcm, fh, PCM_IOCTL_PREPARE, 0, &mut mem).unwrap();
    // The interleaved transfer on a non-interleaved setup: EINVAL, as the kernel.
    put(&mut mem, BASE, &XferI { result: 0, buf: BASE + 4096, frames: 10 });
    assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_WRITEI_FRAMES, BASE, &mut mem), Err(libc::EINVAL));

    // Left and right in two buffers, the channel table at BASE + 64.
    let frames = 9_600usize;
    let left: Vec<u8> = (0..frames).flat_map(|i| ((i * 3 % 50_000) as i16).to_le_bytes()).collect();
    let right: Vec<u8> = (0..frames).flat_map(|i| (-((i * 11 % 30_000) as i16)).to_le_bytes()).collect();
    let (table, lbuf, rbuf) = (BASE + 64, BASE + 4096, BASE + 4096 + 65_536);
    mem.slice(lbuf, left.len()).unwrap().copy_from_slice(&left);
    mem.slice(rbuf, right.len()).unwrap().copy_from_slice(&right);
    let mut done = 0usize;
    while done < frames {
        let at = (done * 2) as u64;
        put(&mut mem, table, &[lbuf + at, rbuf + at]);
        put(&mut mem, BASE, &XferN { result: 0, bufs: table, frames: (frames - done) as u64 });
        assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_WRITEN_FRAMES, BASE, &mut mem), Ok(0));
        let x: XferN = get(&mut mem, BASE);
        assert!(x.result > 0, "{x:?}");
        done += x.result as usize;
    }
    // Then 480 frames of the left channel alone: a null pointer is silence.
    put(&mut mem, table, &[lbuf, 0u64]);
    put(&mut mem, BASE, &XferN { result: 0, bufs: table, frames: 480 });
    ioctl(&*pcm, fh, PCM_IOCTL_WRITEN_FRAMES, BASE, &mut mem).unwrap();
    assert_eq!(get::<XferN>(&mut mem, BASE).result, 480);
    assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_DRAIN, 0, &mut mem), Ok(0));
    std::thread::sleep(Duration::from_millis(50));

    let mut expected: Vec<u8> =
        left.chunks_exact(2).zip(right.chunks_exact(2)).flat_map(|(l, r)| [l, r].concat()).collect();
    expected.extend(left.chunks_exact(2).take(480).flat_map(|l| [l, &[0, 0][..]].concat()));
    let out = played.lock().unwrap().clone();
    let at = out.windows(8).position(|w| w == &expected[..8]).expect("the start of the stream");
    assert_eq!(&out[at..at + expected.len()], &expected[..], "each channel from its own buffer, bit-exact");
    pcm.release(&Request::new(1, 1, 0, 0), fh);
}

#[test]
fn a_non_interleaved_capture_fills_each_channels_buffer() {
    let heard: Vec<u8> = (0..48_000 * 2).flat_map(|i: i32| ((i * 7 % 40_000 - 20_000) as i16).to_le_bytes()).collect();
    let pcm = Pcm::new(card_hearing(heard.clone()), true, "/dev/snd/pcmC3D0c");
    let fh = pcm.open(&Request::new(1, 1, 0, 0), 0).unwrap();
    let mut mem = Memory::new(1 << 20);
    put(&mut mem, BASE, &hw_params_noninterleaved());
    ioctl(&*pcm, fh, PCM_IOCTL_HW_PARAMS, BASE, &mut mem).unwrap();
    ioctl(&*pcm, fh, PCM_IOCTL_PREPARE, 0, &mut mem).unwrap();
    put(&mut mem, BASE, &XferI { result: 0, buf: BASE + 4096, frames: 10 });
    assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_READI_FRAMES, BASE, &mut mem), Err(libc::EINVAL));
    let frames = 4_800usize;
    let (table, lbuf, rbuf) = (BASE + 64, BASE + 4096, BASE + 4096 + 65_536);
    let (mut left, mut right) = (Vec::new(), Vec::new());
    while left.len() < frames * 2 {
        let want = frames - left.len() / 2;
        put(&mut mem, table, &[lbuf, rbuf]);
        put(&mut mem, BASE, &XferN { result: 0, bufs: table, frames: want as u64 });
        assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_READN_FRAMES, BASE, &mut mem), Ok(0));
        let n = get::<XferN>(&mut mem, BASE).result as usize;
        assert!(n > 0 && n <= want, "{n}");
        left.extend_from_slice(mem.slice(lbuf, n * 2).unwrap());
        right.extend_from_slice(mem.slice(rbuf, n * 2).unwrap());
    }
    // Interleaved again, they are a stretch of what the device heard.
    let joined: Vec<u8> = left.chunks_exact(2).zip(right.chunks_exact(2)).flat_map(|(l, r)| [l, r].concat()).collect();
    let at = heard.windows(64).position(|w| w == &joined[..64]).expect("the capture is a stretch of what was heard");
    assert_eq!(at % 4, 0, "frames, not shifted samples");
    assert_eq!(&joined[..], &heard[at..at + joined.len()]);
    // A table the caller's memory does not hold: EFAULT, and nothing is lost.
    put(&mut mem, BASE, &XferN { result: 0, bufs: 0x10, frames: 16 });
    assert_eq!(ioctl(&*pcm, fh, PCM_IOCTL_READN_FRAMES, BASE, &mut mem), Err(libc::EFAULT));
    pcm.release(&Request::new(1, 1, 0, 0), fh);
}

#[test]
fn an_i386_program_writes_non_interleaved_with_four_byte_pointers() {
    use outboard_alsa::compat32;
    use outboard_cuse::CallerAbi::Ilp32;
    let (card, played) = card(false);
    let pcm = Pcm::new(card, false, "/dev/snd/pcmC3D0p");
    let fh = pcm.open(&Request::new(1, 1, 0, 0), 0).unwrap();
    let mut mem = Memory::new(1 << 20);
    let p = hw_params_noninterleaved();
    let mut p32 = p.as_bytes()[..536].to_vec();
    p32.extend_from_slice(&[0; 68]);
    mem.slice(BASE, 604).unwrap().copy_from_slice(&p32);
    assert_eq!(ioctl_as(&*pcm, Ilp32, fh, compat32::HW_PARAMS, BASE, &mut mem), Ok(0));
    ioctl_as(&*pcm, Ilp32, fh, PCM_IOCTL_PREPARE, 0, &mut mem).unwrap();
    let frames = 2_400u32;
    let left: Vec<u8> = (0..frames).flat_map(|i| ((i * 13 % 20_000) as i16 + 1).to_le_bytes()).collect();
    let right: Vec<u8> = (0..frames).flat_map(|i| (-((i * 17 % 20_000) as i16) - 1).to_le_bytes()).collect();
    let (table, lbuf, rbuf) = (BASE + 64, BASE + 4096, BASE + 4096 + 65_536);
    mem.slice(lbuf, left.len()).unwrap().copy_from_slice(&left);
    mem.slice(rbuf, right.len()).unwrap().copy_from_slice(&right);
    let mut done = 0u32;
    while done < frames {
        put(&mut mem, table, &[lbuf as u32 + done * 2, rbuf as u32 + done * 2]);
        let x = [0i32.to_le_bytes(), (table as u32).to_le_bytes(), (frames - done).to_le_bytes()].concat();
        mem.slice(BASE, 12).unwrap().copy_from_slice(&x);
        assert_eq!(ioctl_as(&*pcm, Ilp32, fh, compat32::WRITEN, BASE, &mut mem), Ok(0));
        let n = get::<i32>(&mut mem, BASE);
        assert!(n > 0, "{n}");
        done += n as u32;
    }
    // The 64-bit number means another layout to an i386 caller: refused.
    assert_eq!(ioctl_as(&*pcm, Ilp32, fh, PCM_IOCTL_WRITEN_FRAMES, BASE, &mut mem), Err(libc::ENOTTY));
    ioctl_as(&*pcm, Ilp32, fh, PCM_IOCTL_DRAIN, 0, &mut mem).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let expected: Vec<u8> =
        left.chunks_exact(2).zip(right.chunks_exact(2)).flat_map(|(l, r)| [l, r].concat()).collect();
    let out = played.lock().unwrap().clone();
    let at = out.windows(8).position(|w| w == &expected[..8]).expect("the start of the stream");
    assert_eq!(&out[at..at + expected.len()], &expected[..], "bit-exact");
    pcm.release(&Request::new(1, 1, 0, 0), fh);
}

#[test]
fn sw_params_after_hw_params_hold_for_the_stream_hw_params_prepared() {
    // GStreamer's alsasink: snd_pcm_hw_params (alsa-lib sends HW_PARAMS,
    // SW_PARAMS with the defaults, PREPARE), then SW_PARAMS with a start
    // threshold of the whole buffer, then 10 ms writes. The first write must
    // not start the stream (and underrun 10 ms later).
    let (card, _) = card(false);
    let pcm = Pcm::new(card, false, "/dev/snd/pcmC3D0p");
    let fh = pcm.open(&Request::new(1, 1, 0, 0), 0).unwrap();
    let mut mem = Memory::new(1 << 20);
    put(&mut mem, BASE, &hw_params(256, 4));
    ioctl(&*pcm, fh, PCM_IOCTL_HW_PARAMS, BASE, &mut mem).unwrap();
    ioctl(&*pcm, fh, PCM_IOCTL_PREPARE, 0, &mut mem).unwrap();
    let mut sw = SwParams::new_zeroed();
    sw.avail_min = 256;
    sw.start_threshold = 1024;
    sw.stop_threshold = 1024;
    put(&mut mem, BASE, &sw);
    ioctl(&*pcm, fh, PCM_IOCTL_SW_PARAMS, BASE, &mut mem).unwrap();
    let data = vec![1u8; 480 * 4];
    mem.slice(BASE + 4096, data.len()).unwrap().copy_from_slice(&data);
    put(&mut mem, BASE, &XferI { result: 0, buf: BASE + 4096, frames: 480 });
    ioctl(&*pcm, fh, PCM_IOCTL_WRITEI_FRAMES, BASE, &mut mem).unwrap();
    std::thread::sleep(Duration::from_millis(60));
    let s = status(&pcm, fh, &mut mem);
    assert_eq!((s.state, s.hw_ptr), (state::PREPARED, 0), "480 of a 1024-frame start threshold: not started");
    // The rest of the buffer starts it.
    mem.slice(BASE + 4096, 544 * 4).unwrap().fill(2);
    put(&mut mem, BASE, &XferI { result: 0, buf: BASE + 4096, frames: 544 });
    ioctl(&*pcm, fh, PCM_IOCTL_WRITEI_FRAMES, BASE, &mut mem).unwrap();
    assert_eq!(status(&pcm, fh, &mut mem).state, state::RUNNING);
    // avail_min moved through SYNC_PTR holds too: the params say so.
    let mut sp = SyncPtr::new_zeroed();
    sp.flags = 1 << 1; // APPL: the caller's appl_ptr is ours; avail_min pushed
    sp.control.avail_min = 512;
    put(&mut mem, BASE, &sp);
    ioctl(&*pcm, fh, PCM_IOCTL_SYNC_PTR, BASE, &mut mem).unwrap();
    assert_eq!(get::<SyncPtr>(&mut mem, BASE).control.avail_min, 512);
    pcm.release(&Request::new(1, 1, 0, 0), fh);
}

#[test]
fn a_change_made_through_another_node_is_an_event_on_the_control_node() {
    use outboard_mixer::hw::Gain;
    // The daemon hands /dev/mixer and the control node the same watched
    // controls; /dev/mixer's changes go through them as below.
    let fake =
        Arc::new(FakeHw { output: Mutex::new([Some(-10.0), Some(-20.0)]), source: Mutex::new(0), ..FakeHw::default() });
    let Subscribed { hw, ctl, req, watcher, mut mem, .. } = subscribed(fake.clone());
    assert_eq!(ctl.read(&req, watcher, 72, libc::O_NONBLOCK as u32), Err(libc::EAGAIN));
    let names = event_names;

    hw.set_gain(Gain::Output, [Some(-30.0), None]).unwrap();
    assert_eq!(*fake.output.lock().unwrap(), [Some(-30.0), None], "the change reached the device");
    let ev = ctl.read(&req, watcher, 72 * 8, libc::O_NONBLOCK as u32).unwrap();
    assert_eq!(names(ev), ["Master Playback Volume", "Master Playback Switch"]);
    // The value read back is the new one.
    put(&mut mem, BASE, &CtlElemValue { id: elem_id(1), ..CtlElemValue::new_zeroed() });
    ioctl(&ctl, watcher, CTL_IOCTL_ELEM_READ, BASE, &mut mem).unwrap();
    let v: CtlElemValue = get(&mut mem, BASE);
    assert_eq!(i64::from_le_bytes(v.value[0..8].try_into().unwrap()), 44, "-30 dB is step 44 of 74");

    hw.select_source(1).unwrap();
    let ev = ctl.read(&req, watcher, 72 * 8, libc::O_NONBLOCK as u32).unwrap();
    assert_eq!(names(ev), ["Input Source"]);
    // A control with no element here (this device has no capture gain): no event.
    let _ = hw.set_gain(Gain::Capture, [Some(0.0), Some(0.0)]);
    assert_eq!(ctl.read(&req, watcher, 72, libc::O_NONBLOCK as u32), Err(libc::EAGAIN));
    // Gone with the node: the listener outlives it harmlessly.
    drop(ctl);
    hw.set_gain(Gain::Output, [Some(-1.0), Some(-1.0)]).unwrap();
}

#[test]
fn jacks_are_read_only_card_controls_and_a_plug_is_an_event() {
    let fake = Arc::new(FakeHw { headphones: Mutex::new(Some(false)), ..FakeHw::default() });
    let Subscribed { hw, engine, ctl, req, watcher, mut mem } = subscribed(fake.clone());
    let names = event_names;
    // Found by name on the card interface (as amixer -c0 cget iface=CARD,name='Headphone Jack'),
    // not on the mixer interface.
    let by_name = |iface: i32, name: &str| {
        let mut id = CtlElemId::new_zeroed();
        id.iface = iface;
        outboard_alsa::abi::put_str(&mut id.name, name);
        id
    };
    let mut mem2 = Memory::new(1 << 16);
    let read = |mem: &mut Memory, id: CtlElemId| -> Result<(u32, i64), i32> {
        put(mem, BASE, &CtlElemValue { id, ..CtlElemValue::new_zeroed() });
        ioctl(&ctl, watcher, CTL_IOCTL_ELEM_READ, BASE, mem)?;
        let v: CtlElemValue = get(mem, BASE);
        Ok((v.id.numid, i64::from_le_bytes(v.value[0..8].try_into().unwrap())))
    };
    let (hp, value) = read(&mut mem2, by_name(0, "Headphone Jack")).unwrap();
    assert_eq!(value, 0, "nothing plugged in");
    assert_eq!(read(&mut mem2, by_name(2, "Headphone Jack")), Err(libc::ENOENT));
    assert_eq!(read(&mut mem2, by_name(0, "Line Out Phantom Jack")).unwrap().1, 1, "a phantom jack is always in");
    // ELEM_INFO: a boolean, read only (SNDRV_CTL_ELEM_ACCESS_READ), card interface.
    put(&mut mem, BASE, &CtlElemInfo { id: elem_id(hp), ..CtlElemInfo::new_zeroed() });
    ioctl(&ctl, watcher, CTL_IOCTL_ELEM_INFO, BASE, &mut mem).unwrap();
    let info: CtlElemInfo = get(&mut mem, BASE);
    assert_eq!((info.kind, info.count, info.access, info.id.iface), (1, 1, 1, 0));
    // Writing it is EPERM, as on the kernel's jack controls.
    let mut w = CtlElemValue { id: elem_id(hp), ..CtlElemValue::new_zeroed() };
    w.value[0..8].copy_from_slice(&1i64.to_le_bytes());
    put(&mut mem, BASE, &w);
    assert_eq!(ioctl(&ctl, watcher, CTL_IOCTL_ELEM_WRITE, BASE, &mut mem), Err(libc::EPERM));
    assert_eq!(ctl.read(&req, watcher, 72, libc::O_NONBLOCK as u32), Err(libc::EAGAIN));

    // Headphones go in: the daemon services the device's events and the
    // subscriber hears of both jacks; the value reads 1.
    *fake.headphones.lock().unwrap() = Some(true);
    *fake.jack_event.lock().unwrap() = true;
    hw.poll_events().unwrap();
    let ev = ctl.read(&req, watcher, 72 * 8, libc::O_NONBLOCK as u32).unwrap();
    assert_eq!(names(ev), ["Headphone Jack", "Line Out Phantom Jack"]);
    assert_eq!(read(&mut mem2, elem_id(hp)).unwrap().1, 1);
    // Nothing happened: no event.
    hw.poll_events().unwrap();
    assert_eq!(ctl.read(&req, watcher, 72, libc::O_NONBLOCK as u32), Err(libc::EAGAIN));

    // The master gain set through /dev/mixer's PCM is PCM Playback Volume's event.
    engine.set_master_gain(0.5);
    let ev = ctl.read(&req, watcher, 72 * 8, libc::O_NONBLOCK as u32).unwrap();
    assert_eq!(names(ev), ["PCM Playback Volume"]);
    engine.set_master_gain(0.5);
    assert_eq!(ctl.read(&req, watcher, 72, libc::O_NONBLOCK as u32), Err(libc::EAGAIN), "no change, no event");
}

#[test]
fn the_channel_maps_say_where_each_channel_goes_as_the_mixer_places_it() {
    // What alsa-lib's snd_pcm_query_chmaps reads (PipeWire and speaker-test use it).
    let (card, _) = card(true);
    let ctl = Control::new(card.clone());
    let pcm = Pcm::new(card, false, "/dev/snd/pcmC3D0p");
    ctl.serve_pcm(&pcm, false);
    let req = Request::new(1, 1, 0, 0);
    let fh = ctl.open(&req, 0).unwrap();
    let mut mem = Memory::new(1 << 16);
    let by_name = |iface: i32, device: u32, name: &str| {
        let mut info = CtlElemInfo::new_zeroed();
        info.id.iface = iface;
        info.id.device = device;
        outboard_alsa::abi::put_str(&mut info.id.name, name);
        info
    };
    let mut numids = Vec::new();
    for name in ["Playback Channel Map", "Capture Channel Map"] {
        put(&mut mem, BASE, &by_name(3, 0, name));
        ioctl(&ctl, fh, CTL_IOCTL_ELEM_INFO, BASE, &mut mem).unwrap();
        let info: CtlElemInfo = get(&mut mem, BASE);
        // Integers 0..=SNDRV_CHMAP_LAST, one per channel of the widest map;
        // read-only, volatile, with a TLV (READ | VOLATILE | TLV_READ | TLV_CALLBACK).
        assert_eq!((info.kind, info.count, info.access), (2, 8, 0x1000_0015), "{name}");
        assert_eq!(i64::from_le_bytes(info.value[8..16].try_into().unwrap()), 36);
        numids.push(info.id.numid);
        // On another PCM device, or the mixer interface: not there.
        put(&mut mem, BASE, &by_name(3, 1, name));
        assert_eq!(ioctl(&ctl, fh, CTL_IOCTL_ELEM_INFO, BASE, &mut mem), Err(libc::ENOENT));
        put(&mut mem, BASE, &by_name(2, 0, name));
        assert_eq!(ioctl(&ctl, fh, CTL_IOCTL_ELEM_INFO, BASE, &mut mem), Err(libc::ENOENT));
    }
    // The maps: a container of one fixed map per channel count.
    put(&mut mem, BASE, &CtlTlv { numid: numids[0], length: 1024 });
    ioctl(&ctl, fh, CTL_IOCTL_TLV_READ, BASE, &mut mem).unwrap();
    let words: [u32; 64] = get(&mut mem, BASE + 8);
    assert_eq!(words[0], 0, "SNDRV_CTL_TLVT_CONTAINER");
    let mut maps = Vec::new();
    let mut at = 2;
    while at < 2 + words[1] as usize / 4 {
        assert_eq!(words[at], 0x101, "SNDRV_CTL_TLVT_CHMAP_FIXED");
        let n = words[at + 1] as usize / 4;
        maps.push(words[at + 2..at + 2 + n].to_vec());
        at += 2 + n;
    }
    // MONO; FL FR; FL FR LFE (2.1); quad; 5.0; 5.1 (FL FR RL RR FC LFE); 7.1 with SL SR.
    assert_eq!(maps.len(), 8);
    assert_eq!(maps[0], [2]);
    assert_eq!(maps[1], [3, 4]);
    assert_eq!(maps[2], [3, 4, 8]);
    assert_eq!(maps[5], [3, 4, 5, 6, 7, 8]);
    assert_eq!(maps[7], [3, 4, 5, 6, 7, 8, 9, 10]);
    // The value, as alsa-lib's snd_pcm_get_chmap reads it: a process with
    // no stream of its own gets "no channels set"; one whose playback
    // stream has its parameters (2 channels), that stream's map. Writes are EPERM.
    let read_map = |mem: &mut Memory, pid: u32, numid: u32| -> Vec<i64> {
        put(mem, BASE, &CtlElemValue { id: elem_id(numid), ..CtlElemValue::new_zeroed() });
        ioctl_as_pid(&ctl, pid, fh, CTL_IOCTL_ELEM_READ, BASE, mem).unwrap();
        let v: CtlElemValue = get(mem, BASE);
        (0..8).map(|i| i64::from_le_bytes(v.value[i * 8..i * 8 + 8].try_into().unwrap())).collect()
    };
    let me = std::process::id();
    assert_eq!(read_map(&mut mem, me, numids[0]), [0; 8]);
    let player = pcm.open(&Request::new(2, me, 0, 0), 0).unwrap();
    put(&mut mem, BASE, &hw_params(256, 4));
    ioctl(&*pcm, player, PCM_IOCTL_HW_PARAMS, BASE, &mut mem).unwrap();
    assert_eq!(read_map(&mut mem, me, numids[0]), [3, 4, 0, 0, 0, 0, 0, 0], "FL FR");
    assert_eq!(read_map(&mut mem, me + 1, numids[0]), [0; 8], "another process has no stream");
    assert_eq!(read_map(&mut mem, me, numids[1]), [0; 8], "nor has it a capture stream");
    assert_eq!(ioctl(&ctl, fh, CTL_IOCTL_ELEM_WRITE, BASE, &mut mem), Err(libc::EPERM));
}

/// A control node on `fake` behind the daemon's watched wrapper, with one
/// open subscribed to events.
struct Subscribed {
    hw: Arc<dyn outboard_mixer::hw::HwControls>,
    engine: Arc<Engine>,
    ctl: Control,
    req: Request,
    watcher: u64,
    mem: Memory,
}

fn subscribed(fake: Arc<FakeHw>) -> Subscribed {
    let (mut card, _) = card(false);
    let hw: Arc<dyn outboard_mixer::hw::HwControls> = Arc::new(outboard_mixer::hw::Watched::new(fake));
    card.hw = Some(hw.clone());
    let engine = card.engine.clone();
    let ctl = Control::new(card);
    let req = Request::new(1, 1, 0, 0);
    let watcher = ctl.open(&req, libc::O_NONBLOCK as u32).unwrap();
    let mut mem = Memory::new(1 << 16);
    put(&mut mem, BASE, &1i32);
    ioctl(&ctl, watcher, CTL_IOCTL_SUBSCRIBE_EVENTS, BASE, &mut mem).unwrap();
    Subscribed { hw, engine, ctl, req, watcher, mem }
}

/// The element names of the value events read from a control node.
fn event_names(ev: Vec<u8>) -> Vec<String> {
    ev.chunks_exact(72).map(|e| name_of(&CtlEvent::read_from_bytes(e).unwrap().id)).collect()
}

/// A playback open (with `flags`) of 8 periods of 256 frames, prepared to
/// start only when asked, its 2048-frame buffer written full.
fn full_and_not_started(flags: u32) -> (Arc<Pcm>, u64, Memory) {
    let (card, _) = card(false);
    let pcm = Pcm::new(card, false, "/dev/snd/pcmC3D0p");
    let fh = pcm.open(&Request::new(1, 1, 0, 0), flags).unwrap();
    let mut mem = Memory::new(1 << 16);
    put(&mut mem, BASE, &hw_params(256, 8));
    ioctl(&*pcm, fh, PCM_IOCTL_HW_PARAMS, BASE, &mut mem).unwrap();
    put(
        &mut mem,
        BASE,
        &SwParams { avail_min: 256, start_threshold: 1 << 40, stop_threshold: 2048, ..SwParams::new_zeroed() },
    );
    ioctl(&*pcm, fh, PCM_IOCTL_SW_PARAMS, BASE, &mut mem).unwrap();
    ioctl(&*pcm, fh, PCM_IOCTL_PREPARE, 0, &mut mem).unwrap();
    put(&mut mem, BASE, &XferI { result: 0, buf: BASE + 4096, frames: 2048 });
    ioctl(&*pcm, fh, PCM_IOCTL_WRITEI_FRAMES, BASE, &mut mem).unwrap();
    (pcm, fh, mem)
}

#[test]
fn delay_counts_what_the_device_still_holds_once_the_stream_plays() {
    // What A/V sync in players (mpv, GStreamer, ffmpeg) reads: the frames
    // until a sample written now is heard. Prepared, nothing plays: the
    // queued frames. Running: those still queued plus the device ring the
    // engine keeps filled ahead (3 of the engine's 4 periods of 256 frames).
    let (pcm, fh, mut mem) = full_and_not_started(libc::O_NONBLOCK as u32);
    ioctl(&*pcm, fh, PCM_IOCTL_DELAY, BASE, &mut mem).unwrap();
    assert_eq!(get::<i64>(&mut mem, BASE), 2048, "prepared: the queued frames");
    ioctl(&*pcm, fh, PCM_IOCTL_START, 0, &mut mem).unwrap();
    ioctl(&*pcm, fh, PCM_IOCTL_DELAY, BASE, &mut mem).unwrap();
    let delay = get::<i64>(&mut mem, BASE);
    // Queued now is at most what was queued when DELAY answered.
    let queued = 2048 - status(&pcm, fh, &mut mem).avail as i64;
    assert!((768..=768 + 2048).contains(&delay), "running: {delay}");
    assert!(delay >= 768 + queued, "running: {delay} with {queued} still queued after it");
}

#[test]
fn prepare_starts_the_pointers_again_at_zero() {
    // As the kernel's PREPARE (hw_ptr = appl_ptr = 0). alsa-lib's plugins
    // reset their own pointers to 0 at prepare and take the slave's as the
    // same origin: JACK's restart after an xrun failed with "full buffer
    // not available at start" while the node kept counting from before.
    let (card, _) = card(false);
    let pcm = Pcm::new(card, false, "/dev/snd/pcmC3D0p");
    let fh = pcm.open(&Request::new(1, 1, 0, 0), libc::O_NONBLOCK as u32).unwrap();
    let mut mem = Memory::new(1 << 16);
    put(&mut mem, BASE, &hw_params(256, 8));
    ioctl(&*pcm, fh, PCM_IOCTL_HW_PARAMS, BASE, &mut mem).unwrap();
    ioctl(&*pcm, fh, PCM_IOCTL_PREPARE, 0, &mut mem).unwrap();
    for round in 0..2 {
        put(&mut mem, BASE, &XferI { result: 0, buf: BASE + 4096, frames: 2048 });
        ioctl(&*pcm, fh, PCM_IOCTL_WRITEI_FRAMES, BASE, &mut mem).unwrap();
        let _ = ioctl(&*pcm, fh, PCM_IOCTL_START, 0, &mut mem);
        std::thread::sleep(Duration::from_millis(30));
        let s = status(&pcm, fh, &mut mem);
        assert_eq!(s.appl_ptr, 2048, "round {round}: counted from the last PREPARE");
        assert!(s.hw_ptr > 0, "round {round}: the device took some");
        ioctl(&*pcm, fh, PCM_IOCTL_DROP, 0, &mut mem).unwrap();
        ioctl(&*pcm, fh, PCM_IOCTL_PREPARE, 0, &mut mem).unwrap();
        let mut sp = SyncPtr::new_zeroed();
        sp.flags = 1 << 1 | 1 << 2;
        put(&mut mem, BASE, &sp);
        ioctl(&*pcm, fh, PCM_IOCTL_SYNC_PTR, BASE, &mut mem).unwrap();
        let sp: SyncPtr = get(&mut mem, BASE);
        assert_eq!((sp.control.appl_ptr, sp.status.hw_ptr), (0, 0), "round {round}: after PREPARE");
        assert_eq!(sp.status.state, state::PREPARED);
        assert_eq!(status(&pcm, fh, &mut mem).avail, 2048, "round {round}: the whole buffer is free");
    }
    pcm.release(&Request::new(1, 1, 0, 0), fh);
}

#[test]
fn a_signal_ends_a_blocked_writei_with_eintr() {
    // A blocking stream that cannot move (not started, its buffer full):
    // WRITEI waits for room; the caller gets a signal (the CUSE server sets
    // the request's interrupt on FUSE_INTERRUPT) and the call ends EINTR.
    let (pcm, fh, mut mem) = full_and_not_started(0);
    assert_eq!(get::<XferI>(&mut mem, BASE).result, 2048, "the buffer is full");

    let req = Request { interrupt: outboard_cuse::Interrupt::new(), ..Request::new(2, std::process::id(), 0, 0) };
    let token = req.interrupt.clone();
    let p = pcm.clone();
    let blocked = std::thread::spawn(move || {
        let mut mem = Memory::new(1 << 16);
        put(&mut mem, BASE, &XferI { result: 0, buf: BASE + 4096, frames: 256 });
        ioctl_req(&*p, req, fh, PCM_IOCTL_WRITEI_FRAMES, BASE, &mut mem)
    });
    std::thread::sleep(Duration::from_millis(150));
    assert!(!blocked.is_finished(), "WRITEI waits for room");
    let at = std::time::Instant::now();
    token.set();
    assert_eq!(blocked.join().unwrap(), Err(libc::EINTR));
    assert!(at.elapsed() < Duration::from_millis(200), "ended {:?} after the signal", at.elapsed());
    pcm.release(&Request::new(1, 1, 0, 0), fh);
}

#[test]
fn an_xrun_is_stamped_when_the_stream_stopped() {
    // The kernel stamps trigger_tstamp at the stop: what arecord's
    // "overrun!!! (at least N ms long)" and PipeWire's xrun length measure.
    let (pcm, fh, mut mem) = full_and_not_started(libc::O_NONBLOCK as u32);
    let ms = |t: Timespec| t.sec as f64 * 1e3 + t.nsec as f64 / 1e6;
    let started = status(&pcm, fh, &mut mem).tstamp;
    ioctl(&*pcm, fh, PCM_IOCTL_START, 0, &mut mem).unwrap();
    // 2048 frames (43 ms) play out, then the stream stops in XRUN.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while status(&pcm, fh, &mut mem).state != state::XRUN {
        assert!(std::time::Instant::now() < deadline, "no XRUN");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(150));
    let s = status(&pcm, fh, &mut mem);
    let (stop, now) = (ms(s.trigger_tstamp), ms(s.tstamp));
    assert!(stop >= ms(started) + 30.0, "stamped at the stop, not the start: {:.1} ms after", stop - ms(started));
    assert!(now - stop >= 140.0 && now - stop < 1000.0, "the xrun is {:.1} ms old", now - stop);
    pcm.release(&Request::new(1, 1, 0, 0), fh);
}

#[test]
fn each_output_has_its_own_volume_under_master_as_on_a_laptop_codec() {
    let fake = Arc::new(FakeHw {
        output: Mutex::new([Some(0.0); 2]),
        ports: Mutex::new(Some([[Some(-10.0); 2], [Some(-20.0); 2]])),
        automute: Mutex::new(Some(true)),
        ..FakeHw::default()
    });
    let mut s = subscribed(fake.clone());
    let fh = s.ctl.open(&s.req, 0).unwrap();
    let pids = BASE + 4096;
    put(&mut s.mem, BASE, &CtlElemList { space: 6, pids, ..CtlElemList::new_zeroed() });
    ioctl(&s.ctl, fh, CTL_IOCTL_ELEM_LIST, BASE, &mut s.mem).unwrap();
    let names: Vec<String> = (0..6).map(|i| name_of(&get::<CtlElemId>(&mut s.mem, pids + i * 64))).collect();
    assert_eq!(
        names[..6],
        [
            "Master Playback Volume",
            "Master Playback Switch",
            "Speaker Playback Volume",
            "Speaker Playback Switch",
            "Headphone Playback Volume",
            "Headphone Playback Switch"
        ]
    );
    // The headphone's volume, found by name (as amixer sset Headphone),
    // reads its own level and sets only its own amplifier.
    let mut id = CtlElemId::new_zeroed();
    id.iface = 2;
    outboard_alsa::abi::put_str(&mut id.name, "Headphone Playback Volume");
    put(&mut s.mem, BASE, &CtlElemValue { id, ..CtlElemValue::new_zeroed() });
    ioctl(&s.ctl, fh, CTL_IOCTL_ELEM_READ, BASE, &mut s.mem).unwrap();
    let v: CtlElemValue = get(&mut s.mem, BASE);
    assert_eq!(i64::from_le_bytes(v.value[0..8].try_into().unwrap()), 54, "-20 dB on 74 steps of 1 dB");
    let mut w = CtlElemValue { id, ..CtlElemValue::new_zeroed() };
    w.value[0..8].copy_from_slice(&70i64.to_le_bytes());
    w.value[8..16].copy_from_slice(&70i64.to_le_bytes());
    put(&mut s.mem, BASE, &w);
    ioctl(&s.ctl, fh, CTL_IOCTL_ELEM_WRITE, BASE, &mut s.mem).unwrap();
    let ports = fake.ports.lock().unwrap().unwrap();
    assert_eq!(ports[1], [Some(-4.0); 2]);
    assert_eq!(ports[0], [Some(-10.0); 2], "the speaker is untouched");
    assert_eq!(*fake.output.lock().unwrap(), [Some(0.0); 2], "and so is Master");
    // The events name the headphone's elements (its gain changed), not the
    // speaker's or Master.
    let ev = s.ctl.read(&s.req, s.watcher, 72 * 8, libc::O_NONBLOCK as u32).unwrap();
    assert_eq!(event_names(ev), ["Headphone Playback Volume", "Headphone Playback Switch"]);

    // Auto-Mute Mode: enumerated Disabled/Enabled, on at first; set to
    // Disabled (as `amixer sset 'Auto-Mute Mode' Disabled`); an item out
    // of range is EINVAL.
    let mut id = CtlElemId::new_zeroed();
    id.iface = 2;
    outboard_alsa::abi::put_str(&mut id.name, "Auto-Mute Mode");
    let mut info = CtlElemInfo { id, ..CtlElemInfo::new_zeroed() };
    info.value[4..8].copy_from_slice(&0u32.to_le_bytes());
    put(&mut s.mem, BASE, &info);
    ioctl(&s.ctl, fh, CTL_IOCTL_ELEM_INFO, BASE, &mut s.mem).unwrap();
    let info: CtlElemInfo = get(&mut s.mem, BASE);
    assert_eq!((info.kind, u32::from_le_bytes(info.value[0..4].try_into().unwrap())), (3, 2));
    assert!(info.value[8..].starts_with(b"Disabled\0"));
    put(&mut s.mem, BASE, &CtlElemValue { id, ..CtlElemValue::new_zeroed() });
    ioctl(&s.ctl, fh, CTL_IOCTL_ELEM_READ, BASE, &mut s.mem).unwrap();
    assert_eq!(u32::from_le_bytes(get::<CtlElemValue>(&mut s.mem, BASE).value[0..4].try_into().unwrap()), 1);
    put(&mut s.mem, BASE, &CtlElemValue { id, ..CtlElemValue::new_zeroed() });
    ioctl(&s.ctl, fh, CTL_IOCTL_ELEM_WRITE, BASE, &mut s.mem).unwrap();
    assert_eq!(*fake.automute.lock().unwrap(), Some(false));
    let mut bad = CtlElemValue { id, ..CtlElemValue::new_zeroed() };
    bad.value[0..4].copy_from_slice(&2u32.to_le_bytes());
    put(&mut s.mem, BASE, &bad);
    assert_eq!(ioctl(&s.ctl, fh, CTL_IOCTL_ELEM_WRITE, BASE, &mut s.mem), Err(libc::EINVAL));
    assert_eq!(*fake.automute.lock().unwrap(), Some(false));
}
