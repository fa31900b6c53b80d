//! `outboard serve`: the daemon. Brings up a device, runs the mixer engine on
//! it, and serves the OSS `/dev/dsp` node through CUSE until SIGTERM or
//! SIGINT, then removes the node and leaves the device quiet.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use outboard_cuse::{DeviceInfo, Server};
use outboard_hal::pcm::{Direction, PcmConfig, SampleFormat};
use outboard_mixer::engine::Engine;
use outboard_oss::dsp::Dsp;

use crate::args::Args;
use crate::hda_cmd::{device_options, open_device};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// SIGTERM and SIGINT set STOP and interrupt the blocking read on /dev/cuse
/// (no SA_RESTART), so the loop sees it and shuts down in order.
fn catch_signals() -> Result<(), String> {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: a zeroed sigaction is valid to fill in; the handler only
        // stores to an atomic, which is async-signal-safe.
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = 0;
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(format!("installing a signal handler: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// `outboard serve DEVICE [--bind] [--name dsp] [--rate 48000] [--period 1024]`
pub fn run(mut args: Args) -> Result<(), String> {
    let bind = args.flag("--bind");
    let options = device_options(&mut args)?;
    let name: String = args.option("--name")?.unwrap_or_else(|| "dsp".to_string());
    let rate: u32 = args.option("--rate")?.unwrap_or(48_000);
    let period: usize = args.option("--period")?.unwrap_or(1024);
    let device =
        args.positional().ok_or("usage: outboard serve DEVICE [--bind] [--name dsp] [--rate HZ] [--period FRAMES]")?;
    args.finish()?;
    catch_signals()?;

    let (dev, _emu) = open_device(&device, bind, &options)?;
    let cfg = PcmConfig { format: SampleFormat::S16Le, rate, channels: 2, period_frames: period, periods: 4 };
    let pcm = dev.open_pcm(Direction::Playback, cfg).map_err(|e| e.to_string())?;
    let engine = Arc::new(Engine::start(Box::new(pcm)).map_err(|e| e.to_string())?);
    let server =
        Server::create(&DeviceInfo { name: name.clone(), major: 0, minor: 0 }, Arc::new(Dsp::new(engine.clone())))
            .map_err(|e| format!("creating /dev/{name}: {e}"))?;
    println!("serving /dev/{name} on {} ({rate} Hz, 16-bit stereo, {period}-frame periods)", dev.name());
    let result = server.run(&STOP).map_err(|e| format!("/dev/{name}: {e}"));
    drop(server); // the node goes away with /dev/cuse's descriptor
    if let Ok(engine) = Arc::try_unwrap(engine) {
        drop(engine.stop());
    }
    drop(dev); // streams stopped, controller in reset: quiet
    println!("stopped: /dev/{name} removed, {} left quiet", device);
    result
}
