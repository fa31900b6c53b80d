//! The request loop against a fake /dev/cuse: one end of a SOCK_SEQPACKET
//! socketpair plays the kernel (one message per read and per write, as
//! /dev/cuse), the other is the server's device. What a client sees is what
//! comes back on the kernel's end.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use outboard_cuse::abi::*;
use outboard_cuse::{sized_ioctl_round, DeviceInfo, Errno, Handler, IoctlCall, IoctlReply, Request, Server, UserRange};

/// An ioctl whose 16-byte argument holds the address and length of a buffer
/// (as ALSA's WRITEI holds the samples' address): `_IOWR('T', 1, 16)`.
const XFER: u32 = 0xc010_5401;

/// A device whose writes block until interrupted (or 5 s), and whose reads
/// and ioctls answer at once, recording what they were asked.
#[derive(Default)]
struct Slow {
    seen: Mutex<Vec<String>>,
    /// Each XFER round's request and whether it ran on a request thread.
    rounds: Mutex<Vec<(u64, bool)>>,
}

impl Handler for Slow {
    fn open(&self, _req: &Request, flags: u32) -> Result<u64, Errno> {
        assert_ne!(flags, 0x4242, "a handler bug, on the request loop's own thread");
        Ok(1)
    }
    fn release(&self, _req: &Request, _fh: u64) {}
    fn read(&self, _req: &Request, _fh: u64, size: u32, _flags: u32) -> Result<Vec<u8>, Errno> {
        assert_ne!(size, 13, "a handler bug, on a request thread");
        Ok(vec![7; size as usize])
    }
    fn write(&self, req: &Request, _fh: u64, data: &[u8], _flags: u32) -> Result<u32, Errno> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if req.interrupt.is_set() {
                self.seen.lock().unwrap().push(format!("write {} interrupted", req.unique));
                return Err(libc::EINTR);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(data.len() as u32)
    }
    fn ioctl(&self, req: &Request, _fh: u64, cmd: u32, input: &[u8]) -> Result<(i32, Vec<u8>), Errno> {
        self.seen.lock().unwrap().push(format!(
            "ioctl {cmd:#x} {input:?} interruptible {} {:?}",
            req.interrupt != outboard_cuse::Interrupt::NONE,
            req.abi
        ));
        Ok((0, 42i32.to_le_bytes().to_vec()))
    }
    /// XFER in three rounds, told apart by what came in: nothing (ask for
    /// the argument), the argument (ask for it again and for its buffer),
    /// both (take the buffer; write back the argument with the count).
    fn ioctl_round(&self, req: &Request, fh: u64, call: &IoctlCall<'_>) -> Result<IoctlReply, Errno> {
        if call.cmd != XFER {
            return sized_ioctl_round(self, req, fh, call);
        }
        let on_request_thread = std::thread::current().name().is_some_and(|n| n.starts_with("cuse "));
        self.rounds.lock().unwrap().push((req.unique, on_request_thread));
        let arg = UserRange { addr: call.arg, len: 16 };
        if call.input.len() < 16 {
            return Ok(IoctlReply::Retry { input: vec![arg], output: vec![arg] });
        }
        let addr = u64::from_le_bytes(call.input[..8].try_into().unwrap());
        let len = u64::from_le_bytes(call.input[8..16].try_into().unwrap()) as usize;
        if call.input.len() < 16 + len {
            return Ok(IoctlReply::Retry { input: vec![arg, UserRange { addr, len }], output: vec![arg] });
        }
        let data = &call.input[16..16 + len];
        self.seen.lock().unwrap().push(format!("xfer {data:?}"));
        let mut out = call.input[..16].to_vec();
        out[8..16].copy_from_slice(&(data.len() as u64 * 2).to_le_bytes());
        Ok(IoctlReply::Done { result: 0, out })
    }
}

struct FakeKernel {
    end: File,
    server: Option<std::thread::JoinHandle<std::io::Result<()>>>,
    handler: Arc<Slow>,
}

fn seqpacket_pair() -> (File, File) {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors socketpair writes.
    let rc = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) };
    assert_eq!(rc, 0, "socketpair: {}", std::io::Error::last_os_error());
    // SAFETY: socketpair succeeded: both are open descriptors nobody else owns.
    unsafe { (File::from(OwnedFd::from_raw_fd(fds[0])), File::from(OwnedFd::from_raw_fd(fds[1]))) }
}

fn message<T: zerocopy::IntoBytes + zerocopy::Immutable>(opcode: u32, unique: u64, body: &T, extra: &[u8]) -> Vec<u8> {
    let len = 40 + std::mem::size_of::<T>() + extra.len();
    let h = InHeader { len: len as u32, opcode, unique, nodeid: 1, uid: 0, gid: 0, pid: 99, ..InHeader::default() };
    [bytes(&h), bytes(body), extra].concat()
}

impl FakeKernel {
    /// CUSE_INIT done, the server's loop running.
    fn start() -> FakeKernel {
        let (mut end, dev) = seqpacket_pair();
        end.write_all(&message(CUSE_INIT, 2, &CuseInitIn { major: 7, minor: 31, unused: 0, flags: 0 }, &[])).unwrap();
        let handler = Arc::new(Slow::default());
        let server =
            Server::create_on(dev, &DeviceInfo { name: "test".into(), major: 0, minor: 0 }, handler.clone()).unwrap();
        let mut k = FakeKernel { end, server: None, handler };
        let (h, body) = k.recv(Duration::from_secs(1)).expect("a CUSE_INIT reply");
        assert_eq!((h.unique, h.error), (2, 0));
        let init: CuseInitOut = read(&body).unwrap();
        assert_eq!(init.flags & CUSE_UNRESTRICTED_IOCTL, CUSE_UNRESTRICTED_IOCTL);
        assert!(body.ends_with(b"DEVNAME=test\0"));
        static STOP: AtomicBool = AtomicBool::new(false);
        k.server = Some(std::thread::spawn(move || server.run(&STOP)));
        k
    }

    fn send(&mut self, msg: &[u8]) {
        self.end.write_all(msg).unwrap();
    }

    /// The next reply, if one comes within `wait`.
    fn recv(&mut self, wait: Duration) -> Option<(OutHeader, Vec<u8>)> {
        let tv = libc::timeval { tv_sec: wait.as_secs() as _, tv_usec: wait.subsec_micros() as _ };
        // SAFETY: a valid descriptor and a timeval of the size given.
        let rc = unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&self.end),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as u32,
            )
        };
        assert_eq!(rc, 0);
        let mut buf = vec![0u8; 256 * 1024];
        match self.end.read(&mut buf) {
            Ok(n) => {
                let h: OutHeader = read(&buf[..n]).expect("a reply header");
                assert_eq!(h.len as usize, n, "the header's length is the message's");
                Some((h, buf[16..n].to_vec()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => None,
            Err(e) => panic!("recv: {e}"),
        }
    }

    fn write_request(&mut self, unique: u64, data: &[u8]) {
        let w = ReadWriteIn { fh: 1, size: data.len() as u32, ..ReadWriteIn::default() };
        self.send(&message(FUSE_WRITE, unique, &w, data));
    }

    fn interrupt(&mut self, unique: u64) {
        self.send(&message(FUSE_INTERRUPT, unique | FUSE_INT_REQ_BIT, &InterruptIn { unique }, &[]));
    }

    /// Close the kernel's end: the loop ends cleanly.
    fn stop(mut self) {
        let server = self.server.take().unwrap();
        drop(self);
        server.join().unwrap().unwrap();
    }
}

#[test]
fn an_interrupted_write_is_answered_eintr_and_others_go_on() {
    let mut k = FakeKernel::start();
    k.write_request(4, &[1, 2, 3, 4]);
    assert!(k.recv(Duration::from_millis(100)).is_none(), "the write blocks");
    // Another request is served meanwhile.
    k.send(&message(FUSE_READ, 6, &ReadWriteIn { fh: 1, size: 3, ..ReadWriteIn::default() }, &[]));
    let (h, data) = k.recv(Duration::from_secs(1)).expect("the read's reply");
    assert_eq!((h.unique, h.error, data), (6, 0, vec![7, 7, 7]));

    // The writer gets a signal: the kernel sends FUSE_INTERRUPT.
    let t = Instant::now();
    k.interrupt(4);
    let (h, data) = k.recv(Duration::from_secs(1)).expect("the write's reply");
    assert_eq!((h.unique, h.error), (4, -libc::EINTR), "the blocked write ends with EINTR");
    assert!(data.is_empty());
    assert!(t.elapsed() < Duration::from_millis(500), "promptly: {:?}", t.elapsed());
    assert_eq!(k.handler.seen.lock().unwrap().as_slice(), ["write 4 interrupted"]);
    k.stop();
}

#[test]
fn an_interrupt_for_an_unknown_request_is_answered_eagain() {
    let mut k = FakeKernel::start();
    // Request 6 is answered at once; its interrupt comes too late.
    k.send(&message(FUSE_READ, 6, &ReadWriteIn { fh: 1, size: 1, ..ReadWriteIn::default() }, &[]));
    assert_eq!(k.recv(Duration::from_secs(1)).unwrap().0.unique, 6);
    let t = Instant::now();
    k.interrupt(6);
    let (h, body) = k.recv(Duration::from_secs(1)).expect("an answer to the interrupt");
    // A bare header, on the interrupt's own unique: "ask again".
    assert_eq!((h.unique, h.error, h.len, body.len()), (6 | FUSE_INT_REQ_BIT, -libc::EAGAIN, 16, 0));
    assert!(t.elapsed() >= Duration::from_millis(40), "after a while, not at once: {:?}", t.elapsed());
    // A malformed interrupt (no body) is dropped, and the loop goes on.
    let h = InHeader { len: 40, opcode: FUSE_INTERRUPT, unique: 9, ..InHeader::default() };
    k.send(bytes(&h));
    k.send(&message(FUSE_READ, 10, &ReadWriteIn { fh: 1, size: 1, ..ReadWriteIn::default() }, &[]));
    assert_eq!(k.recv(Duration::from_secs(1)).unwrap().0.unique, 10);
    k.stop();
}

#[test]
fn ioctls_run_interruptible_with_their_argument() {
    let mut k = FakeKernel::start();
    // SNDCTL_DSP_SPEED = _IOWR('P', 2, int), with its argument already there.
    let cmd = 0xc004_5002;
    let io = IoctlIn { fh: 1, flags: FUSE_IOCTL_UNRESTRICTED, cmd, arg: 0x1000, in_size: 4, out_size: 4 };
    k.send(&message(FUSE_IOCTL, 12, &io, &48_000i32.to_le_bytes()));
    let (h, body) = k.recv(Duration::from_secs(1)).unwrap();
    assert_eq!((h.unique, h.error), (12, 0));
    let out: IoctlOut = read(&body).unwrap();
    assert_eq!((out.result, out.flags), (0, 0));
    assert_eq!(&body[16..], 42i32.to_le_bytes());
    let seen = k.handler.seen.lock().unwrap().clone();
    assert_eq!(seen, [format!("ioctl {cmd:#x} [128, 187, 0, 0] interruptible true Native")]);
    k.stop();
}

#[test]
fn an_ioctl_whose_argument_points_at_a_buffer_takes_three_rounds() {
    let mut k = FakeKernel::start();
    let first = IoctlIn { fh: 1, flags: FUSE_IOCTL_UNRESTRICTED, cmd: XFER, arg: 0x7000, in_size: 0, out_size: 0 };
    // 1: the argument is asked for, in and out.
    k.send(&message(FUSE_IOCTL, 20, &first, &[]));
    let (h, body) = k.recv(Duration::from_secs(1)).unwrap();
    assert_eq!((h.unique, h.error), (20, 0));
    let retry: IoctlOut = read(&body).unwrap();
    assert_eq!((retry.flags, retry.in_iovs, retry.out_iovs), (FUSE_IOCTL_RETRY, 1, 1));
    let iovs: Vec<IoctlIovec> = body[16..].chunks(16).map(|c| read(c).unwrap()).collect();
    assert_eq!(iovs.iter().map(|v| (v.base, v.len)).collect::<Vec<_>>(), [(0x7000, 16), (0x7000, 16)]);
    // 2: with the argument (buffer at 0x9000, 5 bytes), the buffer too.
    let arg = [0x9000u64.to_le_bytes(), 5u64.to_le_bytes()].concat();
    k.send(&message(FUSE_IOCTL, 22, &IoctlIn { in_size: 16, out_size: 16, ..first }, &arg));
    let (_, body) = k.recv(Duration::from_secs(1)).unwrap();
    let retry: IoctlOut = read(&body).unwrap();
    assert_eq!((retry.flags, retry.in_iovs, retry.out_iovs), (FUSE_IOCTL_RETRY, 2, 1));
    let iovs: Vec<IoctlIovec> = body[16..].chunks(16).map(|c| read(c).unwrap()).collect();
    assert_eq!(iovs.iter().map(|v| (v.base, v.len)).collect::<Vec<_>>(), [(0x7000, 16), (0x9000, 5), (0x7000, 16)]);
    // 3: argument and buffer: done, the argument written back.
    let input = [arg.clone(), vec![1, 2, 3, 4, 5]].concat();
    k.send(&message(FUSE_IOCTL, 24, &IoctlIn { in_size: 21, out_size: 16, ..first }, &input));
    let (h, body) = k.recv(Duration::from_secs(1)).unwrap();
    assert_eq!((h.unique, h.error), (24, 0));
    let done: IoctlOut = read(&body).unwrap();
    assert_eq!((done.result, done.flags), (0, 0));
    assert_eq!(&body[16..24], 0x9000u64.to_le_bytes());
    assert_eq!(&body[24..32], 10u64.to_le_bytes());
    assert_eq!(k.handler.seen.lock().unwrap().clone(), ["xfer [1, 2, 3, 4, 5]"]);
    // A retry past what CUSE moves is refused, not sent.
    let huge = [0x9000u64.to_le_bytes(), (1u64 << 20).to_le_bytes()].concat();
    k.send(&message(FUSE_IOCTL, 26, &IoctlIn { in_size: 16, out_size: 16, ..first }, &huge));
    let (h, _) = k.recv(Duration::from_secs(1)).unwrap();
    assert_eq!((h.unique, h.error), (26, -libc::EINVAL));
    k.stop();
}

#[test]
fn a_32_bit_callers_ioctl_is_sized_and_marked_for_its_abi() {
    let mut k = FakeKernel::start();
    // An i386 program's SNDCTL_DSP_CURRENT_OPTR: its oss_count_t is 140
    // bytes (144 for 64-bit callers), and the kernel says which ABI it is.
    let cmd = 0x808c_5024;
    let flags = FUSE_IOCTL_UNRESTRICTED | FUSE_IOCTL_COMPAT | FUSE_IOCTL_32BIT;
    let first = IoctlIn { fh: 1, flags, cmd, arg: 0xffd0_1234, in_size: 0, out_size: 0 };
    k.send(&message(FUSE_IOCTL, 14, &first, &[]));
    let (h, body) = k.recv(Duration::from_secs(1)).unwrap();
    assert_eq!((h.unique, h.error), (14, 0));
    let retry: IoctlOut = read(&body).unwrap();
    assert_eq!((retry.flags, retry.in_iovs, retry.out_iovs), (FUSE_IOCTL_RETRY, 0, 1));
    let iov: IoctlIovec = read(&body[16..]).unwrap();
    assert_eq!((iov.base, iov.len), (0xffd0_1234, 140), "the caller's struct, at its 32-bit address");
    k.send(&message(FUSE_IOCTL, 16, &IoctlIn { out_size: 140, ..first }, &[]));
    let (h, _) = k.recv(Duration::from_secs(1)).unwrap();
    assert_eq!((h.unique, h.error), (16, 0));
    // x32 too.
    let x32 = IoctlIn { flags: flags | FUSE_IOCTL_COMPAT_X32, out_size: 140, ..first };
    k.send(&message(FUSE_IOCTL, 18, &x32, &[]));
    assert_eq!(k.recv(Duration::from_secs(1)).unwrap().0.unique, 18);
    let seen = k.handler.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [format!("ioctl {cmd:#x} [] interruptible true Ilp32"), format!("ioctl {cmd:#x} [] interruptible true X32")]
    );
    k.stop();
}

#[test]
fn a_handler_that_panics_answers_eio_and_the_loop_goes_on() {
    let mut k = FakeKernel::start();
    // On a request thread (a read) and on the loop's own thread (an open).
    k.send(&message(FUSE_READ, 20, &ReadWriteIn { fh: 1, size: 13, ..ReadWriteIn::default() }, &[]));
    let (h, body) = k.recv(Duration::from_secs(1)).expect("the read's reply");
    assert_eq!((h.unique, h.error, body.len()), (20, -libc::EIO, 0));
    k.send(&message(FUSE_OPEN, 22, &OpenIn { flags: 0x4242, open_flags: 0 }, &[]));
    let (h, _) = k.recv(Duration::from_secs(1)).expect("the open's reply");
    assert_eq!((h.unique, h.error), (22, -libc::EIO));
    // Everything else is answered as before.
    k.send(&message(FUSE_READ, 24, &ReadWriteIn { fh: 1, size: 2, ..ReadWriteIn::default() }, &[]));
    let (h, data) = k.recv(Duration::from_secs(1)).expect("the next read's reply");
    assert_eq!((h.unique, h.error, data), (24, 0, vec![7, 7]));
    k.stop();
}

#[test]
fn a_round_that_only_asks_for_its_argument_is_answered_on_the_loop_while_a_write_blocks() {
    let mut k = FakeKernel::start();
    k.write_request(4, &[1, 2, 3, 4]);
    assert!(k.recv(Duration::from_millis(100)).is_none(), "the write blocks");
    let first = IoctlIn { fh: 1, flags: FUSE_IOCTL_UNRESTRICTED, cmd: XFER, arg: 0x7000, in_size: 0, out_size: 0 };
    k.send(&message(FUSE_IOCTL, 30, &first, &[]));
    let (h, body) = k.recv(Duration::from_secs(1)).expect("the first round's reply while the write blocks");
    assert_eq!((h.unique, h.error), (30, 0));
    assert_eq!(read::<IoctlOut>(&body).unwrap().flags, FUSE_IOCTL_RETRY);
    // The rounds with the caller's memory (they may block, for all the
    // server knows) go to a request thread.
    let arg = [0x9000u64.to_le_bytes(), 2u64.to_le_bytes()].concat();
    k.send(&message(FUSE_IOCTL, 32, &IoctlIn { in_size: 16, out_size: 16, ..first }, &arg));
    assert_eq!(k.recv(Duration::from_secs(1)).unwrap().0.unique, 32);
    assert_eq!(k.handler.rounds.lock().unwrap().clone(), [(30, false), (32, true)]);
    k.interrupt(4);
    assert_eq!(k.recv(Duration::from_secs(1)).unwrap().0.unique, 4);
    k.stop();
}
