//! The USB/IP data phase on the wire: the 48-byte headers of
//! USBIP_CMD_SUBMIT / USBIP_RET_SUBMIT / USBIP_CMD_UNLINK / USBIP_RET_UNLINK and
//! the 16-byte isochronous packet descriptor, every field big-endian
//! (Linux `Documentation/usb/usbip_protocol.rst`, `drivers/usb/usbip/usbip_common.h`).
//!
//! Each struct is `#[repr(C)]` and made only of byte arrays, so its layout is
//! the wire layout (no padding, alignment 1) and any 48 or 16 bytes are a
//! valid value: zerocopy's derives check exactly that at compile time, and
//! the tests pin sizes and offsets to the spec's tables.

use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout, Unaligned};

/// A big-endian 32-bit field.
#[derive(Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
#[repr(transparent)]
pub struct Be32([u8; 4]);

impl Be32 {
    pub fn new(v: u32) -> Be32 {
        Be32(v.to_be_bytes())
    }
    pub fn signed(v: i32) -> Be32 {
        Be32(v.to_be_bytes())
    }
    pub fn get(self) -> u32 {
        u32::from_be_bytes(self.0)
    }
    pub fn get_signed(self) -> i32 {
        i32::from_be_bytes(self.0)
    }
}

impl std::fmt::Debug for Be32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#x}", self.get())
    }
}

/// `command` values.
#[doc(alias = "USBIP_CMD_SUBMIT")]
pub const CMD_SUBMIT: u32 = 0x0001;
#[doc(alias = "USBIP_CMD_UNLINK")]
pub const CMD_UNLINK: u32 = 0x0002;
#[doc(alias = "USBIP_RET_SUBMIT")]
pub const RET_SUBMIT: u32 = 0x0003;
#[doc(alias = "USBIP_RET_UNLINK")]
pub const RET_UNLINK: u32 = 0x0004;
/// `direction` values.
#[doc(alias = "USBIP_DIR_OUT")]
pub const DIR_OUT: u32 = 0;
#[doc(alias = "USBIP_DIR_IN")]
pub const DIR_IN: u32 = 1;

/// Size of every header (the basic header plus the largest union member).
pub const HEADER_SIZE: usize = 48;
/// Size of one isochronous packet descriptor.
pub const ISO_DESCRIPTOR_SIZE: usize = 16;

/// The part every header starts with.
#[doc(alias = "usbip_header_basic")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
#[repr(C)]
pub struct HeaderBasic {
    pub command: Be32,
    pub seqnum: Be32,
    /// The client's (busnum << 16 | devnum); 0 in the server's replies.
    pub devid: Be32,
    pub direction: Be32,
    /// Endpoint number (no direction bit).
    pub ep: Be32,
}

/// USBIP_CMD_SUBMIT: a URB from the client (vhci-hcd). Followed by
/// `transfer_buffer_length` bytes for OUT, then `number_of_packets`
/// [`IsoPacketDescriptor`]s for an isochronous URB.
#[doc(alias = "usbip_header_cmd_submit")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
#[repr(C)]
pub struct CmdSubmit {
    pub basic: HeaderBasic,
    /// USBIP_URB_* flags.
    pub transfer_flags: Be32,
    pub transfer_buffer_length: Be32,
    pub start_frame: Be32,
    /// Isochronous packets (0, or 0xffffffff, for other transfers).
    pub number_of_packets: Be32,
    /// urb->interval: (micro)frames.
    pub interval: Be32,
    /// The SETUP packet of a control transfer, as on the bus (little-endian fields).
    pub setup: [u8; 8],
}

/// USBIP_RET_SUBMIT: the completed URB. Followed by `actual_length` bytes for
/// IN (isochronous: the packets' data back to back, without the gaps), then
/// the packet descriptors for an isochronous URB.
#[doc(alias = "usbip_header_ret_submit")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
#[repr(C)]
pub struct RetSubmit {
    pub basic: HeaderBasic,
    /// 0 or a negative errno.
    pub status: Be32,
    pub actual_length: Be32,
    pub start_frame: Be32,
    pub number_of_packets: Be32,
    pub error_count: Be32,
    pub padding: [u8; 8],
}

/// USBIP_CMD_UNLINK: cancel the URB `unlink_seqnum`.
#[doc(alias = "usbip_header_cmd_unlink")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
#[repr(C)]
pub struct CmdUnlink {
    pub basic: HeaderBasic,
    #[doc(alias = "seqnum")]
    pub unlink_seqnum: Be32,
    pub padding: [u8; 24],
}

/// USBIP_RET_UNLINK: -ECONNRESET if the URB was cancelled (it then gets no
/// RET_SUBMIT), 0 if it had already completed.
#[doc(alias = "usbip_header_ret_unlink")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
#[repr(C)]
pub struct RetUnlink {
    pub basic: HeaderBasic,
    pub status: Be32,
    pub padding: [u8; 24],
}

/// One isochronous packet: where it sits in the URB's buffer, how long it
/// may be, how much moved and how it ended.
#[doc(alias = "usbip_iso_packet_descriptor")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
#[repr(C)]
pub struct IsoPacketDescriptor {
    pub offset: Be32,
    pub length: Be32,
    pub actual_length: Be32,
    /// 0 or a negative errno.
    pub status: Be32,
}

/// Conversion between a wire struct and its bytes.
pub trait Wire: Copy + FromBytes + IntoBytes + Immutable {
    const SIZE: usize;
    /// `None` unless `bytes` is exactly the struct's size.
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Self::read_from_bytes(bytes).ok()
    }
    fn to_bytes(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}

macro_rules! wire {
    ($t:ty, $size:expr) => {
        impl Wire for $t {
            const SIZE: usize = $size;
        }

        // The struct is exactly its wire size.
        const _: () = assert!(std::mem::size_of::<$t>() == $size);

        impl $t {
            pub fn from_array(array: [u8; $size]) -> $t {
                // Sizes agree (asserted above), so this is the only arm taken.
                Self::read_from_bytes(&array).unwrap_or_else(|_| Self::new_zeroed())
            }
        }
    };
}

wire!(CmdSubmit, HEADER_SIZE);
wire!(RetSubmit, HEADER_SIZE);
wire!(CmdUnlink, HEADER_SIZE);
wire!(RetUnlink, HEADER_SIZE);
wire!(IsoPacketDescriptor, ISO_DESCRIPTOR_SIZE);

impl HeaderBasic {
    /// The basic header of a server reply: command and seqnum, the rest 0
    /// (the spec: "for server (response), this shall be set to 0").
    pub fn reply(command: u32, seqnum: u32) -> HeaderBasic {
        HeaderBasic { command: Be32::new(command), seqnum: Be32::new(seqnum), ..HeaderBasic::default() }
    }
}

/// The command word of a header (its first four bytes).
pub fn command_of(header: &[u8; HEADER_SIZE]) -> u32 {
    u32::from_be_bytes([header[0], header[1], header[2], header[3]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    /// Offsets from the tables of Documentation/usb/usbip_protocol.rst.
    #[test]
    fn layouts_match_the_spec_tables() {
        assert_eq!(size_of::<HeaderBasic>(), 0x14);
        assert_eq!(offset_of!(HeaderBasic, command), 0);
        assert_eq!(offset_of!(HeaderBasic, seqnum), 4);
        assert_eq!(offset_of!(HeaderBasic, devid), 8);
        assert_eq!(offset_of!(HeaderBasic, direction), 0xc);
        assert_eq!(offset_of!(HeaderBasic, ep), 0x10);

        assert_eq!(size_of::<CmdSubmit>(), 0x30);
        assert_eq!(offset_of!(CmdSubmit, transfer_flags), 0x14);
        assert_eq!(offset_of!(CmdSubmit, transfer_buffer_length), 0x18);
        assert_eq!(offset_of!(CmdSubmit, start_frame), 0x1c);
        assert_eq!(offset_of!(CmdSubmit, number_of_packets), 0x20);
        assert_eq!(offset_of!(CmdSubmit, interval), 0x24);
        assert_eq!(offset_of!(CmdSubmit, setup), 0x28);

        assert_eq!(size_of::<RetSubmit>(), 0x30);
        assert_eq!(offset_of!(RetSubmit, status), 0x14);
        assert_eq!(offset_of!(RetSubmit, actual_length), 0x18);
        assert_eq!(offset_of!(RetSubmit, start_frame), 0x1c);
        assert_eq!(offset_of!(RetSubmit, number_of_packets), 0x20);
        assert_eq!(offset_of!(RetSubmit, error_count), 0x24);
        assert_eq!(offset_of!(RetSubmit, padding), 0x28);

        assert_eq!(size_of::<CmdUnlink>(), 0x30);
        assert_eq!(offset_of!(CmdUnlink, unlink_seqnum), 0x14);
        assert_eq!(offset_of!(CmdUnlink, padding), 0x18);
        assert_eq!(size_of::<RetUnlink>(), 0x30);
        assert_eq!(offset_of!(RetUnlink, status), 0x14);

        assert_eq!(size_of::<IsoPacketDescriptor>(), 16);
        assert_eq!(offset_of!(IsoPacketDescriptor, offset), 0);
        assert_eq!(offset_of!(IsoPacketDescriptor, length), 4);
        assert_eq!(offset_of!(IsoPacketDescriptor, actual_length), 8);
        assert_eq!(offset_of!(IsoPacketDescriptor, status), 12);

        assert_eq!((CMD_SUBMIT, CMD_UNLINK, RET_SUBMIT, RET_UNLINK), (1, 2, 3, 4));
        assert_eq!((DIR_OUT, DIR_IN), (0, 1));
    }

    /// The spec's captured HID example (CmdIntrOUT and RetIntrOut), byte for byte.
    #[test]
    fn decodes_and_encodes_the_spec_example() {
        let hex = "00000001 00000d06 0001000f 00000000 00000001 00000000 00000040 ffffffff 00000000 00000004 00000000 00000000";
        let bytes: Vec<u8> = hex.split(' ').flat_map(|w| u32::from_str_radix(w, 16).unwrap().to_be_bytes()).collect();
        let cmd = CmdSubmit::from_bytes(&bytes).unwrap();
        assert_eq!(cmd.basic.command.get(), CMD_SUBMIT);
        assert_eq!(cmd.basic.seqnum.get(), 0xd06);
        assert_eq!(cmd.basic.devid.get(), 0x0001_000f);
        assert_eq!(cmd.basic.direction.get(), DIR_OUT);
        assert_eq!(cmd.basic.ep.get(), 1);
        assert_eq!(cmd.transfer_buffer_length.get_signed(), 0x40);
        assert_eq!(cmd.start_frame.get_signed(), -1);
        assert_eq!(cmd.number_of_packets.get_signed(), 0);
        assert_eq!(cmd.interval.get_signed(), 4);
        assert_eq!(cmd.to_bytes(), bytes);

        let ret = RetSubmit {
            basic: HeaderBasic::reply(RET_SUBMIT, 0xd06),
            actual_length: Be32::signed(0x40),
            start_frame: Be32::signed(-1),
            ..RetSubmit::default()
        };
        let want = "00000003 00000d06 00000000 00000000 00000000 00000000 00000040 ffffffff 00000000 00000000 00000000 00000000";
        let want: Vec<u8> = want.split(' ').flat_map(|w| u32::from_str_radix(w, 16).unwrap().to_be_bytes()).collect();
        assert_eq!(ret.to_bytes(), want);
        let mut header = [0u8; HEADER_SIZE];
        header.copy_from_slice(&want);
        assert_eq!(command_of(&header), RET_SUBMIT);
    }

    #[test]
    fn wrong_sizes_are_refused() {
        assert!(CmdSubmit::from_bytes(&[0; 47]).is_none());
        assert!(IsoPacketDescriptor::from_bytes(&[0; 17]).is_none());
        let d = IsoPacketDescriptor {
            offset: Be32::new(192),
            length: Be32::new(192),
            actual_length: Be32::new(100),
            status: Be32::signed(-18),
        };
        assert_eq!(
            d.to_bytes(),
            [0, 0, 0, 192, 0, 0, 0, 192, 0, 0, 0, 100, 0xff, 0xff, 0xff, 0xee],
            "big-endian, status -EXDEV"
        );
        assert_eq!(IsoPacketDescriptor::from_bytes(&d.to_bytes()), Some(d));
    }
}
