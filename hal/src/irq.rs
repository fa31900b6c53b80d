//! Interrupts as pollable eventfds.
//!
//! VFIO delivers an interrupt by incrementing an eventfd; an emulated device
//! does the same with [`IrqEvent::trigger`]. A driver's engine thread waits on
//! [`IrqEvent::wait`] (with a deadline) or puts [`IrqEvent::as_raw_fd`] in its
//! own poll set.

use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};

use crate::{Error, Result};

/// Which interrupt mechanism a PCI device uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqKind {
    /// Message-signalled interrupt (one vector).
    Msi,
    /// Legacy level-triggered INTx; needs an unmask after each interrupt.
    Intx,
}

/// An interrupt line delivered as an eventfd. Clones share the eventfd.
#[derive(Clone, Debug)]
pub struct IrqEvent {
    fd: Arc<EventFd>,
    name: Arc<str>,
    kind: IrqKind,
}

impl IrqEvent {
    /// A new, unsignalled, non-blocking eventfd.
    pub fn new(name: &str, kind: IrqKind) -> Result<IrqEvent> {
        let fd =
            EventFd::new(EFD_NONBLOCK).map_err(|e| Error::Io { device: name.to_string(), op: "eventfd", source: e })?;
        Ok(IrqEvent { fd: Arc::new(fd), name: name.into(), kind })
    }

    /// The mechanism this event stands for.
    pub fn kind(&self) -> IrqKind {
        self.kind
    }

    /// The eventfd, for a caller's own poll set.
    pub fn eventfd(&self) -> &EventFd {
        &self.fd
    }

    /// Signal the interrupt (what the kernel or an emulated device does).
    pub fn trigger(&self) -> Result<()> {
        self.fd.write(1).map_err(|e| Error::Io { device: self.name.to_string(), op: "eventfd write", source: e })
    }

    /// Take the pending interrupt count without blocking (0 if none).
    pub fn take(&self) -> Result<u64> {
        match self.fd.read() {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(0),
            Err(e) => Err(Error::Io { device: self.name.to_string(), op: "eventfd read", source: e }),
        }
    }

    /// Wait until the interrupt fires or `timeout` passes; returns how many
    /// interrupts were counted.
    pub fn wait(&self, timeout: Duration) -> Result<u64> {
        let deadline = Instant::now() + timeout;
        loop {
            let n = self.take()?;
            if n > 0 {
                return Ok(n);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Timeout {
                    device: self.name.to_string(),
                    what: "an interrupt".into(),
                    ms: timeout.as_millis() as u64,
                });
            }
            poll_readable(self.fd.as_raw_fd(), left).map_err(|e| Error::Io {
                device: self.name.to_string(),
                op: "poll",
                source: e,
            })?;
        }
    }
}

impl AsRawFd for IrqEvent {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Poll one fd for `events` for at most `timeout`; returns the revents (0 on timeout).
pub(crate) fn poll_fd(fd: RawFd, events: libc::c_short, timeout: Duration) -> std::io::Result<libc::c_short> {
    let mut pfd = libc::pollfd { fd, events, revents: 0 };
    let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: pfd is a valid pollfd for the duration of the call; nfds = 1.
    let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
    match rc {
        -1 => {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                Ok(0)
            } else {
                Err(e)
            }
        }
        0 => Ok(0),
        _ => Ok(pfd.revents),
    }
}

fn poll_readable(fd: RawFd, timeout: Duration) -> std::io::Result<()> {
    poll_fd(fd, libc::POLLIN, timeout).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_wakes_a_waiter_with_the_count() {
        let irq = IrqEvent::new("test irq", IrqKind::Msi).unwrap();
        let device_side = irq.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            device_side.trigger().unwrap();
            device_side.trigger().unwrap();
        });
        let mut seen = irq.wait(Duration::from_secs(5)).unwrap();
        t.join().unwrap();
        seen += irq.take().unwrap();
        assert_eq!(seen, 2);
    }

    #[test]
    fn a_silent_line_times_out_with_a_named_error() {
        let irq = IrqEvent::new("0000:00:1b.0 MSI", IrqKind::Msi).unwrap();
        let err = irq.wait(Duration::from_millis(30)).unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }));
        assert!(err.to_string().contains("0000:00:1b.0 MSI"), "{err}");
    }
}
