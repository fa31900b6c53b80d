//! Blocking writes, reads and drains that a signal interrupts: the mixer's
//! [`outboard_mixer::blocking`] with the request's [`Interrupt`] asked
//! between slices, and its outcomes as the errnos OSS callers get (EINTR
//! when interrupted before anything moved, EIO when out of time or failed).

use std::time::Duration;

use outboard_cuse::{Errno, Interrupt};
use outboard_mixer::blocking::{self as mb, Blocked};
use outboard_mixer::stream::{Capture, Playback};

pub use outboard_mixer::blocking::drain_limit;

fn errno(b: Blocked) -> Errno {
    match b {
        Blocked::Interrupted => libc::EINTR,
        Blocked::Failed | Blocked::Xrun => libc::EIO,
    }
}

/// Write all of `data` (whole frames), waiting for room: at most `limit`.
pub fn write_all(p: &mut Playback, data: &[u8], interrupt: &Interrupt, limit: Duration) -> Result<usize, Errno> {
    mb::write_all(p, data, &|| interrupt.is_set(), limit).map_err(errno)
}

/// Fill `buf` (whole frames), waiting for captured data: at most `limit`.
pub fn read_exact(c: &mut Capture, buf: &mut [u8], interrupt: &Interrupt, limit: Duration) -> Result<usize, Errno> {
    mb::read_exact(c, buf, &|| interrupt.is_set(), limit).map_err(errno)
}

/// Play out what is queued (SNDCTL_DSP_SYNC): at most `limit`.
pub fn drain(p: &Playback, interrupt: &Interrupt, limit: Duration) -> Result<(), Errno> {
    mb::drain(p, &|| interrupt.is_set(), limit).map_err(errno)
}
