//! i386 callers (FUSE_IOCTL_32BIT): the structs whose layout differs from
//! a 64-bit caller's (a `long`, a pointer or a `timespec` in them), their
//! ioctl numbers (the size is part of the number), and the conversion of
//! each to the 64-bit layout the nodes answer and back, as the kernel's
//! pcm_compat.c and control_compat.c do. Sizes and offsets are those gcc
//! gives asound.h with `-m32` (old 32-bit time) and `-m32 -D_TIME_BITS=64`
//! (time64), pinned in `abi.rs`'s tests and here.

use crate::abi::*;

const R: u32 = 2;
const W: u32 = 1;
const RW: u32 = 3;

pub const HW_REFINE: u32 = ioc(RW, b'A', 0x10, 604);
pub const HW_PARAMS: u32 = ioc(RW, b'A', 0x11, 604);
pub const SW_PARAMS: u32 = ioc(RW, b'A', 0x13, 104);
pub const STATUS: u32 = ioc(R, b'A', 0x20, 108);
pub const STATUS_T64: u32 = ioc(R, b'A', 0x20, 128);
pub const STATUS_EXT: u32 = ioc(RW, b'A', 0x24, 108);
pub const STATUS_EXT_T64: u32 = ioc(RW, b'A', 0x24, 128);
pub const DELAY: u32 = ioc(R, b'A', 0x21, 4);
/// Old 32-bit time; the time64 one has the 64-bit number (136 bytes).
pub const SYNC_PTR: u32 = ioc(RW, b'A', 0x23, 132);
pub const REWIND: u32 = ioc(W, b'A', 0x46, 4);
pub const FORWARD: u32 = ioc(W, b'A', 0x49, 4);
pub const WRITEI: u32 = ioc(W, b'A', 0x50, 12);
pub const READI: u32 = ioc(R, b'A', 0x51, 12);
pub const WRITEN: u32 = ioc(W, b'A', 0x52, 12);
pub const READN: u32 = ioc(R, b'A', 0x53, 12);
pub const ELEM_LIST: u32 = ioc(RW, b'U', 0x10, 72);
pub const ELEM_READ: u32 = ioc(RW, b'U', 0x12, 708);
pub const ELEM_WRITE: u32 = ioc(RW, b'U', 0x13, 708);

/// A fixed-size 32-bit struct the PCM node converts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conv {
    HwParams,
    SwParams,
    Status { time64: bool },
    SyncPtr { time64: bool },
    Delay,
}

/// For an i386 caller's `cmd`: the 64-bit request, the caller's struct size
/// (read in and written back), and how to convert it.
pub fn pcm_sized(cmd: u32) -> Option<(u32, usize, Conv)> {
    Some(match cmd {
        HW_REFINE => (PCM_IOCTL_HW_REFINE, 604, Conv::HwParams),
        HW_PARAMS => (PCM_IOCTL_HW_PARAMS, 604, Conv::HwParams),
        SW_PARAMS => (PCM_IOCTL_SW_PARAMS, 104, Conv::SwParams),
        STATUS => (PCM_IOCTL_STATUS, 108, Conv::Status { time64: false }),
        STATUS_T64 => (PCM_IOCTL_STATUS, 128, Conv::Status { time64: true }),
        STATUS_EXT => (PCM_IOCTL_STATUS_EXT, 108, Conv::Status { time64: false }),
        STATUS_EXT_T64 => (PCM_IOCTL_STATUS_EXT, 128, Conv::Status { time64: true }),
        DELAY => (PCM_IOCTL_DELAY, 4, Conv::Delay),
        SYNC_PTR => (PCM_IOCTL_SYNC_PTR, 132, Conv::SyncPtr { time64: false }),
        PCM_IOCTL_SYNC_PTR => (PCM_IOCTL_SYNC_PTR, 136, Conv::SyncPtr { time64: true }),
        _ => return None,
    })
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// A 32-bit caller's struct as the 64-bit layout (what the node reads).
pub fn to_native(conv: Conv, b: &[u8]) -> Vec<u8> {
    match conv {
        Conv::HwParams => {
            // Identical up to fifo_size (536): a u32 for the caller, a u64 here.
            let mut n = vec![0u8; 608];
            n[..536].copy_from_slice(&b[..536]);
            put64(&mut n, 536, u64::from(u32_at(b, 536)));
            n[544..608].copy_from_slice(&b[540..604]);
            n
        }
        Conv::SwParams => {
            let mut n = vec![0u8; 136];
            n[..12].copy_from_slice(&b[..12]);
            // avail_min .. boundary: seven longs.
            for i in 0..7 {
                put64(&mut n, 16 + 8 * i, u64::from(u32_at(b, 12 + 4 * i)));
            }
            n[72..80].copy_from_slice(&b[40..48]);
            n
        }
        Conv::SyncPtr { time64 } => {
            let mut n = vec![0u8; 136];
            n[..4].copy_from_slice(&b[..4]);
            let control = if time64 { 72 } else { 68 };
            put64(&mut n, 72, u64::from(u32_at(b, control)));
            put64(&mut n, 80, u64::from(u32_at(b, control + 4)));
            n
        }
        Conv::Status { .. } | Conv::Delay => vec![0u8; if conv == Conv::Delay { 8 } else { 152 }],
    }
}

/// A 64-bit answer `n` in the 32-bit caller's layout (`size` bytes).
pub fn from_native(conv: Conv, n: &[u8], size: usize) -> Vec<u8> {
    let mut b = vec![0u8; size];
    let i64_at = |at: usize| n.get(at..at + 8).map_or(0, |s| i64::from_le_bytes(s.try_into().unwrap_or([0; 8])));
    // A 64-bit timespec at `at` in the caller's layout at `to`.
    let ts = |b: &mut Vec<u8>, at: usize, to: usize, time64: bool| {
        let (sec, nsec) = (i64_at(at), i64_at(at + 8));
        if time64 {
            put64(b, to, sec as u64);
            put32(b, to + 8, nsec as u32);
        } else {
            put32(b, to, sec as u32);
            put32(b, to + 4, nsec as u32);
        }
    };
    match conv {
        Conv::HwParams => {
            b[..536].copy_from_slice(&n[..536]);
            put32(&mut b, 536, i64_at(536) as u32);
            b[540..604].copy_from_slice(&n[544..608]);
        }
        Conv::SwParams => {
            b[..12].copy_from_slice(&n[..12]);
            for i in 0..7 {
                put32(&mut b, 12 + 4 * i, i64_at(16 + 8 * i) as u32);
            }
            b[40..48].copy_from_slice(&n[72..80]);
        }
        Conv::Delay => put32(&mut b, 0, i64_at(0) as u32),
        Conv::Status { time64 } => {
            // (native offset, 32-bit old-time offset, time64 offset)
            b[..4].copy_from_slice(&n[..4]);
            let (t, l) = if time64 { (8, 16) } else { (4, 8) };
            ts(&mut b, 8, t, time64);
            ts(&mut b, 24, t + l, time64);
            let longs = t + 2 * l; // appl_ptr: 20 or 40
            for i in 0..6 {
                put32(&mut b, longs + 4 * i, i64_at(40 + 8 * i) as u32);
            }
            let rest = longs + 24; // suspended_state: 44 or 64
            b[rest..rest + 8].copy_from_slice(&n[88..96]);
            ts(&mut b, 96, rest + 8, time64);
            ts(&mut b, 112, rest + 8 + l, time64);
            b[rest + 8 + 2 * l..rest + 12 + 2 * l].copy_from_slice(&n[128..132]);
        }
        Conv::SyncPtr { time64 } => {
            b[..4].copy_from_slice(&n[..4]);
            let (s, tl) = if time64 { (8, 16) } else { (4, 8) };
            b[s..s + 4].copy_from_slice(&n[8..12]); // state
            put32(&mut b, s + 8, i64_at(16) as u32); // hw_ptr
            let t = if time64 { s + 16 } else { s + 12 };
            ts(&mut b, 24, t, time64);
            b[t + tl..t + tl + 4].copy_from_slice(&n[40..44]); // suspended_state
            let a = if time64 { s + 40 } else { s + 24 };
            ts(&mut b, 48, a, time64);
            let control = if time64 { 72 } else { 68 };
            put32(&mut b, control, i64_at(72) as u32);
            put32(&mut b, control + 4, i64_at(80) as u32);
        }
    }
    b
}

/// The 32-bit pointers' wrap point: as the kernel's recalculate_boundary
/// for compat callers, under 2^31.
pub fn boundary(buffer: u64) -> u64 {
    let mut b = buffer.max(1);
    while b * 2 <= 0x7fff_ffff - buffer {
        b *= 2;
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers as gcc -m32 makes them from asound.h (measured with the
    /// same program as abi.rs's layouts).
    #[test]
    fn numbers_match_the_i386_header() {
        assert_eq!(HW_REFINE, 0xc25c_4110);
        assert_eq!(SYNC_PTR, 0xc084_4123);
        assert_eq!(STATUS, 0x806c_4120);
        assert_eq!(STATUS_T64, 0x8080_4120);
        assert_eq!(WRITEI, 0x400c_4150);
        assert_eq!((WRITEN, READN), (0x400c_4152, 0x800c_4153));
        assert_eq!(ELEM_READ, 0xc2c4_5512);
    }

    #[test]
    fn status_lands_where_an_i386_program_reads_it() {
        let mut n = vec![0u8; 152];
        put32(&mut n, 0, 3); // RUNNING
        put64(&mut n, 24, 7); // tstamp.sec
        put64(&mut n, 40, 1000); // appl_ptr
        put64(&mut n, 48, 900); // hw_ptr
        put32(&mut n, 88, 0);
        let old = from_native(Conv::Status { time64: false }, &n, 108);
        assert_eq!((u32_at(&old, 0), u32_at(&old, 12), u32_at(&old, 20), u32_at(&old, 24)), (3, 7, 1000, 900));
        let t64 = from_native(Conv::Status { time64: true }, &n, 128);
        assert_eq!((u32_at(&t64, 24), u32_at(&t64, 40), u32_at(&t64, 44)), (7, 1000, 900));
    }

    #[test]
    fn sync_ptr_and_sw_params_round_trip_their_fields() {
        let mut b = vec![0u8; 132];
        put32(&mut b, 0, 6);
        put32(&mut b, 68, 4096);
        put32(&mut b, 72, 256);
        let n = to_native(Conv::SyncPtr { time64: false }, &b);
        assert_eq!((u32_at(&n, 0), u32_at(&n, 72), u32_at(&n, 80)), (6, 4096, 256));
        let back = from_native(Conv::SyncPtr { time64: false }, &n, 132);
        assert_eq!((u32_at(&back, 68), u32_at(&back, 72)), (4096, 256));
        let mut sw = vec![0u8; 104];
        put32(&mut sw, 12, 512); // avail_min
        put32(&mut sw, 36, 1 << 30); // boundary
        put32(&mut sw, 40, 0x2000f); // proto
        let n = to_native(Conv::SwParams, &sw);
        assert_eq!((u32_at(&n, 16), u32_at(&n, 64), u32_at(&n, 72)), (512, 1 << 30, 0x2000f));
        assert_eq!(from_native(Conv::SwParams, &n, 104), sw);
        assert!(boundary(4096) < 1 << 31 && boundary(4096) % 4096 == 0);
    }
}
