//! Blocking writes, reads and drains that a signal interrupts.
//!
//! The mixer's streams wait for room, data or the end of a drain with a
//! deadline; these wait in short slices of that and look at the request's
//! [`Interrupt`] between slices (the CUSE server sets it on FUSE_INTERRUPT,
//! when the caller got a signal). Interrupted, they give up as a kernel
//! driver does: with the count moved so far if any, else EINTR.

use std::time::{Duration, Instant};

use outboard_cuse::{Errno, Interrupt};
use outboard_mixer::stream::{Capture, Playback, StreamError};

/// How long a blocked call waits before it looks for an interrupt again.
pub const SLICE: Duration = Duration::from_millis(20);

/// What a call that moved `done` bytes answers when it cannot go on.
fn short(done: usize, err: Errno) -> Result<usize, Errno> {
    if done > 0 {
        Ok(done)
    } else {
        Err(err)
    }
}

/// Write all of `data` (whole frames), waiting for room: at most `limit` in
/// all. Returns the bytes taken: all of them, or fewer when interrupted or
/// out of time after some were taken (EINTR / EIO when none were).
pub fn write_all(p: &mut Playback, data: &[u8], interrupt: &Interrupt, limit: Duration) -> Result<usize, Errno> {
    let fb = p.params().frame_bytes().max(1);
    let whole = data.len() / fb * fb;
    let start = p.appl_ptr();
    let deadline = Instant::now() + limit;
    loop {
        let done = ((p.appl_ptr() - start) as usize * fb).min(whole);
        if done == whole {
            return Ok(whole);
        }
        if interrupt.is_set() {
            return short(done, libc::EINTR);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return short(done, libc::EIO);
        }
        match p.write_all(&data[done..whole], left.min(SLICE)) {
            Ok(()) => return Ok(whole),
            Err(StreamError::Timeout(_)) => {}
            Err(e) => {
                log::debug!("write: {e}");
                let done = ((p.appl_ptr() - start) as usize * fb).min(whole);
                return short(done, libc::EIO);
            }
        }
    }
}

/// Fill `buf` (whole frames), waiting for captured data: at most `limit` in
/// all. Returns the bytes filled, as [`write_all`].
pub fn read_exact(c: &mut Capture, buf: &mut [u8], interrupt: &Interrupt, limit: Duration) -> Result<usize, Errno> {
    let fb = c.params().frame_bytes().max(1);
    let whole = buf.len() / fb * fb;
    let start = c.appl_ptr();
    let deadline = Instant::now() + limit;
    loop {
        let done = ((c.appl_ptr() - start) as usize * fb).min(whole);
        if done == whole {
            return Ok(whole);
        }
        if interrupt.is_set() {
            return short(done, libc::EINTR);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return short(done, libc::EIO);
        }
        match c.read_exact(&mut buf[done..whole], left.min(SLICE)) {
            Ok(()) => return Ok(whole),
            Err(StreamError::Timeout(_)) => {}
            Err(e) => {
                log::debug!("read: {e}");
                let done = ((c.appl_ptr() - start) as usize * fb).min(whole);
                return short(done, libc::EIO);
            }
        }
    }
}

/// Play out what is queued (SNDCTL_DSP_SYNC): at most `limit`. EINTR when
/// interrupted (what is queued still plays), EIO out of time.
pub fn drain(p: &Playback, interrupt: &Interrupt, limit: Duration) -> Result<(), Errno> {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match p.drain(left.min(SLICE)) {
            Ok(()) => return Ok(()),
            Err(StreamError::Timeout(_)) if interrupt.is_set() => return Err(libc::EINTR),
            Err(StreamError::Timeout(_)) if left > SLICE => {}
            Err(e) => {
                log::debug!("drain: {e}");
                return Err(libc::EIO);
            }
        }
    }
}

/// How long playing out what `p` has queued may take: its length plus `slack`.
pub fn drain_limit(p: &Playback, slack: Duration) -> Duration {
    let params = p.params();
    slack + Duration::from_secs_f64(p.delay() as f64 / f64::from(params.rate.max(1)))
}
