//! The HDA controller register table (Intel High Definition Audio
//! Specification 1.0a, §3.3). Driver logic names registers and fields from
//! here; no offsets appear anywhere else.

use std::sync::Arc;
use std::time::{Duration, Instant};

use outboard_hal::mmio::{RegisterIo, Width};

use crate::{Error, Result};

/// One register: name (for errors), offset in BAR0 (or in a stream
/// descriptor, for [`sd`]), width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reg {
    pub name: &'static str,
    pub offset: u64,
    pub width: Width,
}

const fn reg(name: &'static str, offset: u64, width: Width) -> Reg {
    Reg { name, offset, width }
}

/// A bit field `hi:lo` of a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub lo: u32,
    pub hi: u32,
}

impl Field {
    pub const fn mask(self) -> u32 {
        (u32::MAX >> (31 - (self.hi - self.lo))) << self.lo
    }
    pub const fn get(self, value: u32) -> u32 {
        (value & self.mask()) >> self.lo
    }
    pub const fn set(self, value: u32, field: u32) -> u32 {
        (value & !self.mask()) | ((field << self.lo) & self.mask())
    }
}

const fn bits(hi: u32, lo: u32) -> Field {
    Field { lo, hi }
}
const fn bit(n: u32) -> Field {
    Field { lo: n, hi: n }
}

use Width::{W16, W32, W8};

/// Global capabilities.
pub const GCAP: Reg = reg("GCAP", 0x00, W16);
pub mod gcap {
    use super::*;
    /// 64-bit addresses supported.
    pub const OK64: Field = bit(0);
    /// Serial data out signals.
    pub const NSDO: Field = bits(2, 1);
    /// Bidirectional streams.
    pub const BSS: Field = bits(7, 3);
    /// Input streams.
    pub const ISS: Field = bits(11, 8);
    /// Output streams.
    pub const OSS: Field = bits(15, 12);
}
pub const VMIN: Reg = reg("VMIN", 0x02, W8);
pub const VMAJ: Reg = reg("VMAJ", 0x03, W8);
/// Global control.
pub const GCTL: Reg = reg("GCTL", 0x08, W32);
pub mod gctl {
    use super::*;
    /// Controller reset (0 = in reset).
    pub const CRST: Field = bit(0);
    /// Accept unsolicited responses.
    pub const UNSOL: Field = bit(8);
}
pub const WAKEEN: Reg = reg("WAKEEN", 0x0c, W16);
/// State change status: bit n set when codec n is present (write 1 to clear).
pub const STATESTS: Reg = reg("STATESTS", 0x0e, W16);
/// Interrupt control.
pub const INTCTL: Reg = reg("INTCTL", 0x20, W32);
pub mod intctl {
    use super::*;
    /// Stream interrupt enables, bit per stream descriptor.
    pub const SIE: Field = bits(29, 0);
    /// Controller (CORB/RIRB) interrupt enable.
    pub const CIE: Field = bit(30);
    /// Global interrupt enable.
    pub const GIE: Field = bit(31);
}
/// Interrupt status (same layout as INTCTL).
pub const INTSTS: Reg = reg("INTSTS", 0x24, W32);

pub const CORBLBASE: Reg = reg("CORBLBASE", 0x40, W32);
pub const CORBUBASE: Reg = reg("CORBUBASE", 0x44, W32);
/// CORB write pointer (entry index, 7:0).
pub const CORBWP: Reg = reg("CORBWP", 0x48, W16);
/// CORB read pointer; bit 15 resets it.
pub const CORBRP: Reg = reg("CORBRP", 0x4a, W16);
pub mod corbrp {
    use super::*;
    pub const RP: Field = bits(7, 0);
    pub const RST: Field = bit(15);
}
pub const CORBCTL: Reg = reg("CORBCTL", 0x4c, W8);
pub mod corbctl {
    use super::*;
    /// Memory error interrupt enable.
    pub const CMEIE: Field = bit(0);
    /// CORB DMA engine run.
    pub const RUN: Field = bit(1);
}
pub const CORBSTS: Reg = reg("CORBSTS", 0x4d, W8);
pub const CORBSIZE: Reg = reg("CORBSIZE", 0x4e, W8);
/// Ring size fields shared by CORBSIZE and RIRBSIZE.
pub mod ringsize {
    use super::*;
    /// 0 = 2 entries, 1 = 16, 2 = 256.
    pub const SIZE: Field = bits(1, 0);
    /// Capability bits: 4 = 2 entries, 5 = 16, 6 = 256.
    pub const CAP: Field = bits(7, 4);
}

pub const RIRBLBASE: Reg = reg("RIRBLBASE", 0x50, W32);
pub const RIRBUBASE: Reg = reg("RIRBUBASE", 0x54, W32);
/// RIRB write pointer (7:0); bit 15 resets it.
pub const RIRBWP: Reg = reg("RIRBWP", 0x58, W16);
pub mod rirbwp {
    use super::*;
    pub const WP: Field = bits(7, 0);
    pub const RST: Field = bit(15);
}
/// Responses before a RIRB interrupt.
pub const RINTCNT: Reg = reg("RINTCNT", 0x5a, W16);
pub const RIRBCTL: Reg = reg("RIRBCTL", 0x5c, W8);
pub mod rirbctl {
    use super::*;
    /// Interrupt after RINTCNT responses.
    pub const RINTCTL: Field = bit(0);
    /// RIRB DMA engine enable.
    pub const DMAEN: Field = bit(1);
    /// Overrun interrupt enable.
    pub const OIC: Field = bit(2);
}
pub const RIRBSTS: Reg = reg("RIRBSTS", 0x5d, W8);
pub mod rirbsts {
    use super::*;
    /// Response interrupt flag (write 1 to clear).
    pub const RINTFL: Field = bit(0);
    /// Overrun (write 1 to clear).
    pub const OIS: Field = bit(2);
}
pub const RIRBSIZE: Reg = reg("RIRBSIZE", 0x5e, W8);

/// Immediate command output.
pub const ICOI: Reg = reg("ICOI", 0x60, W32);
/// Immediate response input.
pub const ICII: Reg = reg("ICII", 0x64, W32);
/// Immediate command status.
pub const ICIS: Reg = reg("ICIS", 0x68, W16);
pub mod icis {
    use super::*;
    /// Busy: a command is being sent.
    pub const ICB: Field = bit(0);
    /// A response is valid in ICII.
    pub const IRV: Field = bit(1);
}

/// DMA position buffer base (bit 0 enables it).
pub const DPLBASE: Reg = reg("DPLBASE", 0x70, W32);
pub const DPUBASE: Reg = reg("DPUBASE", 0x74, W32);

/// Stream descriptor registers, at [`sd::base`] for descriptor n.
pub mod sd {
    use super::*;
    /// Offset of the first stream descriptor.
    pub const FIRST: u64 = 0x80;
    /// Bytes between stream descriptors.
    pub const STRIDE: u64 = 0x20;

    /// Offset of stream descriptor `index` (input streams first, then output,
    /// then bidirectional).
    pub const fn base(index: u8) -> u64 {
        FIRST + STRIDE * index as u64
    }

    /// Control, low 16 bits.
    pub const CTL: Reg = reg("SDnCTL", 0x00, W16);
    pub mod ctl {
        use super::*;
        pub const SRST: Field = bit(0);
        pub const RUN: Field = bit(1);
        /// Interrupt on completion enable.
        pub const IOCE: Field = bit(2);
        pub const FEIE: Field = bit(3);
        pub const DEIE: Field = bit(4);
    }
    /// Control, byte 2: stream number and direction.
    pub const CTL2: Reg = reg("SDnCTL[23:16]", 0x02, W8);
    pub mod ctl2 {
        use super::*;
        /// Stream number (tag), 1-15.
        pub const STRM: Field = bits(7, 4);
        /// Bidirectional streams: 1 = output.
        pub const DIR: Field = bit(3);
    }
    /// Status (write 1 to clear).
    pub const STS: Reg = reg("SDnSTS", 0x03, W8);
    pub mod sts {
        use super::*;
        /// Buffer completion interrupt.
        pub const BCIS: Field = bit(2);
        pub const FIFOE: Field = bit(3);
        pub const DESE: Field = bit(4);
        pub const FIFORDY: Field = bit(5);
    }
    /// Link position in buffer (bytes).
    pub const LPIB: Reg = reg("SDnLPIB", 0x04, W32);
    /// Cyclic buffer length (bytes).
    pub const CBL: Reg = reg("SDnCBL", 0x08, W32);
    /// Last valid BDL entry index.
    pub const LVI: Reg = reg("SDnLVI", 0x0c, W16);
    pub const FIFOS: Reg = reg("SDnFIFOS", 0x10, W16);
    /// Stream format (same encoding as the codec converter format).
    pub const FMT: Reg = reg("SDnFMT", 0x12, W16);
    pub const BDPL: Reg = reg("SDnBDPL", 0x18, W32);
    pub const BDPU: Reg = reg("SDnBDPU", 0x1c, W32);
}

/// Register access for one controller: named reads and writes, and waits
/// with deadlines whose errors name the register.
#[derive(Clone, Debug)]
pub struct Regs {
    io: Arc<dyn RegisterIo>,
    device: String,
}

impl Regs {
    pub fn new(io: Arc<dyn RegisterIo>, device: String) -> Regs {
        Regs { io, device }
    }

    pub fn device(&self) -> &str {
        &self.device
    }

    /// Read a controller register.
    pub fn read(&self, r: Reg) -> Result<u32> {
        Ok(self.io.read(r.offset, r.width)?)
    }

    /// Write a controller register.
    pub fn write(&self, r: Reg, value: u32) -> Result<()> {
        Ok(self.io.write(r.offset, r.width, value)?)
    }

    /// Read-modify-write one field.
    pub fn update(&self, r: Reg, f: Field, value: u32) -> Result<()> {
        let v = self.read(r)?;
        self.write(r, f.set(v, value))
    }

    /// Read a register of stream descriptor `index`.
    pub fn sd_read(&self, index: u8, r: Reg) -> Result<u32> {
        Ok(self.io.read(sd::base(index) + r.offset, r.width)?)
    }

    /// Write a register of stream descriptor `index`.
    pub fn sd_write(&self, index: u8, r: Reg, value: u32) -> Result<()> {
        Ok(self.io.write(sd::base(index) + r.offset, r.width, value)?)
    }

    /// Poll `read()` until `done(value)`, or fail after `timeout` naming `register`.
    pub fn wait_for(
        &self,
        register: &'static str,
        what: &'static str,
        timeout: Duration,
        mut read: impl FnMut() -> Result<u32>,
        done: impl Fn(u32) -> bool,
    ) -> Result<u32> {
        let deadline = Instant::now() + timeout;
        loop {
            let v = read()?;
            if done(v) {
                return Ok(v);
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    device: self.device.clone(),
                    register,
                    what,
                    ms: timeout.as_millis() as u64,
                });
            }
            std::thread::sleep(Duration::from_micros(50));
        }
    }

    /// Wait until field `f` of `r` reads `value`.
    pub fn wait_field(&self, r: Reg, f: Field, value: u32, what: &'static str, timeout: Duration) -> Result<u32> {
        self.wait_for(r.name, what, timeout, || self.read(r), |v| f.get(v) == value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_extract_and_insert() {
        // GCAP 0x4401: 4 output, 4 input, 0 bidirectional streams, 64-bit.
        let g = 0x4401;
        assert_eq!(gcap::OSS.get(g), 4);
        assert_eq!(gcap::ISS.get(g), 4);
        assert_eq!(gcap::BSS.get(g), 0);
        assert_eq!(gcap::OK64.get(g), 1);
        assert_eq!(sd::ctl2::STRM.set(0x0f, 5), 0x5f);
        assert_eq!(intctl::GIE.mask(), 0x8000_0000);
        assert_eq!(intctl::SIE.mask(), 0x3fff_ffff);
        assert_eq!(sd::base(4), 0x100);
    }
}
