//! Plugging a served function into the local kernel's vhci-hcd: a socketpair,
//! one end written to vhci's `attach` file with a free port, the other served
//! on a thread (`drivers/usb/usbip/vhci_sysfs.c`).

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use outboard_hal::usb::mem::UsbFunction;
use outboard_hal::usb::Speed;

use super::server::{Server, ServerHandle, SessionEnd};
use super::{Error, Result};

/// The first vhci-hcd controller's sysfs directory.
pub const VHCI_DIR: &str = "/sys/devices/platform/vhci_hcd.0";

/// Where the kernel lists USB devices by bus path.
const USB_DEVICES: &str = "/sys/bus/usb/devices";

/// `enum usbip_device_status` values a vhci port shows (include/uapi/linux/usbip.h).
#[doc(alias = "usbip_device_status")]
pub mod port_status {
    /// Nothing attached.
    #[doc(alias = "VDEV_ST_NULL")]
    pub const NULL: u32 = 4;
    /// Attached, no USB address yet.
    #[doc(alias = "VDEV_ST_NOTASSIGNED")]
    pub const NOT_ASSIGNED: u32 = 5;
    /// Attached and addressed: `local_busid` names the device.
    #[doc(alias = "VDEV_ST_USED")]
    pub const USED: u32 = 6;
    #[doc(alias = "VDEV_ST_ERROR")]
    pub const ERROR: u32 = 7;
}

/// How long a detach may take to end the session.
const DETACH_DEADLINE: Duration = Duration::from_secs(5);

/// One line of vhci's `status` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortStatus {
    /// "hs" (USB 2 root hub: low, full and high speed) or "ss".
    pub hub: String,
    /// The number `attach` and `detach` take.
    pub port: u32,
    /// One of [`port_status`].
    pub status: u32,
    /// `enum usb_device_speed` of what is attached.
    pub speed: u32,
    pub devid: u32,
    /// The guest's bus path of the device ("3-1"), "0-0" when none.
    pub busid: String,
}

/// Parse vhci's `status` file: a header line, then
/// `hub port sta spd dev sockfd local_busid` per port. Lines that do not
/// parse are skipped with a warning.
pub fn parse_status(text: &str) -> Vec<PortStatus> {
    let mut out = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let parsed = (|| {
            let [hub, port, sta, spd, dev, _sockfd, busid] = f.as_slice() else { return None };
            Some(PortStatus {
                hub: hub.to_string(),
                port: port.parse().ok()?,
                status: sta.parse().ok()?,
                speed: spd.parse().ok()?,
                devid: u32::from_str_radix(dev, 16).ok()?,
                busid: busid.to_string(),
            })
        })();
        match parsed {
            Some(p) => out.push(p),
            None => log::warn!("vhci status: cannot read the line {line:?}"),
        }
    }
    out
}

fn read_status(dir: &Path) -> Result<Vec<PortStatus>> {
    let path = dir.join("status");
    let text = std::fs::read_to_string(&path).map_err(|source| Error::File { path, source })?;
    Ok(parse_status(&text))
}

/// `enum usb_device_speed`'s value for a speed (hal's `Speed::from_kernel` is the table).
fn kernel_speed(speed: Speed) -> Option<u32> {
    if speed == Speed::Unknown {
        return None;
    }
    (1..=6).find(|&v| Speed::from_kernel(v) == speed).map(|v| v as u32)
}

fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    // One write: sysfs takes the whole line or fails with the store's errno.
    std::fs::OpenOptions::new().write(true).open(path)?.write_all(text.as_bytes())
}

/// A function plugged into vhci-hcd. Dropping it unplugs the device.
pub struct Attachment {
    dir: PathBuf,
    port: u32,
    handle: ServerHandle,
    thread: Option<JoinHandle<Result<SessionEnd>>>,
    done: Receiver<()>,
}

/// Plug `function` into this machine's vhci-hcd as a device of `speed`.
pub fn attach(function: Box<dyn UsbFunction>, speed: Speed) -> Result<Attachment> {
    attach_at(Path::new(VHCI_DIR), function, speed)
}

/// [`attach`] through the vhci-hcd sysfs directory `dir`.
pub fn attach_at(dir: &Path, function: Box<dyn UsbFunction>, speed: Speed) -> Result<Attachment> {
    let Some(kspeed) = kernel_speed(speed) else {
        return Err(Error::Unsupported(format!("a device of speed {speed:?}")));
    };
    let hub = if matches!(speed, Speed::Super | Speed::SuperPlus) { "ss" } else { "hs" };
    let (ours, kernels) =
        UnixStream::pair().map_err(|source| Error::Io { what: "creating a socketpair".into(), source })?;
    let attach_path = dir.join("attach");
    let mut chosen = None;
    for p in read_status(dir)?.iter().filter(|p| p.hub == hub && p.status == port_status::NULL) {
        // The kernel looks the descriptor up in the writing process and keeps
        // its own reference to the socket.
        let devid = 0x0001_0000 | (p.port + 2);
        let line = format!("{} {} {devid} {kspeed}\n", p.port, kernels.as_raw_fd());
        match write_file(&attach_path, &line) {
            Ok(()) => {
                chosen = Some(p.port);
                break;
            }
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                log::debug!("vhci port {} was taken meanwhile", p.port);
            }
            Err(source) => return Err(Error::File { path: attach_path, source }),
        }
    }
    let Some(port) = chosen else {
        return Err(Error::NoFreePort { path: dir.join("status"), hub: hub.to_string() });
    };
    drop(kernels);
    log::info!("usbip: attached as vhci port {port} ({speed:?} speed)");

    let server = Server::new(function, speed);
    let handle = server.handle();
    let (done_tx, done) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(format!("usbip-port{port}"))
        .spawn(move || {
            let r = server.run(ours);
            let _ = done_tx.send(());
            r
        })
        .map_err(|source| Error::Io { what: "starting the server thread".into(), source })?;
    Ok(Attachment { dir: dir.to_path_buf(), port, handle, thread: Some(thread), done })
}

impl Attachment {
    /// The vhci port number.
    pub fn port(&self) -> u32 {
        self.port
    }

    /// The session's counters and stop switch.
    pub fn handle(&self) -> &ServerHandle {
        &self.handle
    }

    /// Whether the session has ended (the kernel dropped the connection, or an error).
    pub fn session_ended(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Wait until the kernel has enumerated and configured the device;
    /// returns its bus path ("3-1", as under /sys/bus/usb/devices).
    pub fn wait_enumerated(&mut self, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(p) = read_status(&self.dir)?.into_iter().find(|p| p.port == self.port) {
                // The port says "used" from SET_ADDRESS on; the device is in
                // sysfs only once its descriptors are read, and configured
                // when bConfigurationValue is not empty.
                let config = Path::new(USB_DEVICES).join(&p.busid).join("bConfigurationValue");
                let configured = std::fs::read_to_string(config).is_ok_and(|v| !v.trim().is_empty());
                if p.status == port_status::USED && p.busid != "0-0" && configured {
                    return Ok(p.busid);
                }
            }
            if self.session_ended() {
                let why = match self.join() {
                    Ok(end) => format!("the session ended ({end:?})"),
                    Err(e) => e.to_string(),
                };
                return Err(Error::Protocol(format!("vhci port {} never enumerated: {why}", self.port)));
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout {
                    what: format!("vhci port {} to enumerate (status in {})", self.port, self.dir.display()),
                    ms: timeout.as_millis() as u64,
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Unplug: vhci's `detach` (the kernel closes the connection), then wait
    /// for the session to end. Returns how it ended.
    pub fn detach(mut self) -> Result<SessionEnd> {
        self.detach_inner()
    }

    fn join(&mut self) -> Result<SessionEnd> {
        match self.thread.take() {
            Some(t) => t.join().unwrap_or_else(|_| Err(Error::Protocol("the server thread panicked".into()))),
            None => Ok(SessionEnd::PeerClosed),
        }
    }

    fn detach_inner(&mut self) -> Result<SessionEnd> {
        if self.thread.is_none() {
            return Ok(SessionEnd::PeerClosed);
        }
        let attached = read_status(&self.dir)?.iter().any(|p| p.port == self.port && p.status != port_status::NULL);
        if attached && !self.session_ended() {
            let path = self.dir.join("detach");
            if let Err(source) = write_file(&path, &format!("{}\n", self.port)) {
                self.handle.stop();
                let _ = self.join();
                return Err(Error::File { path, source });
            }
        }
        match self.done.recv_timeout(DETACH_DEADLINE) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => self.join(),
            Err(RecvTimeoutError::Timeout) => {
                // The kernel did not close the connection: close it ourselves.
                self.handle.stop();
                let r = self.join();
                log::warn!("vhci port {}: the kernel did not end the session after detach", self.port);
                r
            }
        }
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        if let Err(e) = self.detach_inner() {
            log::warn!("vhci port {}: detach: {e}", self.port);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As vhci_sysfs.c's status_show prints it (two ports per hub here).
    const STATUS: &str = "hub port sta spd dev      sockfd local_busid
hs  0000 006 003 00010002 000003 3-1
hs  0001 004 000 00000000 000000 0-0
ss  0002 004 000 00000000 000000 0-0
ss  0003 004 000 00000000 000000 0-0
";

    #[test]
    fn status_lines_parse() {
        let s = parse_status(STATUS);
        assert_eq!(s.len(), 4);
        assert_eq!(
            s[0],
            PortStatus {
                hub: "hs".into(),
                port: 0,
                status: port_status::USED,
                speed: 3,
                devid: 0x0001_0002,
                busid: "3-1".into()
            }
        );
        assert_eq!((s[1].port, s[1].status), (1, port_status::NULL));
        assert_eq!(parse_status("header\nhs  xx 004\n").len(), 0, "a bad line is skipped");
    }

    #[test]
    fn usbip_status_values_match_the_uapi_enum() {
        // enum usbip_device_status starts SDEV_ST_AVAILABLE = 1, then
        // SDEV_ST_USED, SDEV_ST_ERROR, VDEV_ST_NULL, VDEV_ST_NOTASSIGNED, VDEV_ST_USED, VDEV_ST_ERROR.
        use port_status::*;
        assert_eq!([NULL, NOT_ASSIGNED, USED, ERROR], [4, 5, 6, 7]);
        assert_eq!(kernel_speed(Speed::Full), Some(2));
        assert_eq!(kernel_speed(Speed::High), Some(3));
        assert_eq!(kernel_speed(Speed::Unknown), None);
    }

    struct Nothing;
    impl UsbFunction for Nothing {
        fn descriptors(&self) -> Vec<u8> {
            Vec::new()
        }
        fn speed(&self) -> Speed {
            Speed::High
        }
        fn control(
            &mut self,
            _: &outboard_hal::usb::ControlSetup,
            _: &[u8],
        ) -> std::result::Result<Vec<u8>, outboard_hal::usb::TransferStatus> {
            Err(outboard_hal::usb::TransferStatus::Stall)
        }
        fn set_alt_setting(&mut self, _: u8, _: u8) -> std::result::Result<(), outboard_hal::usb::TransferStatus> {
            Ok(())
        }
        fn transfer(
            &mut self,
            _: &mut outboard_hal::usb::Transfer,
        ) -> (outboard_hal::usb::TransferStatus, Vec<outboard_hal::usb::IsoPacketResult>, usize) {
            (outboard_hal::usb::TransferStatus::Completed, Vec::new(), 0)
        }
    }

    fn fake_vhci(status: &str) -> PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "outboard-vhci-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("status"), status).unwrap();
        std::fs::write(dir.join("attach"), "").unwrap();
        dir
    }

    #[test]
    fn attach_writes_port_fd_devid_speed_to_a_free_port_of_the_right_hub() {
        let dir = fake_vhci(STATUS);
        let a = attach_at(&dir, Box::new(Nothing), Speed::High).unwrap();
        assert_eq!(a.port(), 1, "port 0 is in use; 1 is the free high-speed one");
        let line = std::fs::read_to_string(dir.join("attach")).unwrap();
        let f: Vec<u32> = line.split_whitespace().map(|w| w.parse().unwrap()).collect();
        assert_eq!(f.len(), 4, "{line:?}");
        assert_eq!((f[0], f[3]), (1, 3), "port 1, USB_SPEED_HIGH: {line:?}");
        assert!(f[1] > 2, "a socket descriptor: {line:?}");
        // The kernel's end is gone (no kernel here): the session sees it closed.
        assert_eq!(a.detach().unwrap(), SessionEnd::PeerClosed);

        let super_speed = attach_at(&dir, Box::new(Nothing), Speed::Super).unwrap();
        assert_eq!(super_speed.port(), 2);
        drop(super_speed);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_name_the_file_and_the_lack_of_ports() {
        let dir = fake_vhci("hub port sta spd dev sockfd local_busid\nhs  0000 006 003 00010002 000003 3-1\n");
        let err = attach_at(&dir, Box::new(Nothing), Speed::Full).err().unwrap();
        assert!(matches!(err, Error::NoFreePort { .. }), "{err}");
        assert!(err.to_string().contains("status"), "{err}");

        let missing = dir.join("nowhere");
        let err = attach_at(&missing, Box::new(Nothing), Speed::Full).err().unwrap();
        let text = err.to_string();
        assert!(text.contains("nowhere/status") && text.contains("os error 2"), "{text}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
