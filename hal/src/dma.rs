//! DMA memory: buffers a device reads and writes on its own, addressed by the
//! device through an IOVA (an address the IOMMU translates).
//!
//! The memory is never exposed as a Rust slice or reference, because the device
//! may write it at any moment: every access is a volatile copy through
//! [`DmaBuffer`]'s methods, bounds-checked against the buffer.
//!
//! Real buffers are mapped by [`crate::pci::vfio::VfioPci::alloc_dma`]; in-memory
//! ones come from a [`DmaSpace`], which also gives an emulated device its side of
//! the bus ([`DmaSpace::read`] / [`DmaSpace::write`] by IOVA, failing like an
//! IOMMU fault for addresses that are not mapped).

use std::collections::BTreeMap;
use std::fmt;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, Weak};

use crate::{Error, Result};

/// Page size DMA buffers are rounded to.
pub const PAGE_SIZE: usize = 4096;

type Unmap = Box<dyn Fn(u64, usize) + Send + Sync>;

/// The memory behind a [`DmaBuffer`].
///
/// Invariant: `ptr` is a private anonymous mapping of `len` bytes (a multiple
/// of [`PAGE_SIZE`]) owned by this value; while it lives, the device may access
/// it at `iova`. `unmap` removes the device's access before the memory is freed.
struct DmaMem {
    name: String,
    ptr: NonNull<u8>,
    len: usize,
    iova: u64,
    unmap: Option<Unmap>,
}

// SAFETY: the memory is only touched through volatile accesses on raw pointers,
// never through references, so sharing it between threads is sound.
unsafe impl Send for DmaMem {}
// SAFETY: as for Send.
unsafe impl Sync for DmaMem {}

impl Drop for DmaMem {
    fn drop(&mut self) {
        if let Some(unmap) = self.unmap.take() {
            unmap(self.iova, self.len);
        }
        // SAFETY: ptr/len are the anonymous mapping this value owns; the device's
        // access was removed just above, and no other handle exists (last Arc).
        let rc = unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
        if rc != 0 {
            log::warn!("{}: munmap failed: {}", self.name, std::io::Error::last_os_error());
        }
    }
}

/// A buffer of DMA memory, shared with a device. Cloning shares the same memory.
#[derive(Clone)]
pub struct DmaBuffer {
    mem: Arc<DmaMem>,
}

impl fmt::Debug for DmaBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DmaBuffer")
            .field("name", &self.mem.name)
            .field("iova", &format_args!("{:#x}", self.mem.iova))
            .field("len", &self.mem.len)
            .finish()
    }
}

/// Round `len` up to whole pages; `None` for zero or an overflowing length.
pub fn page_round(len: usize) -> Option<usize> {
    if len == 0 {
        return None;
    }
    len.checked_add(PAGE_SIZE - 1).map(|l| l & !(PAGE_SIZE - 1))
}

impl DmaBuffer {
    /// Allocate zeroed, page-rounded anonymous memory and make it visible to a
    /// device: `map(ptr, len)` returns the IOVA the device will use and the
    /// function that removes the mapping again.
    pub(crate) fn allocate(
        name: String,
        len: usize,
        map: impl FnOnce(*mut u8, usize) -> Result<(u64, Unmap)>,
    ) -> Result<DmaBuffer> {
        let len = page_round(len).ok_or_else(|| Error::Invalid(format!("{name}: a DMA buffer of {len} bytes")))?;
        // SAFETY: a private anonymous mapping: no file, no fixed address; the
        // result is checked for MAP_FAILED before use.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Error::Io { device: name, op: "mmap of DMA memory", source: std::io::Error::last_os_error() });
        }
        let Some(ptr) = NonNull::new(p.cast::<u8>()) else {
            return Err(Error::Invalid(format!("{name}: mmap returned a null mapping")));
        };
        // Until `map` succeeds the DmaMem frees the memory without an unmap step.
        let mut mem = DmaMem { name, ptr, len, iova: 0, unmap: None };
        let (iova, unmap) = map(ptr.as_ptr(), len)?;
        mem.iova = iova;
        mem.unmap = Some(unmap);
        Ok(DmaBuffer { mem: Arc::new(mem) })
    }

    /// The address the device uses for the first byte.
    pub fn iova(&self) -> u64 {
        self.mem.iova
    }

    /// Length in bytes (a whole number of pages).
    pub fn len(&self) -> usize {
        self.mem.len
    }

    /// Always false: a buffer has at least one page.
    pub fn is_empty(&self) -> bool {
        self.mem.len == 0
    }

    fn check(&self, offset: usize, len: usize) -> Result<*mut u8> {
        if offset.checked_add(len).is_none_or(|end| end > self.mem.len) {
            return Err(Error::OutOfBounds {
                what: format!("DMA buffer {}", self.mem.name),
                offset: offset as u64,
                len,
                size: self.mem.len as u64,
            });
        }
        // SAFETY: offset + len <= mem.len (checked above), so the pointer stays
        // inside the mapping.
        Ok(unsafe { self.mem.ptr.as_ptr().add(offset) })
    }

    /// Copy bytes out of the buffer.
    pub fn read_bytes(&self, offset: usize, out: &mut [u8]) -> Result<()> {
        let p = self.check(offset, out.len())?;
        for (i, b) in out.iter_mut().enumerate() {
            // SAFETY: p..p+out.len() is inside the mapping (check); volatile
            // because the device may write it concurrently.
            *b = unsafe { p.add(i).read_volatile() };
        }
        Ok(())
    }

    /// Copy bytes into the buffer.
    pub fn write_bytes(&self, offset: usize, data: &[u8]) -> Result<()> {
        let p = self.check(offset, data.len())?;
        for (i, b) in data.iter().enumerate() {
            // SAFETY: p..p+data.len() is inside the mapping (check); volatile
            // because the device may read it concurrently.
            unsafe { p.add(i).write_volatile(*b) };
        }
        Ok(())
    }

    /// Set `len` bytes from `offset` to `byte`.
    pub fn fill(&self, offset: usize, len: usize, byte: u8) -> Result<()> {
        let p = self.check(offset, len)?;
        for i in 0..len {
            // SAFETY: inside the mapping (check); volatile as above.
            unsafe { p.add(i).write_volatile(byte) };
        }
        Ok(())
    }

    /// Read a little-endian u32 (aligned accesses are single volatile loads).
    pub fn read_u32(&self, offset: usize) -> Result<u32> {
        let p = self.check(offset, 4)?;
        if offset % 4 == 0 {
            // SAFETY: in bounds (check) and 4-byte aligned: the mapping is
            // page-aligned and offset is a multiple of 4.
            return Ok(u32::from_le(unsafe { (p as *const u32).read_volatile() }));
        }
        let mut b = [0u8; 4];
        self.read_bytes(offset, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Write a little-endian u32 (aligned accesses are single volatile stores).
    pub fn write_u32(&self, offset: usize, value: u32) -> Result<()> {
        let p = self.check(offset, 4)?;
        if offset % 4 == 0 {
            // SAFETY: in bounds (check) and 4-byte aligned (page-aligned mapping).
            unsafe { (p as *mut u32).write_volatile(value.to_le()) };
            return Ok(());
        }
        self.write_bytes(offset, &value.to_le_bytes())
    }

    /// Read a little-endian u64 as two u32 halves (low first).
    pub fn read_u64(&self, offset: usize) -> Result<u64> {
        let lo = self.read_u32(offset)?;
        let hi = self.read_u32(offset + 4)?;
        Ok(u64::from(lo) | (u64::from(hi) << 32))
    }

    /// Write a little-endian u64 as two u32 halves (low first).
    pub fn write_u64(&self, offset: usize, value: u64) -> Result<()> {
        self.write_u32(offset, value as u32)?;
        self.write_u32(offset + 4, (value >> 32) as u32)
    }
}

/// An in-memory IOVA space: the bus an emulated device sees.
///
/// Buffers allocated from it get IOVAs from a bump allocator starting at
/// `base`; the device side reads and writes them by IOVA. An access to an
/// address no live buffer covers fails, as an IOMMU fault would.
#[derive(Clone)]
pub struct DmaSpace {
    inner: Arc<Mutex<SpaceInner>>,
    name: Arc<str>,
}

struct SpaceInner {
    next_iova: u64,
    /// iova -> (len, buffer); weak so dropping the last DmaBuffer frees memory.
    buffers: BTreeMap<u64, (usize, Weak<DmaMem>)>,
}

impl fmt::Debug for DmaSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DmaSpace").field("name", &self.name).finish()
    }
}

impl DmaSpace {
    /// A new, empty IOVA space whose first buffer lands at `base`.
    pub fn new(name: &str, base: u64) -> DmaSpace {
        DmaSpace {
            inner: Arc::new(Mutex::new(SpaceInner { next_iova: base, buffers: BTreeMap::new() })),
            name: name.into(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SpaceInner> {
        // A panic while holding this lock leaves only plain data behind.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Allocate a buffer the device can reach.
    pub fn alloc(&self, len: usize, what: &str) -> Result<DmaBuffer> {
        let space = Arc::downgrade(&self.inner);
        let buf = DmaBuffer::allocate(format!("{}: {what}", self.name), len, |_, len| {
            let mut inner = self.lock();
            let iova = inner.next_iova;
            inner.next_iova = iova + len as u64 + PAGE_SIZE as u64; // a guard page between buffers
            let unmap: Unmap = Box::new(move |iova, _| {
                if let Some(space) = space.upgrade() {
                    space.lock().unwrap_or_else(|e| e.into_inner()).buffers.remove(&iova);
                }
            });
            Ok((iova, unmap))
        })?;
        self.lock().buffers.insert(buf.iova(), (buf.len(), Arc::downgrade(&buf.mem)));
        Ok(buf)
    }

    /// The live buffer covering `iova..iova+len`, and the offset into it.
    fn resolve(&self, iova: u64, len: usize) -> Result<(DmaBuffer, usize)> {
        let fault =
            || Error::OutOfBounds { what: format!("{}: IOVA (IOMMU fault)", self.name), offset: iova, len, size: 0 };
        let inner = self.lock();
        let (&base, (size, weak)) = inner.buffers.range(..=iova).next_back().ok_or_else(fault)?;
        let offset = (iova - base) as usize;
        if offset.checked_add(len).is_none_or(|end| end > *size) {
            return Err(fault());
        }
        let mem = weak.upgrade().ok_or_else(fault)?;
        Ok((DmaBuffer { mem }, offset))
    }

    /// Device-side read of `out.len()` bytes at `iova`.
    pub fn read(&self, iova: u64, out: &mut [u8]) -> Result<()> {
        let (buf, off) = self.resolve(iova, out.len())?;
        buf.read_bytes(off, out)
    }

    /// Device-side write of `data` at `iova`.
    pub fn write(&self, iova: u64, data: &[u8]) -> Result<()> {
        let (buf, off) = self.resolve(iova, data.len())?;
        buf.write_bytes(off, data)
    }

    /// Number of live buffers (lets tests check that a driver freed its memory).
    pub fn live_buffers(&self) -> usize {
        self.lock().buffers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_and_device_see_the_same_bytes() {
        let space = DmaSpace::new("test", 0x1000_0000);
        let a = space.alloc(100, "CORB").unwrap();
        let b = space.alloc(5000, "BDL").unwrap();
        assert_eq!(a.len(), 4096);
        assert_eq!(b.len(), 8192);
        assert_eq!(a.iova(), 0x1000_0000);
        assert!(b.iova() >= a.iova() + 4096);

        a.write_u32(8, 0xdead_beef).unwrap();
        let mut got = [0u8; 4];
        space.read(a.iova() + 8, &mut got).unwrap();
        assert_eq!(got, 0xdead_beef_u32.to_le_bytes());

        space.write(b.iova() + 4099, &[1, 2, 3]).unwrap();
        let mut back = [0u8; 3];
        b.read_bytes(4099, &mut back).unwrap();
        assert_eq!(back, [1, 2, 3]);
        assert_eq!(b.read_u32(4096).unwrap(), 0x0100_0000, "byte 4099 is the top byte of the word at 4096");
    }

    #[test]
    fn unmapped_and_out_of_range_accesses_fault() {
        let space = DmaSpace::new("test", 0x1000_0000);
        let a = space.alloc(4096, "ring").unwrap();
        let mut b = [0u8; 8];
        assert!(space.read(a.iova() + 4092, &mut b).is_err(), "crosses the end of the buffer");
        assert!(space.read(0x10, &mut b).is_err(), "below any buffer");
        assert!(a.read_u64(4090).is_err());
        assert!(a.write_bytes(usize::MAX, &[0]).is_err());
        let iova = a.iova();
        drop(a);
        assert!(space.read(iova, &mut b).is_err(), "freed memory is no longer reachable");
        assert_eq!(space.live_buffers(), 0);
    }

    #[test]
    fn zero_length_is_refused() {
        let space = DmaSpace::new("test", 0);
        assert!(matches!(space.alloc(0, "x"), Err(Error::Invalid(_))));
    }
}
