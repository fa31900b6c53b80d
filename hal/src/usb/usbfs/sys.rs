//! The usbfs kernel interface (include/uapi/linux/usbdevice_fs.h): the structs,
//! defined once and pinned by layout tests, and one function per ioctl. This is
//! the only module that calls `ioctl` on a usbfs fd.
//!
//! Ioctl numbers come from `linux-raw-sys`; it has no usbfs structs, so they
//! are written out here.

use std::ffi::c_void;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use linux_raw_sys::ioctl as nr;

/// `USBDEVFS_URB_TYPE_*`.
pub const URB_TYPE_ISO: u8 = 0;
pub const URB_TYPE_INTERRUPT: u8 = 1;
pub const URB_TYPE_BULK: u8 = 3;
/// `USBDEVFS_URB_ISO_ASAP`: schedule an isochronous URB at the next free frame.
pub const URB_ISO_ASAP: u32 = 0x02;
/// `USBDEVFS_DISCONNECT_CLAIM_EXCEPT_DRIVER` is not used: flags 0 detaches any driver.
pub const DISCONNECT_CLAIM_ANY: u32 = 0;

/// `struct usbdevfs_ctrltransfer`.
#[repr(C)]
#[derive(Debug)]
pub struct CtrlTransfer {
    pub request_type: u8,
    pub request: u8,
    pub value: u16,
    pub index: u16,
    pub length: u16,
    /// Milliseconds.
    pub timeout: u32,
    pub data: *mut c_void,
}

/// `struct usbdevfs_setinterface`.
#[repr(C)]
#[derive(Debug)]
pub struct SetInterface {
    pub interface: u32,
    pub altsetting: u32,
}

/// `struct usbdevfs_iso_packet_desc`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IsoPacketDesc {
    pub length: u32,
    pub actual_length: u32,
    pub status: u32,
}

/// `struct usbdevfs_urb`, without its trailing `iso_frame_desc[]`.
#[repr(C)]
#[derive(Debug)]
pub struct Urb {
    pub kind: u8,
    pub endpoint: u8,
    pub status: i32,
    pub flags: u32,
    pub buffer: *mut c_void,
    pub buffer_length: i32,
    pub actual_length: i32,
    pub start_frame: i32,
    /// Also `stream_id` for bulk streams.
    pub number_of_packets: i32,
    pub error_count: i32,
    pub signr: u32,
    pub usercontext: *mut c_void,
}

/// `struct usbdevfs_disconnect_claim`.
#[repr(C)]
pub struct DisconnectClaim {
    pub interface: u32,
    pub flags: u32,
    pub driver: [u8; 256],
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// USBDEVFS_CONTROL: a synchronous control transfer; returns bytes moved.
///
/// # Safety
/// `ctrl.data` must point to `ctrl.length` bytes valid for the transfer's
/// direction (written for IN, read for OUT) for the duration of the call.
pub unsafe fn control(fd: BorrowedFd<'_>, ctrl: &mut CtrlTransfer) -> io::Result<usize> {
    // SAFETY: ctrl is a valid usbdevfs_ctrltransfer; its data pointer is valid per
    // this function's contract.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), nr::USBDEVFS_CONTROL as _, ctrl as *mut CtrlTransfer) })
        .map(|n| n as usize)
}

/// USBDEVFS_CLAIMINTERFACE.
pub fn claim_interface(fd: BorrowedFd<'_>, interface: u32) -> io::Result<()> {
    let mut i = interface;
    // SAFETY: the argument is a pointer to an unsigned int, valid for the call.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), nr::USBDEVFS_CLAIMINTERFACE as _, &mut i as *mut u32) }).map(drop)
}

/// USBDEVFS_DISCONNECT_CLAIM: detach any kernel driver and claim.
pub fn disconnect_claim(fd: BorrowedFd<'_>, interface: u32) -> io::Result<()> {
    let mut dc = DisconnectClaim { interface, flags: DISCONNECT_CLAIM_ANY, driver: [0; 256] };
    // SAFETY: dc is a valid usbdevfs_disconnect_claim for the call.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), nr::USBDEVFS_DISCONNECT_CLAIM as _, &mut dc as *mut DisconnectClaim) })
        .map(drop)
}

/// USBDEVFS_RELEASEINTERFACE.
pub fn release_interface(fd: BorrowedFd<'_>, interface: u32) -> io::Result<()> {
    let mut i = interface;
    // SAFETY: the argument is a pointer to an unsigned int, valid for the call.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), nr::USBDEVFS_RELEASEINTERFACE as _, &mut i as *mut u32) }).map(drop)
}

/// USBDEVFS_SETINTERFACE.
pub fn set_interface(fd: BorrowedFd<'_>, interface: u32, altsetting: u32) -> io::Result<()> {
    let mut s = SetInterface { interface, altsetting };
    // SAFETY: s is a valid usbdevfs_setinterface for the call.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), nr::USBDEVFS_SETINTERFACE as _, &mut s as *mut SetInterface) }).map(drop)
}

/// USBDEVFS_CLEAR_HALT.
pub fn clear_halt(fd: BorrowedFd<'_>, endpoint: u32) -> io::Result<()> {
    let mut e = endpoint;
    // SAFETY: the argument is a pointer to an unsigned int, valid for the call.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), nr::USBDEVFS_CLEAR_HALT as _, &mut e as *mut u32) }).map(drop)
}

/// USBDEVFS_GET_SPEED: the kernel's `enum usb_device_speed`.
pub fn get_speed(fd: BorrowedFd<'_>) -> io::Result<i32> {
    // SAFETY: this ioctl takes no argument and returns the speed.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), nr::USBDEVFS_GET_SPEED as _) })
}

/// USBDEVFS_SUBMITURB.
///
/// # Safety
/// `urb` must point to a valid URB followed by `number_of_packets` iso packet
/// descriptors (for iso URBs), whose buffer is valid for `buffer_length` bytes;
/// URB and buffer must stay valid and unmoved until the URB is reaped or the
/// fd is closed.
pub unsafe fn submit_urb(fd: BorrowedFd<'_>, urb: *mut Urb) -> io::Result<()> {
    // SAFETY: per this function's contract.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), nr::USBDEVFS_SUBMITURB as _, urb) }).map(drop)
}

/// USBDEVFS_DISCARDURB: cancel a submitted URB (it is still reaped).
///
/// # Safety
/// `urb` must be a URB submitted on this fd and not yet reaped.
pub unsafe fn discard_urb(fd: BorrowedFd<'_>, urb: *mut Urb) -> io::Result<()> {
    // SAFETY: the kernel only compares the pointer with its in-flight URBs.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), nr::USBDEVFS_DISCARDURB as _, urb) }).map(drop)
}

/// USBDEVFS_REAPURBNDELAY: the next completed URB, or EAGAIN (none yet) or
/// ENODEV (device gone and nothing left to reap).
pub fn reap_urb_ndelay(fd: BorrowedFd<'_>) -> io::Result<*mut Urb> {
    let mut out: *mut Urb = std::ptr::null_mut();
    // SAFETY: the argument is a pointer to a pointer the kernel fills in; the
    // kernel writes the reaped URB's fields into memory we submitted.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), nr::USBDEVFS_REAPURBNDELAY as _, &mut out as *mut *mut Urb) })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    /// Sizes and offsets as the x86_64 kernel lays out usbdevice_fs.h, and the
    /// struct sizes the ioctl numbers encode.
    #[test]
    fn layouts_match_the_kernel() {
        assert_eq!(size_of::<CtrlTransfer>(), 24);
        assert_eq!(offset_of!(CtrlTransfer, timeout), 8);
        assert_eq!(offset_of!(CtrlTransfer, data), 16);
        assert_eq!((nr::USBDEVFS_CONTROL >> 16) & 0x3fff, 24);
        assert_eq!(size_of::<SetInterface>(), 8);
        assert_eq!((nr::USBDEVFS_SETINTERFACE >> 16) & 0x3fff, 8);
        assert_eq!(size_of::<IsoPacketDesc>(), 12);
        assert_eq!(size_of::<Urb>(), 56);
        assert_eq!((nr::USBDEVFS_SUBMITURB >> 16) & 0x3fff, 56);
        assert_eq!(offset_of!(Urb, status), 4);
        assert_eq!(offset_of!(Urb, buffer), 16);
        assert_eq!(offset_of!(Urb, number_of_packets), 36);
        assert_eq!(offset_of!(Urb, usercontext), 48);
        assert_eq!(size_of::<DisconnectClaim>(), 264);
        assert_eq!((nr::USBDEVFS_DISCONNECT_CLAIM >> 16) & 0x3fff, 264);
    }
}
