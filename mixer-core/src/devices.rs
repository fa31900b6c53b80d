//! Emulated devices behind [`PcmStream`]: a null device (consumes as fast as
//! it is asked), a device paced by the real-time clock (for latency work), a
//! recording device that keeps what it played, a capture device fed from
//! memory (a test signal), and WAV-file devices that play into a file or
//! capture from one ([`MemoryDevice::wav_sink`], [`MemoryDevice::wav_source`]).

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
    /// Real-time pacing runs this many ppm fast (positive) or slow: a
    /// device whose crystal is off, for drift tests.
    clock_ppm: f64,
    /// A WAV file to write what was played into, at drop.
    wav: Option<WavOut>,
}

struct WavOut {
    file: std::fs::File,
    keep: Arc<Mutex<Vec<u8>>>,
    bits: u16,
}

/// The data chunk of a RIFF/WAVE file.
fn wav_data(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return None;
    }
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let size = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]) as usize;
        if &bytes[at..at + 4] == b"data" {
            return bytes.get(at + 8..(at + 8 + size).min(bytes.len()));
        }
        at += 8 + size + (size & 1);
    }
    None
}

impl Drop for MemoryDevice {
    fn drop(&mut self) {
        let Some(w) = self.wav.take() else { return };
        let data = w.keep.lock().unwrap_or_else(|e| e.into_inner());
        let (ch, rate) = (u32::from(self.config.channels), self.config.rate);
        let block = ch * u32::from(w.bits / 8);
        let mut head = Vec::with_capacity(44);
        head.extend_from_slice(b"RIFF");
        head.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        head.extend_from_slice(b"WAVEfmt ");
        head.extend_from_slice(&16u32.to_le_bytes());
        head.extend_from_slice(&1u16.to_le_bytes());
        head.extend_from_slice(&(ch as u16).to_le_bytes());
        head.extend_from_slice(&rate.to_le_bytes());
        head.extend_from_slice(&(rate * block).to_le_bytes());
        head.extend_from_slice(&(block as u16).to_le_bytes());
        head.extend_from_slice(&w.bits.to_le_bytes());
        head.extend_from_slice(b"data");
        head.extend_from_slice(&(data.len() as u32).to_le_bytes());
        let mut f = &w.file;
        if let Err(e) = std::io::Write::write_all(&mut f, &head).and_then(|()| std::io::Write::write_all(&mut f, &data))
        {
            log::warn!("writing the WAV file: {e}");
        }
    }
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
            clock_ppm: 0.0,
            wav: None,
        }
    }

    /// A capture device that hears `source` (then silence).
    pub fn capture(config: PcmConfig, source: Vec<u8>, pacing: Pacing) -> MemoryDevice {
        let mut d = Self::null(config, pacing);
        d.direction = Direction::Capture;
        d.source = source;
        d
    }

    /// A playback device that writes everything it plays to a WAV file
    /// (integer PCM formats), completed when the device is dropped.
    pub fn wav_sink(config: PcmConfig, path: &std::path::Path, pacing: Pacing) -> std::io::Result<MemoryDevice> {
        let bits = match config.format {
            outboard_hal::pcm::SampleFormat::U8 => 8,
            outboard_hal::pcm::SampleFormat::S16Le => 16,
            outboard_hal::pcm::SampleFormat::S24_3Le => 24,
            outboard_hal::pcm::SampleFormat::S32Le => 32,
            other => {
                return Err(std::io::Error::other(format!("a WAV file of {other:?}: use U8, S16LE, S24_3LE or S32LE")))
            }
        };
        let file = std::fs::File::create(path)?;
        let (mut d, keep) = Self::recording(config, pacing);
        d.wav = Some(WavOut { file, keep, bits });
        Ok(d)
    }

    /// A capture device that hears a WAV file's PCM data (then silence). The
    /// file's format must be the device's: its data is taken as it is.
    pub fn wav_source(config: PcmConfig, path: &std::path::Path, pacing: Pacing) -> std::io::Result<MemoryDevice> {
        let bytes = std::fs::read(path)?;
        let data =
            wav_data(&bytes).ok_or_else(|| std::io::Error::other(format!("{}: not a PCM WAV file", path.display())))?;
        Ok(Self::capture(config, data.to_vec(), pacing))
    }

    /// Let the device's clock run `ppm` parts per million fast (or slow).
    pub fn with_clock_ppm(mut self, ppm: f64) -> MemoryDevice {
        self.clock_ppm = ppm;
        self
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
        // Periods are due from the clock as if the device had run since its
        // first period: a restart goes on where the stop left off.
        let now = Instant::now();
        self.started = Some(now.checked_sub(self.config.period_time() * self.periods as u32).unwrap_or(now));
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
            let nominal = self.config.period_time() * (self.periods as u32 + 1);
            let due = self.started.unwrap_or_else(Instant::now) + nominal.div_f64(1.0 + self.clock_ppm * 1e-6);
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
