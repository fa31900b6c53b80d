//! An in-memory PCI function: the backend emulated devices plug into.
//!
//! The emulator implements [`MmioHandler`] for its BAR, reaches DMA memory by
//! IOVA through the [`DmaSpace`] it shares with the driver, and raises its
//! interrupt through an [`IrqLine`]. The driver sees an ordinary
//! [`PciDevice`].

use std::sync::{Arc, Mutex};

use super::{config, PciAddress, PciDevice};
use crate::dma::{DmaBuffer, DmaSpace};
use crate::irq::{IrqEvent, IrqKind};
use crate::mmio::{HandlerRegion, MmioHandler, RegisterIo};
use crate::{Error, Result};

/// The interrupt wire between an emulated device and its driver.
///
/// INTx behaves like VFIO's: once raised it masks itself until the driver
/// calls [`PciDevice::unmask_irq`]; raising while masked is remembered and
/// delivered on unmask (the line is level-triggered).
#[derive(Clone, Default)]
pub struct IrqLine {
    state: Arc<Mutex<LineState>>,
}

#[derive(Default)]
struct LineState {
    event: Option<IrqEvent>,
    masked: bool,
    pending: bool,
    raised: u64,
}

impl IrqLine {
    pub fn new() -> IrqLine {
        IrqLine::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LineState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The device asserts its interrupt. Dropped if the driver enabled none.
    pub fn raise(&self) {
        let mut s = self.lock();
        s.raised += 1;
        let Some(ev) = s.event.clone() else { return };
        if ev.kind() == IrqKind::Intx {
            if s.masked {
                s.pending = true;
                return;
            }
            s.masked = true;
        }
        if let Err(e) = ev.trigger() {
            log::warn!("emulated interrupt lost: {e}");
        }
    }

    /// How many times the device raised its interrupt (enabled or not).
    pub fn raised(&self) -> u64 {
        self.lock().raised
    }

    fn connect(&self, event: Option<IrqEvent>) {
        let mut s = self.lock();
        s.event = event;
        s.masked = false;
        s.pending = false;
    }

    fn unmask(&self) {
        let mut s = self.lock();
        s.masked = false;
        if s.pending {
            s.pending = false;
            if let Some(ev) = s.event.clone() {
                s.masked = true;
                let _ = ev.trigger();
            }
        }
    }
}

/// An emulated PCI function.
pub struct MemPci {
    addr: PciAddress,
    config: Mutex<[u8; 256]>,
    bars: [Option<HandlerRegion>; 6],
    dma: DmaSpace,
    irq: IrqLine,
    irq_kinds: Vec<IrqKind>,
}

impl MemPci {
    /// A function with these ids and 24-bit class code, DMA through `dma` and
    /// its interrupt on `irq`. Both MSI and INTx are offered.
    pub fn new(addr: PciAddress, vendor: u16, device: u16, class: u32, dma: DmaSpace, irq: IrqLine) -> MemPci {
        let mut cfg = [0u8; 256];
        cfg[config::VENDOR_ID as usize..][..2].copy_from_slice(&vendor.to_le_bytes());
        cfg[config::DEVICE_ID as usize..][..2].copy_from_slice(&device.to_le_bytes());
        cfg[config::CLASS_PROG_IF as usize..][..3].copy_from_slice(&class.to_le_bytes()[..3]);
        cfg[config::INTERRUPT_PIN as usize] = 1;
        MemPci {
            addr,
            config: Mutex::new(cfg),
            bars: Default::default(),
            dma,
            irq,
            irq_kinds: vec![IrqKind::Msi, IrqKind::Intx],
        }
    }

    /// Give BAR `bar` a window of `len` bytes served by `handler`.
    pub fn with_bar(mut self, bar: usize, len: u64, handler: Arc<dyn MmioHandler>) -> MemPci {
        if let Some(slot) = self.bars.get_mut(bar) {
            *slot = Some(HandlerRegion::new(format!("{} BAR{bar}", self.addr), len, handler));
        }
        self
    }

    /// Offer only these interrupt kinds (to test a driver's fallbacks).
    pub fn with_irq_kinds(mut self, kinds: &[IrqKind]) -> MemPci {
        self.irq_kinds = kinds.to_vec();
        self
    }

    /// Whether the driver has enabled bus mastering (DMA).
    pub fn bus_master_enabled(&self) -> bool {
        let cfg = self.config.lock().unwrap_or_else(|e| e.into_inner());
        let cmd = u16::from_le_bytes([cfg[config::COMMAND as usize], cfg[config::COMMAND as usize + 1]]);
        cmd & config::COMMAND_BUS_MASTER != 0
    }

    fn check(&self, offset: u16, len: usize) -> Result<std::ops::Range<usize>> {
        let start = usize::from(offset);
        match start.checked_add(len) {
            Some(end) if end <= 256 => Ok(start..end),
            _ => Err(Error::OutOfBounds {
                what: format!("{} config space", self.addr),
                offset: offset.into(),
                len,
                size: 256,
            }),
        }
    }
}

impl PciDevice for MemPci {
    fn address(&self) -> PciAddress {
        self.addr
    }

    fn config_read(&self, offset: u16, buf: &mut [u8]) -> Result<()> {
        let range = self.check(offset, buf.len())?;
        buf.copy_from_slice(&self.config.lock().unwrap_or_else(|e| e.into_inner())[range]);
        Ok(())
    }

    fn config_write(&self, offset: u16, data: &[u8]) -> Result<()> {
        let range = self.check(offset, data.len())?;
        let mut cfg = self.config.lock().unwrap_or_else(|e| e.into_inner());
        // Only the command register and the interrupt line are writable here;
        // ids and class are read-only as on hardware.
        for (i, b) in range.zip(data) {
            if (config::COMMAND as usize..config::COMMAND as usize + 2).contains(&i)
                || i == config::INTERRUPT_LINE as usize
            {
                cfg[i] = *b;
            }
        }
        Ok(())
    }

    fn map_bar(&self, bar: u8) -> Result<Arc<dyn RegisterIo>> {
        match self.bars.get(usize::from(bar)) {
            Some(Some(region)) => Ok(Arc::new(region.clone())),
            _ => Err(Error::Unsupported {
                device: self.addr.to_string(),
                what: format!("BAR{bar} (not implemented by the device)"),
            }),
        }
    }

    fn alloc_dma(&self, len: usize, what: &str) -> Result<DmaBuffer> {
        self.dma.alloc(len, what)
    }

    fn enable_irq(&self, kind: IrqKind) -> Result<IrqEvent> {
        if !self.irq_kinds.contains(&kind) {
            return Err(Error::Unsupported { device: self.addr.to_string(), what: format!("{kind:?} interrupts") });
        }
        let ev = IrqEvent::new(&format!("{} {kind:?}", self.addr), kind)?;
        self.irq.connect(Some(ev.clone()));
        Ok(ev)
    }

    fn unmask_irq(&self) -> Result<()> {
        self.irq.unmask();
        Ok(())
    }

    fn disable_irq(&self) -> Result<()> {
        self.irq.connect(None);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    struct Echo;
    impl MmioHandler for Echo {
        fn mmio_read(&self, offset: u64, _: crate::mmio::Width) -> u32 {
            offset as u32
        }
        fn mmio_write(&self, _: u64, _: crate::mmio::Width, _: u32) {}
    }

    fn device() -> (MemPci, IrqLine) {
        let irq = IrqLine::new();
        let dev = MemPci::new(
            "0000:00:1b.0".parse().unwrap(),
            0x8086,
            0x293e,
            0x040300,
            DmaSpace::new("t", 0x1000),
            irq.clone(),
        )
        .with_bar(0, 0x4000, Arc::new(Echo));
        (dev, irq)
    }

    #[test]
    fn config_space_ids_class_and_bus_master() {
        let (dev, _) = device();
        assert_eq!(dev.ids().unwrap(), (0x8086, 0x293e));
        assert_eq!(dev.config_read16(config::CLASS_PROG_IF + 1).unwrap(), config::CLASS_HDA);
        assert!(!dev.bus_master_enabled());
        dev.enable_bus_master().unwrap();
        assert!(dev.bus_master_enabled());
        dev.config_write16(config::VENDOR_ID, 0).unwrap();
        assert_eq!(dev.ids().unwrap().0, 0x8086, "ids are read-only");
        assert!(dev.config_read32(254).is_err());
    }

    #[test]
    fn bars_map_and_missing_bars_are_named() {
        let (dev, _) = device();
        let bar = dev.map_bar(0).unwrap();
        assert_eq!(bar.read32(0x24).unwrap(), 0x24);
        let err = dev.map_bar(2).unwrap_err();
        assert!(err.to_string().contains("BAR2"), "{err}");
    }

    #[test]
    fn intx_masks_until_unmasked_and_keeps_a_pending_level() {
        let (dev, irq) = device();
        irq.raise(); // not enabled yet: dropped
        let ev = dev.enable_irq(IrqKind::Intx).unwrap();
        assert_eq!(ev.take().unwrap(), 0);
        irq.raise();
        irq.raise(); // masked: remembered
        assert_eq!(ev.wait(Duration::from_secs(1)).unwrap(), 1);
        assert_eq!(ev.take().unwrap(), 0);
        dev.unmask_irq().unwrap();
        assert_eq!(ev.wait(Duration::from_secs(1)).unwrap(), 1, "pending level delivered on unmask");
        assert_eq!(irq.raised(), 3);
    }

    #[test]
    fn msi_counts_every_message() {
        let (dev, irq) = device();
        let ev = dev.enable_irq(IrqKind::Msi).unwrap();
        irq.raise();
        irq.raise();
        assert_eq!(ev.wait(Duration::from_secs(1)).unwrap(), 2);
        dev.disable_irq().unwrap();
        irq.raise();
        assert_eq!(ev.take().unwrap(), 0);
    }
}
