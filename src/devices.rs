//! Devices: how the command line and the config name them, how they are
//! found and opened. Every command gets its device here and nowhere else.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use outboard_emu::hda::{emulated_hda, HdaEmulator};
use outboard_hal::pci::{config as pci_config, sysfs as pci_sysfs, vfio::VfioPci, PciAddress, PciDevice};
use outboard_hal::pcm::{Direction, PcmConfig, PcmStream, SampleFormat};
use outboard_hal::usb::{sysfs as usb_sysfs, usbfs::UsbfsDevice, UsbDevice, UsbId};
use outboard_hda::codec::pin::parse_overrides;
use outboard_hda::device::{HdaDevice, HdaOptions, PositionSource};
use outboard_oss::hw::HwControls;
use outboard_uac::device::StreamRequest;
use outboard_uac::{quirks, UacDevice};

use crate::hw_controls::{HdaControls, UacControls};

/// A device as a user names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceSpec {
    /// The emulated ICH9 HDA controller (a new one each time).
    Emulated,
    /// An HDA controller by PCI address.
    Pci(PciAddress),
    /// The first USB audio device.
    UsbFirst,
    /// A USB device by vendor:product.
    UsbId(UsbId),
    /// A USB device by port (its sysfs name, e.g. `3-1`).
    UsbPort(String),
}

impl DeviceSpec {
    pub fn is_usb(&self) -> bool {
        matches!(self, DeviceSpec::UsbFirst | DeviceSpec::UsbId(_) | DeviceSpec::UsbPort(_))
    }
}

impl FromStr for DeviceSpec {
    type Err = String;
    fn from_str(text: &str) -> Result<DeviceSpec, String> {
        let text = text.trim();
        if text == "emulated" {
            return Ok(DeviceSpec::Emulated);
        }
        if text == "usb" {
            return Ok(DeviceSpec::UsbFirst);
        }
        if let Some(rest) = text.strip_prefix("usb:") {
            if let Ok(id) = rest.parse::<UsbId>() {
                return Ok(DeviceSpec::UsbId(id));
            }
            let port_like = !rest.is_empty()
                && rest.split(['-', '.']).all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            if port_like && rest.contains('-') {
                return Ok(DeviceSpec::UsbPort(rest.to_string()));
            }
            return Err(format!("`{text}`: after `usb:` give vendor:product (46f4:0002) or a port (3-1)"));
        }
        if let Ok(id) = text.parse::<UsbId>() {
            return Ok(DeviceSpec::UsbId(id));
        }
        text.parse::<PciAddress>().map(DeviceSpec::Pci).map_err(|_| {
            format!(
                "`{text}` is not a device: give a PCI address (0000:00:1b.0), `emulated`, `usb`, \
                 usb:VID:PID or usb:PORT (`outboard list` shows what there is)"
            )
        })
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Emulated => f.write_str("emulated"),
            DeviceSpec::Pci(a) => write!(f, "{a}"),
            DeviceSpec::UsbFirst => f.write_str("usb"),
            DeviceSpec::UsbId(id) => write!(f, "usb:{id}"),
            DeviceSpec::UsbPort(p) => write!(f, "usb:{p}"),
        }
    }
}

/// A USB volume setting: the maximum, or dB.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Volume {
    Max,
    Db(f64),
}

impl FromStr for Volume {
    type Err = String;
    fn from_str(text: &str) -> Result<Volume, String> {
        if text.trim() == "max" {
            return Ok(Volume::Max);
        }
        match text.trim().parse::<f64>() {
            Ok(db) if db.is_finite() && (-128.0..=128.0).contains(&db) => Ok(Volume::Db(db)),
            _ => Err(format!("`{text}`: expected `max` or a level in dB (-128 to 128)")),
        }
    }
}

impl fmt::Display for Volume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Volume::Max => f.write_str("max"),
            Volume::Db(db) => write!(f, "{db}"),
        }
    }
}

/// Where an HDA stream's position is read from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    /// The stream's link position register (SDnLPIB)
    #[default]
    Lpib,
    /// The DMA position buffer the controller writes
    Posbuf,
}

/// How an HDA controller is opened.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HdaSettings {
    pub bind: bool,
    pub pin_config: Option<PathBuf>,
    pub position: Position,
    /// Codec hints (the config file's `hints`).
    pub hints: outboard_hda::codec::hints::HintSettings,
}

impl HdaSettings {
    /// The driver's options: the pin overrides read from their file.
    pub fn options(&self) -> Result<HdaOptions, String> {
        let mut options = HdaOptions::default();
        if let Some(file) = &self.pin_config {
            options.pin_overrides = read_pin_overrides(file)?;
        }
        options.hints = self.hints.clone();
        options.position = match self.position {
            Position::Lpib => PositionSource::Lpib,
            Position::Posbuf => PositionSource::PositionBuffer,
        };
        Ok(options)
    }
}

/// A pin-config override file.
pub fn read_pin_overrides(file: &Path) -> Result<Vec<outboard_hda::codec::pin::PinOverride>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    parse_overrides(&text).map_err(|e| format!("{}: {e}", file.display()))
}

/// An opened HDA controller, and the emulator behind it when it is `emulated`
/// (kept alive with it).
pub struct Hda {
    pub dev: HdaDevice,
    pub emulator: Option<Arc<HdaEmulator>>,
}

/// Open an HDA controller: `emulated`, or a PCI address (bound to vfio-pci,
/// or bound on the spot with `bind`).
pub fn open_hda(spec: &DeviceSpec, settings: &HdaSettings) -> Result<Hda, String> {
    let options = settings.options()?;
    match spec {
        DeviceSpec::Emulated => {
            let hw = emulated_hda();
            hw.emu.start_clock();
            let dev = HdaDevice::open_with(hw.pci.clone(), &options).map_err(|e| e.to_string())?;
            Ok(Hda { dev, emulator: Some(hw.emu) })
        }
        DeviceSpec::Pci(addr) => {
            if settings.bind {
                pci_sysfs::bind_vfio(Path::new(pci_sysfs::SYSFS), addr, Duration::from_secs(5))
                    .map_err(|e| e.to_string())?;
            }
            let pci: Arc<dyn PciDevice> = Arc::new(VfioPci::open(addr).map_err(|e| e.to_string())?);
            Ok(Hda { dev: HdaDevice::open_with(pci, &options).map_err(|e| e.to_string())?, emulator: None })
        }
        usb => Err(format!("{usb} is a USB device, not an HDA controller")),
    }
}

/// Quirk overrides from `OUTBOARD_USB_QUIRKS` (`vvvv:pppp:FLAGS,...`).
fn quirk_overrides() -> Result<Vec<quirks::QuirkOverride>, String> {
    match std::env::var("OUTBOARD_USB_QUIRKS") {
        Ok(text) => quirks::parse_overrides(&text).map_err(|e| format!("OUTBOARD_USB_QUIRKS: {e}")),
        Err(_) => Ok(Vec::new()),
    }
}

/// Find and open a USB audio device through usbfs.
pub fn open_usb(spec: &DeviceSpec) -> Result<UacDevice, String> {
    let root = Path::new(pci_sysfs::SYSFS);
    let all = usb_sysfs::list(root).map_err(|e| e.to_string())?;
    let hint = "(`outboard list` shows what there is)";
    let info = match spec {
        DeviceSpec::UsbFirst => {
            all.into_iter().find(|d| d.is_audio()).ok_or_else(|| format!("no USB audio device found {hint}"))?
        }
        DeviceSpec::UsbId(id) => {
            all.into_iter().find(|d| d.id == *id).ok_or_else(|| format!("no USB device with id {id} {hint}"))?
        }
        DeviceSpec::UsbPort(port) => {
            all.into_iter().find(|d| d.port == *port).ok_or_else(|| format!("no USB device at port {port} {hint}"))?
        }
        other => return Err(format!("{other} is not a USB device")),
    };
    let usb: Arc<dyn UsbDevice> = Arc::new(UsbfsDevice::open_info(&info).map_err(|e| e.to_string())?);
    UacDevice::open(usb, &quirk_overrides()?).map_err(|e| e.to_string())
}

/// Set every feature unit on a USB stream's path to `volume` (clamped to its
/// range) and unmute it; says what it did.
pub fn apply_usb_volume(dev: &UacDevice, direction: Direction, volume: Option<Volume>) -> Result<(), String> {
    let Some(v) = volume else { return Ok(()) };
    let controls = dev.feature_controls(direction);
    if controls.is_empty() {
        println!("no volume control on this path");
    }
    for fc in &controls {
        let db = match (v, fc.range) {
            (Volume::Max, Some(r)) => f64::from(r.max) / 256.0,
            (Volume::Max, None) => 127.0,
            (Volume::Db(db), _) => db,
        };
        dev.set_unit_volume_db(fc, db).map_err(|e| e.to_string())?;
        println!("volume: feature unit {} set to {db:.2} dB (clamped to its range), unmuted", fc.unit);
    }
    Ok(())
}

/// The devices to serve when none is named: HDA controllers bound to
/// vfio-pci, then USB audio devices.
pub fn discover() -> Result<Vec<DeviceSpec>, String> {
    let root = Path::new(pci_sysfs::SYSFS);
    let mut found: Vec<DeviceSpec> = pci_sysfs::list(root)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|d| d.class_subclass() == pci_config::CLASS_HDA && d.driver.as_deref() == Some("vfio-pci"))
        .map(|d| DeviceSpec::Pci(d.address))
        .collect();
    found.extend(
        usb_sysfs::list(root)
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|d| d.is_audio())
            .map(|d| DeviceSpec::UsbPort(d.port)),
    );
    if found.is_empty() {
        return Err(
            "no device to serve: no HDA controller is bound to vfio-pci and no USB audio device is plugged in \
             (`outboard list` shows what there is; name a device, or `emulated`)"
                .into(),
        );
    }
    Ok(found)
}

/// What a mixer engine runs on: a device's streams, what must stay alive
/// (and be dropped last) for them to run, and the device's own controls.
pub struct Streams {
    pub name: String,
    pub playback: Box<dyn PcmStream>,
    pub capture: Option<Box<dyn PcmStream>>,
    pub keep: Box<dyn std::any::Any>,
    /// The device's own mixer controls, for mixer nodes.
    pub hw: Option<Arc<dyn HwControls>>,
}

/// The stream shape an engine wants of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamShape {
    pub rate: u32,
    pub period: usize,
    pub periods: usize,
}

/// Open a device's playback stream, and its capture stream if it has one, in
/// 16-bit stereo of `shape`, for a mixer engine. `hw_volume` (USB) sets the
/// playback path's feature units first.
pub fn open_streams(
    spec: &DeviceSpec,
    hda: &HdaSettings,
    shape: StreamShape,
    hw_volume: Option<Volume>,
) -> Result<Streams, String> {
    if spec.is_usb() {
        let dev = Arc::new(open_usb(spec)?);
        apply_usb_volume(&dev, Direction::Playback, hw_volume)?;
        let req = StreamRequest {
            rate: shape.rate,
            channels: Some(2),
            format: None,
            period_frames: shape.period,
            periods: shape.periods,
        };
        let playback = dev.open_stream(Direction::Playback, req, None).map_err(|e| e.to_string())?;
        let capture = match dev.open_stream(Direction::Capture, req, None) {
            Ok(c) => Some(Box::new(c) as Box<dyn PcmStream>),
            Err(e) => {
                log::info!("{}: no capture ({e}); playback only", dev.name());
                None
            }
        };
        let hw: Arc<dyn HwControls> = Arc::new(UacControls::new(dev.clone()));
        return Ok(Streams {
            name: dev.name().to_string(),
            playback: Box::new(playback),
            capture,
            keep: Box::new(dev),
            hw: Some(hw),
        });
    }
    if hw_volume.is_some() {
        return Err("the hardware volume setting applies to USB devices only (HDA amps are set by the driver's \
                    path setup)"
            .into());
    }
    let Hda { dev, emulator } = open_hda(spec, hda)?;
    let dev = Arc::new(dev);
    let cfg = PcmConfig {
        format: SampleFormat::S16Le,
        rate: shape.rate,
        channels: 2,
        period_frames: shape.period,
        periods: shape.periods,
    };
    let playback = dev.open_pcm(Direction::Playback, cfg).map_err(|e| e.to_string())?;
    let capture = match dev.open_pcm(Direction::Capture, cfg) {
        Ok(c) => Some(Box::new(c) as Box<dyn PcmStream>),
        Err(e) => {
            log::info!("{}: no capture ({e}); playback only", dev.name());
            None
        }
    };
    let hw = match HdaControls::new(dev.clone()) {
        Ok(c) => Some(Arc::new(c) as Arc<dyn HwControls>),
        Err(e) => {
            log::warn!("{}: no mixer controls ({e}); mixer nodes set the master gain only", dev.name());
            None
        }
    };
    Ok(Streams {
        name: dev.name().to_string(),
        playback: Box::new(playback),
        capture,
        keep: Box::new((dev, emulator)),
        hw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_parse_and_print_back() {
        for (text, spec) in [
            ("emulated", DeviceSpec::Emulated),
            ("usb", DeviceSpec::UsbFirst),
            ("usb:46f4:0002", DeviceSpec::UsbId(UsbId { vendor: 0x46f4, product: 2 })),
            ("46f4:0002", DeviceSpec::UsbId(UsbId { vendor: 0x46f4, product: 2 })),
            ("usb:3-1.2", DeviceSpec::UsbPort("3-1.2".into())),
            ("0000:00:1b.0", DeviceSpec::Pci("0000:00:1b.0".parse().unwrap())),
        ] {
            assert_eq!(text.parse::<DeviceSpec>().unwrap(), spec, "{text}");
        }
        assert_eq!("46f4:0002".parse::<DeviceSpec>().unwrap().to_string(), "usb:46f4:0002");
        for bad in ["0000:00:1f.9", "usb:x", "usb:", "speaker"] {
            let e = bad.parse::<DeviceSpec>().unwrap_err();
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn volumes_parse() {
        assert_eq!("max".parse::<Volume>().unwrap(), Volume::Max);
        assert_eq!("-6".parse::<Volume>().unwrap(), Volume::Db(-6.0));
        assert!("loud".parse::<Volume>().unwrap_err().contains("`loud`"));
        assert!("NaN".parse::<Volume>().is_err());
        assert!("1000".parse::<Volume>().is_err());
    }
}
