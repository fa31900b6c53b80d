//! # outboard-cuse: a CUSE protocol server
//!
//! Serves a character device from userspace through `/dev/cuse`: answers
//! CUSE_INIT with the device's name and number, then runs the FUSE request
//! loop (open, read, write, ioctl with FUSE_IOCTL_RETRY round trips for
//! unrestricted ioctls, poll, flush, release), calling a [`Handler`] for each.
//! Requests that may block (read, write, ioctl, release) run on request
//! threads ([`workers`]: reused, one more while all are busy), so one client
//! blocked in a write never stalls another, and a signal to a blocked client
//! (FUSE_INTERRUPT) reaches its handler as [`Request::interrupt`]
//! ([`interrupt`]).
//!
//! Depends on no other Outboard crate.

pub mod abi;
pub mod interrupt;
pub mod pollwatch;
pub mod workers;

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use abi::*;
use interrupt::Inflight;
pub use interrupt::Interrupt;

/// Who asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub unique: u64,
    pub pid: u32,
    pub uid: u32,
    pub gid: u32,
    /// Set when the caller gets a signal while the request runs (requests
    /// that run on their own thread: read, write, ioctl). A handler that
    /// waits checks it and gives up: EINTR, or the count done so far.
    pub interrupt: Interrupt,
    /// The caller's ABI, for ioctls whose structs differ between 64- and
    /// 32-bit processes (`Native` for requests other than ioctl).
    pub abi: CallerAbi,
}

impl Request {
    /// A request from a native caller that is never interrupted.
    pub const fn new(unique: u64, pid: u32, uid: u32, gid: u32) -> Request {
        Request { unique, pid, uid, gid, interrupt: Interrupt::NONE, abi: CallerAbi::Native }
    }
}

/// The ABI of the process that made an ioctl, from fuse_ioctl_in.flags.
/// The ioctl number itself already carries the caller's struct size; this
/// says how the struct is laid out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CallerAbi {
    /// A 64-bit process (LP64: 8-byte longs and pointers).
    #[default]
    Native,
    /// An i386 process (FUSE_IOCTL_32BIT): 4-byte longs and pointers, and
    /// 8-byte integers aligned to 4 in structs.
    Ilp32,
    /// An x32 process (FUSE_IOCTL_32BIT | FUSE_IOCTL_COMPAT_X32): 4-byte
    /// longs and pointers, 8-byte integers aligned to 8.
    X32,
}

impl CallerAbi {
    /// From fuse_ioctl_in.flags (on a 32-bit kernel every caller is Ilp32).
    pub fn from_ioctl_flags(flags: u32) -> CallerAbi {
        if flags & FUSE_IOCTL_COMPAT_X32 != 0 {
            CallerAbi::X32
        } else if flags & FUSE_IOCTL_32BIT != 0 {
            CallerAbi::Ilp32
        } else {
            CallerAbi::Native
        }
    }
}

/// How long an interrupt for a request the server does not know waits
/// before it is answered EAGAIN (the kernel asks again if the request is
/// still pending).
const UNKNOWN_INTERRUPT_DELAY: Duration = Duration::from_millis(50);

/// A positive errno (EINVAL, EAGAIN, ...).
pub type Errno = i32;

/// What a device does with the requests its clients make.
pub trait Handler: Send + Sync + 'static {
    /// A client opens the node; returns its file handle.
    fn open(&self, req: &Request, flags: u32) -> Result<u64, Errno>;
    /// The last reference to an open is gone.
    fn release(&self, req: &Request, fh: u64);
    /// Read up to `size` bytes (`flags`: the file's open flags, O_NONBLOCK among them).
    fn read(&self, req: &Request, fh: u64, size: u32, flags: u32) -> Result<Vec<u8>, Errno>;
    /// Write `data`; returns the bytes taken.
    fn write(&self, req: &Request, fh: u64, data: &[u8], flags: u32) -> Result<u32, Errno>;
    /// An ioctl with the argument's bytes as the caller passed them (for
    /// `_IOW`/`_IOWR`); returns the ioctl's result and the bytes to copy back
    /// (for `_IOR`/`_IOWR`, at most the argument's size).
    fn ioctl(&self, req: &Request, fh: u64, cmd: u32, input: &[u8]) -> Result<(i32, Vec<u8>), Errno>;
    /// One round of an ioctl, for handlers whose arguments point at more
    /// memory than the ioctl number says (a struct holding a buffer's
    /// address): answer [`IoctlReply::Retry`] naming the caller's memory to
    /// read and to write, and the kernel calls again with it. The default
    /// asks for the argument as the command's encoding sizes it, then calls
    /// [`Handler::ioctl`].
    fn ioctl_round(&self, req: &Request, fh: u64, call: &IoctlCall<'_>) -> Result<IoctlReply, Errno> {
        sized_ioctl_round(self, req, fh, call)
    }
    /// Whether this ioctl round is answered without waiting on anything but
    /// a short lock: the server then answers it on its reading thread, with
    /// no hand-over to a request thread (two context switches fewer on each
    /// of a program's many small rounds). A round that may block (a
    /// transfer waiting for room, a drain) must say false: it would hold up
    /// every other request to the node. The default: the first round of a
    /// command whose encoding sizes its argument, which only asks for it.
    fn answers_at_once(&self, call: &IoctlCall<'_>) -> bool {
        only_asks_for_argument(call)
    }
    /// Which of `events` (POLLIN, POLLOUT) are ready. When none are and
    /// `waker` is given, the handler calls [`PollWaker::wake`] once they may
    /// be (the kernel then polls again).
    fn poll(&self, _req: &Request, _fh: u64, events: u32, _waker: Option<PollWaker>) -> Result<u32, Errno> {
        Ok(events)
    }
    /// close() on one of the open's descriptors.
    fn flush(&self, _req: &Request, _fh: u64) -> Result<(), Errno> {
        Ok(())
    }
}

/// One round of an ioctl as the kernel delivers it.
#[derive(Clone, Copy, Debug)]
pub struct IoctlCall<'a> {
    pub cmd: u32,
    /// The caller's argument: a user address (or a value, for ioctls that
    /// pass one).
    pub arg: u64,
    /// The caller's memory asked for in the last round's
    /// [`IoctlReply::Retry`] input ranges, concatenated (empty at first).
    pub input: &'a [u8],
    /// Room for output: the sum of the last round's output ranges.
    pub out_size: usize,
}

/// A range of the caller's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserRange {
    pub addr: u64,
    pub len: usize,
}

/// How a round of an ioctl ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IoctlReply {
    /// The ioctl's result, and the bytes written back across the output
    /// ranges (in order; at most their total).
    Done { result: i32, out: Vec<u8> },
    /// Call again with these ranges: `input` read from the caller, `output`
    /// to be written back. At most [`MAX_IOVS`] ranges, each direction at
    /// most [`MAX_PAYLOAD`] bytes: larger transfers go a window at a time.
    Retry { input: Vec<UserRange>, output: Vec<UserRange> },
}

/// [`Handler::ioctl_round`] for an ioctl whose argument is what its number
/// says (`_IOW`/`_IOR`/`_IOWR` of a size): one retry for the argument, then
/// [`Handler::ioctl`]. Handlers that override `ioctl_round` call this for
/// their other ioctls.
pub fn sized_ioctl_round<H: Handler + ?Sized>(
    handler: &H,
    req: &Request,
    fh: u64,
    call: &IoctlCall<'_>,
) -> Result<IoctlReply, Errno> {
    let (need_in, need_out) = ioctl_sizes(call.cmd);
    if call.input.len() < need_in || call.out_size < need_out {
        let input = if need_in > 0 { vec![UserRange { addr: call.arg, len: need_in }] } else { Vec::new() };
        let output = if need_out > 0 { vec![UserRange { addr: call.arg, len: need_out }] } else { Vec::new() };
        return Ok(IoctlReply::Retry { input, output });
    }
    let (result, mut out) = handler.ioctl(req, fh, call.cmd, &call.input[..need_in])?;
    out.truncate(need_out);
    Ok(IoctlReply::Done { result, out })
}

/// The most ranges a retry may name (FUSE_IOCTL_MAX_IOV).
pub const MAX_IOVS: usize = 256;

/// Wakes a poller: sends FUSE_NOTIFY_POLL for the kernel's poll handle.
#[derive(Clone, Debug)]
pub struct PollWaker {
    dev: Arc<File>,
    kh: u64,
}

impl PollWaker {
    /// Tell the kernel to poll this handle again.
    pub fn wake(&self) {
        let wakeup = PollWakeupOut { kh: self.kh };
        let len = 16 + std::mem::size_of::<PollWakeupOut>();
        // A notification: unique 0, the notify code in the error field.
        let header = OutHeader { len: len as u32, error: FUSE_NOTIFY_POLL, unique: 0 };
        let mut msg = Vec::with_capacity(len);
        msg.extend_from_slice(bytes(&header));
        msg.extend_from_slice(bytes(&wakeup));
        if let Err(e) = (&*self.dev).write(&msg) {
            log::debug!("poll wakeup: {e}");
        }
    }

    /// The kernel's handle for this poll.
    pub fn handle(&self) -> u64 {
        self.kh
    }
}

/// A handler's waiting pollers: (file handle, events, waker).
pub type Pollers = Vec<(u64, u32, PollWaker)>;

/// Keep `waker` until its file is ready. The kernel has one poll handle
/// per open file, and one wakeup reaches every poller of it: a file polled
/// again and again (each poll() call that finds nothing ready) keeps one
/// entry, with the events asked for together, so the list is never longer
/// than the open files.
pub fn keep_poller(pollers: &mut Pollers, fh: u64, events: u32, waker: PollWaker) {
    match pollers.iter_mut().find(|(_, _, w)| w.kh == waker.kh) {
        Some(entry) => {
            entry.0 = fh;
            entry.1 |= events;
        }
        None => pollers.push((fh, events, waker)),
    }
}

/// The node to create.
#[derive(Clone, Debug)]
pub struct DeviceInfo {
    /// Name under /dev ("dsp", "snd/pcmC0D0p").
    pub name: String,
    pub major: u32,
    pub minor: u32,
}

/// Largest payload one request or reply carries (CUSE's ioctls move at most 128 KiB).
pub const MAX_PAYLOAD: usize = 128 * 1024;

/// The first round of an unrestricted ioctl whose command encodes its
/// argument's size: with no memory of the caller's yet, a sized handler
/// only asks for it ([`Handler::answers_at_once`]'s default).
pub fn only_asks_for_argument(call: &IoctlCall<'_>) -> bool {
    call.input.is_empty() && call.out_size == 0 && ioctl_sizes(call.cmd) != (0, 0)
}

/// The round a FUSE_IOCTL request brings: its header and the caller's
/// memory that follows it (`data`, cut to the header's in_size).
fn ioctl_call<'a>(io: &IoctlIn, data: &'a [u8]) -> IoctlCall<'a> {
    let input = &data[..(io.in_size as usize).min(data.len())];
    IoctlCall { cmd: io.cmd, arg: io.arg, input, out_size: io.out_size as usize }
}

/// The size and direction an ioctl number encodes (`_IOC_SIZE`, `_IOC_DIR`):
/// (bytes the driver reads, bytes it writes back).
pub fn ioctl_sizes(cmd: u32) -> (usize, usize) {
    let size = ((cmd >> 16) & 0x3fff) as usize;
    match cmd >> 30 {
        1 => (size, 0),    // _IOW: user to driver
        2 => (0, size),    // _IOR: driver to user
        3 => (size, size), // _IOWR
        _ => (0, 0),       // _IO
    }
}

/// A served CUSE device.
pub struct Server {
    dev: Arc<File>,
    handler: Arc<dyn Handler>,
    name: String,
    /// Requests running on request threads, for FUSE_INTERRUPT.
    inflight: Inflight,
    workers: Arc<workers::Workers>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.workers.close();
    }
}

/// Where a request's reply goes: the device, and the request's place among
/// the interruptible ones, given up just before the reply is written (so an
/// interrupt that comes after the reply finds the request unknown).
struct Replier<'a> {
    dev: &'a Arc<File>,
    guard: std::cell::Cell<Option<interrupt::InflightGuard>>,
    /// A reply was written (or tried): a panic after it needs none.
    replied: std::cell::Cell<bool>,
}

impl<'a> Replier<'a> {
    fn new(dev: &'a Arc<File>, guard: Option<interrupt::InflightGuard>) -> Replier<'a> {
        Replier { dev, guard: std::cell::Cell::new(guard), replied: std::cell::Cell::new(false) }
    }
}

fn reply(r: &Replier<'_>, unique: u64, error: Errno, parts: &[&[u8]]) -> io::Result<()> {
    drop(r.guard.take());
    r.replied.set(true);
    send(r.dev, unique, error, parts)
}

fn send(dev: &File, unique: u64, error: Errno, parts: &[&[u8]]) -> io::Result<()> {
    let len = 16 + parts.iter().map(|p| p.len()).sum::<usize>();
    let header = OutHeader { len: len as u32, error: -error, unique };
    let mut msg = Vec::with_capacity(len);
    msg.extend_from_slice(bytes(&header));
    for p in parts {
        msg.extend_from_slice(p);
    }
    // One write per reply: /dev/cuse takes a whole message at once.
    match (&*dev).write(&msg) {
        Ok(_) => Ok(()),
        // The request was interrupted or its caller died: nothing to answer.
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

impl Server {
    /// Open /dev/cuse and create the node.
    pub fn create(info: &DeviceInfo, handler: Arc<dyn Handler>) -> io::Result<Server> {
        let dev = OpenOptions::new().read(true).write(true).open("/dev/cuse").map_err(|e| {
            io::Error::new(e.kind(), format!("/dev/cuse: {e} (is the cuse module loaded? modprobe cuse)"))
        })?;
        Self::create_on(dev, info, handler)
    }

    /// Create the node on an open /dev/cuse, or on anything that carries
    /// the protocol the same way: one message per read and per write (a
    /// SOCK_SEQPACKET socket whose other end plays the kernel, in tests).
    pub fn create_on(dev: File, info: &DeviceInfo, handler: Arc<dyn Handler>) -> io::Result<Server> {
        let mut buf = vec![0u8; MAX_PAYLOAD + 4096];
        let n = (&dev).read(&mut buf)?;
        let header: InHeader = read(&buf[..n]).ok_or_else(|| io::Error::other("short CUSE_INIT request"))?;
        if header.opcode != CUSE_INIT {
            return Err(io::Error::other(format!("expected CUSE_INIT, got opcode {}", header.opcode)));
        }
        let init: CuseInitIn = read(&buf[40..n]).ok_or_else(|| io::Error::other("short CUSE_INIT body"))?;
        if init.major != KERNEL_VERSION {
            return Err(io::Error::other(format!(
                "the kernel speaks FUSE {}.{}, we speak {KERNEL_VERSION}",
                init.major, init.minor
            )));
        }
        let out = CuseInitOut {
            major: KERNEL_VERSION,
            minor: init.minor.min(KERNEL_MINOR),
            flags: CUSE_UNRESTRICTED_IOCTL,
            max_read: MAX_PAYLOAD as u32,
            max_write: MAX_PAYLOAD as u32,
            dev_major: info.major,
            dev_minor: info.minor,
            ..CuseInitOut::default()
        };
        let devinfo = format!("DEVNAME={}\0", info.name);
        send(&dev, header.unique, 0, &[bytes(&out), devinfo.as_bytes()])?;
        Ok(Server {
            dev: Arc::new(dev),
            handler,
            name: info.name.clone(),
            inflight: Inflight::default(),
            workers: workers::Workers::new(&info.name),
        })
    }

    /// Serve requests until `stop` is set or the kernel ends the device.
    pub fn run(&self, stop: &AtomicBool) -> io::Result<()> {
        let mut buf = vec![0u8; MAX_PAYLOAD + 4096];
        while !stop.load(Ordering::Acquire) {
            let n = match (&*self.dev).read(&mut buf) {
                Ok(n) => n,
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR) | Some(libc::EAGAIN) | Some(libc::ENOENT)) => {
                    continue
                }
                Err(e) if e.raw_os_error() == Some(libc::ENODEV) => return Ok(()), // unmounted / device gone
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(()); // the other end is gone (/dev/cuse itself never says 0)
            }
            let Some(h) = read::<InHeader>(&buf[..n]) else {
                log::warn!("{}: a request shorter than its header", self.name);
                continue;
            };
            let body = buf[40.min(n)..n].to_vec();
            let req = Request::new(h.unique, h.pid, h.uid, h.gid);
            match h.opcode {
                FUSE_DESTROY => {} // no reply
                FUSE_INTERRUPT => match read::<InterruptIn>(&body) {
                    Some(i) => self.interrupt(h.unique, i.unique),
                    None => log::warn!("{}: a FUSE_INTERRUPT without its body", self.name),
                },
                FUSE_OPEN | FUSE_POLL | FUSE_FLUSH => self.dispatch(h.opcode, req, body),
                FUSE_IOCTL if self.at_once(&body) => self.dispatch(h.opcode, req, body),
                _ => {
                    // Known (interruptible) before the next request is read.
                    let (token, guard) = self.inflight.register(h.unique);
                    let req = Request { interrupt: token, ..req };
                    let unique = req.unique;
                    let (dev, handler, name) = (self.dev.clone(), self.handler.clone(), self.name.clone());
                    let spawned = self.workers.run(move || {
                        Self::handle(&Replier::new(&dev, Some(guard)), &*handler, &name, h.opcode, req, &body);
                    });
                    if let Err(e) = spawned {
                        log::warn!("{}: no thread for a request ({e}); answering EAGAIN", self.name);
                        let _ = send(&self.dev, unique, libc::EAGAIN, &[]);
                    }
                }
            }
        }
        Ok(())
    }

    /// FUSE_INTERRUPT `int_unique` for request `unique`: interrupt it if it
    /// runs; if it is not known (answered already, or answered inline),
    /// answer the interrupt EAGAIN after a while.
    fn interrupt(&self, int_unique: u64, unique: u64) {
        if self.inflight.interrupt(unique) {
            log::debug!("{}: request {unique} interrupted", self.name);
            return;
        }
        let (dev, inflight, name) = (self.dev.clone(), self.inflight.clone(), self.name.clone());
        let answer = move || {
            std::thread::sleep(UNKNOWN_INTERRUPT_DELAY);
            if !inflight.interrupt(unique) {
                if let Err(e) = send(&dev, int_unique, libc::EAGAIN, &[]) {
                    log::debug!("{name}: answering an interrupt: {e}");
                }
            }
        };
        if let Err(e) = std::thread::Builder::new().name("cuse-interrupt".into()).spawn(answer) {
            log::warn!("{}: no thread to answer an interrupt ({e})", self.name);
        }
    }

    /// An ioctl round the handler answers at once ([`Handler::answers_at_once`]).
    fn at_once(&self, body: &[u8]) -> bool {
        let Some(io) = read::<IoctlIn>(body) else { return false };
        self.handler.answers_at_once(&ioctl_call(&io, &body[32.min(body.len())..]))
    }

    fn dispatch(&self, opcode: u32, req: Request, body: Vec<u8>) {
        Self::handle(&Replier::new(&self.dev, None), &*self.handler, &self.name, opcode, req, &body);
    }

    /// Answer one request. A handler that panics gets its caller EIO (and
    /// the log a line): the caller is not left blocked, the daemon lives.
    fn handle(dev: &Replier<'_>, handler: &dyn Handler, name: &str, opcode: u32, req: Request, body: &[u8]) {
        let unique = req.unique;
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Self::answer(dev, handler, name, opcode, req, body)
        }));
        if ran.is_err() {
            log::error!("{name}: the handler panicked on request {unique} (opcode {opcode}); answering EIO");
            if !dev.replied.get() {
                if let Err(e) = reply(dev, unique, libc::EIO, &[]) {
                    log::warn!("{name}: replying: {e}");
                }
            }
        }
    }

    fn answer(dev: &Replier<'_>, handler: &dyn Handler, name: &str, opcode: u32, req: Request, body: &[u8]) {
        let r = match opcode {
            FUSE_OPEN => match read::<OpenIn>(body) {
                Some(o) => match handler.open(&req, o.flags) {
                    Ok(fh) => {
                        let out = OpenOut { fh, open_flags: FOPEN_DIRECT_IO | FOPEN_NONSEEKABLE, padding: 0 };
                        reply(dev, req.unique, 0, &[bytes(&out)])
                    }
                    Err(e) => reply(dev, req.unique, e, &[]),
                },
                None => reply(dev, req.unique, libc::EINVAL, &[]),
            },
            FUSE_READ => match read::<ReadWriteIn>(body) {
                Some(r) => match handler.read(&req, r.fh, r.size.min(MAX_PAYLOAD as u32), r.flags) {
                    Ok(data) => reply(dev, req.unique, 0, &[&data[..data.len().min(r.size as usize)]]),
                    Err(e) => reply(dev, req.unique, e, &[]),
                },
                None => reply(dev, req.unique, libc::EINVAL, &[]),
            },
            FUSE_WRITE => match read::<ReadWriteIn>(body) {
                Some(w) => {
                    let data = &body[40.min(body.len())..];
                    let data = &data[..data.len().min(w.size as usize)];
                    match handler.write(&req, w.fh, data, w.flags) {
                        Ok(n) => reply(dev, req.unique, 0, &[bytes(&WriteOut { size: n, padding: 0 })]),
                        Err(e) => reply(dev, req.unique, e, &[]),
                    }
                }
                None => reply(dev, req.unique, libc::EINVAL, &[]),
            },
            FUSE_IOCTL => match read::<IoctlIn>(body) {
                Some(io) => {
                    let req = Request { abi: CallerAbi::from_ioctl_flags(io.flags), ..req };
                    Self::ioctl(dev, handler, &req, &io, &body[32.min(body.len())..])
                }
                None => reply(dev, req.unique, libc::EINVAL, &[]),
            },
            FUSE_POLL => match read::<PollIn>(body) {
                Some(p) => match handler.poll(
                    &req,
                    p.fh,
                    p.events,
                    (p.flags & FUSE_POLL_SCHEDULE_NOTIFY != 0).then(|| PollWaker { dev: dev.dev.clone(), kh: p.kh }),
                ) {
                    Ok(revents) => reply(dev, req.unique, 0, &[bytes(&PollOut { revents, padding: 0 })]),
                    Err(e) => reply(dev, req.unique, e, &[]),
                },
                None => reply(dev, req.unique, libc::EINVAL, &[]),
            },
            FUSE_FLUSH => match read::<ReleaseIn>(body) {
                Some(f) => match handler.flush(&req, f.fh) {
                    Ok(()) => reply(dev, req.unique, 0, &[]),
                    Err(e) => reply(dev, req.unique, e, &[]),
                },
                None => reply(dev, req.unique, libc::EINVAL, &[]),
            },
            FUSE_RELEASE => {
                if let Some(r) = read::<ReleaseIn>(body) {
                    handler.release(&req, r.fh);
                }
                reply(dev, req.unique, 0, &[])
            }
            other => {
                log::debug!("{name}: unsupported request {other}");
                reply(dev, req.unique, libc::ENOSYS, &[])
            }
        };
        if let Err(e) = r {
            log::warn!("{name}: replying: {e}");
        }
    }

    /// Unrestricted ioctls: the kernel does not know the argument's size, so
    /// each round the handler may ask (RETRY) for ranges of the caller's
    /// memory; the next round brings the input and room for the output.
    fn ioctl(dev: &Replier<'_>, handler: &dyn Handler, req: &Request, io: &IoctlIn, data: &[u8]) -> io::Result<()> {
        match handler.ioctl_round(req, io.fh, &ioctl_call(io, data)) {
            Ok(IoctlReply::Done { result, out: out_data }) => {
                let n = out_data.len().min(io.out_size as usize);
                let out = IoctlOut { result, flags: 0, in_iovs: 0, out_iovs: 0 };
                reply(dev, req.unique, 0, &[bytes(&out), &out_data[..n]])
            }
            Ok(IoctlReply::Retry { input, output }) => {
                let total = |r: &[UserRange]| r.iter().map(|r| r.len).sum::<usize>();
                if io.flags & FUSE_IOCTL_UNRESTRICTED == 0 {
                    // A restricted ioctl cannot be retried: the kernel sized it.
                    return reply(dev, req.unique, libc::EINVAL, &[]);
                }
                if input.len() + output.len() > MAX_IOVS || total(&input) > MAX_PAYLOAD || total(&output) > MAX_PAYLOAD
                {
                    log::warn!("ioctl {:#x}: a retry larger than CUSE moves; refused", io.cmd);
                    return reply(dev, req.unique, libc::EINVAL, &[]);
                }
                let out = IoctlOut {
                    result: 0,
                    flags: FUSE_IOCTL_RETRY,
                    in_iovs: input.len() as u32,
                    out_iovs: output.len() as u32,
                };
                let iov_bytes: Vec<u8> = input
                    .iter()
                    .chain(&output)
                    .flat_map(|r| bytes(&IoctlIovec { base: r.addr, len: r.len as u64 }).to_vec())
                    .collect();
                reply(dev, req.unique, 0, &[bytes(&out), &iov_bytes])
            }
            Err(e) => reply(dev, req.unique, e, &[]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_polled_again_and_again_keeps_one_poller() {
        let dev = Arc::new(File::open("/dev/null").unwrap());
        let waker = |kh| PollWaker { dev: dev.clone(), kh };
        let mut pollers = Pollers::new();
        for _ in 0..1000 {
            keep_poller(&mut pollers, 7, libc::POLLOUT as u32, waker(70));
        }
        keep_poller(&mut pollers, 7, libc::POLLIN as u32, waker(70));
        keep_poller(&mut pollers, 8, libc::POLLIN as u32, waker(80));
        let kept: Vec<(u64, u32, u64)> = pollers.iter().map(|(f, e, w)| (*f, *e, w.handle())).collect();
        assert_eq!(kept, [(7, (libc::POLLOUT | libc::POLLIN) as u32, 70), (8, libc::POLLIN as u32, 80)]);
    }

    #[test]
    fn ioctl_numbers_encode_their_sizes() {
        // SNDCTL_DSP_SPEED = _IOWR('P', 2, int)
        assert_eq!(ioctl_sizes(0xc004_5002), (4, 4));
        // SNDCTL_DSP_GETOSPACE = _IOR('P', 12, audio_buf_info) (16 bytes)
        assert_eq!(ioctl_sizes(0x8010_500c), (0, 16));
        // SNDCTL_DSP_RESET = _IO('P', 0)
        assert_eq!(ioctl_sizes(0x0000_5000), (0, 0));
        // An _IOW
        assert_eq!(ioctl_sizes(0x4004_500a), (4, 0));
    }

    #[test]
    fn the_caller_abi_comes_from_the_ioctl_flags() {
        assert_eq!(CallerAbi::from_ioctl_flags(FUSE_IOCTL_UNRESTRICTED), CallerAbi::Native);
        // What cuse_file_compat_ioctl and fuse_do_ioctl set for an i386 caller.
        let ia32 = FUSE_IOCTL_UNRESTRICTED | FUSE_IOCTL_COMPAT | FUSE_IOCTL_32BIT;
        assert_eq!(CallerAbi::from_ioctl_flags(ia32), CallerAbi::Ilp32);
        assert_eq!(CallerAbi::from_ioctl_flags(ia32 | FUSE_IOCTL_COMPAT_X32), CallerAbi::X32);
    }
}
