//! HW_REFINE and HW_PARAMS: the kernel's hardware-parameter refinement
//! (sound/core/pcm_native.c `snd_pcm_hw_refine`, pcm_lib.c's interval
//! arithmetic), reimplemented: the caller's masks and intervals are cut to
//! what the stream can do, then the rules that tie the parameters together
//! (frame bits = sample bits x channels, buffer size = period size x
//! periods, time = size / rate...) run until nothing changes. An empty mask
//! or interval is EINVAL. HW_PARAMS then picks one value of each (the
//! kernel's `snd_pcm_hw_params_choose` order) and the result is a
//! [`Setup`].

use crate::abi::{HwParams, Interval, Mask};

/// Parameter numbers (SNDRV_PCM_HW_PARAM_*): masks 0-2, intervals 8-19.
pub mod param {
    pub const ACCESS: usize = 0;
    pub const FORMAT: usize = 1;
    pub const SUBFORMAT: usize = 2;
    pub const SAMPLE_BITS: usize = 8;
    pub const FRAME_BITS: usize = 9;
    pub const CHANNELS: usize = 10;
    pub const RATE: usize = 11;
    pub const PERIOD_TIME: usize = 12;
    pub const PERIOD_SIZE: usize = 13;
    pub const PERIOD_BYTES: usize = 14;
    pub const PERIODS: usize = 15;
    pub const BUFFER_TIME: usize = 16;
    pub const BUFFER_SIZE: usize = 17;
    pub const BUFFER_BYTES: usize = 18;
    pub const TICK_TIME: usize = 19;
}
use param::*;

/// SNDRV_PCM_ACCESS_RW_INTERLEAVED and _RW_NONINTERLEAVED: what this device
/// offers (no mmap over CUSE).
pub const ACCESS_RW_INTERLEAVED: u32 = 3;
pub const ACCESS_RW_NONINTERLEAVED: u32 = 4;

/// SNDRV_PCM_INFO_* bits reported in `info`.
pub mod info {
    /// The position moves a period at a time (the mixer takes and gives
    /// whole periods), as on the kernel's USB audio: sound servers keep a
    /// period more queued (PipeWire's and PulseAudio's batch headroom).
    pub const BATCH: u32 = 0x0000_0010;
    pub const PERFECT_DRAIN: u32 = 0x0000_0040;
    pub const INTERLEAVED: u32 = 0x0000_0100;
    pub const NONINTERLEAVED: u32 = 0x0000_0200;
    pub const BLOCK_TRANSFER: u32 = 0x0001_0000;
    pub const PAUSE: u32 = 0x0008_0000;
    pub const DRAIN_TRIGGER: u32 = 0x4000_0000;
}

/// The interval flag bits of `struct snd_interval`.
const OPENMIN: u32 = 1;
const OPENMAX: u32 = 2;
const INTEGER: u32 = 4;
const EMPTY: u32 = 8;

/// An ALSA sample format this device takes: its number, physical width and
/// significant bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format {
    pub number: u32,
    pub physical_bits: u32,
    pub significant_bits: u32,
}

/// What a PCM node's stream can do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capabilities {
    pub formats: Vec<Format>,
    pub channels: (u32, u32),
    pub rates: (u32, u32),
    pub periods: (u32, u32),
    pub period_bytes: (u32, u32),
    pub buffer_bytes_max: u32,
    /// The shortest period, in µs: the mixer's own period. The position
    /// moves a mixer period at a time, so a shorter period would only
    /// promise wakeups that cannot come (and a batch-aware server would
    /// queue too little).
    pub period_time_min: u32,
}

/// An interval being refined: closed or open ends, integer or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Iv {
    min: u32,
    max: u32,
    openmin: bool,
    openmax: bool,
    integer: bool,
    empty: bool,
}

impl Iv {
    fn any() -> Iv {
        Iv { min: 0, max: u32::MAX, openmin: false, openmax: false, integer: false, empty: false }
    }
    fn from_abi(i: &Interval) -> Iv {
        Iv {
            min: i.min,
            max: i.max,
            openmin: i.flags & OPENMIN != 0,
            openmax: i.flags & OPENMAX != 0,
            integer: i.flags & INTEGER != 0,
            empty: i.flags & EMPTY != 0,
        }
    }
    fn to_abi(self) -> Interval {
        let f = |b: bool, bit: u32| if b { bit } else { 0 };
        Interval {
            min: self.min,
            max: self.max,
            flags: f(self.openmin, OPENMIN)
                | f(self.openmax, OPENMAX)
                | f(self.integer, INTEGER)
                | f(self.empty, EMPTY),
        }
    }
    fn is_empty(&self) -> bool {
        self.empty
    }
    fn single(&self) -> bool {
        !self.empty && (self.min == self.max || (self.min + 1 == self.max && (self.openmin || self.openmax)))
    }
    fn value(&self) -> u32 {
        if self.openmin && !self.openmax {
            self.max
        } else {
            self.min
        }
    }
    /// Normalise after a change; false when it became empty.
    fn check(&mut self) -> bool {
        if self.empty {
            return false;
        }
        if self.openmin && self.min < u32::MAX && self.integer {
            self.min += 1;
            self.openmin = false;
        }
        if self.openmax && self.max > 0 && self.integer {
            self.max -= 1;
            self.openmax = false;
        }
        if self.min > self.max || (self.min == self.max && (self.openmin || self.openmax)) {
            self.empty = true;
            return false;
        }
        true
    }
    /// Intersect with `v`; returns whether it changed (Err when empty).
    fn refine(&mut self, v: &Iv) -> Result<bool, ()> {
        if self.empty {
            return Err(());
        }
        let before = *self;
        if self.min < v.min || (self.min == v.min && !self.openmin && v.openmin) {
            self.min = v.min;
            self.openmin = v.openmin;
        }
        if self.max > v.max || (self.max == v.max && !self.openmax && v.openmax) {
            self.max = v.max;
            self.openmax = v.openmax;
        }
        if !self.integer && v.integer {
            self.integer = true;
        }
        if !self.check() {
            return Err(());
        }
        Ok(*self != before)
    }
    fn closed(min: u32, max: u32) -> Iv {
        Iv { min, max, ..Iv::any() }
    }
}

fn mul(a: &Iv, b: &Iv) -> Iv {
    if a.empty || b.empty {
        return Iv { empty: true, ..Iv::any() };
    }
    let min = u64::from(a.min) * u64::from(b.min);
    let max = u64::from(a.max) * u64::from(b.max);
    Iv {
        min: min.min(u64::from(u32::MAX)) as u32,
        max: max.min(u64::from(u32::MAX)) as u32,
        openmin: a.openmin || b.openmin,
        openmax: a.openmax || b.openmax,
        integer: a.integer && b.integer,
        empty: false,
    }
}

/// `a / b` with `r` (the remainder) telling whether the result is open.
fn div32(a: u32, b: u32) -> (u32, bool) {
    if b == 0 {
        return (u32::MAX, false);
    }
    (a / b, a % b != 0)
}

fn div(a: &Iv, b: &Iv) -> Iv {
    if a.empty || b.empty {
        return Iv { empty: true, ..Iv::any() };
    }
    let (min, r) = div32(a.min, b.max);
    let openmin = r || a.openmin || b.openmax;
    let (max, r) = if b.min > 0 { div32(a.max, b.min) } else { (u32::MAX, false) };
    let (max, openmax) = if b.min > 0 {
        if r {
            (max.saturating_add(1), true)
        } else {
            (max, a.openmax || b.openmin)
        }
    } else {
        (max, false)
    };
    Iv { min, max, openmin, openmax, integer: false, empty: false }
}

/// `a * b / k`.
fn muldivk(a: &Iv, b: &Iv, k: u32) -> Iv {
    if a.empty || b.empty {
        return Iv { empty: true, ..Iv::any() };
    }
    let (min, rmin) = muldiv(a.min, b.min, k);
    let (max, rmax) = muldiv(a.max, b.max, k);
    let (max, openmax) = if rmax { (max.saturating_add(1), true) } else { (max, a.openmax || b.openmax) };
    Iv { min, max, openmin: rmin || a.openmin || b.openmin, openmax, integer: false, empty: false }
}

/// `a * k / b`.
fn mulkdiv(a: &Iv, k: u32, b: &Iv) -> Iv {
    if a.empty || b.empty {
        return Iv { empty: true, ..Iv::any() };
    }
    let (min, rmin) = muldiv(a.min, k, b.max);
    let (max, rmax) = if b.min > 0 { muldiv(a.max, k, b.min) } else { (u32::MAX, false) };
    let (max, openmax) = if b.min > 0 {
        if rmax {
            (max.saturating_add(1), true)
        } else {
            (max, a.openmax || b.openmin)
        }
    } else {
        (max, false)
    };
    Iv { min, max, openmin: rmin || a.openmin || b.openmax, openmax, integer: false, empty: false }
}

/// `a * b / c`, saturated, and whether there was a remainder.
fn muldiv(a: u32, b: u32, c: u32) -> (u32, bool) {
    if c == 0 {
        return (u32::MAX, false);
    }
    let n = u64::from(a) * u64::from(b);
    let q = n / u64::from(c);
    if q > u64::from(u32::MAX) {
        return (u32::MAX, false);
    }
    (q as u32, n % u64::from(c) != 0)
}

/// A parameter set being refined.
struct Params {
    masks: [u64; 3],
    ivs: [Iv; 12],
}

fn iv_index(p: usize) -> usize {
    p - SAMPLE_BITS
}

/// The rules: a target and how it follows from other parameters; they run
/// until nothing changes (pcm_native.c's `snd_pcm_hw_constraints_init`).
#[derive(Clone, Copy)]
enum Rule {
    /// t = a * b
    Mul(usize, usize, usize),
    /// t = a / b
    Div(usize, usize, usize),
    /// t = a * b / k
    MulDivK(usize, usize, usize, u32),
    /// t = a * k / b
    MulKDiv(usize, usize, u32, usize),
}

const RULES: &[Rule] = &[
    Rule::Div(SAMPLE_BITS, FRAME_BITS, CHANNELS),
    Rule::Mul(FRAME_BITS, SAMPLE_BITS, CHANNELS),
    Rule::MulKDiv(FRAME_BITS, PERIOD_BYTES, 8, PERIOD_SIZE),
    Rule::MulKDiv(FRAME_BITS, BUFFER_BYTES, 8, BUFFER_SIZE),
    Rule::Div(CHANNELS, FRAME_BITS, SAMPLE_BITS),
    Rule::MulKDiv(RATE, PERIOD_SIZE, 1_000_000, PERIOD_TIME),
    Rule::MulKDiv(RATE, BUFFER_SIZE, 1_000_000, BUFFER_TIME),
    Rule::Div(PERIODS, BUFFER_SIZE, PERIOD_SIZE),
    Rule::Div(PERIOD_SIZE, BUFFER_SIZE, PERIODS),
    Rule::MulKDiv(PERIOD_SIZE, PERIOD_BYTES, 8, FRAME_BITS),
    Rule::MulDivK(PERIOD_SIZE, PERIOD_TIME, RATE, 1_000_000),
    Rule::Mul(BUFFER_SIZE, PERIOD_SIZE, PERIODS),
    Rule::MulKDiv(BUFFER_SIZE, BUFFER_BYTES, 8, FRAME_BITS),
    Rule::MulDivK(BUFFER_SIZE, BUFFER_TIME, RATE, 1_000_000),
    Rule::MulDivK(PERIOD_BYTES, PERIOD_SIZE, FRAME_BITS, 8),
    Rule::MulDivK(BUFFER_BYTES, BUFFER_SIZE, FRAME_BITS, 8),
    Rule::MulKDiv(PERIOD_TIME, PERIOD_SIZE, 1_000_000, RATE),
    Rule::MulKDiv(BUFFER_TIME, BUFFER_SIZE, 1_000_000, RATE),
];

impl Params {
    fn iv(&self, p: usize) -> Iv {
        self.ivs[iv_index(p)]
    }

    fn refine_iv(&mut self, p: usize, v: &Iv, changed: &mut u32) -> Result<(), ()> {
        if self.ivs[iv_index(p)].refine(v)? {
            *changed |= 1 << p;
        }
        Ok(())
    }

    fn apply(&mut self, rule: Rule, changed: &mut u32) -> Result<(), ()> {
        let (target, v) = match rule {
            Rule::Mul(t, a, b) => (t, mul(&self.iv(a), &self.iv(b))),
            Rule::Div(t, a, b) => (t, div(&self.iv(a), &self.iv(b))),
            Rule::MulDivK(t, a, b, k) => (t, muldivk(&self.iv(a), &self.iv(b), k)),
            Rule::MulKDiv(t, a, k, b) => (t, mulkdiv(&self.iv(a), k, &self.iv(b))),
        };
        self.refine_iv(target, &v, changed)
    }

    /// The format mask against the sample-bits interval, both ways.
    fn formats_and_bits(&mut self, caps: &Capabilities, changed: &mut u32) -> Result<(), ()> {
        let bits = self.iv(SAMPLE_BITS);
        let inside = |b: u32| {
            b >= bits.min && b <= bits.max && !(bits.openmin && b == bits.min) && !(bits.openmax && b == bits.max)
        };
        let before = self.masks[1];
        for f in &caps.formats {
            if !inside(f.physical_bits) {
                self.masks[1] &= !(1 << f.number);
            }
        }
        if self.masks[1] == 0 {
            return Err(());
        }
        if self.masks[1] != before {
            *changed |= 1 << FORMAT;
        }
        let widths: Vec<u32> =
            caps.formats.iter().filter(|f| self.masks[1] & (1 << f.number) != 0).map(|f| f.physical_bits).collect();
        let lo = widths.iter().copied().min().unwrap_or(0);
        let hi = widths.iter().copied().max().unwrap_or(0);
        self.refine_iv(SAMPLE_BITS, &Iv { integer: true, ..Iv::closed(lo, hi) }, changed)
    }
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Empty;

/// Refine `p` in place as SNDRV_PCM_IOCTL_HW_REFINE does for a stream with
/// `caps`: EINVAL ([`Empty`]) when nothing fits.
pub fn refine(p: &mut HwParams, caps: &Capabilities) -> Result<(), Empty> {
    // What the stream offers, as the kernel's constraints would set it.
    let mut offered = Params { masks: [0; 3], ivs: [Iv::any(); 12] };
    offered.masks[0] = 1 << ACCESS_RW_INTERLEAVED | 1 << ACCESS_RW_NONINTERLEAVED;
    offered.masks[1] = caps.formats.iter().fold(0, |m, f| m | (1 << f.number));
    offered.masks[2] = 1; // SUBFORMAT_STD
                          // Whole frames and bytes, as the kernel's constraints_init marks them,
                          // and whole periods and period sizes, as this stream (a ring of whole
                          // periods) needs: a buffer is then exactly periods x period size.
    for p in [CHANNELS, BUFFER_SIZE, BUFFER_BYTES, SAMPLE_BITS, FRAME_BITS, PERIODS, PERIOD_SIZE, PERIOD_BYTES] {
        offered.ivs[iv_index(p)].integer = true;
    }
    let set = |o: &mut Params, p: usize, lo: u32, hi: u32| {
        let i = &mut o.ivs[iv_index(p)];
        i.min = lo;
        i.max = hi;
    };
    set(&mut offered, CHANNELS, caps.channels.0, caps.channels.1);
    set(&mut offered, RATE, caps.rates.0, caps.rates.1);
    set(&mut offered, PERIODS, caps.periods.0, caps.periods.1);
    set(&mut offered, PERIOD_BYTES, caps.period_bytes.0, caps.period_bytes.1);
    set(&mut offered, BUFFER_BYTES, 1, caps.buffer_bytes_max);
    set(&mut offered, TICK_TIME, 0, 0);
    set(&mut offered, PERIOD_TIME, caps.period_time_min, u32::MAX);

    // The caller's parameters as they stand (alsa-lib narrows one at a
    // time and names it in rmask; the others carry what earlier refines
    // left), cut to the offer.
    let mut cur = Params { masks: [0; 3], ivs: [Iv::any(); 12] };
    let mut changed = 0u32;
    for k in ACCESS..=SUBFORMAT {
        let asked = mask_bits(&p.masks[k]);
        cur.masks[k] = asked & offered.masks[k];
        if cur.masks[k] == 0 {
            return Err(Empty);
        }
        if cur.masks[k] != asked {
            changed |= 1 << k;
        }
    }
    for k in SAMPLE_BITS..=TICK_TIME {
        let i = iv_index(k);
        let mut v = Iv::from_abi(&p.intervals[i]);
        if v.is_empty() || !v.check() {
            return Err(Empty);
        }
        if v.refine(&offered.ivs[i]).map_err(|_| Empty)? {
            changed |= 1 << k;
        }
        cur.ivs[i] = v;
    }
    // The rules, to a fixpoint.
    for _ in 0..64 {
        let mut round = 0u32;
        cur.formats_and_bits(caps, &mut round).map_err(|_| Empty)?;
        for &rule in RULES {
            cur.apply(rule, &mut round).map_err(|_| Empty)?;
        }
        changed |= round;
        if round == 0 {
            break;
        }
    }
    for k in ACCESS..=SUBFORMAT {
        set_mask_bits(&mut p.masks[k], cur.masks[k]);
    }
    for k in SAMPLE_BITS..=TICK_TIME {
        p.intervals[iv_index(k)] = cur.ivs[iv_index(k)].to_abi();
    }
    p.cmask = changed;
    p.rmask = 0;
    p.info = info::BATCH
        | info::INTERLEAVED
        | info::NONINTERLEAVED
        | info::BLOCK_TRANSFER
        | info::PAUSE
        | info::DRAIN_TRIGGER
        | info::PERFECT_DRAIN;
    // msbits when one format is left; rate_num/den when one rate is.
    let formats: Vec<&Format> = caps.formats.iter().filter(|f| cur.masks[1] & (1 << f.number) != 0).collect();
    p.msbits = if formats.len() == 1 { formats[0].significant_bits } else { 0 };
    let rate = cur.iv(RATE);
    (p.rate_num, p.rate_den) = if rate.single() { (rate.value(), 1) } else { (0, 0) };
    p.fifo_size = 0;
    Ok(())
}

fn mask_bits(m: &Mask) -> u64 {
    u64::from(m.bits[0]) | (u64::from(m.bits[1]) << 32)
}

fn set_mask_bits(m: &mut Mask, v: u64) {
    m.bits = [0; 8];
    m.bits[0] = v as u32;
    m.bits[1] = (v >> 32) as u32;
}

/// A configuration HW_PARAMS settled on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setup {
    pub access: u32,
    pub format: u32,
    pub channels: u32,
    pub rate: u32,
    pub period_size: u32,
    pub periods: u32,
    pub buffer_size: u32,
}

/// HW_PARAMS: refine, then fix each parameter in the kernel's order
/// (`snd_pcm_hw_params_choose`: access, format, subformat, channels, rate
/// at their lowest; period time, then buffer size at its highest, the rest
/// at their lowest), refining after each; `p` is left as the one setup.
pub fn choose(p: &mut HwParams, caps: &Capabilities) -> Result<Setup, Empty> {
    p.rmask = u32::MAX;
    refine(p, caps)?;
    let order: [(usize, bool); 9] = [
        (ACCESS, false),
        (FORMAT, false),
        (SUBFORMAT, false),
        (CHANNELS, false),
        (RATE, false),
        (PERIOD_TIME, false),
        (PERIOD_SIZE, false),
        (PERIODS, false),
        (BUFFER_SIZE, true),
    ];
    for (k, highest) in order {
        if k <= SUBFORMAT {
            let bits = mask_bits(&p.masks[k]);
            let first = bits.trailing_zeros();
            set_mask_bits(&mut p.masks[k], 1 << first);
        } else {
            // The kernel's snd_interval_refine_first / _last: keep one end,
            // a unit from it, and its openness (a time between two whole
            // microseconds stays open).
            let i = &mut p.intervals[iv_index(k)];
            let mut v = Iv::from_abi(i);
            if !v.single() {
                if highest {
                    let last_min = v.min;
                    v.min = if v.openmax { v.max.saturating_sub(1) } else { v.max };
                    v.openmin = v.openmin && v.min <= last_min;
                } else {
                    let last_max = v.max;
                    v.max = if v.openmin { v.min.saturating_add(1) } else { v.min };
                    v.openmax = v.openmax && v.max >= last_max;
                }
            }
            *i = v.to_abi();
        }
        p.rmask = u32::MAX;
        refine(p, caps)?;
    }
    let val = |k: usize| p.intervals[iv_index(k)].min;
    Ok(Setup {
        access: mask_bits(&p.masks[ACCESS]).trailing_zeros(),
        format: mask_bits(&p.masks[FORMAT]).trailing_zeros(),
        channels: val(CHANNELS),
        rate: val(RATE),
        period_size: val(PERIOD_SIZE),
        periods: val(PERIODS),
        buffer_size: val(BUFFER_SIZE),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::FromZeros;

    const S16_LE: u32 = 2;
    const S32_LE: u32 = 10;
    const U8: u32 = 1;

    fn caps() -> Capabilities {
        Capabilities {
            formats: vec![
                Format { number: U8, physical_bits: 8, significant_bits: 8 },
                Format { number: S16_LE, physical_bits: 16, significant_bits: 16 },
                Format { number: S32_LE, physical_bits: 32, significant_bits: 32 },
            ],
            channels: (1, 8),
            rates: (8000, 192_000),
            periods: (2, 1024),
            period_bytes: (64, 1 << 20),
            buffer_bytes_max: 4 << 20,
            period_time_min: 0,
        }
    }

    #[test]
    fn no_period_is_shorter_than_the_mixer_s() {
        // A mixer of 1024-frame periods at 48 kHz: 21333 µs.
        let caps = Capabilities { period_time_min: 21_333, ..caps() };
        for (rate, shortest) in [(48_000, 1024), (44_100, 941), (8000, 171)] {
            let mut p = any();
            set(&mut p, RATE, rate, rate);
            refine(&mut p, &caps).unwrap();
            assert_eq!(get(&p, PERIOD_SIZE).0, shortest, "at {rate} Hz");
        }
        // Asked for less (PipeWire's 512 frames): refused, so "near" gets the mixer's.
        let mut p = any();
        set(&mut p, RATE, 48_000, 48_000);
        set(&mut p, PERIOD_SIZE, 512, 512);
        assert!(refine(&mut p, &caps).is_err());
    }

    /// What alsa-lib sends first: everything open.
    fn any() -> HwParams {
        let mut p = HwParams::new_zeroed();
        for m in &mut p.masks {
            m.bits = [u32::MAX; 8];
        }
        for i in &mut p.intervals {
            *i = Interval { min: 0, max: u32::MAX, flags: 0 };
        }
        p.rmask = u32::MAX;
        p
    }

    fn set(p: &mut HwParams, k: usize, lo: u32, hi: u32) {
        p.intervals[iv_index(k)] = Interval { min: lo, max: hi, flags: 0 };
    }

    fn get(p: &HwParams, k: usize) -> (u32, u32) {
        let i = p.intervals[iv_index(k)];
        (i.min, i.max)
    }

    #[test]
    fn an_open_request_gets_what_the_stream_offers() {
        let mut p = any();
        refine(&mut p, &caps()).unwrap();
        assert_eq!(mask_bits(&p.masks[ACCESS]), 1 << 3 | 1 << 4, "read/write access, interleaved or not: no mmap");
        assert_eq!(mask_bits(&p.masks[FORMAT]), (1 << U8) | (1 << S16_LE) | (1 << S32_LE));
        assert_eq!(get(&p, CHANNELS), (1, 8));
        assert_eq!(get(&p, RATE), (8000, 192_000));
        assert_eq!(get(&p, SAMPLE_BITS), (8, 32));
        assert_eq!(get(&p, FRAME_BITS), (8, 256));
        assert_eq!(get(&p, PERIODS), (2, 1024));
        assert_eq!(p.rmask, 0);
        assert_ne!(p.cmask, 0);
        assert_eq!(p.info & info::PERFECT_DRAIN, info::PERFECT_DRAIN);
        // asound.h's values: BATCH, PERFECT_DRAIN, INTERLEAVED,
        // NONINTERLEAVED, BLOCK_TRANSFER, PAUSE, DRAIN_TRIGGER; not MMAP nor
        // the link timestamps (0x0100_0000).
        assert_eq!(p.info, 0x10 | 0x40 | 0x100 | 0x200 | 0x1_0000 | 0x8_0000 | 0x4000_0000);
    }

    #[test]
    fn the_rules_tie_sizes_bytes_and_times_together() {
        let mut p = any();
        set_mask_bits(&mut p.masks[FORMAT], 1 << S16_LE);
        set(&mut p, CHANNELS, 2, 2);
        set(&mut p, RATE, 48_000, 48_000);
        set(&mut p, PERIOD_SIZE, 1024, 1024);
        set(&mut p, PERIODS, 4, 4);
        refine(&mut p, &caps()).unwrap();
        assert_eq!(get(&p, SAMPLE_BITS), (16, 16));
        assert_eq!(get(&p, FRAME_BITS), (32, 32));
        assert_eq!(get(&p, PERIOD_BYTES), (4096, 4096));
        assert_eq!(get(&p, BUFFER_SIZE), (4096, 4096));
        assert_eq!(get(&p, BUFFER_BYTES), (16384, 16384));
        // 1024 frames at 48 kHz: 21333.33 us, an open interval around it.
        let t = p.intervals[iv_index(PERIOD_TIME)];
        assert_eq!((t.min, t.max), (21333, 21334), "{t:?}");
        assert_eq!(p.msbits, 16);
        assert_eq!((p.rate_num, p.rate_den), (48_000, 1));
    }

    #[test]
    fn impossible_requests_are_refused() {
        let mut p = any();
        set_mask_bits(&mut p.masks[FORMAT], 1 << 14); // FLOAT_LE: not offered here
        assert_eq!(refine(&mut p, &caps()), Err(Empty));
        let mut p = any();
        set(&mut p, CHANNELS, 9, 16);
        assert_eq!(refine(&mut p, &caps()), Err(Empty));
        let mut p = any();
        set(&mut p, RATE, 48_000, 44_100);
        assert_eq!(refine(&mut p, &caps()), Err(Empty), "min above max");
        let mut p = any();
        set_mask_bits(&mut p.masks[ACCESS], 1 << 0); // MMAP_INTERLEAVED
        assert_eq!(refine(&mut p, &caps()), Err(Empty), "mmap is refused");
        let mut p = any();
        // 3 frames of 4 bytes do not make a 16-byte period.
        set_mask_bits(&mut p.masks[FORMAT], 1 << S16_LE);
        set(&mut p, CHANNELS, 2, 2);
        set(&mut p, PERIOD_SIZE, 3, 3);
        set(&mut p, PERIOD_BYTES, 16, 16);
        assert_eq!(refine(&mut p, &caps()), Err(Empty));
    }

    #[test]
    fn hw_params_settles_on_one_setup() {
        let mut p = any();
        set_mask_bits(&mut p.masks[FORMAT], 1 << S16_LE);
        set(&mut p, CHANNELS, 2, 2);
        set(&mut p, RATE, 44_100, 44_100);
        set(&mut p, PERIOD_SIZE, 940, 1100);
        set(&mut p, BUFFER_SIZE, 4000, 5000);
        let s = choose(&mut p, &caps()).unwrap();
        assert_eq!((s.access, s.format, s.channels, s.rate), (ACCESS_RW_INTERLEAVED, S16_LE, 2, 44_100));
        assert_eq!(s.buffer_size, s.period_size * s.periods, "{s:?}");
        assert!((940..=1100).contains(&s.period_size) && (4000..=5000).contains(&s.buffer_size), "{s:?}");
    }
}
