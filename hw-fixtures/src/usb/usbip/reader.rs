//! The reader side of a session: takes USBIP_CMD_SUBMIT and USBIP_CMD_UNLINK
//! off the socket, checks them, and hands them to the session thread.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use super::wire::{self, CmdSubmit, CmdUnlink, IsoPacketDescriptor, Wire};
use super::{Error, Result};

/// Longest a message may take to arrive once its first byte has.
const MESSAGE_DEADLINE: Duration = Duration::from_secs(5);
/// Bounds on what a peer may ask for (vhci-hcd sends far less).
const MAX_TRANSFER: i32 = 16 << 20;
const MAX_PACKETS: i32 = 4096;
/// (Micro)frames; USB's longest is 2^15 microframes.
const MAX_INTERVAL: i32 = 1 << 16;

/// A USBIP_CMD_SUBMIT with its payload, checked.
#[derive(Debug)]
pub(super) struct Submit {
    pub(super) seqnum: u32,
    /// Endpoint address (bit 7 = IN).
    pub(super) address: u8,
    pub(super) transfer_buffer_length: usize,
    /// As sent; echoed in the reply.
    pub(super) number_of_packets: i32,
    pub(super) interval: u64,
    pub(super) setup: [u8; 8],
    /// OUT data (the whole transfer buffer).
    pub(super) data: Vec<u8>,
    /// Isochronous packets: (offset, length) in the transfer buffer.
    pub(super) iso: Vec<(u32, u32)>,
}

pub(super) enum Event {
    Submit(Box<Submit>),
    Unlink { seqnum: u32, target: u32 },
    Closed,
    Failed(Error),
}

enum Fill {
    Full,
    Closed,
    Stopped,
}

/// Fill `buf` from the socket. `idle` allows waiting forever for the first
/// byte (between messages); inside a message the rest must come within
/// [`MESSAGE_DEADLINE`].
fn read_full(socket: &mut impl Read, buf: &mut [u8], idle: bool, stop: &AtomicBool) -> Result<Fill> {
    let mut got = 0;
    let mut deadline = (!idle).then(|| Instant::now() + MESSAGE_DEADLINE);
    while got < buf.len() {
        if stop.load(Ordering::SeqCst) {
            return Ok(Fill::Stopped);
        }
        match socket.read(&mut buf[got..]) {
            Ok(0) if got == 0 && idle => return Ok(Fill::Closed),
            Ok(0) => {
                return Err(Error::Protocol(format!(
                    "the peer closed the connection {got} bytes into a {}-byte read",
                    buf.len()
                )))
            }
            Ok(n) => {
                got += n;
                deadline.get_or_insert_with(|| Instant::now() + MESSAGE_DEADLINE);
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                if deadline.is_some_and(|d| Instant::now() > d) {
                    return Err(Error::Protocol(format!(
                        "a message stopped arriving: {got} of {} bytes in {} s",
                        buf.len(),
                        MESSAGE_DEADLINE.as_secs()
                    )));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if got == 0 && idle && e.kind() == io::ErrorKind::ConnectionReset => return Ok(Fill::Closed),
            Err(source) => return Err(Error::Io { what: "reading from the peer".into(), source }),
        }
    }
    Ok(Fill::Full)
}

pub(super) fn read_loop(mut socket: impl Read, tx: &Sender<Event>, stop: &AtomicBool) {
    let event = loop {
        match read_message(&mut socket, stop) {
            Ok(Some(e)) => {
                if tx.send(e).is_err() {
                    return;
                }
            }
            Ok(None) => break Event::Closed,
            Err(e) => break Event::Failed(e),
        }
    };
    let _ = tx.send(event);
}

/// One command from the peer; `None` when the connection closed (or the
/// session is stopping) between messages.
fn read_message(socket: &mut impl Read, stop: &AtomicBool) -> Result<Option<Event>> {
    let mut header = [0u8; wire::HEADER_SIZE];
    match read_full(socket, &mut header, true, stop)? {
        Fill::Full => {}
        Fill::Closed | Fill::Stopped => return Ok(None),
    }
    let mut more = |n: usize| -> Result<Option<Vec<u8>>> {
        let mut v = vec![0; n];
        Ok(match read_full(socket, &mut v, false, stop)? {
            Fill::Full => Some(v),
            Fill::Closed | Fill::Stopped => None,
        })
    };
    match wire::command_of(&header) {
        wire::CMD_SUBMIT => {
            let cmd = CmdSubmit::from_array(header);
            let seqnum = cmd.basic.seqnum.get();
            let bad = |what: String| Error::Protocol(format!("CMD_SUBMIT seqnum {seqnum}: {what}"));
            let direction = cmd.basic.direction.get();
            let ep = cmd.basic.ep.get();
            if direction > wire::DIR_IN || ep > 15 {
                return Err(bad(format!("direction {direction}, endpoint {ep}")));
            }
            let len = cmd.transfer_buffer_length.get_signed();
            if !(0..=MAX_TRANSFER).contains(&len) {
                return Err(bad(format!("transfer_buffer_length {len}")));
            }
            let np = cmd.number_of_packets.get_signed();
            if np > MAX_PACKETS {
                return Err(bad(format!("number_of_packets {np}")));
            }
            let interval = cmd.interval.get_signed();
            if interval > MAX_INTERVAL {
                return Err(bad(format!("interval {interval}")));
            }
            let len = len as usize;
            let data = if direction == wire::DIR_OUT && len > 0 {
                let Some(d) = more(len)? else { return Ok(None) };
                d
            } else {
                Vec::new()
            };
            let packets = np.max(0) as usize;
            let mut iso = Vec::with_capacity(packets);
            if packets > 0 {
                let Some(raw) = more(packets * wire::ISO_DESCRIPTOR_SIZE)? else { return Ok(None) };
                for (i, chunk) in raw.chunks_exact(wire::ISO_DESCRIPTOR_SIZE).enumerate() {
                    let Some(d) = IsoPacketDescriptor::from_bytes(chunk) else {
                        return Err(bad(format!("packet descriptor {i} is {} bytes", chunk.len())));
                    };
                    let (offset, length) = (d.offset.get(), d.length.get());
                    if u64::from(offset) + u64::from(length) > len as u64 {
                        return Err(bad(format!("packet {i} at {offset}+{length} is outside the {len}-byte buffer")));
                    }
                    iso.push((offset, length));
                }
            }
            Ok(Some(Event::Submit(Box::new(Submit {
                seqnum,
                address: ep as u8 | if direction == wire::DIR_IN { 0x80 } else { 0 },
                transfer_buffer_length: len,
                number_of_packets: np,
                interval: interval.max(1) as u64,
                setup: cmd.setup,
                data,
                iso,
            }))))
        }
        wire::CMD_UNLINK => {
            let cmd = CmdUnlink::from_array(header);
            Ok(Some(Event::Unlink { seqnum: cmd.basic.seqnum.get(), target: cmd.unlink_seqnum.get() }))
        }
        other => Err(Error::Protocol(format!(
            "unexpected command {other:#010x} (seqnum {}): a server takes only CMD_SUBMIT and CMD_UNLINK",
            u32::from_be_bytes([header[4], header[5], header[6], header[7]])
        ))),
    }
}
