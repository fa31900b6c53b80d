//! The streaming probe behind `outboard probe usbfs`: the hal's usbfs path
//! exercised on one alt setting with no model of the stream, one `key=value`
//! line per finding (the bench's hal-usbfs scenario reads them): the device
//! and endpoint as the descriptors give them, claim and alt setting, an
//! optional feature unit at full volume, then a 48 kHz S16 stereo signal sent
//! as isochronous packets with several URBs in flight.

use std::time::{Duration, Instant};

use outboard_hal::usb::{descriptors, Transfer, TransferStatus, UsbDevice};

use crate::Error;

/// Packets of silence sent after the signal (20 ms at full speed).
const DRAIN_PACKETS: usize = 20;
/// 48 kHz stereo S16 at full speed: 48 frames of 4 bytes per 1 ms packet.
const FRAMES_PER_PACKET: usize = 48;
const FRAME_BYTES: usize = 4;

/// What to stream, and how.
#[derive(Clone, Copy, Debug)]
pub struct StreamProbe {
    pub interface: u8,
    pub alt: u8,
    /// A feature unit to set to its maximum volume (channels 1 and 2) first.
    pub volume_unit: Option<u8>,
    pub seconds: f64,
    /// URBs in flight (1-32).
    pub urbs: usize,
    /// Packets per URB (1-128).
    pub packets_per_urb: usize,
}

/// Stream `signal(frames)` (S16 stereo bytes) to `dev` as `p` says; `say`
/// gets each finding. Returns the bytes of signal sent (without the trailing
/// silence).
pub fn stream_probe(
    dev: &dyn UsbDevice,
    p: StreamProbe,
    signal: &dyn Fn(usize) -> Vec<u8>,
    say: &mut dyn FnMut(String),
) -> Result<Vec<u8>, String> {
    let StreamProbe { interface, alt, volume_unit, seconds, urbs, packets_per_urb } = p;
    if !(0.01..=600.0).contains(&seconds) || !(1..=32).contains(&urbs) || !(1..=128).contains(&packets_per_urb) {
        return Err("--seconds 0.01-600, --urbs 1-32, --packets 1-128".into());
    }
    let e = |e: outboard_hal::Error| e.to_string();
    let raw = dev.descriptors().to_vec();
    let d = descriptors::DeviceDescriptor::parse(&raw).ok_or("the device descriptor does not parse")?;
    say(format!("id={:04x}:{:04x} configurations={}", d.vendor, d.product, d.num_configurations));
    let cfgs = descriptors::configurations(&raw);
    let cfg = cfgs.first().ok_or("no configuration descriptor")?;
    let setting =
        cfg.interface(interface, alt).ok_or_else(|| format!("interface {interface} has no alternate setting {alt}"))?;
    let ep = setting
        .endpoints
        .iter()
        .find(|e| e.transfer_type() == descriptors::TRANSFER_ISOCHRONOUS && !e.is_in())
        .ok_or_else(|| format!("interface {interface} alt {alt} has no isochronous OUT endpoint"))?;
    let packet = ep.max_bytes_per_interval() as usize;
    say(format!("endpoint={:#04x} max_packet={packet} interval={} sync={}", ep.address, ep.interval, ep.sync_type()));

    dev.claim_interface(interface).map_err(e)?;
    dev.set_alt_setting(interface, alt).map_err(e)?;
    if let Some(unit) = volume_unit {
        // The class driver's own request (its model tells the interface and
        // the UAC version).
        let model = crate::parse::parse_device(&raw, dev.speed(), dev.name()).map_err(|e| e.to_string())?;
        for channel in 1..=2u8 {
            match crate::controls::set_volume(dev, &model, unit, channel, i16::MAX) {
                Ok(()) => {}
                Err(Error::Hal(outboard_hal::Error::Stall { .. })) => {
                    say(format!("volume channel {channel}: stalled (not supported)"))
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    let bytes_per_packet = FRAMES_PER_PACKET * FRAME_BYTES;
    if bytes_per_packet > packet {
        return Err(format!("a {bytes_per_packet}-byte packet does not fit the endpoint's {packet} bytes"));
    }
    let frames = (seconds * 48_000.0) as usize / FRAMES_PER_PACKET * FRAMES_PER_PACKET;
    let data = signal(frames);
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
            dev.submit(Transfer::isochronous(ep.address, chunk.to_vec(), lengths, next as u64)).map_err(e)?;
            next += 1;
        }
        if Instant::now() > deadline {
            return Err(format!("streaming took longer than its deadline ({done} of {} transfers done)", chunks.len()));
        }
        if let Some(c) = dev.reap(Duration::from_millis(500)).map_err(e)? {
            c.check(dev.name()).map_err(e)?;
            for p in &c.iso_packets {
                if p.status != TransferStatus::Completed {
                    failed += 1;
                } else if p.actual_length < p.length {
                    short += 1;
                }
            }
            done += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    say(format!(
        "sent_frames={frames} transfers={done} packets={} failed_packets={failed} short_packets={short} seconds={elapsed:.2}",
        stream.len() / bytes_per_packet
    ));
    dev.set_alt_setting(interface, 0).map_err(e)?;
    dev.release_interface(interface).map_err(e)?;
    if failed > 0 || short > 0 {
        return Err(format!("{failed} packets failed and {short} were cut short"));
    }
    Ok(data)
}
