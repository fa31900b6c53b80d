//! Fuzz target: the bytes a UAC2 device answers while streaming is set up
//! and running, which the driver decodes without trusting them:
//!
//! - a clock source's SAM_FREQ RANGE answer (wNumSubRanges, then dMIN, dMAX,
//!   dRES triples) through `outboard_uac::controls::rates_from_range`;
//! - feedback endpoint packets through
//!   `outboard_uac::packets::FeedbackDecoder::decode`, each accepted value
//!   then followed by a `PacketSizer` as the stream does.
//!
//! Input layout (the seeds that `scripts/fuzz-uac` writes follow it):
//!
//! ```text
//! [0]        bit 0: high speed (else full speed)
//! [1..5]     the stream's nominal rate in Hz, u32 LE
//! [5..7]     L, the RANGE answer's length, u16 LE (clipped to what is left)
//! [7..7+L]   the RANGE answer as the device sends it
//! rest       feedback packets: a length byte (taken mod 8), then that many bytes
//! ```

#![no_main]

use libfuzzer_sys::fuzz_target;
use outboard_hal::usb::Speed;
use outboard_uac::controls::rates_from_range;
use outboard_uac::model::Rates;
use outboard_uac::packets::{units_per_second, FeedbackDecoder, PacketSizer};

/// Frames a packet may hold in this target's sizer (an endpoint's wMaxPacketSize / frame size).
const MAX_FRAMES: u32 = 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let speed = if flags & 1 != 0 { Speed::High } else { Speed::Full };
    let Some((rate, rest)) = take_u32(rest) else { return };
    let Some((len, rest)) = take_u16(rest) else { return };
    let (range, mut packets) = rest.split_at(usize::from(len).min(rest.len()));

    range_answer(range);

    let mut decoder = FeedbackDecoder::new(rate, speed);
    let mut sizer = PacketSizer::new(rate, speed, 1, MAX_FRAMES);
    let units = f64::from(units_per_second(speed));
    while let Some((&n, tail)) = packets.split_first() {
        let (packet, tail) = tail.split_at(usize::from(n % 8).min(tail.len()));
        packets = tail;
        let value = decoder.decode(packet);
        if let Some(f) = value {
            // Accepted values are within -1/8..+1/2 of the nominal rate.
            let hz = f as f64 / 65536.0 * units;
            let rate = f64::from(rate);
            assert!(hz >= rate * 0.875 - 1.0 && hz <= rate * 1.5 + 1.0, "{packet:02x?} -> {hz} Hz at {rate} Hz");
        }
        sizer.set_feedback(value);
        for _ in 0..4 {
            assert!(sizer.next_frames() <= MAX_FRAMES);
        }
        assert!(sizer.current_rate().is_finite());
    }
});

/// A RANGE answer as `controls::clock_rates` reads it, with the count the
/// device claims (unchecked here) and with no count limit at all.
fn range_answer(answer: &[u8]) {
    let Some((count, triples)) = take_u16(answer) else { return };
    for count in [usize::from(count), usize::MAX] {
        let rates = rates_from_range(triples, count);
        let ranges: Vec<(u32, u32)> = triples.chunks_exact(12).take(count).map(|t| (word(t, 0), word(t, 4))).collect();
        match rates {
            Rates::Discrete(v) => {
                assert!(v.windows(2).all(|w| w[0] < w[1]), "not sorted or repeated: {v:?}");
                for r in v {
                    assert!(ranges.iter().any(|(min, max)| (*min..=*max).contains(&r)), "{r} Hz in none of {ranges:?}");
                }
            }
            Rates::Continuous { min, max } => {
                assert!(min < max);
                assert!(ranges.iter().any(|(lo, _)| *lo == min) && ranges.iter().any(|(_, hi)| *hi == max));
            }
            Rates::FromClock => panic!("a RANGE answer gave FromClock"),
        }
    }
}

fn word(t: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([t[at], t[at + 1], t[at + 2], t[at + 3]])
}

fn take_u16(b: &[u8]) -> Option<(u16, &[u8])> {
    let (head, rest) = b.split_first_chunk::<2>()?;
    Some((u16::from_le_bytes(*head), rest))
}

fn take_u32(b: &[u8]) -> Option<(u32, &[u8])> {
    let (head, rest) = b.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*head), rest))
}
