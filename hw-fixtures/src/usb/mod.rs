//! Emulated USB audio hardware: recorded descriptor sets, a UAC2 device that
//! plugs into [`outboard_hal::usb::mem::MemUsb`], and a USB/IP server that
//! presents any emulated function to a Linux guest through vhci-hcd.

pub mod descriptors;
pub mod uac2;
pub mod usbip;
