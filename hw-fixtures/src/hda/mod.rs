//! An emulated Intel HDA controller with a simple codec, in memory.
//!
//! [`HdaEmulator`] implements the controller's register file as an
//! [`MmioHandler`] behind [`outboard_hal::pci::mem::MemPci`]: reset, CORB/RIRB
//! processing (and the immediate command interface), stream descriptors that
//! walk their BDL in DMA memory by IOVA, LPIB, and interrupts. Time is driven
//! by the test ([`HdaEmulator::advance_frames`]) or by a clock thread
//! ([`HdaEmulator::start_clock`]), so runs are deterministic when they need to be.
//!
//! The codec ([`codec::DuplexCodec`]) mirrors QEMU's `hda-duplex`: an audio
//! function group with a DAC, an output pin, an ADC and an input pin. Output
//! DMA reaches the codec only when its DAC's stream tag matches the stream, as
//! on hardware.

pub mod codec;
mod controller;

pub use controller::{Faults, HdaEmulator};

use std::sync::Arc;

use outboard_hal::dma::DmaSpace;
use outboard_hal::pci::mem::{IrqLine, MemPci};
use outboard_hal::pci::{PciAddress, PciDevice};

/// An emulated controller and the handles a test needs.
pub struct EmulatedHda {
    /// What the driver opens.
    pub pci: Arc<dyn PciDevice>,
    /// The controller, to drive time and inspect what it played.
    pub emu: Arc<HdaEmulator>,
    /// The IOVA space, to check that a driver freed its DMA memory.
    pub dma: DmaSpace,
}

/// Build an emulated ICH9 HDA (8086:293e) with a duplex codec.
pub fn emulated_hda() -> EmulatedHda {
    let dma = DmaSpace::new("emulated HDA", 0x1000_0000);
    let irq = IrqLine::new();
    let emu = Arc::new(HdaEmulator::new(dma.clone(), irq.clone(), Box::new(codec::DuplexCodec::new())));
    let addr = PciAddress { domain: 0, bus: 0, device: 0x1b, function: 0 };
    let pci = MemPci::new(addr, 0x8086, 0x293e, 0x040300, dma.clone(), irq).with_bar(0, 0x4000, emu.clone());
    EmulatedHda { pci: Arc::new(pci), emu, dma }
}
