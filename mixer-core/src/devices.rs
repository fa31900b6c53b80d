//! Emulated devices behind [`PcmStream`]: a null device (consumes as fast as
//! it is asked), a device paced by the real-time clock (for latency work),
//! and a recording device that keeps what it played (for tests and WAV
//! output).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use outboard_hal::pcm::{Direction, PcmConfig, PcmState, PcmStream};
use outboard_hal::{Error, Result};

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
    /// Periods played so far.
    periods: u64,
    keep: Option<Arc<Mutex<Vec<u8>>>>,
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
        }
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
        Direction::Playback
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
    fn read_frames(&mut self, _offset: usize, _out: &mut [u8]) -> Result<()> {
        Err(Error::Unsupported { device: "memory device".into(), what: "capture".into() })
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
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        // The period that just "played" leaves the ring.
        let fb = self.config.frame_bytes();
        let p = self.config.period_frames * fb;
        let at = (self.periods as usize % self.config.periods) * p;
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
