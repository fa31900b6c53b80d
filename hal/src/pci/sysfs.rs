//! PCI discovery and driver binding through sysfs (`/sys/bus/pci`).
//!
//! Functions take the sysfs root so tests can point them at a fake tree.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::PciAddress;
use crate::{Error, Result};

/// The real sysfs root.
pub const SYSFS: &str = "/sys";

/// What sysfs says about one PCI function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PciInfo {
    pub address: PciAddress,
    pub vendor: u16,
    pub device: u16,
    /// 24-bit class code: base class, subclass, programming interface.
    pub class: u32,
    /// The bound driver's name, if any.
    pub driver: Option<String>,
    /// The IOMMU group number, if the IOMMU is on.
    pub iommu_group: Option<u32>,
}

impl PciInfo {
    /// Base class and subclass (0x0403 for HD Audio).
    pub fn class_subclass(&self) -> u16 {
        (self.class >> 8) as u16
    }

    /// "vvvv dddd", the form `/sys/bus/pci/drivers/*/new_id` takes.
    pub fn vendor_device(&self) -> String {
        format!("{:04x} {:04x}", self.vendor, self.device)
    }
}

fn device_dir(root: &Path, addr: &PciAddress) -> PathBuf {
    root.join("bus/pci/devices").join(addr.to_string())
}

fn read_hex(path: &Path) -> Option<u32> {
    let text = fs::read_to_string(path).ok()?;
    u32::from_str_radix(text.trim().trim_start_matches("0x"), 16).ok()
}

fn link_name(path: &Path) -> Option<String> {
    fs::read_link(path).ok()?.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// Read one function's sysfs entry.
pub fn info(root: &Path, addr: &PciAddress) -> Result<PciInfo> {
    let dir = device_dir(root, addr);
    if !dir.exists() {
        return Err(Error::PciNotFound { addr: addr.to_string() });
    }
    let field = |name: &str| {
        read_hex(&dir.join(name)).ok_or_else(|| Error::Io {
            device: addr.to_string(),
            op: "reading sysfs",
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} is missing or not hex", dir.join(name).display()),
            ),
        })
    };
    Ok(PciInfo {
        address: *addr,
        vendor: field("vendor")? as u16,
        device: field("device")? as u16,
        class: field("class")?,
        driver: link_name(&dir.join("driver")),
        iommu_group: link_name(&dir.join("iommu_group")).and_then(|g| g.parse().ok()),
    })
}

/// Every PCI function sysfs lists, sorted by address. Entries that cannot be
/// read are skipped with a warning.
pub fn list(root: &Path) -> Result<Vec<PciInfo>> {
    let dir = root.join("bus/pci/devices");
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::Io { device: dir.display().to_string(), op: "listing PCI devices", source: e }),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(addr) = name.parse::<PciAddress>() else { continue };
        match info(root, &addr) {
            Ok(i) => out.push(i),
            Err(e) => log::warn!("skipping {name}: {e}"),
        }
    }
    out.sort_by_key(|i| i.address);
    Ok(out)
}

/// Bind a function to vfio-pci (for this device only, through
/// `driver_override`), unbinding its current driver first, and wait until its
/// VFIO group node exists. Needs root and the vfio-pci module.
pub fn bind_vfio(root: &Path, addr: &PciAddress, timeout: Duration) -> Result<PciInfo> {
    let before = info(root, addr)?;
    if before.driver.as_deref() == Some("vfio-pci") {
        return Ok(before);
    }
    let drv = root.join("bus/pci/drivers/vfio-pci");
    if !drv.exists() {
        return Err(Error::NodeMissing {
            path: drv,
            device: addr.to_string(),
            hint: "load the vfio-pci module (modprobe vfio-pci)",
        });
    }
    let dev = device_dir(root, addr);
    let write = |path: PathBuf, text: &str| {
        fs::write(&path, text).map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => {
                Error::PermissionDenied { path: path.clone(), device: addr.to_string() }
            }
            _ => Error::Io { device: addr.to_string(), op: "writing sysfs", source: e },
        })
    };
    write(dev.join("driver_override"), "vfio-pci")?;
    if before.driver.is_some() {
        write(dev.join("driver/unbind"), &addr.to_string())?;
    }
    write(root.join("bus/pci/drivers_probe"), &addr.to_string())?;
    let deadline = Instant::now() + timeout;
    loop {
        let now = info(root, addr)?;
        if now.driver.as_deref() == Some("vfio-pci") {
            if let Some(g) = now.iommu_group {
                if Path::new("/dev/vfio").join(g.to_string()).exists() {
                    return Ok(now);
                }
            }
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                device: addr.to_string(),
                what: "vfio-pci to bind and /dev/vfio/<group> to appear".into(),
                ms: timeout.as_millis() as u64,
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_device(root: &Path, addr: &str, vendor: &str, device: &str, class: &str, driver: Option<&str>) {
        let dir = root.join("bus/pci/devices").join(addr);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("vendor"), format!("{vendor}\n")).unwrap();
        fs::write(dir.join("device"), format!("{device}\n")).unwrap();
        fs::write(dir.join("class"), format!("{class}\n")).unwrap();
        if let Some(d) = driver {
            let drv = root.join("bus/pci/drivers").join(d);
            fs::create_dir_all(&drv).unwrap();
            std::os::unix::fs::symlink(&drv, dir.join("driver")).unwrap();
        }
        let group = root.join("kernel/iommu_groups/7");
        fs::create_dir_all(&group).unwrap();
        let _ = std::os::unix::fs::symlink(&group, dir.join("iommu_group"));
    }

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("outboard-hal-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn lists_devices_with_driver_and_group() {
        let root = tempdir("pci-list");
        fake_device(&root, "0000:00:1b.0", "0x8086", "0x293e", "0x040300", Some("snd_hda_intel"));
        fake_device(&root, "0000:00:02.0", "0x1234", "0x1111", "0x030000", None);
        let all = list(&root).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].address.to_string(), "0000:00:02.0");
        let hda = &all[1];
        assert_eq!((hda.vendor, hda.device, hda.class_subclass()), (0x8086, 0x293e, 0x0403));
        assert_eq!(hda.driver.as_deref(), Some("snd_hda_intel"));
        assert_eq!(hda.iommu_group, Some(7));
        assert_eq!(hda.vendor_device(), "8086 293e");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_missing_device_is_named() {
        let root = tempdir("pci-missing");
        let addr: PciAddress = "0000:00:1f.3".parse().unwrap();
        let err = info(&root, &addr).unwrap_err();
        assert!(matches!(err, Error::PciNotFound { .. }));
        assert!(err.to_string().contains("0000:00:1f.3"), "{err}");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn binding_without_the_vfio_driver_says_to_load_it() {
        let root = tempdir("pci-bind");
        fake_device(&root, "0000:00:1b.0", "0x8086", "0x293e", "0x040300", None);
        let addr: PciAddress = "0000:00:1b.0".parse().unwrap();
        let err = bind_vfio(&root, &addr, Duration::from_millis(10)).unwrap_err();
        assert!(err.to_string().contains("modprobe vfio-pci"), "{err}");
        fs::remove_dir_all(&root).unwrap();
    }
}
