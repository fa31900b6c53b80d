//! USB discovery through sysfs (`/sys/bus/usb/devices`).

use std::fs;
use std::path::{Path, PathBuf};

use super::{Speed, UsbId};
use crate::{Error, Result};

/// One interface of a device, as sysfs lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsbInterfaceInfo {
    pub number: u8,
    pub class: u8,
    pub subclass: u8,
    /// The kernel driver bound to it, if any ("snd-usb-audio", "usbfs").
    pub driver: Option<String>,
}

impl UsbInterfaceInfo {
    /// Interface class 1: audio (control, streaming or MIDI).
    pub fn is_audio(&self) -> bool {
        self.class == 1
    }
}

/// What sysfs says about one USB device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsbInfo {
    /// The sysfs name, e.g. "3-1" (bus 3, port 1).
    pub port: String,
    pub bus: u8,
    pub devnum: u8,
    pub id: UsbId,
    pub speed: Speed,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    /// Interfaces of the active configuration.
    pub interfaces: Vec<UsbInterfaceInfo>,
}

impl UsbInfo {
    /// The usbfs node, `/dev/bus/usb/BBB/DDD`.
    pub fn node(&self) -> PathBuf {
        PathBuf::from(format!("/dev/bus/usb/{:03}/{:03}", self.bus, self.devnum))
    }

    /// "usb 3-1 46f4:0002", how messages name the device.
    pub fn name(&self) -> String {
        format!("usb {} {}", self.port, self.id)
    }

    /// Whether any interface is USB Audio Class (class 1).
    pub fn is_audio(&self) -> bool {
        self.interfaces.iter().any(UsbInterfaceInfo::is_audio)
    }
}

fn read_trim(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

fn read_hex(path: &Path) -> Option<u32> {
    u32::from_str_radix(&read_trim(path)?, 16).ok()
}

fn read_dec(path: &Path) -> Option<u32> {
    read_trim(path)?.parse().ok()
}

fn device_info(dir: &Path) -> Option<UsbInfo> {
    let port = dir.file_name()?.to_string_lossy().into_owned();
    let mut interfaces = Vec::new();
    for entry in fs::read_dir(dir).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(&format!("{port}:")) {
            continue;
        }
        let p = entry.path();
        let (Some(number), Some(class)) = (read_hex(&p.join("bInterfaceNumber")), read_hex(&p.join("bInterfaceClass")))
        else {
            continue;
        };
        interfaces.push(UsbInterfaceInfo {
            number: number as u8,
            class: class as u8,
            subclass: read_hex(&p.join("bInterfaceSubClass")).unwrap_or(0) as u8,
            driver: fs::read_link(p.join("driver"))
                .ok()
                .and_then(|l| l.file_name().map(|n| n.to_string_lossy().into_owned())),
        });
    }
    interfaces.sort_by_key(|i| i.number);
    Some(UsbInfo {
        bus: read_dec(&dir.join("busnum"))? as u8,
        devnum: read_dec(&dir.join("devnum"))? as u8,
        id: UsbId {
            vendor: read_hex(&dir.join("idVendor"))? as u16,
            product: read_hex(&dir.join("idProduct"))? as u16,
        },
        speed: read_trim(&dir.join("speed")).map(|s| Speed::from_sysfs(&s)).unwrap_or(Speed::Unknown),
        manufacturer: read_trim(&dir.join("manufacturer")),
        product: read_trim(&dir.join("product")),
        port,
        interfaces,
    })
}

/// Every USB device (not hubs' interfaces) sysfs lists, sorted by bus and
/// device number.
pub fn list(root: &Path) -> Result<Vec<UsbInfo>> {
    let dir = root.join("bus/usb/devices");
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::Io { device: dir.display().to_string(), op: "listing USB devices", source: e }),
    };
    let mut out: Vec<UsbInfo> = entries
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().contains(':'))
        .filter_map(|e| device_info(&e.path()))
        .collect();
    out.sort_by_key(|i| (i.bus, i.devnum));
    Ok(out)
}

/// The first device with this vendor:product id.
pub fn find(root: &Path, id: UsbId) -> Result<UsbInfo> {
    list(root)?
        .into_iter()
        .find(|i| i.id == id)
        .ok_or_else(|| Error::UsbNotFound { what: format!("with id {id} (`outboard list` shows what there is)") })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join(name), format!("{text}\n")).unwrap();
    }

    #[test]
    fn finds_an_audio_device_and_its_interfaces() {
        let root = std::env::temp_dir().join(format!("outboard-hal-usb-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let devs = root.join("bus/usb/devices");
        let d = devs.join("3-1");
        for (f, v) in [
            ("busnum", "3"),
            ("devnum", "2"),
            ("idVendor", "46f4"),
            ("idProduct", "0002"),
            ("speed", "12"),
            ("product", "QEMU USB Audio"),
        ] {
            write(&d, f, v);
        }
        for (n, class, sub) in [("00", "01", "01"), ("01", "01", "02")] {
            let i =
                d.join(format!("3-1:1.{}", n.trim_start_matches('0').to_string() + if n == "00" { "0" } else { "" }));
            write(&i, "bInterfaceNumber", n);
            write(&i, "bInterfaceClass", class);
            write(&i, "bInterfaceSubClass", sub);
        }
        let hub = devs.join("usb3");
        for (f, v) in [("busnum", "3"), ("devnum", "1"), ("idVendor", "1d6b"), ("idProduct", "0003"), ("speed", "5000")]
        {
            write(&hub, f, v);
        }

        let all = list(&root).unwrap();
        assert_eq!(all.len(), 2);
        let audio = find(&root, "46f4:0002".parse().unwrap()).unwrap();
        assert_eq!(audio.node(), PathBuf::from("/dev/bus/usb/003/002"));
        assert_eq!(audio.speed, Speed::Full);
        assert_eq!(audio.interfaces.iter().map(|i| (i.number, i.subclass)).collect::<Vec<_>>(), vec![(0, 1), (1, 2)]);
        assert!(audio.is_audio());
        assert_eq!(audio.name(), "usb 3-1 46f4:0002");
        let err = find(&root, "1234:5678".parse().unwrap()).unwrap_err();
        assert!(err.to_string().contains("1234:5678"), "{err}");
        fs::remove_dir_all(&root).unwrap();
    }
}
