//! Register access: one handle per register window that knows its length,
//! checks every access against it, and reads/writes with volatile operations.
//!
//! [`RegisterIo`] is what drivers see. [`MmioRegion`] is the real backend over
//! an `mmap`ed BAR; [`HandlerRegion`] forwards accesses to an in-memory
//! [`MmioHandler`] (an emulated device).

use std::fmt;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::{Error, Result};

/// Width of one register access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    W8,
    W16,
    W32,
}

impl Width {
    /// Bytes moved by an access of this width.
    pub const fn bytes(self) -> usize {
        match self {
            Width::W8 => 1,
            Width::W16 => 2,
            Width::W32 => 4,
        }
    }
}

/// A window of device registers.
///
/// Implementations check bounds and alignment and return
/// [`Error::OutOfBounds`] rather than touching memory outside the window.
pub trait RegisterIo: Send + Sync + fmt::Debug {
    /// What the window is, for error messages ("0000:00:1b.0 BAR0").
    fn name(&self) -> &str;
    /// Length of the window in bytes.
    fn len(&self) -> u64;
    /// Whether the window is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Read `width` bytes at `offset` (little-endian value).
    fn read(&self, offset: u64, width: Width) -> Result<u32>;
    /// Write the low `width` bytes of `value` at `offset`.
    fn write(&self, offset: u64, width: Width, value: u32) -> Result<()>;

    fn read8(&self, offset: u64) -> Result<u8> {
        self.read(offset, Width::W8).map(|v| v as u8)
    }
    fn read16(&self, offset: u64) -> Result<u16> {
        self.read(offset, Width::W16).map(|v| v as u16)
    }
    fn read32(&self, offset: u64) -> Result<u32> {
        self.read(offset, Width::W32)
    }
    fn write8(&self, offset: u64, value: u8) -> Result<()> {
        self.write(offset, Width::W8, value.into())
    }
    fn write16(&self, offset: u64, value: u16) -> Result<()> {
        self.write(offset, Width::W16, value.into())
    }
    fn write32(&self, offset: u64, value: u32) -> Result<()> {
        self.write(offset, Width::W32, value)
    }
}

/// Check that an access of `width` at `offset` lies inside a window of `len`
/// bytes and is naturally aligned.
pub fn check_access(name: &str, len: u64, offset: u64, width: Width) -> Result<()> {
    let w = width.bytes() as u64;
    if offset % w != 0 || offset.checked_add(w).is_none_or(|end| end > len) {
        return Err(Error::OutOfBounds { what: name.to_string(), offset, len: width.bytes(), size: len });
    }
    Ok(())
}

/// A memory-mapped register window (a BAR mapped with `mmap`).
///
/// Invariant: `ptr` points to a live mapping of `len` bytes that this value
/// owns and unmaps on drop; the memory is device memory, so it is only ever
/// touched with volatile accesses of the width the caller asked for.
pub struct MmioRegion {
    name: String,
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is owned by this value and accessed only with volatile
// reads/writes through `&self`; device registers tolerate access from any thread.
unsafe impl Send for MmioRegion {}
// SAFETY: as above: no Rust references to the memory are created, so shared
// access from several threads is as safe as the hardware's own semantics.
unsafe impl Sync for MmioRegion {}

impl MmioRegion {
    /// Take ownership of a mapping made with `mmap`.
    ///
    /// # Safety
    /// `ptr` must be the start of a live `mmap` mapping of exactly `len` bytes
    /// that nothing else unmaps; this value unmaps it on drop.
    pub unsafe fn from_raw_mapping(name: String, ptr: NonNull<u8>, len: usize) -> MmioRegion {
        MmioRegion { name, ptr, len }
    }
}

impl fmt::Debug for MmioRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MmioRegion").field("name", &self.name).field("len", &self.len).finish()
    }
}

impl RegisterIo for MmioRegion {
    fn name(&self) -> &str {
        &self.name
    }
    fn len(&self) -> u64 {
        self.len as u64
    }
    fn read(&self, offset: u64, width: Width) -> Result<u32> {
        check_access(&self.name, self.len as u64, offset, width)?;
        // SAFETY: check_access proved offset..offset+width lies inside the
        // mapping and is aligned to the width; the mapping lives as long as self.
        let p = unsafe { self.ptr.as_ptr().add(offset as usize) };
        // SAFETY: `p` is in bounds and aligned (above); volatile because this is device memory.
        let v = unsafe {
            match width {
                Width::W8 => u32::from(p.read_volatile()),
                Width::W16 => u32::from(u16::from_le((p as *const u16).read_volatile())),
                Width::W32 => u32::from_le((p as *const u32).read_volatile()),
            }
        };
        Ok(v)
    }
    fn write(&self, offset: u64, width: Width, value: u32) -> Result<()> {
        check_access(&self.name, self.len as u64, offset, width)?;
        // SAFETY: check_access proved offset..offset+width lies inside the
        // mapping and is aligned to the width; the mapping lives as long as self.
        let p = unsafe { self.ptr.as_ptr().add(offset as usize) };
        // SAFETY: `p` is in bounds and aligned (above); volatile because this is device memory.
        unsafe {
            match width {
                Width::W8 => p.write_volatile(value as u8),
                Width::W16 => (p as *mut u16).write_volatile((value as u16).to_le()),
                Width::W32 => (p as *mut u32).write_volatile(value.to_le()),
            }
        }
        Ok(())
    }
}

impl Drop for MmioRegion {
    fn drop(&mut self) {
        // SAFETY: ptr/len describe a mapping this value owns (constructor contract);
        // nothing can use it after drop.
        let rc = unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
        if rc != 0 {
            log::warn!("{}: munmap failed: {}", self.name, std::io::Error::last_os_error());
        }
    }
}

/// The device side of an emulated register window.
///
/// Offsets passed in are already bounds- and alignment-checked.
pub trait MmioHandler: Send + Sync {
    fn mmio_read(&self, offset: u64, width: Width) -> u32;
    fn mmio_write(&self, offset: u64, width: Width, value: u32);
}

/// A register window whose accesses go to an in-memory [`MmioHandler`].
#[derive(Clone)]
pub struct HandlerRegion {
    name: String,
    len: u64,
    handler: Arc<dyn MmioHandler>,
}

impl HandlerRegion {
    pub fn new(name: impl Into<String>, len: u64, handler: Arc<dyn MmioHandler>) -> HandlerRegion {
        HandlerRegion { name: name.into(), len, handler }
    }
}

impl fmt::Debug for HandlerRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerRegion").field("name", &self.name).field("len", &self.len).finish()
    }
}

impl RegisterIo for HandlerRegion {
    fn name(&self) -> &str {
        &self.name
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn read(&self, offset: u64, width: Width) -> Result<u32> {
        check_access(&self.name, self.len, offset, width)?;
        Ok(self.handler.mmio_read(offset, width))
    }
    fn write(&self, offset: u64, width: Width, value: u32) -> Result<()> {
        check_access(&self.name, self.len, offset, width)?;
        self.handler.mmio_write(offset, width, value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Regs(Mutex<[u8; 16]>);
    impl MmioHandler for Regs {
        fn mmio_read(&self, offset: u64, width: Width) -> u32 {
            let r = self.0.lock().unwrap();
            let mut v = 0u32;
            for i in 0..width.bytes() {
                v |= u32::from(r[offset as usize + i]) << (8 * i);
            }
            v
        }
        fn mmio_write(&self, offset: u64, width: Width, value: u32) {
            let mut r = self.0.lock().unwrap();
            for i in 0..width.bytes() {
                r[offset as usize + i] = (value >> (8 * i)) as u8;
            }
        }
    }

    #[test]
    fn accesses_reach_the_handler_little_endian() {
        let region = HandlerRegion::new("test BAR0", 16, Arc::new(Regs(Mutex::new([0; 16]))));
        region.write32(4, 0x1122_3344).unwrap();
        assert_eq!(region.read8(4).unwrap(), 0x44);
        assert_eq!(region.read16(6).unwrap(), 0x1122);
        assert_eq!(region.read32(4).unwrap(), 0x1122_3344);
    }

    #[test]
    fn out_of_window_and_misaligned_accesses_are_refused() {
        let region = HandlerRegion::new("test BAR0", 16, Arc::new(Regs(Mutex::new([0; 16]))));
        let err = region.read32(16).unwrap_err();
        assert!(err.to_string().contains("test BAR0"), "{err}");
        assert!(matches!(err, Error::OutOfBounds { offset: 16, .. }));
        assert!(matches!(region.read32(14), Err(Error::OutOfBounds { .. })));
        assert!(matches!(region.read16(3), Err(Error::OutOfBounds { .. })));
        assert!(matches!(region.write32(u64::MAX - 1, 0), Err(Error::OutOfBounds { .. })));
    }

    #[test]
    fn a_real_mapping_reads_and_writes_volatile() {
        // An anonymous mapping stands in for a BAR.
        // SAFETY: plain anonymous mmap; checked for MAP_FAILED below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        let ptr = NonNull::new(p.cast::<u8>()).unwrap();
        // SAFETY: a fresh 4096-byte mapping nothing else owns.
        let region = unsafe { MmioRegion::from_raw_mapping("anon".into(), ptr, 4096) };
        region.write16(0x10, 0xbeef).unwrap();
        assert_eq!(region.read32(0x10).unwrap(), 0xbeef);
        assert!(region.read32(4096).is_err());
    }
}
