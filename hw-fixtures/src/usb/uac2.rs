//! An emulated high-speed UAC2 device (being written).
