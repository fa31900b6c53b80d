//! An in-memory USB device: the backend emulated USB devices plug into.
//!
//! The emulator implements [`UsbFunction`]; [`MemUsb`] gives a driver the
//! ordinary [`UsbDevice`] interface over it, completing transfers in the order
//! they were submitted when the driver reaps them. [`MemUsb::unplug`] makes
//! the device vanish as a hot-unplug would.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::{Completion, ControlSetup, IsoPacketResult, Speed, Transfer, TransferStatus, UsbDevice};
use crate::{Error, Result};

/// What an emulated USB device does with requests.
pub trait UsbFunction: Send {
    /// Device descriptor followed by the configuration descriptors.
    fn descriptors(&self) -> Vec<u8>;
    fn speed(&self) -> Speed;
    /// Answer a control request: IN data (empty for OUT), or a STALL/error status.
    fn control(&mut self, setup: &ControlSetup, data_out: &[u8]) -> std::result::Result<Vec<u8>, TransferStatus>;
    /// Select an alternate setting.
    fn set_alt_setting(&mut self, interface: u8, alt: u8) -> std::result::Result<(), TransferStatus>;
    /// Carry out a transfer: consume OUT data, or fill the IN buffer. Returns
    /// the overall status, per-packet results (isochronous) and bytes moved.
    fn transfer(&mut self, transfer: &mut Transfer) -> (TransferStatus, Vec<IsoPacketResult>, usize);
    /// Where on the bus the next isochronous transfer's packets fall: its
    /// first packet's (micro)frame and the (micro)frames between packets.
    /// Told just before [`UsbFunction::transfer`] by a host that keeps bus
    /// time (the USB/IP server); `MemUsb`, which does not, never calls it.
    fn bus_time(&mut self, start_tick: u64, interval: u64) {
        let _ = (start_tick, interval);
    }
}

struct Queue {
    /// Transfers in submission order, each with whether it was cancelled.
    transfers: VecDeque<(Transfer, bool)>,
}

/// An emulated USB device behind the [`UsbDevice`] trait.
pub struct MemUsb {
    name: String,
    descriptors: Vec<u8>,
    speed: Speed,
    function: Mutex<Box<dyn UsbFunction>>,
    queue: Mutex<Queue>,
    ready: Condvar,
    connected: AtomicBool,
    claimed: Mutex<HashSet<u8>>,
}

impl std::fmt::Debug for MemUsb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemUsb").field("name", &self.name).finish()
    }
}

impl MemUsb {
    pub fn new(name: &str, function: Box<dyn UsbFunction>) -> MemUsb {
        MemUsb {
            name: name.to_string(),
            descriptors: function.descriptors(),
            speed: function.speed(),
            function: Mutex::new(function),
            queue: Mutex::new(Queue { transfers: VecDeque::new() }),
            ready: Condvar::new(),
            connected: AtomicBool::new(true),
            claimed: Mutex::new(HashSet::new()),
        }
    }

    /// The device goes away: every call from now on fails as on a real
    /// unplug, and transfers in flight complete as Disconnected.
    pub fn unplug(&self) {
        self.connected.store(false, Ordering::SeqCst);
        self.ready.notify_all();
    }

    /// Run `f` on the emulated function (to set what it will do next, or read
    /// what it received).
    pub fn with_function<R>(&self, f: impl FnOnce(&mut dyn UsbFunction) -> R) -> R {
        f(self.function.lock().unwrap_or_else(|e| e.into_inner()).as_mut())
    }

    /// Interfaces currently claimed.
    pub fn claimed(&self) -> Vec<u8> {
        let mut v: Vec<u8> = self.claimed.lock().unwrap_or_else(|e| e.into_inner()).iter().copied().collect();
        v.sort();
        v
    }

    fn check_connected(&self) -> Result<()> {
        if self.connected.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(Error::Disconnected { device: self.name.clone() })
        }
    }

    fn status_err(&self, what: String, status: TransferStatus) -> Error {
        match status.to_result(&self.name, || what) {
            Err(e) => e,
            Ok(()) => Error::Invalid(format!("{}: a completed request reported as an error", self.name)),
        }
    }
}

impl UsbDevice for MemUsb {
    fn name(&self) -> &str {
        &self.name
    }

    fn descriptors(&self) -> &[u8] {
        &self.descriptors
    }

    fn speed(&self) -> Speed {
        self.speed
    }

    fn claim_interface(&self, interface: u8) -> Result<()> {
        self.check_connected()?;
        self.claimed.lock().unwrap_or_else(|e| e.into_inner()).insert(interface);
        Ok(())
    }

    fn release_interface(&self, interface: u8) -> Result<()> {
        self.claimed.lock().unwrap_or_else(|e| e.into_inner()).remove(&interface);
        self.check_connected()
    }

    fn set_alt_setting(&self, interface: u8, alt: u8) -> Result<()> {
        self.check_connected()?;
        self.with_function(|f| f.set_alt_setting(interface, alt))
            .map_err(|_| Error::Invalid(format!("{}: interface {interface} has no alternate setting {alt}", self.name)))
    }

    fn control_in(&self, setup: ControlSetup, buf: &mut [u8], _timeout: Duration) -> Result<usize> {
        self.check_connected()?;
        let data =
            self.with_function(|f| f.control(&ControlSetup { length: buf.len() as u16, ..setup }, &[])).map_err(
                |s| self.status_err(format!("control request {:#04x}/{:#04x}", setup.request_type, setup.request), s),
            )?;
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Ok(n)
    }

    fn control_out(&self, setup: ControlSetup, data: &[u8], _timeout: Duration) -> Result<()> {
        self.check_connected()?;
        self.with_function(|f| f.control(&ControlSetup { length: data.len() as u16, ..setup }, data)).map(drop).map_err(
            |s| self.status_err(format!("control request {:#04x}/{:#04x}", setup.request_type, setup.request), s),
        )
    }

    fn submit(&self, transfer: Transfer) -> Result<()> {
        self.check_connected()?;
        if transfer.kind == super::TransferKind::Isochronous {
            let total: u64 = transfer.iso_packets.iter().map(|&l| u64::from(l)).sum();
            if transfer.iso_packets.is_empty() || total != transfer.buffer.len() as u64 {
                return Err(Error::Invalid(format!(
                    "{}: isochronous packet sizes do not add up to the buffer",
                    self.name
                )));
            }
        }
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.transfers.push_back((transfer, false));
        self.ready.notify_all();
        Ok(())
    }

    fn reap(&self, timeout: Duration) -> Result<Option<Completion>> {
        let deadline = Instant::now() + timeout;
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some((mut t, cancelled)) = q.transfers.pop_front() {
                let connected = self.connected.load(Ordering::SeqCst);
                drop(q);
                let (status, iso_packets, actual_length) = if !connected {
                    (TransferStatus::Disconnected, Vec::new(), 0)
                } else if cancelled {
                    (TransferStatus::Cancelled, Vec::new(), 0)
                } else {
                    self.with_function(|f| f.transfer(&mut t))
                };
                return Ok(Some(Completion { transfer: t, status, actual_length, iso_packets }));
            }
            self.check_connected()?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            q = self.ready.wait_timeout(q, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    fn cancel_all(&self) -> Result<()> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.transfers.iter_mut().for_each(|(_, c)| *c = true);
        Ok(())
    }

    fn cancel_endpoint(&self, endpoint: u8) -> Result<()> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.transfers.iter_mut().filter(|(t, _)| t.endpoint == endpoint).for_each(|(_, c)| *c = true);
        Ok(())
    }

    fn in_flight(&self) -> usize {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).transfers.len()
    }

    fn in_flight_on(&self, endpoint: u8) -> usize {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .transfers
            .iter()
            .filter(|(t, _)| t.endpoint == endpoint)
            .count()
    }

    fn clear_halt(&self, _endpoint: u8) -> Result<()> {
        self.check_connected()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usb::{request_type, TransferKind};

    /// A tiny isochronous sink that records what it was sent and stalls
    /// sampling-rate requests, as QEMU's usb-audio does.
    struct Sink {
        got: Vec<u8>,
        alt: u8,
    }

    impl UsbFunction for Sink {
        fn descriptors(&self) -> Vec<u8> {
            crate::usb::descriptors::tests::qemu_usb_audio()
        }
        fn speed(&self) -> Speed {
            Speed::Full
        }
        fn control(&mut self, setup: &ControlSetup, _: &[u8]) -> std::result::Result<Vec<u8>, TransferStatus> {
            if setup.request_type & request_type::ENDPOINT != 0 {
                return Err(TransferStatus::Stall);
            }
            Ok(vec![0x00, 0x7f])
        }
        fn set_alt_setting(&mut self, _: u8, alt: u8) -> std::result::Result<(), TransferStatus> {
            if alt > 1 {
                return Err(TransferStatus::Stall);
            }
            self.alt = alt;
            Ok(())
        }
        fn transfer(&mut self, t: &mut Transfer) -> (TransferStatus, Vec<IsoPacketResult>, usize) {
            if self.alt != 1 {
                return (TransferStatus::Error(libc::EXDEV), Vec::new(), 0);
            }
            self.got.extend_from_slice(&t.buffer);
            let p = t
                .iso_packets
                .iter()
                .map(|&l| IsoPacketResult { length: l, actual_length: l, status: TransferStatus::Completed })
                .collect();
            (TransferStatus::Completed, p, t.buffer.len())
        }
    }

    fn dev() -> MemUsb {
        MemUsb::new("usb emu 46f4:0002", Box::new(Sink { got: Vec::new(), alt: 0 }))
    }

    #[test]
    fn streams_in_order_and_the_function_sees_every_byte() {
        let d = dev();
        d.claim_interface(1).unwrap();
        d.set_alt_setting(1, 1).unwrap();
        for i in 0..4u8 {
            d.submit(Transfer::isochronous(0x01, vec![i; 384], vec![192, 192], u64::from(i))).unwrap();
        }
        assert_eq!(d.in_flight(), 4);
        for i in 0..4u64 {
            let c = d.reap(Duration::from_secs(1)).unwrap().unwrap();
            assert_eq!(c.transfer.user_data, i);
            c.check(d.name()).unwrap();
            assert_eq!(c.iso_packets.len(), 2);
        }
        assert!(d.reap(Duration::from_millis(10)).unwrap().is_none());
        let n = d.with_function(|_| 0); // the function is reachable
        assert_eq!(n, 0);
        assert_eq!(d.claimed(), vec![1]);
    }

    #[test]
    fn stalls_and_bad_alt_settings_are_errors_not_panics() {
        let d = dev();
        let setup = ControlSetup {
            request_type: request_type::DIR_OUT | request_type::CLASS | request_type::ENDPOINT,
            request: 1,
            value: 0x0100,
            index: 1,
            length: 3,
        };
        let err = d.control_out(setup, &[0x80, 0xbb, 0], Duration::from_secs(1)).unwrap_err();
        assert!(matches!(err, Error::Stall { .. }), "{err}");
        assert!(d.set_alt_setting(1, 7).unwrap_err().to_string().contains("no alternate setting 7"));
        let mut buf = [0u8; 2];
        let get = ControlSetup {
            request_type: request_type::DIR_IN | request_type::CLASS | request_type::INTERFACE,
            request: 0x81,
            value: 0x0200,
            index: 0x0200,
            length: 2,
        };
        assert_eq!(d.control_in(get, &mut buf, Duration::from_secs(1)).unwrap(), 2);
        assert!(d.submit(Transfer::isochronous(1, vec![0; 10], vec![4], 0)).is_err());
        let t = Transfer {
            endpoint: 0x81,
            kind: TransferKind::Bulk,
            buffer: vec![0; 8],
            iso_packets: vec![],
            user_data: 0,
        };
        d.submit(t).unwrap();
        let c = d.reap(Duration::from_secs(1)).unwrap().unwrap();
        assert!(c.check(d.name()).is_err(), "alt 0 has no streaming endpoint");
    }

    #[test]
    fn cancel_and_unplug_complete_what_is_in_flight() {
        let d = dev();
        d.set_alt_setting(1, 1).unwrap();
        d.submit(Transfer::isochronous(1, vec![1; 192], vec![192], 1)).unwrap();
        d.cancel_all().unwrap();
        assert_eq!(d.reap(Duration::from_secs(1)).unwrap().unwrap().status, TransferStatus::Cancelled);

        d.submit(Transfer::isochronous(1, vec![1; 192], vec![192], 2)).unwrap();
        d.unplug();
        let c = d.reap(Duration::from_secs(1)).unwrap().unwrap();
        assert_eq!(c.status, TransferStatus::Disconnected);
        let err = d.reap(Duration::from_secs(1)).unwrap_err();
        assert!(matches!(err, Error::Disconnected { .. }));
        assert!(err.to_string().contains("46f4:0002"), "{err}");
        assert!(d.submit(Transfer::isochronous(1, vec![1; 192], vec![192], 3)).is_err());
    }
}
