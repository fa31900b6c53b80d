//! The server against a small function of our own, with the test playing
//! vhci-hcd's side of the socket byte for byte.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use outboard_hal::usb::mem::UsbFunction;
use outboard_hal::usb::{ControlSetup, IsoPacketResult, Speed, Transfer, TransferKind, TransferStatus};

use super::wire::{self, Be32, CmdSubmit, CmdUnlink, HeaderBasic, IsoPacketDescriptor, RetSubmit, RetUnlink, Wire};
use super::{Error, Result, Server, ServerHandle, SessionEnd};

const DEVICE: [u8; 18] = [18, 1, 0x00, 0x02, 0, 0, 0, 64, 0x34, 0x12, 0x78, 0x56, 0x00, 0x01, 0, 0, 0, 1];

fn config() -> Vec<u8> {
    let mut c = vec![9, 2, 0, 0, 1, 1, 0, 0xc0, 50];
    c.extend_from_slice(&[9, 4, 0, 0, 0, 0xff, 0, 0, 0]);
    c.extend_from_slice(&[9, 4, 0, 1, 3, 0xff, 0, 0, 0]);
    c.extend_from_slice(&[7, 5, 0x01, 0x05, 192, 0, 1]); // iso OUT, async
    c.extend_from_slice(&[7, 5, 0x82, 0x05, 192, 0, 1]); // iso IN
    c.extend_from_slice(&[7, 5, 0x83, 0x03, 8, 0, 4]); // interrupt IN
    let total = c.len() as u16;
    c[2..4].copy_from_slice(&total.to_le_bytes());
    c
}

#[derive(Default)]
struct Seen {
    alt: u8,
    out: Vec<u8>,
    out_packets: Vec<u32>,
    vendor: Vec<u8>,
    interrupt_polls: u32,
}

/// Interface 0 alt 1 streams: iso OUT 0x01 records, iso IN 0x82 answers
/// `in_fill` bytes per packet (packet n of a URB: bytes of value n + 1),
/// interrupt IN 0x83 NAKs twice and then says [9, 9, 9, 9].
struct TestFn {
    seen: Arc<Mutex<Seen>>,
    in_fill: u32,
}

impl UsbFunction for TestFn {
    fn descriptors(&self) -> Vec<u8> {
        let mut d = DEVICE.to_vec();
        d.extend_from_slice(&config());
        d
    }
    fn speed(&self) -> Speed {
        Speed::Full
    }
    fn control(&mut self, setup: &ControlSetup, data: &[u8]) -> std::result::Result<Vec<u8>, TransferStatus> {
        match (setup.request_type, setup.request) {
            (0x40, 1) => {
                self.seen.lock().unwrap().vendor = data.to_vec();
                Ok(Vec::new())
            }
            (0xc0, 2) => Ok((1..=10).collect()),
            _ => Err(TransferStatus::Stall),
        }
    }
    fn set_alt_setting(&mut self, interface: u8, alt: u8) -> std::result::Result<(), TransferStatus> {
        if interface != 0 || alt > 1 {
            return Err(TransferStatus::Stall);
        }
        self.seen.lock().unwrap().alt = alt;
        Ok(())
    }
    fn transfer(&mut self, t: &mut Transfer) -> (TransferStatus, Vec<IsoPacketResult>, usize) {
        let mut seen = self.seen.lock().unwrap();
        if seen.alt != 1 {
            return (TransferStatus::Error(libc::EXDEV), Vec::new(), 0);
        }
        match (t.endpoint, t.kind) {
            (0x01, TransferKind::Isochronous) => {
                seen.out.extend_from_slice(&t.buffer);
                seen.out_packets.extend_from_slice(&t.iso_packets);
                let r = t
                    .iso_packets
                    .iter()
                    .map(|&l| IsoPacketResult { length: l, actual_length: l, status: TransferStatus::Completed })
                    .collect();
                (TransferStatus::Completed, r, t.buffer.len())
            }
            (0x82, TransferKind::Isochronous) => {
                let (mut pos, mut r, mut total) = (0usize, Vec::new(), 0);
                for (n, &l) in t.iso_packets.iter().enumerate() {
                    let a = l.min(self.in_fill);
                    t.buffer[pos..pos + a as usize].fill(n as u8 + 1);
                    r.push(IsoPacketResult { length: l, actual_length: a, status: TransferStatus::Completed });
                    pos += l as usize;
                    total += a as usize;
                }
                (TransferStatus::Completed, r, total)
            }
            (0x83, TransferKind::Interrupt) => {
                seen.interrupt_polls += 1;
                if seen.interrupt_polls < 3 {
                    return (TransferStatus::Completed, Vec::new(), 0);
                }
                t.buffer[..4].fill(9);
                (TransferStatus::Completed, Vec::new(), 4)
            }
            _ => (TransferStatus::Stall, Vec::new(), 0),
        }
    }
}

/// A reply as vhci-hcd reads it.
#[derive(Debug)]
struct Reply {
    command: u32,
    ret: RetSubmit,
    unlink_status: i32,
    data: Vec<u8>,
    iso: Vec<IsoPacketDescriptor>,
    at: Instant,
}

/// The kernel's side: sends commands, reads replies the way vhci_rx.c does.
struct Kernel {
    sock: UnixStream,
    seq: u32,
    is_in: HashMap<u32, bool>,
    server: Option<JoinHandle<Result<SessionEnd>>>,
    handle: ServerHandle,
    seen: Arc<Mutex<Seen>>,
}

impl Kernel {
    fn start(speed: Speed) -> Kernel {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (ours, theirs) = UnixStream::pair().unwrap();
        ours.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let server = Server::new(Box::new(TestFn { seen: seen.clone(), in_fill: 100 }), speed);
        let handle = server.handle();
        let t = std::thread::spawn(move || server.run(theirs));
        Kernel { sock: ours, seq: 0, is_in: HashMap::new(), server: Some(t), handle, seen }
    }

    fn send_submit(
        &mut self,
        address: u8,
        setup: [u8; 8],
        len: i32,
        data: &[u8],
        iso: &[(u32, u32)],
        interval: i32,
    ) -> u32 {
        self.seq += 1;
        let is_in = address & 0x80 != 0;
        let cmd = CmdSubmit {
            basic: HeaderBasic {
                command: Be32::new(wire::CMD_SUBMIT),
                seqnum: Be32::new(self.seq),
                devid: Be32::new(0x0001_0002),
                direction: Be32::new(if is_in { wire::DIR_IN } else { wire::DIR_OUT }),
                ep: Be32::new(u32::from(address & 0x0f)),
            },
            transfer_flags: Be32::new(0),
            transfer_buffer_length: Be32::signed(len),
            start_frame: Be32::new(0),
            number_of_packets: Be32::signed(iso.len() as i32),
            interval: Be32::signed(interval),
            setup,
        };
        let mut msg = cmd.to_bytes();
        msg.extend_from_slice(data);
        for &(offset, length) in iso {
            let d = IsoPacketDescriptor { offset: Be32::new(offset), length: Be32::new(length), ..Default::default() };
            msg.extend_from_slice(&d.to_bytes());
        }
        self.sock.write_all(&msg).unwrap();
        self.is_in.insert(self.seq, is_in);
        self.seq
    }

    fn control(&mut self, setup: [u8; 8], data: &[u8]) -> Reply {
        let len = u16::from_le_bytes([setup[6], setup[7]]) as i32;
        let address = setup[0] & 0x80;
        let seq = self.send_submit(address, setup, len, if address == 0 { data } else { &[] }, &[], 0);
        let r = self.reply();
        assert_eq!(r.ret.basic.seqnum.get(), seq);
        r
    }

    fn unlink(&mut self, target: u32) -> u32 {
        self.seq += 1;
        let cmd = CmdUnlink {
            basic: HeaderBasic {
                command: Be32::new(wire::CMD_UNLINK),
                seqnum: Be32::new(self.seq),
                ..Default::default()
            },
            unlink_seqnum: Be32::new(target),
            padding: [0; 24],
        };
        self.sock.write_all(&cmd.to_bytes()).unwrap();
        self.seq
    }

    fn reply(&mut self) -> Reply {
        let mut h = [0u8; wire::HEADER_SIZE];
        self.sock.read_exact(&mut h).expect("a reply within 2 s");
        let at = Instant::now();
        let command = wire::command_of(&h);
        let ret = RetSubmit::from_array(h);
        if command == wire::RET_UNLINK {
            let u = RetUnlink::from_array(h);
            return Reply { command, ret, unlink_status: u.status.get_signed(), data: vec![], iso: vec![], at };
        }
        assert_eq!(command, wire::RET_SUBMIT);
        let seq = ret.basic.seqnum.get();
        let is_in = self.is_in[&seq];
        let mut data = vec![0; if is_in { ret.actual_length.get() as usize } else { 0 }];
        self.sock.read_exact(&mut data).unwrap();
        let np = ret.number_of_packets.get_signed().max(0) as usize;
        let mut raw = vec![0; np * wire::ISO_DESCRIPTOR_SIZE];
        self.sock.read_exact(&mut raw).unwrap();
        let iso = raw.chunks(16).map(|c| IsoPacketDescriptor::from_bytes(c).unwrap()).collect();
        Reply { command, ret, unlink_status: 0, data, iso, at }
    }

    /// Nothing more arrives within `d`.
    fn quiet_for(&mut self, d: Duration) {
        self.sock.set_read_timeout(Some(d)).unwrap();
        let mut b = [0u8; 1];
        match self.sock.read(&mut b) {
            Err(e) => assert!(matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
            Ok(n) => panic!("{n} unexpected bytes from the server"),
        }
        self.sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    }

    fn set_alt(&mut self, alt: u8) {
        let r = self.control([0x01, 11, alt, 0, 0, 0, 0, 0], &[]);
        assert_eq!(r.ret.status.get_signed(), 0);
    }

    fn finish(mut self) -> Result<SessionEnd> {
        self.handle.stop();
        self.server.take().unwrap().join().unwrap()
    }
}

fn get_descriptor(kind: u8, len: u16) -> [u8; 8] {
    let l = len.to_le_bytes();
    [0x80, 6, 0, kind, 0, 0, l[0], l[1]]
}

#[test]
fn control_requests_are_answered_from_the_descriptors_and_the_function() {
    let mut k = Kernel::start(Speed::Full);
    let r = k.control(get_descriptor(1, 64), &[]);
    assert_eq!(r.command, wire::RET_SUBMIT);
    assert_eq!((r.ret.status.get_signed(), r.ret.actual_length.get()), (0, 18));
    assert_eq!(r.data, DEVICE);
    let b = &r.ret.basic;
    assert_eq!((b.devid.get(), b.direction.get(), b.ep.get()), (0, 0, 0), "a server's reply zeroes them");
    assert_eq!(r.ret.number_of_packets.get_signed(), 0, "echoes the URB's");

    let r = k.control(get_descriptor(2, 9), &[]);
    assert_eq!(r.data, config()[..9]);
    let r = k.control(get_descriptor(2, 255), &[]);
    assert_eq!(r.data, config());
    // A string: the function's business (this one stalls).
    let r = k.control(get_descriptor(3, 255), &[]);
    assert_eq!((r.ret.status.get_signed(), r.ret.actual_length.get()), (-libc::EPIPE, 0));

    let r = k.control([0x00, 9, 1, 0, 0, 0, 0, 0], &[]);
    assert_eq!(r.ret.status.get_signed(), 0);
    assert_eq!(k.control([0x80, 8, 0, 0, 0, 0, 1, 0], &[]).data, [1]);
    let status = k.control([0x80, 0, 0, 0, 0, 0, 2, 0], &[]);
    assert_eq!(status.data, [1, 0], "self-powered, as bmAttributes 0xc0 says");

    k.set_alt(1);
    assert_eq!(k.seen.lock().unwrap().alt, 1);
    assert_eq!(k.control([0x81, 10, 0, 0, 0, 0, 1, 0], &[]).data, [1]);
    let r = k.control([0x01, 11, 7, 0, 0, 0, 0, 0], &[]);
    assert_eq!(r.ret.status.get_signed(), -libc::EPIPE, "no alt 7: a STALL");
    assert_eq!(k.seen.lock().unwrap().alt, 1);

    let r = k.control([0x40, 1, 0, 0, 0, 0, 3, 0], &[7, 8, 9]);
    assert_eq!((r.ret.status.get_signed(), r.ret.actual_length.get()), (0, 3));
    assert_eq!(k.seen.lock().unwrap().vendor, [7, 8, 9]);
    let r = k.control([0xc0, 2, 0, 0, 0, 0, 4, 0], &[]);
    assert_eq!(r.data, [1, 2, 3, 4], "cut to wLength");
    assert_eq!(k.handle.stats().control_requests, 12);
    assert_eq!(k.handle.stats().control_errors, 2);
    assert_eq!(k.finish().unwrap(), SessionEnd::Stopped);
}

#[test]
fn iso_out_runs_at_bus_time_and_the_function_gets_every_byte() {
    let mut k = Kernel::start(Speed::Full);
    k.set_alt(1);
    let packets: Vec<(u32, u32)> = (0..8).map(|i| (i * 192, 192)).collect();
    let t0 = Instant::now();
    let mut sent = Vec::new();
    for u in 0..4u8 {
        let data: Vec<u8> = (0..1536).map(|i| (i as u8).wrapping_mul(3).wrapping_add(u)).collect();
        k.send_submit(0x01, [0; 8], 1536, &data, &packets, 1);
        sent.extend_from_slice(&data);
    }
    let replies: Vec<Reply> = (0..4).map(|_| k.reply()).collect();
    let first = replies[0].at - t0;
    assert!(first >= Duration::from_millis(8), "an 8-packet full-speed URB came back after {first:?}");
    let last = replies[3].at - t0;
    assert!(last >= Duration::from_millis(32), "four back-to-back URBs took {last:?}, not 32 ms");
    assert!(last < Duration::from_millis(500), "four URBs took {last:?}");
    for (n, r) in replies.iter().enumerate() {
        assert_eq!(r.ret.basic.seqnum.get(), n as u32 + 2, "in submission order");
        assert_eq!(r.ret.status.get_signed(), 0);
        assert_eq!(r.ret.actual_length.get(), 1536);
        assert_eq!((r.ret.number_of_packets.get(), r.ret.error_count.get()), (8, 0));
        assert!(r.data.is_empty(), "no data comes back for OUT");
        for (i, d) in r.iso.iter().enumerate() {
            let got = (d.offset.get(), d.length.get(), d.actual_length.get(), d.status.get_signed());
            assert_eq!(got, (i as u32 * 192, 192, 192, 0));
        }
    }
    // Each URB starts where the previous one ended: 8 frames later.
    let frames: Vec<u32> = replies.iter().map(|r| r.ret.start_frame.get()).collect();
    for w in frames.windows(2) {
        assert_eq!((w[1] + 2048 - w[0]) % 2048, 8, "start frames {frames:?}");
    }
    let seen = k.seen.lock().unwrap();
    assert_eq!(seen.out, sent);
    assert_eq!(seen.out_packets, vec![192; 32]);
    drop(seen);
    let ep = k.handle.stats().endpoints[&0x01].clone();
    assert_eq!((ep.urbs, ep.packets, ep.bytes, ep.packet_errors), (4, 32, 4 * 1536, 0));
    assert_eq!((ep.submitted, ep.in_flight, ep.gaps), (4, 0, 0), "queued ahead: no gaps");
    assert_eq!(ep.bus_time, Duration::from_millis(32));
    k.finish().unwrap();
}

#[test]
fn iso_in_sends_short_packets_back_to_back_and_describes_each() {
    let mut k = Kernel::start(Speed::Full);
    k.set_alt(1);
    let packets: Vec<(u32, u32)> = (0..8).map(|i| (i * 192, 192)).collect();
    let t0 = Instant::now();
    k.send_submit(0x82, [0; 8], 1536, &[], &packets, 1);
    let r = k.reply();
    assert!(r.at - t0 >= Duration::from_millis(8), "{:?}", r.at - t0);
    assert_eq!((r.ret.status.get_signed(), r.ret.actual_length.get()), (0, 800));
    let want: Vec<u8> = (1..=8u8).flat_map(|n| [n; 100]).collect();
    assert_eq!(r.data, want, "each packet's 100 bytes, without the gaps");
    for (i, d) in r.iso.iter().enumerate() {
        let got = (d.offset.get(), d.length.get(), d.actual_length.get(), d.status.get_signed());
        assert_eq!(got, (i as u32 * 192, 192, 100, 0));
    }

    // Packets with gaps between them in an OUT buffer: the function sees
    // only the packets.
    let mut buf = vec![0xee; 400];
    buf[0..100].fill(1);
    buf[200..300].fill(2);
    k.send_submit(0x01, [0; 8], 400, &buf, &[(0, 100), (200, 100)], 1);
    let r = k.reply();
    assert_eq!(r.ret.actual_length.get(), 200);
    let seen = k.seen.lock().unwrap();
    assert_eq!(seen.out, [[1u8; 100], [2u8; 100]].concat());
    drop(seen);
    k.finish().unwrap();
}

#[test]
fn high_speed_counts_microframes() {
    let mut k = Kernel::start(Speed::High);
    k.set_alt(1);
    let packets: Vec<(u32, u32)> = (0..8).map(|i| (i * 192, 192)).collect();
    let data = vec![5u8; 1536];
    let t0 = Instant::now();
    k.send_submit(0x01, [0; 8], 1536, &data, &packets, 1);
    let one = k.reply().at - t0;
    assert!(one >= Duration::from_millis(1), "8 microframes took {one:?}");
    let t1 = Instant::now();
    k.send_submit(0x01, [0; 8], 1536, &data, &packets, 8);
    let r = k.reply();
    assert!(r.at - t1 >= Duration::from_millis(8), "8 packets at interval 8 took {:?}", r.at - t1);
    assert_eq!(k.handle.stats().endpoints[&0x01].bus_time, Duration::from_micros(125 * (8 + 64)));
    k.finish().unwrap();
}

#[test]
fn unlink_of_a_queued_urb_gets_econnreset_and_no_ret_submit() {
    let mut k = Kernel::start(Speed::Full);
    k.set_alt(1);
    let packets: Vec<(u32, u32)> = (0..8).map(|i| (i * 192, 192)).collect();
    let data = vec![1u8; 1536];
    let a = k.send_submit(0x01, [0; 8], 1536, &data, &packets, 1);
    let b = k.send_submit(0x01, [0; 8], 1536, &data, &packets, 1);
    let c = k.send_submit(0x01, [0; 8], 1536, &data, &packets, 1);
    let u = k.unlink(c);
    let r = k.reply();
    assert_eq!(r.command, wire::RET_UNLINK, "the unlink is answered first, at once");
    assert_eq!((r.ret.basic.seqnum.get(), r.unlink_status), (u, -libc::ECONNRESET));
    assert_eq!(k.reply().ret.basic.seqnum.get(), a);
    assert_eq!(k.reply().ret.basic.seqnum.get(), b);
    k.quiet_for(Duration::from_millis(40));
    assert_eq!(k.seen.lock().unwrap().out.len(), 2 * 1536, "the unlinked URB never reached the device");

    // Too late: the URB completed already.
    let u = k.unlink(a);
    let r = k.reply();
    assert_eq!((r.command, r.ret.basic.seqnum.get(), r.unlink_status), (wire::RET_UNLINK, u, 0));
    assert_eq!(k.handle.stats().unlinked, 1);

    // After a stream stopped, the next URB starts now, not after the unlinked one's slot.
    let t0 = Instant::now();
    k.send_submit(0x01, [0; 8], 1536, &data, &packets, 1);
    let d = k.reply().at - t0;
    assert!(d < Duration::from_millis(100), "{d:?}");
    let ep = k.handle.stats().endpoints[&0x01].clone();
    assert_eq!((ep.submitted, ep.urbs, ep.in_flight, ep.gaps), (4, 3, 0, 1), "the restart is a gap");
    k.finish().unwrap();
}

#[test]
fn interrupt_in_naks_until_the_function_has_data() {
    let mut k = Kernel::start(Speed::Full);
    k.set_alt(1);
    let t0 = Instant::now();
    k.send_submit(0x83, [0; 8], 8, &[], &[], 4);
    let r = k.reply();
    // The first poll comes at the next 4 ms slot, the third two intervals later.
    assert!(r.at - t0 >= Duration::from_millis(8), "three polls 4 ms apart took {:?}", r.at - t0);
    assert_eq!((r.ret.status.get_signed(), r.data.clone()), (0, vec![9; 4]));
    assert_eq!(k.seen.lock().unwrap().interrupt_polls, 3);
    k.finish().unwrap();
}

#[test]
fn urbs_to_undeclared_endpoints_or_the_wrong_alt_fail_cleanly() {
    let mut k = Kernel::start(Speed::Full);
    let packets = [(0u32, 192u32), (192, 192)];
    // Alt 0: the function refuses; every packet reports it.
    k.send_submit(0x01, [0; 8], 384, &[0; 384], &packets, 1);
    let r = k.reply();
    assert_eq!((r.ret.status.get_signed(), r.ret.actual_length.get(), r.ret.error_count.get()), (0, 0, 2));
    assert!(r.iso.iter().all(|d| d.status.get_signed() == -libc::EXDEV && d.actual_length.get() == 0));
    // Endpoint 5 exists nowhere.
    k.send_submit(0x05, [0; 8], 384, &[0; 384], &packets, 1);
    let r = k.reply();
    assert_eq!((r.ret.status.get_signed(), r.iso.len()), (-libc::EPIPE, 2));
    k.finish().unwrap();
}

fn session_error(bytes: &[u8]) -> String {
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let server = Server::new(Box::new(TestFn { seen, in_fill: 0 }), Speed::Full);
    let t = std::thread::spawn(move || server.run(theirs));
    ours.write_all(bytes).unwrap();
    ours.shutdown(std::net::Shutdown::Write).unwrap();
    let err = t.join().unwrap().unwrap_err();
    // The server hung up: the kernel sees the device go.
    ours.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut b = [0u8; 1];
    assert_eq!(ours.read(&mut b).unwrap(), 0, "the socket is closed after {err}");
    assert!(matches!(err, Error::Protocol(_)), "{err}");
    err.to_string()
}

#[test]
fn malformed_commands_end_the_session_with_an_error_naming_them() {
    let mut h = [0u8; 48];
    h[3] = 0x99;
    h[7] = 5;
    let e = session_error(&h);
    assert!(e.contains("unexpected command 0x00000099 (seqnum 5)"), "{e}");

    let bad_len = CmdSubmit {
        basic: HeaderBasic { command: Be32::new(wire::CMD_SUBMIT), seqnum: Be32::new(9), ..Default::default() },
        transfer_buffer_length: Be32::signed(-5),
        ..Default::default()
    };
    let e = session_error(&bad_len.to_bytes());
    assert!(e.contains("seqnum 9") && e.contains("transfer_buffer_length -5"), "{e}");

    let outside = CmdSubmit {
        basic: HeaderBasic {
            command: Be32::new(wire::CMD_SUBMIT),
            seqnum: Be32::new(3),
            direction: Be32::new(wire::DIR_IN),
            ep: Be32::new(2),
            ..Default::default()
        },
        transfer_buffer_length: Be32::signed(100),
        number_of_packets: Be32::signed(1),
        ..Default::default()
    };
    let mut msg = outside.to_bytes();
    msg.extend_from_slice(
        &IsoPacketDescriptor { offset: Be32::new(50), length: Be32::new(60), ..Default::default() }.to_bytes(),
    );
    let e = session_error(&msg);
    assert!(e.contains("packet 0 at 50+60 is outside the 100-byte buffer"), "{e}");

    // A message cut short by the peer closing.
    let e = session_error(&bad_len.to_bytes()[..20]);
    assert!(e.contains("closed the connection in the middle of a message (20 bytes of it)"), "{e}");
}

#[test]
fn the_session_ends_when_the_peer_closes_or_the_handle_stops_it() {
    let k = Kernel::start(Speed::Full);
    let t0 = Instant::now();
    assert_eq!(k.finish().unwrap(), SessionEnd::Stopped);
    assert!(t0.elapsed() < Duration::from_millis(500));

    let mut k = Kernel::start(Speed::Full);
    let server = k.server.take().unwrap();
    drop(k);
    assert_eq!(server.join().unwrap().unwrap(), SessionEnd::PeerClosed);
}

/// The real thing: the local kernel's vhci-hcd enumerates the test function
/// and usbfs streams isochronous URBs through it. Run in the bench guest
/// (vhci_hcd loaded, root): `outboard_usbip-* --ignored through_the_kernel`.
#[test]
#[ignore = "needs vhci_hcd and root: the bench guest"]
fn through_the_kernel_vhci_enumerates_and_usbfs_streams() {
    use outboard_hal::usb::{sysfs, usbfs::UsbfsDevice, UsbDevice, UsbId};
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut a = super::attach(Box::new(TestFn { seen: seen.clone(), in_fill: 100 }), Speed::Full).unwrap();
    let busid = a.wait_enumerated(Duration::from_secs(20)).unwrap();
    let dir = std::path::Path::new("/sys/bus/usb/devices").join(&busid);
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap().trim().to_string();
    assert_eq!((read("idVendor"), read("idProduct"), read("speed")), ("1234".into(), "5678".into(), "12".into()));
    let mut ours = DEVICE.to_vec();
    ours.extend_from_slice(&config());
    assert_eq!(std::fs::read(dir.join("descriptors")).unwrap(), ours, "the kernel read our descriptors");

    let info = sysfs::find(std::path::Path::new("/sys"), UsbId { vendor: 0x1234, product: 0x5678 }).unwrap();
    let dev = UsbfsDevice::open_info(&info).unwrap();
    dev.claim_interface(0).unwrap();
    dev.set_alt_setting(0, 1).unwrap();
    let t0 = Instant::now();
    let mut sent = Vec::new();
    for u in 0..20u64 {
        let data: Vec<u8> = (0..8 * 192).map(|i| (i as u64 * 7 + u) as u8).collect();
        sent.extend_from_slice(&data);
        dev.submit(Transfer::isochronous(0x01, data, vec![192; 8], u)).unwrap();
        dev.submit(Transfer::isochronous(0x82, vec![0; 8 * 192], vec![192; 8], 100 + u)).unwrap();
    }
    let mut captured = Vec::new();
    for _ in 0..40 {
        let c = dev.reap(Duration::from_secs(5)).unwrap().expect("a completion within 5 s");
        c.check(dev.name()).unwrap();
        if c.transfer.endpoint == 0x82 {
            assert_eq!(c.actual_length, 800);
            assert!(c.iso_packets.iter().all(|p| p.actual_length == 100));
            for (n, p) in c.iso_packets.iter().enumerate() {
                let at = n * 192;
                captured.extend_from_slice(&c.transfer.buffer[at..at + p.actual_length as usize]);
            }
        }
    }
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(155), "160 frames of iso took {took:?}");
    assert_eq!(seen.lock().unwrap().out, sent, "every OUT byte, in order");
    let want: Vec<u8> = (0..20).flat_map(|_| (1..=8u8).flat_map(|n| [n; 100])).collect();
    assert_eq!(captured, want);
    drop(dev);

    assert_eq!(a.detach().unwrap(), SessionEnd::PeerClosed);
    let t = Instant::now();
    while dir.exists() {
        assert!(t.elapsed() < Duration::from_secs(5), "{busid} still there 5 s after the detach");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_peer_that_hung_up_while_a_reply_was_due_closes_the_session_cleanly() {
    // vhci-hcd shuts the socket down on detach while URBs are in flight.
    let mut k = Kernel::start(Speed::Full);
    k.sock.shutdown(std::net::Shutdown::Read).unwrap();
    k.send_submit(0x80, get_descriptor(1, 18), 18, &[], &[], 0);
    let server = k.server.take().unwrap();
    let t0 = Instant::now();
    while !server.is_finished() {
        assert!(t0.elapsed() < Duration::from_secs(2), "the session outlived its peer");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(server.join().unwrap().unwrap(), SessionEnd::PeerClosed);
}
