//! The hardware PCM stream: what a driver (HDA stream, UAC endpoint, an
//! emulated device) offers the mixer engine.
//!
//! The model is ALSA's: a ring buffer of `periods` periods of `period_frames`
//! frames each, which the hardware walks; the engine wakes once per period
//! ([`PcmStream::wait_period`]), reads the hardware position and fills
//! (playback) or drains (capture) the ring behind it.

use std::time::Duration;

use crate::Result;

/// Sample formats a device or a client may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SampleFormat {
    U8,
    S8,
    S16Le,
    S16Be,
    /// 24-bit samples in the low bits of 32-bit little-endian words.
    S24Le,
    S24Be,
    /// Packed 3-byte 24-bit samples.
    S24_3Le,
    S24_3Be,
    S32Le,
    S32Be,
    F32Le,
    F32Be,
    F64Le,
    F64Be,
    /// G.711 mu-law (8 bits).
    MuLaw,
    /// G.711 A-law (8 bits).
    ALaw,
}

impl SampleFormat {
    /// Bytes one sample occupies.
    pub const fn bytes(self) -> usize {
        use SampleFormat::*;
        match self {
            U8 | S8 | MuLaw | ALaw => 1,
            S16Le | S16Be => 2,
            S24_3Le | S24_3Be => 3,
            S24Le | S24Be | S32Le | S32Be | F32Le | F32Be => 4,
            F64Le | F64Be => 8,
        }
    }

    /// Significant bits of a sample.
    pub const fn bits(self) -> u32 {
        use SampleFormat::*;
        match self {
            U8 | S8 | MuLaw | ALaw => 8,
            S16Le | S16Be => 16,
            S24Le | S24Be | S24_3Le | S24_3Be => 24,
            S32Le | S32Be | F32Le | F32Be => 32,
            F64Le | F64Be => 64,
        }
    }
}

/// Which way audio flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Playback,
    Capture,
}

/// A stream's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PcmConfig {
    pub format: SampleFormat,
    pub rate: u32,
    pub channels: u16,
    pub period_frames: usize,
    pub periods: usize,
}

impl PcmConfig {
    /// Bytes per frame (one sample for every channel).
    pub const fn frame_bytes(&self) -> usize {
        self.format.bytes() * self.channels as usize
    }
    /// Frames in the whole ring.
    pub const fn buffer_frames(&self) -> usize {
        self.period_frames * self.periods
    }
    /// The period as a duration.
    pub fn period_time(&self) -> Duration {
        Duration::from_nanos((self.period_frames as u64 * 1_000_000_000) / u64::from(self.rate.max(1)))
    }
}

/// Where a stream is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PcmState {
    /// Configured, not running.
    Prepared,
    Running,
    /// The ring ran dry (playback) or over (capture).
    Xrun,
    /// The device went away.
    Disconnected,
}

/// A hardware PCM stream with a period-based DMA ring.
pub trait PcmStream: Send {
    fn direction(&self) -> Direction;
    fn config(&self) -> PcmConfig;
    fn state(&self) -> PcmState;
    /// Start the hardware walking the ring. After a [`PcmStream::stop`] it
    /// walks on from where it stopped (an HDA stream's DMA pauses, a USB
    /// stream's pump keeps its count): read [`PcmStream::position`] before
    /// starting to know where the first frame goes.
    fn start(&mut self) -> Result<()>;
    /// Stop it, leaving the device quiet.
    fn stop(&mut self) -> Result<()>;
    /// The hardware's position in the ring, in frames (0..buffer_frames).
    fn position(&mut self) -> Result<usize>;
    /// Copy frames into the ring at frame `offset` (playback).
    fn write_frames(&mut self, offset: usize, data: &[u8]) -> Result<()>;
    /// Copy frames out of the ring at frame `offset` (capture).
    fn read_frames(&mut self, offset: usize, out: &mut [u8]) -> Result<()>;
    /// Block until the next period boundary (interrupt or timer), at most `timeout`.
    fn wait_period(&mut self, timeout: Duration) -> Result<()>;
    /// Overruns/underruns the hardware side has counted.
    fn xruns(&self) -> u64;
    /// Whether the position runs on the device's clock whatever its user
    /// does (a DMA engine walking its ring), so that the time between two
    /// looks can tell a whole ring that went by unseen. `false`, the
    /// default, for positions that move only as they are waited on or fed
    /// (the kernel skips the same check for SNDRV_PCM_INFO_BATCH devices).
    fn free_running(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_and_period_arithmetic() {
        let c = PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: 480, periods: 4 };
        assert_eq!(c.frame_bytes(), 4);
        assert_eq!(c.buffer_frames(), 1920);
        assert_eq!(c.period_time(), Duration::from_millis(10));
        assert_eq!(SampleFormat::S24_3Be.bytes(), 3);
        assert_eq!(SampleFormat::S24Le.bits(), 24);
    }
}
