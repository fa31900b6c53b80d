//! The HDA driver's whole bring-up and a playback stream, against emulated
//! controllers whose codecs are real ones: every codec dump in
//! ../shared/hw-fixtures/hda-codecs (714 machines) becomes an emulated codec,
//! and the driver must find a path, program it, and get a signal to the DAC
//! it chose, bit for bit.

use std::path::PathBuf;

use outboard_emu::hda::emulated_hda_from_dump;
use outboard_emu::hda::model::ModelCodec;
use outboard_hal::pcm::{Direction, PcmConfig, PcmStream, SampleFormat};
use outboard_hda::codec::paths::OutputRole;
use outboard_hda::codec::WidgetKind;
use outboard_hda::device::HdaDevice;
use outboard_signal::signal;

fn dumps_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/hw-fixtures/hda-codecs")
}

#[test]
fn every_real_codec_plays_through_the_driver_on_an_emulated_controller() {
    let dir = dumps_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("!!!! SKIPPED: no codec dumps at {} (they sit beside the checkout in ../shared) !!!!", dir.display());
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "under CI the codec dumps must be there");
        return;
    };
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    let (mut machines, mut played, mut no_output, mut failures) = (0, 0, Vec::new(), Vec::new());
    for file in &files {
        let text = String::from_utf8_lossy(&std::fs::read(file).unwrap()).into_owned();
        let Some(hw) = emulated_hda_from_dump(&text) else {
            failures.push(format!("{}: no codec parsed", file.display()));
            continue;
        };
        machines += 1;
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let dev = match HdaDevice::open(hw.pci.clone()) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{name}: bring-up failed: {e}"));
                continue;
            }
        };
        let Some(cp) = dev.codecs().iter().find(|c| c.plan.primary_output().is_some()) else {
            no_output.push(name);
            continue;
        };
        let out = cp.plan.primary_output().unwrap().clone();
        let address = cp.codec.address;
        let pcm_caps = cp.codec.node(out.dac).and_then(|n| n.pcm).unwrap_or(cp.codec.default_pcm);
        let rate = if pcm_caps.rates().contains(&48_000) {
            48_000
        } else {
            pcm_caps.rates().first().copied().unwrap_or(48_000)
        };
        let (format, bits) =
            if pcm_caps.bits().contains(&16) { (SampleFormat::S16Le, 16) } else { (SampleFormat::S32Le, 32) };
        let cfg = PcmConfig { format, rate, channels: 2, period_frames: 256, periods: 4 };
        let mut pcm = match dev.open_pcm(Direction::Playback, cfg) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{name}: opening playback at {rate} Hz/{bits} bits: {e}"));
                continue;
            }
        };
        let bytes = cfg.buffer_frames() * cfg.frame_bytes();
        let data = signal::to_le_bytes(&signal::test_signal(bytes / 2, 1, machines));
        pcm.write_frames(0, &data).unwrap();
        pcm.start().unwrap();
        hw.emu.advance_frames(cfg.buffer_frames());
        pcm.stop().unwrap();

        let checked = hw.emu.with_codec_at(address, |c| {
            let m = c.as_any().downcast_mut::<ModelCodec>().unwrap();
            let mut problems = Vec::new();
            if m.played() != data.as_slice() {
                problems.push(format!(
                    "the DAC {:#04x} got {} of {} bytes, or different ones",
                    out.dac,
                    m.played().len(),
                    data.len()
                ));
            }
            let pin = m.state(out.pin);
            if pin.pin_ctl & 0x40 == 0 && out.role != OutputRole::Speaker {
                problems.push(format!("pin {:#04x} output not enabled (pin ctl {:#04x})", out.pin, pin.pin_ctl));
            }
            for w in out.nodes.windows(2) {
                let node = m.model().node(w[1]).unwrap();
                let index = node.connections.iter().position(|&c| c == w[0]).unwrap() as u8;
                let st = m.state(w[1]);
                if node.kind() != WidgetKind::Mixer && node.connections.len() > 1 && st.select != index {
                    problems.push(format!("{:#04x} selects input {} not {index}", w[1], st.select));
                }
                if node.amp_in.is_some_and(|a| a.can_mute()) && st.amp_in.get(&index).is_none_or(|a| a[0] & 0x80 != 0) {
                    problems.push(format!("{:#04x} input {index} is muted", w[1]));
                }
            }
            for &nid in &out.nodes {
                let node = m.model().node(nid).unwrap();
                if node.amp_out.is_some_and(|a| a.can_mute()) && m.state(nid).amp_out[0] & 0x80 != 0 {
                    problems.push(format!("{nid:#04x} output amp is muted"));
                }
            }
            problems
        });
        match checked {
            Some(p) if p.is_empty() => played += 1,
            Some(p) => failures.push(format!("{name}: {}", p.join("; "))),
            None => failures.push(format!("{name}: codec {address} vanished")),
        }
    }
    println!(
        "emulated machines: {machines} of {} dump files; played bit-exact on {played}; {} with no analog output path ({}); {} failures",
        files.len(),
        no_output.len(),
        no_output.join(", "),
        failures.len()
    );
    for f in failures.iter().take(30) {
        println!("  {f}");
    }
    assert!(machines > 700, "only {machines} dumps became emulated machines");
    assert!(failures.is_empty(), "{} machines failed (listed above)", failures.len());
}
