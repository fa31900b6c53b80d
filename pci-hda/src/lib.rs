//! # outboard-hda: the Intel HDA controller and codec driver
//!
//! Brings up an Intel High Definition Audio controller handed over by
//! [`outboard_hal`] (a [`outboard_hal::pci::PciDevice`]: VFIO on real
//! hardware, an emulated controller in tests), talks to its codecs through
//! CORB/RIRB, and streams audio through buffer descriptor lists in DMA memory.
//!
//! The register table lives in [`regs`]; the controller bring-up in
//! [`controller`]. Codec graph parsing and path selection follow in later
//! work (see the open issue for pci-hda).
//!
//! Depends on `outboard-hal` only: never on the mixer or another driver.

pub mod codec;
pub mod controller;
pub mod device;
pub mod error;
pub mod probe;
pub mod regs;
pub mod report;
pub mod stream;
pub mod verb;

pub use controller::Controller;
pub use error::{Error, Result};
