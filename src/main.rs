//! `outboard`: the daemon and command-line tool.
//!
//! This binary is the only place that wires drivers, the mixer and the device
//! node layers together (docs/ARCHITECTURE.md).

mod args;
mod demo;
mod list;
mod logger;
mod probe;

use std::process::ExitCode;

const USAGE: &str = "\
usage: outboard COMMAND [ARGS]

commands:
  demo [--out FILE.wav]      play through the HDA driver on emulated hardware; save and check what came out
  list                       sound hardware on this machine and whether Outboard can drive it
  probe vfio [--bind] [ADDR] bring up an HDA controller through VFIO: reset, codec round trips, interrupts
  probe usbfs [--id VID:PID] stream a known signal to a USB audio device's isochronous endpoint
  help                       this text

environment: OUTBOARD_LOG=error|warn|info|debug|trace";

fn main() -> ExitCode {
    logger::init();
    let mut argv = std::env::args().skip(1);
    let command = argv.next();
    let args = args::Args::new(argv);
    let result = match command.as_deref() {
        Some("list") => args.finish().and_then(|()| list::run(std::path::Path::new(outboard_hal::pci::sysfs::SYSFS))),
        Some("probe") => probe::run(args),
        Some("demo") => demo::run(args),
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
