//! Host-side helper for the QEMU bench: writes the known test signal and
//! checks recordings against it.
//!
//! ```text
//! outboard-bench-tool compare RECORDING.wav SENT.raw [--channels N]
//! ```
//! exits 0 when SENT (raw S16LE) appears in RECORDING sample for sample.

use std::path::Path;
use std::process::ExitCode;

use outboard_fixtures::signal::{find_exact, from_le_bytes, Match};
use outboard_fixtures::wav::Wav;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("outboard-bench-tool: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("compare") => {
            let (rec, sent) = match (args.get(1), args.get(2)) {
                (Some(r), Some(s)) => (r, s),
                _ => return Err("usage: compare RECORDING.wav SENT.raw [--channels N]".into()),
            };
            let channels = match args.get(3).map(String::as_str) {
                Some("--channels") => args.get(4).and_then(|c| c.parse().ok()).ok_or("--channels needs a number")?,
                _ => 2,
            };
            let wav = Wav::read(Path::new(rec)).map_err(|e| e.to_string())?;
            if wav.bits != 16 || usize::from(wav.channels) != channels {
                return Err(format!(
                    "{rec}: {} channels of {} bits, expected {channels} of 16",
                    wav.channels, wav.bits
                ));
            }
            let sent_bytes = std::fs::read(sent).map_err(|e| format!("{sent}: {e}"))?;
            let (recorded, sent_samples) = (from_le_bytes(&wav.data), from_le_bytes(&sent_bytes));
            println!(
                "{rec}: {} frames at {} Hz; sent {} frames",
                recorded.len() / channels,
                wav.rate,
                sent_samples.len() / channels
            );
            match find_exact(&recorded, &sent_samples, channels) {
                Match::Exact { offset } => {
                    println!("bit-exact: all {} samples found at frame {}", sent_samples.len(), offset / channels);
                    Ok(())
                }
                Match::Differs { offset, at, expected, got } => Err(format!(
                    "signal starts at frame {} but sample {at} (frame {}) is {got:?}, expected {expected}",
                    offset / channels,
                    at / channels
                )),
                Match::NotFound => Err("the sent signal's first samples appear nowhere in the recording".into()),
            }
        }
        _ => Err("usage: outboard-bench-tool compare RECORDING.wav SENT.raw [--channels N]".into()),
    }
}
