//! `outboard measure`'s methods against the emulated loopback: each
//! impairment set on the cable must come back as the figure that measures
//! it, within the stated tolerance.

use outboard_emu::loopback::{Biquad, GlitchKind as Made, Impairments, Loopback, LoopbackStream};
use outboard_hal::pcm::{Direction, PcmConfig, SampleFormat};
use outboard_measure::glitch::GlitchKind as Found;
use outboard_measure::run::{run, Options, Report, Test};

const RATE: u32 = 48_000;

fn streams(card: &Loopback) -> (LoopbackStream, LoopbackStream) {
    let cfg = PcmConfig { format: SampleFormat::S32Le, rate: RATE, channels: 2, period_frames: 480, periods: 4 };
    (card.open(Direction::Playback, cfg).unwrap(), card.open(Direction::Capture, cfg).unwrap())
}

fn measure(card: &Loopback, tests: &[Test]) -> Report {
    let (mut play, mut rec) = streams(card);
    let opts = Options {
        tests: tests.to_vec(),
        repeats: 3,
        sweep_seconds: 2.0,
        glitch_seconds: 8.0,
        drift_seconds: 4.0,
        ..Options::default()
    };
    run(&mut play, &mut rec, &opts, &mut |_| {}).unwrap()
}

fn figure(report: &Report, name: &str) -> f64 {
    report.figures().iter().find(|f| f.name == name).unwrap_or_else(|| panic!("no figure {name}")).value
}

fn near(what: &str, got: f64, want: f64, tolerance: f64) {
    assert!((got - want).abs() <= tolerance, "{what}: measured {got}, set {want} (tolerance {tolerance})");
}

#[test]
fn every_impairment_comes_back_as_its_figure() {
    let imp: Impairments = "delay=123,gain=-0.5,hd3=-80,noise=-105,crosstalk=-90,lowpass=18000".parse().unwrap();
    let card = Loopback::new(imp, RATE, 2);
    let r = measure(&card, &[Test::Latency, Test::Channels, Test::Response, Test::Thd, Test::Noise, Test::Drift]);

    // Latency: exact to the sample, and the same every run.
    assert_eq!(figure(&r, "latency.frames"), 123.0);
    assert_eq!(r.latency.as_ref().unwrap().runs, vec![123, 123, 123]);
    assert_eq!(figure(&r, "latency.spread_frames"), 0.0);

    // Channels: each output on its own input, upright; crosstalk as set.
    assert_eq!(figure(&r, "channels.miswired"), 0.0);
    near("crosstalk", figure(&r, "channels.crosstalk_db"), -90.0, 0.5);

    // Response: the gain plus the low-pass's own curve, within 0.1 dB, 20 Hz to 20 kHz.
    let lp = Biquad::lowpass(18_000.0, RATE);
    for curve in r.response.as_ref().unwrap() {
        for (f, m) in curve.freqs.iter().zip(&curve.magnitude_db) {
            near(&format!("response at {f:.0} Hz"), *m, -0.5 + lp.gain_db(*f), 0.1);
        }
    }
    near("gain at 1 kHz", figure(&r, "response.gain_1k_db"), -0.5, 0.1);
    near("-3 dB corner", figure(&r, "response.high_3db_hz"), 18_000.0, 600.0);

    // THD: hd3 is the 3rd harmonic at full scale; at the -3 dBFS test
    // level (less the low-pass's loss at 1 kHz) it is 2·level lower.
    let a = 10f64.powf((-3.0 + lp.gain_db(1000.0)) / 20.0);
    let k = 1e-4;
    let want = 20.0 * (k * a * a / (1.0 + 3.0 * k * (a * a - 1.0))).log10();
    near("THD", figure(&r, "thd.thd_db"), want, 0.5);
    let h3 = &r.thd.as_ref().unwrap()[0].harmonics[1];
    assert_eq!(h3.order, 3);
    near("3rd harmonic", h3.db, want, 0.5);

    // Noise: white at -105 dBFS over the band to 24 kHz; 20 Hz-20 kHz holds 19980/24000 of it.
    let in_band = -105.0 + 10.0 * (19_980.0f64 / 24_000.0).log10();
    near("noise", figure(&r, "noise.unweighted_dbfs"), in_band, 1.0);
    near("dynamic range", figure(&r, "dynamic_range.db"), -in_band, 1.0);
    assert!(figure(&r, "noise.a_weighted_dbfs") < figure(&r, "noise.unweighted_dbfs"));

    // One device, one clock.
    near("drift", figure(&r, "drift.ppm"), 0.0, 0.01);
}

#[test]
fn every_glitch_is_found_at_its_time_and_none_is_invented() {
    let card = Loopback::new("delay=40,noise=-100,glitch=1.3".parse().unwrap(), RATE, 2);
    let r = measure(&card, &[Test::Glitch]);
    // The glitch run was the last capture; its glitches inside the tone.
    let heard = card.glitches_heard();
    let last = heard.iter().map(|g| g.capture_start).max().unwrap();
    // The tone starts after the pre-roll (100 ms), the marker (4095 frames)
    // and its gap (50 ms), and came back 40 frames later.
    let tone = 0.15 * f64::from(RATE) + 4095.0 + 40.0;
    let made: Vec<_> = heard
        .iter()
        .filter(|g| g.capture_start == last)
        .filter(|g| g.frame as f64 > tone + 1000.0 && (g.frame as f64) < tone + 8.0 * f64::from(RATE) - 1000.0)
        .collect();
    assert!(made.len() >= 5, "{made:?}");
    for input in r.glitches.as_ref().unwrap() {
        assert_eq!(input.len(), made.len(), "found {input:?}\nmade {made:?}");
        for (g, m) in input.iter().zip(&made) {
            let kind = match m.kind {
                Made::Dropout => Found::Dropout,
                Made::Repeat => Found::Discontinuity,
                Made::Click => Found::Click,
            };
            assert!(g.frame.abs_diff(m.frame as usize) <= 1 && g.kind == kind, "found {g:?}, made {m:?}");
        }
    }
    assert_eq!(figure(&r, "glitch.count"), 2.0 * made.len() as f64);
}

#[test]
fn a_cable_that_is_not_plugged_in_is_reported() {
    let card = Loopback::new("gain=-60,noise=-20".parse().unwrap(), RATE, 2);
    let (mut play, mut rec) = streams(&card);
    let e = run(&mut play, &mut rec, &Options { tests: vec![Test::Latency], ..Options::default() }, &mut |_| {})
        .unwrap_err();
    assert!(e.to_string().contains("came back"), "{e}");
}

#[test]
fn drift_between_the_clocks_is_measured_and_followed() {
    for ppm in [120.0, -35.5] {
        let card = Loopback::new(format!("delay=123,noise=-100,lowpass=18000,drift={ppm}").parse().unwrap(), RATE, 2);
        let r = measure(&card, &[Test::Latency, Test::Response, Test::Drift]);
        near("drift", figure(&r, "drift.ppm"), ppm, 1.0);
        // Followed back onto the outputs' clock, the rest reads as with one
        // clock: the latency to within the capture start's fraction of a
        // frame, the response within 0.1 dB.
        near("latency", figure(&r, "latency.frames"), 123.0, 1.0);
        let lp = Biquad::lowpass(18_000.0, RATE);
        for curve in r.response.as_ref().unwrap() {
            for (f, m) in curve.freqs.iter().zip(&curve.magnitude_db).filter(|(f, _)| **f <= 20_000.0) {
                near(&format!("response at {f:.0} Hz, drift {ppm}"), *m, lp.gain_db(*f), 0.1);
            }
        }
    }
}
