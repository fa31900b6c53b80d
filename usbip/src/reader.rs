//! The incoming side of a session: USBIP_CMD_SUBMIT and USBIP_CMD_UNLINK cut
//! out of the bytes read from the socket and checked.

use std::io::Read;
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
/// How much one read takes in at most (many commands at once).
const READ_CHUNK: usize = 1 << 16;

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

#[derive(Debug)]
pub(super) enum Command {
    Submit(Box<Submit>),
    Unlink { seqnum: u32, target: u32 },
}

/// Bytes read from the peer and not yet made into commands.
pub(super) struct Incoming {
    buf: Vec<u8>,
    /// Where reads land (allocated once).
    chunk: Vec<u8>,
    /// When the unfinished message at the front began to arrive.
    partial_since: Option<Instant>,
}

impl Default for Incoming {
    fn default() -> Self {
        Incoming { buf: Vec::new(), chunk: vec![0; READ_CHUNK], partial_since: None }
    }
}

/// What a read brought.
pub(super) enum ReadOutcome {
    /// Some bytes (maybe none, on a timeout).
    Data,
    /// The peer closed the connection between messages.
    Closed,
}

impl Incoming {
    /// Read what the socket has (it must be readable, or have a read
    /// timeout). A close in the middle of a message is an error.
    pub(super) fn read_from(&mut self, socket: &mut impl Read) -> Result<ReadOutcome> {
        let at = self.buf.len();
        let n = match socket.read(&mut self.chunk) {
            Ok(n) => n,
            Err(e) => {
                return match e.kind() {
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut | std::io::ErrorKind::Interrupted => {
                        Ok(ReadOutcome::Data)
                    }
                    std::io::ErrorKind::ConnectionReset if at == 0 => Ok(ReadOutcome::Closed),
                    _ => Err(Error::Io { what: "reading from the peer".into(), source: e }),
                };
            }
        };
        self.buf.extend_from_slice(&self.chunk[..n]);
        if n == 0 {
            if at == 0 {
                return Ok(ReadOutcome::Closed);
            }
            return Err(Error::Protocol(format!(
                "the peer closed the connection in the middle of a message ({at} bytes of it)"
            )));
        }
        Ok(ReadOutcome::Data)
    }

    /// The next whole command, if it has all arrived.
    pub(super) fn next_command(&mut self) -> Result<Option<Command>> {
        match decode(&self.buf)? {
            Some((command, used)) => {
                self.buf.drain(..used);
                self.partial_since = None;
                Ok(Some(command))
            }
            None if self.buf.is_empty() => Ok(None),
            None => {
                let since = *self.partial_since.get_or_insert_with(Instant::now);
                if since.elapsed() > MESSAGE_DEADLINE {
                    return Err(Error::Protocol(format!(
                        "a message stopped arriving: {} bytes in {} s",
                        self.buf.len(),
                        MESSAGE_DEADLINE.as_secs()
                    )));
                }
                Ok(None)
            }
        }
    }
}

/// Decode the command at the start of `buf`: the command and the bytes it
/// took, `None` if it has not all arrived, an error if it is malformed.
pub(super) fn decode(buf: &[u8]) -> Result<Option<(Command, usize)>> {
    let Some(head) = buf.get(..wire::HEADER_SIZE) else { return Ok(None) };
    let mut header = [0u8; wire::HEADER_SIZE];
    header.copy_from_slice(head);
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
            // vhci-hcd sends the buffer for OUT, then a descriptor per packet.
            let len = len as usize;
            let data_len = if direction == wire::DIR_OUT { len } else { 0 };
            let packets = np.max(0) as usize;
            let total = wire::HEADER_SIZE + data_len + packets * wire::ISO_DESCRIPTOR_SIZE;
            if buf.len() < total {
                return Ok(None);
            }
            let data = buf[wire::HEADER_SIZE..wire::HEADER_SIZE + data_len].to_vec();
            let mut iso = Vec::with_capacity(packets);
            let descriptors = &buf[wire::HEADER_SIZE + data_len..total];
            for (i, chunk) in descriptors.chunks_exact(wire::ISO_DESCRIPTOR_SIZE).enumerate() {
                let Some(d) = IsoPacketDescriptor::from_bytes(chunk) else {
                    return Err(bad(format!("packet descriptor {i} is {} bytes", chunk.len())));
                };
                let (offset, length) = (d.offset.get(), d.length.get());
                if u64::from(offset) + u64::from(length) > len as u64 {
                    return Err(bad(format!("packet {i} at {offset}+{length} is outside the {len}-byte buffer")));
                }
                iso.push((offset, length));
            }
            let submit = Submit {
                seqnum,
                address: ep as u8 | if direction == wire::DIR_IN { 0x80 } else { 0 },
                transfer_buffer_length: len,
                number_of_packets: np,
                interval: interval.max(1) as u64,
                setup: cmd.setup,
                data,
                iso,
            };
            Ok(Some((Command::Submit(Box::new(submit)), total)))
        }
        wire::CMD_UNLINK => {
            let cmd = CmdUnlink::from_array(header);
            let unlink = Command::Unlink { seqnum: cmd.basic.seqnum.get(), target: cmd.unlink_seqnum.get() };
            Ok(Some((unlink, wire::HEADER_SIZE)))
        }
        other => Err(Error::Protocol(format!(
            "unexpected command {other:#010x} (seqnum {}): a server takes only CMD_SUBMIT and CMD_UNLINK",
            u32::from_be_bytes([header[4], header[5], header[6], header[7]])
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Be32, HeaderBasic};

    #[test]
    fn a_command_is_decoded_only_once_all_of_it_is_there() {
        let cmd = CmdSubmit {
            basic: HeaderBasic { command: Be32::new(wire::CMD_SUBMIT), seqnum: Be32::new(7), ..Default::default() },
            transfer_buffer_length: Be32::signed(4),
            number_of_packets: Be32::signed(1),
            ..Default::default()
        };
        let mut msg = cmd.to_bytes();
        msg.extend_from_slice(&[1, 2, 3, 4]);
        msg.extend_from_slice(&IsoPacketDescriptor { length: Be32::new(4), ..Default::default() }.to_bytes());
        for cut in [0, 47, 48, 51, 52, 67] {
            assert!(decode(&msg[..cut]).unwrap().is_none(), "{cut} bytes");
        }
        msg.extend_from_slice(&[0xee; 5]); // the start of the next one
        let (c, used) = decode(&msg).unwrap().unwrap();
        assert_eq!(used, 68);
        let Command::Submit(s) = c else { panic!("{c:?}") };
        assert_eq!((s.seqnum, s.address, s.data.clone(), s.iso.clone()), (7, 0x00, vec![1, 2, 3, 4], vec![(0, 4)]));
    }

    #[test]
    fn a_message_that_stops_half_way_is_an_error_after_the_deadline() {
        let mut inc = Incoming { buf: vec![0, 0, 0, 1, 0, 0], ..Incoming::default() };
        assert!(inc.next_command().unwrap().is_none());
        inc.partial_since = Some(Instant::now() - MESSAGE_DEADLINE - Duration::from_millis(1));
        let e = inc.next_command().unwrap_err().to_string();
        assert!(e.contains("a message stopped arriving: 6 bytes in 5 s"), "{e}");
    }
}
