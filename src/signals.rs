//! SIGTERM and SIGINT: a flag the long-running commands (serve, bridge) poll.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

/// Set by SIGTERM or SIGINT.
pub static STOP: AtomicBool = AtomicBool::new(false);

/// An eventfd that a stop (or [`wake`]) makes readable, so that threads
/// waiting for one sleep without waking up to look (-1 until [`catch`]).
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
    wake();
}

/// Wake every thread in [`wait`] (a stop, or a server thread that ended).
/// Async-signal-safe: one write(2) to an eventfd.
pub fn wake() {
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let one: u64 = 1;
        // SAFETY: `one` is 8 readable bytes, what an eventfd write takes; a
        // full counter or a closed fd only makes the write fail.
        unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
    }
}

/// Sleep until [`wake`] (or a stop), `fd` becomes readable, or `timeout`
/// passes; true when `fd` is readable.
pub fn wait(fd: Option<RawFd>, timeout: Duration) -> bool {
    let wake_fd = WAKE_FD.load(Ordering::SeqCst);
    let mut fds = [
        libc::pollfd { fd: wake_fd, events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: fd.unwrap_or(-1), events: libc::POLLIN, revents: 0 },
    ];
    if wake_fd < 0 && fd.is_none() {
        std::thread::sleep(timeout.min(Duration::from_millis(100)));
        return false;
    }
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: `fds` is two valid pollfds (a negative fd is ignored by poll).
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
    n > 0 && fds[1].revents & libc::POLLIN != 0
}

/// SIGTERM and SIGINT set [`STOP`] and interrupt blocking reads (no
/// SA_RESTART: a read on /dev/cuse returns EINTR), so loops see it and shut
/// down in order.
pub fn catch() -> Result<(), String> {
    if WAKE_FD.load(Ordering::SeqCst) < 0 {
        // SAFETY: eventfd takes no pointers.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(format!("creating the stop eventfd: {}", std::io::Error::last_os_error()));
        }
        WAKE_FD.store(fd, Ordering::SeqCst);
    }
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: a zeroed sigaction is valid to fill in; the handler only
        // stores to an atomic, which is async-signal-safe.
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = 0;
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(format!("installing a signal handler: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// Whether a stop was asked for.
pub fn stopping() -> bool {
    STOP.load(Ordering::SeqCst)
}
