//! Emulated devices behind [`PcmStream`]: a null device (consumes as fast as
//! it is asked), a device paced by the real-time clock (for latency work), a
//! recording device that keeps what it played, and a capture device fed
//! from memory (a WAV file's data, a test signal).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use outboard_hal::pcm::{Direction, PcmConfig, PcmState, PcmStream};
use outboard_hal::{Error, Result};

/// Sleep until `due` on the monotonic clock with an absolute deadline (no
/// drift from adding up relative sleeps).
fn sleep_until(due: Instant) {
    let now = Instant::now();
    if due <= now {
        return;
    }
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid timespec to fill in.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) } != 0 {
        std::thread::sleep(due - now);
        return;
    }
    let ns = ts.tv_nsec as u128 + (due - now).as_nanos();
    let target = libc::timespec {
        tv_sec: ts.tv_sec + (ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (ns % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: target is a valid timespec; a null remainder is allowed with TIMER_ABSTIME.
    while unsafe { libc::clock_nanosleep(libc::CLOCK_MONOTONIC, libc::TIMER_ABSTIME, &target, std::ptr::null_mut()) }
        == libc::EINTR
    {}
}

/// How a device's position advances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pacing {
    /// One period per wait, at once (as fast as the engine goes).
    Immediate,
    /// Periods at their real-time boundaries, from the monotonic clock.
    RealTime,
}

/// An emulated playback device with a ring in memory. What it plays (the
/// ring contents as the position passes them) can be kept for inspection.
pub struct MemoryDevice {
    config: PcmConfig,
    ring: Vec<u8>,
    pacing: Pacing,
    state: PcmState,
    started: Option<Instant>,
    /// Periods played (or captured) so far.
    periods: u64,
    keep: Option<Arc<Mutex<Vec<u8>>>>,
    direction: Direction,
    /// Capture: what the device "hears", in order; silence after the end.
    source: Vec<u8>,
}

impl MemoryDevice {
    /// A null device: plays to nowhere.
    pub fn null(config: PcmConfig, pacing: Pacing) -> MemoryDevice {
        MemoryDevice {
            config,
            ring: vec![0; config.buffer_frames() * config.frame_bytes()],
            pacing,
            state: PcmState::Prepared,
            started: None,
            periods: 0,
            keep: None,
            direction: Direction::Playback,
            source: Vec::new(),
        }
    }

    /// A capture device that hears `source` (then silence).
    pub fn capture(config: PcmConfig, source: Vec<u8>, pacing: Pacing) -> MemoryDevice {
        MemoryDevice { direction: Direction::Capture, source, ..Self::null(config, pacing) }
    }

    /// A device that records everything it plays into the returned buffer.
    pub fn recording(config: PcmConfig, pacing: Pacing) -> (MemoryDevice, Arc<Mutex<Vec<u8>>>) {
        let keep = Arc::new(Mutex::new(Vec::new()));
        let mut d = Self::null(config, pacing);
        d.keep = Some(keep.clone());
        (d, keep)
    }
}

impl PcmStream for MemoryDevice {
    fn direction(&self) -> Direction {
        self.direction
    }
    fn config(&self) -> PcmConfig {
        self.config
    }
    fn state(&self) -> PcmState {
        self.state
    }
    fn start(&mut self) -> Result<()> {
        self.state = PcmState::Running;
        self.started = Some(Instant::now());
        Ok(())
    }
    fn stop(&mut self) -> Result<()> {
        self.state = PcmState::Prepared;
        Ok(())
    }
    fn position(&mut self) -> Result<usize> {
        Ok((self.periods as usize * self.config.period_frames) % self.config.buffer_frames())
    }
    fn write_frames(&mut self, offset: usize, data: &[u8]) -> Result<()> {
        let fb = self.config.frame_bytes();
        let start = offset * fb;
        if start + data.len() > self.ring.len() {
            return Err(Error::OutOfBounds {
                what: "memory device ring".into(),
                offset: start as u64,
                len: data.len(),
                size: self.ring.len() as u64,
            });
        }
        self.ring[start..start + data.len()].copy_from_slice(data);
        Ok(())
    }
    fn read_frames(&mut self, offset: usize, out: &mut [u8]) -> Result<()> {
        let start = offset * self.config.frame_bytes();
        match self.ring.get(start..start + out.len()) {
            Some(src) => {
                out.copy_from_slice(src);
                Ok(())
            }
            None => Err(Error::OutOfBounds {
                what: "memory device ring".into(),
                offset: start as u64,
                len: out.len(),
                size: self.ring.len() as u64,
            }),
        }
    }
    fn wait_period(&mut self, timeout: Duration) -> Result<()> {
        if self.state != PcmState::Running {
            std::thread::sleep(timeout);
            return Err(Error::Timeout {
                device: "memory device".into(),
                what: "a period (not running)".into(),
                ms: timeout.as_millis() as u64,
            });
        }
        if self.pacing == Pacing::RealTime {
            let due = self.started.unwrap_or_else(Instant::now) + self.config.period_time() * (self.periods as u32 + 1);
            sleep_until(due);
        }
        // The period that just "played" leaves the ring (or, capturing, the
        // period just heard arrives in it).
        let fb = self.config.frame_bytes();
        let p = self.config.period_frames * fb;
        let at = (self.periods as usize % self.config.periods) * p;
        if self.direction == Direction::Capture {
            let from = self.periods as usize * p;
            for (i, b) in self.ring[at..at + p].iter_mut().enumerate() {
                *b = self.source.get(from + i).copied().unwrap_or(0);
            }
        }
        if let Some(keep) = &self.keep {
            if let Ok(mut k) = keep.try_lock() {
                k.extend_from_slice(&self.ring[at..at + p]);
            }
        }
        self.periods += 1;
        Ok(())
    }
    fn xruns(&self) -> u64 {
        0
    }
}
