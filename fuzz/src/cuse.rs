//! The CUSE request loop: a stream of messages as /dev/cuse delivers them.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use outboard_cuse::abi::*;
use outboard_cuse::{DeviceInfo, Errno, Handler, Request, Server, MAX_PAYLOAD};

use crate::Input;

/// A device that answers every request at once: reads with as many bytes
/// as asked, writes taken whole, ioctls of the size their number says.
struct Echo;

impl Handler for Echo {
    fn open(&self, _req: &Request, flags: u32) -> Result<u64, Errno> {
        Ok(u64::from(flags & 0xff) + 1)
    }
    fn release(&self, _req: &Request, _fh: u64) {}
    fn read(&self, _req: &Request, _fh: u64, size: u32, _flags: u32) -> Result<Vec<u8>, Errno> {
        Ok(vec![0x5a; size as usize])
    }
    fn write(&self, _req: &Request, _fh: u64, data: &[u8], _flags: u32) -> Result<u32, Errno> {
        Ok(data.len() as u32)
    }
    fn ioctl(&self, _req: &Request, _fh: u64, cmd: u32, input: &[u8]) -> Result<(i32, Vec<u8>), Errno> {
        let (_, out) = outboard_cuse::ioctl_sizes(cmd);
        Ok((0, input.iter().copied().cycle().take(out).collect()))
    }
}

/// The opcodes a kernel sends a CUSE server (and one it never sends).
const OPCODES: [u32; 10] = [
    FUSE_OPEN,
    FUSE_READ,
    FUSE_WRITE,
    FUSE_RELEASE,
    FUSE_FLUSH,
    FUSE_INTERRUPT,
    FUSE_IOCTL,
    FUSE_POLL,
    FUSE_DESTROY,
    CUSE_INIT,
];

fn seqpacket_pair() -> Option<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors socketpair writes.
    let rc = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: socketpair succeeded: both are open descriptors nobody else owns.
    Some(unsafe { (File::from(OwnedFd::from_raw_fd(fds[0])), File::from(OwnedFd::from_raw_fd(fds[1]))) })
}

fn message(opcode: u32, unique: u64, pid: u32, body: &[u8]) -> Vec<u8> {
    let h = InHeader {
        len: (40 + body.len()) as u32,
        opcode,
        unique,
        nodeid: 1,
        uid: 1000,
        gid: 1000,
        pid,
        ..InHeader::default()
    };
    [bytes(&h), body].concat()
}

/// Input: CUSE_INIT's body (16 bytes), then messages, each an opcode byte
/// (an index into the opcodes a kernel sends, or with its top bit a raw
/// opcode from the next 4 bytes), a 16-bit unique, a 16-bit body length
/// and the body. Every reply that comes back must be a whole message whose
/// header gives its length; the loop must end when the kernel's end does.
pub fn cuse_messages(data: &[u8]) {
    // libFuzzer's main is not Rust's: a reply to a closed socket must be
    // an error, not a SIGPIPE.
    // SAFETY: setting a signal's disposition to ignore.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let mut input = Input::new(data);
    let Some((mut kernel, dev)) = seqpacket_pair() else { return };
    let init = input.bytes(16);
    let mut init_body = [0u8; 16];
    init_body[..init.len()].copy_from_slice(init);
    if input.u8() & 1 == 0 {
        // Mostly a kernel that speaks FUSE 7, so the loop is reached.
        init_body[..4].copy_from_slice(&KERNEL_VERSION.to_le_bytes());
    }
    if kernel.write_all(&message(CUSE_INIT, 1, 1, &init_body)).is_err() {
        return;
    }
    let info = DeviceInfo { name: "fuzz".into(), major: 0, minor: 0 };
    let drain = match kernel.try_clone() {
        Ok(k) => k,
        Err(_) => return,
    };
    // Replies are read as they come, so the server never blocks on a full socket.
    let reader = std::thread::spawn(move || drain_replies(drain));
    if let Ok(server) = Server::create_on(dev, &info, Arc::new(Echo)) {
        static STOP: AtomicBool = AtomicBool::new(false);
        let loop_ = std::thread::spawn(move || server.run(&STOP));
        while !input.is_empty() {
            let op = input.u8();
            let opcode = if op & 0x80 != 0 { input.u32() } else { OPCODES[usize::from(op) % OPCODES.len()] };
            let unique = u64::from(input.u16());
            let len = usize::from(input.u16()).min(MAX_PAYLOAD);
            let body = input.bytes(len);
            if kernel.write_all(&message(opcode, unique, u32::from(op), body)).is_err() {
                break;
            }
        }
        // The kernel's end stops sending: the loop sees end of file and ends.
        // SAFETY: shutting down the writing half of a socket we own.
        unsafe { libc::shutdown(kernel.as_raw_fd(), libc::SHUT_WR) };
        match loop_.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("the request loop failed: {e}"),
            Err(_) => panic!("the request loop panicked"),
        }
    } else {
        // SAFETY: as above.
        unsafe { libc::shutdown(kernel.as_raw_fd(), libc::SHUT_WR) };
    }
    drop(kernel);
    if reader.join().is_err() {
        panic!("a reply was malformed (above)");
    }
}

/// Read replies until every copy of the server's end is closed, checking
/// each is one whole message.
fn drain_replies(mut end: File) {
    let mut buf = vec![0u8; MAX_PAYLOAD + 4096];
    loop {
        match end.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let h: OutHeader = read(&buf[..n]).expect("a reply shorter than its header");
                assert_eq!(h.len as usize, n, "a reply whose header says {} bytes came in {n}", h.len);
                // The kernel refuses a reply whose error is positive or at or
                // below -512 (fuse_dev_do_write), leaving its caller waiting.
                // Notifications (unique 0) carry their code in `error`.
                assert!(
                    h.unique == 0 || (-512 < h.error && h.error <= 0),
                    "a reply the kernel would refuse: error {}",
                    h.error
                );
            }
        }
    }
}
