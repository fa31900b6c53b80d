//! USB devices: the [`UsbDevice`] trait drivers program against, transfers
//! and their completions, standard descriptors, and the backends
//! ([`usbfs`] for real devices, [`mem`] for emulated ones) plus sysfs
//! discovery ([`sysfs`]).
//!
//! Transfers are asynchronous, as usbfs URBs are: [`UsbDevice::submit`] hands a
//! buffer to the device, [`UsbDevice::reap`] returns it completed. A driver
//! keeps several in flight to stream isochronous audio without gaps.

pub mod descriptors;
pub mod mem;
pub mod sysfs;
pub mod usbfs;

use std::fmt;
use std::time::Duration;

use crate::Result;

/// Bus speed of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speed {
    Unknown,
    Low,
    /// 12 Mbit/s: isochronous intervals count 1 ms frames.
    Full,
    /// 480 Mbit/s: isochronous intervals count 125 µs microframes.
    High,
    Super,
    SuperPlus,
}

impl Speed {
    /// Speed from the kernel's `enum usb_device_speed` (as USBDEVFS_GET_SPEED returns).
    pub fn from_kernel(value: i32) -> Speed {
        match value {
            1 => Speed::Low,
            2 => Speed::Full,
            3 => Speed::High,
            5 => Speed::Super,
            6 => Speed::SuperPlus,
            _ => Speed::Unknown,
        }
    }

    /// Speed from sysfs's `speed` file (Mbit/s).
    pub fn from_sysfs(text: &str) -> Speed {
        match text.trim() {
            "1.5" => Speed::Low,
            "12" => Speed::Full,
            "480" => Speed::High,
            "5000" => Speed::Super,
            "10000" | "20000" => Speed::SuperPlus,
            _ => Speed::Unknown,
        }
    }
}

/// The 8-byte SETUP packet of a control transfer (USB 2.0 §9.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlSetup {
    /// bmRequestType: direction (bit 7), type (bits 6:5), recipient (bits 4:0).
    pub request_type: u8,
    pub request: u8,
    pub value: u16,
    pub index: u16,
    /// wLength is taken from the data buffer's length.
    pub length: u16,
}

/// bmRequestType bits.
pub mod request_type {
    pub const DIR_IN: u8 = 0x80;
    pub const DIR_OUT: u8 = 0x00;
    pub const STANDARD: u8 = 0x00;
    pub const CLASS: u8 = 0x20;
    pub const VENDOR: u8 = 0x40;
    pub const DEVICE: u8 = 0x00;
    pub const INTERFACE: u8 = 0x01;
    pub const ENDPOINT: u8 = 0x02;
}

/// bRequest of the standard requests (USB 2.0 Table 9-4).
pub mod request {
    pub const GET_STATUS: u8 = 0;
    pub const CLEAR_FEATURE: u8 = 1;
    pub const SET_FEATURE: u8 = 3;
    pub const SET_ADDRESS: u8 = 5;
    pub const GET_DESCRIPTOR: u8 = 6;
    pub const GET_CONFIGURATION: u8 = 8;
    pub const SET_CONFIGURATION: u8 = 9;
    pub const GET_INTERFACE: u8 = 10;
    pub const SET_INTERFACE: u8 = 11;
    /// CLEAR_FEATURE/SET_FEATURE selector of an endpoint's halt.
    pub const ENDPOINT_HALT: u16 = 0;
}

/// Endpoint transfer types a driver can submit asynchronously.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferKind {
    Isochronous,
    Interrupt,
    Bulk,
}

/// How a transfer (or one isochronous packet) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferStatus {
    Completed,
    /// Cancelled by the driver (discarded).
    Cancelled,
    /// The endpoint stalled (EPIPE).
    Stall,
    /// The device went away.
    Disconnected,
    /// The device sent more than the buffer holds (EOVERFLOW).
    Overflow,
    /// Any other errno the kernel reported.
    Error(i32),
}

impl TransferStatus {
    /// Status from a usbfs URB or packet status (0 or a negative errno).
    pub fn from_errno(status: i32) -> TransferStatus {
        match -status {
            0 => TransferStatus::Completed,
            libc::ENOENT | libc::ECONNRESET => TransferStatus::Cancelled,
            libc::EPIPE => TransferStatus::Stall,
            libc::ENODEV | libc::ESHUTDOWN => TransferStatus::Disconnected,
            libc::EOVERFLOW => TransferStatus::Overflow,
            e => TransferStatus::Error(e),
        }
    }
}

/// A transfer to submit: the buffer travels to the device and comes back in
/// the [`Completion`].
#[derive(Clone, Debug)]
pub struct Transfer {
    /// Endpoint address (bit 7 set for IN).
    pub endpoint: u8,
    pub kind: TransferKind,
    /// OUT: the data to send. IN: space for the data (its length is what is asked for).
    pub buffer: Vec<u8>,
    /// Isochronous only: each packet's length, laid out back to back in `buffer`.
    pub iso_packets: Vec<u32>,
    /// The driver's own tag, returned untouched.
    pub user_data: u64,
}

impl Transfer {
    /// An isochronous transfer of packets with these lengths; `buffer` must
    /// hold their sum.
    pub fn isochronous(endpoint: u8, buffer: Vec<u8>, iso_packets: Vec<u32>, user_data: u64) -> Transfer {
        Transfer { endpoint, kind: TransferKind::Isochronous, buffer, iso_packets, user_data }
    }

    /// Whether data flows device-to-host.
    pub fn is_in(&self) -> bool {
        self.endpoint & 0x80 != 0
    }
}

/// One isochronous packet's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IsoPacketResult {
    pub length: u32,
    pub actual_length: u32,
    pub status: TransferStatus,
}

/// A transfer handed back by [`UsbDevice::reap`].
#[derive(Clone, Debug)]
pub struct Completion {
    pub transfer: Transfer,
    pub status: TransferStatus,
    /// Bytes moved (for isochronous: the sum over packets).
    pub actual_length: usize,
    /// Isochronous only: one entry per packet.
    pub iso_packets: Vec<IsoPacketResult>,
}

impl TransferStatus {
    /// The error this status stands for (`Ok` when completed); `what` names
    /// the request or transfer.
    pub fn to_result(self, device: &str, what: impl FnOnce() -> String) -> Result<()> {
        let device = device.to_string();
        match self {
            TransferStatus::Completed => Ok(()),
            TransferStatus::Stall => Err(crate::Error::Stall { device, what: what() }),
            TransferStatus::Disconnected => Err(crate::Error::Disconnected { device }),
            other => Err(crate::Error::Transfer { device, what: format!("{}: {other:?}", what()) }),
        }
    }
}

impl Completion {
    /// `Ok` if the transfer completed, else the error its status stands for.
    pub fn check(&self, device: &str) -> Result<()> {
        self.status.to_result(device, || format!("transfer on endpoint {:#04x}", self.transfer.endpoint))
    }
}

/// A USB device a driver can program.
///
/// Implemented by [`usbfs::UsbfsDevice`] (a real device through usbfs) and
/// [`mem::MemUsb`] (an emulated device in memory).
pub trait UsbDevice: Send + Sync + fmt::Debug {
    /// What the device is, for messages ("usb 3-1 46f4:0002").
    fn name(&self) -> &str;

    /// The raw descriptors as usbfs returns them: the device descriptor then
    /// each configuration's full descriptor set.
    fn descriptors(&self) -> &[u8];

    /// Bus speed.
    fn speed(&self) -> Speed;

    /// Claim an interface for this process, detaching a kernel driver bound to it.
    fn claim_interface(&self, interface: u8) -> Result<()>;

    /// Give an interface back.
    fn release_interface(&self, interface: u8) -> Result<()>;

    /// Select an alternate setting of a claimed interface.
    fn set_alt_setting(&self, interface: u8, alt: u8) -> Result<()>;

    /// A control transfer reading into `buf`; returns the bytes read.
    fn control_in(&self, setup: ControlSetup, buf: &mut [u8], timeout: Duration) -> Result<usize>;

    /// A control transfer writing `data`.
    fn control_out(&self, setup: ControlSetup, data: &[u8], timeout: Duration) -> Result<()>;

    /// Queue an asynchronous transfer.
    fn submit(&self, transfer: Transfer) -> Result<()>;

    /// Take back one finished transfer, waiting at most `timeout`; `Ok(None)`
    /// when nothing finished in time.
    fn reap(&self, timeout: Duration) -> Result<Option<Completion>>;

    /// Cancel every transfer in flight; they are still reaped (as Cancelled).
    fn cancel_all(&self) -> Result<()>;

    /// Cancel the transfers in flight on one endpoint (another endpoint's
    /// stream goes on); they are still reaped (as Cancelled).
    fn cancel_endpoint(&self, endpoint: u8) -> Result<()>;

    /// Transfers submitted and not yet reaped.
    fn in_flight(&self) -> usize;

    /// Transfers submitted on one endpoint and not yet reaped.
    fn in_flight_on(&self, endpoint: u8) -> usize;

    /// Clear a halted (stalled) endpoint.
    fn clear_halt(&self, endpoint: u8) -> Result<()>;
}

/// A vendor:product pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UsbId {
    pub vendor: u16,
    pub product: u16,
}

impl fmt::Display for UsbId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:04x}", self.vendor, self.product)
    }
}

impl std::str::FromStr for UsbId {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<UsbId> {
        let bad = || crate::Error::Invalid(format!("`{s}` is not a USB id (expected vvvv:pppp, e.g. 46f4:0002)"));
        let (v, p) = s.split_once(':').ok_or_else(bad)?;
        let hex = |t: &str| if t.len() == 4 { u16::from_str_radix(t, 16).ok() } else { None };
        Ok(UsbId { vendor: hex(v).ok_or_else(bad)?, product: hex(p).ok_or_else(bad)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usb_ids_parse_and_print() {
        let id: UsbId = "46f4:0002".parse().unwrap();
        assert_eq!(id, UsbId { vendor: 0x46f4, product: 2 });
        assert_eq!(id.to_string(), "46f4:0002");
        for bad in ["46f4", "46f4:2", "zzzz:0002", "46f4:00020"] {
            assert!(bad.parse::<UsbId>().unwrap_err().to_string().contains(bad));
        }
    }

    #[test]
    fn statuses_map_from_errno() {
        assert_eq!(TransferStatus::from_errno(0), TransferStatus::Completed);
        assert_eq!(TransferStatus::from_errno(-libc::ENOENT), TransferStatus::Cancelled);
        assert_eq!(TransferStatus::from_errno(-libc::EPIPE), TransferStatus::Stall);
        assert_eq!(TransferStatus::from_errno(-libc::ENODEV), TransferStatus::Disconnected);
        assert_eq!(TransferStatus::from_errno(-libc::ESHUTDOWN), TransferStatus::Disconnected);
        assert_eq!(TransferStatus::from_errno(-libc::EXDEV), TransferStatus::Error(libc::EXDEV));
    }
}
