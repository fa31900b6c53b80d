//! `outboard list`: the sound hardware this machine has, and whether
//! Outboard can drive it.

use std::path::Path;

use outboard_hal::pci::{config, sysfs as pci_sysfs};
use outboard_hal::usb::sysfs as usb_sysfs;

pub fn run(sysfs_root: &Path) -> Result<(), String> {
    let hda: Vec<_> = pci_sysfs::list(sysfs_root)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|d| d.class_subclass() == config::CLASS_HDA)
        .collect();
    println!("HDA controllers (PCI class 0403):");
    if hda.is_empty() {
        println!("  none");
    }
    for d in &hda {
        let state = match d.driver.as_deref() {
            Some("vfio-pci") => "bound to vfio-pci: ready".to_string(),
            Some(other) => {
                format!("bound to {other}: bind to vfio-pci to use (outboard probe vfio --bind {})", d.address)
            }
            None => format!("no driver: bind to vfio-pci to use (outboard probe vfio --bind {})", d.address),
        };
        let group = d.iommu_group.map(|g| format!(", IOMMU group {g}")).unwrap_or_else(|| ", no IOMMU group".into());
        println!("  {}  {:04x}:{:04x}{group}  {state}", d.address, d.vendor, d.device);
    }
    let usb: Vec<_> =
        usb_sysfs::list(sysfs_root).map_err(|e| e.to_string())?.into_iter().filter(|d| d.is_audio()).collect();
    println!("USB audio devices (interface class 1):");
    if usb.is_empty() {
        println!("  none");
    }
    for d in &usb {
        let name =
            [d.manufacturer.as_deref(), d.product.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        let drivers: Vec<String> = d
            .interfaces
            .iter()
            .filter(|i| i.class == 1)
            .map(|i| format!("if{}:{}", i.number, i.driver.as_deref().unwrap_or("-")))
            .collect();
        println!(
            "  {}  {}  {:?} speed  {}  [{}]  {}",
            d.port,
            d.id,
            d.speed,
            d.node().display(),
            drivers.join(" "),
            name
        );
    }
    Ok(())
}
