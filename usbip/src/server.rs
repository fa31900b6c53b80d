//! One USB/IP session: the device side of the data phase, over a connected
//! stream socket, for any [`UsbFunction`].
//!
//! One thread does it all: it waits for the socket to be readable or for the
//! next completion to be due, takes USBIP_CMD_SUBMIT / USBIP_CMD_UNLINK in,
//! keeps one queue per endpoint and writes every reply (no hand-over between
//! threads: in an emulated guest each wake-up is dear, and a stream makes
//! thousands a second). Control requests are answered at once. Isochronous URBs complete in real time on a monotonic schedule per
//! endpoint: a URB of N packets at interval I starts at the next (micro)frame
//! or where the endpoint's previous URB ended, whichever is later, and
//! completes N×I (micro)frames after its start. A stream therefore runs at the
//! bus's rate however far ahead the host submits. Interrupt and bulk IN URBs
//! are polled once per interval until the function has data (an empty answer
//! is a NAK).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use outboard_hal::usb::descriptors::configurations;
use outboard_hal::usb::mem::UsbFunction;
use outboard_hal::usb::{Speed, Transfer, TransferKind, TransferStatus};

use super::ep0::{parse_setup, Ep0};
use super::reader::{Command, Incoming, ReadOutcome, Submit};
use super::wire::{self, Be32, HeaderBasic, IsoPacketDescriptor, RetSubmit, RetUnlink, Wire};
use super::{Error, Result};

/// Longest a reply may wait for the peer to read.
const WRITE_DEADLINE: Duration = Duration::from_secs(5);
/// How often an idle session looks at the stop flag.
const IDLE_POLL: Duration = Duration::from_millis(50);

/// A connected stream socket the server can run over.
pub trait Socket: Read + Write + AsRawFd + Send + Sized + 'static {
    fn set_timeouts(&self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()>;
    fn shutdown_both(&self);
}

impl Socket for UnixStream {
    fn set_timeouts(&self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(read)?;
        self.set_write_timeout(write)
    }
    fn shutdown_both(&self) {
        let _ = self.shutdown(std::net::Shutdown::Both);
    }
}

impl Socket for std::net::TcpStream {
    fn set_timeouts(&self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(read)?;
        self.set_write_timeout(write)
    }
    fn shutdown_both(&self) {
        let _ = self.shutdown(std::net::Shutdown::Both);
    }
}

/// What one endpoint has moved (completed URBs only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// URBs taken in, and of those still queued.
    pub submitted: u64,
    pub in_flight: u64,
    /// When the oldest queued URB completes (interrupt/bulk IN: is polled next).
    pub next_completion: Option<Instant>,
    /// Isochronous URBs that could not follow the previous one on the bus:
    /// the host submitted it after the endpoint's schedule had run dry (an
    /// underrun on a real bus, or a stream started again), so the stream
    /// restarted at the next (micro)frame.
    pub gaps: u64,
    /// URBs completed.
    pub urbs: u64,
    /// Isochronous packets.
    pub packets: u64,
    /// Payload bytes (isochronous: the packets' actual lengths).
    pub bytes: u64,
    /// Isochronous packets that completed with an error status.
    pub packet_errors: u64,
    /// Bus time the completed isochronous URBs covered (N × interval each).
    pub bus_time: Duration,
}

/// Counters of a session.
#[derive(Clone, Debug, Default)]
pub struct SessionStats {
    pub control_requests: u64,
    /// Control requests that ended in an error (STALL).
    pub control_errors: u64,
    /// URBs cancelled by USBIP_CMD_UNLINK before they completed.
    pub unlinked: u64,
    /// By endpoint address (bit 7 = IN).
    pub endpoints: BTreeMap<u8, EndpointStats>,
}

/// Why a session ended without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// The peer closed the connection (vhci-hcd does on detach).
    PeerClosed,
    /// [`ServerHandle::stop`] was called.
    Stopped,
}

struct Shared {
    stop: AtomicBool,
    stats: Mutex<SessionStats>,
}

/// Stops a running server and reads its counters; cheap to clone.
#[derive(Clone)]
pub struct ServerHandle(Arc<Shared>);

impl ServerHandle {
    /// End the session: the socket is closed, which the peer sees as an unplug.
    pub fn stop(&self) {
        self.0.stop.store(true, Ordering::SeqCst);
    }
    pub fn stats(&self) -> SessionStats {
        self.0.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A USB/IP server for one emulated function.
pub struct Server {
    function: Box<dyn UsbFunction>,
    speed: Speed,
    shared: Arc<Shared>,
}

impl Server {
    /// Serve `function` as a device of this bus speed (it sets the
    /// (micro)frame length isochronous intervals count in).
    pub fn new(function: Box<dyn UsbFunction>, speed: Speed) -> Server {
        let shared = Arc::new(Shared { stop: AtomicBool::new(false), stats: Mutex::new(SessionStats::default()) });
        Server { function, speed, shared }
    }

    pub fn handle(&self) -> ServerHandle {
        ServerHandle(self.shared.clone())
    }

    /// Run the session until the peer closes the connection or the handle
    /// stops it. A malformed or unexpected message ends it with an error.
    /// The socket is shut down on return, so the peer sees the device go.
    pub fn run<S: Socket>(self, socket: S) -> Result<SessionEnd> {
        let io_err = |what: &str| {
            let what = what.to_string();
            move |source| Error::Io { what, source }
        };
        // Reads follow a poll that found data; the timeout only guards
        // against a spurious wake-up blocking the session.
        socket.set_timeouts(Some(IDLE_POLL), Some(WRITE_DEADLINE)).map_err(io_err("setting socket timeouts"))?;
        let unit = match self.speed {
            Speed::High | Speed::Super | Speed::SuperPlus => Duration::from_micros(125),
            _ => Duration::from_millis(1),
        };
        let descriptors = self.function.descriptors();
        let mut session = Session {
            function: self.function,
            ep0: Ep0::default(),
            kinds: endpoint_kinds(&descriptors),
            queues: BTreeMap::new(),
            t0: Instant::now(),
            unit,
            frame_mask: if unit < Duration::from_millis(1) { 0x3fff } else { 0x7ff },
            socket,
            incoming: Incoming::default(),
            peer_gone: false,
            shared: self.shared.clone(),
        };
        let result = session.run();
        match &result {
            Ok(end) => log::info!("usbip: session ended ({end:?})"),
            Err(e) => log::error!("usbip: session ended: {e}"),
        }
        session.socket.shutdown_both();
        result
    }
}

/// Each endpoint address's transfer type, over every configuration and alt setting.
fn endpoint_kinds(descriptors: &[u8]) -> HashMap<u8, TransferKind> {
    let mut kinds = HashMap::new();
    for config in configurations(descriptors) {
        for alt in &config.interfaces {
            for ep in &alt.endpoints {
                let kind = match ep.transfer_type() {
                    1 => TransferKind::Isochronous,
                    2 => TransferKind::Bulk,
                    3 => TransferKind::Interrupt,
                    _ => continue,
                };
                kinds.insert(ep.address, kind);
            }
        }
    }
    kinds
}

struct Pending {
    submit: Submit,
    kind: TransferKind,
    start_tick: u64,
    /// The (micro)frame at whose start it completes (or is next polled).
    due_tick: u64,
}

#[derive(Default)]
struct EndpointQueue {
    urbs: VecDeque<Pending>,
    /// Where the next URB's schedule starts at the earliest.
    next_free: u64,
    /// Where the last completed URB ended.
    completed_end: u64,
}

struct Session<S: Socket> {
    function: Box<dyn UsbFunction>,
    ep0: Ep0,
    kinds: HashMap<u8, TransferKind>,
    queues: BTreeMap<u8, EndpointQueue>,
    t0: Instant,
    /// One (micro)frame.
    unit: Duration,
    /// Reported start_frame: the frame number's 11 bits (high speed: and the microframe).
    frame_mask: u64,
    socket: S,
    incoming: Incoming,
    /// A write found the peer gone.
    peer_gone: bool,
    shared: Arc<Shared>,
}

/// Wait until `fd` is readable (or hung up), at most `timeout`.
fn wait_readable(fd: RawFd, timeout: Duration) -> io::Result<bool> {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    let ts = libc::timespec {
        tv_sec: timeout.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: libc::c_long::from(timeout.subsec_nanos() as i32),
    };
    // SAFETY: one valid pollfd, a valid timespec, no signal mask; the kernel
    // only writes `revents`.
    let n = unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) };
    match n {
        n if n > 0 => Ok(true),
        0 => Ok(false),
        _ => {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                Ok(false)
            } else {
                Err(e)
            }
        }
    }
}

/// The errno a status is reported as (0 or negative).
pub(crate) fn errno(status: TransferStatus) -> i32 {
    match status {
        TransferStatus::Completed => 0,
        TransferStatus::Cancelled => -libc::ECONNRESET,
        TransferStatus::Stall => -libc::EPIPE,
        TransferStatus::Disconnected => -libc::ESHUTDOWN,
        TransferStatus::Overflow => -libc::EOVERFLOW,
        TransferStatus::Error(e) => -e.abs(),
    }
}

impl<S: Socket> Session<S> {
    fn run(&mut self) -> Result<SessionEnd> {
        loop {
            if self.shared.stop.load(Ordering::SeqCst) {
                return Ok(SessionEnd::Stopped);
            }
            if self.peer_gone {
                return Ok(SessionEnd::PeerClosed);
            }
            self.complete_due()?;
            let wait = match self.queues.values().filter_map(|q| q.urbs.front()).map(|p| p.due_tick).min() {
                Some(t) => self.tick_time(t).saturating_duration_since(Instant::now()).min(IDLE_POLL),
                None => IDLE_POLL,
            };
            let readable = wait_readable(self.socket.as_raw_fd(), wait)
                .map_err(|source| Error::Io { what: "waiting for the peer".into(), source })?;
            if readable {
                if let ReadOutcome::Closed = self.incoming.read_from(&mut self.socket)? {
                    return Ok(SessionEnd::PeerClosed);
                }
            }
            while let Some(command) = self.incoming.next_command()? {
                match command {
                    Command::Submit(s) => self.submit(*s)?,
                    Command::Unlink { seqnum, target } => self.unlink(seqnum, target)?,
                }
            }
        }
    }

    fn now_tick(&self) -> u64 {
        (self.t0.elapsed().as_nanos() / self.unit.as_nanos()) as u64
    }

    fn tick_time(&self, tick: u64) -> Instant {
        self.t0 + Duration::from_nanos((self.unit.as_nanos() as u64).saturating_mul(tick))
    }

    fn stats(&self) -> std::sync::MutexGuard<'_, SessionStats> {
        self.shared.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publish an endpoint's queue (length, next completion); returns the
    /// locked counters for more.
    fn note_queue(&self, address: u8) -> std::sync::MutexGuard<'_, SessionStats> {
        let q = self.queues.get(&address);
        let in_flight = q.map_or(0, |q| q.urbs.len() as u64);
        let next = q.and_then(|q| q.urbs.front()).map(|p| self.tick_time(p.due_tick));
        let mut stats = self.stats();
        let e = stats.endpoints.entry(address).or_default();
        e.in_flight = in_flight;
        e.next_completion = next;
        stats
    }

    /// Write a reply. A peer that hung up (vhci-hcd does on detach, while
    /// replies may still be on their way) ends the session as closed.
    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        if self.peer_gone {
            return Ok(());
        }
        match self.socket.write_all(bytes) {
            Ok(()) => Ok(()),
            Err(e) if matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset) => {
                log::debug!("usbip: the peer hung up ({e})");
                self.peer_gone = true;
                Ok(())
            }
            Err(source) => Err(Error::Io { what: "writing a reply to the peer".into(), source }),
        }
    }

    fn submit(&mut self, s: Submit) -> Result<()> {
        if s.address & 0x7f == 0 {
            return self.control(s);
        }
        let kind = match self.kinds.get(&s.address) {
            Some(&k) => k,
            None => {
                log::warn!("usbip: URB {} for endpoint {:#04x}, which no descriptor declares", s.seqnum, s.address);
                return self.reply_error(&s, -libc::EPIPE);
            }
        };
        if kind == TransferKind::Isochronous && s.iso.is_empty() {
            log::warn!("usbip: isochronous URB {} without packets", s.seqnum);
            return self.reply_error(&s, -libc::EINVAL);
        }
        let now = self.now_tick();
        let q = self.queues.entry(s.address).or_default();
        let (start_tick, due_tick) = match kind {
            TransferKind::Isochronous => {
                let start = (now + 1).max(q.next_free);
                (start, start + s.iso.len() as u64 * s.interval)
            }
            TransferKind::Interrupt => {
                let due = (now + s.interval).max(q.next_free);
                (due, due)
            }
            TransferKind::Bulk => {
                let due = now.max(q.next_free);
                (due, due)
            }
        };
        let gap = kind == TransferKind::Isochronous && q.next_free != 0 && q.next_free < start_tick;
        q.next_free = due_tick;
        let address = s.address;
        q.urbs.push_back(Pending { submit: s, kind, start_tick, due_tick });
        let mut stats = self.note_queue(address);
        let e = stats.endpoints.entry(address).or_default();
        e.submitted += 1;
        e.gaps += u64::from(gap);
        Ok(())
    }

    fn unlink(&mut self, seqnum: u32, target: u32) -> Result<()> {
        let mut found = None;
        for (&address, q) in self.queues.iter_mut() {
            if let Some(i) = q.urbs.iter().position(|p| p.submit.seqnum == target) {
                q.urbs.remove(i);
                if q.urbs.is_empty() {
                    // A stream stopped: the next one starts from now, not
                    // after URBs that will never run.
                    q.next_free = q.completed_end;
                }
                found = Some(address);
                break;
            }
        }
        if let Some(address) = found {
            self.note_queue(address).unlinked += 1;
        }
        let found = found.is_some();
        log::debug!("usbip: unlink {target}: {}", if found { "cancelled" } else { "already completed" });
        let ret = RetUnlink {
            basic: HeaderBasic::reply(wire::RET_UNLINK, seqnum),
            status: Be32::signed(if found { -libc::ECONNRESET } else { 0 }),
            ..RetUnlink::default()
        };
        self.send(&ret.to_bytes())
    }

    /// Complete every queued URB whose time has come, in time order.
    fn complete_due(&mut self) -> Result<()> {
        loop {
            let now = self.now_tick();
            let next = self
                .queues
                .iter()
                .filter_map(|(&a, q)| q.urbs.front().map(|p| (p.due_tick, a)))
                .filter(|&(due, _)| due <= now)
                .min();
            let Some((_, address)) = next else { return Ok(()) };
            let Some(q) = self.queues.get_mut(&address) else { return Ok(()) };
            let Some(p) = q.urbs.pop_front() else { return Ok(()) };
            match p.kind {
                TransferKind::Isochronous => {
                    q.completed_end = p.due_tick;
                    self.complete_iso(p)?;
                }
                _ => self.complete_other(p)?,
            }
        }
    }

    fn complete_iso(&mut self, p: Pending) -> Result<()> {
        let s = &p.submit;
        let is_in = s.address & 0x80 != 0;
        let lengths: Vec<u32> = s.iso.iter().map(|&(_, l)| l).collect();
        let total: usize = lengths.iter().map(|&l| l as usize).sum();
        let buffer = if is_in {
            vec![0; total]
        } else {
            let mut b = Vec::with_capacity(total);
            for &(off, len) in &s.iso {
                b.extend_from_slice(&s.data[off as usize..(off + len) as usize]);
            }
            b
        };
        let mut t = Transfer::isochronous(s.address, buffer, lengths.clone(), u64::from(s.seqnum));
        self.function.bus_time(p.start_tick, s.interval);
        let (status, results, _) = self.function.transfer(&mut t);
        if results.len() != lengths.len() {
            log::debug!(
                "usbip: endpoint {:#04x}: {} packet results for {} packets ({status:?})",
                s.address,
                results.len(),
                lengths.len()
            );
        }
        let mut descriptors = Vec::with_capacity(s.iso.len() * wire::ISO_DESCRIPTOR_SIZE);
        let mut data_in = Vec::new();
        let (mut actual_total, mut errors, mut pos) = (0u64, 0u64, 0usize);
        for (i, &(offset, length)) in s.iso.iter().enumerate() {
            let (mut actual, st) = match results.get(i) {
                Some(r) => (r.actual_length.min(length), errno(r.status)),
                None if status == TransferStatus::Completed => (0, -libc::EXDEV),
                None => (0, errno(status)),
            };
            if is_in {
                // The function may have resized the buffer: send only what is there.
                match t.buffer.get(pos..pos + actual as usize) {
                    Some(bytes) => data_in.extend_from_slice(bytes),
                    None => actual = 0,
                }
            }
            pos += length as usize;
            actual_total += u64::from(actual);
            errors += u64::from(st != 0);
            let d = IsoPacketDescriptor {
                offset: Be32::new(offset),
                length: Be32::new(length),
                actual_length: Be32::new(actual),
                status: Be32::signed(st),
            };
            descriptors.extend_from_slice(&d.to_bytes());
        }
        let ret = RetSubmit {
            basic: HeaderBasic::reply(wire::RET_SUBMIT, s.seqnum),
            status: Be32::signed(0),
            actual_length: Be32::new(actual_total as u32),
            start_frame: Be32::new((p.start_tick & self.frame_mask) as u32),
            number_of_packets: Be32::signed(s.number_of_packets),
            error_count: Be32::new(errors as u32),
            padding: [0; 8],
        };
        {
            let bus = self.unit * (s.iso.len() as u32) * (s.interval as u32);
            let mut stats = self.note_queue(s.address);
            let e = stats.endpoints.entry(s.address).or_default();
            e.urbs += 1;
            e.packets += s.iso.len() as u64;
            e.bytes += actual_total;
            e.packet_errors += errors;
            e.bus_time += bus;
        }
        let mut msg = ret.to_bytes();
        msg.extend_from_slice(&data_in);
        msg.extend_from_slice(&descriptors);
        self.send(&msg)
    }

    /// Interrupt and bulk: IN polls until the function has something.
    fn complete_other(&mut self, mut p: Pending) -> Result<()> {
        let s = &p.submit;
        let is_in = s.address & 0x80 != 0;
        let buffer = if is_in { vec![0; s.transfer_buffer_length] } else { s.data.clone() };
        let mut t = Transfer { endpoint: s.address, kind: p.kind, buffer, iso_packets: Vec::new(), user_data: 0 };
        let (status, _, actual) = self.function.transfer(&mut t);
        if is_in && status == TransferStatus::Completed && actual == 0 && s.transfer_buffer_length > 0 {
            // NAK: ask again next interval, ahead of anything queued behind it.
            let step = if p.kind == TransferKind::Interrupt { s.interval } else { 1 };
            p.due_tick = self.now_tick() + step;
            let address = s.address;
            let q = self.queues.entry(address).or_default();
            q.next_free = q.next_free.max(p.due_tick);
            q.urbs.push_front(p);
            drop(self.note_queue(address));
            return Ok(());
        }
        let actual = actual.min(s.transfer_buffer_length).min(t.buffer.len());
        {
            let mut stats = self.note_queue(s.address);
            let e = stats.endpoints.entry(s.address).or_default();
            e.urbs += 1;
            e.bytes += actual as u64;
        }
        let ret = RetSubmit {
            basic: HeaderBasic::reply(wire::RET_SUBMIT, s.seqnum),
            status: Be32::signed(errno(status)),
            actual_length: Be32::new(actual as u32),
            number_of_packets: Be32::signed(s.number_of_packets),
            ..RetSubmit::default()
        };
        let mut msg = ret.to_bytes();
        if is_in {
            msg.extend_from_slice(&t.buffer[..actual]);
        }
        self.send(&msg)
    }

    fn control(&mut self, s: Submit) -> Result<()> {
        let setup = parse_setup(&s.setup);
        let is_in = s.address & 0x80 != 0;
        let result = self.ep0.handle(self.function.as_mut(), &setup, &s.data);
        let (status, data) = match result {
            Ok(mut data) if is_in => {
                data.truncate(usize::from(setup.length).min(s.transfer_buffer_length));
                (0, data)
            }
            Ok(_) => (0, Vec::new()),
            Err(st) => {
                log::debug!(
                    "usbip: control {:02x} {:02x} {:04x} {:04x}: {st:?}",
                    setup.request_type,
                    setup.request,
                    setup.value,
                    setup.index
                );
                (errno(st), Vec::new())
            }
        };
        {
            let mut stats = self.stats();
            stats.control_requests += 1;
            stats.control_errors += u64::from(status != 0);
        }
        let actual = if is_in {
            data.len()
        } else if status == 0 {
            s.data.len()
        } else {
            0
        };
        let ret = RetSubmit {
            basic: HeaderBasic::reply(wire::RET_SUBMIT, s.seqnum),
            status: Be32::signed(status),
            actual_length: Be32::new(actual as u32),
            number_of_packets: Be32::signed(s.number_of_packets),
            ..RetSubmit::default()
        };
        let mut msg = ret.to_bytes();
        msg.extend_from_slice(&data);
        self.send(&msg)
    }

    /// Complete a URB at once with an error (isochronous: every packet too).
    fn reply_error(&mut self, s: &Submit, status: i32) -> Result<()> {
        let ret = RetSubmit {
            basic: HeaderBasic::reply(wire::RET_SUBMIT, s.seqnum),
            status: Be32::signed(status),
            number_of_packets: Be32::signed(s.number_of_packets),
            error_count: Be32::new(s.iso.len() as u32),
            ..RetSubmit::default()
        };
        let mut msg = ret.to_bytes();
        for &(offset, length) in &s.iso {
            let d = IsoPacketDescriptor {
                offset: Be32::new(offset),
                length: Be32::new(length),
                actual_length: Be32::new(0),
                status: Be32::signed(status),
            };
            msg.extend_from_slice(&d.to_bytes());
        }
        self.send(&msg)
    }
}
