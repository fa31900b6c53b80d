//! # outboard-uac: the USB Audio Class 1 and 2 host driver
//!
//! Replaces Linux's snd-usb-audio for class-compliant devices, from
//! userspace, through the [`outboard_hal::usb::UsbDevice`] trait (usbfs on real
//! hardware, an emulated device in tests):
//!
//! - [`parse`]: UAC1/UAC2 descriptors into a [`model::DeviceModel`] (the
//!   terminal graph, every streaming alt setting with its format, channels,
//!   rates and endpoints). Malformed descriptors are skipped with a warning.
//! - [`controls`]: sample rate (UAC1 endpoint, UAC2 clock source), volume and
//!   mute through feature units, clock validity.
//! - [`packets`]: how many frames go in each isochronous packet: the nominal
//!   pattern (44.1 kHz: 44, 44, ..., 45), and the feedback value an
//!   asynchronous device sends, in whichever format it sends it.
//! - [`stream`]: isochronous streaming with several URBs in flight, behind
//!   the hal's [`outboard_hal::pcm::PcmStream`] trait so the mixer drives USB
//!   devices as it drives HDA.
//! - [`quirks`]: a table of per-device flags, as data.
//! - [`device`]: opening a device, choosing an alt setting, claiming interfaces.
//! - [`mixer`]: the controls a mixer node shows (output volume, capture gain,
//!   capture sources), in the same shape as `outboard-hda`'s.
//! - [`report`]: the device model and what the driver uses, as text.
//!
//! Depends on `outboard-hal` only: never on the mixer or another driver.

pub mod controls;
pub mod demux;
pub mod device;
pub mod mixer;
pub mod model;
pub mod packets;
pub mod parse;
pub mod probe;
pub mod quirks;
pub mod report;
pub mod stream;

pub use device::UacDevice;
pub use outboard_hal as hal;

/// Errors of the UAC driver.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Hal(#[from] outboard_hal::Error),

    /// The device has no audio function this driver can use.
    #[error("{device} is not a USB audio device this driver can use: {why}")]
    NotAudio { device: String, why: String },

    /// No alternate setting matches what was asked.
    #[error("{device}: no {direction} alt setting for {wanted} (it offers: {offers})")]
    NoMatch { device: String, direction: &'static str, wanted: String, offers: String },

    /// The device refused or misreported a control.
    #[error("{device}: {what}")]
    Control { device: String, what: String },

    /// A caller asked for something impossible.
    #[error("{0}")]
    Invalid(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
