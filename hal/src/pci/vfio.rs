//! Real PCI devices through VFIO's legacy container/group API (the one Debian's
//! kernels have: no iommufd cdevs). Built on rust-vmm's `vfio-ioctls`
//! (see docs/decisions/0001-vfio-ioctls.md).
//!
//! Opening checks each precondition in turn so that the error names the device
//! and says what to do: the function exists, it is bound to vfio-pci, its group
//! node exists and can be opened.

use std::fs::OpenOptions;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use vfio_bindings::bindings::vfio::{
    VFIO_PCI_CONFIG_REGION_INDEX, VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_REGION_INFO_FLAG_MMAP,
    VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE,
};
use vfio_ioctls::{VfioContainer, VfioDevice, VfioOps};

use super::{sysfs, PciAddress, PciDevice};
use crate::dma::{DmaBuffer, PAGE_SIZE};
use crate::irq::{IrqEvent, IrqKind};
use crate::mmio::{check_access, MmioRegion, RegisterIo, Width};
use crate::{Error, Result};

/// First IOVA handed out. Below 4 GiB so that controllers without 64-bit
/// addressing work, above the low megabytes firmware may reserve.
const IOVA_BASE: u64 = 0x1000_0000;
/// IOVAs stop short of the x86 MSI window at 0xfee0_0000.
const IOVA_LIMIT: u64 = 0xfe00_0000;

/// A PCI function opened through VFIO.
pub struct VfioPci {
    addr: PciAddress,
    name: String,
    device: VfioDevice,
    container: Arc<VfioContainer>,
    next_iova: Mutex<u64>,
    irq: Mutex<Option<IrqKind>>,
}

fn open_check(path: &Path, device: &str) -> Result<()> {
    match OpenOptions::new().read(true).write(true).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Err(Error::PermissionDenied { path: path.to_path_buf(), device: device.to_string() })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NodeMissing {
            path: path.to_path_buf(),
            device: device.to_string(),
            hint: "load vfio-pci and vfio_iommu_type1, and boot with the IOMMU on (intel_iommu=on)",
        }),
        Err(e) => Err(Error::Io { device: device.to_string(), op: "opening a VFIO node", source: e }),
    }
}

impl VfioPci {
    /// Open the function at `addr`, which must already be bound to vfio-pci
    /// (see [`sysfs::bind_vfio`]).
    pub fn open(addr: &PciAddress) -> Result<VfioPci> {
        let name = addr.to_string();
        let info = sysfs::info(Path::new(sysfs::SYSFS), addr)?;
        if info.driver.as_deref() != Some("vfio-pci") {
            return Err(Error::NotBoundToVfio {
                addr: name,
                driver: info.driver.clone(),
                vendor_device: info.vendor_device(),
            });
        }
        let group = info.iommu_group.ok_or_else(|| Error::NodeMissing {
            path: PathBuf::from(format!("/sys/bus/pci/devices/{name}/iommu_group")),
            device: name.clone(),
            hint: "the device has no IOMMU group: boot with the IOMMU on (intel_iommu=on)",
        })?;
        open_check(Path::new("/dev/vfio/vfio"), &name)?;
        open_check(&PathBuf::from(format!("/dev/vfio/{group}")), &name)?;

        let vfio_err = |op| {
            let name = name.clone();
            move |source| Error::Vfio { device: name, op, source }
        };
        let container = Arc::new(VfioContainer::new(None).map_err(vfio_err("opening the container"))?);
        let sysfs_path = PathBuf::from(format!("/sys/bus/pci/devices/{name}"));
        let ops: Arc<dyn VfioOps> = container.clone();
        let device = VfioDevice::new(&sysfs_path, ops, false).map_err(vfio_err("opening the device"))?;
        log::debug!("{name}: opened through VFIO group {group}");
        Ok(VfioPci { addr: *addr, name, device, container, next_iova: Mutex::new(IOVA_BASE), irq: Mutex::new(None) })
    }

    fn config_region(&self, offset: u16, len: usize) -> Result<u64> {
        let size = self.device.get_region_size(VFIO_PCI_CONFIG_REGION_INDEX);
        if u64::from(offset) + len as u64 > size {
            return Err(Error::OutOfBounds {
                what: format!("{} config space", self.name),
                offset: offset.into(),
                len,
                size,
            });
        }
        Ok(self.device.get_region_offset(VFIO_PCI_CONFIG_REGION_INDEX) + u64::from(offset))
    }

    fn irq_index(kind: IrqKind) -> u32 {
        match kind {
            IrqKind::Msi => VFIO_PCI_MSI_IRQ_INDEX,
            IrqKind::Intx => VFIO_PCI_INTX_IRQ_INDEX,
        }
    }
}

fn pread(fd: i32, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    // SAFETY: buf is a valid writable buffer of buf.len() bytes for the call.
    let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), at as libc::off_t) };
    match n {
        n if n < 0 => Err(std::io::Error::last_os_error()),
        n if n as usize != buf.len() => Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "short read")),
        _ => Ok(()),
    }
}

fn pwrite(fd: i32, data: &[u8], at: u64) -> std::io::Result<()> {
    // SAFETY: data is a valid readable buffer of data.len() bytes for the call.
    let n = unsafe { libc::pwrite(fd, data.as_ptr().cast(), data.len(), at as libc::off_t) };
    match n {
        n if n < 0 => Err(std::io::Error::last_os_error()),
        n if n as usize != data.len() => Err(std::io::Error::new(std::io::ErrorKind::WriteZero, "short write")),
        _ => Ok(()),
    }
}

impl PciDevice for VfioPci {
    fn address(&self) -> PciAddress {
        self.addr
    }

    fn config_read(&self, offset: u16, buf: &mut [u8]) -> Result<()> {
        let at = self.config_region(offset, buf.len())?;
        pread(self.device.as_raw_fd(), buf, at).map_err(|e| Error::from_io(&self.name, "config space read", e))
    }

    fn config_write(&self, offset: u16, data: &[u8]) -> Result<()> {
        let at = self.config_region(offset, data.len())?;
        pwrite(self.device.as_raw_fd(), data, at).map_err(|e| Error::from_io(&self.name, "config space write", e))
    }

    fn map_bar(&self, bar: u8) -> Result<Arc<dyn RegisterIo>> {
        if bar > 5 {
            return Err(Error::Invalid(format!("{}: BAR{bar} does not exist (0-5)", self.name)));
        }
        let index = u32::from(bar);
        let size = self.device.get_region_size(index);
        let flags = self.device.get_region_flags(index);
        let region_name = format!("{} BAR{bar}", self.name);
        if size == 0 || flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE) == 0 {
            return Err(Error::Unsupported {
                device: self.name.clone(),
                what: format!("BAR{bar} (not implemented by the device)"),
            });
        }
        let offset = self.device.get_region_offset(index);
        if flags & VFIO_REGION_INFO_FLAG_MMAP != 0 {
            // SAFETY: maps `size` bytes of the VFIO device fd at the region's
            // offset, shared, at an address the kernel chooses; checked below.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    size as usize,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    self.device.as_raw_fd(),
                    offset as libc::off_t,
                )
            };
            if p != libc::MAP_FAILED {
                if let Some(ptr) = NonNull::new(p.cast::<u8>()) {
                    // SAFETY: a fresh mapping of exactly `size` bytes that only the
                    // returned region owns and unmaps.
                    let region = unsafe { MmioRegion::from_raw_mapping(region_name, ptr, size as usize) };
                    return Ok(Arc::new(region));
                }
            }
            log::warn!("{region_name}: mmap failed ({}); falling back to read/write", std::io::Error::last_os_error());
        }
        // SAFETY: the device fd is open for as long as `self.device` lives, which
        // covers this call; the clone below owns its own descriptor.
        let fd = unsafe { BorrowedFd::borrow_raw(self.device.as_raw_fd()) }
            .try_clone_to_owned()
            .map_err(|e| Error::from_io(&self.name, "dup of the device fd", e))?;
        Ok(Arc::new(FdRegion { name: region_name, fd, offset, len: size }))
    }

    fn alloc_dma(&self, len: usize, what: &str) -> Result<DmaBuffer> {
        let container = self.container.clone();
        let device = self.name.clone();
        DmaBuffer::allocate(format!("{}: {what}", self.name), len, |ptr, len| {
            let mut next = self.next_iova.lock().unwrap_or_else(|e| e.into_inner());
            let iova = *next;
            if iova + len as u64 > IOVA_LIMIT {
                return Err(Error::Invalid(format!("{device}: out of IOVA space for {len} more bytes of DMA memory")));
            }
            // SAFETY: ptr..ptr+len is a fresh anonymous mapping owned by the
            // DmaBuffer being built; it is only accessed with volatile operations
            // and is unmapped from the IOMMU (below) before it is munmapped.
            unsafe { container.vfio_dma_map(iova, len, ptr) }.map_err(|source| Error::Vfio {
                device: device.clone(),
                op: "mapping DMA memory",
                source,
            })?;
            *next = iova + (len + PAGE_SIZE) as u64; // leave a guard page
            let unmap = Box::new(move |iova: u64, len: usize| {
                if let Err(e) = container.vfio_dma_unmap(iova, len) {
                    log::warn!("{device}: unmapping DMA memory at {iova:#x}: {e}");
                }
            });
            Ok((iova, unmap as Box<dyn Fn(u64, usize) + Send + Sync>))
        })
    }

    fn enable_irq(&self, kind: IrqKind) -> Result<IrqEvent> {
        let index = Self::irq_index(kind);
        if self.device.get_irq_info(index).is_none_or(|i| i.count == 0) {
            return Err(Error::Unsupported { device: self.name.clone(), what: format!("{kind:?} interrupts") });
        }
        let mut current = self.irq.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = current.take() {
            let _ = self.device.disable_irq(Self::irq_index(old));
        }
        let event = IrqEvent::new(&format!("{} {kind:?}", self.name), kind)?;
        self.device.enable_irq(index, vec![event.eventfd()]).map_err(|source| Error::Vfio {
            device: self.name.clone(),
            op: "enabling interrupts",
            source,
        })?;
        *current = Some(kind);
        Ok(event)
    }

    fn unmask_irq(&self) -> Result<()> {
        if *self.irq.lock().unwrap_or_else(|e| e.into_inner()) == Some(IrqKind::Intx) {
            self.device.unmask_irq(VFIO_PCI_INTX_IRQ_INDEX).map_err(|source| Error::Vfio {
                device: self.name.clone(),
                op: "unmasking INTx",
                source,
            })?;
        }
        Ok(())
    }

    fn disable_irq(&self) -> Result<()> {
        if let Some(kind) = self.irq.lock().unwrap_or_else(|e| e.into_inner()).take() {
            self.device.disable_irq(Self::irq_index(kind)).map_err(|source| Error::Vfio {
                device: self.name.clone(),
                op: "disabling interrupts",
                source,
            })?;
        }
        Ok(())
    }
}

impl Drop for VfioPci {
    fn drop(&mut self) {
        let _ = self.disable_irq();
    }
}

/// A BAR the kernel will not let us mmap, accessed with pread/pwrite on the
/// device fd. Slower, same semantics.
struct FdRegion {
    name: String,
    /// A duplicate of the device fd, so the region outlives a dropped [`VfioPci`].
    fd: OwnedFd,
    offset: u64,
    len: u64,
}

impl std::fmt::Debug for FdRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FdRegion").field("name", &self.name).field("len", &self.len).finish()
    }
}

impl RegisterIo for FdRegion {
    fn name(&self) -> &str {
        &self.name
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn read(&self, offset: u64, width: Width) -> Result<u32> {
        check_access(&self.name, self.len, offset, width)?;
        let mut b = [0u8; 4];
        pread(self.fd.as_raw_fd(), &mut b[..width.bytes()], self.offset + offset)
            .map_err(|e| Error::from_io(&self.name, "register read", e))?;
        Ok(u32::from_le_bytes(b))
    }
    fn write(&self, offset: u64, width: Width, value: u32) -> Result<()> {
        check_access(&self.name, self.len, offset, width)?;
        pwrite(self.fd.as_raw_fd(), &value.to_le_bytes()[..width.bytes()], self.offset + offset)
            .map_err(|e| Error::from_io(&self.name, "register write", e))
    }
}
