//! The hal's one error type. Every variant names the device or path it is about,
//! so that a message reaching a user says which hardware misbehaved.

use std::io;
use std::path::PathBuf;

/// Errors from the hardware access layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No PCI device at this address in sysfs.
    #[error("no PCI device {addr} (nothing at /sys/bus/pci/devices/{addr}; `outboard list` shows what there is)")]
    PciNotFound { addr: String },

    /// A PCI address that does not parse.
    #[error("`{text}` is not a PCI address (expected DDDD:BB:DD.F, e.g. 0000:00:1b.0)")]
    BadPciAddress { text: String },

    /// The device exists but is driven by another driver (or none), not vfio-pci.
    #[error("PCI device {addr} is not bound to vfio-pci ({}); bind it with: modprobe vfio-pci && echo {addr} > /sys/bus/pci/devices/{addr}/driver/unbind; echo {vendor_device} > /sys/bus/pci/drivers/vfio-pci/new_id",
        match .driver { Some(d) => format!("bound to {d}"), None => "no driver bound".to_string() })]
    NotBoundToVfio {
        addr: String,
        driver: Option<String>,
        /// "vvvv dddd" as /sys/bus/pci/drivers/vfio-pci/new_id takes it.
        vendor_device: String,
    },

    /// Opening a device node was refused.
    #[error("permission denied opening {path} for {device} (run as root, or give your user access to the node)")]
    PermissionDenied { path: PathBuf, device: String },

    /// A device node that should exist does not.
    #[error("{path} does not exist for {device}: {hint}")]
    NodeMissing { path: PathBuf, device: String, hint: &'static str },

    /// The VFIO layer refused an operation.
    #[error("VFIO: {op} failed for {device}")]
    Vfio {
        device: String,
        op: &'static str,
        #[source]
        source: vfio_ioctls::VfioError,
    },

    /// A system call failed.
    #[error("{op} failed for {device}")]
    Io {
        device: String,
        op: &'static str,
        #[source]
        source: io::Error,
    },

    /// The device went away (unplugged, or removed from the bus).
    #[error("{device} is gone (unplugged or removed)")]
    Disconnected { device: String },

    /// An access outside a register window or a DMA buffer.
    #[error("{what}: access of {len} bytes at offset {offset:#x} is outside its {size:#x}-byte window")]
    OutOfBounds { what: String, offset: u64, len: usize, size: u64 },

    /// A wait on hardware ran past its deadline.
    #[error("timed out after {ms} ms waiting for {what} on {device}")]
    Timeout { device: String, what: String, ms: u64 },

    /// The device or backend cannot do what was asked.
    #[error("{device}: {what} is not supported")]
    Unsupported { device: String, what: String },

    /// No USB device matches.
    #[error("no USB device {what}")]
    UsbNotFound { what: String },

    /// The device answered a request with a STALL (it does not support it).
    #[error("{device}: {what} was refused by the device (STALL)")]
    Stall { device: String, what: String },

    /// A USB transfer ended with an error status.
    #[error("{device}: {what}")]
    Transfer { device: String, what: String },

    /// Bad input to a hal call (an argument a caller controls).
    #[error("{0}")]
    Invalid(String),
}

/// `Result` with the hal's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Build an [`Error::Io`] from the last OS error, or a more specific
    /// variant when the errno says the device is gone or access was refused.
    pub(crate) fn from_io(device: &str, op: &'static str, source: io::Error) -> Error {
        match source.raw_os_error() {
            Some(libc::ENODEV) | Some(libc::ESHUTDOWN) => Error::Disconnected { device: device.to_string() },
            _ => Error::Io { device: device.to_string(), op, source },
        }
    }
}
