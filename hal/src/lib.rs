//! # outboard-hal: the hardware access layer
//!
//! The only crate in Outboard that talks to the kernel for hardware. It offers
//! two device traits and their backends:
//!
//! | trait | real backend | in-memory backend (tests, emulators) |
//! |---|---|---|
//! | [`pci::PciDevice`] | [`pci::vfio::VfioPci`]: VFIO legacy container/group API | [`pci::mem::MemPci`] |
//! | [`usb::UsbDevice`] | [`usb::usbfs::UsbfsDevice`]: `/dev/bus/usb/BBB/DDD` | [`usb::mem::MemUsb`] |
//!
//! and the pieces they share:
//!
//! - [`mmio`]: a bounds-checked, volatile register handle ([`mmio::RegisterIo`]).
//! - [`dma`]: memory a device reads and writes by DMA, addressed by IOVA, never
//!   seen as a Rust slice ([`dma::DmaBuffer`]).
//! - [`irq`]: interrupts delivered as pollable eventfds ([`irq::IrqEvent`]).
//! - [`pcm`]: the PCM-stream trait that drivers implement and the mixer drives.
//!
//! Drivers (`outboard-hda`, `outboard-uac`) and the mixer depend on this crate;
//! this crate depends on none of them. Emulated hardware lives in
//! `outboard-emu` and plugs into the in-memory backends.

pub mod dma;
pub mod error;
pub mod irq;
pub mod mmio;
pub mod pci;
pub mod pcm;
pub mod usb;

pub use error::{Error, Result};
