//! # outboard-emu: emulated sound hardware
//!
//! Devices that sit behind [`outboard_hal`]'s in-memory backends
//! ([`outboard_hal::pci::mem::MemPci`], [`outboard_hal::usb::mem::MemUsb`]), so
//! drivers run their real bring-up and streaming code with no hardware: in
//! `cargo test`, in `outboard demo` and `outboard ... emulated`, and in a
//! user's own CI.
//!
//! - [`hda`]: an Intel HDA controller with QEMU's hda-duplex codec or any real
//!   codec from a dump (`/proc/asound/card*/codec#*`).
//! - [`loopback`]: a loopback card whose outputs reach its inputs through
//!   impairments a test sets (delay, gain, distortion, noise, crosstalk,
//!   low-pass, glitches), for `outboard measure`.
//! - [`usb`]: recorded USB audio descriptor sets (QEMU's usb-audio, Linux's
//!   f_uac1 and f_uac2) and a UAC2 device shaped like f_uac2.
//!
//! Depends on `outboard-hal`, and on `outboard-hda` for its codec model and
//! dump parser (emulated codecs are built from real dumps). The USB/IP server
//! that plugs these devices into a kernel is `outboard-usbip`; the QEMU bench
//! is `bench/`.

pub mod hda;
pub mod loopback;
pub mod usb;
