//! Emulated USB audio hardware: recorded descriptor sets and a UAC2 device
//! that plugs into [`outboard_hal::usb::mem::MemUsb`] (or, through
//! `outboard-usbip`, into a Linux kernel's vhci-hcd).

pub mod descriptors;
pub mod uac2;
