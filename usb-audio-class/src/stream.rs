//! Isochronous streaming behind the hal's [`PcmStream`] trait.
//!
//! The stream owns a ring of `periods * period_frames` frames, as a DMA
//! engine would: the mixer writes (playback) or reads (capture) it behind the
//! "hardware" position, and a pump thread is the hardware. It keeps several
//! URBs in flight; each time one completes it copies the next packets'
//! frames out of the ring (playback) or the received frames into it
//! (capture), advances the position, and signals a period interrupt
//! whenever a period boundary is crossed. Packet sizes come from
//! [`PacketSizer`]: the nominal pattern, or the device's feedback.
//!
//! The pump is also usable step by step ([`Pump::step`]), which is how the
//! tests drive it against an emulated device with exact results.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use outboard_hal::dma::{DmaBuffer, DmaSpace};
use outboard_hal::irq::{IrqEvent, IrqKind};
use outboard_hal::pcm::{Direction, PcmConfig, PcmState, PcmStream};
use outboard_hal::usb::{Completion, Speed, Transfer, TransferStatus, UsbDevice};

use crate::demux::Demux;
use crate::model::{AltSetting, ImplicitSource, IsoEndpoint};
use crate::packets::{FeedbackDecoder, PacketSizer};

/// Tags in a transfer's user data.
const TAG_DATA: u64 = 1 << 32;
const TAG_FEEDBACK: u64 = 2 << 32;
const TAG_IMPLICIT: u64 = 4 << 32;

/// The most packet sizes kept for an implicit-feedback playback stream.
const IMPLICIT_BACKLOG: usize = 1024;

/// Packet sizes (in frames) a device's capture endpoint produced, which an
/// implicit-feedback playback endpoint repeats: the device's clock, told
/// through its capture stream instead of a feedback endpoint.
#[derive(Debug, Default)]
pub struct ImplicitSync {
    counts: Mutex<VecDeque<u32>>,
    /// A capture stream runs on the endpoint and publishes its packet sizes.
    pub capture_running: AtomicBool,
    /// A playback stream drives the endpoint itself for its packet sizes.
    pub playback_driving: AtomicBool,
}

impl ImplicitSync {
    fn push(&self, frames: u32) {
        let mut q = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() >= IMPLICIT_BACKLOG {
            q.pop_front();
        }
        q.push_back(frames);
    }

    fn pop(&self) -> Option<u32> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).pop_front()
    }

    fn clear(&self) {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// An implicit-feedback playback pump's link to its capture endpoint.
struct Implicit {
    source: ImplicitSource,
    sync: Arc<ImplicitSync>,
    /// Whether this pump submits the capture endpoint's URBs itself (no
    /// capture stream runs); what it receives is thrown away.
    drive: bool,
}

/// usbfs carries at most 128 packets in one URB.
const MAX_PACKETS_PER_URB: usize = 128;

/// How long the pump waits for any completion before it calls the device dead.
const STALL_DEADLINE: Duration = Duration::from_secs(2);

/// How the stream's URBs are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UrbPlan {
    pub urbs: usize,
    pub packets_per_urb: usize,
}

impl UrbPlan {
    /// URBs of about half a period (1 to 8 ms). Playback keeps four in
    /// flight: each one more is latency. Capture keeps eight: its latency is
    /// one URB's length whatever the count, and a deeper queue rides out a
    /// longer stall of the pump without the device's data being lost.
    pub fn for_period(config: &PcmConfig, packets_per_second: f64, direction: Direction) -> UrbPlan {
        let half_period = config.period_time().as_secs_f64() / 2.0;
        let seconds = half_period.clamp(0.001, 0.008);
        let packets = (seconds * packets_per_second).round().clamp(1.0, MAX_PACKETS_PER_URB as f64) as usize;
        let urbs = if direction == Direction::Capture { 8 } else { 4 };
        UrbPlan { urbs, packets_per_urb: packets }
    }
}

/// Counters a stream keeps (for `outboard play`'s report and the tests).
#[derive(Debug, Default)]
pub struct StreamStats {
    pub urbs: AtomicU64,
    pub packets: AtomicU64,
    pub failed_packets: AtomicU64,
    /// Capture packets that were not a whole number of frames.
    pub partial_packets: AtomicU64,
    pub feedback_accepted: AtomicU64,
    pub feedback_rejected: AtomicU64,
    /// The rate packets currently follow, in mHz.
    pub rate_mhz: AtomicU64,
}

impl StreamStats {
    pub fn get(v: &AtomicU64) -> u64 {
        v.load(Ordering::Relaxed)
    }
}

const STATE_PREPARED: u8 = 0;
const STATE_RUNNING: u8 = 1;
const STATE_XRUN: u8 = 2;
const STATE_GONE: u8 = 3;

/// What the pump and the stream share.
pub struct Shared {
    ring: DmaBuffer,
    _space: DmaSpace,
    config: PcmConfig,
    /// Frames the hardware has moved since start.
    hw_frames: AtomicU64,
    event: IrqEvent,
    stop: AtomicBool,
    state: AtomicU8,
    error: Mutex<Option<String>>,
    pub stats: StreamStats,
}

impl Shared {
    fn set_error(&self, state: u8, message: String) {
        log::error!("{message}");
        *self.error.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
        self.state.store(state, Ordering::SeqCst);
        // Wake a waiter so it sees the error at once.
        let _ = self.event.trigger();
    }

    /// Frames moved since start.
    pub fn frames(&self) -> u64 {
        self.hw_frames.load(Ordering::Acquire)
    }

    fn advance(&self, frames: u64) {
        let before = self.hw_frames.fetch_add(frames, Ordering::AcqRel);
        let period = self.config.period_frames as u64;
        if before / period != (before + frames) / period {
            let _ = self.event.trigger();
        }
    }

    fn ring_copy_out(&self, frame: u64, out: &mut [u8]) -> outboard_hal::Result<()> {
        let size = self.config.buffer_frames() * self.config.frame_bytes();
        let start = (frame % self.config.buffer_frames() as u64) as usize * self.config.frame_bytes();
        let first = out.len().min(size - start);
        self.ring.read_bytes(start, &mut out[..first])?;
        if first < out.len() {
            self.ring.read_bytes(0, &mut out[first..])?;
        }
        Ok(())
    }

    fn ring_copy_in(&self, frame: u64, data: &[u8]) -> outboard_hal::Result<()> {
        let size = self.config.buffer_frames() * self.config.frame_bytes();
        let start = (frame % self.config.buffer_frames() as u64) as usize * self.config.frame_bytes();
        let first = data.len().min(size - start);
        self.ring.write_bytes(start, &data[..first])?;
        if first < data.len() {
            self.ring.write_bytes(0, &data[first..])?;
        }
        Ok(())
    }
}

/// The "hardware": submits and completes URBs, moving frames between the
/// ring and the device.
pub struct Pump {
    dev: Arc<dyn UsbDevice>,
    demux: Arc<Demux>,
    /// The data endpoint and the feedback endpoint, if any.
    endpoints: Vec<u8>,
    shared: Arc<Shared>,
    direction: Direction,
    endpoint: IsoEndpoint,
    feedback: Option<IsoEndpoint>,
    implicit: Option<Implicit>,
    /// Capture: where to publish packet sizes for an implicit-feedback playback.
    publish: Option<Arc<ImplicitSync>>,
    plan: UrbPlan,
    sizer: PacketSizer,
    decoder: FeedbackDecoder,
    /// Frames of the ring already handed to URBs (playback) or filled (capture).
    cursor: u64,
    last_completion: Instant,
    started: bool,
}

impl Pump {
    fn frame_bytes(&self) -> usize {
        self.shared.config.frame_bytes()
    }

    fn out_urb(&mut self, tag: u64) -> outboard_hal::Result<Transfer> {
        let fb = self.frame_bytes();
        let max_frames = (self.endpoint.max_bytes as usize / fb.max(1)) as u32;
        let sizes: Vec<u32> = (0..self.plan.packets_per_urb)
            .map(|_| {
                let nominal = self.sizer.next_frames();
                match self.implicit.as_ref().and_then(|i| i.sync.pop()) {
                    Some(n) => n.min(max_frames),
                    None => nominal,
                }
            })
            .collect();
        let frames: u64 = sizes.iter().map(|n| u64::from(*n)).sum();
        let mut buffer = vec![0u8; frames as usize * fb];
        self.shared.ring_copy_out(self.cursor, &mut buffer)?;
        self.cursor += frames;
        self.shared.advance(frames);
        let packets = sizes.iter().map(|n| n * fb as u32).collect();
        Ok(Transfer::isochronous(self.endpoint.address, buffer, packets, TAG_DATA | tag))
    }

    fn in_urb(&self, tag: u64) -> Transfer {
        // Each packet may carry up to the endpoint's size; the device says how much it sent.
        let size = self.endpoint.max_bytes;
        let packets = vec![size; self.plan.packets_per_urb];
        let buffer = vec![0u8; size as usize * self.plan.packets_per_urb];
        Transfer::isochronous(self.endpoint.address, buffer, packets, TAG_DATA | tag)
    }

    fn implicit_urb(&self, tag: u64) -> Option<Transfer> {
        let i = self.implicit.as_ref().filter(|i| i.drive)?;
        let size = i.source.endpoint.max_bytes;
        let n = self.plan.packets_per_urb;
        Some(Transfer::isochronous(
            i.source.endpoint.address,
            vec![0u8; size as usize * n],
            vec![size; n],
            TAG_IMPLICIT | tag,
        ))
    }

    fn feedback_urb(ep: &IsoEndpoint, tag: u64) -> Transfer {
        let size = ep.max_bytes.clamp(3, 4);
        Transfer::isochronous(ep.address, vec![0u8; size as usize], vec![size], TAG_FEEDBACK | tag)
    }

    /// Submit the first URBs.
    pub fn start(&mut self) -> outboard_hal::Result<()> {
        if let Some(i) = &self.implicit {
            i.sync.clear();
        }
        for i in 0..self.plan.urbs as u64 {
            if let Some(urb) = self.implicit_urb(i) {
                self.dev.submit(urb)?;
            }
        }
        for i in 0..self.plan.urbs as u64 {
            let urb = match self.direction {
                Direction::Playback => self.out_urb(i)?,
                Direction::Capture => self.in_urb(i),
            };
            self.dev.submit(urb)?;
        }
        if let Some(fb) = &self.feedback {
            for i in 0..2 {
                self.dev.submit(Self::feedback_urb(fb, i))?;
            }
        }
        self.started = true;
        self.last_completion = Instant::now();
        Ok(())
    }

    /// Handle one completion (waiting at most `timeout` for it). Returns
    /// false when the stream cannot go on (the error is in the shared state).
    pub fn step(&mut self, timeout: Duration) -> bool {
        let name = self.dev.name().to_string();
        let completion = match self.demux.reap(&self.endpoints, timeout) {
            Ok(Some(c)) => c,
            Ok(None) => {
                if self.last_completion.elapsed() > STALL_DEADLINE {
                    self.shared.set_error(
                        STATE_XRUN,
                        format!(
                            "{name}: no isochronous transfer completed for {} s; the device stopped streaming",
                            STALL_DEADLINE.as_secs()
                        ),
                    );
                    return false;
                }
                return true;
            }
            Err(outboard_hal::Error::Disconnected { .. }) => {
                self.shared.set_error(STATE_GONE, format!("{name} is gone (unplugged or removed) while streaming"));
                return false;
            }
            Err(e) => {
                self.shared.set_error(STATE_XRUN, format!("{name}: reaping a transfer failed: {e}"));
                return false;
            }
        };
        self.last_completion = Instant::now();
        match self.handle(completion) {
            Ok(()) => true,
            Err(outboard_hal::Error::Disconnected { .. }) => {
                self.shared.set_error(STATE_GONE, format!("{name} is gone (unplugged or removed) while streaming"));
                false
            }
            Err(e) => {
                self.shared.set_error(STATE_XRUN, format!("{name}: streaming stopped: {e}"));
                false
            }
        }
    }

    fn handle(&mut self, c: Completion) -> outboard_hal::Result<()> {
        let name = self.dev.name().to_string();
        match c.status {
            TransferStatus::Disconnected => return Err(outboard_hal::Error::Disconnected { device: name }),
            TransferStatus::Cancelled => return Ok(()),
            _ => {}
        }
        let stats = &self.shared.stats;
        let tag = c.transfer.user_data & 0xffff_ffff;
        if c.transfer.user_data & TAG_IMPLICIT != 0 {
            if let Some(i) = &self.implicit {
                let fb = i.source.frame_bytes.max(1);
                for p in c.iso_packets.iter().filter(|p| p.status == TransferStatus::Completed) {
                    i.sync.push(p.actual_length / fb as u32);
                }
            }
            if let Some(urb) = self.implicit_urb(tag) {
                self.dev.submit(urb)?;
            }
            return Ok(());
        }
        if c.transfer.user_data & TAG_FEEDBACK != 0 {
            let ok = c.iso_packets.first().is_some_and(|p| p.status == TransferStatus::Completed);
            if ok {
                let n = (c.iso_packets[0].actual_length as usize).min(c.transfer.buffer.len());
                let f = self.decoder.decode(&c.transfer.buffer[..n]);
                if f.is_some() {
                    self.sizer.set_feedback(f);
                }
                stats.feedback_accepted.store(self.decoder.accepted, Ordering::Relaxed);
                stats.feedback_rejected.store(self.decoder.rejected, Ordering::Relaxed);
                stats.rate_mhz.store((self.sizer.current_rate() * 1000.0) as u64, Ordering::Relaxed);
            }
            if let Some(fb) = &self.feedback {
                self.dev.submit(Self::feedback_urb(fb, tag))?;
            }
            return Ok(());
        }
        stats.urbs.fetch_add(1, Ordering::Relaxed);
        stats.packets.fetch_add(c.iso_packets.len() as u64, Ordering::Relaxed);
        let failed = c.iso_packets.iter().filter(|p| p.status != TransferStatus::Completed).count();
        stats.failed_packets.fetch_add(failed as u64, Ordering::Relaxed);
        if c.status != TransferStatus::Completed && failed == 0 {
            stats.failed_packets.fetch_add(c.iso_packets.len().max(1) as u64, Ordering::Relaxed);
        }
        match self.direction {
            Direction::Playback => {
                let urb = self.out_urb(tag)?;
                self.dev.submit(urb)
            }
            Direction::Capture => {
                let fb = self.frame_bytes();
                let mut offset = 0usize;
                for p in &c.iso_packets {
                    let len = p.length as usize;
                    if p.status == TransferStatus::Completed {
                        let got = (p.actual_length as usize).min(len);
                        let whole = got / fb * fb;
                        if whole != got {
                            stats.partial_packets.fetch_add(1, Ordering::Relaxed);
                        }
                        if let Some(sync) = &self.publish {
                            sync.push((whole / fb) as u32);
                        }
                        if let Some(data) = c.transfer.buffer.get(offset..offset + whole) {
                            self.shared.ring_copy_in(self.cursor, data)?;
                            let frames = (whole / fb) as u64;
                            self.cursor += frames;
                            self.shared.advance(frames);
                        }
                    }
                    offset += len;
                }
                self.dev.submit(self.in_urb(tag))
            }
        }
    }

    fn in_flight(&self) -> usize {
        self.endpoints.iter().map(|ep| self.dev.in_flight_on(*ep)).sum()
    }

    /// Cancel this stream's transfers (another stream on the device goes on)
    /// and wait (at most 1 s) until they are back.
    pub fn finish(&mut self) {
        if !self.started {
            return;
        }
        for ep in &self.endpoints {
            let _ = self.dev.cancel_endpoint(*ep);
        }
        let deadline = Instant::now() + Duration::from_secs(1);
        while self.in_flight() > 0 && Instant::now() < deadline {
            if self.demux.reap(&self.endpoints, Duration::from_millis(50)).is_err() {
                break;
            }
        }
        if self.in_flight() > 0 {
            log::info!("{}: {} transfers still in flight after stop", self.dev.name(), self.in_flight());
        }
        self.demux.discard(&self.endpoints);
        self.started = false;
    }
}

/// An isochronous stream on one alt setting, as a [`PcmStream`].
pub struct UacStream {
    dev: Arc<dyn UsbDevice>,
    demux: Arc<Demux>,
    alt: AltSetting,
    speed: Speed,
    plan: UrbPlan,
    shared: Arc<Shared>,
    worker: Option<JoinHandle<Pump>>,
    /// Implicit feedback: the sync point, and whether this stream drives the
    /// capture endpoint (playback) or publishes to it (capture).
    implicit: Option<(Arc<ImplicitSync>, bool)>,
    /// Set by `on_stop` callers (the device re-selects alt 0 on drop).
    on_drop: Option<Box<dyn FnOnce() + Send>>,
}

impl std::fmt::Debug for UacStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UacStream").field("device", &self.dev.name()).field("alt", &self.alt.alt).finish()
    }
}

impl UacStream {
    /// A stream on `alt` (already selected, rate already set) with `config`'s
    /// ring. `on_drop` runs when the stream is dropped (to leave alt 0).
    pub fn new(
        demux: Arc<Demux>,
        alt: AltSetting,
        speed: Speed,
        config: PcmConfig,
        plan: Option<UrbPlan>,
        on_drop: Option<Box<dyn FnOnce() + Send>>,
    ) -> outboard_hal::Result<UacStream> {
        let dev = Arc::clone(demux.device());
        if config.period_frames == 0 || config.periods < 2 || config.channels != alt.channels || config.rate == 0 {
            return Err(outboard_hal::Error::Invalid(format!(
                "{}: a stream needs at least 2 periods of at least 1 frame, {} channels and a rate",
                dev.name(),
                alt.channels
            )));
        }
        let space = DmaSpace::new(&format!("{} ring", dev.name()), 0);
        let bytes = config.buffer_frames() * config.frame_bytes();
        let ring = space.alloc(bytes, "ring")?;
        ring.fill(0, bytes, 0)?;
        let sizer = PacketSizer::new(config.rate, speed, alt.endpoint.interval, 1);
        let plan = plan.unwrap_or_else(|| UrbPlan::for_period(&config, sizer.packets_per_second(), alt.direction()));
        let shared = Arc::new(Shared {
            ring,
            _space: space,
            config,
            hw_frames: AtomicU64::new(0),
            event: IrqEvent::new(dev.name(), IrqKind::Msi)?,
            stop: AtomicBool::new(false),
            state: AtomicU8::new(STATE_PREPARED),
            error: Mutex::new(None),
            stats: StreamStats::default(),
        });
        Ok(UacStream { dev, demux, alt, speed, plan, shared, worker: None, implicit: None, on_drop })
    }

    /// Link this stream to its implicit-feedback sync point: a playback
    /// stream takes packet sizes from it (`drive`: and submits the capture
    /// endpoint's URBs itself); a capture stream publishes to it.
    pub fn set_implicit(&mut self, sync: Arc<ImplicitSync>, drive: bool) {
        self.implicit = Some((sync, drive));
    }

    /// The alt setting streamed on.
    pub fn alt(&self) -> &AltSetting {
        &self.alt
    }

    /// The URB layout.
    pub fn plan(&self) -> UrbPlan {
        self.plan
    }

    /// Counters and the frame position.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The pump for this stream, to drive by hand (tests); `start` runs one on a thread.
    pub fn pump(&self) -> Pump {
        let config = self.shared.config;
        let max_frames = (self.alt.endpoint.max_bytes as usize / config.frame_bytes().max(1)) as u32;
        let feedback = self.alt.feedback.clone().filter(|_| self.alt.direction() == Direction::Playback);
        let mut endpoints = vec![self.alt.endpoint.address];
        endpoints.extend(feedback.as_ref().map(|f| f.address));
        let playback = self.alt.direction() == Direction::Playback;
        let implicit = match (&self.implicit, &self.alt.implicit) {
            (Some((sync, drive)), Some(source)) if playback => {
                Some(Implicit { source: source.clone(), sync: Arc::clone(sync), drive: *drive })
            }
            _ => None,
        };
        if let Some(i) = implicit.as_ref().filter(|i| i.drive) {
            endpoints.push(i.source.endpoint.address);
        }
        let publish = self.implicit.as_ref().filter(|_| !playback).map(|(sync, _)| Arc::clone(sync));
        Pump {
            dev: Arc::clone(&self.dev),
            demux: Arc::clone(&self.demux),
            endpoints,
            shared: Arc::clone(&self.shared),
            direction: self.alt.direction(),
            endpoint: self.alt.endpoint.clone(),
            feedback,
            implicit,
            publish,
            plan: self.plan,
            sizer: PacketSizer::new(config.rate, self.speed, self.alt.endpoint.interval, max_frames),
            decoder: FeedbackDecoder::new(config.rate, self.speed),
            cursor: self.shared.frames(),
            last_completion: Instant::now(),
            started: false,
        }
    }

    /// The error that ended streaming, if any.
    pub fn error(&self) -> Option<String> {
        self.shared.error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn state_error(&self) -> Option<outboard_hal::Error> {
        match self.shared.state.load(Ordering::SeqCst) {
            STATE_GONE => Some(outboard_hal::Error::Disconnected { device: self.dev.name().to_string() }),
            STATE_XRUN => Some(outboard_hal::Error::Transfer {
                device: self.dev.name().to_string(),
                what: self.error().unwrap_or_else(|| "streaming stopped".into()),
            }),
            _ => None,
        }
    }
}

impl PcmStream for UacStream {
    fn direction(&self) -> Direction {
        self.alt.direction()
    }

    fn config(&self) -> PcmConfig {
        self.shared.config
    }

    fn state(&self) -> PcmState {
        match self.shared.state.load(Ordering::SeqCst) {
            STATE_RUNNING => PcmState::Running,
            STATE_XRUN => PcmState::Xrun,
            STATE_GONE => PcmState::Disconnected,
            _ => PcmState::Prepared,
        }
    }

    fn start(&mut self) -> outboard_hal::Result<()> {
        if self.worker.is_some() {
            return Ok(());
        }
        if let Some(e) = self.state_error() {
            return Err(e);
        }
        let mut pump = self.pump();
        pump.start()?;
        self.shared.stop.store(false, Ordering::SeqCst);
        self.shared.state.store(STATE_RUNNING, Ordering::SeqCst);
        let shared = Arc::clone(&self.shared);
        let handle = std::thread::Builder::new()
            .name(format!("uac-ep{:02x}", self.alt.endpoint.address))
            .spawn(move || {
                while !shared.stop.load(Ordering::Acquire) {
                    if !pump.step(Duration::from_millis(50)) {
                        break;
                    }
                }
                pump.finish();
                pump
            })
            .map_err(|e| outboard_hal::Error::Io { device: self.dev.name().to_string(), op: "spawn", source: e })?;
        self.worker = Some(handle);
        Ok(())
    }

    fn stop(&mut self) -> outboard_hal::Result<()> {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(h) = self.worker.take() {
            if h.join().is_err() {
                log::error!("{}: the streaming thread panicked", self.dev.name());
            }
        }
        if self.shared.state.load(Ordering::SeqCst) == STATE_RUNNING {
            self.shared.state.store(STATE_PREPARED, Ordering::SeqCst);
        }
        Ok(())
    }

    fn position(&mut self) -> outboard_hal::Result<usize> {
        if let Some(e) = self.state_error() {
            return Err(e);
        }
        Ok((self.shared.frames() % self.shared.config.buffer_frames() as u64) as usize)
    }

    fn write_frames(&mut self, offset: usize, data: &[u8]) -> outboard_hal::Result<()> {
        self.shared.ring_copy_in(offset as u64, data)
    }

    fn read_frames(&mut self, offset: usize, out: &mut [u8]) -> outboard_hal::Result<()> {
        self.shared.ring_copy_out(offset as u64, out)
    }

    fn wait_period(&mut self, timeout: Duration) -> outboard_hal::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(e) = self.state_error() {
                return Err(e);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(outboard_hal::Error::Timeout {
                    device: self.dev.name().to_string(),
                    what: format!("a period on endpoint {:#04x}", self.alt.endpoint.address),
                    ms: timeout.as_millis() as u64,
                });
            }
            // Wait in slices so a stream that died is noticed; a slice that
            // passes without an interrupt is not an error.
            match self.shared.event.wait(left.min(Duration::from_millis(100))) {
                Ok(n) if n > 0 => {
                    if let Some(e) = self.state_error() {
                        return Err(e);
                    }
                    return Ok(());
                }
                Ok(_) | Err(outboard_hal::Error::Timeout { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Always 0: like a DMA engine, the pump walks the ring whatever it
    /// holds, so it cannot tell an underrun; a stream that stops moving is
    /// reported through its state and error instead.
    fn xruns(&self) -> u64 {
        0
    }
}

impl Drop for UacStream {
    fn drop(&mut self) {
        let _ = self.stop();
        if let Some(f) = self.on_drop.take() {
            f();
        }
    }
}
