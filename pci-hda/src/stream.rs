//! Stream descriptors: a cyclic DMA buffer described by a buffer descriptor
//! list (BDL), walked by the controller one period at a time.

use std::time::Duration;

use outboard_hal::dma::DmaBuffer;

use crate::controller::{Controller, DMA_TIMEOUT};
use crate::regs::{self, sd, Regs};
use crate::verb::stream_format;
use crate::{Error, Result};

/// Bytes of one BDL entry: address (64), length (32), flags (32; bit 0 = IOC).
const BDL_ENTRY: usize = 16;
/// Most BDL entries a stream may have (spec: 256).
pub const MAX_PERIODS: usize = 256;

/// The shape of a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamConfig {
    pub rate: u32,
    /// Container bits per sample: 8, 16, 20, 24 or 32.
    pub bits: u32,
    pub channels: u16,
    pub period_bytes: usize,
    pub periods: usize,
}

impl StreamConfig {
    /// The SDnFMT / converter format word.
    pub fn format(&self) -> Result<u16> {
        stream_format(self.rate, self.bits, self.channels).ok_or_else(|| {
            Error::Invalid(format!("HDA cannot carry {} Hz, {} bits, {} channels", self.rate, self.bits, self.channels))
        })
    }

    /// Bytes in the whole ring.
    pub fn buffer_bytes(&self) -> usize {
        self.period_bytes * self.periods
    }
}

/// One running (or ready) stream descriptor and its memory.
pub struct Stream {
    regs: Regs,
    index: u8,
    tag: u8,
    config: StreamConfig,
    data: DmaBuffer,
    _bdl: DmaBuffer,
}

impl Stream {
    /// Reset descriptor `index`, give it stream tag `tag` (1-15), and lay out a
    /// BDL of `config.periods` periods with an interrupt at the end of each.
    pub fn setup(ctrl: &Controller, index: u8, tag: u8, config: StreamConfig) -> Result<Stream> {
        let fmt = config.format()?;
        if !(1..=15).contains(&tag) {
            return Err(Error::Invalid(format!("stream tag {tag} (1-15)")));
        }
        // Periods must be at least 128 bytes apart and a multiple of 128 bytes
        // is what controllers handle best; HDA requires 2+ BDL entries.
        if !(2..=MAX_PERIODS).contains(&config.periods) || config.period_bytes == 0 || config.period_bytes % 128 != 0 {
            return Err(Error::Invalid(format!(
                "{} periods of {} bytes (2-{MAX_PERIODS} periods, each a non-zero multiple of 128 bytes)",
                config.periods, config.period_bytes
            )));
        }
        let regs = ctrl.regs().clone();
        let what = |s: &str| format!("stream {index} {s}");
        let data = ctrl.pci().alloc_dma(config.buffer_bytes(), &what("buffer"))?;
        let bdl = ctrl.pci().alloc_dma(config.periods * BDL_ENTRY, &what("BDL"))?;
        for i in 0..config.periods {
            let at = i * BDL_ENTRY;
            bdl.write_u64(at, data.iova() + (i * config.period_bytes) as u64)?;
            bdl.write_u32(at + 8, config.period_bytes as u32)?;
            bdl.write_u32(at + 12, 1)?; // interrupt on completion
        }

        let s = Stream { regs, index, tag, config, data, _bdl: bdl };
        s.stop()?;
        s.program(fmt)?;
        Ok(s)
    }

    /// Reset the descriptor and give it this stream's tag, ring, BDL and
    /// format: its position is 0 and a start begins at the ring's start.
    fn program(&self, fmt: u16) -> Result<()> {
        self.reset()?;
        let (r, index, config) = (&self.regs, self.index, &self.config);
        let ctl2 = r.sd_read(index, sd::CTL2)?;
        r.sd_write(index, sd::CTL2, sd::ctl2::STRM.set(ctl2, self.tag.into()))?;
        r.sd_write(index, sd::CBL, config.buffer_bytes() as u32)?;
        r.sd_write(index, sd::LVI, (config.periods - 1) as u32)?;
        r.sd_write(index, sd::FMT, fmt.into())?;
        r.sd_write(index, sd::BDPL, self._bdl.iova() as u32)?;
        r.sd_write(index, sd::BDPU, (self._bdl.iova() >> 32) as u32)?;
        let ctl = r.sd_read(index, sd::CTL)?;
        r.sd_write(index, sd::CTL, ctl | sd::ctl::IOCE.mask() | sd::ctl::DEIE.mask())?;
        Ok(())
    }

    /// Stop the stream and put it back at the start of its ring (as Linux's
    /// prepare does): whether a controller resumes a stopped stream where it
    /// was or at its first BDL entry varies (QEMU's goes back to the first
    /// entry and keeps counting LPIB on), so a restart starts from a reset.
    pub fn rewind(&self) -> Result<()> {
        self.stop()?;
        self.program(self.config.format()?)
    }

    fn reset(&self) -> Result<()> {
        let r = &self.regs;
        let ctl = r.sd_read(self.index, sd::CTL)?;
        r.sd_write(self.index, sd::CTL, ctl | sd::ctl::SRST.mask())?;
        r.wait_for(
            sd::CTL.name,
            "stream reset to take hold (SRST=1)",
            DMA_TIMEOUT,
            || r.sd_read(self.index, sd::CTL),
            |v| sd::ctl::SRST.get(v) == 1,
        )?;
        r.sd_write(self.index, sd::CTL, ctl & !sd::ctl::SRST.mask())?;
        r.wait_for(
            sd::CTL.name,
            "stream reset to end (SRST=0)",
            DMA_TIMEOUT,
            || r.sd_read(self.index, sd::CTL),
            |v| sd::ctl::SRST.get(v) == 0,
        )?;
        Ok(())
    }

    pub fn index(&self) -> u8 {
        self.index
    }
    pub fn tag(&self) -> u8 {
        self.tag
    }
    pub fn config(&self) -> StreamConfig {
        self.config
    }
    pub fn format(&self) -> Result<u16> {
        self.config.format()
    }

    /// The stream's DMA ring.
    pub fn buffer(&self) -> &DmaBuffer {
        &self.data
    }

    /// Start the DMA engine, with this stream's interrupt enabled.
    pub fn start(&self) -> Result<()> {
        let r = &self.regs;
        r.sd_write(self.index, sd::STS, sd::sts::BCIS.mask() | sd::sts::FIFOE.mask() | sd::sts::DESE.mask())?;
        let intctl = r.read(regs::INTCTL)?;
        r.write(regs::INTCTL, intctl | (1 << self.index))?;
        let ctl = r.sd_read(self.index, sd::CTL)?;
        r.sd_write(self.index, sd::CTL, ctl | sd::ctl::RUN.mask())?;
        r.wait_for(
            sd::CTL.name,
            "the stream to run (RUN=1)",
            DMA_TIMEOUT,
            || r.sd_read(self.index, sd::CTL),
            |v| sd::ctl::RUN.get(v) == 1,
        )?;
        Ok(())
    }

    /// Stop the DMA engine and mask this stream's interrupt.
    pub fn stop(&self) -> Result<()> {
        let r = &self.regs;
        let ctl = r.sd_read(self.index, sd::CTL)?;
        r.sd_write(self.index, sd::CTL, ctl & !sd::ctl::RUN.mask())?;
        r.wait_for(
            sd::CTL.name,
            "the stream to stop (RUN=0)",
            DMA_TIMEOUT,
            || r.sd_read(self.index, sd::CTL),
            |v| sd::ctl::RUN.get(v) == 0,
        )?;
        let intctl = r.read(regs::INTCTL)?;
        r.write(regs::INTCTL, intctl & !(1 << self.index))?;
        r.sd_write(self.index, sd::STS, sd::sts::BCIS.mask() | sd::sts::FIFOE.mask() | sd::sts::DESE.mask())?;
        Ok(())
    }

    /// Read and clear the stream status; returns the bits that were set.
    pub fn ack(&self) -> Result<u8> {
        let sts = self.regs.sd_read(self.index, sd::STS)? as u8;
        if sts != 0 {
            self.regs.sd_write(self.index, sd::STS, sts.into())?;
        }
        if sd::sts::DESE.get(sts.into()) != 0 {
            return Err(Error::Hardware {
                device: self.regs.device().into(),
                what: format!("stream {}: descriptor error (bad BDL address)", self.index),
            });
        }
        Ok(sts)
    }

    /// Link position in the ring, in bytes (SDnLPIB).
    pub fn lpib(&self) -> Result<usize> {
        Ok(self.regs.sd_read(self.index, sd::LPIB)? as usize)
    }

    /// Copy data into the ring at `offset` bytes (wrapping).
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<()> {
        let size = self.config.buffer_bytes();
        let start = offset % size;
        let first = data.len().min(size - start);
        self.data.write_bytes(start, &data[..first])?;
        if first < data.len() {
            self.data.write_bytes(0, &data[first..])?;
        }
        Ok(())
    }

    /// How long one period lasts.
    pub fn period_time(&self) -> Duration {
        let frame =
            (self.config.bits.div_ceil(8).max(1) as usize).next_power_of_two() * usize::from(self.config.channels);
        Duration::from_micros(
            (self.config.period_bytes / frame.max(1)) as u64 * 1_000_000 / u64::from(self.config.rate),
        )
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("index", &self.index)
            .field("tag", &self.tag)
            .field("config", &self.config)
            .finish()
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            log::warn!("{}: stopping stream {}: {e}", self.regs.device(), self.index);
        }
    }
}
