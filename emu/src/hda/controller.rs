//! The emulated controller's register file, command rings and stream DMA.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use outboard_hal::dma::DmaSpace;
use outboard_hal::mmio::{MmioHandler, Width};
use outboard_hal::pci::mem::IrqLine;

use super::codec::CodecModel;

// Register offsets, as the HDA spec lays them out (the driver's table is in
// outboard-hda; the emulator keeps its own so each checks the other).
const GCAP: usize = 0x00;
const VMIN: usize = 0x02;
const VMAJ: usize = 0x03;
const GCTL: usize = 0x08;
const STATESTS: usize = 0x0e;
const INTCTL: usize = 0x20;
const INTSTS: usize = 0x24;
const CORBLBASE: usize = 0x40;
const CORBWP: usize = 0x48;
const CORBRP: usize = 0x4a;
const CORBCTL: usize = 0x4c;
const CORBSIZE: usize = 0x4e;
const RIRBLBASE: usize = 0x50;
const RIRBWP: usize = 0x58;
const RINTCNT: usize = 0x5a;
const RIRBCTL: usize = 0x5c;
const RIRBSTS: usize = 0x5d;
const RIRBSIZE: usize = 0x5e;
const ICOI: usize = 0x60;
const ICII: usize = 0x64;
const ICIS: usize = 0x68;
const DPLBASE: usize = 0x70;
const SD0: usize = 0x80;
const SD_STRIDE: usize = 0x20;
const SD_COUNT: usize = 8;
const INPUT_STREAMS: usize = 4;
const REG_SIZE: usize = SD0 + SD_STRIDE * SD_COUNT;
// Within a stream descriptor.
const SD_CTL: usize = 0x00;
const SD_CTL2: usize = 0x02;
const SD_STS: usize = 0x03;
const SD_LPIB: usize = 0x04;
const SD_CBL: usize = 0x08;
const SD_LVI: usize = 0x0c;
const SD_FMT: usize = 0x12;
const SD_BDPL: usize = 0x18;

/// Misbehaviour the emulator can be told to show, to test a driver's error paths.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// GCTL.CRST never reads back 1.
    pub stuck_in_reset: bool,
    /// Codecs never answer (through the rings or the immediate interface).
    pub silent_codec: bool,
    /// Responses are posted through the RIRB but the CORB never advances
    /// (forces the immediate-command fallback).
    pub corb_stalled: bool,
    /// Stream DMA never moves.
    pub stream_stalled: bool,
    /// Every response also reports a RIRB overrun (responses lost).
    pub rirb_overrun: bool,
}

#[derive(Clone, Copy, Default)]
struct StreamPos {
    entry: u32,
    offset: u32,
    lpib: u32,
    /// Fractional frames owed by the clock.
    frac: f64,
}

struct State {
    regs: [u8; REG_SIZE],
    corb_rp: u16,
    rirb_wp: u16,
    rirb_count: u16,
    streams: [StreamPos; SD_COUNT],
    /// Codecs on the link, by address.
    codecs: Vec<(u8, Box<dyn CodecModel>)>,
    faults: Faults,
    /// Unsolicited responses waiting to be posted to the RIRB.
    unsolicited: Vec<(u8, u32)>,
    played: Vec<u8>,
}

impl State {
    fn r8(&self, o: usize) -> u8 {
        self.regs[o]
    }
    fn r16(&self, o: usize) -> u16 {
        u16::from_le_bytes([self.regs[o], self.regs[o + 1]])
    }
    fn r32(&self, o: usize) -> u32 {
        u32::from_le_bytes([self.regs[o], self.regs[o + 1], self.regs[o + 2], self.regs[o + 3]])
    }
    fn w8(&mut self, o: usize, v: u8) {
        self.regs[o] = v;
    }
    fn w16(&mut self, o: usize, v: u16) {
        self.regs[o..o + 2].copy_from_slice(&v.to_le_bytes());
    }
    fn w32(&mut self, o: usize, v: u32) {
        self.regs[o..o + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn r64(&self, lo: usize) -> u64 {
        u64::from(self.r32(lo)) | (u64::from(self.r32(lo + 4)) << 32)
    }
}

fn ring_entries(size_reg: u8) -> u16 {
    match size_reg & 3 {
        0 => 2,
        1 => 16,
        _ => 256,
    }
}

/// Bytes of one frame for a stream format word, and its rate.
fn format_shape(fmt: u16) -> (usize, u32) {
    let channels = usize::from(fmt & 0xf) + 1;
    let container = match (fmt >> 4) & 7 {
        0 => 1,
        1 => 2,
        _ => 4,
    };
    let base = if fmt & (1 << 14) != 0 { 44_100 } else { 48_000 };
    let mult = u32::from((fmt >> 11) & 7) + 1;
    let div = u32::from((fmt >> 8) & 7) + 1;
    (channels * container, base * mult / div)
}

/// The emulated controller. Share it in an `Arc`: the driver reaches it
/// through `MemPci`'s BAR0, the test through its methods.
pub struct HdaEmulator {
    state: Mutex<State>,
    dma: DmaSpace,
    irq: IrqLine,
    clock_running: AtomicBool,
}

impl HdaEmulator {
    /// A controller with one codec at address 0.
    pub fn new(dma: DmaSpace, irq: IrqLine, codec: Box<dyn CodecModel>) -> HdaEmulator {
        Self::with_codecs(dma, irq, vec![(0, codec)])
    }

    /// A controller with these codecs at these link addresses (0-14).
    pub fn with_codecs(dma: DmaSpace, irq: IrqLine, codecs: Vec<(u8, Box<dyn CodecModel>)>) -> HdaEmulator {
        let mut s = State {
            regs: [0; REG_SIZE],
            corb_rp: 0,
            rirb_wp: 0,
            rirb_count: 0,
            streams: [StreamPos::default(); SD_COUNT],
            codecs,
            faults: Faults::default(),
            unsolicited: Vec::new(),
            played: Vec::new(),
        };
        s.w16(GCAP, 0x4401);
        s.w8(VMAJ, 1);
        s.w8(VMIN, 0);
        s.w8(CORBSIZE, 0x42);
        s.w8(RIRBSIZE, 0x42);
        HdaEmulator { state: Mutex::new(s), dma, irq, clock_running: AtomicBool::new(false) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Make the emulator misbehave from now on.
    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// Run `f` on the codec at address 0 (or the first one).
    pub fn with_codec<R>(&self, f: impl FnOnce(&mut dyn CodecModel) -> R) -> R {
        let mut s = self.lock();
        let i = s.codecs.iter().position(|(a, _)| *a == 0).unwrap_or(0);
        f(s.codecs[i].1.as_mut())
    }

    /// Run `f` on the codec at `address`, if there is one.
    pub fn with_codec_at<R>(&self, address: u8, f: impl FnOnce(&mut dyn CodecModel) -> R) -> Option<R> {
        let mut s = self.lock();
        s.codecs.iter_mut().find(|(a, _)| *a == address).map(|(_, c)| f(c.as_mut()))
    }

    /// A codec sends an unsolicited response (a jack event): it is posted to
    /// the RIRB like an answer, flagged unsolicited, and raises the
    /// controller interrupt.
    pub fn send_unsolicited(&self, address: u8, response: u32) {
        let mut s = self.lock();
        s.unsolicited.push((address, response));
        self.post_unsolicited(&mut s);
    }

    fn post_unsolicited(&self, s: &mut State) {
        if s.r32(GCTL) & (1 << 8) == 0 || s.r8(RIRBCTL) & 0x02 == 0 {
            return; // unsolicited responses not accepted yet: kept
        }
        let rirb_entries = ring_entries(s.r8(RIRBSIZE));
        let pending = std::mem::take(&mut s.unsolicited);
        for (address, response) in pending {
            s.rirb_wp = (s.rirb_wp + 1) % rirb_entries;
            let mut entry = [0u8; 8];
            entry[..4].copy_from_slice(&response.to_le_bytes());
            entry[4..].copy_from_slice(&(u32::from(address) | 0x10).to_le_bytes());
            let _ = self.dma.write(s.r64(RIRBLBASE) + u64::from(s.rirb_wp) * 8, &entry);
        }
        let sts = s.r8(RIRBSTS) | 0x01;
        s.w8(RIRBSTS, sts);
        self.update_irq(s);
    }

    fn codec_mask(s: &State) -> u16 {
        s.codecs.iter().fold(0, |m, (a, _)| m | (1 << (a & 0xf)))
    }

    fn dispatch(s: &mut State, cmd: u32) -> Option<u32> {
        let address = (cmd >> 28) as u8;
        if s.faults.silent_codec {
            return None;
        }
        let codec = s.codecs.iter_mut().find(|(a, _)| *a == address)?;
        Some(codec.1.verb(((cmd >> 20) & 0x7f) as u8, cmd & 0xf_ffff))
    }

    /// Every byte that reached the codec's DAC so far.
    pub fn played(&self) -> Vec<u8> {
        self.lock().played.clone()
    }

    /// Interrupts raised so far.
    pub fn interrupts_raised(&self) -> u64 {
        self.irq.raised()
    }

    fn update_irq(&self, s: &State) {
        let intctl = s.r32(INTCTL);
        if intctl & (1 << 31) == 0 {
            return;
        }
        let streams = (0..SD_COUNT).any(|i| intctl & (1 << i) != 0 && s.r8(SD0 + i * SD_STRIDE + SD_STS) & 0x1c != 0);
        let controller = intctl & (1 << 30) != 0 && s.r8(RIRBSTS) & 0x01 != 0 && s.r8(RIRBCTL) & 0x01 != 0;
        if streams || controller {
            self.irq.raise();
        }
    }

    fn run_corb(&self, s: &mut State) {
        if s.r8(CORBCTL) & 0x02 == 0 || s.r8(RIRBCTL) & 0x02 == 0 || s.faults.corb_stalled {
            return;
        }
        let corb_entries = ring_entries(s.r8(CORBSIZE));
        let rirb_entries = ring_entries(s.r8(RIRBSIZE));
        let wp = s.r16(CORBWP) & 0xff;
        let mut posted = false;
        while s.corb_rp != wp % corb_entries {
            s.corb_rp = (s.corb_rp + 1) % corb_entries;
            let mut cmd = [0u8; 4];
            if self.dma.read(s.r64(CORBLBASE) + u64::from(s.corb_rp) * 4, &mut cmd).is_err() {
                s.w8(0x4d, 1); // CORBSTS.CMEI: memory error
                return;
            }
            let cmd = u32::from_le_bytes(cmd);
            let codec = (cmd >> 28) as u8;
            let Some(resp) = Self::dispatch(s, cmd) else {
                continue; // nobody at that address answers
            };
            s.rirb_wp = (s.rirb_wp + 1) % rirb_entries;
            let mut entry = [0u8; 8];
            entry[..4].copy_from_slice(&resp.to_le_bytes());
            entry[4..].copy_from_slice(&u32::from(codec).to_le_bytes());
            if self.dma.write(s.r64(RIRBLBASE) + u64::from(s.rirb_wp) * 8, &entry).is_err() {
                return;
            }
            s.rirb_count += 1;
            if s.faults.rirb_overrun {
                let sts = s.r8(RIRBSTS) | 0x04;
                s.w8(RIRBSTS, sts);
            }
            if s.rirb_count >= s.r16(RINTCNT).max(1) {
                s.rirb_count = 0;
                let sts = s.r8(RIRBSTS) | 0x01;
                s.w8(RIRBSTS, sts);
                posted = true;
            }
        }
        if posted {
            self.update_irq(s);
        }
    }

    fn write_reg(&self, s: &mut State, off: usize, width: usize, value: u32) {
        let bytes = value.to_le_bytes();
        match off {
            GCTL => {
                let was = s.r32(GCTL) & 1;
                let mut v = value;
                if s.faults.stuck_in_reset {
                    v &= !1;
                }
                if was == 1 && v & 1 == 0 {
                    // Entering reset clears everything but the capabilities.
                    let keep: Vec<(usize, u8)> =
                        [GCAP, GCAP + 1, VMIN, VMAJ, CORBSIZE, RIRBSIZE].iter().map(|&o| (o, s.regs[o])).collect();
                    s.regs = [0; REG_SIZE];
                    for (o, b) in keep {
                        s.regs[o] = b & if o == CORBSIZE || o == RIRBSIZE { 0xf0 } else { 0xff };
                    }
                    s.corb_rp = 0;
                    s.rirb_wp = 0;
                    s.streams = [StreamPos::default(); SD_COUNT];
                }
                if was == 0 && v & 1 == 1 && !s.faults.silent_codec {
                    let mask = Self::codec_mask(s);
                    s.w16(STATESTS, mask);
                }
                s.w32(GCTL, v);
            }
            STATESTS | RIRBSTS | 0x4d => {
                // Write 1 to clear.
                for (i, b) in bytes.iter().take(width).enumerate() {
                    s.regs[off + i] &= !b;
                }
            }
            INTSTS => {}
            CORBWP => {
                s.w16(CORBWP, value as u16 & 0xff);
                self.run_corb(s);
            }
            CORBRP => {
                if value & 0x8000 != 0 {
                    s.corb_rp = 0;
                }
                s.w16(CORBRP, value as u16 & 0x8000);
            }
            CORBCTL => {
                s.w8(CORBCTL, value as u8);
                self.run_corb(s);
            }
            RIRBWP => {
                if value & 0x8000 != 0 {
                    s.rirb_wp = 0;
                }
            }
            RIRBCTL => {
                s.w8(RIRBCTL, value as u8);
                self.run_corb(s);
                if !s.unsolicited.is_empty() {
                    self.post_unsolicited(s);
                }
            }
            ICIS => {
                let mut icis = s.r16(ICIS);
                if value & 2 != 0 {
                    icis &= !2; // clear IRV
                }
                if value & 1 != 0 && !s.faults.silent_codec {
                    let cmd = s.r32(ICOI);
                    if let Some(resp) = Self::dispatch(s, cmd) {
                        s.w32(ICII, resp);
                        icis |= 2;
                    }
                }
                s.w16(ICIS, icis & !1);
            }
            o if (SD0..REG_SIZE).contains(&o) => {
                self.write_sd(s, (o - SD0) / SD_STRIDE, (o - SD0) % SD_STRIDE, width, value)
            }
            _ => {
                for (i, b) in bytes.iter().take(width).enumerate() {
                    if off + i < REG_SIZE {
                        s.regs[off + i] = *b;
                    }
                }
            }
        }
    }

    fn write_sd(&self, s: &mut State, n: usize, reg: usize, width: usize, value: u32) {
        let base = SD0 + n * SD_STRIDE;
        let bytes = value.to_le_bytes();
        for (i, &b) in bytes.iter().take(width).enumerate() {
            let r = reg + i;
            match r {
                SD_CTL => {
                    let was_reset = s.r8(base) & 1;
                    if b & 1 == 1 && was_reset == 0 {
                        // Stream reset: position and status back to zero.
                        s.streams[n] = StreamPos::default();
                        s.w32(base + SD_LPIB, 0);
                        s.w8(base + SD_STS, 0);
                    }
                    s.w8(base, b);
                }
                SD_STS => s.regs[base + SD_STS] &= !(b & 0x1c),
                r if (SD_LPIB..SD_LPIB + 4).contains(&r) => {}
                r => s.regs[base + r] = b,
            }
        }
    }

    /// Move every running stream forward by `frames` frames (at its own
    /// format), as the link would in that time.
    pub fn advance_frames(&self, frames: usize) {
        let mut s = self.lock();
        for n in 0..SD_COUNT {
            self.advance_stream(&mut s, n, frames);
        }
    }

    fn advance_stream(&self, s: &mut State, n: usize, frames: usize) {
        let base = SD0 + n * SD_STRIDE;
        if s.r8(base + SD_CTL) & 0x03 != 0x02 || s.faults.stream_stalled {
            return; // not running, or held in reset
        }
        let (frame_bytes, _) = format_shape(s.r16(base + SD_FMT));
        let mut left = frames * frame_bytes;
        let output = n >= INPUT_STREAMS;
        let tag = s.r8(base + SD_CTL2) >> 4;
        let cbl = s.r32(base + SD_CBL).max(1);
        let lvi = u32::from(s.r16(base + SD_LVI) & 0xff);
        let bdl = s.r64(base + SD_BDPL);
        let mut raised = false;
        let mut chunk = Vec::new();
        while left > 0 {
            let pos = s.streams[n];
            let mut e = [0u8; 16];
            if self.dma.read(bdl + u64::from(pos.entry) * 16, &mut e).is_err() {
                s.regs[base + SD_STS] |= 0x10; // DESE
                s.regs[base + SD_CTL] &= !0x02;
                raised = true;
                break;
            }
            let addr = u64::from_le_bytes([e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]]);
            let len = u32::from_le_bytes([e[8], e[9], e[10], e[11]]);
            let ioc = e[12] & 1 != 0;
            if len == 0 {
                s.regs[base + SD_STS] |= 0x10;
                s.regs[base + SD_CTL] &= !0x02;
                raised = true;
                break;
            }
            let take = (len - pos.offset).min(left as u32) as usize;
            chunk.resize(take, 0);
            let at = addr + u64::from(pos.offset);
            let ok = if output {
                let ok = self.dma.read(at, &mut chunk).is_ok();
                let mut heard = false;
                for (_, codec) in s.codecs.iter_mut() {
                    if ok && codec.output_stream().is_some_and(|(t, _)| t == tag) {
                        codec.play(&chunk);
                        heard = true;
                    }
                }
                if heard {
                    s.played.extend_from_slice(&chunk);
                }
                ok
            } else {
                chunk.fill(0);
                if let Some((_, codec)) =
                    s.codecs.iter_mut().find(|(_, c)| c.input_stream().is_some_and(|(t, _)| t == tag))
                {
                    codec.record(&mut chunk);
                }
                self.dma.write(at, &chunk).is_ok()
            };
            if !ok {
                s.regs[base + SD_STS] |= 0x10;
                s.regs[base + SD_CTL] &= !0x02;
                raised = true;
                break;
            }
            left -= take;
            let p = &mut s.streams[n];
            p.offset += take as u32;
            p.lpib = (p.lpib + take as u32) % cbl;
            if p.offset >= len {
                p.offset = 0;
                p.entry = if p.entry >= lvi { 0 } else { p.entry + 1 };
                if ioc {
                    s.regs[base + SD_STS] |= 0x04; // BCIS
                    if s.r8(base + SD_CTL) & 0x04 != 0 {
                        raised = true;
                    }
                }
            }
            let lpib = s.streams[n].lpib;
            s.w32(base + SD_LPIB, lpib);
            let dpl = s.r32(DPLBASE);
            if dpl & 1 != 0 {
                let at = (u64::from(s.r32(DPLBASE + 4)) << 32 | u64::from(dpl & !0x7f)) + n as u64 * 8;
                let _ = self.dma.write(at, &lpib.to_le_bytes());
            }
        }
        if raised {
            self.update_irq(s);
        }
    }

    /// Advance every running stream by `elapsed` at its own rate.
    pub fn advance_time(&self, elapsed: Duration) {
        let mut s = self.lock();
        for n in 0..SD_COUNT {
            let (_, rate) = format_shape(s.r16(SD0 + n * SD_STRIDE + SD_FMT));
            let owed = s.streams[n].frac + elapsed.as_secs_f64() * f64::from(rate);
            let whole = owed.floor();
            s.streams[n].frac = owed - whole;
            self.advance_stream(&mut s, n, whole as usize);
        }
    }

    /// Run the link in real time on a thread (1 ms ticks) until the emulator
    /// is dropped or [`HdaEmulator::stop_clock`] is called.
    pub fn start_clock(self: &Arc<Self>) {
        if self.clock_running.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak: Weak<HdaEmulator> = Arc::downgrade(self);
        std::thread::spawn(move || {
            let mut last = std::time::Instant::now();
            loop {
                std::thread::sleep(Duration::from_millis(1));
                let Some(emu) = weak.upgrade() else { return };
                if !emu.clock_running.load(Ordering::SeqCst) {
                    return;
                }
                let now = std::time::Instant::now();
                emu.advance_time(now - last);
                last = now;
            }
        });
    }

    /// Stop the real-time clock thread.
    pub fn stop_clock(&self) {
        self.clock_running.store(false, Ordering::SeqCst);
    }
}

impl MmioHandler for HdaEmulator {
    fn mmio_read(&self, offset: u64, width: Width) -> u32 {
        let s = self.lock();
        let off = offset as usize;
        let mut v = 0u32;
        for i in 0..width.bytes() {
            let o = off + i;
            let b = match o {
                _ if o >= REG_SIZE => 0,
                o if (INTSTS..INTSTS + 4).contains(&o) => {
                    let mut ints = 0u32;
                    for n in 0..SD_COUNT {
                        if s.r8(SD0 + n * SD_STRIDE + SD_STS) & 0x1c != 0 {
                            ints |= 1 << n;
                        }
                    }
                    if s.r8(RIRBSTS) & 0x05 != 0 {
                        ints |= 1 << 30;
                    }
                    if ints != 0 {
                        ints |= 1 << 31;
                    }
                    ints.to_le_bytes()[o - INTSTS]
                }
                o if (CORBRP..CORBRP + 2).contains(&o) => (s.r16(CORBRP) | s.corb_rp).to_le_bytes()[o - CORBRP],
                o if (RIRBWP..RIRBWP + 2).contains(&o) => s.rirb_wp.to_le_bytes()[o - RIRBWP],
                o => s.regs[o],
            };
            v |= u32::from(b) << (8 * i);
        }
        v
    }

    fn mmio_write(&self, offset: u64, width: Width, value: u32) {
        let mut s = self.lock();
        let off = offset as usize;
        if off >= REG_SIZE {
            return;
        }
        self.write_reg(&mut s, off, width.bytes(), value);
    }
}
