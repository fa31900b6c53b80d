//! `outboard`: the daemon and command-line tool.
//!
//! This binary is the only place that wires drivers, the mixer and the device
//! node layers together (docs/ARCHITECTURE.md).

mod args;
mod bridge_cmd;
mod config;
mod demo;
mod hda_cmd;
mod hw_controls;
mod list;
mod logger;
mod pcm_io;
mod probe;
mod serve;
mod usb_cmd;

use std::process::ExitCode;

const USAGE: &str = "\
usage: outboard COMMAND [ARGS]

commands:
  demo [--out FILE.wav]      play through the HDA driver on emulated hardware; save and check what came out
  info DEVICE [--bind]       an HDA controller's codecs, their graph and the paths the driver uses
  play DEVICE FILE.wav       play a WAV file through the driver alone (no mixer)
  record DEVICE FILE.wav [--seconds N] [--rate R] [--bits B] [--channels C]
                             record from the driver alone
  hda-codec FILE [--json]    parse a codec dump (/proc/asound/card*/codec#*, alsa-info) and show the paths
  serve DEVICE [--config F]  the daemon: the mixer on DEVICE and an OSS /dev/dsp through CUSE (SIGTERM stops it)
  bridge FROM TO [--seconds N] [--target FRAMES] [--rate R] [--period N] [--periods N] [--report SECS]
                             FROM's capture played on TO, following the drift between their clocks;
                             prints the drift loop's readings and, at the end (--seconds or SIGTERM), its stats
  clients                    which programs hold the daemon's nodes: pid, program, mode, format, state, xruns
  list                       sound hardware on this machine and whether Outboard can drive it
  probe vfio [--bind] [ADDR] bring up an HDA controller through VFIO: reset, codec round trips, interrupts
  probe usbfs [--id VID:PID] stream a known signal to a USB audio device's isochronous endpoint
  help                       this text

DEVICE: an HDA controller's PCI address (bound to vfio-pci, or add --bind), or `emulated`;
        or a USB audio device: `usb` (the first), `usb:VID:PID`, `VID:PID` or `usb:PORT` (e.g. usb:3-1).
        USB play/record take --volume max|DB (every feature unit on the path); quirk overrides
        come from OUTBOARD_USB_QUIRKS=vvvv:pppp:flag+flag,...

environment: OUTBOARD_LOG=error|warn|info|debug|trace";

/// Whether the command's DEVICE names a USB device.
fn usb(args: &args::Args) -> bool {
    args.peek_positional().is_some_and(usb_cmd::is_usb_spec)
}

fn main() -> ExitCode {
    logger::init();
    let mut argv = std::env::args().skip(1);
    let command = argv.next();
    let args = args::Args::new(argv);
    let result = match command.as_deref() {
        Some("list") => args.finish().and_then(|()| list::run(std::path::Path::new(outboard_hal::pci::sysfs::SYSFS))),
        Some("probe") => probe::run(args),
        Some("demo") => demo::run(args),
        Some("info") if usb(&args) => usb_cmd::info(args),
        Some("play") if usb(&args) => usb_cmd::play(args),
        Some("record") if usb(&args) => usb_cmd::record(args),
        Some("info") => hda_cmd::info(args),
        Some("play") => hda_cmd::play(args),
        Some("record") => hda_cmd::record(args),
        Some("hda-codec") => hda_cmd::hda_codec(args),
        Some("serve") => serve::run(args),
        Some("clients") => serve::clients(args),
        Some("bridge") => bridge_cmd::run(args),
        Some("help") | Some("--help") | Some("-h") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n{USAGE}")),
        None => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("outboard: {e}");
            ExitCode::FAILURE
        }
    }
}
