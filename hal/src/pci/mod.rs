//! PCI devices: addresses, the [`PciDevice`] trait drivers program against,
//! config-space registers, and the backends ([`vfio`] for real hardware,
//! [`mem`] for emulated devices) plus sysfs discovery ([`sysfs`]).

pub mod config;
pub mod mem;
pub mod sysfs;
pub mod vfio;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::dma::DmaBuffer;
use crate::irq::{IrqEvent, IrqKind};
use crate::mmio::RegisterIo;
use crate::{Error, Result};

/// A PCI function address, `DDDD:BB:DD.F` as sysfs spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciAddress {
    pub domain: u16,
    pub bus: u8,
    pub device: u8,
    pub function: u8,
}

impl fmt::Display for PciAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:02x}:{:02x}.{:x}", self.domain, self.bus, self.device, self.function)
    }
}

impl FromStr for PciAddress {
    type Err = Error;

    /// Parses `DDDD:BB:DD.F` or the short `BB:DD.F` (domain 0), as lspci prints.
    fn from_str(text: &str) -> Result<PciAddress> {
        let bad = || Error::BadPciAddress { text: text.to_string() };
        let (head, function) = text.rsplit_once('.').ok_or_else(bad)?;
        let parts: Vec<&str> = head.split(':').collect();
        let (domain, bus, device) = match parts.as_slice() {
            [d, b, s] => (*d, *b, *s),
            [b, s] => ("0", *b, *s),
            _ => return Err(bad()),
        };
        let hex = |s: &str, max: u32| {
            if s.is_empty() || s.len() > 4 {
                return None;
            }
            u32::from_str_radix(s, 16).ok().filter(|v| *v <= max)
        };
        Ok(PciAddress {
            domain: hex(domain, 0xffff).ok_or_else(bad)? as u16,
            bus: hex(bus, 0xff).ok_or_else(bad)? as u8,
            device: hex(device, 0x1f).ok_or_else(bad)? as u8,
            function: hex(function, 7).ok_or_else(bad)? as u8,
        })
    }
}

/// A PCI function a driver can program: config space, BARs, DMA, interrupts.
///
/// Implemented by [`vfio::VfioPci`] (real hardware through VFIO) and
/// [`mem::MemPci`] (an emulated device in memory), so a driver's bring-up and
/// streaming code runs unchanged against both.
pub trait PciDevice: Send + Sync {
    /// The function's address.
    fn address(&self) -> PciAddress;

    /// Read `buf.len()` bytes of config space at `offset`.
    fn config_read(&self, offset: u16, buf: &mut [u8]) -> Result<()>;

    /// Write `data` into config space at `offset`.
    fn config_write(&self, offset: u16, data: &[u8]) -> Result<()>;

    /// Map memory BAR `bar` (0-5) as a register window.
    fn map_bar(&self, bar: u8) -> Result<Arc<dyn RegisterIo>>;

    /// Allocate DMA memory the device can reach (at least `len` bytes, whole
    /// pages, zeroed). `what` names it in errors ("CORB", "stream 1 BDL").
    fn alloc_dma(&self, len: usize, what: &str) -> Result<DmaBuffer>;

    /// Route the device's interrupt of this kind to a new eventfd.
    fn enable_irq(&self, kind: IrqKind) -> Result<IrqEvent>;

    /// Re-arm INTx after handling an interrupt (a no-op for MSI).
    fn unmask_irq(&self) -> Result<()>;

    /// Stop delivering interrupts.
    fn disable_irq(&self) -> Result<()>;

    /// Read a little-endian u16 from config space.
    fn config_read16(&self, offset: u16) -> Result<u16> {
        let mut b = [0u8; 2];
        self.config_read(offset, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    /// Read a little-endian u32 from config space.
    fn config_read32(&self, offset: u16) -> Result<u32> {
        let mut b = [0u8; 4];
        self.config_read(offset, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Write a little-endian u16 into config space.
    fn config_write16(&self, offset: u16, value: u16) -> Result<()> {
        self.config_write(offset, &value.to_le_bytes())
    }

    /// Vendor and device id from config space.
    fn ids(&self) -> Result<(u16, u16)> {
        Ok((self.config_read16(config::VENDOR_ID)?, self.config_read16(config::DEVICE_ID)?))
    }

    /// Turn on memory decoding and bus mastering (needed before any DMA).
    fn enable_bus_master(&self) -> Result<()> {
        let cmd = self.config_read16(config::COMMAND)?;
        self.config_write16(config::COMMAND, cmd | config::COMMAND_MEMORY | config::COMMAND_BUS_MASTER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_print_like_sysfs() {
        let a: PciAddress = "0000:00:1b.0".parse().unwrap();
        assert_eq!(a, PciAddress { domain: 0, bus: 0, device: 0x1b, function: 0 });
        assert_eq!(a.to_string(), "0000:00:1b.0");
        let short: PciAddress = "03:00.1".parse().unwrap();
        assert_eq!(short.to_string(), "0000:03:00.1");
    }

    #[test]
    fn bad_addresses_say_what_was_wrong() {
        for text in ["", "0000:00:1b", "00:20.0", "0000:00:1b.8", "zz:00.0", "0000:100:00.0", "1:2:3:4.0"] {
            let err = text.parse::<PciAddress>().unwrap_err();
            assert!(err.to_string().contains(&format!("`{text}`")), "{text}: {err}");
        }
    }
}
