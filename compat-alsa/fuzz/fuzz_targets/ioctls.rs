//! Fuzz target: a client's whole conversation with the ALSA nodes — a
//! control node and a playback and a capture PCM node on one card — as the
//! kernel's CUSE driver delivers it: ioctls in rounds (each retry's ranges
//! copied from, and back to, a stand-in for the caller's memory), reads,
//! writes, polls, closes and reopens, from 64-bit, i386 and x32 callers.
//! The input is a program of such steps; the caller's memory is whatever
//! the steps put there (structs with any sizes, counts, pointers and
//! indexes).
//!
//! The nodes must never panic, loop, allocate without bound or block a
//! caller who opened them O_NONBLOCK, whatever a client sends. Each ioctl
//! must end within a few rounds, ask for no more ranges or bytes than the
//! kernel carries, answer no more bytes than the room it asked for, and
//! fail only with a positive errno. STATUS always answers, with a state
//! the kernel has. Released opens leave the mixer and the nodes are freed
//! with their last reference (the leaks that matter; libFuzzer's own leak
//! check is off because the nodes' poll threads outlive the last input by
//! up to 5 ms).

#![no_main]

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use outboard_alsa::abi::*;
use outboard_alsa::card::Card;
use outboard_alsa::compat32;
use outboard_alsa::control::{self, Control};
use outboard_alsa::pcm::{self, Pcm};
use outboard_cuse::{CallerAbi, Errno, Handler, IoctlCall, IoctlReply, Request, MAX_IOVS, MAX_PAYLOAD};
use outboard_mixer::devices::{MemoryDevice, Pacing};
use outboard_mixer::engine::Engine;
use outboard_mixer::hw::{Gain, GainRange, HwControls, Side, Source, SourceKind};
use outboard_mixer::pcm::{PcmConfig, SampleFormat};

const CFG: PcmConfig =
    PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: 256, periods: 4 };

/// The caller's memory: 64 KiB at `BASE`; anything else faults.
const BASE: u64 = 0x10_0000;
const MEMORY: usize = 1 << 16;
/// More rounds than any ioctl of the nodes needs (WRITEI of one window: 2).
const MAX_ROUNDS: usize = 8;

/// The i386 numbers the PCM node converts (the others are the 64-bit ones).
const COMPAT32: &[u32] = &[
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

/// Every ioctl the nodes know (so the fuzzer reaches each by a byte; a
/// byte past them sends a number of the fuzzer's own).
fn command(pick: usize) -> Option<u32> {
    control::IOCTLS.iter().chain(pcm::IOCTLS).chain(COMPAT32).nth(pick).copied()
}

/// A device's controls: a stereo amp of 74 1 dB steps with a mute, two
/// capture sources. Errors when asked for anything out of range.
#[derive(Default)]
struct FakeHw {
    output: Mutex<[Side; 2]>,
    source: Mutex<usize>,
}

impl HwControls for FakeHw {
    fn gain_range(&self, gain: Gain) -> Option<GainRange> {
        (gain == Gain::Output).then_some(GainRange {
            min_db: -74.0,
            step_db: 1.0,
            steps: 74,
            stereo: true,
            can_mute: true,
        })
    }
    fn gain(&self, _gain: Gain) -> Result<[Side; 2], String> {
        self.output.lock().map(|g| *g).map_err(|e| e.to_string())
    }
    fn set_gain(&self, _gain: Gain, sides: [Side; 2]) -> Result<(), String> {
        for db in sides.iter().flatten() {
            assert!((-74.0..=0.0).contains(db), "a level outside the amp's range reached the hardware: {db}");
        }
        *self.output.lock().map_err(|e| e.to_string())? = sides;
        Ok(())
    }
    fn sources(&self) -> Vec<Source> {
        vec![
            Source { kind: SourceKind::Line, name: "Line".into() },
            Source { kind: SourceKind::Mic, name: "Mic".into() },
        ]
    }
    fn selected_source(&self) -> Result<Option<usize>, String> {
        self.source.lock().map(|s| Some(*s)).map_err(|e| e.to_string())
    }
    fn select_source(&self, index: usize) -> Result<(), String> {
        assert!(index < 2, "source {index} of 2 reached the hardware");
        *self.source.lock().map_err(|e| e.to_string())? = index;
        Ok(())
    }
}

/// One engine for the whole run (its threads are not remade per input),
/// paced in real time as a device is; each input gets new nodes on it.
fn engine() -> Arc<Engine> {
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

/// The bytes of the input, read front to back; zeros once they run out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        taken
    }
}

struct Memory(Vec<u8>);

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

/// The states of include/uapi/sound/asound.h (OPEN..DISCONNECTED).
const STATES: std::ops::RangeInclusive<i32> = 0..=8;

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let flags = input.u8();
    let mut card = Card { number: 3, id: "Fuzz".into(), name: "fuzzed".into(), engine: engine(), hw: None };
    if flags & 1 != 0 {
        card.hw = Some(Arc::new(FakeHw::default()));
    }
    let control = Control::new(card.clone());
    let playback = Pcm::new(card.clone(), false, "/dev/snd/pcmC3D0p");
    let capture = Pcm::new(card, true, "/dev/snd/pcmC3D0c");
    let nodes: [&dyn Handler; 3] = [&control, &*playback, &*capture];
    // Every open non-blocking: a blocking DRAIN or transfer would wait for
    // the (real-time) device, which is right but too slow to fuzz.
    let nonblock = libc::O_NONBLOCK as u32;
    let opener = Request::new(1, std::process::id(), 0, 0);
    let mut handles: [Option<u64>; 3] = [None; 3];
    for (h, node) in handles.iter_mut().zip(nodes) {
        *h = node.open(&opener, nonblock | libc::O_RDWR as u32).ok();
    }
    let mut mem = Memory(vec![0; MEMORY]);

    for _ in 0..64 {
        if input.0.is_empty() {
            break;
        }
        let op = input.u8();
        let which = usize::from(op >> 4) % 3;
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
                let cmd = command(pick).unwrap_or_else(|| input.u32());
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
            // read() and write() (the control node's events; the PCM's refusal).
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
            // close() and open again.
            _ => {
                if let Some(fh) = handles[which].take() {
                    let _ = node.flush(&opener, fh);
                    node.release(&opener, fh);
                }
                handles[which] = node.open(&opener, nonblock | libc::O_RDWR as u32).ok();
            }
        }
    }

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
    for (h, node) in handles.iter().zip(nodes) {
        if let Some(fh) = *h {
            node.release(&opener, fh);
        }
    }
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
});
