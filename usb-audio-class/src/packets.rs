//! How many frames go into each isochronous packet.
//!
//! A packet is sent every service interval: 2^(bInterval-1) frames (1 ms) at
//! full speed, or microframes (125 us) at high speed. At a nominal rate the
//! count follows an exact rational pattern (44.1 kHz at full speed: nine
//! packets of 44 frames then one of 45), so no frame is gained or lost over
//! any length of time. An asynchronous device tells the host its real rate
//! through a feedback endpoint; the count then follows that value through a
//! Q16.16 phase accumulator.
//!
//! Feedback formats differ: the standard is 10.14 frames per frame in 3 bytes
//! at full speed and 16.16 frames per microframe in 4 bytes at high speed, but
//! devices send other scalings (16.16 at full speed, per-frame values at high
//! speed). [`FeedbackDecoder`] works out the scaling from the first value as
//! Linux's driver does: shift it until it is near the nominal rate, keep that
//! shift, and start over if values leave the plausible range.

use outboard_hal::usb::Speed;

/// Frames per (micro)frame in Q16.16 at `rate`.
fn q16_per_unit(rate: u32, units_per_second: u32) -> u64 {
    ((u64::from(rate) << 16) + u64::from(units_per_second) / 2) / u64::from(units_per_second)
}

/// (Micro)frames per second at a speed.
pub fn units_per_second(speed: Speed) -> u32 {
    match speed {
        Speed::High | Speed::Super | Speed::SuperPlus => 8000,
        _ => 1000,
    }
}

/// log2 of the service interval in (micro)frames, from bInterval.
pub fn interval_shift(b_interval: u8) -> u32 {
    u32::from(b_interval.clamp(1, 16) - 1)
}

/// Sizes packets for one data endpoint.
#[derive(Clone, Debug)]
pub struct PacketSizer {
    rate: u32,
    units: u32,
    shift: u32,
    max_frames: u32,
    /// Nominal pattern: frames * units accumulate here (exact rational).
    nominal_acc: u64,
    /// Feedback mode: Q16.16 frames per (micro)frame, and the phase.
    freqm: Option<u64>,
    phase: u64,
}

impl PacketSizer {
    /// `max_frames`: what the endpoint's wMaxPacketSize holds.
    pub fn new(rate: u32, speed: Speed, b_interval: u8, max_frames: u32) -> PacketSizer {
        PacketSizer {
            rate,
            units: units_per_second(speed),
            shift: interval_shift(b_interval),
            max_frames,
            nominal_acc: 0,
            freqm: None,
            phase: 0,
        }
    }

    /// Packets per second.
    pub fn packets_per_second(&self) -> f64 {
        f64::from(self.units) / f64::from(1u32 << self.shift)
    }

    /// Follow a device's feedback (Q16.16 frames per (micro)frame), or go
    /// back to the nominal pattern with `None`.
    pub fn set_feedback(&mut self, freqm: Option<u64>) {
        if let (None, Some(_)) = (self.freqm, freqm) {
            // Carry the nominal pattern's fraction over into the phase.
            self.phase = (self.nominal_acc << 16) / u64::from(self.units);
        }
        self.freqm = freqm;
    }

    /// The rate the packets currently follow, in Hz.
    pub fn current_rate(&self) -> f64 {
        match self.freqm {
            Some(f) => f as f64 / 65536.0 * f64::from(self.units),
            None => f64::from(self.rate),
        }
    }

    /// Frames in the next packet.
    pub fn next_frames(&mut self) -> u32 {
        let frames = match self.freqm {
            Some(f) => {
                self.phase += f << self.shift;
                let n = self.phase >> 16;
                self.phase &= 0xffff;
                n
            }
            None => {
                self.nominal_acc += u64::from(self.rate) << self.shift;
                let n = self.nominal_acc / u64::from(self.units);
                self.nominal_acc %= u64::from(self.units);
                n
            }
        };
        u32::try_from(frames).unwrap_or(u32::MAX).min(self.max_frames)
    }
}

/// Decodes a feedback endpoint's values into Q16.16 frames per (micro)frame.
#[derive(Clone, Debug)]
pub struct FeedbackDecoder {
    /// Nominal Q16.16 frames per (micro)frame.
    freqn: u64,
    /// The detected scaling: positive shifts left, negative right.
    shift: Option<i32>,
    /// Values accepted and rejected, for reports.
    pub accepted: u64,
    pub rejected: u64,
}

impl FeedbackDecoder {
    pub fn new(rate: u32, speed: Speed) -> FeedbackDecoder {
        FeedbackDecoder { freqn: q16_per_unit(rate, units_per_second(speed)), shift: None, accepted: 0, rejected: 0 }
    }

    /// The scaling found so far (bits shifted left to reach Q16.16).
    pub fn shift(&self) -> Option<i32> {
        self.shift
    }

    fn apply(value: u64, shift: i32) -> u64 {
        if shift >= 0 {
            value << shift
        } else {
            value >> -shift
        }
    }

    /// Take one feedback packet (3 or 4 bytes, little-endian). Returns the
    /// Q16.16 value to follow, or `None` if the packet is empty, zero or out
    /// of range (it is then ignored, and the next value is scaled afresh).
    pub fn decode(&mut self, packet: &[u8]) -> Option<u64> {
        let mut raw = [0u8; 4];
        let n = packet.len().min(4);
        if n < 3 {
            return None;
        }
        raw[..n].copy_from_slice(&packet[..n]);
        let value = u64::from(u32::from_le_bytes(raw));
        if value == 0 {
            return None;
        }
        let low = self.freqn - self.freqn / 4;
        let high = self.freqn + self.freqn / 2;
        let shift = match self.shift {
            Some(s) => s,
            None => {
                let (mut v, mut s) = (value, 0i32);
                while v < low && s < 16 {
                    v <<= 1;
                    s += 1;
                }
                while v > high && s > -16 {
                    v >>= 1;
                    s -= 1;
                }
                s
            }
        };
        let f = Self::apply(value, shift);
        if f >= self.freqn - self.freqn / 8 && f <= high {
            if self.shift.is_none() {
                log::debug!("feedback format: shift {shift} ({value:#x} -> {:.4} frames/unit)", f as f64 / 65536.0);
            }
            self.shift = Some(shift);
            self.accepted += 1;
            Some(f)
        } else {
            self.shift = None;
            self.rejected += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(s: &mut PacketSizer, n: usize) -> Vec<u32> {
        (0..n).map(|_| s.next_frames()).collect()
    }

    #[test]
    fn nominal_patterns_are_exact() {
        let mut fs = PacketSizer::new(44_100, Speed::Full, 1, 1000);
        let first = take(&mut fs, 10);
        assert_eq!(first, [44, 44, 44, 44, 44, 44, 44, 44, 44, 45]);
        assert_eq!(take(&mut fs, 990).iter().sum::<u32>() + 441, 44_100);

        let mut hs = PacketSizer::new(44_100, Speed::High, 1, 1000);
        let second: Vec<u32> = take(&mut hs, 8000);
        assert_eq!(second.iter().sum::<u32>(), 44_100);
        assert!(second.iter().all(|n| *n == 5 || *n == 6));

        // bInterval 4 at high speed: a packet per ms.
        let mut hs4 = PacketSizer::new(48_000, Speed::High, 4, 1000);
        assert_eq!(hs4.packets_per_second(), 1000.0);
        assert_eq!(take(&mut hs4, 3), [48, 48, 48]);

        let mut odd = PacketSizer::new(22_050, Speed::Full, 1, 1000);
        assert_eq!(take(&mut odd, 1000).iter().sum::<u32>(), 22_050);
    }

    #[test]
    fn packets_never_exceed_the_endpoint() {
        let mut s = PacketSizer::new(48_000, Speed::Full, 1, 40);
        assert_eq!(take(&mut s, 5), [40; 5]);
    }

    fn follow(rate_hz: f64, speed: Speed, encode: impl Fn(f64) -> Vec<u8>) -> (u32, Option<i32>) {
        let mut dec = FeedbackDecoder::new(48_000, speed);
        let mut s = PacketSizer::new(48_000, speed, 1, 1000);
        let f = dec.decode(&encode(rate_hz));
        s.set_feedback(f);
        let n = units_per_second(speed) as usize;
        (take(&mut s, n).iter().sum(), dec.shift())
    }

    #[test]
    fn standard_feedback_formats_are_followed() {
        // Full speed: 10.14 frames per frame in 3 bytes.
        let fs = |hz: f64| (((hz / 1000.0) * 16384.0).round() as u32).to_le_bytes()[..3].to_vec();
        // High speed: 16.16 frames per microframe in 4 bytes.
        let hs = |hz: f64| (((hz / 8000.0) * 65536.0).round() as u32).to_le_bytes().to_vec();
        for hz in [47_900.0, 48_000.0, 48_100.0] {
            let (frames, shift) = follow(hz, Speed::Full, fs);
            assert!((f64::from(frames) - hz).abs() <= 2.0, "{hz} Hz at full speed gave {frames} frames/s");
            assert_eq!(shift, Some(2));
            let (frames, shift) = follow(hz, Speed::High, hs);
            assert!((f64::from(frames) - hz).abs() <= 2.0, "{hz} Hz at high speed gave {frames} frames/s");
            assert_eq!(shift, Some(0));
        }
    }

    #[test]
    fn odd_feedback_scalings_are_detected() {
        // 16.16 per frame at full speed (some UAC2 devices on full-speed ports).
        let fs1616 = |hz: f64| (((hz / 1000.0) * 65536.0).round() as u32).to_le_bytes().to_vec();
        let (frames, shift) = follow(47_950.0, Speed::Full, fs1616);
        assert!((f64::from(frames) - 47_950.0).abs() <= 2.0);
        assert_eq!(shift, Some(0));
        // 16.16 per frame (not microframe) at high speed.
        let per_ms = |hz: f64| (((hz / 1000.0) * 65536.0).round() as u32).to_le_bytes().to_vec();
        let (frames, shift) = follow(48_050.0, Speed::High, per_ms);
        assert!((f64::from(frames) - 48_050.0).abs() <= 2.0);
        assert_eq!(shift, Some(-3));
    }

    #[test]
    fn implausible_feedback_is_ignored() {
        let mut dec = FeedbackDecoder::new(48_000, Speed::High);
        assert_eq!(dec.decode(&[0, 0, 0, 0]), None);
        assert_eq!(dec.decode(&[1, 2]), None, "too short");
        let good = ((6.0 * 65536.0) as u32).to_le_bytes();
        assert_eq!(dec.decode(&good), Some(6 << 16));
        // Once the format is known, a value 60% off is refused, not followed.
        let bad = ((9.6 * 65536.0) as u32).to_le_bytes();
        assert_eq!(dec.decode(&bad), None);
        assert_eq!((dec.accepted, dec.rejected), (1, 1));
        assert_eq!(dec.decode(&good), Some(6 << 16));
    }
}
