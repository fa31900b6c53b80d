//! `/dev/dsp` and `/dev/audio`: the OSS digital audio devices on mixer streams.
//!
//! Each open gets its own mixer clients (playback for O_WRONLY, capture for
//! O_RDONLY, both for O_RDWR) in the format, rate and channel count the
//! program sets with SNDCTL_DSP_SETFMT / CHANNELS / SPEED (defaults: 8-bit
//! unsigned mono 8 kHz for /dev/dsp, mu-law mono 8 kHz for /dev/audio, as
//! OSS). Writes block until they fit and reads until they are filled (or
//! return what there is, EAGAIN when nothing, with O_NONBLOCK); close plays
//! out what is queued (OSS semantics).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use outboard_cuse::abi::bytes;
use outboard_cuse::{CallerAbi, Errno, Handler, PollWaker, Request};
use outboard_mixer::engine::Engine;
use outboard_mixer::format::SampleFormat;
use outboard_mixer::limits::{Admitted, Limits};
use outboard_mixer::stream::{Capture, Playback, StreamParams, StreamState};

use crate::blocking;
use crate::info::{Asker, OssSystem, MAX_CHANNELS, MAX_RATE, MIN_CHANNELS, MIN_RATE, SUPPORTED_FORMATS};
use crate::oss4::{AudioErrinfo, AudioErrinfoLong, OssCount, OssCount32};
use crate::soundcard::*;

/// How long a blocking write or read may wait for the device (and a drain
/// beyond the length of what is queued). A signal ends the wait sooner.
const BLOCK_LIMIT: Duration = Duration::from_secs(10);

/// An OSS format number to a sample format.
pub fn format_from_oss(afmt: u32) -> Option<SampleFormat> {
    Some(match afmt {
        AFMT_U8 => SampleFormat::U8,
        AFMT_S8 => SampleFormat::S8,
        AFMT_S16_LE => SampleFormat::S16Le,
        AFMT_S16_BE => SampleFormat::S16Be,
        AFMT_S32_LE => SampleFormat::S32Le,
        AFMT_S32_BE => SampleFormat::S32Be,
        AFMT_S24_LE => SampleFormat::S24Le,
        AFMT_S24_BE => SampleFormat::S24Be,
        AFMT_S24_PACKED => SampleFormat::S24_3Le,
        AFMT_FLOAT => SampleFormat::F32Le,
        AFMT_MU_LAW => SampleFormat::MuLaw,
        AFMT_A_LAW => SampleFormat::ALaw,
        _ => return None,
    })
}

struct Open {
    pid: u32,
    afmt: u32,
    rate: u32,
    channels: u16,
    /// Fragment size (bytes) and count, as SETFRAGMENT asked.
    frag_size: usize,
    frags: usize,
    playback: Option<Playback>,
    capture: Option<Capture>,
    writable: bool,
    readable: bool,
    /// SNDCTL_DSP_NONBLOCK was called: reads and writes never block.
    nonblock: bool,
    /// SETPLAYVOL / SETRECVOL, kept for streams made later.
    play_gain: f32,
    rec_gain: f32,
    /// This open, counted under the client limits until it is released.
    _admitted: Admitted,
}

impl Open {
    fn format(&self) -> SampleFormat {
        format_from_oss(self.afmt).unwrap_or(SampleFormat::U8)
    }
    fn frame_bytes(&self) -> usize {
        self.format().bytes() * usize::from(self.channels)
    }
    fn params(&self) -> StreamParams {
        let frame = self.frame_bytes().max(1);
        let period = (self.frag_size / frame).max(16);
        StreamParams {
            buffer_frames: period * self.frags.max(2),
            ..StreamParams::new(self.format(), self.rate, self.channels, period)
        }
    }
}

/// A node's defaults: OSS format, rate, channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Defaults {
    pub afmt: u32,
    pub rate: u32,
    pub channels: u16,
}

/// /dev/dsp's defaults: unsigned 8-bit mono at 8 kHz.
pub const DSP_DEFAULTS: Defaults = Defaults { afmt: AFMT_U8, rate: 8000, channels: 1 };
/// /dev/audio's defaults: mu-law mono at 8 kHz (Sun audio).
pub const AUDIO_DEFAULTS: Defaults = Defaults { afmt: AFMT_MU_LAW, rate: 8000, channels: 1 };

pub use outboard_mixer::stream::ClientInfo;

/// What the listing needs of an open without taking its lock.
#[derive(Clone, Debug)]
struct Meta {
    pid: u32,
    mode: &'static str,
    format: String,
}

const POLLIN: u32 = libc::POLLIN as u32;
const POLLOUT: u32 = libc::POLLOUT as u32;

/// Which of `events` an open is ready for: writable once a fragment is free
/// (or before its stream exists), readable once anything was captured.
fn readiness(open: &Open, events: u32) -> u32 {
    let mut ready = 0;
    if events & POLLOUT != 0 && open.writable {
        let room = open.playback.as_ref().map(|p| p.avail() * open.frame_bytes()).unwrap_or(usize::MAX);
        if room >= open.frag_size.min(open.params().buffer_frames * open.frame_bytes()) {
            ready |= POLLOUT;
        }
    }
    if events & POLLIN != 0 && open.readable && open.capture.as_ref().is_some_and(|c| c.avail() > 0) {
        ready |= POLLIN;
    }
    ready
}

/// The handler behind /dev/dsp (or /dev/audio).
pub struct Dsp {
    meta: Mutex<HashMap<u64, Meta>>,
    /// Pollers waiting for their file to become ready, and the thread that
    /// watches for it (started at the first one).
    wakers: Arc<outboard_cuse::pollwatch::PollWatch>,
    watcher: std::sync::OnceLock<()>,
    engine: Arc<Engine>,
    /// Every device and node, for the OSS 4 info ioctls; this node is audio
    /// device `dev` in it.
    system: Arc<OssSystem>,
    dev: usize,
    defaults: Defaults,
    node: String,
    opens: Arc<Mutex<HashMap<u64, Arc<Mutex<Open>>>>>,
    next: AtomicU64,
    /// The daemon's client limits, shared with its other audio nodes.
    limits: std::sync::OnceLock<Arc<Limits>>,
}

/// `m`'s lock, waiting at most `limit` for it.
fn lock_within<T>(m: &Mutex<T>, limit: Duration) -> Option<std::sync::MutexGuard<'_, T>> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        match m.try_lock() {
            Ok(g) => return Some(g),
            Err(std::sync::TryLockError::Poisoned(e)) => return Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(std::sync::TryLockError::WouldBlock) => return None,
        }
    }
}

fn int_arg(input: &[u8]) -> Result<i32, Errno> {
    input.get(..4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok_or(libc::EINVAL)
}

fn int_reply(v: i32) -> Result<(i32, Vec<u8>), Errno> {
    Ok((0, v.to_le_bytes().to_vec()))
}

impl Dsp {
    /// A node called `node` ("/dev/dsp") with these defaults, alone on a
    /// card called "Outboard".
    pub fn new(engine: Arc<Engine>, node: &str, defaults: Defaults) -> Dsp {
        let system = Arc::new(OssSystem::single("Outboard", engine.clone(), &[node], None));
        Dsp::build(engine, system, 0, defaults, node)
    }

    /// Audio device `dev` of `system`, on its card's engine, with these defaults.
    pub fn on(system: Arc<OssSystem>, dev: usize, defaults: Defaults) -> Result<Dsp, String> {
        let node = system.audio_nodes().get(dev).ok_or_else(|| format!("no audio device {dev}"))?.devnode.clone();
        let engine = system.card_of(dev).ok_or_else(|| format!("no card for audio device {dev}"))?.engine.clone();
        Ok(Dsp::build(engine, system, dev, defaults, &node))
    }

    /// Count this node's opens under `limits` (shared with the daemon's
    /// other audio nodes); an open past them gets EBUSY. Once, before the
    /// first open; without it the node has no limits.
    pub fn set_limits(&self, limits: Arc<Limits>) {
        let _ = self.limits.set(limits);
    }

    fn build(engine: Arc<Engine>, system: Arc<OssSystem>, dev: usize, defaults: Defaults, node: &str) -> Dsp {
        Dsp {
            engine,
            system,
            dev,
            defaults,
            node: node.to_string(),
            meta: Mutex::new(HashMap::new()),
            wakers: outboard_cuse::pollwatch::PollWatch::new(),
            watcher: std::sync::OnceLock::new(),
            opens: Arc::new(Mutex::new(HashMap::new())),
            next: AtomicU64::new(1),
            limits: std::sync::OnceLock::new(),
        }
    }

    /// Every open right now. An open blocked in a read or write holds its
    /// lock; the listing does not wait for it and shows it as running.
    pub fn clients(&self) -> Vec<ClientInfo> {
        let opens: Vec<(u64, Arc<Mutex<Open>>)> =
            self.opens.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(k, v)| (*k, v.clone())).collect();
        let meta = self.meta.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut out: Vec<ClientInfo> = opens
            .iter()
            .filter_map(|(fh, o)| {
                let m = meta.get(fh)?;
                let (state, xruns, format) = match o.try_lock() {
                    Ok(o) => {
                        let xruns = o.playback.as_ref().map(|p| p.xruns()).unwrap_or(0)
                            + o.capture.as_ref().map(|c| c.xruns()).unwrap_or(0);
                        let state = match (&o.playback, &o.capture) {
                            (Some(p), _) => format!("{:?}", p.state()).to_lowercase(),
                            (None, Some(c)) => format!("{:?}", c.state()).to_lowercase(),
                            (None, None) => "idle".into(),
                        };
                        (state, xruns, format!("{:?} {} Hz {} ch", o.format(), o.rate, o.channels))
                    }
                    Err(_) => ("running".into(), 0, m.format.clone()),
                };
                Some(ClientInfo {
                    node: self.node.clone(),
                    pid: m.pid,
                    program: std::fs::read_to_string(format!("/proc/{}/comm", m.pid))
                        .map(|s| s.trim().to_string())
                        .unwrap_or_default(),
                    mode: m.mode,
                    format,
                    state,
                    xruns,
                })
            })
            .collect();
        out.sort_by_key(|c| c.pid);
        out
    }

    /// Start the thread that wakes pollers once their file is ready (every
    /// 5 ms while any waits; no wakeups while none does).
    fn watch(&self) {
        use outboard_cuse::pollwatch::Readiness;
        self.watcher.get_or_init(|| {
            let look = |opens: &Mutex<HashMap<u64, Arc<Mutex<Open>>>>, fh: u64, events: u32| {
                let opens = opens.lock().unwrap_or_else(|e| e.into_inner());
                match opens.get(&fh) {
                    None => Readiness::Gone, // closed: nothing to wake
                    Some(o) => match o.try_lock() {
                        Ok(o) if readiness(&o, events) != 0 => Readiness::Ready,
                        _ => Readiness::Wait,
                    },
                }
            };
            if let Err(e) = self.wakers.spawn("oss poll", Arc::downgrade(&self.opens), Duration::from_millis(5), look) {
                log::warn!("no poll watcher thread: {e}");
            }
        });
    }

    fn remember(&self, fh: u64, open: &Open) {
        let mode = match (open.readable, open.writable) {
            (true, true) => "rw",
            (true, false) => "r",
            _ => "w",
        };
        let format = format!("{:?} {} Hz {} ch", open.format(), open.rate, open.channels);
        self.meta.lock().unwrap_or_else(|e| e.into_inner()).insert(fh, Meta { pid: open.pid, mode, format });
    }

    fn get(&self, fh: u64) -> Result<Arc<Mutex<Open>>, Errno> {
        self.opens.lock().unwrap_or_else(|e| e.into_inner()).get(&fh).cloned().ok_or(libc::EBADF)
    }

    /// The open's mixer stream, created at the first write with the format
    /// set until then.
    fn stream<'a>(&self, open: &'a mut Open) -> Result<&'a mut Playback, Errno> {
        if open.playback.is_none() {
            let p = self.engine.playback(open.params()).map_err(|e| {
                log::warn!("{}: {e}", self.node);
                libc::EINVAL
            })?;
            p.set_gain(open.play_gain);
            open.playback = Some(p);
        }
        open.playback.as_mut().ok_or(libc::EIO)
    }

    /// The open's capture stream, created at the first read.
    fn capture<'a>(&self, open: &'a mut Open) -> Result<&'a mut Capture, Errno> {
        if open.capture.is_none() {
            let params =
                StreamParams { buffer_frames: open.params().buffer_frames.max(open.rate as usize), ..open.params() };
            let c = self.engine.capture(params).map_err(|e| {
                log::warn!("{}: {e}", self.node);
                libc::EINVAL
            })?;
            c.start();
            c.set_gain(open.rec_gain);
            open.capture = Some(c);
        }
        open.capture.as_mut().ok_or(libc::EIO)
    }
}

impl Handler for Dsp {
    fn open(&self, req: &Request, flags: u32) -> Result<u64, Errno> {
        let accmode = flags & libc::O_ACCMODE as u32;
        let writable = accmode == libc::O_WRONLY as u32 || accmode == libc::O_RDWR as u32;
        let readable = accmode == libc::O_RDONLY as u32 || accmode == libc::O_RDWR as u32;
        if (writable && self.engine.playback_config().is_none()) || (readable && self.engine.capture_config().is_none())
        {
            return Err(libc::ENODEV); // the device cannot go that way
        }
        let admitted = self.limits.get_or_init(Limits::none).admit(req.uid).map_err(|e| {
            log::warn!("{}: pid {} refused: {e}", self.node, req.pid);
            libc::EBUSY
        })?;
        let fh = self.next.fetch_add(1, Ordering::Relaxed);
        let d = self.defaults;
        let open = Open {
            _admitted: admitted,
            pid: req.pid,
            afmt: d.afmt,
            rate: d.rate,
            channels: d.channels,
            // 16 fragments of 8 KiB, as Linux's OSS emulation offers by
            // default: room for a program (or a slow guest) to be late.
            frag_size: 8192,
            frags: 16,
            playback: None,
            capture: None,
            writable,
            readable,
            nonblock: false,
            play_gain: 1.0,
            rec_gain: 1.0,
        };
        self.remember(fh, &open);
        let busy = (u32::from(readable) * OSS_OPEN_READ) | (u32::from(writable) * OSS_OPEN_WRITE);
        self.system.opened(self.dev, fh, req.pid, req.uid, busy);
        self.opens.lock().unwrap_or_else(|e| e.into_inner()).insert(fh, Arc::new(Mutex::new(open)));
        log::info!("{}: opened by pid {} (fh {fh})", self.node, req.pid);
        Ok(fh)
    }

    fn poll(&self, _req: &Request, fh: u64, events: u32, waker: Option<PollWaker>) -> Result<u32, Errno> {
        let open = self.get(fh)?;
        let ready = {
            let mut o = match open.try_lock() {
                Ok(o) => o,
                Err(_) => return Ok(0), // busy in a read or write: not ready
            };
            // Polling for input starts capture, as reading would.
            if events & POLLIN != 0 && o.readable && o.capture.is_none() {
                let _ = self.capture(&mut o);
            }
            readiness(&o, events)
        };
        if ready == 0 {
            if let Some(w) = waker {
                self.wakers.keep(fh, events, w);
                self.watch();
            }
        }
        Ok(ready)
    }

    fn release(&self, req: &Request, fh: u64) {
        let open = self.opens.lock().unwrap_or_else(|e| e.into_inner()).remove(&fh);
        self.meta.lock().unwrap_or_else(|e| e.into_inner()).remove(&fh);
        if let Some(open) = open {
            // This is the file's last close, so its other requests are over;
            // one a killed caller left behind may still hold the lock for its
            // own bounded wait, and no longer.
            match lock_within(&open, BLOCK_LIMIT + Duration::from_secs(2)) {
                Some(open) => {
                    if let Some(p) = &open.playback {
                        // OSS plays out what was written before close returns
                        // (Linux's OSS emulation drains, O_NONBLOCK or not),
                        // for as long as that takes; a signal to the closing
                        // process (the kernel's FUSE_INTERRUPT: a SIGKILL at
                        // exit, a SIGTERM in close) ends the wait and drops
                        // the rest, as the kernel's drain does.
                        let limit = blocking::drain_limit(p, Duration::from_secs(2));
                        if blocking::drain(p, &req.interrupt, limit).is_err() {
                            // The stream goes with the open: the rest is dropped.
                            log::info!("{}: pid {}: close did not wait for the rest to play", self.node, req.pid);
                        }
                    }
                }
                None => log::warn!("{}: pid {}: closed while still busy; not played out", self.node, req.pid),
            }
        }
        self.system.closed(self.dev, fh);
    }

    fn read(&self, req: &Request, fh: u64, size: u32, flags: u32) -> Result<Vec<u8>, Errno> {
        let open = self.get(fh)?;
        let mut open = open.lock().unwrap_or_else(|e| e.into_inner());
        if !open.readable {
            return Err(libc::EBADF);
        }
        let fb = open.frame_bytes();
        let mut buf = vec![0u8; size as usize / fb * fb];
        let nonblock = open.nonblock || flags & libc::O_NONBLOCK as u32 != 0;
        let c = self.capture(&mut open)?;
        if nonblock {
            let n = c.read(&mut buf).map_err(|_| libc::EIO)?;
            if n == 0 && !buf.is_empty() {
                return Err(libc::EAGAIN);
            }
            buf.truncate(n * fb);
            return Ok(buf);
        }
        // Interrupted after some data: that much, as a short read.
        let n = blocking::read_exact(c, &mut buf, &req.interrupt, BLOCK_LIMIT)?;
        buf.truncate(n);
        Ok(buf)
    }

    fn write(&self, req: &Request, fh: u64, data: &[u8], flags: u32) -> Result<u32, Errno> {
        let open = self.get(fh)?;
        let mut open = open.lock().unwrap_or_else(|e| e.into_inner());
        if !open.writable {
            return Err(libc::EBADF);
        }
        let fb = open.frame_bytes();
        let whole = data.len() / fb * fb;
        let nonblock = open.nonblock || flags & libc::O_NONBLOCK as u32 != 0;
        let p = self.stream(&mut open)?;
        if nonblock {
            let n = p.write(&data[..whole]).map_err(|_| libc::EIO)?;
            if n == 0 && whole > 0 {
                return Err(libc::EAGAIN);
            }
            return Ok((n * fb) as u32);
        }
        // Interrupted after some frames were taken: that many, as a short write.
        let n = blocking::write_all(p, &data[..whole], &req.interrupt, BLOCK_LIMIT)?;
        // A trailing partial frame is taken and dropped (the program cannot
        // sensibly resend it alone).
        Ok(if n == whole { data.len() } else { n } as u32)
    }

    fn ioctl(&self, req: &Request, fh: u64, cmd: u32, input: &[u8]) -> Result<(i32, Vec<u8>), Errno> {
        // Device discovery does not wait for an open busy in a write.
        if let Some(r) = self.system.ioctl(Asker::Audio(self.dev), req.uid, cmd, input) {
            self.get(fh)?;
            return r;
        }
        let r = self.ioctl_inner(req, fh, cmd, input);
        if let Ok(open) = self.get(fh) {
            if let Ok(open) = open.try_lock() {
                self.remember(fh, &open);
            }
        }
        r
    }
}

impl Dsp {
    fn ioctl_inner(&self, req: &Request, fh: u64, cmd: u32, input: &[u8]) -> Result<(i32, Vec<u8>), Errno> {
        let open = self.get(fh)?;
        // The few ioctls whose struct a 32-bit caller lays out otherwise
        // arrive with their own size: named as ours, answered in theirs.
        let (cmd, size) = caller_layout(cmd, req.abi)?;
        let mut open = open.lock().unwrap_or_else(|e| e.into_inner());
        // New parameters take effect at the next write or read.
        let reopen = |open: &mut Open| {
            open.playback = None;
            open.capture = None;
        };
        match cmd {
            SNDCTL_DSP_RESET => {
                if let Some(p) = &open.playback {
                    let _ = p.reset(BLOCK_LIMIT);
                }
                if let Some(c) = open.capture.as_mut() {
                    c.reset();
                }
                Ok((0, Vec::new()))
            }
            SNDCTL_DSP_SYNC => {
                if let Some(p) = &open.playback {
                    blocking::drain(p, &req.interrupt, blocking::drain_limit(p, BLOCK_LIMIT))?;
                }
                Ok((0, Vec::new()))
            }
            SNDCTL_DSP_POST => {
                if let Some(p) = &open.playback {
                    p.start();
                }
                Ok((0, Vec::new()))
            }
            SNDCTL_DSP_SPEED => {
                let want = int_arg(input)?;
                let rate = want.clamp(MIN_RATE as i32, MAX_RATE as i32) as u32;
                if rate != open.rate {
                    open.rate = rate;
                    reopen(&mut open);
                }
                int_reply(rate as i32)
            }
            SNDCTL_DSP_CHANNELS => {
                let ch = int_arg(input)?.clamp(i32::from(MIN_CHANNELS), i32::from(MAX_CHANNELS)) as u16;
                if ch != open.channels {
                    open.channels = ch;
                    reopen(&mut open);
                }
                int_reply(i32::from(ch))
            }
            SNDCTL_DSP_STEREO => {
                let ch = if int_arg(input)? != 0 { 2 } else { 1 };
                if ch != open.channels {
                    open.channels = ch;
                    reopen(&mut open);
                }
                int_reply(i32::from(ch - 1))
            }
            SNDCTL_DSP_SETFMT => {
                let want = int_arg(input)? as u32;
                if want != AFMT_QUERY && format_from_oss(want).is_some() && want != open.afmt {
                    open.afmt = want;
                    reopen(&mut open);
                }
                int_reply(open.afmt as i32)
            }
            SNDCTL_DSP_GETFMTS => int_reply(SUPPORTED_FORMATS as i32),
            SNDCTL_DSP_GETBLKSIZE => int_reply(open.frag_size as i32),
            SNDCTL_DSP_SETFRAGMENT => {
                let v = int_arg(input)?;
                let shift = (v & 0xffff).clamp(4, 17);
                let count = ((v >> 16) & 0x7fff).clamp(2, 256);
                open.frag_size = 1 << shift;
                open.frags = count as usize;
                reopen(&mut open);
                int_reply((count << 16) | shift)
            }
            SNDCTL_DSP_GETOSPACE => {
                let frag = open.frag_size.max(1);
                let free = match &open.playback {
                    Some(p) => p.avail() * open.frame_bytes(),
                    None => frag * open.frags,
                };
                let info = [(free / frag) as i32, open.frags as i32, frag as i32, free as i32];
                Ok((0, info.iter().flat_map(|v| v.to_le_bytes()).collect()))
            }
            SNDCTL_DSP_GETISPACE => {
                let frag = open.frag_size.max(1);
                let ready = open.capture.as_ref().map(|c| c.avail() * open.frame_bytes()).unwrap_or(0);
                let info = [(ready / frag) as i32, open.frags as i32, frag as i32, ready as i32];
                Ok((0, info.iter().flat_map(|v| v.to_le_bytes()).collect()))
            }
            SNDCTL_DSP_GETODELAY => {
                // What is queued, and while the stream plays, the device ring
                // the engine keeps filled ahead (the kernel's delay counts the
                // whole DMA ring): the bytes until one written now is heard.
                let rate = open.params().rate;
                let delay = open.playback.as_ref().map_or(0, |p| {
                    let playing = matches!(p.state(), StreamState::Running | StreamState::Draining);
                    let ahead = if playing { self.engine.playback_ahead(rate) as usize } else { 0 };
                    (p.delay() + ahead) * open.frame_bytes()
                });
                int_reply(delay.min(i32::MAX as usize) as i32)
            }
            SNDCTL_DSP_NONBLOCK => {
                open.nonblock = true;
                Ok((0, Vec::new()))
            }
            SNDCTL_DSP_GETCAPS => int_reply(self.system.caps(self.dev) as i32),
            SNDCTL_DSP_GETTRIGGER => {
                let out = open.playback.as_ref().is_some_and(|p| p.state() == StreamState::Running);
                let inp = open.capture.as_ref().is_some_and(|c| c.state() == StreamState::Running);
                int_reply(((u32::from(out) * PCM_ENABLE_OUTPUT) | (u32::from(inp) * PCM_ENABLE_INPUT)) as i32)
            }
            SNDCTL_DSP_SETTRIGGER => {
                let v = int_arg(input)? as u32;
                if let Some(p) = &open.playback {
                    if v & PCM_ENABLE_OUTPUT != 0 {
                        p.start();
                        p.pause(false);
                    } else {
                        p.pause(true);
                    }
                }
                if v & PCM_ENABLE_INPUT != 0 && open.readable {
                    let c = self.capture(&mut open)?;
                    c.start();
                    c.pause(false);
                } else if let Some(c) = &open.capture {
                    c.pause(true);
                }
                Ok((0, Vec::new()))
            }
            SNDCTL_DSP_GETOPTR | SNDCTL_DSP_GETIPTR => {
                let fb = open.frame_bytes() as u64;
                let buffer = open.params().buffer_frames as u64 * fb;
                let done = if cmd == SNDCTL_DSP_GETOPTR {
                    open.playback.as_ref().map(|p| p.hw_ptr() * fb).unwrap_or(0)
                } else {
                    open.capture.as_ref().map(|c| (c.appl_ptr() + c.avail() as u64) * fb).unwrap_or(0)
                };
                let blocks = done / open.frag_size.max(1) as u64;
                let info = [done as i32, blocks as i32, (done % buffer.max(1)) as i32];
                Ok((0, info.iter().flat_map(|v| v.to_le_bytes()).collect()))
            }
            SNDCTL_DSP_CURRENT_OPTR | SNDCTL_DSP_CURRENT_IPTR => {
                let (samples, fifo) = if cmd == SNDCTL_DSP_CURRENT_OPTR {
                    open.playback.as_ref().map(|p| (p.hw_ptr(), p.delay())).unwrap_or((0, 0))
                } else {
                    open.capture.as_ref().map(|c| (c.appl_ptr() + c.avail() as u64, c.avail())).unwrap_or((0, 0))
                };
                // In the caller's layout: i386 has no tail padding.
                let out = match req.abi {
                    CallerAbi::Ilp32 => bytes(&OssCount32 {
                        samples: samples as i64,
                        fifo_samples: fifo as i32,
                        ..OssCount32::default()
                    })
                    .to_vec(),
                    CallerAbi::Native | CallerAbi::X32 => {
                        bytes(&OssCount { samples: samples as i64, fifo_samples: fifo as i32, ..OssCount::default() })
                            .to_vec()
                    }
                };
                Ok((0, out))
            }
            SNDCTL_DSP_GETPLAYVOL | SNDCTL_DSP_GETRECVOL => {
                let gain = if cmd == SNDCTL_DSP_GETPLAYVOL { open.play_gain } else { open.rec_gain };
                let v = (gain * 100.0).round() as i32;
                int_reply(v | (v << 8))
            }
            SNDCTL_DSP_SETPLAYVOL | SNDCTL_DSP_SETRECVOL => {
                let v = int_arg(input)? as u32;
                let (l, r) = ((v & 0xff).min(100), ((v >> 8) & 0xff).min(100));
                let gain = (l + r) as f32 / 200.0;
                if cmd == SNDCTL_DSP_SETPLAYVOL {
                    open.play_gain = gain;
                    if let Some(p) = &open.playback {
                        p.set_gain(gain);
                    }
                } else {
                    open.rec_gain = gain;
                    if let Some(c) = &open.capture {
                        c.set_gain(gain);
                    }
                }
                int_reply((l | (r << 8)) as i32)
            }
            SNDCTL_DSP_GETERROR => {
                let play_underruns = open.playback.as_ref().map(|p| p.xruns()).unwrap_or(0) as i32;
                let rec_overruns = open.capture.as_ref().map(|c| c.xruns()).unwrap_or(0) as i32;
                // The header the caller was built with, by its size.
                let out = if size == std::mem::size_of::<AudioErrinfoLong>() {
                    bytes(&AudioErrinfoLong { play_underruns, rec_overruns, ..AudioErrinfoLong::default() }).to_vec()
                } else {
                    bytes(&AudioErrinfo { play_underruns, rec_overruns, ..AudioErrinfo::default() }).to_vec()
                };
                Ok((0, out))
            }
            // Cooked mode (format conversion) is always on; silence and skip
            // act on what is queued, which the mixer plays or drops itself.
            SNDCTL_DSP_COOKEDMODE | SNDCTL_DSP_SILENCE | SNDCTL_DSP_SKIP => Ok((0, Vec::new())),
            _ => Err(libc::EINVAL),
        }
    }
}
