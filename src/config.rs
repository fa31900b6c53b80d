//! The daemon's configuration file (TOML), and the effective settings it and
//! the command line give together.
//!
//! ```toml
//! # Global settings: every device takes these unless its table says otherwise.
//! rate = 48000
//! period = 1024             # frames
//! periods = 4
//! node = "dsp"              # /dev/dsp (and /dev/audio, /dev/mixer, /dev/sndstat)
//! group = "audio"
//! mode = "0660"
//! control = "/run/outboard.sock"
//! user = "outboard"         # who the daemon becomes once its devices are open
//!
//! # One table per device (in the order given; the first is the default
//! # /dev/dsp). With no table and no `device`, every device found is served.
//! [devices.onboard]
//! device = "0000:00:1b.0"   # a PCI address, "emulated", "usb", "usb:46f4:0002", "usb:1-1"
//! bind = true               # bind it to vfio-pci first
//! pin_config = "/etc/outboard/pins"
//! hints = { indep_hp = true, auto_mute = false }  # HDA codec hints (docs/hda.md)
//! number = 0                # its numbered nodes: /dev/dsp0, /dev/audio0, /dev/mixer0
//!
//! [devices.headset]
//! device = "usb:0d8c:0014"
//! period = 512
//! hw_volume = "max"         # USB: the playback path's feature units at start (max or dB)
//! ```
//!
//! The flat files of earlier versions (`device = "0000:00:1b.0, usb"` and
//! the global keys) still read as they did. Unknown keys, wrong types and
//! values out of range are errors naming the line, or the device table and
//! key: a typo in a daemon's config is never silently ignored.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use outboard_hda::codec::hints::HintSettings;

use crate::devices::{DeviceSpec, HdaSettings, Position, StreamShape, Volume};

/// Where `outboard serve` answers `outboard clients`.
pub const CONTROL_SOCKET: &str = "/run/outboard.sock";

/// What the command line says, laid over the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub devices: Vec<DeviceSpec>,
    pub config: Option<PathBuf>,
    pub bind: bool,
    pub pin_config: Option<PathBuf>,
    pub position: Option<Position>,
    pub name: Option<String>,
    pub rate: Option<u32>,
    pub period: Option<u32>,
    pub periods: Option<u32>,
    pub hw_volume: Option<Volume>,
    pub group: Option<String>,
    pub mode: Option<String>,
    pub control: Option<PathBuf>,
    pub max_clients: Option<usize>,
    pub max_clients_per_user: Option<usize>,
    pub idle_stop: Option<u32>,
    pub user: Option<String>,
}

/// The client limits by default: audio opens in all, and from one user
/// (half an engine's 64 clients, so one user cannot take a device alone).
pub const MAX_CLIENTS: usize = 256;
pub const MAX_CLIENTS_PER_USER: usize = 32;

/// Seconds with no client after which a device's DMA stops (and its engine
/// sleeps) by default, as PipeWire suspends an idle node after 5 s.
pub const IDLE_STOP_SECONDS: u32 = 5;

/// The settings a device table or the global section may give, declared
/// once: each struct that takes them is written with `with_common!`, which
/// adds these fields and a `common()` that collects them (serde's `flatten`
/// would lose the line numbers and the unknown-key check).
macro_rules! with_common {
    ($(#[$m:meta])* struct $name:ident { $($(#[$fm:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$m])*
        struct $name {
            $($(#[$fm])* $field: $ty,)*
            bind: Option<bool>,
            pin_config: Option<PathBuf>,
            position: Option<Position>,
            rate: Option<u32>,
            period: Option<u32>,
            periods: Option<u32>,
            hw_volume: Option<VolumeText>,
            oss: Option<bool>,
            alsa: Option<bool>,
            hints: Option<HintSettings>,
        }

        impl $name {
            fn common(&self) -> Common {
                Common {
                    oss: self.oss,
                    alsa: self.alsa,
                    bind: self.bind,
                    pin_config: self.pin_config.clone(),
                    position: self.position,
                    rate: self.rate,
                    period: self.period,
                    periods: self.periods,
                    hw_volume: self.hw_volume.clone(),
                    hints: self.hints.clone(),
                }
            }
        }
    };
}

/// What `with_common!` collects.
#[derive(Clone, Debug, Default)]
struct Common {
    oss: Option<bool>,
    alsa: Option<bool>,
    bind: Option<bool>,
    pin_config: Option<PathBuf>,
    position: Option<Position>,
    rate: Option<u32>,
    period: Option<u32>,
    periods: Option<u32>,
    hw_volume: Option<VolumeText>,
    hints: Option<HintSettings>,
}

/// `hw_volume`: "max", a number of dB, or the number as a string.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum VolumeText {
    Text(String),
    Number(f64),
}

with_common! {
    /// The file as written: global settings, and the device tables.
    #[derive(Clone, Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        /// Earlier versions' device list: `"0000:00:1b.0, usb"` (or an array).
        device: Option<DeviceList>,
        node: Option<String>,
        group: Option<String>,
        mode: Option<String>,
        control: Option<PathBuf>,
        max_clients: Option<usize>,
        max_clients_per_user: Option<usize>,
        idle_stop: Option<u32>,
        user: Option<String>,
        #[serde(default)]
        devices: DeviceTables,
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum DeviceList {
    One(String),
    Many(Vec<String>),
}

with_common! {
    /// `[devices.NAME]`.
    #[derive(Clone, Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct DeviceTable {
        device: String,
        /// N of /dev/dspN, /dev/audioN, /dev/mixerN.
        number: Option<u32>,
        /// Its own node names instead: /dev/NAME, /dev/audio-NAME, /dev/mixer-NAME.
        node: Option<String>,
        /// Its ALSA card number (N of /dev/snd/controlCN).
        card: Option<u32>,
    }
}

/// The device tables in the order the file gives them.
#[derive(Clone, Debug, Default)]
struct DeviceTables(Vec<(String, DeviceTable)>);

impl<'de> Deserialize<'de> for DeviceTables {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Tables;
        impl<'de> Visitor<'de> for Tables {
            type Value = DeviceTables;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("tables of devices, [devices.NAME]")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DeviceTables, A::Error> {
                let mut out = Vec::new();
                while let Some((name, table)) = map.next_entry::<String, DeviceTable>()? {
                    out.push((name, table));
                }
                Ok(DeviceTables(out))
            }
        }
        d.deserialize_map(Tables)
    }
}

/// One device as it will be served.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceSettings {
    /// The table's name, or the device as named.
    pub label: String,
    pub spec: DeviceSpec,
    pub hda: HdaSettings,
    pub shape: StreamShape,
    pub hw_volume: Option<Volume>,
    /// Pinned N of its numbered nodes.
    pub number: Option<u32>,
    /// Its own node base name.
    pub node: Option<String>,
    /// Serve its OSS nodes.
    pub oss: bool,
    /// Serve its ALSA nodes.
    pub alsa: bool,
    /// Pinned ALSA card number.
    pub card: Option<u32>,
}

/// What `outboard serve` will do.
#[derive(Clone, Debug, PartialEq)]
pub struct ServeSettings {
    pub node: String,
    pub group: String,
    pub mode: u32,
    pub control: PathBuf,
    /// Audio opens (OSS and ALSA PCM nodes) taken in all, and from one user;
    /// EBUSY beyond.
    pub max_clients: usize,
    pub max_clients_per_user: usize,
    /// Seconds with no client before a device's DMA stops; 0: never.
    pub idle_stop: u32,
    /// The user the daemon becomes once its devices and nodes are open;
    /// `None`: `outboard` if that account exists, else `nobody`.
    pub user: Option<String>,
    /// Empty: every device found at start, each with `defaults`.
    pub devices: Vec<DeviceSettings>,
    pub defaults: DeviceSettings,
}

fn read_file(path: &Path) -> Result<File, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.to_string().trim_end()))
}

/// The effective mode: octal, with no world-writable and no set-id or sticky
/// bits (a sound node any user could write, or a set-id one, is a mistake).
fn parse_mode(text: &str) -> Result<u32, String> {
    let mode = u32::from_str_radix(text.trim_start_matches("0o"), 8)
        .map_err(|e| format!("mode {text:?}: {e} (octal, e.g. 0660)"))?;
    if mode > 0o7777 {
        return Err(format!("mode {text:?} is not a file mode (0000-0777)"));
    }
    if mode & 0o7000 != 0 {
        return Err(format!("mode {text:?} has set-id or sticky bits: device nodes take none (e.g. 0660)"));
    }
    if mode & 0o002 != 0 {
        return Err(format!("mode {text:?} lets every user write the nodes: use a group (e.g. 0660, group audio)"));
    }
    Ok(mode)
}

fn volume_of(v: &VolumeText, place: &str) -> Result<Volume, String> {
    match v {
        VolumeText::Text(t) => t.parse::<Volume>().map_err(|e| format!("{place}hw_volume: {e}")),
        VolumeText::Number(n) => n.to_string().parse::<Volume>().map_err(|e| format!("{place}hw_volume: {e}")),
    }
}

fn check_range(place: &str, key: &str, v: u32, lo: u32, hi: u32) -> Result<u32, String> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{place}`{key} = {v}` is out of range ({lo}-{hi})"))
    }
}

/// A device's settings: the command line first, then its table, then the
/// global section, then the defaults.
fn device_settings(
    label: String,
    spec: DeviceSpec,
    (number, node, card): (Option<u32>, Option<String>, Option<u32>),
    table: &Common,
    global: &Common,
    cli: &Overrides,
) -> Result<DeviceSettings, String> {
    let place = if label == spec.to_string() { String::new() } else { format!("[devices.{label}] ") };
    let pick = |f: fn(&Common) -> Option<u32>| f(table).or(f(global));
    let rate = check_range(&place, "rate", cli.rate.or(pick(|c| c.rate)).unwrap_or(48_000), 8000, 192_000)?;
    let period = check_range(&place, "period", cli.period.or(pick(|c| c.period)).unwrap_or(1024), 16, 65_536)?;
    let periods = check_range(&place, "periods", cli.periods.or(pick(|c| c.periods)).unwrap_or(4), 2, 64)?;
    let hw_volume = match (&cli.hw_volume, &table.hw_volume, &global.hw_volume) {
        (Some(v), _, _) => Some(*v),
        (None, Some(v), _) => Some(volume_of(v, &place)?),
        (None, None, Some(v)) => Some(volume_of(v, "")?),
        _ => None,
    };
    let hda = HdaSettings {
        bind: cli.bind || table.bind.or(global.bind).unwrap_or(false),
        pin_config: cli.pin_config.clone().or(table.pin_config.clone()).or(global.pin_config.clone()),
        position: cli.position.or(table.position).or(global.position).unwrap_or_default(),
        hints: table.hints.clone().or(global.hints.clone()).unwrap_or_default(),
    };
    Ok(DeviceSettings {
        label,
        spec,
        hda,
        shape: StreamShape { rate, period: period as usize, periods: periods as usize },
        hw_volume,
        number,
        node: match node {
            Some(n) => Some(check_node_name(&n).map_err(|e| format!("{place}{e}"))?),
            None => None,
        },
        oss: table.oss.or(global.oss).unwrap_or(true),
        alsa: table.alsa.or(global.alsa).unwrap_or(true),
        card: match card {
            Some(n) if n > 31 => return Err(format!("{place}`card = {n}` is out of range (0-31)")),
            n => n,
        },
    })
}

/// A node base name: a file name under /dev.
fn check_node_name(node: &str) -> Result<String, String> {
    if node.is_empty() || node.contains('/') || node.len() > 31 || node.chars().any(|c| c.is_control()) {
        return Err(format!("node name {node:?}: a file name under /dev (no `/`, at most 31 characters)"));
    }
    Ok(node.to_string())
}

/// The settings of `outboard serve`: its command line over its config file.
pub fn serve_settings(cli: &Overrides) -> Result<ServeSettings, String> {
    let file = match &cli.config {
        Some(path) => read_file(path)?,
        None => File::default(),
    };
    settings(file, cli)
}

/// The settings a config file's text gives with nothing on the command
/// line, as `outboard config check` prints them (TOML that reads back as
/// the same settings).
pub fn check_text(text: &str) -> Result<String, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
    settings(file, &Overrides::default()).map(|s| s.to_string())
}

fn settings(file: File, cli: &Overrides) -> Result<ServeSettings, String> {
    let node = check_node_name(&cli.name.clone().or(file.node.clone()).unwrap_or_else(|| "dsp".into()))?;
    let mode = parse_mode(cli.mode.as_deref().or(file.mode.as_deref()).unwrap_or("0660"))?;
    let global = file.common();
    let defaults = device_settings(
        "every device found".into(),
        DeviceSpec::UsbFirst,
        (None, None, None),
        &Common::default(),
        &global,
        cli,
    )?;
    let mut devices = Vec::new();
    if !cli.devices.is_empty() {
        // Devices named on the command line replace the file's list; a
        // table for the same device still gives its settings.
        for spec in &cli.devices {
            let table = file.devices.0.iter().find(|(_, t)| t.device.parse::<DeviceSpec>().ok().as_ref() == Some(spec));
            let (label, nodes, common) = match table {
                Some((name, t)) => (name.clone(), (t.number, t.node.clone(), t.card), t.common()),
                None => (spec.to_string(), (None, None, None), Common::default()),
            };
            devices.push(device_settings(label, spec.clone(), nodes, &common, &global, cli)?);
        }
    } else {
        if let Some(list) = &file.device {
            if !file.devices.0.is_empty() {
                return Err("the config gives both `device` and [devices.*] tables: use the tables".into());
            }
            let names: Vec<String> = match list {
                DeviceList::One(s) => s.split(',').map(|d| d.trim().to_string()).filter(|d| !d.is_empty()).collect(),
                DeviceList::Many(v) => v.clone(),
            };
            for name in names {
                let spec = name.parse::<DeviceSpec>().map_err(|e| format!("device: {e}"))?;
                devices.push(device_settings(name, spec, (None, None, None), &Common::default(), &global, cli)?);
            }
        }
        for (name, t) in &file.devices.0 {
            let spec = t.device.parse::<DeviceSpec>().map_err(|e| format!("[devices.{name}] device: {e}"))?;
            devices.push(device_settings(
                name.clone(),
                spec,
                (t.number, t.node.clone(), t.card),
                &t.common(),
                &global,
                cli,
            )?);
        }
    }
    let mut numbers: Vec<u32> = devices.iter().filter_map(|d| d.number).collect();
    numbers.sort_unstable();
    if let Some(w) = numbers.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("two devices have `number = {}`: each device's nodes need their own number", w[0]));
    }
    let mut names: Vec<&str> = devices.iter().filter_map(|d| d.node.as_deref()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("two devices have `node = {:?}`: each device's nodes need their own name", w[0]));
    }
    let mut cards: Vec<u32> = devices.iter().filter_map(|d| d.card).collect();
    cards.sort_unstable();
    if let Some(w) = cards.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("two devices have `card = {}`: each ALSA card needs its own number", w[0]));
    }
    if names.contains(&node.as_str()) {
        return Err(format!("a device's `node = {node:?}` is the default nodes' name too"));
    }
    let max_clients = cli.max_clients.or(file.max_clients).unwrap_or(MAX_CLIENTS);
    let max_clients_per_user = cli.max_clients_per_user.or(file.max_clients_per_user).unwrap_or(MAX_CLIENTS_PER_USER);
    if max_clients == 0 || max_clients_per_user == 0 {
        return Err("max_clients and max_clients_per_user must be at least 1".into());
    }
    Ok(ServeSettings {
        node,
        group: cli.group.clone().or(file.group.clone()).unwrap_or_else(|| "audio".into()),
        mode,
        control: cli.control.clone().or(file.control.clone()).unwrap_or_else(|| PathBuf::from(CONTROL_SOCKET)),
        max_clients,
        max_clients_per_user,
        idle_stop: cli.idle_stop.or(file.idle_stop).unwrap_or(IDLE_STOP_SECONDS),
        user: cli.user.clone().or(file.user.clone()),
        devices,
        defaults,
    })
}

/// `outboard config check FILE`: the settings the file gives, as TOML.
pub fn check(path: &Path) -> Result<String, String> {
    let args = Overrides { config: Some(path.to_path_buf()), ..Overrides::default() };
    serve_settings(&args).map(|s| s.to_string())
}

/// `text` as a TOML basic string (quotes, backslashes and control
/// characters escaped as TOML escapes them; Rust's `{:?}` writes `\u{7f}`,
/// which TOML refuses).
fn toml_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl fmt::Display for ServeSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "node = {}", toml_str(&self.node))?;
        writeln!(f, "group = {}", toml_str(&self.group))?;
        writeln!(f, "mode = \"{:04o}\"", self.mode)?;
        writeln!(f, "control = {}", toml_str(&self.control.display().to_string()))?;
        writeln!(f, "max_clients = {}", self.max_clients)?;
        writeln!(f, "max_clients_per_user = {}", self.max_clients_per_user)?;
        writeln!(f, "idle_stop = {}", self.idle_stop)?;
        if let Some(u) = &self.user {
            writeln!(f, "user = {}", toml_str(u))?;
        }
        let device = |f: &mut fmt::Formatter<'_>, d: &DeviceSettings| -> fmt::Result {
            writeln!(f, "rate = {}", d.shape.rate)?;
            writeln!(f, "period = {}", d.shape.period)?;
            writeln!(f, "periods = {}", d.shape.periods)?;
            writeln!(f, "bind = {}", d.hda.bind)?;
            if let Some(p) = &d.hda.pin_config {
                writeln!(f, "pin_config = {}", toml_str(&p.display().to_string()))?;
            }
            writeln!(f, "position = \"{}\"", if d.hda.position == Position::Posbuf { "posbuf" } else { "lpib" })?;
            let hints = d.hda.hints.lines();
            if !hints.is_empty() {
                writeln!(f, "hints = {{ {} }}", hints.join(", "))?;
            }
            if let Some(v) = d.hw_volume {
                writeln!(f, "hw_volume = \"{v}\"")?;
            }
            if let Some(n) = d.number {
                writeln!(f, "number = {n}")?;
            }
            if let Some(n) = &d.node {
                writeln!(f, "node = {}", toml_str(n))?;
            }
            writeln!(f, "oss = {}", d.oss)?;
            writeln!(f, "alsa = {}", d.alsa)?;
            if let Some(n) = d.card {
                writeln!(f, "card = {n}")?;
            }
            Ok(())
        };
        if self.devices.is_empty() {
            writeln!(f, "# devices: every one found at start (HDA bound to vfio-pci, then USB audio), each with:")?;
            device(f, &self.defaults)?;
        }
        for d in &self.devices {
            writeln!(f, "\n[devices.{}]", toml_str(&d.label))?;
            writeln!(f, "device = {}", toml_str(&d.spec.to_string()))?;
            device(f, d)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn settings(text: &str, args: &[&str]) -> Result<ServeSettings, String> {
        let dir = std::env::temp_dir().join(format!("outboard-config-unit-{}-{:x}", std::process::id(), text.len()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("outboard.toml");
        std::fs::write(&path, text).unwrap();
        let mut argv = vec!["outboard", "serve", "--config", path.to_str().unwrap()];
        argv.extend_from_slice(args);
        let cli = crate::cli::Cli::try_parse_from(argv).unwrap();
        let crate::cli::Command::Serve(serve) = cli.command else { panic!("not serve") };
        let r = serve_settings(&serve.overrides());
        std::fs::remove_dir_all(&dir).unwrap();
        r
    }

    #[test]
    fn what_config_check_prints_reads_back_as_the_same_settings() {
        // Found by the config_file fuzz target: `{:?}` wrote U+07F0 as
        // `\u{7f0}`, which TOML refuses.
        let text = "node = \"q\\\"x\u{7f0}\\\\\"\ngroup = \"a\\u007Fb\"\n[devices.\"a b\\tc\"]\ndevice = \"usb\"\n";
        let shown = check_text(text).unwrap();
        assert!(shown.contains("node = \"q\\\"x\u{7f0}\\\\\""), "{shown}");
        assert!(shown.contains("group = \"a\\u007Fb\""), "{shown}");
        assert!(shown.contains("[devices.\"a b\\tc\"]"), "{shown}");
        assert_eq!(check_text(&shown).unwrap(), shown);
    }

    #[test]
    fn codec_hints_are_read_per_device_checked_and_shown() {
        let text = "hints = { auto_mute = false }\n[devices.a]\ndevice = \"emulated\"\n\
            hints = { indep_hp = true, mixer_nid = 0x0b }\n[devices.b]\ndevice = \"0000:00:1b.0\"\n";
        let s = settings(text, &[]).unwrap();
        let a = &s.devices[0].hda.hints;
        assert_eq!(
            (a.indep_hp, a.mixer_nid, a.auto_mute),
            (Some(true), Some(0x0b), None),
            "the table's replace the global's"
        );
        assert_eq!(s.devices[1].hda.hints.auto_mute, Some(false));
        let shown = check_text(text).unwrap();
        assert!(shown.contains("hints = { mixer_nid = 0x0b, indep_hp = true }"), "{shown}");
        assert_eq!(check_text(&shown).unwrap(), shown);
        let e = settings("[devices.a]\ndevice = \"emulated\"\nhints = { indep_hp = 1 }\n", &[]).unwrap_err();
        assert!(e.contains("indep_hp") || e.contains("bool"), "{e}");
        let e = settings("hints = { auto_mutes = true }\n", &[]).unwrap_err();
        assert!(e.contains("auto_mutes"), "{e}");
    }

    #[test]
    fn an_old_flat_file_reads_as_before() {
        let s = settings(
            "# outboard\ndevice = \"0000:00:1b.0, usb\"  # the HDA\nbind = true\nrate = 48_000\nperiod = 2048\nnode = \"dsp#1\"\nhw_volume = \"max\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(s.node, "dsp#1", "a # inside quotes is not a comment");
        assert_eq!(s.devices.len(), 2);
        assert_eq!(s.devices[0].spec, DeviceSpec::Pci("0000:00:1b.0".parse().unwrap()));
        assert!(s.devices[0].hda.bind);
        assert_eq!(s.devices[1].spec, DeviceSpec::UsbFirst);
        assert_eq!(s.devices[1].shape, StreamShape { rate: 48_000, period: 2048, periods: 4 });
        assert_eq!(s.devices[1].hw_volume, Some(Volume::Max));
    }

    #[test]
    fn device_tables_keep_their_order_and_override_the_globals() {
        let s = settings(
            "period = 2048\n[devices.zeta]\ndevice = \"emulated\"\nnumber = 3\n[devices.alpha]\ndevice = \"usb:1-1\"\nperiod = 256\nhw_volume = -6\n",
            &["--periods", "8"],
        )
        .unwrap();
        let labels: Vec<&str> = s.devices.iter().map(|d| d.label.as_str()).collect();
        assert_eq!(labels, ["zeta", "alpha"], "the file's order, not the names'");
        assert_eq!(s.devices[0].shape, StreamShape { rate: 48_000, period: 2048, periods: 8 });
        assert_eq!(s.devices[0].number, Some(3));
        assert_eq!(s.devices[1].shape.period, 256);
        assert_eq!(s.devices[1].hw_volume, Some(Volume::Db(-6.0)));
        assert!(s.devices.iter().all(|d| d.oss && d.node.is_none()));
        let s = settings("oss = false\n[devices.a]\ndevice = \"emulated\"\noss = true\nnode = \"emu\"\n[devices.b]\ndevice = \"usb\"\n", &[])
            .unwrap();
        assert_eq!((s.devices[0].oss, s.devices[0].node.as_deref(), s.devices[1].oss), (true, Some("emu"), false));
        // The command line wins over both.
        let s = settings("[devices.a]\ndevice = \"emulated\"\nperiod = 256\n", &["--period", "512"]).unwrap();
        assert_eq!(s.devices[0].shape.period, 512);
        // Naming a device on the command line takes its table's settings.
        let s = settings(
            "[devices.a]\ndevice = \"emulated\"\nperiod = 256\n[devices.b]\ndevice = \"usb\"\n",
            &["emulated"],
        )
        .unwrap();
        assert_eq!((s.devices.len(), s.devices[0].label.as_str(), s.devices[0].shape.period), (1, "a", 256));
    }

    #[test]
    fn mistakes_name_their_line_or_table() {
        for (text, expect) in [
            ("rate = 48000\nperods = 4\n", "line 2"),
            ("rate = 48000\nperods = 4\n", "unknown field `perods`"),
            ("rate = 99999999999\n", "line 1"),
            ("period = \"big\"\n", "line 1"),
            ("rate = 1000\n", "`rate = 1000` is out of range"),
            ("[devices.x]\ndevice = \"emulated\"\nperiod = 7\n", "[devices.x] `period = 7` is out of range"),
            ("[devices.x]\ndevice = \"speaker\"\n", "[devices.x] device: `speaker` is not a device"),
            ("[devices.x]\nrate = 48000\n", "missing field `device`"),
            ("[devices.x]\ndevice = \"emulated\"\nvolume = 1\n", "unknown field `volume`"),
            ("mode = \"0666\"\n", "lets every user write"),
            ("mode = \"4660\"\n", "set-id"),
            ("mode = \"0x1\"\n", "octal"),
            ("hw_volume = \"loud\"\n", "hw_volume: `loud`"),
            (
                "[devices.a]\ndevice = \"emulated\"\nnumber = 1\n[devices.b]\ndevice = \"usb\"\nnumber = 1\n",
                "number = 1",
            ),
            ("rate = 48000\nrate = 44100\n", "duplicate key"),
            (
                "[devices.a]\ndevice = \"emulated\"\nnode = \"x\"\n[devices.b]\ndevice = \"usb\"\nnode = \"x\"\n",
                "node = \"x\"",
            ),
            ("[devices.a]\ndevice = \"emulated\"\nnode = \"dsp\"\n", "the default nodes' name too"),
            ("[devices.a]\ndevice = \"emulated\"\nnode = \"snd/x\"\n", "[devices.a] node name \"snd/x\""),
            ("oss = \"yes\"\n", "line 1"),
        ] {
            let err = settings(text, &[]).unwrap_err();
            assert!(err.contains(expect), "{text:?}: {err}");
        }
    }
}
