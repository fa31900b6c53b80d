//! The daemon's client limits across node families: /dev/dsp and an ALSA
//! PCM node share one set (as `outboard serve` wires them), an open past
//! either limit gets EBUSY, and a release gives its place back.

use std::sync::Arc;

use outboard_alsa::card::Card;
use outboard_alsa::pcm::Pcm;
use outboard_cuse::{Handler, Request};
use outboard_mixer::devices::{MemoryDevice, Pacing};
use outboard_mixer::engine::Engine;
use outboard_mixer::format::SampleFormat;
use outboard_mixer::limits::Limits;
use outboard_mixer::pcm::PcmConfig;
use outboard_oss::dsp::{Dsp, DSP_DEFAULTS};

const CFG: PcmConfig =
    PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: 256, periods: 4 };

fn user(uid: u32) -> Request {
    Request::new(1, 100 + uid, uid, uid)
}

#[test]
fn one_user_stops_at_the_per_user_limit_across_oss_and_alsa_and_everyone_at_the_total() {
    let engine = Arc::new(Engine::start(Box::new(MemoryDevice::null(CFG, Pacing::RealTime))).unwrap());
    let dsp = Dsp::new(engine.clone(), "/dev/dsp", DSP_DEFAULTS);
    let card = Card { number: 0, id: "Emu".into(), name: "emulated".into(), engine, hw: None };
    let pcm = Pcm::new(card, false, "/dev/snd/pcmC0D0p");
    let limits = Limits::new(5, 3);
    dsp.set_limits(limits.clone());
    pcm.set_limits(limits.clone());
    let wr = libc::O_WRONLY as u32;

    // User 1000: two on /dev/dsp and one on the ALSA node, then no more.
    let a1 = dsp.open(&user(1000), wr).unwrap();
    let _a2 = dsp.open(&user(1000), wr).unwrap();
    let _a3 = pcm.open(&user(1000), wr).unwrap();
    assert_eq!(pcm.open(&user(1000), wr), Err(libc::EBUSY), "a fourth, on either family");
    assert_eq!(dsp.open(&user(1000), wr), Err(libc::EBUSY));
    // Another user still gets in, up to the total of 5.
    let _b1 = pcm.open(&user(1001), wr).unwrap();
    let _b2 = dsp.open(&user(1001), wr).unwrap();
    assert_eq!(dsp.open(&user(1002), wr), Err(libc::EBUSY), "the total is reached");
    // A release gives its place back.
    dsp.release(&user(1000), a1);
    assert_eq!(limits.held(1000), (4, 2));
    let again = pcm.open(&user(1000), wr).unwrap();
    assert_eq!(limits.held(1000), (5, 3));
    pcm.release(&user(1000), again);
}
