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
pub mod model;

pub use controller::{Faults, HdaEmulator};

use std::sync::Arc;

use outboard_hal::dma::DmaSpace;
use outboard_hal::irq::IrqKind;
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
    emulated_hda_irqs(&[IrqKind::Msi, IrqKind::Intx])
}

/// [`emulated_hda`] offering only these interrupt kinds (none: the driver
/// must poll).
pub fn emulated_hda_irqs(kinds: &[IrqKind]) -> EmulatedHda {
    let dma = DmaSpace::new("emulated HDA", 0x1000_0000);
    let irq = IrqLine::new();
    let emu = Arc::new(HdaEmulator::new(dma.clone(), irq.clone(), Box::new(codec::DuplexCodec::new())));
    let addr = PciAddress { domain: 0, bus: 0, device: 0x1b, function: 0 };
    let pci = MemPci::new(addr, 0x8086, 0x293e, 0x040300, dma.clone(), irq)
        .with_bar(0, 0x4000, emu.clone())
        .with_irq_kinds(kinds);
    EmulatedHda { pci: Arc::new(pci), emu, dma }
}

/// Build an emulated ICH9 HDA whose codecs are the ones in a codec dump
/// (`/proc/asound/card*/codec#*` text or an alsa-info report), at their own
/// link addresses. `None` if the text holds no codec.
pub fn emulated_hda_from_dump(text: &str) -> Option<EmulatedHda> {
    emulated_hda_from_codecs(outboard_hda::codec::dump::parse_dumps(text))
}

/// Build an emulated ICH9 HDA with these codec models (e.g. some of a dump's:
/// an HDMI controller's codecs alone). `None` if there is none.
pub fn emulated_hda_from_codecs(codecs: Vec<outboard_hda::codec::Codec>) -> Option<EmulatedHda> {
    if codecs.is_empty() {
        return None;
    }
    let dma = DmaSpace::new("emulated HDA", 0x1000_0000);
    let irq = IrqLine::new();
    // An alsa-info report can list several cards (an HDMI controller and the
    // analog one) whose codecs all sit at address 0: they share one emulated
    // link here, each moved to the next free address.
    let mut models: Vec<(u8, Box<dyn codec::CodecModel>)> = Vec::new();
    for c in codecs {
        let mut address = c.address & 0xf;
        while models.iter().any(|(a, _)| *a == address) && address < 14 {
            address += 1;
        }
        if models.iter().any(|(a, _)| *a == address) {
            continue; // more than 15 codecs: the link has no room
        }
        let c = outboard_hda::codec::Codec { address, ..c };
        models.push((address, Box::new(model::ModelCodec::new(c))));
    }
    let emu = Arc::new(HdaEmulator::with_codecs(dma.clone(), irq.clone(), models));
    let addr = PciAddress { domain: 0, bus: 0, device: 0x1b, function: 0 };
    let pci = MemPci::new(addr, 0x8086, 0x293e, 0x040300, dma.clone(), irq).with_bar(0, 0x4000, emu.clone());
    Some(EmulatedHda { pci: Arc::new(pci), emu, dma })
}
