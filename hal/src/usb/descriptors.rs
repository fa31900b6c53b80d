//! Standard USB descriptors (USB 2.0 §9.6): bounds-checked, borrowed views.
//!
//! Class-specific descriptors (audio, ...) are not interpreted here; they are
//! handed to the class driver as raw slices attached to the interface or
//! endpoint they follow. A malformed descriptor ends the walk with a warning:
//! nothing past a bad length is trusted.

/// Descriptor types (bDescriptorType).
pub mod kind {
    pub const DEVICE: u8 = 1;
    pub const CONFIGURATION: u8 = 2;
    pub const STRING: u8 = 3;
    pub const INTERFACE: u8 = 4;
    pub const ENDPOINT: u8 = 5;
    pub const DEVICE_QUALIFIER: u8 = 6;
    pub const OTHER_SPEED_CONFIGURATION: u8 = 7;
    pub const INTERFACE_ASSOCIATION: u8 = 11;
    pub const CS_INTERFACE: u8 = 0x24;
    pub const CS_ENDPOINT: u8 = 0x25;
}

/// Iterate over the descriptors in `bytes`, each as a slice of its bLength.
/// Stops at the first descriptor whose length is impossible.
pub fn walk(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let len = usize::from(rest[0]);
        if len < 2 || len > rest.len() {
            log::warn!("USB descriptor with bLength {len} and {} bytes left: ignoring the rest", rest.len());
            rest = &[];
            return None;
        }
        let (d, tail) = rest.split_at(len);
        rest = tail;
        Some(d)
    })
}

fn le16(d: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([d[at], d[at + 1]])
}

/// The device descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceDescriptor {
    #[doc(alias = "bcdUSB")]
    pub usb_version: u16,
    #[doc(alias = "bDeviceClass")]
    pub class: u8,
    #[doc(alias = "bDeviceSubClass")]
    pub subclass: u8,
    #[doc(alias = "bDeviceProtocol")]
    pub protocol: u8,
    #[doc(alias = "bMaxPacketSize0")]
    pub max_packet_size0: u8,
    #[doc(alias = "idVendor")]
    pub vendor: u16,
    #[doc(alias = "idProduct")]
    pub product: u16,
    #[doc(alias = "bcdDevice")]
    pub device_version: u16,
    #[doc(alias = "iManufacturer")]
    pub manufacturer_index: u8,
    #[doc(alias = "iProduct")]
    pub product_index: u8,
    #[doc(alias = "iSerialNumber")]
    pub serial_index: u8,
    #[doc(alias = "bNumConfigurations")]
    pub num_configurations: u8,
}

impl DeviceDescriptor {
    /// Parse the 18-byte device descriptor at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Option<DeviceDescriptor> {
        let d = walk(bytes).next()?;
        if d.len() < 18 || d[1] != kind::DEVICE {
            return None;
        }
        Some(DeviceDescriptor {
            usb_version: le16(d, 2),
            class: d[4],
            subclass: d[5],
            protocol: d[6],
            max_packet_size0: d[7],
            vendor: le16(d, 8),
            product: le16(d, 10),
            device_version: le16(d, 12),
            manufacturer_index: d[14],
            product_index: d[15],
            serial_index: d[16],
            num_configurations: d[17],
        })
    }
}

/// An endpoint of an interface alternate setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint<'a> {
    #[doc(alias = "bEndpointAddress")]
    pub address: u8,
    #[doc(alias = "bmAttributes")]
    pub attributes: u8,
    #[doc(alias = "wMaxPacketSize")]
    pub max_packet_size: u16,
    #[doc(alias = "bInterval")]
    pub interval: u8,
    /// The whole endpoint descriptor (audio class endpoints are 9 bytes long,
    /// with bRefresh and bSynchAddress after bInterval).
    pub raw: &'a [u8],
    /// Class-specific descriptors that follow it.
    pub extra: Vec<&'a [u8]>,
}

/// [`Endpoint::transfer_type`] of an isochronous endpoint.
pub const TRANSFER_ISOCHRONOUS: u8 = 1;

impl Endpoint<'_> {
    pub fn is_in(&self) -> bool {
        self.address & 0x80 != 0
    }
    /// Transfer type: 0 control, 1 isochronous, 2 bulk, 3 interrupt.
    pub fn transfer_type(&self) -> u8 {
        self.attributes & 0x03
    }
    /// Isochronous synchronisation: 0 none, 1 asynchronous, 2 adaptive, 3 synchronous.
    pub fn sync_type(&self) -> u8 {
        (self.attributes >> 2) & 0x03
    }
    /// Isochronous usage: 0 data, 1 feedback, 2 implicit feedback data.
    pub fn usage_type(&self) -> u8 {
        (self.attributes >> 4) & 0x03
    }
    /// Bytes per (micro)frame: the 11-bit size times the high-bandwidth multiplier.
    pub fn max_bytes_per_interval(&self) -> u32 {
        let size = u32::from(self.max_packet_size & 0x7ff);
        let mult = u32::from((self.max_packet_size >> 11) & 0x3) + 1;
        size * mult
    }
}

/// One alternate setting of an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceAlt<'a> {
    #[doc(alias = "bInterfaceNumber")]
    pub number: u8,
    #[doc(alias = "bAlternateSetting")]
    pub alt: u8,
    #[doc(alias = "bInterfaceClass")]
    pub class: u8,
    #[doc(alias = "bInterfaceSubClass")]
    pub subclass: u8,
    #[doc(alias = "bInterfaceProtocol")]
    pub protocol: u8,
    #[doc(alias = "iInterface")]
    pub string_index: u8,
    /// Class-specific descriptors between the interface and its first endpoint.
    pub extra: Vec<&'a [u8]>,
    pub endpoints: Vec<Endpoint<'a>>,
}

/// A configuration and everything in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Configuration<'a> {
    #[doc(alias = "bConfigurationValue")]
    pub value: u8,
    #[doc(alias = "bmAttributes")]
    pub attributes: u8,
    #[doc(alias = "bMaxPower")]
    pub max_power: u8,
    /// Interface association descriptors, raw.
    pub associations: Vec<&'a [u8]>,
    pub interfaces: Vec<InterfaceAlt<'a>>,
}

impl<'a> Configuration<'a> {
    /// The alternate setting `alt` of interface `number`.
    pub fn interface(&self, number: u8, alt: u8) -> Option<&InterfaceAlt<'a>> {
        self.interfaces.iter().find(|i| i.number == number && i.alt == alt)
    }

    /// Parse one configuration from its descriptors (the first must be the
    /// configuration descriptor).
    pub fn parse(bytes: &'a [u8]) -> Option<Configuration<'a>> {
        let mut descs = walk(bytes);
        let head = descs.next()?;
        if head.len() < 9 || head[1] != kind::CONFIGURATION {
            return None;
        }
        let mut cfg = Configuration {
            value: head[5],
            attributes: head[7],
            max_power: head[8],
            associations: Vec::new(),
            interfaces: Vec::new(),
        };
        for d in descs {
            match d[1] {
                kind::INTERFACE if d.len() >= 9 => cfg.interfaces.push(InterfaceAlt {
                    number: d[2],
                    alt: d[3],
                    class: d[5],
                    subclass: d[6],
                    protocol: d[7],
                    string_index: d[8],
                    extra: Vec::new(),
                    endpoints: Vec::new(),
                }),
                kind::ENDPOINT if d.len() >= 7 => match cfg.interfaces.last_mut() {
                    Some(iface) => iface.endpoints.push(Endpoint {
                        address: d[2],
                        attributes: d[3],
                        max_packet_size: le16(d, 4),
                        interval: d[6],
                        raw: d,
                        extra: Vec::new(),
                    }),
                    None => log::warn!("USB endpoint descriptor before any interface: ignored"),
                },
                kind::INTERFACE_ASSOCIATION => cfg.associations.push(d),
                kind::INTERFACE | kind::ENDPOINT => {
                    log::warn!("short USB descriptor of type {} ({} bytes): ignored", d[1], d.len())
                }
                _ => match cfg.interfaces.last_mut() {
                    Some(iface) => match iface.endpoints.last_mut() {
                        Some(ep) => ep.extra.push(d),
                        None => iface.extra.push(d),
                    },
                    None => log::debug!("descriptor type {:#04x} before any interface: ignored", d[1]),
                },
            }
        }
        Some(cfg)
    }
}

/// Split usbfs's descriptor blob (device descriptor, then each configuration's
/// wTotalLength bytes) into configurations.
pub fn configurations(bytes: &[u8]) -> Vec<Configuration<'_>> {
    let Some(dev) = walk(bytes).next() else { return Vec::new() };
    let mut rest = &bytes[dev.len()..];
    let mut out = Vec::new();
    while rest.len() >= 4 {
        if rest[1] != kind::CONFIGURATION {
            log::warn!("expected a configuration descriptor, found type {:#04x}: ignoring the rest", rest[1]);
            break;
        }
        let total = usize::from(le16(rest, 2)).min(rest.len());
        if let Some(cfg) = Configuration::parse(&rest[..total]) {
            out.push(cfg);
        }
        if total == 0 {
            break;
        }
        rest = &rest[total..];
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The descriptors QEMU's usb-audio presents without `multi=on`, written
    /// out from hw/usb/dev-audio.c (desc_audio): the same bytes the bench guest
    /// reads through usbfs.
    #[rustfmt::skip]
    pub(crate) fn qemu_usb_audio() -> Vec<u8> {
        let mut d = vec![
            // device: bcdUSB 1.00, class 0 (per interface), ep0 64, 46f4:0002, strings 1/2/3, 1 configuration
            18, 1, 0x00, 0x01, 0, 0, 0, 64, 0xf4, 0x46, 0x02, 0x00, 0x00, 0x00, 1, 2, 3, 1,
        ];
        let mut cfg: Vec<u8> = vec![
            9, 2, 0, 0, 2, 1, 4, 0xc0, 0x32, // configuration 1: 2 interfaces, self-powered, 100 mA (total patched below)
            9, 4, 0, 0, 0, 1, 1, 0x04, 5, // AC interface 0 (protocol 0x04 as QEMU sets it)
            9, 0x24, 1, 0x00, 0x01, 0x2b, 0x00, 1, 1, // AC header 1.00, 43 bytes, streaming interface 1
            12, 0x24, 2, 1, 0x01, 0x01, 0, 2, 0x03, 0x00, 0, 6, // input terminal 1 (USB streaming), 2 ch L+R
            13, 0x24, 6, 2, 1, 2, 0x01, 0x00, 0x02, 0x00, 0x02, 0x00, 7, // feature unit 2: master mute, volume per channel
            9, 0x24, 3, 3, 0x01, 0x03, 0, 2, 8, // output terminal 3 (speaker) from unit 2
            9, 4, 1, 0, 0, 1, 2, 0, 9, // AS interface 1 alt 0 (zero bandwidth)
            9, 4, 1, 1, 1, 1, 2, 0, 10, // AS interface 1 alt 1
            7, 0x24, 1, 1, 0, 0x01, 0x00, // AS general: terminal 1, delay 0, PCM
            11, 0x24, 2, 1, 2, 2, 16, 1, 0x80, 0xbb, 0x00, // format type I: 2 ch, 2 bytes, 16 bit, 48000 Hz
            9, 5, 0x01, 0x0d, 0xc0, 0x00, 1, 0, 0, // iso OUT ep 1, synchronous, 192 bytes, interval 1
            7, 0x25, 1, 0, 0, 0, 0, // AS iso endpoint: no controls
        ];
        let total = cfg.len() as u16;
        cfg[2..4].copy_from_slice(&total.to_le_bytes());
        d.extend(cfg);
        d
    }

    #[test]
    fn parses_the_qemu_usb_audio_device() {
        let raw = qemu_usb_audio();
        let dev = DeviceDescriptor::parse(&raw).unwrap();
        assert_eq!((dev.vendor, dev.product, dev.num_configurations), (0x46f4, 0x0002, 1));
        let cfgs = configurations(&raw);
        assert_eq!(cfgs.len(), 1);
        let cfg = &cfgs[0];
        assert_eq!(cfg.interfaces.len(), 3);
        let ac = cfg.interface(0, 0).unwrap();
        assert_eq!((ac.class, ac.subclass), (1, 1));
        assert_eq!(ac.extra.len(), 4, "header, input terminal, feature unit, output terminal");
        let as1 = cfg.interface(1, 1).unwrap();
        assert_eq!(as1.extra.len(), 2);
        let ep = &as1.endpoints[0];
        assert_eq!((ep.address, ep.transfer_type(), ep.sync_type(), ep.max_bytes_per_interval()), (0x01, 1, 3, 192));
        assert_eq!(ep.raw.len(), 9);
        assert_eq!(ep.extra.len(), 1);
        assert!(cfg.interface(1, 0).unwrap().endpoints.is_empty());
    }

    #[test]
    fn malformed_lengths_stop_the_walk_without_panicking() {
        let mut raw = qemu_usb_audio();
        // Corrupt the feature unit's bLength to run past the end.
        let fu = raw.windows(3).position(|w| w == [13, 0x24, 6]).unwrap();
        raw[fu] = 250;
        let cfgs = configurations(&raw);
        assert_eq!(cfgs.len(), 1);
        assert!(cfgs[0].interface(1, 1).is_none(), "nothing after the bad descriptor is trusted");
        for cut in 0..raw.len() {
            let _ = configurations(&raw[..cut]);
            let _ = DeviceDescriptor::parse(&raw[..cut]);
        }
        assert!(walk(&[0, 4, 1]).next().is_none());
        assert_eq!(walk(&[2, 4, 1]).count(), 1);
    }
}
