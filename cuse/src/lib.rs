//! # outboard-cuse: a CUSE protocol server
//!
//! Will serve character devices from userspace through `/dev/cuse`: CUSE_INIT,
//! the FUSE request loop (open, release, read, write, poll, ioctl with
//! FUSE_IOCTL_RETRY round trips, interrupt). Filled by the cuse/compat-oss
//! issue; today it only names its job.
//!
//! Depends on no other Outboard crate.
