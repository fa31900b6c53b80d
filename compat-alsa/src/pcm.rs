//! `/dev/snd/pcmCND0p` and `pcmCND0c`: ALSA's PCM ioctls on a mixer client
//! stream, one per open, so every program that opens `hw:N` is mixed (the
//! dmix role without dmix).
//!
//! What alsa-lib does with a PCM that cannot be mmapped (CUSE has no mmap):
//! the open sequence (PVERSION, INFO, USER_PVERSION, TTSTAMP, SYNC_PTR),
//! HW_REFINE/HW_PARAMS ([`crate::hw_params`]; only read/write access is
//! offered, so `plughw` and `default` put alsa-lib's mmap emulation in
//! front), SW_PARAMS, PREPARE, then WRITEI/READI with SYNC_PTR on every
//! state, avail and timestamp query. WRITEI and READI take three rounds of
//! the CUSE ioctl protocol (the argument, then the argument and the
//! samples it points at), moved a window of at most 128 KiB at a time (a
//! short count; alsa-lib and aplay loop).
//!
//! O_NONBLOCK: ioctls do not carry the file's flags and F_SETFL never
//! reaches a CUSE device, while alsa-lib opens non-blocking and clears the
//! flag after. As the kernel snapshots the flags at PREPARE, so does this,
//! from /proc/PID/fdinfo of the caller's descriptors on this node.
//!
//! i386 callers (FUSE_IOCTL_32BIT) are served in their own layouts
//! ([`crate::compat32`]: HW_PARAMS, SW_PARAMS, STATUS, SYNC_PTR, DELAY,
//! REWIND/FORWARD and the transfers differ; their pointers wrap under 2^31),
//! old 32-bit time and time64 alike; x32 callers get ENOTTY. Interleaved
//! (WRITEI/READI) and non-interleaved (WRITEN/READN, a buffer a channel)
//! read/write access.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use outboard_cuse::{
    sized_ioctl_round, CallerAbi, Errno, Handler, IoctlCall, IoctlReply, PollWaker, Request, UserRange,
};
use outboard_mixer::format::SampleFormat;
use outboard_mixer::limits::{Admitted, Limits};
use outboard_mixer::stream::{Capture, ClientInfo, Playback, StreamParams, StreamState};
use zerocopy::{FromBytes, IntoBytes};

use crate::abi::*;
use crate::card::Card;
use crate::compat32;
use crate::control::{pcm_info, STREAM_CAPTURE, STREAM_PLAYBACK};
use crate::hw_params::{self, Capabilities, Format, Setup, ACCESS_RW_INTERLEAVED, ACCESS_RW_NONINTERLEAVED};

/// SNDRV_PCM_STATE_*.
pub mod state {
    pub const OPEN: i32 = 0;
    pub const SETUP: i32 = 1;
    pub const PREPARED: i32 = 2;
    pub const RUNNING: i32 = 3;
    pub const XRUN: i32 = 4;
    pub const DRAINING: i32 = 5;
    pub const PAUSED: i32 = 6;
}

/// SNDRV_PCM_SYNC_PTR_AVAIL_MIN: set, the caller reads avail_min back;
/// clear, it pushes its own.
const SYNC_PTR_AVAIL_MIN: u32 = 1 << 2;

/// How long a blocked transfer or drain may wait in all.
const BLOCK_LIMIT: Duration = Duration::from_secs(10);
/// How often a blocked call looks again (room, data, a signal, a drop).
const POLL_STEP: Duration = Duration::from_millis(2);
/// The most sample bytes one round of WRITEI/READI moves (CUSE's 128 KiB
/// less the argument).
const WINDOW: usize = outboard_cuse::MAX_PAYLOAD - 64;

/// (ALSA format number, the mixer's format, significant bits).
const FORMATS: &[(u32, SampleFormat, u32)] = &[
    (0, SampleFormat::S8, 8),
    (1, SampleFormat::U8, 8),
    (2, SampleFormat::S16Le, 16),
    (3, SampleFormat::S16Be, 16),
    (6, SampleFormat::S24Le, 24),
    (7, SampleFormat::S24Be, 24),
    (10, SampleFormat::S32Le, 32),
    (11, SampleFormat::S32Be, 32),
    (14, SampleFormat::F32Le, 32),
    (15, SampleFormat::F32Be, 32),
    (16, SampleFormat::F64Le, 64),
    (17, SampleFormat::F64Be, 64),
    (20, SampleFormat::MuLaw, 8),
    (21, SampleFormat::ALaw, 8),
    (32, SampleFormat::S24_3Le, 24),
    (33, SampleFormat::S24_3Be, 24),
];

/// What a mixer client stream offers an ALSA program, on a mixer whose
/// period lasts `mixer_period` (no client period is shorter).
pub fn capabilities(mixer_period: std::time::Duration) -> Capabilities {
    Capabilities {
        formats: FORMATS
            .iter()
            .map(|&(number, f, significant_bits)| Format {
                number,
                physical_bits: (f.bytes() * 8) as u32,
                significant_bits,
            })
            .collect(),
        channels: (1, 8),
        rates: (8000, 192_000),
        periods: (2, 1024),
        period_bytes: (64, 1 << 20),
        buffer_bytes_max: 4 << 20,
        period_time_min: u32::try_from(mixer_period.as_micros()).unwrap_or(u32::MAX),
    }
}

/// The argument of WRITEI/READI and of WRITEN/READN alike (snd_xferi,
/// snd_xfern: {long result; a pointer: the samples, or the table of channel
/// pointers; unsigned long frames}, 24 bytes or (i386) 12): its range and
/// value, or the Retry that asks for it.
fn xfer_arg(call: &IoctlCall<'_>, compat: bool) -> Result<Result<(UserRange, XferI), IoctlReply>, Errno> {
    let len = if compat { 12 } else { std::mem::size_of::<XferI>() };
    let arg = UserRange { addr: call.arg, len };
    if call.input.len() < len || call.out_size < len {
        return Ok(Err(IoctlReply::Retry { input: vec![arg], output: vec![arg] }));
    }
    let x = if compat {
        let w = |i: usize| u32::from_le_bytes(call.input[i..i + 4].try_into().unwrap_or([0; 4]));
        XferI { result: 0, buf: u64::from(w(4)), frames: u64::from(w(8)) }
    } else {
        XferI::read_from_bytes(&call.input[..len]).map_err(|_| libc::EFAULT)?
    };
    Ok(Ok((arg, x)))
}

/// That argument back to the caller with the result in it.
fn xfer_encode(x: &XferI, result: i64, compat: bool) -> Vec<u8> {
    if compat {
        [(result as i32).to_le_bytes(), (x.buf as u32).to_le_bytes(), (x.frames as u32).to_le_bytes()].concat()
    } else {
        XferI { result, ..*x }.as_bytes().to_vec()
    }
}

/// A mixer stream's avail_min, start threshold and whether it stops on an
/// xrun, from ALSA's software parameters on a ring of `buffer` frames.
fn thresholds(sw: &SwParams, buffer: usize) -> (usize, usize, bool) {
    (
        (sw.avail_min as usize).clamp(1, buffer.max(1)),
        (sw.start_threshold.min(u64::from(u32::MAX)) as usize).max(1),
        // A stop threshold past the buffer (PipeWire and dmix set the
        // boundary) means: never stop on an underrun, play silence.
        sw.stop_threshold <= buffer as u64,
    )
}

fn mixer_format(number: u32) -> Option<SampleFormat> {
    FORMATS.iter().find(|f| f.0 == number).map(|f| f.1)
}

/// The requests a PCM node answers (64-bit layouts).
pub const IOCTLS: &[u32] = &[
    PCM_IOCTL_PVERSION,
    PCM_IOCTL_INFO,
    PCM_IOCTL_TSTAMP,
    PCM_IOCTL_TTSTAMP,
    PCM_IOCTL_USER_PVERSION,
    PCM_IOCTL_HW_REFINE,
    PCM_IOCTL_HW_PARAMS,
    PCM_IOCTL_HW_FREE,
    PCM_IOCTL_SW_PARAMS,
    PCM_IOCTL_STATUS,
    PCM_IOCTL_DELAY,
    PCM_IOCTL_HWSYNC,
    PCM_IOCTL_SYNC_PTR,
    PCM_IOCTL_STATUS_EXT,
    PCM_IOCTL_CHANNEL_INFO,
    PCM_IOCTL_PREPARE,
    PCM_IOCTL_RESET,
    PCM_IOCTL_START,
    PCM_IOCTL_DROP,
    PCM_IOCTL_DRAIN,
    PCM_IOCTL_PAUSE,
    PCM_IOCTL_REWIND,
    PCM_IOCTL_RESUME,
    PCM_IOCTL_XRUN,
    PCM_IOCTL_FORWARD,
    PCM_IOCTL_WRITEI_FRAMES,
    PCM_IOCTL_READI_FRAMES,
    PCM_IOCTL_WRITEN_FRAMES,
    PCM_IOCTL_READN_FRAMES,
    PCM_IOCTL_LINK,
    PCM_IOCTL_UNLINK,
];

/// The requests whose argument is laid out the same for an i386 caller.
const SAME_LAYOUT: &[u32] = &[
    PCM_IOCTL_PVERSION,
    PCM_IOCTL_INFO,
    PCM_IOCTL_TSTAMP,
    PCM_IOCTL_TTSTAMP,
    PCM_IOCTL_USER_PVERSION,
    PCM_IOCTL_HW_FREE,
    PCM_IOCTL_HWSYNC,
    PCM_IOCTL_PREPARE,
    PCM_IOCTL_RESET,
    PCM_IOCTL_START,
    PCM_IOCTL_DROP,
    PCM_IOCTL_DRAIN,
    PCM_IOCTL_PAUSE,
    PCM_IOCTL_RESUME,
    PCM_IOCTL_XRUN,
    PCM_IOCTL_LINK,
    PCM_IOCTL_UNLINK,
];

/// The stream of one open, once PREPAREd.
enum Stream {
    Play(Playback),
    Cap(Capture),
}

/// One open of the node.
/// What `outboard clients` shows of an open besides its state.
#[derive(Clone, Default)]
struct Listed {
    pid: u32,
    format: String,
    xruns: u64,
}

struct Client {
    pid: u32,
    setup: Option<Setup>,
    sw: SwParams,
    stream: Option<Stream>,
    nonblock: bool,
    /// A drain finished (or the stream was dropped): SETUP until PREPARE.
    stopped: bool,
    /// XRUN forced by the XRUN ioctl.
    forced_xrun: bool,
    /// Playback: frames (at this stream's rate) between what the mixer
    /// takes and what is heard: the device ring the engine keeps filled
    /// ahead of the device (the kernel's runtime->delay), part of DELAY
    /// while the stream plays.
    device_delay: u64,
    /// The stream's frame count at the last PREPARE: the pointers count
    /// from there, as the kernel's restart at 0 when a stream is prepared
    /// (alsa-lib's plugins reset their own pointers to 0 and take the
    /// slave's as the same origin).
    origin: u64,
    trigger: Timespec,
    /// This open, counted under the client limits until it is released.
    _admitted: Admitted,
}

impl Client {
    /// The software parameters' thresholds onto the live stream, if any.
    fn apply_thresholds(&self) {
        let Some(setup) = self.setup else { return };
        let (avail_min, start, stop) = thresholds(&self.sw, setup.buffer_size as usize);
        match &self.stream {
            Some(Stream::Play(p)) => p.set_thresholds(avail_min, start, stop),
            Some(Stream::Cap(s)) => s.set_thresholds(avail_min, start, stop),
            None => {}
        }
    }

    fn frame_bytes(&self) -> usize {
        self.setup.and_then(|s| mixer_format(s.format).map(|f| f.bytes() * s.channels as usize)).unwrap_or(1).max(1)
    }

    fn state(&self) -> i32 {
        let Some(stream) = &self.stream else {
            return if self.setup.is_some() { state::SETUP } else { state::OPEN };
        };
        if self.forced_xrun {
            return state::XRUN;
        }
        let s = match stream {
            Stream::Play(p) => p.state(),
            Stream::Cap(c) => c.state(),
        };
        match s {
            StreamState::Prepared if self.stopped => state::SETUP,
            StreamState::Prepared => state::PREPARED,
            StreamState::Running => state::RUNNING,
            StreamState::Paused => state::PAUSED,
            StreamState::Draining => state::DRAINING,
            StreamState::Xrun => state::XRUN,
        }
    }

    fn boundary(&self) -> u64 {
        self.sw.boundary.max(1)
    }

    /// (appl_ptr, hw_ptr, avail, delay) in frames.
    fn pointers(&self) -> (u64, u64, u64, i64) {
        let b = self.boundary();
        match &self.stream {
            Some(Stream::Play(p)) => {
                let (appl, hw) = (p.appl_ptr().wrapping_sub(self.origin), p.hw_ptr().wrapping_sub(self.origin));
                // What the mixer took is still in the device's ring while
                // the stream plays (as the kernel adds runtime->delay).
                let playing = matches!(p.state(), StreamState::Running | StreamState::Draining);
                let heard_after = if playing { self.device_delay } else { 0 };
                (appl % b, hw % b, p.avail() as u64, (p.delay() as u64 + heard_after) as i64)
            }
            Some(Stream::Cap(c)) => {
                let appl = c.appl_ptr().wrapping_sub(self.origin);
                let avail = c.avail() as u64;
                (appl % b, (appl + avail) % b, avail, avail as i64)
            }
            None => (0, 0, self.setup.map_or(0, |s| u64::from(s.buffer_size)), 0),
        }
    }

    /// When the stream last started or stopped, as the kernel's
    /// trigger_tstamp: an XRUN is stamped when the engine stopped the stream.
    fn trigger_time(&self) -> Timespec {
        let since = match &self.stream {
            Some(Stream::Play(p)) => p.since_xrun(),
            Some(Stream::Cap(c)) => c.since_xrun(),
            None => None,
        };
        match since {
            Some(d) if self.state() == state::XRUN && !self.forced_xrun => ago(d),
            _ => self.trigger,
        }
    }

    fn status(&self) -> PcmStatus {
        let (appl, hw, avail, delay) = self.pointers();
        PcmStatus {
            state: self.state(),
            trigger_tstamp: self.trigger_time(),
            tstamp: now(),
            appl_ptr: appl,
            hw_ptr: hw,
            delay,
            avail,
            avail_max: avail,
            ..PcmStatus::default()
        }
    }
}

/// The monotonic clock in seconds, for trace lines.
fn trace_time() -> String {
    let t = now();
    format!("{}.{:06}", t.sec, t.nsec / 1000)
}

/// CLOCK_MONOTONIC `d` ago.
fn ago(d: Duration) -> Timespec {
    let t = now();
    let ns = (t.sec as i128 * 1_000_000_000 + t.nsec as i128 - d.as_nanos() as i128).max(0);
    Timespec { sec: (ns / 1_000_000_000) as _, nsec: (ns % 1_000_000_000) as _ }
}

fn now() -> Timespec {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid timespec for clock_gettime to fill in.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    Timespec { sec: ts.tv_sec, nsec: ts.tv_nsec }
}

/// Whether the caller's descriptors on `node` are all non-blocking now
/// (from /proc/PID/fdinfo); `None` when that cannot be read. Reading another
/// user's /proc/PID/fd takes ptrace-read rights (root's, in practice): a
/// daemon that dropped them asks a helper that kept them
/// ([`Pcm::set_nonblock_probe`]).
pub fn nonblocking_now(pid: u32, node: &str) -> Option<bool> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    let mut seen = None;
    for entry in dir.flatten() {
        let Ok(target) = std::fs::read_link(entry.path()) else { continue };
        if target.to_str() != Some(node) {
            continue;
        }
        let fdinfo =
            std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", entry.file_name().to_string_lossy())).ok()?;
        let flags = fdinfo.lines().find_map(|l| l.strip_prefix("flags:")).map(str::trim)?;
        let flags = u32::from_str_radix(flags, 8).ok()?;
        let nb = flags & libc::O_NONBLOCK as u32 != 0;
        // Blocking if any of them is.
        seen = Some(seen.unwrap_or(true) && nb);
    }
    seen
}

fn state_name(s: i32) -> &'static str {
    match s {
        state::OPEN => "open",
        state::SETUP => "setup",
        state::PREPARED => "prepared",
        state::RUNNING => "running",
        state::XRUN => "xrun",
        state::DRAINING => "draining",
        state::PAUSED => "paused",
        _ => "unknown",
    }
}

/// Poll waiters and the thread that wakes them.
type Wakers = Arc<outboard_cuse::pollwatch::PollWatch>;

/// A PCM node: one card's device 0 in one direction.
pub struct Pcm {
    card: Card,
    stream: i32,
    /// Its path, to find the caller's descriptors on it.
    node: String,
    opens: Arc<Mutex<HashMap<u64, Arc<Mutex<Client>>>>>,
    /// What `clients` last saw of each open, for when the open is busy in a
    /// request (a blocking write holds its lock while it waits).
    listed: Mutex<HashMap<u64, Listed>>,
    next_fh: Mutex<u64>,
    wakers: Wakers,
    /// The daemon's client limits, shared with its other audio nodes.
    limits: std::sync::OnceLock<Arc<Limits>>,
    /// How to tell whether a caller's descriptors are non-blocking now
    /// (default: [`nonblocking_now`] in this process).
    probe: std::sync::OnceLock<NonblockProbe>,
}

/// Whether process `pid`'s descriptors on node `node` are all non-blocking;
/// `None` when that cannot be told.
pub type NonblockProbe = Arc<dyn Fn(u32, &str) -> Option<bool> + Send + Sync>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `m`'s lock if nobody holds it now.
fn lock_now<T>(m: &Mutex<T>) -> Option<std::sync::MutexGuard<'_, T>> {
    match m.try_lock() {
        Ok(g) => Some(g),
        Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

impl Pcm {
    /// Count this node's opens under `limits` (shared with the daemon's
    /// other audio nodes); an open past them gets EBUSY. Once, before the
    /// first open; without it the node has no limits.
    pub fn set_limits(&self, limits: Arc<Limits>) {
        let _ = self.limits.set(limits);
    }

    /// Tell callers' blocking mode with `probe` instead of reading /proc
    /// here (a daemon without the rights to read other users' descriptors).
    /// Once, before the first open.
    pub fn set_nonblock_probe(&self, probe: NonblockProbe) {
        let _ = self.probe.set(probe);
    }

    fn nonblocking_now(&self, pid: u32) -> Option<bool> {
        match self.probe.get() {
            Some(p) => p(pid, &self.node),
            None => nonblocking_now(pid, &self.node),
        }
    }

    /// The node `node` (e.g. "/dev/snd/pcmC0D0p") of `card` for `stream`.
    pub fn new(card: Card, capture: bool, node: &str) -> Arc<Pcm> {
        let pcm = Arc::new(Pcm {
            card,
            stream: if capture { STREAM_CAPTURE } else { STREAM_PLAYBACK },
            node: node.to_string(),
            opens: Arc::new(Mutex::new(HashMap::new())),
            listed: Mutex::new(HashMap::new()),
            next_fh: Mutex::new(1),
            wakers: outboard_cuse::pollwatch::PollWatch::new(),
            limits: std::sync::OnceLock::new(),
            probe: std::sync::OnceLock::new(),
        });
        Self::watch(&pcm);
        pcm
    }

    fn capture(&self) -> bool {
        self.stream == STREAM_CAPTURE
    }

    /// How long the mixer's period lasts on this node's side of the device.
    fn mixer_period(&self) -> std::time::Duration {
        let engine = &self.card.engine;
        let cfg = if self.capture() { engine.capture_config() } else { engine.playback_config() };
        cfg.map(|c| c.period_time()).unwrap_or_default()
    }

    /// Every open right now. An open busy in a request shows as running,
    /// with what was last seen of it.
    pub fn clients(&self) -> Vec<ClientInfo> {
        let opens: Vec<(u64, Arc<Mutex<Client>>)> = lock(&self.opens).iter().map(|(k, v)| (*k, v.clone())).collect();
        let mut out: Vec<(u64, ClientInfo)> = opens
            .into_iter()
            .map(|(fh, c)| {
                let (seen, state) = match c.try_lock() {
                    Ok(c) => (self.remember(fh, &c), state_name(c.state()).to_string()),
                    Err(_) => (lock(&self.listed).get(&fh).cloned().unwrap_or_default(), "running".into()),
                };
                let program = std::fs::read_to_string(format!("/proc/{}/comm", seen.pid))
                    .map(|s| s.trim().to_string())
                    .unwrap_or_default();
                let mode = if self.capture() { "r" } else { "w" };
                let Listed { pid, format, xruns } = seen;
                (fh, ClientInfo { node: self.node.clone(), pid, program, mode, format, state, xruns })
            })
            .collect();
        out.sort_by_key(|(fh, _)| *fh);
        out.into_iter().map(|(_, c)| c).collect()
    }

    /// The channels of the newest open of process `pid` that has its
    /// hardware parameters (what the card's channel map element reports to
    /// that process, as the kernel reports its one stream's). Opens busy in
    /// a request are passed over.
    pub fn channels_of(&self, pid: u32) -> Option<u32> {
        let mut opens: Vec<(u64, Arc<Mutex<Client>>)> =
            lock(&self.opens).iter().map(|(k, v)| (*k, v.clone())).collect();
        opens.sort_by_key(|(fh, _)| std::cmp::Reverse(*fh));
        opens.into_iter().find_map(|(_, c)| {
            let c = c.try_lock().ok()?;
            (c.pid == pid).then_some(c.setup?.channels)
        })
    }

    /// Note what `clients` shows of open `fh` while its lock is held.
    fn remember(&self, fh: u64, c: &Client) -> Listed {
        let format = match c.setup {
            Some(s) => {
                format!("{:?} {} Hz {} ch", mixer_format(s.format).unwrap_or(SampleFormat::S16Le), s.rate, s.channels)
            }
            None => "-".into(),
        };
        let xruns = match &c.stream {
            Some(Stream::Play(p)) => p.xruns(),
            Some(Stream::Cap(s)) => s.xruns(),
            None => 0,
        };
        let seen = Listed { pid: c.pid, format, xruns };
        let mut listed = lock(&self.listed);
        // Not for an open released meanwhile.
        if lock(&self.opens).contains_key(&fh) {
            listed.insert(fh, seen.clone());
        }
        seen
    }

    /// Wake pollers whose file became ready: looked at every 5 ms while any
    /// waits, no wakeups while none does.
    fn watch(pcm: &Arc<Pcm>) {
        use outboard_cuse::pollwatch::Readiness;
        let look = |pcm: &Pcm, fh: u64, events: u32| match pcm.client(fh) {
            // Busy in a request: look again next time (one client's long
            // request must not delay everyone's wakeups).
            Ok(c) => match lock_now(&c) {
                Some(c) if pcm.ready(&c, events) != 0 => Readiness::Ready,
                _ => Readiness::Wait,
            },
            Err(_) => Readiness::Gone,
        };
        if let Err(e) = pcm.wakers.spawn("alsa poll", Arc::downgrade(pcm), Duration::from_millis(5), look) {
            log::warn!("alsa: no poll thread ({e}); pollers are woken only by their timeouts");
        }
    }

    /// REWIND and FORWARD: `_IOW` of a frame count `width` bytes wide (the
    /// caller's long), but the kernel writes the frames moved back. Nothing
    /// queued is taken back or skipped: 0 frames moved.
    fn rewind_forward(&self, fh: u64, call: &IoctlCall<'_>, width: usize) -> Result<IoctlReply, Errno> {
        let arg = UserRange { addr: call.arg, len: width };
        if call.input.len() < width || call.out_size < width {
            return Ok(IoctlReply::Retry { input: vec![arg], output: vec![arg] });
        }
        let client = self.client(fh)?;
        if matches!(lock(&client).state(), state::OPEN | state::SETUP) {
            return Err(libc::EBADFD);
        }
        Ok(IoctlReply::Done { result: 0, out: vec![0; width] })
    }

    fn client(&self, fh: u64) -> Result<Arc<Mutex<Client>>, Errno> {
        lock(&self.opens).get(&fh).cloned().ok_or(libc::EBADF)
    }

    /// snd_pcm_poll's answer.
    fn ready(&self, c: &Client, events: u32) -> u32 {
        let (want, err) = if self.capture() {
            ((libc::POLLIN | libc::POLLRDNORM) as u32, libc::POLLERR as u32)
        } else {
            ((libc::POLLOUT | libc::POLLWRNORM) as u32, libc::POLLERR as u32)
        };
        let avail_min = c.sw.avail_min.max(1);
        match c.state() {
            state::RUNNING | state::PREPARED | state::PAUSED => {
                let (_, _, avail, _) = c.pointers();
                if avail >= avail_min {
                    want & events
                } else {
                    0
                }
            }
            state::DRAINING => 0,
            _ => (want & events) | err,
        }
    }

    fn hw_params(&self, c: &mut Client, input: &[u8], choose: bool) -> Result<(i32, Vec<u8>), Errno> {
        let mut p = HwParams::read_from_bytes(input).map_err(|_| libc::EFAULT)?;
        let caps = capabilities(self.mixer_period());
        if !choose {
            hw_params::refine(&mut p, &caps).map_err(|_| libc::EINVAL)?;
            return Ok((0, p.as_bytes().to_vec()));
        }
        if matches!(c.state(), state::RUNNING | state::DRAINING | state::PAUSED) {
            return Err(libc::EBADFD);
        }
        let setup = hw_params::choose(&mut p, &caps).map_err(|_| libc::EINVAL)?;
        c.stream = None;
        c.setup = Some(setup);
        c.stopped = false;
        c.sw = default_sw(&setup);
        Ok((0, p.as_bytes().to_vec()))
    }

    fn prepare(&self, c: &mut Client) -> Result<(), Errno> {
        let setup = c.setup.ok_or(libc::EBADFD)?;
        if let Some(nb) = self.nonblocking_now(c.pid) {
            c.nonblock = nb;
        }
        let format = mixer_format(setup.format).ok_or(libc::EINVAL)?;
        let buffer = setup.buffer_size as usize;
        let (avail_min, start_threshold, stop_on_xrun) = thresholds(&c.sw, buffer);
        let params = StreamParams {
            format,
            rate: setup.rate,
            channels: setup.channels as u16,
            buffer_frames: buffer,
            avail_min,
            start_threshold,
            stop_on_xrun,
        };
        let same = match &c.stream {
            Some(Stream::Play(p)) => p.params() == params,
            Some(Stream::Cap(s)) => s.params() == params,
            None => false,
        };
        if same {
            match &mut c.stream {
                Some(Stream::Play(p)) => p.reset(Duration::from_secs(1)).map_err(|_| libc::EIO)?,
                Some(Stream::Cap(s)) => s.reset(),
                None => {}
            }
        } else {
            c.stream = None; // the old client leaves the engine first
            let e = &self.card.engine;
            c.stream = Some(if self.capture() {
                Stream::Cap(e.capture(params).map_err(|err| {
                    log::warn!("{}: {err}", self.node);
                    libc::EBUSY
                })?)
            } else {
                Stream::Play(e.playback(params).map_err(|err| {
                    log::warn!("{}: {err}", self.node);
                    libc::EBUSY
                })?)
            });
        }
        c.origin = match &c.stream {
            Some(Stream::Play(p)) => p.appl_ptr(),
            Some(Stream::Cap(s)) => s.appl_ptr(),
            None => 0,
        };
        c.stopped = false;
        c.forced_xrun = false;
        c.device_delay = if self.capture() { 0 } else { self.card.engine.playback_ahead(setup.rate) };
        Ok(())
    }

    /// WRITEI/READI's last round: move the frames in `data` (playback) or
    /// into a buffer of `frames` (capture); returns frames and captured bytes.
    fn transfer(
        &self,
        client: &Mutex<Client>,
        req: &Request,
        data: &[u8],
        frames: usize,
    ) -> Result<(usize, Vec<u8>), Errno> {
        let deadline = Instant::now() + BLOCK_LIMIT;
        let mut done = 0usize;
        let mut out = Vec::new();
        loop {
            let nonblock;
            {
                let mut c = lock(client);
                let fb = c.frame_bytes();
                match c.state() {
                    state::PREPARED | state::RUNNING => {}
                    state::XRUN => return if done > 0 { Ok((done, out)) } else { Err(libc::EPIPE) },
                    state::PAUSED | state::DRAINING if done == 0 => return Err(libc::EBADFD),
                    state::OPEN | state::SETUP => return Err(libc::EBADFD),
                    _ => return Ok((done, out)),
                }
                nonblock = c.nonblock;
                let n = match c.stream.as_mut() {
                    Some(Stream::Play(p)) => p.write(&data[done * fb..frames * fb]).map_err(|_| libc::EPIPE)?,
                    Some(Stream::Cap(s)) => {
                        let mut buf = vec![0u8; (frames - done) * fb];
                        let n = s.read(&mut buf).map_err(|_| libc::EPIPE)?;
                        out.extend_from_slice(&buf[..n * fb]);
                        n
                    }
                    None => return Err(libc::EBADFD),
                };
                done += n;
                if n > 0 && c.trigger == Timespec::default() {
                    c.trigger = now();
                }
            }
            if done == frames {
                return Ok((done, out));
            }
            let mut give_up = |e: Errno| if done > 0 { Ok((done, std::mem::take(&mut out))) } else { Err(e) };
            if nonblock {
                // The flags seen at PREPARE may be stale: alsa-lib (and
                // GStreamer) open non-blocking and clear the flag after the
                // implicit PREPARE of HW_PARAMS. Look again before EAGAIN.
                let mut c = lock(client);
                match self.nonblocking_now(c.pid) {
                    Some(false) => c.nonblock = false,
                    _ => return give_up(libc::EAGAIN),
                }
            }
            if req.interrupt.is_set() {
                return give_up(libc::EINTR);
            }
            if Instant::now() >= deadline {
                return give_up(libc::EIO);
            }
            std::thread::sleep(POLL_STEP);
        }
    }

    /// WRITEI / READI in rounds: the argument, then the argument and its
    /// samples (or room for them), then done.
    fn xfer(&self, req: &Request, fh: u64, call: &IoctlCall<'_>, compat: bool) -> Result<IoctlReply, Errno> {
        let write = matches!(call.cmd, PCM_IOCTL_WRITEI_FRAMES | compat32::WRITEI);
        let (arg, x) = match xfer_arg(call, compat)? {
            Ok(got) => got,
            Err(ask) => return Ok(ask),
        };
        let arg_len = arg.len;
        let encode = |result: i64| xfer_encode(&x, result, compat);
        let client = self.client(fh)?;
        let fb = lock(&client).frame_bytes();
        match lock(&client).setup {
            None => return Err(libc::EBADFD),
            // The kernel's snd_pcm_lib_write/read: the other access is EINVAL.
            Some(s) if s.access != ACCESS_RW_INTERLEAVED => return Err(libc::EINVAL),
            Some(_) => {}
        }
        let frames = (x.frames as usize).min(WINDOW / fb);
        let bytes = frames * fb;
        if frames == 0 {
            return Ok(IoctlReply::Done { result: 0, out: encode(0) });
        }
        if write {
            if call.input.len() < arg_len + bytes {
                let samples = UserRange { addr: x.buf, len: bytes };
                return Ok(IoctlReply::Retry { input: vec![arg, samples], output: vec![arg] });
            }
            let (n, _) = self.transfer(&client, req, &call.input[arg_len..arg_len + bytes], frames)?;
            Ok(IoctlReply::Done { result: 0, out: encode(n as i64) })
        } else {
            if call.out_size < arg_len + bytes {
                let room = UserRange { addr: x.buf, len: bytes };
                return Ok(IoctlReply::Retry { input: vec![arg], output: vec![arg, room] });
            }
            let (n, data) = self.transfer(&client, req, &[], frames)?;
            let mut out = encode(n as i64);
            out.extend_from_slice(&data);
            Ok(IoctlReply::Done { result: 0, out })
        }
    }

    /// WRITEN / READN (non-interleaved access) in rounds: the argument; the
    /// argument and its array of channel pointers; then those and each
    /// channel's samples (or room for them). The samples are interleaved
    /// into the same transfer as WRITEI/READI's. A null channel pointer is
    /// silence (write) or thrown away (read), as in the kernel.
    fn xfern(&self, req: &Request, fh: u64, call: &IoctlCall<'_>, compat: bool) -> Result<IoctlReply, Errno> {
        // snd_xfern's pointer is the table of channel pointers (8 or 4
        // bytes each).
        let write = matches!(call.cmd, PCM_IOCTL_WRITEN_FRAMES | compat32::WRITEN);
        let ptr = if compat { 4 } else { 8 };
        let (arg, x) = match xfer_arg(call, compat)? {
            Ok(got) => got,
            Err(ask) => return Ok(ask),
        };
        let arg_len = arg.len;
        let encode = |result: i64| xfer_encode(&x, result, compat);
        let client = self.client(fh)?;
        let (setup, fb) = {
            let c = lock(&client);
            (c.setup.ok_or(libc::EBADFD)?, c.frame_bytes())
        };
        if setup.access != ACCESS_RW_NONINTERLEAVED {
            return Err(libc::EINVAL);
        }
        let format = mixer_format(setup.format).ok_or(libc::EINVAL)?;
        let channels = setup.channels as usize;
        let sb = format.bytes();
        let table = UserRange { addr: x.buf, len: channels * ptr };
        if call.input.len() < arg_len + table.len {
            return Ok(IoctlReply::Retry { input: vec![arg, table], output: vec![arg] });
        }
        let bufs: Vec<u64> = call.input[arg_len..arg_len + table.len]
            .chunks_exact(ptr)
            .map(|c| {
                let mut b = [0u8; 8];
                b[..ptr].copy_from_slice(c);
                u64::from_le_bytes(b)
            })
            .collect();
        let frames = (x.frames as usize).min(WINDOW / fb);
        if frames == 0 {
            return Ok(IoctlReply::Done { result: 0, out: encode(0) });
        }
        let rooms: Vec<UserRange> =
            bufs.iter().filter(|&&b| b != 0).map(|&b| UserRange { addr: b, len: frames * sb }).collect();
        let head = arg_len + table.len;
        if write {
            if call.input.len() < head + rooms.len() * frames * sb {
                let input = [vec![arg, table], rooms].concat();
                return Ok(IoctlReply::Retry { input, output: vec![arg] });
            }
            let mut silence = vec![0u8; sb];
            outboard_mixer::format::encode(format, &[0.0], &mut silence);
            let mut data = vec![0u8; frames * fb];
            let mut from = call.input[head..].chunks_exact(frames * sb);
            for (ch, &b) in bufs.iter().enumerate() {
                let samples = if b != 0 { from.next() } else { None };
                for (i, frame) in data.chunks_exact_mut(fb).enumerate() {
                    let dst = &mut frame[ch * sb..(ch + 1) * sb];
                    dst.copy_from_slice(samples.map_or(&silence[..], |s| &s[i * sb..(i + 1) * sb]));
                }
            }
            let (n, _) = self.transfer(&client, req, &data, frames)?;
            Ok(IoctlReply::Done { result: 0, out: encode(n as i64) })
        } else {
            if call.out_size < arg_len + rooms.len() * frames * sb {
                return Ok(IoctlReply::Retry { input: vec![arg, table], output: [vec![arg], rooms].concat() });
            }
            let (n, data) = self.transfer(&client, req, &[], frames)?;
            let mut out = encode(n as i64);
            // Each channel's room is filled whole (the reply fills the rooms
            // in order); past a short count it gets silence.
            let mut silence = vec![0u8; sb];
            outboard_mixer::format::encode(format, &[0.0], &mut silence);
            for (ch, _) in bufs.iter().enumerate().filter(|(_, &b)| b != 0) {
                for i in 0..frames {
                    let at = i * fb + ch * sb;
                    out.extend_from_slice(data.get(at..at + sb).unwrap_or(&silence));
                }
            }
            Ok(IoctlReply::Done { result: 0, out })
        }
    }

    /// An i386 caller's round: its own layouts converted to and from the
    /// 64-bit ones; requests whose layout is the same go the native way.
    fn round32(&self, req: &Request, fh: u64, call: &IoctlCall<'_>) -> Result<IoctlReply, Errno> {
        if matches!(call.cmd, compat32::WRITEI | compat32::READI) {
            return self.xfer(req, fh, call, true);
        }
        if matches!(call.cmd, compat32::WRITEN | compat32::READN) {
            return self.xfern(req, fh, call, true);
        }
        if matches!(call.cmd, compat32::REWIND | compat32::FORWARD) {
            return self.rewind_forward(fh, call, 4);
        }
        if let Some((native, size, conv)) = compat32::pcm_sized(call.cmd) {
            let (need_in, need_out) = outboard_cuse::ioctl_sizes(call.cmd);
            if call.input.len() < need_in || call.out_size < need_out {
                let r = UserRange { addr: call.arg, len: size };
                let input = if need_in > 0 { vec![r] } else { Vec::new() };
                return Ok(IoctlReply::Retry { input, output: vec![r] });
            }
            let input = if need_in > 0 { compat32::to_native(conv, &call.input[..size]) } else { Vec::new() };
            let (result, out) = self.ioctl(req, fh, native, &input)?;
            let mut out = out;
            // The pointers of a 32-bit caller wrap under 2^31.
            if matches!(native, PCM_IOCTL_HW_PARAMS | PCM_IOCTL_SW_PARAMS) {
                let client = self.client(fh)?;
                let mut c = lock(&client);
                if let Some(s) = c.setup {
                    c.sw.boundary = compat32::boundary(u64::from(s.buffer_size));
                    if native == PCM_IOCTL_SW_PARAMS && out.len() >= 72 {
                        out[64..72].copy_from_slice(&c.sw.boundary.to_le_bytes());
                    }
                }
            }
            return Ok(IoctlReply::Done { result, out: compat32::from_native(conv, &out, size) });
        }
        // The same layout at both widths.
        if SAME_LAYOUT.contains(&call.cmd) {
            return match call.cmd {
                PCM_IOCTL_PAUSE | PCM_IOCTL_LINK => {
                    self.ioctl_round(&Request { abi: CallerAbi::Native, ..req.clone() }, fh, call)
                }
                _ => sized_ioctl_round(self, req, fh, call),
            };
        }
        Err(libc::ENOTTY)
    }

    fn drain(&self, client: &Mutex<Client>, req: &Request) -> Result<(), Errno> {
        {
            let mut c = lock(client);
            if let Some(nb) = self.nonblocking_now(c.pid) {
                c.nonblock = nb;
            }
            match c.state() {
                state::OPEN | state::SETUP => return Err(libc::EBADFD),
                state::XRUN => {
                    c.stopped = true;
                    c.forced_xrun = false;
                    if let Some(Stream::Play(p)) = &c.stream {
                        let _ = p.reset(Duration::from_secs(1));
                    }
                    return Ok(());
                }
                _ => {}
            }
            match &mut c.stream {
                Some(Stream::Cap(s)) => {
                    // Capture: stop.
                    s.reset();
                    c.stopped = true;
                    return Ok(());
                }
                Some(Stream::Play(p)) => {
                    if p.state() == StreamState::Paused {
                        p.pause(false);
                    }
                    p.start_drain();
                }
                None => return Err(libc::EBADFD),
            }
            if c.nonblock {
                c.stopped = true;
                return Err(libc::EAGAIN);
            }
        }
        // Wait for the mixer to take the last sample, then for the device to
        // play what it was given before it (at most its ring), looking for a
        // signal between steps: the drain ends when the last sample left.
        let deadline = Instant::now() + BLOCK_LIMIT + Duration::from_secs(2);
        let mut out_of_mixer: Option<Instant> = None;
        let ring = self
            .card
            .engine
            .playback_config()
            .map(|cfg| cfg.period_time() * cfg.periods as u32)
            .unwrap_or_default()
            .min(Duration::from_secs(2));
        loop {
            {
                let mut c = lock(client);
                let draining = matches!(&c.stream, Some(Stream::Play(p)) if p.state() == StreamState::Draining);
                if !draining {
                    let since = *out_of_mixer.get_or_insert_with(Instant::now);
                    if since.elapsed() >= ring {
                        c.stopped = true;
                        return Ok(());
                    }
                }
            }
            if req.interrupt.is_set() {
                return Err(libc::EINTR);
            }
            if Instant::now() >= deadline {
                return Err(libc::EIO);
            }
            std::thread::sleep(POLL_STEP);
        }
    }
}

/// The software parameters the kernel sets at HW_PARAMS.
fn default_sw(s: &Setup) -> SwParams {
    let buffer = u64::from(s.buffer_size);
    SwParams {
        avail_min: u64::from(s.period_size),
        start_threshold: 1,
        stop_threshold: buffer,
        boundary: boundary(buffer),
        proto: PCM_VERSION,
        ..SwParams::default()
    }
}

/// The pointers' wrap point: the buffer size times the largest power of two
/// that keeps it under LONG_MAX minus a buffer (the kernel's rule).
fn boundary(buffer: u64) -> u64 {
    let mut b = buffer.max(1);
    while b * 2 <= (i64::MAX as u64) - buffer {
        b *= 2;
    }
    b
}

fn int_reply(v: i32) -> Result<(i32, Vec<u8>), Errno> {
    Ok((0, v.to_le_bytes().to_vec()))
}

impl Pcm {
    fn native_round(&self, req: &Request, fh: u64, call: &IoctlCall<'_>) -> Result<IoctlReply, Errno> {
        // An unknown request: ENOTTY at once, without asking for the caller's memory.
        if !IOCTLS.contains(&call.cmd) {
            return Err(libc::ENOTTY);
        }
        let done = |result: i32| Ok(IoctlReply::Done { result, out: Vec::new() });
        match call.cmd {
            PCM_IOCTL_WRITEI_FRAMES | PCM_IOCTL_READI_FRAMES => self.xfer(req, fh, call, false),
            PCM_IOCTL_WRITEN_FRAMES | PCM_IOCTL_READN_FRAMES => self.xfern(req, fh, call, false),
            // PAUSE and LINK pass a value, not a pointer.
            PCM_IOCTL_PAUSE => {
                let client = self.client(fh)?;
                let c = lock(&client);
                let on = call.arg != 0;
                match (&c.stream, c.state()) {
                    (Some(Stream::Play(p)), state::RUNNING) if on => p.pause(true),
                    (Some(Stream::Play(p)), state::PAUSED) if !on => p.pause(false),
                    (Some(Stream::Cap(s)), state::RUNNING) if on => s.pause(true),
                    (Some(Stream::Cap(s)), state::PAUSED) if !on => s.pause(false),
                    _ => return Err(libc::EBADFD),
                }
                done(0)
            }
            PCM_IOCTL_LINK => Err(libc::EBADFD),
            PCM_IOCTL_REWIND | PCM_IOCTL_FORWARD => self.rewind_forward(fh, call, 8),
            _ => sized_ioctl_round(self, req, fh, call),
        }
    }
}

impl Handler for Pcm {
    fn open(&self, req: &Request, flags: u32) -> Result<u64, Errno> {
        let admitted = self.limits.get_or_init(Limits::none).admit(req.uid).map_err(|e| {
            log::warn!("{}: pid {} refused: {e}", self.node, req.pid);
            libc::EBUSY
        })?;
        let mut next = lock(&self.next_fh);
        let fh = *next;
        *next += 1;
        let client = Client {
            pid: req.pid,
            setup: None,
            sw: SwParams::default(),
            stream: None,
            nonblock: flags & libc::O_NONBLOCK as u32 != 0,
            stopped: false,
            forced_xrun: false,
            device_delay: 0,
            origin: 0,
            trigger: Timespec::default(),
            _admitted: admitted,
        };
        lock(&self.opens).insert(fh, Arc::new(Mutex::new(client)));
        lock(&self.listed).insert(fh, Listed { pid: req.pid, format: "-".into(), xruns: 0 });
        Ok(fh)
    }

    fn release(&self, _req: &Request, fh: u64) {
        // Dropping the client's stream hands its engine slot back.
        let mut listed = lock(&self.listed);
        lock(&self.opens).remove(&fh);
        listed.remove(&fh);
        drop(listed);
        self.wakers.forget(fh);
    }

    fn read(&self, _req: &Request, _fh: u64, _size: u32, _flags: u32) -> Result<Vec<u8>, Errno> {
        // ALSA moves samples with READI, not read(2).
        Err(libc::EINVAL)
    }

    fn write(&self, _req: &Request, _fh: u64, _data: &[u8], _flags: u32) -> Result<u32, Errno> {
        Err(libc::EINVAL)
    }

    fn poll(&self, req: &Request, fh: u64, events: u32, waker: Option<PollWaker>) -> Result<u32, Errno> {
        let client = self.client(fh)?;
        // Poll is answered on the node's request loop: a client busy in a
        // request of its own (a blocking drain, say) is not ready now, and
        // must not hold up every other client's requests.
        let ready = lock_now(&client).map_or(0, |c| {
            let ready = self.ready(&c, events);
            if log::log_enabled!(log::Level::Trace) {
                log::trace!(
                    "{} pid {} fh {fh} at {}: poll {events:#x} -> {ready:#x}; (state, (appl, hw, avail, delay)) {:?}",
                    self.node,
                    req.pid,
                    trace_time(),
                    (state_name(c.state()), c.pointers())
                );
            }
            ready
        });
        if ready == 0 {
            if let Some(w) = waker {
                self.wakers.keep(fh, events, w);
            }
        }
        Ok(ready)
    }

    /// Answered on the node's reading thread: the status and pointer
    /// requests (alsa-lib without mmap sends a SYNC_PTR around nearly every
    /// call) and a transfer's rounds before its last, which only ask for
    /// the caller's memory. A transfer's last round (it may wait for room
    /// or data) and DRAIN go to a request thread.
    fn answers_at_once(&self, call: &IoctlCall<'_>) -> bool {
        match call.cmd {
            PCM_IOCTL_WRITEI_FRAMES
            | PCM_IOCTL_READI_FRAMES
            | PCM_IOCTL_WRITEN_FRAMES
            | PCM_IOCTL_READN_FRAMES
            | compat32::WRITEI
            | compat32::READI
            | compat32::WRITEN
            | compat32::READN => {
                let (i, o) = outboard_cuse::ioctl_sizes(call.cmd);
                let arg = i.max(o);
                call.input.len() <= arg && call.out_size <= arg
            }
            PCM_IOCTL_SYNC_PTR
            | PCM_IOCTL_STATUS
            | PCM_IOCTL_STATUS_EXT
            | PCM_IOCTL_DELAY
            | PCM_IOCTL_HWSYNC
            | compat32::SYNC_PTR
            | compat32::STATUS
            | compat32::STATUS_T64
            | compat32::STATUS_EXT
            | compat32::STATUS_EXT_T64
            | compat32::DELAY => true,
            _ => outboard_cuse::only_asks_for_argument(call),
        }
    }

    fn ioctl_round(&self, req: &Request, fh: u64, call: &IoctlCall<'_>) -> Result<IoctlReply, Errno> {
        match req.abi {
            CallerAbi::Native => {}
            CallerAbi::Ilp32 => return self.round32(req, fh, call),
            // x32 programs (4-byte longs, 8-byte aligned long longs) are not served.
            CallerAbi::X32 => return Err(libc::ENOTTY),
        }
        let reply = self.native_round(req, fh, call);
        // RUST_LOG=outboard_alsa=trace: each finished request with the
        // stream's pointers after it (what a misbehaving program saw).
        if log::log_enabled!(log::Level::Trace) && !matches!(reply, Ok(IoctlReply::Retry { .. })) {
            let seen = self.client(fh).ok().and_then(|c| {
                let c = c.try_lock().ok()?;
                Some((state_name(c.state()), c.pointers()))
            });
            let result = match &reply {
                Ok(IoctlReply::Done { result, .. }) => format!("{result}"),
                Ok(IoctlReply::Retry { .. }) => String::new(),
                Err(e) => format!("errno {e}"),
            };
            log::trace!(
                "{} pid {} fh {fh} at {}: ioctl {:#x} -> {result}; (state, (appl, hw, avail, delay)) {seen:?}",
                self.node,
                req.pid,
                trace_time(),
                call.cmd
            );
        }
        reply
    }

    fn ioctl(&self, req: &Request, fh: u64, cmd: u32, input: &[u8]) -> Result<(i32, Vec<u8>), Errno> {
        let client = self.client(fh)?;
        match cmd {
            PCM_IOCTL_PVERSION => int_reply(PCM_VERSION as i32),
            PCM_IOCTL_INFO => {
                let info = pcm_info(&self.card, self.stream).ok_or(libc::ENXIO)?;
                Ok((0, info.as_bytes().to_vec()))
            }
            PCM_IOCTL_USER_PVERSION | PCM_IOCTL_TSTAMP | PCM_IOCTL_TTSTAMP => Ok((0, Vec::new())),
            PCM_IOCTL_HW_REFINE => self.hw_params(&mut lock(&client), input, false),
            PCM_IOCTL_HW_PARAMS => {
                let mut c = lock(&client);
                let done = self.hw_params(&mut c, input, true);
                self.remember(fh, &c);
                done
            }
            PCM_IOCTL_HW_FREE => {
                let mut c = lock(&client);
                if matches!(c.state(), state::RUNNING | state::DRAINING | state::PAUSED) {
                    return Err(libc::EBADFD);
                }
                c.stream = None;
                c.setup = None;
                self.remember(fh, &c);
                Ok((0, Vec::new()))
            }
            PCM_IOCTL_SW_PARAMS => {
                let mut c = lock(&client);
                let setup = c.setup.ok_or(libc::EBADFD)?;
                let mut sw = SwParams::read_from_bytes(input).map_err(|_| libc::EFAULT)?;
                let buffer = u64::from(setup.buffer_size);
                if sw.avail_min == 0 || sw.silence_size > buffer || sw.silence_threshold > buffer {
                    return Err(libc::EINVAL);
                }
                sw.boundary = boundary(buffer);
                c.sw = sw;
                // As the kernel: the new thresholds hold at once, also for a
                // stream HW_PARAMS' implicit PREPARE made with the defaults
                // (GStreamer's start threshold of a whole buffer would
                // otherwise be 1 frame, and its first write underrun).
                c.apply_thresholds();
                Ok((0, sw.as_bytes().to_vec()))
            }
            PCM_IOCTL_STATUS | PCM_IOCTL_STATUS_EXT => Ok((0, lock(&client).status().as_bytes().to_vec())),
            PCM_IOCTL_DELAY => {
                let c = lock(&client);
                match c.state() {
                    state::XRUN => Err(libc::EPIPE),
                    state::OPEN | state::SETUP => Err(libc::EBADFD),
                    _ => Ok((0, c.pointers().3.to_le_bytes().to_vec())),
                }
            }
            PCM_IOCTL_HWSYNC => match lock(&client).state() {
                state::XRUN => Err(libc::EPIPE),
                state::OPEN | state::SETUP => Err(libc::EBADFD),
                _ => Ok((0, Vec::new())),
            },
            PCM_IOCTL_SYNC_PTR => {
                let mut c = lock(&client);
                let mut s = SyncPtr::read_from_bytes(input).map_err(|_| libc::EFAULT)?;
                if s.flags & SYNC_PTR_AVAIL_MIN == 0 && s.control.avail_min > 0 && s.control.avail_min != c.sw.avail_min
                {
                    c.sw.avail_min = s.control.avail_min;
                    c.apply_thresholds();
                }
                // appl_ptr moves only through WRITEI/READI here (no mmap):
                // a pushed one (flags without _APPL) is the caller's copy of ours.
                let (appl, hw, _, _) = c.pointers();
                s.status.state = c.state();
                s.status.hw_ptr = hw;
                s.status.tstamp = now();
                s.status.suspended_state = 0;
                s.status.audio_tstamp = s.status.tstamp;
                s.control.appl_ptr = appl;
                s.control.avail_min = c.sw.avail_min;
                Ok((0, s.as_bytes().to_vec()))
            }
            PCM_IOCTL_PREPARE => {
                let mut c = lock(&client);
                if matches!(c.state(), state::OPEN) {
                    return Err(libc::EBADFD);
                }
                self.prepare(&mut c)?;
                Ok((0, Vec::new()))
            }
            PCM_IOCTL_RESET => {
                let mut c = lock(&client);
                match &mut c.stream {
                    Some(Stream::Play(p)) => {
                        let running = p.state() == StreamState::Running;
                        p.reset(Duration::from_secs(1)).map_err(|_| libc::EIO)?;
                        if running {
                            p.start();
                        }
                    }
                    Some(Stream::Cap(s)) => {
                        let running = s.state() == StreamState::Running;
                        s.reset();
                        if running {
                            s.start();
                        }
                    }
                    None => return Err(libc::EBADFD),
                }
                Ok((0, Vec::new()))
            }
            PCM_IOCTL_START => {
                let mut c = lock(&client);
                if c.state() != state::PREPARED {
                    return Err(libc::EBADFD);
                }
                match &c.stream {
                    Some(Stream::Play(p)) if p.delay() == 0 => return Err(libc::EPIPE),
                    Some(Stream::Play(p)) => p.start(),
                    Some(Stream::Cap(s)) => s.start(),
                    None => return Err(libc::EBADFD),
                }
                c.trigger = now();
                Ok((0, Vec::new()))
            }
            PCM_IOCTL_DROP => {
                let mut c = lock(&client);
                if matches!(c.state(), state::OPEN | state::SETUP) {
                    return Err(libc::EBADFD);
                }
                match &mut c.stream {
                    Some(Stream::Play(p)) => p.reset(Duration::from_secs(1)).map_err(|_| libc::EIO)?,
                    Some(Stream::Cap(s)) => s.reset(),
                    None => {}
                }
                c.stopped = true;
                c.forced_xrun = false;
                c.trigger = now();
                Ok((0, Vec::new()))
            }
            PCM_IOCTL_DRAIN => self.drain(&client, req).map(|()| (0, Vec::new())),
            PCM_IOCTL_XRUN => {
                let mut c = lock(&client);
                match c.state() {
                    state::RUNNING | state::PREPARED | state::PAUSED | state::DRAINING => {
                        c.forced_xrun = true;
                        c.trigger = now();
                        Ok((0, Vec::new()))
                    }
                    state::XRUN => Ok((0, Vec::new())),
                    _ => Err(libc::EBADFD),
                }
            }
            PCM_IOCTL_RESUME => Err(libc::ENOSYS),
            PCM_IOCTL_UNLINK => Err(libc::EALREADY),
            PCM_IOCTL_CHANNEL_INFO => Err(libc::ENXIO),
            _ => Err(libc::ENOTTY),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outboard_clients_shows_an_open_busy_in_a_request_as_last_seen() {
        use outboard_mixer::devices::{MemoryDevice, Pacing};
        use outboard_mixer::pcm::PcmConfig;
        use zerocopy::FromZeros;
        let cfg = PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: 256, periods: 4 };
        let engine = Arc::new(
            outboard_mixer::engine::Engine::start(Box::new(MemoryDevice::null(cfg, Pacing::RealTime))).unwrap(),
        );
        let card = Card { number: 0, id: "T".into(), name: "t".into(), engine, hw: None };
        let pcm = Pcm::new(card, false, "/dev/snd/pcmC0D0p");
        let req = Request::new(1, 4242, 0, 0);
        let fh = pcm.open(&req, 0).unwrap();
        let mut p = HwParams::new_zeroed();
        for m in &mut p.masks {
            m.bits = [u32::MAX; 8];
        }
        for i in &mut p.intervals {
            *i = Interval { min: 0, max: u32::MAX, flags: 0 };
        }
        p.masks[hw_params::param::FORMAT].bits = [1 << 2, 0, 0, 0, 0, 0, 0, 0];
        p.intervals[hw_params::param::CHANNELS - 8] = Interval { min: 2, max: 2, flags: 0 };
        p.intervals[hw_params::param::RATE - 8] = Interval { min: 48_000, max: 48_000, flags: 0 };
        pcm.ioctl(&req, fh, PCM_IOCTL_HW_PARAMS, p.as_bytes()).unwrap();
        let want = (4242, "S16Le 48000 Hz 2 ch".to_string(), "setup".to_string());
        let shown = |pcm: &Pcm| pcm.clients().into_iter().map(|c| (c.pid, c.format, c.state)).collect::<Vec<_>>();
        assert_eq!(shown(&pcm), std::slice::from_ref(&want));
        // The open busy in a request (its lock held): the same pid and format.
        let client = pcm.client(fh).unwrap();
        let busy = client.lock().unwrap();
        assert_eq!(shown(&pcm), [(want.0, want.1.clone(), "running".to_string())]);
        drop(busy);
        pcm.release(&req, fh);
        assert!(pcm.clients().is_empty());
        assert!(lock(&pcm.listed).is_empty(), "nothing kept of a released open");
    }

    #[test]
    fn the_boundary_is_a_power_of_two_times_the_buffer_under_long_max() {
        let b = boundary(4096);
        assert_eq!(b % 4096, 0);
        assert!((b / 4096).is_power_of_two());
        assert!(b * 2 > (i64::MAX as u64) - 4096);
    }

    #[test]
    fn every_format_offered_has_its_width() {
        let caps = capabilities(std::time::Duration::ZERO);
        let s16 = caps.formats.iter().find(|f| f.number == 2).unwrap();
        assert_eq!((s16.physical_bits, s16.significant_bits), (16, 16));
        let s24 = caps.formats.iter().find(|f| f.number == 6).unwrap();
        assert_eq!((s24.physical_bits, s24.significant_bits), (32, 24));
        let s24_3 = caps.formats.iter().find(|f| f.number == 32).unwrap();
        assert_eq!(s24_3.physical_bits, 24);
    }
}
