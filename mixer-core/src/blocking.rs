//! Blocking writes, reads and drains that a caller can cut short.
//!
//! The streams wait for room, data or the end of a drain with a deadline;
//! these wait in short slices of that and ask `interrupted()` between
//! slices (a device-node layer answers from its request: the caller got a
//! signal). Cut short, they give up as a kernel driver does: with the count
//! moved so far if any, else [`Blocked::Interrupted`].

use std::time::{Duration, Instant};

use crate::stream::{Capture, Playback, StreamError};

/// How long a blocked call waits before it asks again whether to give up.
pub const SLICE: Duration = Duration::from_millis(20);

/// Why a blocking call moved nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocked {
    /// The caller was interrupted (EINTR).
    Interrupted,
    /// Out of time, or the stream failed (EIO).
    Failed,
    /// The stream is in XRUN (EPIPE).
    Xrun,
}

/// What a call that moved `done` bytes answers when it cannot go on.
fn short(done: usize, why: Blocked) -> Result<usize, Blocked> {
    if done > 0 {
        Ok(done)
    } else {
        Err(why)
    }
}

/// Move `whole` bytes (whole frames) through a stream in slices of at most
/// [`SLICE`], `limit` in all: `step(stream, done, slice)` moves what it can
/// of the bytes from `done` on, and `position` is the stream's application
/// pointer in bytes, from which the bytes moved are counted.
fn transfer<S>(
    s: &mut S,
    whole: usize,
    position: impl Fn(&S) -> u64,
    mut step: impl FnMut(&mut S, usize, Duration) -> Result<(), StreamError>,
    interrupted: &dyn Fn() -> bool,
    limit: Duration,
    what: &str,
) -> Result<usize, Blocked> {
    let start = position(s);
    let moved = |s: &S| ((position(s) - start) as usize).min(whole);
    let deadline = Instant::now() + limit;
    loop {
        let done = moved(s);
        if done == whole {
            return Ok(whole);
        }
        if interrupted() {
            return short(done, Blocked::Interrupted);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return short(done, Blocked::Failed);
        }
        match step(s, done, left.min(SLICE)) {
            Ok(()) => return Ok(whole),
            Err(StreamError::Timeout(_)) => {}
            Err(StreamError::Xrun) => return short(moved(s), Blocked::Xrun),
            Err(e) => {
                log::debug!("{what}: {e}");
                return short(moved(s), Blocked::Failed);
            }
        }
    }
}

/// Write all of `data` (whole frames), waiting for room: at most `limit` in
/// all. Returns the bytes taken: all of them, or fewer when interrupted or
/// out of time after some were taken.
pub fn write_all(
    p: &mut Playback,
    data: &[u8],
    interrupted: &dyn Fn() -> bool,
    limit: Duration,
) -> Result<usize, Blocked> {
    let fb = p.params().frame_bytes().max(1);
    let whole = data.len() / fb * fb;
    let step = |p: &mut Playback, done: usize, slice| p.write_all(&data[done..whole], slice);
    let position = |p: &Playback| p.appl_ptr() * fb as u64;
    transfer(p, whole, position, step, interrupted, limit, "write")
}

/// Fill `buf` (whole frames), waiting for captured data: at most `limit` in
/// all. Returns the bytes filled, as [`write_all`].
pub fn read_exact(
    c: &mut Capture,
    buf: &mut [u8],
    interrupted: &dyn Fn() -> bool,
    limit: Duration,
) -> Result<usize, Blocked> {
    let fb = c.params().frame_bytes().max(1);
    let whole = buf.len() / fb * fb;
    let step = |c: &mut Capture, done: usize, slice| c.read_exact(&mut buf[done..whole], slice);
    let position = |c: &Capture| c.appl_ptr() * fb as u64;
    transfer(c, whole, position, step, interrupted, limit, "read")
}

/// Play out what is queued: at most `limit`. Interrupted, what is queued
/// still plays.
pub fn drain(p: &Playback, interrupted: &dyn Fn() -> bool, limit: Duration) -> Result<(), Blocked> {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match p.drain(left.min(SLICE)) {
            Ok(()) => return Ok(()),
            Err(StreamError::Timeout(_)) if interrupted() => return Err(Blocked::Interrupted),
            Err(StreamError::Timeout(_)) if left > SLICE => {}
            Err(e) => {
                log::debug!("drain: {e}");
                return Err(Blocked::Failed);
            }
        }
    }
}

/// How long playing out what `p` has queued may take: its length plus `slack`.
pub fn drain_limit(p: &Playback, slack: Duration) -> Duration {
    let params = p.params();
    slack + Duration::from_secs_f64(p.delay() as f64 / f64::from(params.rate.max(1)))
}
