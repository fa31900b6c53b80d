//! # outboard-fixtures: emulated hardware, bench tools and recorded fixtures
//!
//! - Emulated devices that sit behind [`outboard_hal`]'s in-memory backends
//!   ([`outboard_hal::pci::mem::MemPci`], [`outboard_hal::usb::mem::MemUsb`]),
//!   so drivers run their real bring-up and streaming code in `cargo test`.
//! - [`signal`]: the deterministic test signals the bench sends and the
//!   comparisons it makes ("sample for sample").
//! - [`wav`]: reading and writing the WAV files QEMU's audio backends produce.
//! - `bench/`: the QEMU guest bench (`hw-fixtures/bench/run SCENARIO`).
//!
//! Depends on `outboard-hal` only.

pub mod analysis;
pub mod hda;
pub mod signal;
pub mod usb;
pub mod wav;
