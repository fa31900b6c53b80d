//! `outboard`: the daemon and command-line tool (src/main.rs only calls
//! [`main`]; the code is a library so the fuzz harnesses can reach the
//! config file's parser).
//!
//! This is the only place that wires drivers, the mixer and the device node
//! layers together (docs/ARCHITECTURE.md): each command file takes its
//! device from `devices` and uses the crates' APIs, nothing more.

mod bridge_cmd;
mod cli;
pub mod config;
mod demo;
mod devices;
mod hda_cmd;
mod hw_controls;
mod install;
mod list;
mod logging;
mod measure_cmd;
mod pcm_io;
mod probe;
mod serve;
mod signals;
mod usb_cmd;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, ConfigCommand};

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::List(a) => list::run(std::path::Path::new(outboard_hal::pci::sysfs::SYSFS), a.json),
        Command::Info(a) if a.device.is_usb() => usb_cmd::info(a),
        Command::Info(a) => hda_cmd::info(a),
        Command::Play(a) if a.device.is_usb() => usb_cmd::play(a),
        Command::Play(a) => hda_cmd::play(a),
        Command::Record(a) if a.device.is_usb() => usb_cmd::record(a),
        Command::Record(a) => hda_cmd::record(a),
        Command::HdaCodec(a) => hda_cmd::hda_codec(a),
        Command::Serve(a) => serve::run(config::serve_settings(&a.overrides())?),
        Command::Clients(a) => serve::clients(&a.control, a.json),
        Command::Bridge(a) => bridge_cmd::run(a),
        Command::Measure(a) => measure_cmd::run(a),
        Command::Probe(p) => probe::run(p),
        Command::Config(ConfigCommand::Check { file }) => {
            let text = config::check(&file)?;
            println!("# {}: valid; the settings it gives:", file.display());
            print!("{text}");
            Ok(())
        }
        Command::Completions { shell } => {
            std::io::stdout().write_all(&install::completion(shell)).map_err(|e| e.to_string())
        }
        Command::Man { dir: None } => {
            let pages = install::man_pages()?;
            std::io::stdout().write_all(&pages[0].1).map_err(|e| e.to_string())
        }
        Command::Man { dir: Some(dir) } => {
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            for (name, page) in install::man_pages()? {
                let path = dir.join(&name);
                std::fs::write(&path, page).map_err(|e| format!("{}: {e}", path.display()))?;
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Install(a) => install::run(a),
    }
}

/// The command line's entry point.
pub fn main() -> ExitCode {
    logging::init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("outboard: {e}");
            ExitCode::FAILURE
        }
    }
}
