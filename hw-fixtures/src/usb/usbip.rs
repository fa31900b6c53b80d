//! A USB/IP server for emulated USB functions (being written).
