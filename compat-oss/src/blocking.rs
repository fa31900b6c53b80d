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

/// Move `whole` bytes (whole frames) through a stream in slices of at most
/// [`SLICE`], `limit` in all: `step(stream, done, slice)` moves what it can
/// of the bytes from `done` on, and `position` is the stream's application
/// pointer in bytes, from which the bytes moved are counted.
/// Returns all of them, or fewer when interrupted or out of time after some
/// moved (EINTR / EIO when none did).
fn transfer<S>(
    s: &mut S,
    whole: usize,
    position: impl Fn(&S) -> u64,
    mut step: impl FnMut(&mut S, usize, Duration) -> Result<(), StreamError>,
    interrupt: &Interrupt,
    limit: Duration,
    what: &str,
) -> Result<usize, Errno> {
    let start = position(s);
    let moved = |s: &S| ((position(s) - start) as usize).min(whole);
    let deadline = Instant::now() + limit;
    loop {
        let done = moved(s);
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
        match step(s, done, left.min(SLICE)) {
            Ok(()) => return Ok(whole),
            Err(StreamError::Timeout(_)) => {}
            Err(e) => {
                log::debug!("{what}: {e}");
                return short(moved(s), libc::EIO);
            }
        }
    }
}

/// Write all of `data` (whole frames), waiting for room: at most `limit` in
/// all. Returns the bytes taken: all of them, or fewer when interrupted or
/// out of time after some were taken (EINTR / EIO when none were).
pub fn write_all(p: &mut Playback, data: &[u8], interrupt: &Interrupt, limit: Duration) -> Result<usize, Errno> {
    let fb = p.params().frame_bytes().max(1);
    let whole = data.len() / fb * fb;
    let step = |p: &mut Playback, done: usize, slice| p.write_all(&data[done..whole], slice);
    let position = |p: &Playback| p.appl_ptr() * fb as u64;
    transfer(p, whole, position, step, interrupt, limit, "write")
}

/// Fill `buf` (whole frames), waiting for captured data: at most `limit` in
/// all. Returns the bytes filled, as [`write_all`].
pub fn read_exact(c: &mut Capture, buf: &mut [u8], interrupt: &Interrupt, limit: Duration) -> Result<usize, Errno> {
    let fb = c.params().frame_bytes().max(1);
    let whole = buf.len() / fb * fb;
    let step = |c: &mut Capture, done: usize, slice| c.read_exact(&mut buf[done..whole], slice);
    let position = |c: &Capture| c.appl_ptr() * fb as u64;
    transfer(c, whole, position, step, interrupt, limit, "read")
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
