//! PCI configuration space registers (PCI Local Bus Specification 3.0, §6.1).

/// Vendor ID (16 bits).
pub const VENDOR_ID: u16 = 0x00;
/// Device ID (16 bits).
pub const DEVICE_ID: u16 = 0x02;
/// Command (16 bits).
pub const COMMAND: u16 = 0x04;
/// Command: respond to I/O space accesses.
pub const COMMAND_IO: u16 = 1 << 0;
/// Command: respond to memory space accesses.
pub const COMMAND_MEMORY: u16 = 1 << 1;
/// Command: the device may master the bus (DMA).
pub const COMMAND_BUS_MASTER: u16 = 1 << 2;
/// Command: INTx assertion disabled.
pub const COMMAND_INTX_DISABLE: u16 = 1 << 10;
/// Status (16 bits).
pub const STATUS: u16 = 0x06;
/// Revision ID (8 bits).
pub const REVISION_ID: u16 = 0x08;
/// Class code: programming interface (8 bits), then subclass and base class.
pub const CLASS_PROG_IF: u16 = 0x09;
/// Subsystem vendor ID (16 bits).
pub const SUBSYSTEM_VENDOR_ID: u16 = 0x2c;
/// Subsystem ID (16 bits).
pub const SUBSYSTEM_ID: u16 = 0x2e;
/// Capabilities pointer (8 bits).
pub const CAPABILITIES: u16 = 0x34;
/// Interrupt line (8 bits).
pub const INTERRUPT_LINE: u16 = 0x3c;
/// Interrupt pin (8 bits).
pub const INTERRUPT_PIN: u16 = 0x3d;
/// Size of the standard header.
pub const HEADER_SIZE: usize = 0x40;

/// Base class "multimedia", subclass "audio device" (HD Audio): 0x0403.
pub const CLASS_HDA: u16 = 0x0403;
