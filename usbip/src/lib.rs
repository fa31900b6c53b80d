//! A USB/IP server: presents any emulated [`UsbFunction`] to a Linux kernel
//! through vhci-hcd, so the kernel's own drivers (snd-usb-audio, usbfs and
//! whatever runs on it) drive the emulated device as real hardware.
//!
//! - [`wire`]: the data-phase messages (USBIP_CMD_SUBMIT, USBIP_RET_SUBMIT,
//!   USBIP_CMD_UNLINK, USBIP_RET_UNLINK, isochronous packet descriptors).
//! - [`Server`]: one session over a connected stream socket, on one thread
//!   (`server.rs`; commands are cut out of the byte stream in `reader.rs`,
//!   standard requests answered in `ep0.rs`); isochronous URBs complete in
//!   real (bus) time.
//! - [`attach`]: a socketpair plugged into the local vhci-hcd, served on a
//!   thread; [`Attachment::detach`] (or drop) is a hot-unplug.
//!
//! ```no_run
//! # fn f(function: Box<dyn outboard_hal::usb::mem::UsbFunction>) -> outboard_usbip::Result<()> {
//! use outboard_usbip as usbip;
//! let mut device = usbip::attach(function, outboard_hal::usb::Speed::High)?;
//! let busid = device.wait_enumerated(std::time::Duration::from_secs(10))?; // "3-1"
//! println!("attached as usb {busid}");
//! device.detach()?;
//! # Ok(()) }
//! ```
//!
//! [`UsbFunction`]: outboard_hal::usb::mem::UsbFunction

mod ep0;
mod reader;
mod server;
mod vhci;
pub mod wire;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use server::{EndpointStats, Server, ServerHandle, SessionEnd, SessionStats, Socket};
pub use vhci::{attach, attach_at, parse_status, port_status, Attachment, PortStatus, VHCI_DIR};

/// What can go wrong serving a device.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A sysfs file (vhci's attach, detach, status) could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("usbip: {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The peer sent something malformed or unexpected; the session ended.
    #[error("usbip: {0}")]
    Protocol(String),
    #[error("no free vhci port on the {hub} hub (see {})", path.display())]
    NoFreePort { path: PathBuf, hub: String },
    #[error("usbip: cannot serve {0}")]
    Unsupported(String),
    #[error("timed out after {ms} ms waiting for {what}")]
    Timeout { what: String, ms: u64 },
}

pub type Result<T> = std::result::Result<T, Error>;
