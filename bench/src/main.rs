//! Host-side helper for the QEMU bench: writes the known test signal and
//! checks recordings against it.
//!
//! ```text
//! outboard-bench-tool compare RECORDING SENT [--channels N]
//!     exit 0 when SENT appears in RECORDING sample for sample
//! outboard-bench-tool compare-capture FED CAPTURED [--channels N]
//!     exit 0 when what was captured (after any leading silence) is a
//!     stretch of what was fed to the device, sample for sample
//! outboard-bench-tool tones RECORDING --freqs F1,F2 --levels L1,L2 [--rate R] [--channels N]
//!     exit 0 when the middle of what was recorded holds those tones at those
//!     levels (dBFS, within 0.2 dB) on every channel and nothing else above
//!     -70 dBFS (no clicks, gaps or stray tones)
//! outboard-bench-tool signal OUT [--seconds S] [--seed N] [--rate R] [--channels C]
//!     write the S16 test signal, stereo unless C says otherwise (a .wav labelled R Hz,
//!     default 48000; or raw bytes)
//! outboard-bench-tool tone OUT --freq F [--level DB] [--seconds S] [--rate R] [--channels C]
//!     write an S16 sine of F Hz at R Hz (default 48000), DB dBFS peak (default -12.04),
//!     the same on every channel (stereo unless C says otherwise); .wav or raw
//! outboard-bench-tool tone-track RECORDING --freq F --level DB [--ppm P] [--from S]
//!                                [--residual DB] [--rate R] [--channels N]
//!     exit 0 when the recording, from S seconds after its sound starts (default 0.5)
//!     to 0.5 s before it ends, followed 10 ms at a time, is one unbroken tone within
//!     P ppm of F Hz (default 100) at DB dBFS (within 0.2 dB) on every channel: each
//!     block's residual after a fit at its own frequency under --residual (default
//!     -70 dBFS), no step in the tone's phase at a block boundary beyond half a sample
//!     (a lost or repeated sample is 1; a drift loop's correction of 1000 ppm, ramped
//!     over 10 ms, 0.12 and -65 dBFS). For a tone whose pitch may wander slowly (two
//!     clocks drifting), where `tones` (one fixed frequency over the whole stretch)
//!     cannot apply: a drift loop that holds its queue within a frame still moves the
//!     tone's phase by a tenth of a radian at 1 kHz, far above `tones`' -70 dBFS.
//! ```
//! Files ending in .wav are read as WAV; anything else is raw S16LE.

use std::path::Path;
use std::process::ExitCode;

use outboard_signal::signal::{find_exact, from_le_bytes, Match};
use outboard_signal::wav::Wav;

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

/// S16 samples of a .wav (checking its shape) or a raw S16LE file.
fn samples(path: &str, channels: usize) -> Result<Vec<i16>, String> {
    if path.ends_with(".wav") {
        let wav = Wav::read(Path::new(path)).map_err(|e| e.to_string())?;
        if wav.bits != 16 || usize::from(wav.channels) != channels {
            return Err(format!("{path}: {} channels of {} bits, expected {channels} of 16", wav.channels, wav.bits));
        }
        Ok(from_le_bytes(&wav.data))
    } else {
        Ok(from_le_bytes(&std::fs::read(path).map_err(|e| format!("{path}: {e}"))?))
    }
}

fn channels_arg(args: &[String]) -> Result<usize, String> {
    match args.iter().position(|a| a == "--channels") {
        Some(i) => args.get(i + 1).and_then(|c| c.parse().ok()).ok_or_else(|| "--channels needs a number".to_string()),
        None => Ok(2),
    }
}

/// `NAME VALUE` as a number, if NAME is there.
fn number(args: &[String], name: &str) -> Result<Option<f64>, String> {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite())
            .map(Some)
            .ok_or_else(|| format!("{name} needs a number")),
        None => Ok(None),
    }
}

fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("compare-capture") => {
            let (fed, cap) = match (args.get(1), args.get(2)) {
                (Some(f), Some(c)) => (f, c),
                _ => return Err("usage: compare-capture FED CAPTURED [--channels N]".into()),
            };
            let channels = channels_arg(args)?;
            let fed_s = samples(fed, channels)?;
            let cap_s = samples(cap, channels)?;
            let lead = cap_s.iter().position(|&s| s != 0).unwrap_or(cap_s.len()) / channels * channels;
            let got = &cap_s[lead..];
            println!(
                "{cap}: {} frames, {} of leading silence; fed {} frames",
                cap_s.len() / channels,
                lead / channels,
                fed_s.len() / channels
            );
            if got.len() < cap_s.len() / 2 {
                return Err(format!(
                    "only {} of {} captured frames carry signal",
                    got.len() / channels,
                    cap_s.len() / channels
                ));
            }
            match find_exact(&fed_s, got, channels) {
                Match::Exact { offset } => {
                    println!("bit-exact: all {} captured samples after the silence are the fed signal from frame {}", got.len(), offset / channels);
                    Ok(())
                }
                Match::Differs { offset, at, expected, got: fed_one } => {
                    // Where the capture picks the fed signal up again tells a
                    // lost or repeated stretch (and its size) from noise.
                    let from = at / channels * channels;
                    let resumed = match find_exact(&fed_s, &got[from..], channels) {
                        Match::Exact { offset: o } | Match::Differs { offset: o, .. } => {
                            let jump = (o as i64 - (offset + from) as i64) / channels as i64;
                            format!("; from there it is the fed signal from frame {} ({jump:+} frames)", o / channels)
                        }
                        Match::NotFound => "; what follows appears nowhere in what was fed".into(),
                    };
                    Err(format!(
                        "the capture matches the fed signal from frame {} but its frame {} (sample {at}) is {expected}, the fed one {fed_one:?}{resumed}",
                        offset / channels,
                        at / channels
                    ))
                }
                Match::NotFound => Err("the captured samples appear nowhere in what was fed".into()),
            }
        }
        Some("tones") => {
            let rec =
                args.get(1).ok_or("usage: tones RECORDING --freqs F1,F2 --levels L1,L2 [--rate R] [--channels N]")?;
            let list = |name: &str| -> Result<Vec<f64>, String> {
                let i = args.iter().position(|a| a == name).ok_or(format!("{name} is required"))?;
                args.get(i + 1)
                    .ok_or(format!("{name} needs values"))?
                    .split(',')
                    .map(|v| v.parse::<f64>().map_err(|e| format!("{name} {v}: {e}")))
                    .collect()
            };
            let (freqs, levels) = (list("--freqs")?, list("--levels")?);
            let rate = match args.iter().position(|a| a == "--rate") {
                Some(i) => args.get(i + 1).and_then(|v| v.parse().ok()).ok_or("--rate needs a number")?,
                None => 48_000u32,
            };
            let channels = channels_arg(args)?;
            let all = samples(rec, channels)?;
            let first = all.iter().position(|&s| s != 0).unwrap_or(0) / channels;
            let last = all.iter().rposition(|&s| s != 0).unwrap_or(0) / channels;
            if last <= first + rate as usize / 2 {
                return Err(format!("{rec}: less than half a second of sound"));
            }
            // The middle half of the sound, away from starts and ends.
            let (from, to) = (first + (last - first) / 4, last - (last - first) / 4);
            let mut ok = true;
            for c in 0..channels {
                let x = outboard_signal::analysis::channel(&all[from * channels..to * channels], channels, c);
                let (amps, residual) = outboard_signal::analysis::fit_tones(&x, rate, &freqs);
                for ((f, a), want) in freqs.iter().zip(&amps).zip(&levels) {
                    let db = 20.0 * a.log10();
                    let good = (db - want).abs() < 0.2;
                    ok &= good;
                    println!(
                        "channel {c}: {f} Hz at {db:.2} dBFS (expected {want:.2}) {}",
                        if good { "ok" } else { "WRONG" }
                    );
                }
                let clean = residual < -70.0;
                ok &= clean;
                println!("channel {c}: everything else {residual:.1} dBFS {}", if clean { "ok" } else { "TOO LOUD" });
            }
            if ok {
                Ok(())
            } else {
                Err("the recording is not those tones alone".into())
            }
        }
        Some("tone") => {
            let usage = "usage: tone OUT --freq F [--level DB] [--seconds S] [--rate R] [--channels C]";
            let out = args.get(1).ok_or(usage)?;
            let freq = number(args, "--freq")?.ok_or("--freq is required")?;
            let level = number(args, "--level")?.unwrap_or(-12.04);
            let seconds = number(args, "--seconds")?.unwrap_or(2.0);
            let rate = number(args, "--rate")?.unwrap_or(48_000.0);
            let channels = number(args, "--channels")?.unwrap_or(2.0);
            if !(1.0..=8.0).contains(&channels) || !(8000.0..=384_000.0).contains(&rate) {
                return Err("--channels must be 1 to 8 and --rate 8000 to 384000".into());
            }
            if !(0.0..rate / 2.0).contains(&freq) || level > 0.0 || !(0.0..=3600.0).contains(&seconds) {
                return Err("--freq must be below half the rate, --level at most 0 dBFS, --seconds 0 to 3600".into());
            }
            let amplitude = 10f64.powf(level / 20.0) * 32767.0;
            let channels = channels as usize;
            let samples: Vec<i16> = (0..(seconds * rate) as usize)
                .flat_map(|n| {
                    let v = (amplitude * (2.0 * std::f64::consts::PI * freq * n as f64 / rate).sin()).round() as i16;
                    std::iter::repeat_n(v, channels)
                })
                .collect();
            let data = outboard_signal::signal::to_le_bytes(&samples);
            if out.ends_with(".wav") {
                Wav { channels: channels as u16, rate: rate as u32, bits: 16, data }
                    .write(Path::new(out))
                    .map_err(|e| e.to_string())
            } else {
                std::fs::write(out, data).map_err(|e| format!("{out}: {e}"))
            }
        }
        Some("tone-track") => {
            let usage = "usage: tone-track RECORDING --freq F --level DB [--ppm P] [--from S] [--residual DB] \
                         [--rate R] [--channels N]";
            let rec = args.get(1).ok_or(usage)?;
            let freq = number(args, "--freq")?.ok_or("--freq is required")?;
            let level = number(args, "--level")?.ok_or("--level is required")?;
            let ppm = number(args, "--ppm")?.unwrap_or(100.0);
            let from = number(args, "--from")?.unwrap_or(0.5);
            let most = number(args, "--residual")?.unwrap_or(-70.0);
            let rate = number(args, "--rate")?.unwrap_or(48_000.0) as u32;
            let channels = channels_arg(args)?;
            let all = samples(rec, channels)?;
            let first = all.iter().position(|&s| s != 0).unwrap_or(0) / channels;
            let last = all.iter().rposition(|&s| s != 0).unwrap_or(0) / channels;
            let (start, end) = (first + (from * f64::from(rate)) as usize, last.saturating_sub(rate as usize / 2));
            println!(
                "{rec}: sound from {:.2} s to {:.2} s; following {freq} Hz from {:.2} s to {:.2} s",
                first as f64 / f64::from(rate),
                last as f64 / f64::from(rate),
                start as f64 / f64::from(rate),
                end as f64 / f64::from(rate)
            );
            if end < start + rate as usize {
                return Err(format!("{rec}: less than a second of sound to follow"));
            }
            let block = rate as usize / 100;
            let at = |n: usize| (start + n) as f64 / f64::from(rate);
            let mut ok = true;
            for c in 0..channels {
                let x = outboard_signal::analysis::channel(&all[start * channels..end * channels], channels, c);
                let t = outboard_signal::analysis::track_tone(&x, rate, freq, block)
                    .ok_or(format!("{rec}: too short to follow"))?;
                let off = (t.freq / freq - 1.0) * 1e6;
                let (lo, hi) = (20.0 * t.amplitude.0.log10(), 20.0 * t.amplitude.1.log10());
                let verdict = |good: bool| if good { "ok" } else { "WRONG" };
                let level_ok = (lo - level).abs() < 0.2 && (hi - level).abs() < 0.2;
                let good = [off.abs() <= ppm, level_ok, t.residual.0 < most, t.jump.0 < 0.5];
                let hz = t.freq;
                println!("channel {c}: {hz:.4} Hz ({off:+.1} ppm from {freq}, at most {ppm}) {}", verdict(good[0]));
                let levels = format!("level {lo:.2} to {hi:.2} dBFS in 10 ms blocks (expected {level:.2})");
                println!("channel {c}: {levels} {}", verdict(good[1]));
                println!(
                    "channel {c}: worst block's residual {:.1} dBFS at {:.2} s {}",
                    t.residual.0,
                    at(t.residual.1),
                    verdict(good[2])
                );
                println!(
                    "channel {c}: largest phase step {:.3} samples at {:.2} s {}",
                    t.jump.0,
                    at(t.jump.1),
                    verdict(good[3])
                );
                ok &= good.iter().all(|&g| g);
            }
            if ok {
                Ok(())
            } else {
                Err("the recording is not that tone, unbroken".into())
            }
        }
        Some("signal") => {
            let out = args.get(1).ok_or("usage: signal OUT [--seconds S] [--seed N]")?;
            let opt = |name: &str, default: f64| -> Result<f64, String> {
                match args.iter().position(|a| a == name) {
                    Some(i) => {
                        args.get(i + 1).and_then(|v| v.parse().ok()).ok_or_else(|| format!("{name} needs a number"))
                    }
                    None => Ok(default),
                }
            };
            let frames = (opt("--seconds", 2.0)? * 48_000.0) as usize;
            let seed = opt("--seed", 1.0)? as u32;
            let channels = opt("--channels", 2.0)?;
            if !(1.0..=8.0).contains(&channels) {
                return Err("--channels must be 1 to 8".into());
            }
            let channels = channels as u16;
            let data =
                outboard_signal::signal::to_le_bytes(&outboard_signal::signal::test_signal(frames, channels, seed));
            let rate = opt("--rate", 48_000.0)? as u32;
            if out.ends_with(".wav") {
                Wav { channels, rate, bits: 16, data }.write(Path::new(out)).map_err(|e| e.to_string())
            } else {
                std::fs::write(out, data).map_err(|e| format!("{out}: {e}"))
            }
        }
        Some("compare") => {
            let (rec, sent) = match (args.get(1), args.get(2)) {
                (Some(r), Some(s)) => (r, s),
                _ => return Err("usage: compare RECORDING SENT [--channels N]".into()),
            };
            let channels = channels_arg(args)?;
            let (recorded, sent_samples) = (samples(rec, channels)?, samples(sent, channels)?);
            println!("{rec}: {} frames; sent {} frames", recorded.len() / channels, sent_samples.len() / channels);
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
        _ => Err("usage: outboard-bench-tool compare|compare-capture|tones|tone|tone-track|signal ... (see the source's header)".into()),
    }
}
