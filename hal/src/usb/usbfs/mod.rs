//! Real USB devices through usbfs (`/dev/bus/usb/BBB/DDD`): our own thin layer,
//! because neither rusb nor nusb does isochronous transfers
//! (docs/decisions/0002-own-usbfs-layer.md).
//!
//! Submitted transfers are kept, with their URB, in a map keyed by the URB's
//! address until the kernel hands the URB back through REAPURBNDELAY; the URB
//! memory and the buffer never move while the kernel may write them.

pub mod sys;

use std::alloc::{self, Layout};
use std::collections::HashMap;
use std::ffi::c_void;
use std::fs::OpenOptions;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Completion, ControlSetup, IsoPacketResult, Speed, Transfer, TransferKind, TransferStatus, UsbDevice};
use crate::{Error, Result};
use sys::{IsoPacketDesc, Urb};

/// Most packets one isochronous URB may carry (usbfs allows 128).
pub const MAX_ISO_PACKETS: usize = 128;

/// A URB header plus its iso packet descriptors in one heap block.
///
/// Invariant: `ptr` is an allocation of `layout`, zeroed at creation, holding a
/// `Urb` followed by `packets` `IsoPacketDesc`s; freed on drop.
struct UrbBox {
    ptr: NonNull<Urb>,
    layout: Layout,
    packets: usize,
}

// SAFETY: UrbBox owns its allocation; the raw pointer is not shared with other
// threads except through the kernel, which synchronises through the ioctls.
unsafe impl Send for UrbBox {}

impl UrbBox {
    fn new(packets: usize) -> Result<UrbBox> {
        let size = std::mem::size_of::<Urb>() + packets * std::mem::size_of::<IsoPacketDesc>();
        let layout =
            Layout::from_size_align(size, std::mem::align_of::<Urb>()).map_err(|e| Error::Invalid(e.to_string()))?;
        // SAFETY: layout has non-zero size (a Urb is 56 bytes).
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(raw.cast::<Urb>()).ok_or_else(|| Error::Invalid("out of memory for a URB".into()))?;
        Ok(UrbBox { ptr, layout, packets })
    }

    fn packet_ptr(&self, i: usize) -> *mut IsoPacketDesc {
        debug_assert!(i < self.packets);
        // SAFETY: the allocation holds `packets` descriptors right after the Urb.
        unsafe { self.ptr.as_ptr().add(1).cast::<IsoPacketDesc>().add(i) }
    }
}

impl Drop for UrbBox {
    fn drop(&mut self) {
        // SAFETY: ptr was allocated with exactly this layout (invariant).
        unsafe { alloc::dealloc(self.ptr.as_ptr().cast(), self.layout) }
    }
}

struct Pending {
    urb: UrbBox,
    transfer: Transfer,
}

/// A USB device opened through usbfs.
pub struct UsbfsDevice {
    // Declared first so it closes first on drop: the kernel then frees every
    // URB it still holds before our URB memory goes.
    fd: OwnedFd,
    name: String,
    descriptors: Vec<u8>,
    speed: Speed,
    pending: Mutex<HashMap<usize, Pending>>,
    claimed: Mutex<Vec<u8>>,
}

impl std::fmt::Debug for UsbfsDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsbfsDevice").field("name", &self.name).field("speed", &self.speed).finish()
    }
}

impl UsbfsDevice {
    /// Open the device node at `path`; `name` names it in errors.
    pub fn open(path: &Path, name: &str) -> Result<UsbfsDevice> {
        let file =
            OpenOptions::new().read(true).write(true).custom_flags(libc::O_CLOEXEC).open(path).map_err(|e| match e
                .kind()
            {
                std::io::ErrorKind::PermissionDenied => {
                    Error::PermissionDenied { path: path.to_path_buf(), device: name.to_string() }
                }
                std::io::ErrorKind::NotFound => Error::Disconnected { device: name.to_string() },
                _ => Error::from_io(name, "opening the usbfs node", e),
            })?;
        let mut descriptors = Vec::new();
        (&file).read_to_end(&mut descriptors).map_err(|e| Error::from_io(name, "reading descriptors", e))?;
        let fd: OwnedFd = file.into();
        let speed = sys::get_speed(fd.as_fd()).map(Speed::from_kernel).unwrap_or(Speed::Unknown);
        Ok(UsbfsDevice {
            fd,
            name: name.to_string(),
            descriptors,
            speed,
            pending: Mutex::new(HashMap::new()),
            claimed: Mutex::new(Vec::new()),
        })
    }

    /// Open the device sysfs describes.
    pub fn open_info(info: &super::sysfs::UsbInfo) -> Result<UsbfsDevice> {
        Self::open(&info.node(), &info.name())
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, HashMap<usize, Pending>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn control(&self, setup: ControlSetup, data: *mut c_void, len: usize, timeout: Duration) -> Result<usize> {
        let length = u16::try_from(len)
            .map_err(|_| Error::Invalid(format!("{}: control transfer of {len} bytes (max 65535)", self.name)))?;
        let mut ctrl = sys::CtrlTransfer {
            request_type: setup.request_type,
            request: setup.request,
            value: setup.value,
            index: setup.index,
            length,
            timeout: timeout.as_millis().min(u32::MAX as u128) as u32,
            data,
        };
        // SAFETY: data points to `len` bytes the caller keeps valid for the call
        // (a buffer borrowed by control_in / control_out).
        unsafe { sys::control(self.fd.as_fd(), &mut ctrl) }.map_err(|e| {
            let what = format!(
                "control request {:#04x}/{:#04x} value {:#06x} index {:#06x}",
                setup.request_type, setup.request, setup.value, setup.index
            );
            match e.raw_os_error() {
                Some(libc::EPIPE) => Error::Stall { device: self.name.clone(), what },
                Some(libc::ETIMEDOUT) => {
                    Error::Timeout { device: self.name.clone(), what, ms: timeout.as_millis() as u64 }
                }
                _ => Error::from_io(&self.name, "control transfer", e),
            }
        })
    }

    /// Turn a reaped URB back into a completion.
    fn complete(&self, p: Pending) -> Completion {
        // SAFETY: the kernel has handed this URB back (reaped), so it no longer
        // writes it; the allocation is valid (UrbBox invariant).
        let urb = unsafe { p.urb.ptr.as_ptr().read() };
        let iso_packets = (0..p.urb.packets)
            .map(|i| {
                // SAFETY: i < packets; reaped, so the kernel no longer writes it.
                let d = unsafe { p.urb.packet_ptr(i).read() };
                IsoPacketResult {
                    length: d.length,
                    actual_length: d.actual_length,
                    status: TransferStatus::from_errno(d.status as i32),
                }
            })
            .collect();
        let mut status = TransferStatus::from_errno(urb.status);
        if status != TransferStatus::Completed && self.is_disconnected() {
            // URBs killed by an unplug complete as cancelled or with protocol
            // errors; say what really happened.
            status = TransferStatus::Disconnected;
        }
        Completion { transfer: p.transfer, status, actual_length: urb.actual_length.max(0) as usize, iso_packets }
    }

    /// Whether the kernel says the device is gone (usbfs polls POLLHUP then).
    pub fn is_disconnected(&self) -> bool {
        crate::irq::poll_fd(self.fd.as_raw_fd(), libc::POLLOUT, Duration::ZERO)
            .map(|revents| revents & libc::POLLHUP != 0)
            .unwrap_or(true)
    }
}

impl UsbDevice for UsbfsDevice {
    fn name(&self) -> &str {
        &self.name
    }

    fn descriptors(&self) -> &[u8] {
        &self.descriptors
    }

    fn speed(&self) -> Speed {
        self.speed
    }

    fn claim_interface(&self, interface: u8) -> Result<()> {
        let fd = self.fd.as_fd();
        if let Err(e) = sys::claim_interface(fd, interface.into()) {
            if e.raw_os_error() != Some(libc::EBUSY) {
                return Err(Error::from_io(&self.name, "claiming an interface", e));
            }
            log::info!("{}: interface {interface} is held by a kernel driver; detaching it", self.name);
            sys::disconnect_claim(fd, interface.into())
                .map_err(|e| Error::from_io(&self.name, "detaching the kernel driver", e))?;
        }
        self.claimed.lock().unwrap_or_else(|e| e.into_inner()).push(interface);
        Ok(())
    }

    fn release_interface(&self, interface: u8) -> Result<()> {
        self.claimed.lock().unwrap_or_else(|e| e.into_inner()).retain(|i| *i != interface);
        sys::release_interface(self.fd.as_fd(), interface.into())
            .map_err(|e| Error::from_io(&self.name, "releasing an interface", e))
    }

    fn set_alt_setting(&self, interface: u8, alt: u8) -> Result<()> {
        sys::set_interface(self.fd.as_fd(), interface.into(), alt.into()).map_err(|e| match e.raw_os_error() {
            Some(libc::EINVAL) => {
                Error::Invalid(format!("{}: interface {interface} has no alternate setting {alt}", self.name))
            }
            _ => Error::from_io(&self.name, "selecting an alternate setting", e),
        })
    }

    fn control_in(&self, setup: ControlSetup, buf: &mut [u8], timeout: Duration) -> Result<usize> {
        if setup.request_type & 0x80 == 0 {
            return Err(Error::Invalid(format!(
                "{}: control_in with an OUT request type {:#04x}",
                self.name, setup.request_type
            )));
        }
        self.control(setup, buf.as_mut_ptr().cast(), buf.len(), timeout)
    }

    fn control_out(&self, setup: ControlSetup, data: &[u8], timeout: Duration) -> Result<()> {
        if setup.request_type & 0x80 != 0 {
            return Err(Error::Invalid(format!(
                "{}: control_out with an IN request type {:#04x}",
                self.name, setup.request_type
            )));
        }
        // The kernel only reads an OUT buffer.
        self.control(setup, data.as_ptr() as *mut c_void, data.len(), timeout).map(drop)
    }

    fn submit(&self, mut transfer: Transfer) -> Result<()> {
        let len = transfer.buffer.len();
        let buffer_length =
            i32::try_from(len).map_err(|_| Error::Invalid(format!("{}: transfer of {len} bytes", self.name)))?;
        let (kind, packets) = match transfer.kind {
            TransferKind::Isochronous => {
                let n = transfer.iso_packets.len();
                let total: u64 = transfer.iso_packets.iter().map(|&l| u64::from(l)).sum();
                if n == 0 || n > MAX_ISO_PACKETS || total != len as u64 {
                    return Err(Error::Invalid(format!(
                        "{}: isochronous transfer with {n} packets totalling {total} bytes in a {len}-byte buffer (1-{MAX_ISO_PACKETS} packets, sizes must add up)",
                        self.name
                    )));
                }
                (sys::URB_TYPE_ISO, n)
            }
            TransferKind::Bulk => (sys::URB_TYPE_BULK, 0),
            TransferKind::Interrupt => (sys::URB_TYPE_INTERRUPT, 0),
        };
        let urb = UrbBox::new(packets)?;
        // SAFETY: the allocation is valid and exclusively ours until submitted.
        unsafe {
            let u = &mut *urb.ptr.as_ptr();
            u.kind = kind;
            u.endpoint = transfer.endpoint;
            u.flags = if packets > 0 { sys::URB_ISO_ASAP } else { 0 };
            u.buffer = transfer.buffer.as_mut_ptr().cast();
            u.buffer_length = buffer_length;
            u.number_of_packets = packets as i32;
        }
        for (i, &l) in transfer.iso_packets.iter().enumerate() {
            // SAFETY: i < packets (the allocation's descriptor count).
            unsafe { urb.packet_ptr(i).write(IsoPacketDesc { length: l, actual_length: 0, status: 0 }) };
        }
        let key = urb.ptr.as_ptr() as usize;
        let mut pending = self.lock_pending();
        // SAFETY: the URB and the transfer's heap buffer stay at these addresses
        // in `pending` (moving a Vec or a UrbBox does not move their heap blocks)
        // until reaped, or until the fd is closed (the fd is dropped first).
        match unsafe { sys::submit_urb(self.fd.as_fd(), urb.ptr.as_ptr()) } {
            Ok(()) => {
                pending.insert(key, Pending { urb, transfer });
                Ok(())
            }
            Err(e) => Err(match e.raw_os_error() {
                Some(libc::ENOENT) | Some(libc::EINVAL) => Error::Invalid(format!(
                    "{}: endpoint {:#04x} is not in the current alternate setting ({e})",
                    self.name, transfer.endpoint
                )),
                _ => Error::from_io(&self.name, "submitting a transfer", e),
            }),
        }
    }

    fn reap(&self, timeout: Duration) -> Result<Option<Completion>> {
        let deadline = Instant::now() + timeout;
        loop {
            match sys::reap_urb_ndelay(self.fd.as_fd()) {
                Ok(ptr) => {
                    let found = self.lock_pending().remove(&(ptr as usize));
                    match found {
                        Some(p) => return Ok(Some(self.complete(p))),
                        None => log::warn!("{}: the kernel returned a URB we did not submit", self.name),
                    }
                }
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(None);
                    }
                    let revents = crate::irq::poll_fd(self.fd.as_raw_fd(), libc::POLLOUT, left)
                        .map_err(|e| Error::from_io(&self.name, "poll", e))?;
                    if revents & (libc::POLLERR | libc::POLLHUP) != 0 && revents & libc::POLLOUT == 0 {
                        // Gone; the next reap says ENODEV once nothing is left.
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENODEV) | Some(libc::ESHUTDOWN)) => {
                    // The kernel will hand nothing more back; it kept no pointers
                    // into our buffers (usbfs copies data), so what is left is ours.
                    let left = self.lock_pending().drain().next().map(|(_, p)| p);
                    return match left {
                        Some(p) => {
                            let mut c = self.complete(p);
                            c.status = TransferStatus::Disconnected;
                            Ok(Some(c))
                        }
                        None => Err(Error::Disconnected { device: self.name.clone() }),
                    };
                }
                Err(e) => return Err(Error::from_io(&self.name, "reaping a transfer", e)),
            }
        }
    }

    fn cancel_all(&self) -> Result<()> {
        self.discard(|_| true)
    }

    fn cancel_endpoint(&self, endpoint: u8) -> Result<()> {
        self.discard(|t| t.endpoint == endpoint)
    }

    fn in_flight(&self) -> usize {
        self.lock_pending().len()
    }

    fn in_flight_on(&self, endpoint: u8) -> usize {
        self.lock_pending().values().filter(|p| p.transfer.endpoint == endpoint).count()
    }

    fn clear_halt(&self, endpoint: u8) -> Result<()> {
        sys::clear_halt(self.fd.as_fd(), endpoint.into()).map_err(|e| Error::from_io(&self.name, "clearing a halt", e))
    }
}

impl UsbfsDevice {
    /// Discard the pending URBs whose transfer `which` selects.
    fn discard(&self, which: impl Fn(&Transfer) -> bool) -> Result<()> {
        let pending = self.lock_pending();
        for key in pending.iter().filter(|(_, p)| which(&p.transfer)).map(|(k, _)| k) {
            // SAFETY: every key is a URB submitted on this fd and not yet reaped
            // (reaped ones are removed under this same lock).
            if let Err(e) = unsafe { sys::discard_urb(self.fd.as_fd(), *key as *mut Urb) } {
                if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENODEV)) {
                    log::warn!("{}: discarding a URB: {e}", self.name);
                }
            }
        }
        Ok(())
    }
}

impl Drop for UsbfsDevice {
    fn drop(&mut self) {
        if self.in_flight() > 0 {
            let _ = self.cancel_all();
            let deadline = Instant::now() + Duration::from_millis(500);
            while self.in_flight() > 0 && Instant::now() < deadline {
                if self.reap(Duration::from_millis(50)).is_err() {
                    break;
                }
            }
        }
        let claimed = std::mem::take(&mut *self.claimed.lock().unwrap_or_else(|e| e.into_inner()));
        for i in claimed {
            let _ = sys::release_interface(self.fd.as_fd(), i.into());
        }
    }
}
