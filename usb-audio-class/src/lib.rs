//! # outboard-uac: the USB Audio Class 1 and 2 host driver
//!
//! Will parse UAC1/UAC2 descriptors into a device model, drive sample-rate,
//! volume and mute controls, and stream isochronous audio through the
//! [`outboard_hal::usb::UsbDevice`] trait (usbfs on real hardware, an emulated
//! device in tests). This crate is filled by the usb-audio-class issue; today
//! it only names its job.
//!
//! Depends on `outboard-hal` only: never on the mixer or another driver.

pub use outboard_hal as hal;
