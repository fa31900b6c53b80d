//! The FUSE/CUSE kernel ABI (include/uapi/linux/fuse.h, fs/fuse/cuse.c):
//! the structs, defined once with their layouts pinned by tests against the
//! header's sizes. No crate in the tree carries them.
//!
//! Every struct here (and every kernel struct in the crates above this one)
//! derives zerocopy's `FromBytes`, `IntoBytes`, `Immutable` and
//! `KnownLayout`: the derives check at compile time that any bytes are a
//! valid value and that there is no padding, so reading and writing them is
//! safe code.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// FUSE_KERNEL_VERSION.
pub const KERNEL_VERSION: u32 = 7;
/// The minor version we speak (7.31: the layouts below).
pub const KERNEL_MINOR: u32 = 31;

pub const FUSE_READ: u32 = 15;
pub const FUSE_WRITE: u32 = 16;
pub const FUSE_OPEN: u32 = 14;
pub const FUSE_RELEASE: u32 = 18;
pub const FUSE_FLUSH: u32 = 25;
pub const FUSE_INTERRUPT: u32 = 36;
pub const FUSE_IOCTL: u32 = 39;
pub const FUSE_POLL: u32 = 40;
pub const FUSE_DESTROY: u32 = 38;
pub const CUSE_INIT: u32 = 4096;

/// cuse_init_out.flags: ioctls may move data the kernel cannot size.
pub const CUSE_UNRESTRICTED_IOCTL: u32 = 1 << 0;
/// fuse_ioctl_in.flags: the caller is a 32-bit process on a 64-bit kernel.
pub const FUSE_IOCTL_COMPAT: u32 = 1 << 0;
pub const FUSE_IOCTL_UNRESTRICTED: u32 = 1 << 1;
/// fuse_ioctl_out.flags: call again with these iovecs filled in.
pub const FUSE_IOCTL_RETRY: u32 = 1 << 2;
/// fuse_ioctl_in.flags: the caller is a 32-bit process (a compat caller on a
/// 64-bit kernel, or any caller on a 32-bit kernel).
pub const FUSE_IOCTL_32BIT: u32 = 1 << 3;
/// fuse_ioctl_in.flags: the caller uses the x32 ABI (32-bit pointers and
/// longs, 64-bit aligned long longs).
pub const FUSE_IOCTL_COMPAT_X32: u32 = 1 << 4;
/// fuse_poll_in.flags: the kernel wants a notification when ready.
pub const FUSE_POLL_SCHEDULE_NOTIFY: u32 = 1 << 0;
/// fuse_in_header.unique of a FUSE_INTERRUPT: the interrupted request's
/// unique with this bit set (requests' own uniques are even). A reply to it
/// (only EAGAIN: "not known yet, ask again"; ENOSYS: "never") is a bare
/// header with this unique.
pub const FUSE_INT_REQ_BIT: u64 = 1;
/// Notification code (in fuse_out_header.error) for a poll wakeup.
pub const FUSE_NOTIFY_POLL: i32 = 1;

/// fuse_open_out.open_flags: reads and writes bypass the page cache.
pub const FOPEN_DIRECT_IO: u32 = 1 << 0;
/// fuse_open_out.open_flags: the file is not seekable.
pub const FOPEN_NONSEEKABLE: u32 = 1 << 2;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct InHeader {
    pub len: u32,
    pub opcode: u32,
    pub unique: u64,
    pub nodeid: u64,
    pub uid: u32,
    pub gid: u32,
    pub pid: u32,
    pub total_extlen: u16,
    pub padding: u16,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct OutHeader {
    pub len: u32,
    pub error: i32,
    pub unique: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct CuseInitIn {
    pub major: u32,
    pub minor: u32,
    pub unused: u32,
    pub flags: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct CuseInitOut {
    pub major: u32,
    pub minor: u32,
    pub unused: u32,
    pub flags: u32,
    pub max_read: u32,
    pub max_write: u32,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub spare: [u32; 10],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct OpenIn {
    pub flags: u32,
    pub open_flags: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct OpenOut {
    pub fh: u64,
    pub open_flags: u32,
    pub padding: u32,
}

/// fuse_read_in and fuse_write_in share this layout.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct ReadWriteIn {
    pub fh: u64,
    pub offset: u64,
    pub size: u32,
    pub rw_flags: u32,
    pub lock_owner: u64,
    /// The open file's flags (O_NONBLOCK is seen here).
    pub flags: u32,
    pub padding: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct WriteOut {
    pub size: u32,
    pub padding: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct ReleaseIn {
    pub fh: u64,
    pub flags: u32,
    pub release_flags: u32,
    pub lock_owner: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct IoctlIn {
    pub fh: u64,
    pub flags: u32,
    pub cmd: u32,
    pub arg: u64,
    pub in_size: u32,
    pub out_size: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct IoctlOut {
    pub result: i32,
    pub flags: u32,
    pub in_iovs: u32,
    pub out_iovs: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct IoctlIovec {
    pub base: u64,
    pub len: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct PollIn {
    pub fh: u64,
    pub kh: u64,
    pub flags: u32,
    pub events: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct PollOut {
    pub revents: u32,
    pub padding: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct PollWakeupOut {
    pub kh: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct InterruptIn {
    pub unique: u64,
}

/// Copy `s` into a C string field: truncated (at a character boundary) to
/// leave room for the terminating NUL, the rest zeroed.
pub fn put_str(field: &mut [u8], s: &str) {
    field.fill(0);
    let mut end = s.len().min(field.len().saturating_sub(1));
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    field[..end].copy_from_slice(&s.as_bytes()[..end]);
}

/// A C string field's text (up to the first NUL).
pub fn get_str(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// `Default` for kernel structs whose arrays are too long for a derived
/// one: all zeros (`FromZeros::new_zeroed`).
#[macro_export]
macro_rules! zeroed_default {
    ($($t:ty),* $(,)?) => {$(
        impl Default for $t {
            fn default() -> Self {
                <$t as zerocopy::FromZeros>::new_zeroed()
            }
        }
    )*};
}

/// Read a struct from the front of `bytes`, if there are enough.
pub fn read<T: FromBytes>(bytes: &[u8]) -> Option<T> {
    T::read_from_prefix(bytes).ok().map(|(v, _)| v)
}

/// The bytes of a struct.
pub fn bytes<T: IntoBytes + Immutable>(v: &T) -> &[u8] {
    v.as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    /// Sizes from include/uapi/linux/fuse.h (and cuse.c's structs).
    #[test]
    fn layouts_match_the_kernel_headers() {
        assert_eq!(size_of::<InHeader>(), 40);
        assert_eq!(size_of::<OutHeader>(), 16);
        assert_eq!(size_of::<CuseInitIn>(), 16);
        assert_eq!(size_of::<CuseInitOut>(), 72);
        assert_eq!(size_of::<OpenIn>(), 8);
        assert_eq!(size_of::<OpenOut>(), 16);
        assert_eq!(size_of::<ReadWriteIn>(), 40);
        assert_eq!(size_of::<WriteOut>(), 8);
        assert_eq!(size_of::<ReleaseIn>(), 24);
        assert_eq!(size_of::<IoctlIn>(), 32);
        assert_eq!(size_of::<IoctlOut>(), 16);
        assert_eq!(size_of::<IoctlIovec>(), 16);
        assert_eq!(size_of::<PollIn>(), 24);
        assert_eq!(size_of::<PollOut>(), 8);
        assert_eq!(size_of::<InterruptIn>(), 8);
        assert_eq!(std::mem::offset_of!(InHeader, pid), 32);
        assert_eq!(std::mem::offset_of!(IoctlIn, arg), 16);
    }

    #[test]
    fn short_input_is_refused_and_round_trips_hold() {
        assert!(read::<InHeader>(&[0u8; 39]).is_none());
        let h = OutHeader { len: 16, error: -22, unique: 7 };
        let back: OutHeader = read(bytes(&h)).unwrap();
        assert_eq!((back.len, back.error, back.unique), (16, -22, 7));
    }
}
