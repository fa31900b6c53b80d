//! `outboard probe`: exercise the hardware access layer against a real device
//! and print what it found, one `key=value` per line (the bench's hal-vfio and
//! hal-usbfs scenarios read them). The probes themselves are the drivers'
//! (`outboard_hda::probe`, `outboard_uac::probe`); this finds and opens the
//! device and gives them the test signal.
//!
//! - `probe vfio [--bind] [ADDR]`: reset an HDA controller, run CORB/RIRB
//!   round trips, and count stream interrupts.
//! - `probe usbfs [--id VID:PID] ...`: stream a known signal to an
//!   isochronous OUT endpoint.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use outboard_hal::pci::{config, sysfs as pci_sysfs, vfio::VfioPci, PciAddress, PciDevice};
use outboard_hal::usb::{sysfs as usb_sysfs, usbfs::UsbfsDevice, UsbDevice};
use outboard_signal::signal;
use outboard_uac::probe::StreamProbe;

use crate::cli::ProbeCommand;

/// The test signal as S16 stereo bytes (`seed` picks which).
fn test_signal(seed: u32) -> impl Fn(usize) -> Vec<u8> {
    move |frames| signal::to_le_bytes(&signal::test_signal(frames, 2, seed))
}

pub fn run(command: ProbeCommand) -> Result<(), String> {
    let mut say = |line: String| println!("{line}");
    match command {
        ProbeCommand::Vfio { bind, interrupts, address } => {
            let root = Path::new(pci_sysfs::SYSFS);
            let addr = match address {
                Some(a) => a,
                None => first_hda(root)?,
            };
            if bind {
                let info = pci_sysfs::bind_vfio(root, &addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
                say(format!(
                    "bound={} group={}",
                    info.address,
                    info.iommu_group.map(|g| g.to_string()).unwrap_or_default()
                ));
            }
            let pci: Arc<dyn PciDevice> = Arc::new(VfioPci::open(&addr).map_err(|e| e.to_string())?);
            let (vendor, device) = pci.ids().map_err(|e| e.to_string())?;
            say(format!("device={addr} id={vendor:04x}:{device:04x}"));
            outboard_hda::probe::probe(pci, interrupts, &test_signal(1), &mut say)
        }
        ProbeCommand::Usbfs { id, interface, alt, volume_unit, seconds, sent, urbs, packets } => {
            let info = usb_sysfs::find(Path::new(pci_sysfs::SYSFS), id).map_err(|e| e.to_string())?;
            let dev = UsbfsDevice::open_info(&info).map_err(|e| e.to_string())?;
            say(format!("device={} node={} speed={:?}", dev.name(), info.node().display(), dev.speed()));
            let probe = StreamProbe { interface, alt, volume_unit, seconds, urbs, packets_per_urb: packets };
            let data = outboard_uac::probe::stream_probe(&dev, probe, &test_signal(2), &mut say)?;
            if let Some(p) = sent {
                std::fs::write(&p, &data).map_err(|e| format!("{}: {e}", p.display()))?;
            }
            Ok(())
        }
    }
}

fn first_hda(root: &Path) -> Result<PciAddress, String> {
    pci_sysfs::list(root)
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|d| d.class_subclass() == config::CLASS_HDA)
        .map(|d| d.address)
        .ok_or_else(|| "no HDA controller (PCI class 0403) found; `outboard list` shows what there is".to_string())
}
