//! The command line, defined once: parsing, `--help`, shell completions and
//! the man page all come from these definitions (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{Overrides, CONTROL_SOCKET};
use crate::devices::{DeviceSpec, HdaSettings, Position, Volume};
use outboard_hal::pci::PciAddress;
use outboard_hal::usb::UsbId;

const DEVICES: &str = "\
Devices:
  0000:00:1b.0      an HDA controller by PCI address (bound to vfio-pci, or add --bind)
  emulated          an emulated ICH9 HDA controller (no hardware, no root)
  usb               the first USB audio device
  usb:46f4:0002     a USB audio device by vendor:product (also without `usb:`)
  usb:3-1           a USB audio device by port (its sysfs name)

Environment:
  RUST_LOG          log filter (error, warn, info, debug, trace, or per module: outboard_uac=debug)
  OUTBOARD_LOG      the same, read when RUST_LOG is unset
  OUTBOARD_USB_QUIRKS  USB quirk overrides: vvvv:pppp:flag+flag,...";

/// Userspace audio drivers for Linux: USB Audio Class and Intel HDA driven from
/// userspace, a software mixer, and OSS device nodes through CUSE.
#[derive(Debug, Parser)]
#[command(name = "outboard", version, after_help = DEVICES, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole stack on an emulated HDA controller: two clients mixed, the result saved and measured
    #[command(after_help = "Examples:\n  outboard demo\n  outboard demo --out /tmp/demo.wav --seconds 5")]
    Demo(DemoArgs),
    /// The sound hardware on this machine and whether Outboard can drive it
    #[command(after_help = "Examples:\n  outboard list\n  outboard list --json")]
    List(ListArgs),
    /// A device as the driver sees it: an HDA controller's codecs, graph and paths, or a USB device's descriptors
    #[command(after_help = format!("Examples:\n  outboard info emulated\n  outboard info --bind 0000:00:1b.0 --json\n  outboard info usb:46f4:0002\n\n{DEVICES}"))]
    Info(InfoArgs),
    /// Play a WAV file through a driver alone (no mixer)
    #[command(after_help = format!("Examples:\n  outboard play emulated song.wav\n  outboard play 0000:00:1b.0 song.wav --period 4096\n  outboard play usb song.wav --volume -6\n\n{DEVICES}"))]
    Play(PlayArgs),
    /// Record a WAV file from a driver alone (no mixer); with --play, full duplex
    #[command(after_help = format!("Examples:\n  outboard record emulated in.wav --seconds 2\n  outboard record usb:1-1 in.wav --seconds 5 --play out.wav\n\n{DEVICES}"))]
    Record(RecordArgs),
    /// Analyse a codec dump (/proc/asound/card*/codec#*, or an alsa-info report) offline
    #[command(
        after_help = "Examples:\n  outboard hda-codec /proc/asound/card0/codec#0\n  outboard hda-codec alsa-info.txt --json\n  outboard hda-codec alsa-info.txt --vs-linux"
    )]
    HdaCodec(HdaCodecArgs),
    /// The daemon: a mixer on each device and its OSS nodes (/dev/dsp, /dev/audio, /dev/mixer, /dev/sndstat) through CUSE
    #[command(after_help = format!(
        "With no DEVICE (here or in the config file) every device found is served: HDA controllers \
         bound to vfio-pci, then USB audio devices. Options here win over the config file.\n\n\
         Examples:\n  outboard serve --bind 0000:00:1b.0\n  outboard serve usb --period 512\n  \
         outboard serve --config /etc/outboard/outboard.toml\n\n{DEVICES}"
    ))]
    Serve(ServeArgs),
    /// Which programs hold the daemon's nodes
    #[command(after_help = "Examples:\n  outboard clients\n  outboard clients --json")]
    Clients(ClientsArgs),
    /// One device's capture played on another, following the drift between their clocks
    #[command(after_help = format!(
        "Examples:\n  outboard bridge usb:1-1 0000:00:1b.0 --bind\n  outboard bridge usb emulated --seconds 30 --report 5\n\n{DEVICES}"
    ))]
    Bridge(BridgeArgs),
    /// Measure a device: its output cabled to its input (or into a second device), tested and reported
    #[command(after_help = format!(
        "Tests (--tests, comma-separated; default all but drift, and drift too with --to):\n  \
         latency, channels, response, thd, noise, glitch, drift\n\n\
         Examples:\n  outboard measure usb:1-1\n  \
         outboard measure 0000:00:1b.0 --bind --tests response,thd --report /tmp/report\n  \
         outboard measure usb:1-1 --to usb:1-2 --tests latency,drift --json out.json\n  \
         outboard measure emulated-loopback:delay=123,gain=-0.5,hd3=-80,noise=-105 --limits limits.toml\n\n\
         Besides the devices below, `emulated-loopback[:NAME=VALUE,...]` is an emulated card whose outputs \
         reach its inputs through the impairments named (delay, gain, hd3, noise, crosstalk, lowpass, \
         glitch, drift: docs/measure.md).\n\n{DEVICES}"
    ))]
    Measure(MeasureArgs),
    /// Exercise the hardware access layer against a real device
    #[command(subcommand)]
    Probe(ProbeCommand),
    /// Check a config file and print the settings it gives
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  outboard completions bash > /usr/share/bash-completion/completions/outboard\n  \
                            outboard completions zsh > /usr/share/zsh/site-functions/_outboard"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into a directory
    #[command(after_help = "Examples:\n  outboard man | man -l -\n  outboard man --dir /usr/local/share/man/man1")]
    Man {
        /// Write outboard.1 and outboard-COMMAND.1 into this directory
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Put the binary, systemd unit, udev rules, man pages and completions in place
    #[command(
        after_help = "Examples:\n  outboard install\n  outboard install --prefix /usr --destdir /tmp/pkgroot\n  \
                            outboard install --dry-run"
    )]
    Install(InstallArgs),
}

/// How an HDA controller is opened.
#[derive(Clone, Debug, Default, Args)]
pub struct HdaArgs {
    /// Bind the HDA controller to vfio-pci first (needs root)
    #[arg(long)]
    pub bind: bool,
    /// Pin configuration overrides, for pins the BIOS got wrong (lines `NID 0xCONFIG`)
    #[arg(long, value_name = "FILE")]
    pub pin_config: Option<PathBuf>,
    /// Where the stream position is read from
    #[arg(long, value_enum, value_name = "SOURCE")]
    pub position: Option<Position>,
}

impl HdaArgs {
    /// How these options open an HDA controller.
    pub fn settings(&self) -> HdaSettings {
        HdaSettings {
            bind: self.bind,
            pin_config: self.pin_config.clone(),
            position: self.position.unwrap_or_default(),
            hints: Default::default(),
        }
    }
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to save what the emulated codec received
    #[arg(long, value_name = "FILE.wav", default_value = "outboard-demo.wav")]
    pub out: PathBuf,
    /// How long to play (0.5-60)
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    pub device: DeviceSpec,
    #[command(flatten)]
    pub hda: HdaArgs,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

/// A driver's ring, for the commands that stream without the mixer.
#[derive(Clone, Copy, Debug, Args)]
pub struct RingArgs {
    /// Frames per period
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(16..=65536))]
    pub period: u32,
    /// Periods in the ring
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(2..=64))]
    pub periods: u32,
}

#[derive(Debug, Args)]
pub struct PlayArgs {
    pub device: DeviceSpec,
    pub file: PathBuf,
    #[command(flatten)]
    pub ring: RingArgs,
    /// USB: set every feature unit on the path: `max` or dB
    #[arg(long, value_name = "max|DB", allow_hyphen_values = true)]
    pub volume: Option<Volume>,
    #[command(flatten)]
    pub hda: HdaArgs,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    pub device: DeviceSpec,
    pub file: PathBuf,
    /// How long to record (0.01-3600)
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Sample rate
    #[arg(long, default_value_t = 48_000, value_parser = clap::value_parser!(u32).range(1000..=768_000))]
    pub rate: u32,
    /// Bits per sample (HDA: 16 by default; USB: the deepest the device offers)
    #[arg(long)]
    pub bits: Option<u16>,
    /// Channels (HDA: 2 by default; USB: stereo if offered)
    #[arg(long)]
    pub channels: Option<u16>,
    #[command(flatten)]
    pub ring: RingArgs,
    /// USB: set every feature unit on the capture path: `max` or dB
    #[arg(long, value_name = "max|DB", allow_hyphen_values = true)]
    pub volume: Option<Volume>,
    /// Play this file at the same time (full duplex)
    #[arg(long, value_name = "FILE.wav")]
    pub play: Option<PathBuf>,
    #[command(flatten)]
    pub hda: HdaArgs,
}

#[derive(Debug, Args)]
pub struct HdaCodecArgs {
    pub file: PathBuf,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
    /// Pin configuration overrides (lines `NID 0xCONFIG`)
    #[arg(long, value_name = "FILE")]
    pub pin_config: Option<PathBuf>,
    /// Compare the output paths with the state Linux left in the dump, pin
    /// by pin (exit status 1 when they differ)
    #[arg(long)]
    pub vs_linux: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Devices to serve (default: the config file's, else every one found)
    pub devices: Vec<DeviceSpec>,
    /// Settings from this file (docs/oss.md); options given here win
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub hda: HdaArgs,
    /// Base name of the nodes: `dsp` (the default) gives /dev/dsp, /dev/audio, /dev/mixer and
    /// /dev/sndstat; another NAME gives /dev/NAME, /dev/audio-NAME, /dev/mixer-NAME
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The devices' rate
    #[arg(long, value_parser = clap::value_parser!(u32).range(8000..=192_000))]
    pub rate: Option<u32>,
    /// Frames per period
    #[arg(long, value_parser = clap::value_parser!(u32).range(16..=65536))]
    pub period: Option<u32>,
    /// Periods in the device's ring
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=64))]
    pub periods: Option<u32>,
    /// USB: set the playback path's feature units at start: `max` or dB
    #[arg(long, value_name = "max|DB", allow_hyphen_values = true)]
    pub hw_volume: Option<Volume>,
    /// Group owning the nodes
    #[arg(long)]
    pub group: Option<String>,
    /// The nodes' mode, octal (no world-writable or set-id bits)
    #[arg(long, value_name = "OCTAL")]
    pub mode: Option<String>,
    /// Where `outboard clients` asks
    #[arg(long, value_name = "SOCKET")]
    pub control: Option<PathBuf>,
    /// Audio opens the daemon takes in all (EBUSY beyond; default 256)
    #[arg(long, value_name = "N")]
    pub max_clients: Option<usize>,
    /// Audio opens one user may hold (EBUSY beyond; default 32)
    #[arg(long, value_name = "N")]
    pub max_clients_per_user: Option<usize>,
    /// Seconds with no client before a device's DMA stops (0: never; default 5)
    #[arg(long, value_name = "SECONDS")]
    pub idle_stop: Option<u32>,
    /// The user the daemon becomes once its devices are open (default `outboard`, else
    /// `nobody`; `root` stays root)
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
}

impl ServeArgs {
    /// What the command line says, to lay over the config file.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            devices: self.devices.clone(),
            config: self.config.clone(),
            bind: self.hda.bind,
            pin_config: self.hda.pin_config.clone(),
            position: self.hda.position,
            name: self.name.clone(),
            rate: self.rate,
            period: self.period,
            periods: self.periods,
            hw_volume: self.hw_volume,
            group: self.group.clone(),
            mode: self.mode.clone(),
            control: self.control.clone(),
            max_clients: self.max_clients,
            max_clients_per_user: self.max_clients_per_user,
            idle_stop: self.idle_stop,
            user: self.user.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct ClientsArgs {
    /// The daemon's control socket
    #[arg(long, value_name = "SOCKET", default_value = CONTROL_SOCKET)]
    pub control: PathBuf,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BridgeArgs {
    pub from: DeviceSpec,
    pub to: DeviceSpec,
    /// Stop after this long (0.1-86400; default: at SIGTERM or SIGINT)
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Frames held between the devices (default: twice both periods)
    #[arg(long, value_parser = clap::value_parser!(u32).range(16..=1 << 20))]
    pub target: Option<u32>,
    /// Sample rate
    #[arg(long, default_value_t = 48_000, value_parser = clap::value_parser!(u32).range(8000..=192_000))]
    pub rate: u32,
    /// Frames per period
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(16..=65536))]
    pub period: u32,
    /// Periods in each device's ring
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(2..=64))]
    pub periods: u32,
    /// Print the drift loop's readings this often (0.1-3600 seconds)
    #[arg(long, default_value_t = 1.0, value_name = "SECS")]
    pub report: f64,
    #[command(flatten)]
    pub hda: HdaArgs,
}

#[derive(Debug, Args)]
pub struct MeasureArgs {
    /// The device that plays (and records, without --to)
    pub device: crate::measure_cmd::MeasureDevice,
    /// Record on this device instead (its clock's drift from DEVICE's is measured and followed)
    #[arg(long, value_name = "DEVICE")]
    pub to: Option<crate::measure_cmd::MeasureDevice>,
    /// The tests to run, comma-separated
    #[arg(long, value_name = "LIST")]
    pub tests: Option<String>,
    /// A TOML file of limits on the figures: the exit status is 0 only when every one holds
    #[arg(long, value_name = "FILE")]
    pub limits: Option<PathBuf>,
    /// Write every figure, curve and verdict as JSON
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write an HTML report with its plots (SVG) into this directory
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Sample rate
    #[arg(long, default_value_t = 48_000, value_parser = clap::value_parser!(u32).range(8000..=192_000))]
    pub rate: u32,
    /// Bits per sample (default: 32 where the device takes it, else 16; USB: the deepest it offers)
    #[arg(long)]
    pub bits: Option<u16>,
    /// Channels (default 2)
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub channels: Option<u16>,
    /// Frames per period
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(16..=65536))]
    pub period: u32,
    /// Periods in each ring
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(2..=64))]
    pub periods: u32,
    /// Latency runs, for its stability (1-100)
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeats: u32,
    /// The THD tone's level, dBFS (-60 to 0)
    #[arg(long, default_value_t = -3.0, allow_hyphen_values = true)]
    pub level: f64,
    /// The sweep's length, seconds (0.5-60)
    #[arg(long, default_value_t = 3.0)]
    pub sweep_seconds: f64,
    /// The glitch test's tone, seconds (1-86400)
    #[arg(long, default_value_t = 10.0)]
    pub glitch_seconds: f64,
    /// The drift test's tone, seconds (1-3600)
    #[arg(long, default_value_t = 10.0)]
    pub drift_seconds: f64,
    /// The longest round trip to look for, seconds (0.01-10)
    #[arg(long, default_value_t = 1.0)]
    pub max_latency: f64,
    /// USB: set every feature unit on the paths: `max` or dB
    #[arg(long, value_name = "max|DB", allow_hyphen_values = true)]
    pub volume: Option<Volume>,
    #[command(flatten)]
    pub hda: HdaArgs,
}

#[derive(Debug, Subcommand)]
pub enum ProbeCommand {
    /// Bring up an HDA controller through VFIO: reset, codec round trips, stream interrupts
    #[command(after_help = "Examples:\n  outboard probe vfio --bind 0000:00:1b.0")]
    Vfio {
        /// Bind it to vfio-pci first
        #[arg(long)]
        bind: bool,
        /// Stream interrupts to count
        #[arg(long, default_value_t = 3)]
        interrupts: u64,
        /// The controller (default: the first HDA controller)
        address: Option<PciAddress>,
    },
    /// Stream a known signal to a USB audio device's isochronous endpoint
    #[command(after_help = "Examples:\n  outboard probe usbfs --id 46f4:0002 --interface 1 --alt 1 --seconds 2")]
    Usbfs {
        /// The device
        #[arg(long, default_value = "46f4:0002")]
        id: UsbId,
        /// Streaming interface (decimal or 0x hex)
        #[arg(long, default_value = "1", value_parser = parse_u8)]
        interface: u8,
        /// Alt setting
        #[arg(long, default_value = "1", value_parser = parse_u8)]
        alt: u8,
        /// A feature unit to set to its maximum volume first
        #[arg(long, value_parser = parse_u8, value_name = "ID")]
        volume_unit: Option<u8>,
        /// How long to stream (0.01-600)
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
        /// Write what was sent to this file (raw)
        #[arg(long, value_name = "FILE")]
        sent: Option<PathBuf>,
        /// URBs in flight (1-32)
        #[arg(long, default_value_t = 4)]
        urbs: usize,
        /// Packets per URB (1-128)
        #[arg(long, default_value_t = 8)]
        packets: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config file and print the effective settings
    #[command(after_help = "Examples:\n  outboard config check /etc/outboard/outboard.toml")]
    Check { file: PathBuf },
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Installation prefix (binary in PREFIX/bin, man pages in PREFIX/share/man)
    #[arg(long, default_value = "/usr/local", value_name = "DIR")]
    pub prefix: PathBuf,
    /// Stage everything under this directory instead of / (for packaging)
    #[arg(long, value_name = "DIR")]
    pub destdir: Option<PathBuf>,
    /// Say what would be written, write nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// A number written in decimal or as 0x-prefixed hex.
pub fn parse_u8(text: &str) -> Result<u8, String> {
    let r = match text.strip_prefix("0x") {
        Some(h) => u8::from_str_radix(h, 16),
        None => text.parse(),
    };
    r.map_err(|e| format!("`{text}`: {e} (a number 0-255, decimal or 0x hex)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn options_parse_and_bad_values_name_the_option() {
        let cli = Cli::try_parse_from(["outboard", "play", "emulated", "x.wav", "--period", "4096", "--bind"]).unwrap();
        let Command::Play(p) = cli.command else { panic!("not play") };
        assert_eq!((p.ring.period, p.ring.periods, p.hda.bind), (4096, 4, true));
        assert_eq!(p.device, DeviceSpec::Emulated);
        let err = Cli::try_parse_from(["outboard", "play", "emulated", "x.wav", "--period", "7"]).unwrap_err();
        assert!(err.to_string().contains("--period"), "{err}");
        let err = Cli::try_parse_from(["outboard", "play", "0000:00:1f.9", "x.wav"]).unwrap_err();
        assert!(err.to_string().contains("DEVICE"), "{err}");
        assert_eq!(parse_u8("0x81").unwrap(), 0x81);
        assert!(parse_u8("0x181").is_err());
        let cli = Cli::try_parse_from(["outboard", "play", "usb", "x.wav", "--volume", "-6.5"]).unwrap();
        let Command::Play(p) = cli.command else { panic!("not play") };
        assert_eq!(p.volume, Some(Volume::Db(-6.5)));
    }
}
