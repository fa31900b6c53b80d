//! Writes the seed corpus of outboard-uac's fuzz targets (usb-audio-class/fuzz,
//! run by `scripts/fuzz-uac`) from the recorded and emulated devices here:
//!
//! ```text
//! cargo run -p outboard-emu --example fuzz_seeds -- <corpus dir>
//! ```
//!
//! `<corpus dir>/descriptors/`: the whole descriptor blob of QEMU's usb-audio
//! (multi off and on), f_uac1, and f_uac2 at high and full speed.
//!
//! `<corpus dir>/device_answers/`: inputs in the layout that target reads
//! (flags, nominal rate, RANGE answer length, RANGE answer, then feedback
//! packets each behind a length byte): the emulated f_uac2 clock's RANGE
//! answer with its feedback at 47.9/48.0/48.1 kHz in the standard format of
//! each speed, plus a continuous and a stepped RANGE with the odd feedback
//! scalings some devices send (16.16 per frame).

use std::path::{Path, PathBuf};

use outboard_emu::usb::descriptors::{f_uac1, f_uac2, qemu_usb_audio};
use outboard_emu::usb::uac2::{feedback_value, Uac2Options};
use outboard_hal::usb::Speed;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    std::fs::write(&path, bytes)?;
    println!("{} ({} bytes)", path.display(), bytes.len());
    Ok(())
}

/// A SAM_FREQ RANGE answer: wNumSubRanges, then (dMIN, dMAX, dRES) triples.
fn range_answer(triples: &[(u32, u32, u32)]) -> Vec<u8> {
    let mut d = (triples.len() as u16).to_le_bytes().to_vec();
    for (min, max, res) in triples {
        for v in [min, max, res] {
            d.extend(v.to_le_bytes());
        }
    }
    d
}

/// One device_answers input (see usb-audio-class/fuzz/fuzz_targets/device_answers.rs).
fn answers(high_speed: bool, rate: u32, range: &[u8], packets: &[Vec<u8>]) -> Vec<u8> {
    let mut d = vec![u8::from(high_speed)];
    d.extend(rate.to_le_bytes());
    d.extend((range.len() as u16).to_le_bytes());
    d.extend(range);
    for p in packets {
        d.push(p.len() as u8);
        d.extend(p);
    }
    d
}

fn main() -> std::io::Result<()> {
    let Some(root) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: fuzz_seeds <corpus dir>");
        std::process::exit(2);
    };

    let desc = root.join("descriptors");
    write(&desc, "qemu-usb-audio", &qemu_usb_audio(false))?;
    write(&desc, "qemu-usb-audio-multi", &qemu_usb_audio(true))?;
    write(&desc, "f_uac1", &f_uac1())?;
    write(&desc, "f_uac2-high", &f_uac2(Speed::High))?;
    write(&desc, "f_uac2-full", &f_uac2(Speed::Full))?;

    let ans = root.join("device_answers");
    let points: Vec<(u32, u32, u32)> = Uac2Options::default().rates.iter().map(|&r| (r, r, 0)).collect();
    let emulated = range_answer(&points);
    for high_speed in [false, true] {
        let bytes = if high_speed { 4 } else { 3 };
        let packets: Vec<Vec<u8>> = [47_900.0, 48_000.0, 48_100.0]
            .iter()
            .map(|&hz| feedback_value(hz, high_speed).to_le_bytes()[..bytes].to_vec())
            .collect();
        let name = if high_speed { "f_uac2-high" } else { "f_uac2-full" };
        write(&ans, name, &answers(high_speed, 48_000, &emulated, &packets))?;
    }
    // 16.16 frames per 1 ms frame, at both speeds (the decoder must find the shift).
    let per_frame: Vec<Vec<u8>> = [44_050.0f64, 44_100.0]
        .iter()
        .map(|hz| ((hz / 1000.0 * 65536.0).round() as u32).to_le_bytes().to_vec())
        .collect();
    let continuous = range_answer(&[(8_000, 96_000, 1)]);
    write(&ans, "continuous-1616-full", &answers(false, 44_100, &continuous, &per_frame))?;
    let stepped = range_answer(&[(8_000, 192_000, 4_000), (44_100, 44_100, 0)]);
    write(&ans, "stepped-1616-high", &answers(true, 44_100, &stepped, &per_frame))?;
    Ok(())
}
