//! ALSA's kernel ABI (include/uapi/sound/asound.h): the structs the control
//! and PCM ioctls move, defined once, as a 64-bit caller lays them out, with
//! their sizes and offsets pinned by tests against the header as gcc
//! compiles it (x86_64; the i386 and i386 time64 figures, for the caller
//! layouts still to come, are in the tests beside them).
//!
//! Every struct derives zerocopy's `FromBytes`/`IntoBytes`/`Immutable`/
//! `KnownLayout` (docs/decisions/0004): padding the C compiler inserts is an
//! explicit field here, so the derive proves there is none left.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// SNDRV_PCM_VERSION: 2.0.15.
pub const PCM_VERSION: u32 = 0x0002_000f;
/// SNDRV_CTL_VERSION: 2.0.8.
pub const CTL_VERSION: u32 = 0x0002_0008;

/// `_IOC` as Linux's asm-generic/ioctl.h lays it out.
pub const fn ioc(dir: u32, ty: u8, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | ((ty as u32) << 8) | nr
}
const NONE: u32 = 0;
const W: u32 = 1;
const R: u32 = 2;
const RW: u32 = 3;

/// The ioctl number without its size field: the same request from callers
/// whose struct has another size.
pub const fn without_size(cmd: u32) -> u32 {
    cmd & !(0x3fff << 16)
}

// ---- the control node ('U') ----

pub const CTL_IOCTL_PVERSION: u32 = ioc(R, b'U', 0x00, 4);
pub const CTL_IOCTL_CARD_INFO: u32 = ioc(R, b'U', 0x01, size_of::<CtlCardInfo>());
pub const CTL_IOCTL_ELEM_LIST: u32 = ioc(RW, b'U', 0x10, size_of::<CtlElemList>());
pub const CTL_IOCTL_ELEM_INFO: u32 = ioc(RW, b'U', 0x11, size_of::<CtlElemInfo>());
pub const CTL_IOCTL_ELEM_READ: u32 = ioc(RW, b'U', 0x12, size_of::<CtlElemValue>());
pub const CTL_IOCTL_ELEM_WRITE: u32 = ioc(RW, b'U', 0x13, size_of::<CtlElemValue>());
pub const CTL_IOCTL_ELEM_LOCK: u32 = ioc(W, b'U', 0x14, size_of::<CtlElemId>());
pub const CTL_IOCTL_ELEM_UNLOCK: u32 = ioc(W, b'U', 0x15, size_of::<CtlElemId>());
pub const CTL_IOCTL_SUBSCRIBE_EVENTS: u32 = ioc(RW, b'U', 0x16, 4);
pub const CTL_IOCTL_TLV_READ: u32 = ioc(RW, b'U', 0x1a, size_of::<CtlTlv>());
pub const CTL_IOCTL_HWDEP_NEXT_DEVICE: u32 = ioc(RW, b'U', 0x20, 4);
pub const CTL_IOCTL_PCM_NEXT_DEVICE: u32 = ioc(R, b'U', 0x30, 4);
pub const CTL_IOCTL_PCM_INFO: u32 = ioc(RW, b'U', 0x31, size_of::<PcmInfo>());
pub const CTL_IOCTL_PCM_PREFER_SUBDEVICE: u32 = ioc(W, b'U', 0x32, 4);
pub const CTL_IOCTL_RAWMIDI_NEXT_DEVICE: u32 = ioc(RW, b'U', 0x40, 4);
pub const CTL_IOCTL_POWER_STATE: u32 = ioc(R, b'U', 0xd1, 4);

// ---- the PCM nodes ('A') ----

pub const PCM_IOCTL_PVERSION: u32 = ioc(R, b'A', 0x00, 4);
pub const PCM_IOCTL_INFO: u32 = ioc(R, b'A', 0x01, size_of::<PcmInfo>());
pub const PCM_IOCTL_TSTAMP: u32 = ioc(W, b'A', 0x02, 4);
pub const PCM_IOCTL_TTSTAMP: u32 = ioc(W, b'A', 0x03, 4);
pub const PCM_IOCTL_USER_PVERSION: u32 = ioc(W, b'A', 0x04, 4);
pub const PCM_IOCTL_HW_REFINE: u32 = ioc(RW, b'A', 0x10, size_of::<HwParams>());
pub const PCM_IOCTL_HW_PARAMS: u32 = ioc(RW, b'A', 0x11, size_of::<HwParams>());
pub const PCM_IOCTL_HW_FREE: u32 = ioc(NONE, b'A', 0x12, 0);
pub const PCM_IOCTL_SW_PARAMS: u32 = ioc(RW, b'A', 0x13, size_of::<SwParams>());
pub const PCM_IOCTL_STATUS: u32 = ioc(R, b'A', 0x20, size_of::<PcmStatus>());
pub const PCM_IOCTL_DELAY: u32 = ioc(R, b'A', 0x21, 8);
pub const PCM_IOCTL_HWSYNC: u32 = ioc(NONE, b'A', 0x22, 0);
pub const PCM_IOCTL_SYNC_PTR: u32 = ioc(RW, b'A', 0x23, size_of::<SyncPtr>());
pub const PCM_IOCTL_STATUS_EXT: u32 = ioc(RW, b'A', 0x24, size_of::<PcmStatus>());
pub const PCM_IOCTL_CHANNEL_INFO: u32 = ioc(R, b'A', 0x32, 24);
pub const PCM_IOCTL_PREPARE: u32 = ioc(NONE, b'A', 0x40, 0);
pub const PCM_IOCTL_RESET: u32 = ioc(NONE, b'A', 0x41, 0);
pub const PCM_IOCTL_START: u32 = ioc(NONE, b'A', 0x42, 0);
pub const PCM_IOCTL_DROP: u32 = ioc(NONE, b'A', 0x43, 0);
pub const PCM_IOCTL_DRAIN: u32 = ioc(NONE, b'A', 0x44, 0);
/// Its argument is a value (pause on/off), not a pointer.
pub const PCM_IOCTL_PAUSE: u32 = ioc(W, b'A', 0x45, 4);
pub const PCM_IOCTL_REWIND: u32 = ioc(W, b'A', 0x46, 8);
pub const PCM_IOCTL_RESUME: u32 = ioc(NONE, b'A', 0x47, 0);
pub const PCM_IOCTL_XRUN: u32 = ioc(NONE, b'A', 0x48, 0);
pub const PCM_IOCTL_FORWARD: u32 = ioc(W, b'A', 0x49, 8);
pub const PCM_IOCTL_WRITEI_FRAMES: u32 = ioc(W, b'A', 0x50, size_of::<XferI>());
pub const PCM_IOCTL_READI_FRAMES: u32 = ioc(R, b'A', 0x51, size_of::<XferI>());
pub const PCM_IOCTL_WRITEN_FRAMES: u32 = ioc(W, b'A', 0x52, size_of::<XferN>());
pub const PCM_IOCTL_READN_FRAMES: u32 = ioc(R, b'A', 0x53, size_of::<XferN>());
/// Its argument is the other PCM's file descriptor, a value.
pub const PCM_IOCTL_LINK: u32 = ioc(W, b'A', 0x60, 4);
pub const PCM_IOCTL_UNLINK: u32 = ioc(NONE, b'A', 0x61, 0);

const fn size_of<T>() -> usize {
    std::mem::size_of::<T>()
}

/// `struct snd_ctl_card_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct CtlCardInfo {
    pub card: i32,
    pub pad: i32,
    pub id: [u8; 16],
    pub driver: [u8; 16],
    pub name: [u8; 32],
    pub longname: [u8; 80],
    pub reserved: [u8; 16],
    pub mixername: [u8; 80],
    pub components: [u8; 128],
}

/// `struct snd_ctl_elem_id`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct CtlElemId {
    pub numid: u32,
    /// SNDRV_CTL_ELEM_IFACE_*.
    pub iface: i32,
    pub device: u32,
    pub subdevice: u32,
    pub name: [u8; 44],
    pub index: u32,
}

/// `struct snd_ctl_elem_list` (64-bit: the `pids` pointer at 16, after padding).
#[repr(C)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct CtlElemList {
    pub offset: u32,
    pub space: u32,
    pub used: u32,
    pub count: u32,
    /// Where the caller wants `space` ids written.
    pub pids: u64,
    pub reserved: [u8; 50],
    pub pad: [u8; 6],
}

/// `struct snd_ctl_elem_info`; `value` is the union of its integer,
/// integer64 and enumerated forms, as bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct CtlElemInfo {
    pub id: CtlElemId,
    /// SNDRV_CTL_ELEM_TYPE_*.
    pub kind: i32,
    /// SNDRV_CTL_ELEM_ACCESS_*.
    pub access: u32,
    pub count: u32,
    pub owner: i32,
    pub value: [u8; 128],
    pub reserved: [u8; 64],
}

/// `struct snd_ctl_elem_value`: the 64-bit layout (the value union at 72).
#[repr(C)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct CtlElemValue {
    pub id: CtlElemId,
    pub indirect: u32,
    pub pad: u32,
    /// 128 longs (integer), 64 long longs, 128 enum items or 512 bytes.
    pub value: [u8; 1024],
    pub reserved: [u8; 128],
}

/// `struct snd_ctl_tlv` (its data follows).
#[repr(C)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct CtlTlv {
    pub numid: u32,
    pub length: u32,
}

/// `struct snd_ctl_event` (SNDRV_CTL_EVENT_ELEM: the mask and the id).
#[repr(C)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct CtlEvent {
    pub kind: i32,
    pub mask: u32,
    pub id: CtlElemId,
}

/// `struct snd_pcm_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct PcmInfo {
    pub device: u32,
    pub subdevice: u32,
    /// SNDRV_PCM_STREAM_PLAYBACK (0) or _CAPTURE (1).
    pub stream: i32,
    pub card: i32,
    pub id: [u8; 64],
    pub name: [u8; 80],
    pub subname: [u8; 32],
    pub dev_class: i32,
    pub dev_subclass: i32,
    pub subdevices_count: u32,
    pub subdevices_avail: u32,
    pub sync: [u8; 16],
    pub reserved: [u8; 64],
}

/// `struct snd_interval`: min, max and the bits openmin (0), openmax (1),
/// integer (2), empty (3).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Interval {
    pub min: u32,
    pub max: u32,
    pub flags: u32,
}

/// `struct snd_mask`: 256 bits.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Mask {
    pub bits: [u32; 8],
}

/// `struct snd_pcm_hw_params` (64-bit: `fifo_size` is 8 bytes at 536).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct HwParams {
    pub flags: u32,
    /// ACCESS, FORMAT, SUBFORMAT.
    pub masks: [Mask; 3],
    pub mres: [Mask; 5],
    /// SAMPLE_BITS .. TICK_TIME (12).
    pub intervals: [Interval; 12],
    pub ires: [Interval; 9],
    pub rmask: u32,
    pub cmask: u32,
    pub info: u32,
    pub msbits: u32,
    pub rate_num: u32,
    pub rate_den: u32,
    pub fifo_size: u64,
    pub reserved: [u8; 64],
}

/// `struct snd_pcm_sw_params` (64-bit).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct SwParams {
    pub tstamp_mode: i32,
    pub period_step: u32,
    pub sleep_min: u32,
    pub pad: u32,
    pub avail_min: u64,
    pub xfer_align: u64,
    pub start_threshold: u64,
    pub stop_threshold: u64,
    pub silence_threshold: u64,
    pub silence_size: u64,
    pub boundary: u64,
    pub proto: u32,
    pub tstamp_type: u32,
    pub reserved: [u8; 56],
}

/// A 64-bit `struct timespec`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}

/// `struct snd_pcm_status` (64-bit).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct PcmStatus {
    pub state: i32,
    pub pad1: i32,
    pub trigger_tstamp: Timespec,
    pub tstamp: Timespec,
    pub appl_ptr: u64,
    pub hw_ptr: u64,
    pub delay: i64,
    pub avail: u64,
    pub avail_max: u64,
    pub overrange: u64,
    pub suspended_state: i32,
    pub audio_tstamp_data: u32,
    pub audio_tstamp: Timespec,
    pub driver_tstamp: Timespec,
    pub audio_tstamp_accuracy: u32,
    pub reserved: [u8; 20],
}

/// `struct snd_pcm_mmap_status` (64-bit).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct MmapStatus {
    pub state: i32,
    pub pad1: i32,
    pub hw_ptr: u64,
    pub tstamp: Timespec,
    pub suspended_state: i32,
    pub pad2: i32,
    pub audio_tstamp: Timespec,
}

/// `struct snd_pcm_mmap_control` (64-bit).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct MmapControl {
    pub appl_ptr: u64,
    pub avail_min: u64,
}

/// `struct snd_pcm_sync_ptr` (64-bit): the status and control unions are
/// 64 bytes each.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct SyncPtr {
    /// SNDRV_PCM_SYNC_PTR_HWSYNC, _APPL, _AVAIL_MIN.
    pub flags: u32,
    pub pad: u32,
    pub status: MmapStatus,
    pub status_pad: [u8; 8],
    pub control: MmapControl,
    pub control_pad: [u8; 48],
}

/// `struct snd_xferi` (64-bit): a result, the caller's buffer, frames.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct XferI {
    pub result: i64,
    pub buf: u64,
    pub frames: u64,
}

/// `struct snd_xfern` (64-bit): a result, the caller's array of channel
/// buffers, frames.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct XferN {
    pub result: i64,
    pub bufs: u64,
    pub frames: u64,
}

outboard_cuse::zeroed_default!(
    CtlCardInfo,
    CtlElemId,
    CtlElemList,
    CtlElemInfo,
    CtlElemValue,
    CtlTlv,
    CtlEvent,
    PcmInfo
);
outboard_cuse::zeroed_default!(HwParams, SwParams, PcmStatus, SyncPtr);

pub use outboard_cuse::abi::{get_str, put_str};

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    /// Sizes and offsets as gcc lays out /usr/include/sound/asound.h
    /// (linux-libc-dev 6.1, Debian 12) for x86_64, measured with a C
    /// program printing sizeof/offsetof. The same program with `-m32`, and
    /// with `-m32 -D_TIME_BITS=64`, gave the figures in the comments (for
    /// the 32-bit caller layouts): they differ only where a `long`, a
    /// pointer or a `timespec` is.
    #[test]
    fn layouts_match_the_header_as_gcc_compiles_it() {
        assert_eq!(size_of::<CtlCardInfo>(), 376); // 376 / 376
        assert_eq!(size_of::<CtlElemId>(), 64); // 64 / 64
        assert_eq!(offset_of!(CtlElemId, name), 16);
        assert_eq!(offset_of!(CtlElemId, index), 60);
        assert_eq!(size_of::<CtlElemList>(), 80); // 72 / 72
        assert_eq!(offset_of!(CtlElemList, pids), 16); // 16 / 16
        assert_eq!(size_of::<CtlElemInfo>(), 272); // 272 / 272
        assert_eq!(offset_of!(CtlElemInfo, kind), 64);
        assert_eq!(offset_of!(CtlElemInfo, count), 72);
        assert_eq!(offset_of!(CtlElemInfo, value), 80);
        assert_eq!(size_of::<CtlElemValue>(), 1224); // 708 / 708
        assert_eq!(offset_of!(CtlElemValue, value), 72); // 68 / 68
        assert_eq!(size_of::<CtlTlv>(), 8);
        assert_eq!(size_of::<CtlEvent>(), 72);
        assert_eq!(size_of::<PcmInfo>(), 288); // 288 / 288
        assert_eq!(offset_of!(PcmInfo, subdevices_count), 200);
        assert_eq!(offset_of!(PcmInfo, sync), 208);
        assert_eq!(size_of::<Interval>(), 12);
        assert_eq!(size_of::<Mask>(), 32);
        assert_eq!(size_of::<HwParams>(), 608); // 604 / 604
        assert_eq!(offset_of!(HwParams, masks), 4);
        assert_eq!(offset_of!(HwParams, intervals), 260);
        assert_eq!(offset_of!(HwParams, rmask), 512);
        assert_eq!(offset_of!(HwParams, fifo_size), 536);
        assert_eq!(size_of::<SwParams>(), 136); // 104 / 104
        assert_eq!(offset_of!(SwParams, avail_min), 16); // 12 / 12
        assert_eq!(offset_of!(SwParams, boundary), 64); // 36 / 36
        assert_eq!(offset_of!(SwParams, proto), 72); // 40 / 40
        assert_eq!(size_of::<PcmStatus>(), 152); // 108 / 128
        assert_eq!(offset_of!(PcmStatus, trigger_tstamp), 8); // 4 / 8
        assert_eq!(offset_of!(PcmStatus, appl_ptr), 40); // 20 / 40
        assert_eq!(offset_of!(PcmStatus, suspended_state), 88); // 44 / 64
        assert_eq!(offset_of!(PcmStatus, audio_tstamp), 96); // 52 / 72
        assert_eq!(offset_of!(PcmStatus, audio_tstamp_accuracy), 128); // 68 / 104
        assert_eq!(size_of::<MmapStatus>(), 56); // 32 / 56
        assert_eq!(offset_of!(MmapStatus, hw_ptr), 8);
        assert_eq!(offset_of!(MmapStatus, tstamp), 16); // 12 / 16
        assert_eq!(offset_of!(MmapStatus, suspended_state), 32); // 20 / 32
        assert_eq!(offset_of!(MmapStatus, audio_tstamp), 40); // 24 / 40
        assert_eq!(size_of::<MmapControl>(), 16); // 8 / 12
        assert_eq!(size_of::<SyncPtr>(), 136); // 132 / 136
        assert_eq!(offset_of!(SyncPtr, status), 8); // 4 / 8
        assert_eq!(offset_of!(SyncPtr, control), 72); // 68 / 72
        assert_eq!(size_of::<XferI>(), 24); // 12 / 12
        assert_eq!(size_of::<XferN>(), 24); // 12 / 12
    }

    /// The ioctl numbers as the header makes them for x86_64.
    #[test]
    fn ioctl_numbers_match_the_header() {
        assert_eq!(PCM_IOCTL_HW_REFINE, 0xc260_4110); // i386 0xc25c4110
        assert_eq!(PCM_IOCTL_SYNC_PTR, 0xc088_4123); // i386 0xc0844123, time64 0xc0884123
        assert_eq!(PCM_IOCTL_STATUS, 0x8098_4120); // i386 0x806c4120, time64 0x80804120
        assert_eq!(PCM_IOCTL_WRITEI_FRAMES, 0x4018_4150); // i386 0x400c4150
        assert_eq!(CTL_IOCTL_CARD_INFO, 0x8178_5501);
        assert_eq!(CTL_IOCTL_ELEM_INFO, 0xc110_5511);
        assert_eq!(CTL_IOCTL_ELEM_READ, 0xc4c8_5512); // i386 0xc2c45512
        assert_eq!(CTL_IOCTL_PCM_INFO, 0xc120_5531);
        assert_eq!(without_size(PCM_IOCTL_SYNC_PTR), without_size(0xc084_4123));
    }

    #[test]
    fn strings_are_cut_to_fit_their_nul() {
        let mut f = [0xffu8; 8];
        put_str(&mut f, "Outboard!");
        assert_eq!(&f, b"Outboar\0");
    }
}
