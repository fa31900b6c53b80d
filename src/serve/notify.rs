//! systemd's readiness protocol (sd_notify): `READY=1` once the nodes exist,
//! `STOPPING=1` at shutdown, sent to `$NOTIFY_SOCKET` when systemd set it
//! (`Type=notify` units). Without it, nothing is sent. The socket is
//! connected at start, before the daemon drops its privileges.

use std::os::unix::net::UnixDatagram;
use std::sync::OnceLock;

/// The socket to the service manager, connected once: at start, while the
/// daemon may still create sockets and reach any path (it serves as an
/// unprivileged user under a seccomp filter later).
static SOCKET: OnceLock<Option<UnixDatagram>> = OnceLock::new();

/// Connect to `$NOTIFY_SOCKET` now, if systemd set it.
pub fn connect() {
    SOCKET.get_or_init(open);
}

fn open() -> Option<UnixDatagram> {
    let path = std::env::var_os("NOTIFY_SOCKET")?;
    let sock = UnixDatagram::unbound().ok()?;
    let bytes = path.as_encoded_bytes();
    let connected = if let Some(name) = bytes.strip_prefix(b"@") {
        // An abstract socket: its name follows a NUL.
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name).and_then(|a| sock.connect_addr(&a))
    } else {
        sock.connect(std::path::Path::new(&path))
    };
    match connected {
        Ok(()) => Some(sock),
        Err(e) => {
            log::warn!("sd_notify: {}: {e}", path.to_string_lossy());
            None
        }
    }
}

/// Send `state` (e.g. "READY=1") to the service manager, if there is one.
pub fn notify(state: &str) {
    if let Some(sock) = SOCKET.get_or_init(open) {
        if let Err(e) = sock.send(state.as_bytes()) {
            log::warn!("sd_notify {state}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_reaches_a_path_socket() {
        let path = std::env::temp_dir().join(format!("outboard-notify-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).unwrap();
        // No other test reads NOTIFY_SOCKET.
        std::env::set_var("NOTIFY_SOCKET", &path);
        notify("READY=1");
        std::env::remove_var("NOTIFY_SOCKET");
        let mut buf = [0u8; 64];
        listener.set_read_timeout(Some(std::time::Duration::from_secs(2))).unwrap();
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        std::fs::remove_file(&path).unwrap();
    }
}
