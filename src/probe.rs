//! `outboard probe`: exercise the hardware access layer against a real device
//! and print what it found, one `key=value` per line (the bench's hal-vfio and
//! hal-usbfs scenarios read them).
//!
//! - `probe vfio [--bind] [ADDR]`: reset an HDA controller, run CORB/RIRB
//!   round trips, and count stream interrupts.
//! - `probe usbfs [--id VID:PID] ...`: stream a known signal to an
//!   isochronous OUT endpoint.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use outboard_hal::pci::{config, sysfs as pci_sysfs, vfio::VfioPci, PciAddress, PciDevice};
use outboard_hal::usb::{descriptors, sysfs as usb_sysfs, usbfs::UsbfsDevice, Transfer, UsbDevice, UsbId};
use outboard_hda::codec::{read_codec, WidgetKind};
use outboard_hda::stream::{Stream, StreamConfig};
use outboard_hda::verb::{Verb, SET_CHANNEL_STREAMID, SET_CONVERTER_FORMAT};
use outboard_hda::Controller;
use outboard_signal::signal;

use crate::cli::ProbeCommand;

pub fn run(command: ProbeCommand) -> Result<(), String> {
    match command {
        ProbeCommand::Vfio { bind, interrupts, address } => vfio(bind, interrupts, address),
        ProbeCommand::Usbfs { id, interface, alt, volume_unit, seconds, sent, urbs, packets } => usbfs(UsbfsProbe {
            id,
            interface,
            alt,
            volume_unit,
            seconds,
            sent_path: sent,
            urbs,
            packets_per_urb: packets,
        }),
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

fn vfio(bind: bool, interrupts: u64, address: Option<PciAddress>) -> Result<(), String> {
    let root = Path::new(pci_sysfs::SYSFS);
    let addr: PciAddress = match address {
        Some(a) => a,
        None => first_hda(root)?,
    };
    if bind {
        let info = pci_sysfs::bind_vfio(root, &addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
        println!("bound={} group={}", info.address, info.iommu_group.map(|g| g.to_string()).unwrap_or_default());
    }
    let pci: Arc<dyn PciDevice> = Arc::new(VfioPci::open(&addr).map_err(|e| e.to_string())?);
    let (vendor, device) = pci.ids().map_err(|e| e.to_string())?;
    println!("device={addr} id={vendor:04x}:{device:04x}");

    let mut ctrl = Controller::open(pci).map_err(|e| e.to_string())?;
    let caps = ctrl.caps();
    println!("gcap={:#06x} vmaj={} vmin={}", caps.gcap, caps.version_major, caps.version_minor);
    println!(
        "streams out={} in={} bidir={} addr64={}",
        caps.output_streams, caps.input_streams, caps.bidir_streams, caps.addr64
    );
    ctrl.reset().map_err(|e| e.to_string())?;
    println!("codecs={:#06x}", ctrl.codec_mask());
    ctrl.init_command_rings().map_err(|e| e.to_string())?;

    let mut dac = None;
    let mask = ctrl.codec_mask();
    for codec in (0..15u8).filter(|c| mask & (1 << c) != 0) {
        let info = read_codec(&mut ctrl, codec).map_err(|e| e.to_string())?;
        println!(
            "codec{codec}.vendor={:#010x} rev={:#010x} widgets={}",
            info.vendor_id,
            info.revision_id,
            info.nodes.len()
        );
        for w in &info.nodes {
            println!("codec{codec}.node{:#04x}={:?}", w.nid, w.kind());
        }
        if dac.is_none() {
            dac = info.nodes_of(WidgetKind::AudioOutput).next().map(|w| (codec, w.nid));
        }
    }
    println!("command_interface={}", if ctrl.uses_immediate_commands() { "immediate" } else { "corb-rirb" });

    let Some((codec, nid)) = dac else { return Err("no audio output converter on any codec".into()) };
    let irq = ctrl.enable_interrupts().map_err(|e| e.to_string())?;
    println!("irq={:?}", irq.kind());
    let index = caps.output_descriptor(0).ok_or("the controller has no output stream")?;
    let config = StreamConfig { rate: 48_000, bits: 16, channels: 2, period_bytes: 4096, periods: 4 };
    let stream = Stream::setup(&ctrl, index, 1, config).map_err(|e| e.to_string())?;
    let tone = signal::to_le_bytes(&signal::test_signal(config.buffer_bytes() / 4, 2, 1));
    stream.write(0, &tone).map_err(|e| e.to_string())?;
    let fmt = stream.format().map_err(|e| e.to_string())?;
    ctrl.send(Verb::long(codec, nid, SET_CONVERTER_FORMAT, fmt)).map_err(|e| e.to_string())?;
    ctrl.send(Verb::new(codec, nid, SET_CHANNEL_STREAMID, stream.tag() << 4)).map_err(|e| e.to_string())?;
    stream.start().map_err(|e| e.to_string())?;

    let started = Instant::now();
    let mut counted = 0;
    let mut result = Ok(());
    while counted < interrupts {
        match irq.wait(Duration::from_secs(5)) {
            Ok(n) => {
                counted += n;
                let intsts = ctrl.regs().read(outboard_hda::regs::INTSTS).map_err(|e| e.to_string())?;
                let sts = stream.ack().map_err(|e| e.to_string())?;
                log::debug!("interrupt: INTSTS={intsts:#010x} SDSTS={sts:#04x}");
                ctrl.ack_interrupt().map_err(|e| e.to_string())?;
            }
            Err(e) => {
                result = Err(format!("after {counted} interrupts: {e}"));
                break;
            }
        }
    }
    println!("interrupts={counted} in {} ms, lpib={}", started.elapsed().as_millis(), stream.lpib().unwrap_or(0));
    stream.stop().map_err(|e| e.to_string())?;
    ctrl.send(Verb::new(codec, nid, SET_CHANNEL_STREAMID, 0)).map_err(|e| e.to_string())?;
    drop(stream);
    ctrl.shutdown().map_err(|e| e.to_string())?;
    println!("shutdown=ok");
    result
}

/// Packets of silence sent after the signal (20 ms at full speed).
const DRAIN_PACKETS: usize = 20;

/// What `probe usbfs` was asked for.
struct UsbfsProbe {
    id: UsbId,
    interface: u8,
    alt: u8,
    volume_unit: Option<u8>,
    seconds: f64,
    sent_path: Option<PathBuf>,
    urbs: usize,
    packets_per_urb: usize,
}

fn usbfs(p: UsbfsProbe) -> Result<(), String> {
    let UsbfsProbe { id, interface, alt, volume_unit, seconds, sent_path, urbs, packets_per_urb } = p;
    if !(0.01..=600.0).contains(&seconds) || !(1..=32).contains(&urbs) || !(1..=128).contains(&packets_per_urb) {
        return Err("--seconds 0.01-600, --urbs 1-32, --packets 1-128".into());
    }

    let info = usb_sysfs::find(Path::new(pci_sysfs::SYSFS), id).map_err(|e| e.to_string())?;
    let dev = UsbfsDevice::open_info(&info).map_err(|e| e.to_string())?;
    println!("device={} node={} speed={:?}", dev.name(), info.node().display(), dev.speed());
    let raw = dev.descriptors().to_vec();
    let d = descriptors::DeviceDescriptor::parse(&raw).ok_or("the device descriptor does not parse")?;
    println!("id={:04x}:{:04x} configurations={}", d.vendor, d.product, d.num_configurations);
    let cfgs = descriptors::configurations(&raw);
    let cfg = cfgs.first().ok_or("no configuration descriptor")?;
    let setting =
        cfg.interface(interface, alt).ok_or_else(|| format!("interface {interface} has no alternate setting {alt}"))?;
    let ep = setting
        .endpoints
        .iter()
        .find(|e| e.transfer_type() == 1 && !e.is_in())
        .ok_or_else(|| format!("interface {interface} alt {alt} has no isochronous OUT endpoint"))?;
    let packet = ep.max_bytes_per_interval() as usize;
    println!("endpoint={:#04x} max_packet={packet} interval={} sync={}", ep.address, ep.interval, ep.sync_type());

    dev.claim_interface(interface).map_err(|e| e.to_string())?;
    dev.set_alt_setting(interface, alt).map_err(|e| e.to_string())?;
    if let Some(unit) = volume_unit {
        // The feature unit's volume at its maximum on channels 1 and 2,
        // through the class driver's own request (its model tells the
        // interface and the UAC version).
        let model = outboard_uac::parse::parse_device(&raw, dev.speed(), dev.name()).map_err(|e| e.to_string())?;
        for channel in 1..=2u8 {
            match outboard_uac::controls::set_volume(&dev, &model, unit, channel, i16::MAX) {
                Ok(()) => {}
                Err(outboard_uac::Error::Hal(outboard_hal::Error::Stall { .. })) => {
                    println!("volume channel {channel}: stalled (not supported)")
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    // 48 kHz stereo S16: 192 bytes per 1 ms packet at full speed.
    let frame = 4usize;
    let frames_per_packet = 48usize;
    let bytes_per_packet = frames_per_packet * frame;
    if bytes_per_packet > packet {
        return Err(format!("a {bytes_per_packet}-byte packet does not fit the endpoint's {packet} bytes"));
    }
    let frames = (seconds * 48_000.0) as usize / frames_per_packet * frames_per_packet;
    let data = signal::to_le_bytes(&signal::test_signal(frames, 2, 2));
    // Trailing silence lets the device play out what it has buffered before
    // the alternate setting goes back to zero bandwidth (QEMU's usb-audio
    // drops its buffer then, as a real device may).
    let mut stream = data.clone();
    stream.resize(data.len() + DRAIN_PACKETS * bytes_per_packet, 0);
    let chunks: Vec<&[u8]> = stream.chunks(bytes_per_packet * packets_per_urb).collect();
    let started = Instant::now();
    let (mut next, mut done, mut short, mut failed) = (0usize, 0usize, 0usize, 0usize);
    let deadline = started + Duration::from_secs_f64(seconds * 4.0 + 5.0);
    while done < chunks.len() {
        while next < chunks.len() && dev.in_flight() < urbs {
            let chunk = chunks[next];
            let lengths = vec![bytes_per_packet as u32; chunk.len() / bytes_per_packet];
            dev.submit(Transfer::isochronous(ep.address, chunk.to_vec(), lengths, next as u64))
                .map_err(|e| e.to_string())?;
            next += 1;
        }
        if Instant::now() > deadline {
            return Err(format!("streaming took longer than its deadline ({done} of {} transfers done)", chunks.len()));
        }
        if let Some(c) = dev.reap(Duration::from_millis(500)).map_err(|e| e.to_string())? {
            c.check(dev.name()).map_err(|e| e.to_string())?;
            for p in &c.iso_packets {
                if p.status != outboard_hal::usb::TransferStatus::Completed {
                    failed += 1;
                } else if p.actual_length < p.length {
                    short += 1;
                }
            }
            done += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!("sent_frames={frames} transfers={done} packets={} failed_packets={failed} short_packets={short} seconds={elapsed:.2}", stream.len() / bytes_per_packet);
    dev.set_alt_setting(interface, 0).map_err(|e| e.to_string())?;
    dev.release_interface(interface).map_err(|e| e.to_string())?;
    if let Some(p) = sent_path {
        std::fs::write(&p, &data).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    if failed > 0 || short > 0 {
        return Err(format!("{failed} packets failed and {short} were cut short"));
    }
    Ok(())
}
