//! Class-specific control requests: sample rate (UAC1 endpoint control,
//! UAC2 clock source), feature-unit volume and mute, clock validity,
//! selector-unit input.
//!
//! Volumes are in 1/256 dB as both class releases define them; `i16::MIN`
//! (0x8000) means silence.

use std::time::Duration;

use outboard_hal::usb::{request_type as rt, ControlSetup, UsbDevice};

use crate::model::{DeviceModel, EntityKind, Rates, UacVersion};
use crate::{Error, Result};

/// How long a control request may take (Linux allows 5 s; devices answer in
/// well under 100 ms).
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(1);

/// UAC1 request codes.
pub mod v1 {
    pub const SET_CUR: u8 = 0x01;
    pub const GET_CUR: u8 = 0x81;
    pub const GET_MIN: u8 = 0x82;
    pub const GET_MAX: u8 = 0x83;
    pub const GET_RES: u8 = 0x84;
    /// Endpoint control selector of the sampling frequency.
    pub const SAMPLING_FREQ_CONTROL: u8 = 0x01;
}

/// UAC2 request codes and clock control selectors.
pub mod v2 {
    pub const CUR: u8 = 0x01;
    pub const RANGE: u8 = 0x02;
    pub const CS_SAM_FREQ_CONTROL: u8 = 0x01;
    pub const CS_CLOCK_VALID_CONTROL: u8 = 0x02;
    /// Selector unit control selector (UAC2 §A.17.4).
    pub const SU_SELECTOR_CONTROL: u8 = 0x01;
}

/// A feature unit volume range, 1/256 dB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VolumeRange {
    pub min: i16,
    pub max: i16,
    pub res: i16,
}

impl VolumeRange {
    /// dB from a raw volume.
    pub fn db(raw: i16) -> f64 {
        f64::from(raw) / 256.0
    }
    /// The raw value nearest `db` that the range allows.
    pub fn raw_for_db(&self, db: f64) -> i16 {
        let raw = (db * 256.0).round().clamp(f64::from(self.min), f64::from(self.max));
        let res = f64::from(self.res.max(1));
        let steps = ((raw - f64::from(self.min)) / res).round();
        (f64::from(self.min) + steps * res).clamp(f64::from(self.min), f64::from(self.max)) as i16
    }
}

fn entity_setup(
    dir_in: bool,
    request: u8,
    selector: u8,
    channel: u8,
    entity: u8,
    interface: u8,
    len: usize,
) -> ControlSetup {
    ControlSetup {
        request_type: if dir_in { rt::DIR_IN } else { rt::DIR_OUT } | rt::CLASS | rt::INTERFACE,
        request,
        value: u16::from(selector) << 8 | u16::from(channel),
        index: u16::from(entity) << 8 | u16::from(interface),
        length: len as u16,
    }
}

/// Read an entity control; returns the bytes the device sent.
fn get(
    dev: &dyn UsbDevice,
    model: &DeviceModel,
    request: u8,
    selector: u8,
    channel: u8,
    entity: u8,
    len: usize,
) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let setup = entity_setup(true, request, selector, channel, entity, model.control_interface, len);
    let n = dev.control_in(setup, &mut buf, CONTROL_TIMEOUT)?;
    buf.truncate(n);
    Ok(buf)
}

fn set(
    dev: &dyn UsbDevice,
    model: &DeviceModel,
    request: u8,
    selector: u8,
    channel: u8,
    entity: u8,
    data: &[u8],
) -> Result<()> {
    let setup = entity_setup(false, request, selector, channel, entity, model.control_interface, data.len());
    Ok(dev.control_out(setup, data, CONTROL_TIMEOUT)?)
}

fn short(dev: &dyn UsbDevice, what: &str, got: usize, want: usize) -> Error {
    Error::Control {
        device: dev.name().into(),
        what: format!("{what}: the device answered {got} bytes, expected {want}"),
    }
}

fn le_i16(dev: &dyn UsbDevice, what: &str, b: &[u8]) -> Result<i16> {
    match b {
        [lo, hi, ..] => Ok(i16::from_le_bytes([*lo, *hi])),
        _ => Err(short(dev, what, b.len(), 2)),
    }
}

/// UAC1: set an endpoint's sampling frequency (3-byte SET_CUR to the endpoint).
pub fn set_endpoint_rate_v1(dev: &dyn UsbDevice, endpoint: u8, rate: u32) -> Result<()> {
    let setup = ControlSetup {
        request_type: rt::DIR_OUT | rt::CLASS | rt::ENDPOINT,
        request: v1::SET_CUR,
        value: u16::from(v1::SAMPLING_FREQ_CONTROL) << 8,
        index: u16::from(endpoint),
        length: 3,
    };
    Ok(dev.control_out(setup, &rate.to_le_bytes()[..3], CONTROL_TIMEOUT)?)
}

/// UAC1: read an endpoint's sampling frequency back.
pub fn get_endpoint_rate_v1(dev: &dyn UsbDevice, endpoint: u8) -> Result<u32> {
    let setup = ControlSetup {
        request_type: rt::DIR_IN | rt::CLASS | rt::ENDPOINT,
        request: v1::GET_CUR,
        value: u16::from(v1::SAMPLING_FREQ_CONTROL) << 8,
        index: u16::from(endpoint),
        length: 3,
    };
    let mut buf = [0u8; 3];
    let n = dev.control_in(setup, &mut buf, CONTROL_TIMEOUT)?;
    if n < 3 {
        return Err(short(dev, "sampling frequency GET_CUR", n, 3));
    }
    Ok(u32::from_le_bytes([buf[0], buf[1], buf[2], 0]))
}

/// UAC2: a clock source's current rate.
pub fn clock_rate(dev: &dyn UsbDevice, model: &DeviceModel, clock: u8) -> Result<u32> {
    let b = get(dev, model, v2::CUR, v2::CS_SAM_FREQ_CONTROL, 0, clock, 4)?;
    match b[..] {
        [a, b, c, d] => Ok(u32::from_le_bytes([a, b, c, d])),
        _ => Err(short(dev, "clock SAM_FREQ CUR", b.len(), 4)),
    }
}

/// UAC2: set a clock source's rate.
pub fn set_clock_rate(dev: &dyn UsbDevice, model: &DeviceModel, clock: u8, rate: u32) -> Result<()> {
    set(dev, model, v2::CUR, v2::CS_SAM_FREQ_CONTROL, 0, clock, &rate.to_le_bytes())
}

/// UAC2: whether a clock source reports a valid clock.
pub fn clock_valid(dev: &dyn UsbDevice, model: &DeviceModel, clock: u8) -> Result<bool> {
    let b = get(dev, model, v2::CUR, v2::CS_CLOCK_VALID_CONTROL, 0, clock, 1)?;
    b.first().map(|v| *v != 0).ok_or_else(|| short(dev, "CLOCK_VALID CUR", 0, 1))
}

/// UAC2: the rates a clock source offers (its SAM_FREQ RANGE: count, then
/// MIN/MAX/RES triples of u32). Asks for the count first, as devices expect.
pub fn clock_rates(dev: &dyn UsbDevice, model: &DeviceModel, clock: u8) -> Result<Rates> {
    let head = get(dev, model, v2::RANGE, v2::CS_SAM_FREQ_CONTROL, 0, clock, 2)?;
    let count = usize::from(le_i16(dev, "SAM_FREQ RANGE", &head)? as u16);
    if count == 0 || count > 256 {
        return Err(Error::Control {
            device: dev.name().into(),
            what: format!("clock {clock} reports {count} sample-rate ranges"),
        });
    }
    let want = 2 + 12 * count;
    let body = get(dev, model, v2::RANGE, v2::CS_SAM_FREQ_CONTROL, 0, clock, want)?;
    if body.len() < want {
        return Err(short(dev, "SAM_FREQ RANGE", body.len(), want));
    }
    Ok(rates_from_range(&body[2..], count))
}

/// Rates from RANGE triples: points become a discrete list; a stepped range
/// is expanded to the standard rates it contains (as Linux does); a range
/// with resolution 0 or 1 over a span becomes continuous.
pub fn rates_from_range(triples: &[u8], count: usize) -> Rates {
    const STANDARD: [u32; 14] =
        [5512, 8000, 11025, 16000, 22050, 32000, 44100, 48000, 64000, 88200, 96000, 176400, 192000, 384000];
    let mut discrete = Vec::new();
    let mut continuous: Option<(u32, u32)> = None;
    for t in triples.chunks_exact(12).take(count) {
        let word = |i: usize| u32::from_le_bytes([t[i], t[i + 1], t[i + 2], t[i + 3]]);
        let (min, max, res) = (word(0), word(4), word(8));
        if min == max {
            discrete.push(min);
        } else if min < max && res > 1 {
            discrete.extend(STANDARD.iter().copied().filter(|r| (min..=max).contains(r) && (r - min) % res == 0));
        } else if min < max {
            let (lo, hi) = continuous.unwrap_or((min, max));
            continuous = Some((lo.min(min), hi.max(max)));
        }
    }
    match continuous {
        Some((min, max)) if discrete.iter().all(|r| (min..=max).contains(r)) => Rates::Continuous { min, max },
        _ => {
            discrete.sort_unstable();
            discrete.dedup();
            Rates::Discrete(discrete)
        }
    }
}

/// A feature unit's volume range on one channel (0 = master).
pub fn volume_range(dev: &dyn UsbDevice, model: &DeviceModel, unit: u8, channel: u8) -> Result<VolumeRange> {
    let sel = crate::model::feature::selector(crate::model::feature::VOLUME);
    let what = "volume range";
    let range = match model.version {
        UacVersion::V1 => VolumeRange {
            min: le_i16(dev, what, &get(dev, model, v1::GET_MIN, sel, channel, unit, 2)?)?,
            max: le_i16(dev, what, &get(dev, model, v1::GET_MAX, sel, channel, unit, 2)?)?,
            res: le_i16(dev, what, &get(dev, model, v1::GET_RES, sel, channel, unit, 2)?)?,
        },
        UacVersion::V2 => {
            // Layout 2: wNumSubRanges, then MIN/MAX/RES as i16; the first sub-range is used.
            let b = get(dev, model, v2::RANGE, sel, channel, unit, 8)?;
            if b.len() < 8 {
                return Err(short(dev, what, b.len(), 8));
            }
            VolumeRange {
                min: le_i16(dev, what, &b[2..])?,
                max: le_i16(dev, what, &b[4..])?,
                res: le_i16(dev, what, &b[6..])?,
            }
        }
    };
    if range.min > range.max {
        return Err(Error::Control {
            device: dev.name().into(),
            what: format!(
                "unit {unit} reports a volume range from {} to {} dB",
                VolumeRange::db(range.min),
                VolumeRange::db(range.max)
            ),
        });
    }
    Ok(VolumeRange { res: range.res.max(1), ..range })
}

fn cur_request(model: &DeviceModel, dir_in: bool) -> u8 {
    match (model.version, dir_in) {
        (UacVersion::V1, true) => v1::GET_CUR,
        (UacVersion::V1, false) => v1::SET_CUR,
        (UacVersion::V2, _) => v2::CUR,
    }
}

/// A feature unit's current volume (1/256 dB).
pub fn volume(dev: &dyn UsbDevice, model: &DeviceModel, unit: u8, channel: u8) -> Result<i16> {
    let sel = crate::model::feature::selector(crate::model::feature::VOLUME);
    le_i16(dev, "volume", &get(dev, model, cur_request(model, true), sel, channel, unit, 2)?)
}

/// Set a feature unit's volume (1/256 dB).
pub fn set_volume(dev: &dyn UsbDevice, model: &DeviceModel, unit: u8, channel: u8, raw: i16) -> Result<()> {
    let sel = crate::model::feature::selector(crate::model::feature::VOLUME);
    set(dev, model, cur_request(model, false), sel, channel, unit, &raw.to_le_bytes())
}

/// A feature unit's mute.
pub fn mute(dev: &dyn UsbDevice, model: &DeviceModel, unit: u8, channel: u8) -> Result<bool> {
    let sel = crate::model::feature::selector(crate::model::feature::MUTE);
    let b = get(dev, model, cur_request(model, true), sel, channel, unit, 1)?;
    b.first().map(|v| *v != 0).ok_or_else(|| short(dev, "mute", 0, 1))
}

/// Set a feature unit's mute.
pub fn set_mute(dev: &dyn UsbDevice, model: &DeviceModel, unit: u8, channel: u8, on: bool) -> Result<()> {
    let sel = crate::model::feature::selector(crate::model::feature::MUTE);
    set(dev, model, cur_request(model, false), sel, channel, unit, &[u8::from(on)])
}

/// The channels (0 = master) of feature unit `unit` that have `control`.
pub fn channels_with(model: &DeviceModel, unit: u8, control: u8) -> Vec<u8> {
    match model.entity(unit).map(|e| &e.kind) {
        Some(EntityKind::FeatureUnit { controls, .. }) => (0..controls.len())
            .filter(|ch| controls[*ch] & (1 << control) != 0)
            .filter_map(|ch| u8::try_from(ch).ok())
            .collect(),
        _ => Vec::new(),
    }
}

/// The control selector a selector unit's input is addressed with: UAC1's
/// selector unit has one control and takes wValue 0 (UAC1 §5.2.2.3.3);
/// UAC2 names it SU_SELECTOR_CONTROL.
fn selector_cs(model: &DeviceModel) -> u8 {
    match model.version {
        UacVersion::V1 => 0,
        UacVersion::V2 => v2::SU_SELECTOR_CONTROL,
    }
}

/// A selector unit's current input: its pin, 1-based in the order of the
/// descriptor's baSourceID.
pub fn selector_input(dev: &dyn UsbDevice, model: &DeviceModel, unit: u8) -> Result<u8> {
    let b = get(dev, model, cur_request(model, true), selector_cs(model), 0, unit, 1)?;
    b.first().copied().ok_or_else(|| short(dev, "selector CUR", 0, 1))
}

/// Select a selector unit's input `pin` (1-based).
pub fn set_selector_input(dev: &dyn UsbDevice, model: &DeviceModel, unit: u8, pin: u8) -> Result<()> {
    set(dev, model, cur_request(model, false), selector_cs(model), 0, unit, &[pin])
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use outboard_hal::usb::mem::{MemUsb, UsbFunction};
    use outboard_hal::usb::{IsoPacketResult, Speed, Transfer, TransferStatus, UsbId};

    use super::*;

    /// The requests a device saw, with their OUT data.
    type Seen = Arc<Mutex<Vec<(ControlSetup, Vec<u8>)>>>;

    /// Answers every request with one byte (3) and records what it saw.
    struct Recorder(Seen);

    impl UsbFunction for Recorder {
        fn descriptors(&self) -> Vec<u8> {
            Vec::new()
        }
        fn speed(&self) -> Speed {
            Speed::High
        }
        fn control(&mut self, setup: &ControlSetup, data: &[u8]) -> std::result::Result<Vec<u8>, TransferStatus> {
            self.0.lock().unwrap().push((*setup, data.to_vec()));
            Ok(if setup.request_type & rt::DIR_IN != 0 { vec![3] } else { Vec::new() })
        }
        fn set_alt_setting(&mut self, _: u8, _: u8) -> std::result::Result<(), TransferStatus> {
            Ok(())
        }
        fn transfer(&mut self, _: &mut Transfer) -> (TransferStatus, Vec<IsoPacketResult>, usize) {
            (TransferStatus::Stall, Vec::new(), 0)
        }
    }

    fn model(version: UacVersion) -> DeviceModel {
        DeviceModel {
            id: UsbId { vendor: 0x1234, product: 0x5678 },
            speed: Speed::High,
            version,
            configuration: 1,
            control_interface: 0,
            entities: Vec::new(),
            streams: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// The requests as UAC1 §5.2.2.3.3 and UAC2 §5.2.5.3.1 lay them out:
    /// class, interface recipient, wIndex = unit << 8 | interface, one byte.
    #[test]
    fn selector_requests_on_the_wire() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let dev = MemUsb::new("rec", Box::new(Recorder(seen.clone())));
        let v1 = model(UacVersion::V1);
        assert_eq!(selector_input(&dev, &v1, 7).unwrap(), 3);
        set_selector_input(&dev, &v1, 7, 2).unwrap();
        let v2 = model(UacVersion::V2);
        assert_eq!(selector_input(&dev, &v2, 9).unwrap(), 3);
        set_selector_input(&dev, &v2, 9, 1).unwrap();
        let seen = seen.lock().unwrap();
        let wire: Vec<(u8, u8, u16, u16, u16, Vec<u8>)> =
            seen.iter().map(|(s, d)| (s.request_type, s.request, s.value, s.index, s.length, d.clone())).collect();
        assert_eq!(
            wire,
            [
                (0xa1, 0x81, 0x0000, 0x0700, 1, vec![]),  // UAC1 GET_CUR
                (0x21, 0x01, 0x0000, 0x0700, 1, vec![2]), // UAC1 SET_CUR
                (0xa1, 0x01, 0x0100, 0x0900, 1, vec![]),  // UAC2 CUR (get), SU_SELECTOR_CONTROL
                (0x21, 0x01, 0x0100, 0x0900, 1, vec![1]), // UAC2 CUR (set)
            ]
        );
    }
}
