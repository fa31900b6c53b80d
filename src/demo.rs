//! `outboard demo`: the whole HDA driver path on emulated hardware, with no
//! setup. The driver brings up the emulated ICH9 controller, discovers its
//! codec, and plays a two-tone signal through a stream descriptor in real time;
//! what the emulated codec received is saved as a WAV and measured.
//!
//! (The mixer is not in this path yet: mixing two clients onto the device is
//! the mixer-core issue's demo.)

use std::path::PathBuf;
use std::time::{Duration, Instant};

use outboard_fixtures::analysis::{channel, rms_dbfs, tone_frequency};
use outboard_fixtures::hda::emulated_hda;
use outboard_fixtures::signal::{find_exact, from_le_bytes, to_le_bytes, Match};
use outboard_fixtures::wav::Wav;
use outboard_hda::codec::{read_codec, WidgetKind};
use outboard_hda::stream::{Stream, StreamConfig};
use outboard_hda::verb::{Verb, SET_CHANNEL_STREAMID, SET_CONVERTER_FORMAT};
use outboard_hda::Controller;

use crate::args::Args;

const RATE: u32 = 48_000;
const TONES: [f64; 2] = [440.0, 660.0];
const AMPLITUDE: f64 = 0.5;

fn two_tones(frames: usize) -> Vec<i16> {
    (0..frames)
        .flat_map(|n| {
            TONES.map(|f| {
                ((2.0 * std::f64::consts::PI * f * n as f64 / f64::from(RATE)).sin() * AMPLITUDE * 32767.0).round()
                    as i16
            })
        })
        .collect()
}

pub fn run(mut args: Args) -> Result<(), String> {
    let out: PathBuf = args.option("--out")?.unwrap_or_else(|| PathBuf::from("outboard-demo.wav"));
    let seconds: f64 = args.option("--seconds")?.unwrap_or(2.0);
    args.finish()?;
    if !(0.1..=60.0).contains(&seconds) {
        return Err("--seconds must be between 0.1 and 60".into());
    }
    let e = |e: outboard_hda::Error| e.to_string();

    println!("Outboard demo: the HDA driver on an emulated ICH9 controller (no hardware needed)");
    let hw = emulated_hda();
    let mut ctrl = Controller::open(hw.pci.clone()).map_err(e)?;
    ctrl.reset().map_err(e)?;
    ctrl.init_command_rings().map_err(e)?;
    let codec = read_codec(&mut ctrl, 0).map_err(e)?;
    let dac = codec.nodes_of(WidgetKind::AudioOutput).next().ok_or("the codec has no output converter")?.nid;
    println!(
        "  controller {}: GCAP {:#06x}, {} output streams; codec 0 vendor {:#010x}, {} widgets, DAC at node {dac}",
        ctrl.name(),
        ctrl.caps().gcap,
        ctrl.caps().output_streams,
        codec.vendor_id,
        codec.nodes.len()
    );

    let irq = ctrl.enable_interrupts().map_err(e)?;
    let cfg = StreamConfig { rate: RATE, bits: 16, channels: 2, period_bytes: 4096, periods: 4 };
    let stream =
        Stream::setup(&ctrl, ctrl.caps().output_descriptor(0).ok_or("no output stream")?, 1, cfg).map_err(e)?;
    ctrl.send(Verb::long(0, dac, SET_CONVERTER_FORMAT, stream.format().map_err(e)?)).map_err(e)?;
    ctrl.send(Verb::new(0, dac, SET_CHANNEL_STREAMID, stream.tag() << 4)).map_err(e)?;

    let frames = (seconds * f64::from(RATE)) as usize;
    let signal = to_le_bytes(&two_tones(frames));
    let size = cfg.buffer_bytes();
    let mut written = 0usize;
    let next = |written: usize| -> Vec<u8> {
        let mut chunk = vec![0u8; cfg.period_bytes];
        if written < signal.len() {
            let n = (signal.len() - written).min(cfg.period_bytes);
            chunk[..n].copy_from_slice(&signal[written..written + n]);
        }
        chunk
    };
    while written < size {
        stream.write(written, &next(written)).map_err(e)?;
        written += cfg.period_bytes;
    }
    println!(
        "  playing {seconds} s: {} Hz left, {} Hz right, 16-bit stereo {RATE} Hz, {} periods of {} frames",
        TONES[0],
        TONES[1],
        cfg.periods,
        cfg.period_bytes / 4
    );
    stream.start().map_err(e)?;
    hw.emu.start_clock();
    let started = Instant::now();
    let (mut consumed, mut last_lpib, mut interrupts) = (0usize, 0usize, 0u64);
    while consumed < signal.len() {
        interrupts += irq.wait(Duration::from_secs(2)).map_err(|e| e.to_string())?;
        stream.ack().map_err(e)?;
        ctrl.ack_interrupt().map_err(e)?;
        let lpib = stream.lpib().map_err(e)?;
        consumed += (lpib + size - last_lpib) % size;
        last_lpib = lpib;
        while written + cfg.period_bytes <= consumed + size {
            stream.write(written, &next(written)).map_err(e)?;
            written += cfg.period_bytes;
        }
    }
    stream.stop().map_err(e)?;
    hw.emu.stop_clock();
    let elapsed = started.elapsed();
    drop(stream);
    ctrl.shutdown().map_err(e)?;

    let played = hw.emu.played();
    Wav { channels: 2, rate: RATE, bits: 16, data: played.clone() }
        .write(&out)
        .map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "  {interrupts} interrupts in {:.2} s; the codec received {} frames; saved {}",
        elapsed.as_secs_f64(),
        played.len() / 4,
        out.display()
    );

    let got = from_le_bytes(&played);
    let sent = from_le_bytes(&signal);
    let mut ok = true;
    for (c, f) in TONES.iter().enumerate() {
        let x = channel(&got[..got.len().min(sent.len())], 2, c);
        let freq = tone_frequency(&x, RATE).unwrap_or(0.0);
        let level = rms_dbfs(&x);
        let expected_level = 20.0 * (AMPLITUDE / 2f64.sqrt()).log10();
        let good = (freq - f).abs() < 0.5 && (level - expected_level).abs() < 0.1;
        ok &= good;
        println!(
            "  channel {c}: tone {freq:.2} Hz (expected {f}), level {level:.2} dBFS (expected {expected_level:.2}) {}",
            if good { "ok" } else { "WRONG" }
        );
    }
    match find_exact(&got, &sent, 2) {
        Match::Exact { offset: 0 } => println!("  glitches: none (every sample arrived unchanged, in order)"),
        m => {
            ok = false;
            println!("  glitches: the codec's data differs from what was played: {m:?}");
        }
    }
    if ok {
        println!("demo: OK");
        Ok(())
    } else {
        Err("demo: the emulated hardware did not receive what was played".into())
    }
}
