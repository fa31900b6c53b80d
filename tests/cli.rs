//! The `outboard` binary as a user runs it.

use std::process::Command;

use outboard_fixtures::analysis::{channel, tone_frequency};
use outboard_fixtures::signal::from_le_bytes;
use outboard_fixtures::wav::Wav;

fn outboard(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_outboard")).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn demo_plays_two_tones_through_the_emulated_controller_and_saves_them() {
    let wav = std::env::temp_dir().join(format!("outboard-demo-test-{}.wav", std::process::id()));
    let (ok, stdout, stderr) = outboard(&["demo", "--seconds", "0.5", "--out", wav.to_str().unwrap()]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("glitches: none"), "{stdout}");
    assert!(stdout.trim_end().ends_with("demo: OK"), "{stdout}");
    let w = Wav::read(&wav).unwrap();
    assert_eq!((w.channels, w.rate, w.bits), (2, 48_000, 16));
    let samples = from_le_bytes(&w.data);
    assert!(samples.len() / 2 >= 24_000, "{} frames", samples.len() / 2);
    let left = tone_frequency(&channel(&samples[..48_000], 2, 0), 48_000).unwrap();
    let right = tone_frequency(&channel(&samples[..48_000], 2, 1), 48_000).unwrap();
    assert!((left - 440.0).abs() < 0.5 && (right - 660.0).abs() < 0.5, "{left} {right}");
    std::fs::remove_file(&wav).unwrap();
}

#[test]
fn bad_input_gets_a_clear_error_and_no_panic() {
    for (args, expect) in [
        (&["probe", "vfio", "0000:00:1f.9"][..], "not a PCI address"),
        (&["probe", "vfio", "0000:7f:1f.7"][..], "no PCI device 0000:7f:1f.7"),
        (&["probe", "usbfs", "--id", "zz:01"][..], "is not a USB id"),
        (&["probe", "usbfs", "--id", "1234:5678"][..], "no USB device with id 1234:5678"),
        (&["demo", "--seconds", "1000"][..], "--seconds must be between"),
        (&["frobnicate"][..], "unknown command `frobnicate`"),
        (&["list", "--bogus"][..], "unexpected argument `--bogus`"),
    ] {
        let (ok, stdout, stderr) = outboard(args);
        assert!(!ok, "{args:?} succeeded: {stdout}");
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
