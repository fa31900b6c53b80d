//! `outboard list`: the sound hardware this machine has, and whether
//! Outboard can drive it.

use std::path::Path;

use outboard_hal::pci::{config, sysfs as pci_sysfs};
use outboard_hal::usb::sysfs as usb_sysfs;
use serde::Serialize;

/// An HDA controller as listed.
#[derive(Debug, Serialize)]
struct HdaEntry {
    address: String,
    id: String,
    driver: Option<String>,
    iommu_group: Option<u32>,
    /// Bound to vfio-pci: Outboard can open it now.
    ready: bool,
    /// What to do about it.
    state: String,
}

/// A USB audio device as listed.
#[derive(Debug, Serialize)]
struct UsbEntry {
    port: String,
    id: String,
    speed: String,
    node: String,
    name: String,
    /// `ifN:DRIVER` for each audio interface (`-`: none bound).
    interfaces: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Listing {
    hda: Vec<HdaEntry>,
    usb: Vec<UsbEntry>,
}

fn listing(sysfs_root: &Path) -> Result<Listing, String> {
    let hda = pci_sysfs::list(sysfs_root)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|d| d.class_subclass() == config::CLASS_HDA)
        .map(|d| {
            let state = match d.driver.as_deref() {
                Some("vfio-pci") => "bound to vfio-pci: ready".to_string(),
                Some(other) => {
                    format!("bound to {other}: bind to vfio-pci to use (outboard probe vfio --bind {})", d.address)
                }
                None => format!("no driver: bind to vfio-pci to use (outboard probe vfio --bind {})", d.address),
            };
            HdaEntry {
                address: d.address.to_string(),
                id: format!("{:04x}:{:04x}", d.vendor, d.device),
                ready: d.driver.as_deref() == Some("vfio-pci"),
                driver: d.driver,
                iommu_group: d.iommu_group,
                state,
            }
        })
        .collect();
    let usb = usb_sysfs::list(sysfs_root)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|d| d.is_audio())
        .map(|d| UsbEntry {
            port: d.port.clone(),
            id: d.id.to_string(),
            speed: format!("{:?}", d.speed),
            node: d.node().display().to_string(),
            name: [d.manufacturer.as_deref(), d.product.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" "),
            interfaces: d
                .interfaces
                .iter()
                .filter(|i| i.is_audio())
                .map(|i| format!("if{}:{}", i.number, i.driver.as_deref().unwrap_or("-")))
                .collect(),
        })
        .collect();
    Ok(Listing { hda, usb })
}

pub fn run(sysfs_root: &Path, json: bool) -> Result<(), String> {
    let l = listing(sysfs_root)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&l).map_err(|e| e.to_string())?);
        return Ok(());
    }
    println!("HDA controllers (PCI class 0403):");
    if l.hda.is_empty() {
        println!("  none");
    }
    for d in &l.hda {
        let group = d.iommu_group.map(|g| format!(", IOMMU group {g}")).unwrap_or_else(|| ", no IOMMU group".into());
        println!("  {}  {}{group}  {}", d.address, d.id, d.state);
    }
    println!("USB audio devices (interface class 1):");
    if l.usb.is_empty() {
        println!("  none");
    }
    for d in &l.usb {
        println!("  {}  {}  {} speed  {}  [{}]  {}", d.port, d.id, d.speed, d.node, d.interfaces.join(" "), d.name);
    }
    Ok(())
}
