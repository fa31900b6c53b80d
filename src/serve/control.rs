//! The control socket: `outboard serve` answers each connection with its
//! client listing; `outboard clients` asks and prints it.

use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use outboard_alsa::pcm::Pcm;
use outboard_oss::dsp::Dsp;
use serde::Serialize;

use crate::signals;

/// One client of one node, as listed.
#[derive(Debug, Serialize)]
pub struct ClientRow {
    pub node: String,
    pub pid: u32,
    pub program: String,
    pub mode: String,
    pub format: String,
    pub state: String,
    pub xruns: u64,
}

const HEADER: &str = "NODE\tPID\tPROGRAM\tMODE\tFORMAT\tSTATE\tXRUNS";

/// Where the listing's rows come from: the OSS and ALSA nodes.
pub enum Source {
    Oss(Arc<Dsp>),
    Alsa(Arc<Pcm>),
}

impl Source {
    /// The rows `caller` may see: every client for root, else only that
    /// user's own (the daemon reads other users' pids and programs as
    /// root, past /proc's hidepid).
    fn rows(&self, caller: u32) -> Vec<String> {
        let clients = match self {
            Source::Oss(h) => h.clients(),
            Source::Alsa(h) => h.clients(),
        };
        clients
            .iter()
            .filter(|c| caller == 0 || owner(c.pid) == Some(caller))
            .map(|c| {
                format!("{}\t{}\t{}\t{}\t{}\t{}\t{}\n", c.node, c.pid, c.program, c.mode, c.format, c.state, c.xruns)
            })
            .collect()
    }
}

/// Answer each connection on `listener` with the clients of `sources`,
/// until a stop is asked for.
pub fn serve(listener: UnixListener, sources: Vec<Source>) {
    if listener.set_nonblocking(true).is_err() {
        return;
    }
    let fd = std::os::fd::AsRawFd::as_raw_fd(&listener);
    while !signals::stopping() {
        // Asleep until a connection or the stop: no wakeups while idle.
        if !signals::wait(Some(fd), Duration::from_secs(60)) {
            continue;
        }
        match listener.accept() {
            Ok((mut conn, _)) => {
                let _ = conn.set_write_timeout(Some(Duration::from_secs(1)));
                // Who asks; unknown, they see only what nobody owns.
                let caller = peer_uid(&conn).unwrap_or(u32::MAX);
                let text: String = sources.iter().flat_map(|s| s.rows(caller)).collect();
                let _ = conn.write_all(text.as_bytes());
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// The user a process runs as (its real uid), if it still runs.
fn owner(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().next()?.parse().ok()
}

/// The user at the other end of a connection (SO_PEERCRED).
fn peer_uid(conn: &UnixStream) -> Option<u32> {
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: a connected socket's descriptor, and a ucred with its size for
    // getsockopt to fill in.
    let rc = unsafe {
        libc::getsockopt(
            std::os::fd::AsRawFd::as_raw_fd(conn),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(cred.uid)
}

/// The rows of a listing's text.
fn rows(text: &str) -> Vec<ClientRow> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let [node, pid, program, mode, format, state, xruns] = f.as_slice() else { return None };
            Some(ClientRow {
                node: node.to_string(),
                pid: pid.parse().ok()?,
                program: program.to_string(),
                mode: mode.to_string(),
                format: format.to_string(),
                state: state.to_string(),
                xruns: xruns.parse().ok()?,
            })
        })
        .collect()
}

/// `outboard clients [--control PATH] [--json]`: who holds which node.
pub fn clients(control: &Path, json: bool) -> Result<(), String> {
    let mut conn = UnixStream::connect(control)
        .map_err(|e| format!("{}: {e} (is `outboard serve` running?)", control.display()))?;
    conn.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut conn, &mut text).map_err(|e| format!("{}: {e}", control.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows(&text)).map_err(|e| e.to_string())?);
    } else {
        println!("{HEADER}");
        print!("{text}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callers_uid_and_a_processs_owner_come_from_the_kernel() {
        let (a, _b) = UnixStream::pair().unwrap();
        // SAFETY: getuid has no preconditions.
        let me = unsafe { libc::getuid() };
        assert_eq!(peer_uid(&a), Some(me));
        assert_eq!(owner(std::process::id()), Some(me));
        assert_eq!(owner(u32::MAX), None, "no such process");
    }

    #[test]
    fn listing_rows_parse() {
        let r = rows("/dev/dsp\t42\tpython3\tw\tS16Le 48000 Hz 2 ch\trunning\t0\nbroken line\n");
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].node.as_str(), r[0].pid, r[0].program.as_str(), r[0].xruns), ("/dev/dsp", 42, "python3", 0));
    }
}
