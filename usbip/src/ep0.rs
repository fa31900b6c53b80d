//! Endpoint 0: the standard requests a USB device answers itself (USB 2.0
//! §9.4), from the function's descriptors; everything else (class, vendor,
//! strings, qualifiers) goes to [`UsbFunction::control`].

use std::collections::BTreeMap;

use outboard_hal::usb::descriptors::{configurations, walk};
use outboard_hal::usb::mem::UsbFunction;
use outboard_hal::usb::{ControlSetup, TransferStatus};

/// bRequest of the standard requests (USB 2.0 Table 9-4).
pub use outboard_hal::usb::request;

/// bmRequestType's type bits (6:5) and recipient bits (4:0).
const TYPE_MASK: u8 = 0x60;
const RECIPIENT_MASK: u8 = 0x1f;
/// bmAttributes of a configuration: self-powered (bit 6).
const SELF_POWERED: u8 = 0x40;

/// What ep0 remembers between requests.
#[derive(Debug, Default)]
pub struct Ep0 {
    /// bConfigurationValue set by SET_CONFIGURATION (0: unconfigured).
    pub configuration: u8,
    /// The alternate setting selected on each interface.
    pub alts: BTreeMap<u8, u8>,
}

/// The SETUP packet's fields (its bytes are little-endian, as on the bus).
pub fn parse_setup(bytes: &[u8; 8]) -> ControlSetup {
    ControlSetup {
        request_type: bytes[0],
        request: bytes[1],
        value: u16::from_le_bytes([bytes[2], bytes[3]]),
        index: u16::from_le_bytes([bytes[4], bytes[5]]),
        length: u16::from_le_bytes([bytes[6], bytes[7]]),
    }
}

impl Ep0 {
    /// Carry out a control request: IN data (not yet cut to wLength), or the
    /// status to report (a STALL for a request nobody answers).
    pub fn handle(
        &mut self,
        function: &mut dyn UsbFunction,
        setup: &ControlSetup,
        data_out: &[u8],
    ) -> Result<Vec<u8>, TransferStatus> {
        use outboard_hal::usb::request_type::{DEVICE, ENDPOINT, INTERFACE, STANDARD};
        if setup.request_type & TYPE_MASK != STANDARD {
            return function.control(setup, data_out);
        }
        let recipient = setup.request_type & RECIPIENT_MASK;
        match setup.request {
            request::GET_DESCRIPTOR if recipient == DEVICE => self.get_descriptor(function, setup, data_out),
            request::SET_ADDRESS => Ok(Vec::new()), // vhci-hcd answers it itself; harmless if it comes
            request::GET_CONFIGURATION => Ok(vec![self.configuration]),
            request::SET_CONFIGURATION => self.set_configuration(function, setup.value as u8),
            request::GET_INTERFACE if recipient == INTERFACE => {
                Ok(vec![self.alts.get(&(setup.index as u8)).copied().unwrap_or(0)])
            }
            request::SET_INTERFACE if recipient == INTERFACE => {
                let (interface, alt) = (setup.index as u8, setup.value as u8);
                function.set_alt_setting(interface, alt)?;
                log::debug!("usbip: interface {interface} alt {alt}");
                self.alts.insert(interface, alt);
                Ok(Vec::new())
            }
            request::GET_STATUS => {
                let self_powered = recipient == DEVICE && self.attributes(function) & SELF_POWERED != 0;
                Ok(vec![u8::from(self_powered), 0])
            }
            // ENDPOINT_HALT and remote wakeup: an emulated endpoint never halts.
            request::CLEAR_FEATURE | request::SET_FEATURE if recipient == ENDPOINT || recipient == DEVICE => {
                Ok(Vec::new())
            }
            _ => function.control(setup, data_out),
        }
    }

    fn get_descriptor(
        &mut self,
        function: &mut dyn UsbFunction,
        setup: &ControlSetup,
        data_out: &[u8],
    ) -> Result<Vec<u8>, TransferStatus> {
        use outboard_hal::usb::descriptors::kind;
        let (kind, index) = ((setup.value >> 8) as u8, setup.value as u8);
        let all = function.descriptors();
        match kind {
            kind::DEVICE => walk(&all).next().map(<[u8]>::to_vec).ok_or(TransferStatus::Stall),
            kind::CONFIGURATION => config_bytes(&all, index).map(<[u8]>::to_vec).ok_or(TransferStatus::Stall),
            // Strings, device qualifier, BOS, other-speed: the function's own.
            _ => function.control(setup, data_out),
        }
    }

    fn set_configuration(&mut self, function: &mut dyn UsbFunction, value: u8) -> Result<Vec<u8>, TransferStatus> {
        let all = function.descriptors();
        let configs = configurations(&all);
        let interfaces: Vec<u8> = match configs.iter().find(|c| c.value == value) {
            Some(c) => {
                let mut v: Vec<u8> = c.interfaces.iter().map(|i| i.number).collect();
                v.dedup();
                v
            }
            None if value == 0 => Vec::new(),
            None => {
                log::warn!("usbip: SET_CONFIGURATION {value}: the device has no such configuration");
                return Err(TransferStatus::Stall);
            }
        };
        drop(configs);
        // A new configuration starts every interface at alternate setting 0.
        self.alts.clear();
        for i in interfaces {
            if let Err(s) = function.set_alt_setting(i, 0) {
                log::debug!("usbip: interface {i} refused alt 0 at SET_CONFIGURATION: {s:?}");
            }
            self.alts.insert(i, 0);
        }
        self.configuration = value;
        log::debug!("usbip: configuration {value}");
        Ok(Vec::new())
    }

    /// bmAttributes of the current (else the first) configuration.
    fn attributes(&self, function: &dyn UsbFunction) -> u8 {
        let all = function.descriptors();
        let configs = configurations(&all);
        configs.iter().find(|c| c.value == self.configuration).or(configs.first()).map(|c| c.attributes).unwrap_or(0)
    }
}

/// The `index`th configuration's wTotalLength bytes in a descriptor blob
/// (device descriptor, then each configuration).
fn config_bytes(all: &[u8], index: u8) -> Option<&[u8]> {
    let dev = walk(all).next()?;
    let mut rest = &all[dev.len()..];
    for i in 0..=index {
        if rest.len() < 4 {
            return None;
        }
        let total = usize::from(u16::from_le_bytes([rest[2], rest[3]]));
        if total < 4 || total > rest.len() {
            log::warn!("usbip: configuration {i} claims {total} bytes, {} are there", rest.len());
            return None;
        }
        if i == index {
            return Some(&rest[..total]);
        }
        rest = &rest[total..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_codes_match_usb2_table_9_4() {
        use request::*;
        assert_eq!(
            [
                GET_STATUS,
                CLEAR_FEATURE,
                SET_FEATURE,
                SET_ADDRESS,
                GET_DESCRIPTOR,
                GET_CONFIGURATION,
                SET_CONFIGURATION,
                GET_INTERFACE,
                SET_INTERFACE
            ],
            [0, 1, 3, 5, 6, 8, 9, 10, 11]
        );
    }

    #[test]
    fn setup_fields_are_little_endian() {
        let s = parse_setup(&[0x80, 6, 0x00, 0x02, 0x09, 0x04, 0xff, 0x00]);
        assert_eq!((s.request_type, s.request, s.value, s.index, s.length), (0x80, 6, 0x0200, 0x0409, 255));
    }

    #[test]
    fn finds_each_configuration_and_refuses_a_lying_length() {
        let mut all = vec![18, 1];
        all.extend_from_slice(&[0; 16]);
        all.extend_from_slice(&[9, 2, 9, 0, 0, 1, 0, 0x80, 50]);
        all.extend_from_slice(&[9, 2, 12, 0, 0, 2, 0, 0x80, 50, 3, 0x24, 0]);
        assert_eq!(config_bytes(&all, 0).unwrap()[5], 1);
        assert_eq!(config_bytes(&all, 1).unwrap().len(), 12);
        assert!(config_bytes(&all, 2).is_none());
        let mut bad = all.clone();
        bad[18 + 2] = 200;
        assert!(config_bytes(&bad, 0).is_none());
    }
}
