//! `/dev/snd/controlCN`: what alsa-lib asks of a card before it opens a PCM
//! (`aplay -l`, `aplay -L`, `snd_pcm_open`): the protocol version, CARD_INFO,
//! the PCM devices and their INFO, PCM_PREFER_SUBDEVICE, and "none" for
//! hwdep and rawmidi devices; and the card's mixer elements
//! ([`crate::elements`]: ELEM_LIST, ELEM_INFO, ELEM_READ, ELEM_WRITE,
//! TLV_READ with their dB scales, value events to subscribers on read() and
//! poll).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use outboard_cuse::{sized_ioctl_round, CallerAbi, Errno, Handler, IoctlCall, IoctlReply, Request, UserRange};
use outboard_mixer::hw::{Change, Gain};

use crate::compat32;

use crate::elements::{Element, Elements, Info, WriteError, IFACE_MIXER, TYPE_BOOLEAN, TYPE_ENUMERATED, TYPE_INTEGER};
use zerocopy::{FromBytes, IntoBytes};

use crate::abi::*;
use crate::card::{Card, DRIVER};
use crate::pcm::Pcm;

/// SNDRV_PCM_STREAM_*.
pub const STREAM_PLAYBACK: i32 = 0;
pub const STREAM_CAPTURE: i32 = 1;
/// SNDRV_CTL_POWER_D0.
const POWER_D0: i32 = 0;

/// The requests this node answers.
pub const IOCTLS: &[u32] = &[
    CTL_IOCTL_PVERSION,
    CTL_IOCTL_CARD_INFO,
    CTL_IOCTL_PCM_NEXT_DEVICE,
    CTL_IOCTL_HWDEP_NEXT_DEVICE,
    CTL_IOCTL_RAWMIDI_NEXT_DEVICE,
    CTL_IOCTL_PCM_INFO,
    CTL_IOCTL_PCM_PREFER_SUBDEVICE,
    CTL_IOCTL_POWER_STATE,
    CTL_IOCTL_SUBSCRIBE_EVENTS,
    CTL_IOCTL_ELEM_LIST,
    CTL_IOCTL_ELEM_INFO,
    CTL_IOCTL_ELEM_READ,
    CTL_IOCTL_ELEM_WRITE,
    CTL_IOCTL_ELEM_LOCK,
    CTL_IOCTL_ELEM_UNLOCK,
    CTL_IOCTL_TLV_READ,
];

/// PCM_INFO's answer for the card's device 0 in `stream`, if it has one.
pub fn pcm_info(card: &Card, stream: i32) -> Option<PcmInfo> {
    let present = match stream {
        STREAM_PLAYBACK => card.has_playback(),
        STREAM_CAPTURE => card.has_capture(),
        _ => false,
    };
    if !present {
        return None;
    }
    let mut info = PcmInfo { card: card.number as i32, device: 0, subdevice: 0, stream, ..PcmInfo::default() };
    put_str(&mut info.id, "Outboard");
    put_str(&mut info.name, &format!("Outboard {}", card.name));
    put_str(&mut info.subname, "subdevice #0");
    // Every open is its own mixer client: a subdevice is always free.
    (info.subdevices_count, info.subdevices_avail) = (1, 1);
    Some(info)
}

/// The element value union of an i386 caller: 128 4-byte longs (or items)
/// at 68, where a 64-bit caller has 8-byte longs at 72.
const VALUE32: usize = 68;

impl Control {
    /// An i386 caller's round: ELEM_LIST, ELEM_READ/WRITE and ELEM_INFO's
    /// integer limits differ; the rest is laid out as for a 64-bit caller.
    fn round32(&self, req: &Request, fh: u64, call: &IoctlCall<'_>) -> Result<IoctlReply, Errno> {
        match call.cmd {
            compat32::ELEM_LIST => self.elem_list(call, true),
            compat32::ELEM_READ | compat32::ELEM_WRITE => {
                const SIZE: usize = 708;
                if call.input.len() < SIZE || call.out_size < SIZE {
                    let r = UserRange { addr: call.arg, len: SIZE };
                    return Ok(IoctlReply::Retry { input: vec![r], output: vec![r] });
                }
                let b = &call.input[..SIZE];
                let id = CtlElemId::read_from_bytes(&b[..64]).map_err(|_| libc::EFAULT)?;
                let e = self.find(&id)?;
                let enumerated = matches!(self.elements.info(e), Info::Enumerated { .. });
                // To the 64-bit layout: items stay 4 bytes, longs widen.
                let mut n = CtlElemValue { id, ..CtlElemValue::default() };
                for i in 0..e.count as usize {
                    let v = i32::from_le_bytes(b[VALUE32 + 4 * i..VALUE32 + 4 * i + 4].try_into().unwrap_or([0; 4]));
                    if enumerated {
                        n.value[4 * i..4 * i + 4].copy_from_slice(&(v as u32).to_le_bytes());
                    } else {
                        n.value[8 * i..8 * i + 8].copy_from_slice(&i64::from(v).to_le_bytes());
                    }
                }
                let native = if call.cmd == compat32::ELEM_READ { CTL_IOCTL_ELEM_READ } else { CTL_IOCTL_ELEM_WRITE };
                let (result, out) = self.ioctl(req, fh, native, n.as_bytes())?;
                let n = CtlElemValue::read_from_bytes(&out).map_err(|_| libc::EIO)?;
                let mut back = b.to_vec();
                back[..64].copy_from_slice(n.id.as_bytes());
                back[VALUE32..VALUE32 + 512].fill(0);
                for i in 0..e.count as usize {
                    let v = if enumerated {
                        u32::from_le_bytes(n.value[4 * i..4 * i + 4].try_into().unwrap_or([0; 4]))
                    } else {
                        i64::from_le_bytes(n.value[8 * i..8 * i + 8].try_into().unwrap_or([0; 8])) as u32
                    };
                    back[VALUE32 + 4 * i..VALUE32 + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
                }
                Ok(IoctlReply::Done { result, out: back })
            }
            CTL_IOCTL_ELEM_INFO => match sized_ioctl_round(self, req, fh, call)? {
                // Integer limits are longs: 4 bytes each for an i386 caller.
                IoctlReply::Done { result, mut out } => {
                    let kind = i32::from_le_bytes(out[64..68].try_into().unwrap_or([0; 4]));
                    if kind == TYPE_INTEGER || kind == TYPE_BOOLEAN {
                        let l = |o: &[u8], at: usize| i64::from_le_bytes(o[at..at + 8].try_into().unwrap_or([0; 8]));
                        let (min, max, step) = (l(&out, 80), l(&out, 88), l(&out, 96));
                        out[80..104].fill(0);
                        for (i, v) in [min, max, step].into_iter().enumerate() {
                            out[80 + 4 * i..84 + 4 * i].copy_from_slice(&(v as i32).to_le_bytes());
                        }
                    }
                    Ok(IoctlReply::Done { result, out })
                }
                retry => Ok(retry),
            },
            // The same layout at both widths.
            cmd if IOCTLS.contains(&cmd)
                && !matches!(cmd, CTL_IOCTL_ELEM_LIST | CTL_IOCTL_ELEM_READ | CTL_IOCTL_ELEM_WRITE) =>
            {
                self.ioctl_round(&Request { abi: CallerAbi::Native, ..req.clone() }, fh, call)
            }
            _ => Err(libc::ENOTTY),
        }
    }
}

/// Queue a value event on `id` for every subscriber (one per element: a
/// second change before the first is read merges into it), and wake their
/// pollers.
fn queue_event(opens: &Mutex<HashMap<u64, Open>>, wakers: &Mutex<outboard_cuse::Pollers>, id: CtlElemId) {
    let ev = CtlEvent { kind: EVENT_ELEM, mask: EVENT_MASK_VALUE, id };
    for open in lock(opens).values_mut().filter(|o| o.subscribed) {
        match open.events.iter_mut().find(|q| q.id.numid == id.numid) {
            Some(q) => q.mask |= EVENT_MASK_VALUE,
            None => open.events.push_back(ev),
        }
    }
    for (_, _, w) in lock(wakers).drain(..) {
        w.wake();
    }
}

/// One open of the control node.
#[derive(Default)]
struct Open {
    subscribed: bool,
    /// Events not read yet, one per element (merged by numid).
    events: std::collections::VecDeque<CtlEvent>,
}

/// The control node of one card.
pub struct Control {
    card: Card,
    elements: Elements,
    opens: Arc<Mutex<HashMap<u64, Open>>>,
    next_fh: Mutex<u64>,
    wakers: Arc<Mutex<outboard_cuse::Pollers>>,
    /// The card's PCM nodes (playback, capture), for the channel maps.
    pcms: Mutex<[Weak<Pcm>; 2]>,
}

/// SNDRV_CTL_EVENT_ELEM and its mask bit SNDRV_CTL_EVENT_MASK_VALUE.
const EVENT_ELEM: i32 = 0;
const EVENT_MASK_VALUE: u32 = 1;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Control {
    pub fn new(card: Card) -> Control {
        let elements = Elements::new(card.engine.clone(), card.hw.clone());
        let control = Control {
            card,
            elements,
            opens: Arc::new(Mutex::new(HashMap::new())),
            next_fh: Mutex::new(1),
            wakers: Arc::new(Mutex::new(Vec::new())),
            pcms: Mutex::new([Weak::new(), Weak::new()]),
        };
        // A change made through another node on the same controls
        // (/dev/mixer) is an event here too.
        if let Some(hw) = &control.card.hw {
            let ids = |c: Change| control.elements.touched_by(c).map(Self::elem_id).collect::<Vec<_>>();
            let mut changes = vec![
                Change::Gain(Gain::Output),
                Change::Gain(Gain::Capture),
                Change::Source,
                Change::Jacks,
                Change::AutoMute,
            ];
            changes.extend((0..hw.output_ports().len()).map(|k| Change::Gain(Gain::Port(k as u8))));
            let touched: Vec<(Change, Vec<_>)> = changes.into_iter().map(|c| (c, ids(c))).collect();
            let (opens, wakers) = (Arc::downgrade(&control.opens), Arc::downgrade(&control.wakers));
            hw.on_change(Box::new(move |change| {
                let (Some(opens), Some(wakers)) = (opens.upgrade(), wakers.upgrade()) else { return };
                for id in touched.iter().filter(|(c, _)| *c == change).flat_map(|(_, ids)| ids) {
                    queue_event(&opens, &wakers, *id);
                }
            }));
        }
        // The master gain set through another node (/dev/mixer's PCM).
        if let Some(id) = control.elements.master_gain().map(Self::elem_id) {
            let (opens, wakers) = (Arc::downgrade(&control.opens), Arc::downgrade(&control.wakers));
            control.card.engine.on_master_gain(Box::new(move |_| {
                if let (Some(opens), Some(wakers)) = (opens.upgrade(), wakers.upgrade()) {
                    queue_event(&opens, &wakers, id);
                }
            }));
        }
        control
    }

    /// The card's PCM node in one direction: the channel map elements
    /// report the caller's own stream on it.
    pub fn serve_pcm(&self, pcm: &Arc<Pcm>, capture: bool) {
        lock(&self.pcms)[usize::from(capture)] = Arc::downgrade(pcm);
    }

    fn card_info(&self) -> CtlCardInfo {
        let mut c = CtlCardInfo { card: self.card.number as i32, ..CtlCardInfo::default() };
        put_str(&mut c.id, &self.card.id);
        put_str(&mut c.driver, DRIVER);
        put_str(&mut c.name, &format!("Outboard {}", self.card.name));
        put_str(&mut c.longname, &self.card.long_name());
        put_str(&mut c.mixername, "Outboard");
        c
    }

    fn elem_id(e: &Element) -> CtlElemId {
        let mut id = CtlElemId { numid: e.numid, iface: e.iface, index: e.index, ..CtlElemId::default() };
        put_str(&mut id.name, &e.name);
        id
    }

    fn find(&self, id: &CtlElemId) -> Result<&Element, Errno> {
        let name = get_str(&id.name);
        // By name, the device and subdevice must match too (all are on device 0).
        if id.numid == 0 && (id.device != 0 || id.subdevice != 0) {
            return Err(libc::ENOENT);
        }
        self.elements.find(id.numid, id.iface, &name, id.index).ok_or(libc::ENOENT)
    }

    fn elem_info(&self, input: &[u8]) -> Result<(i32, Vec<u8>), Errno> {
        let mut info = CtlElemInfo::read_from_bytes(input).map_err(|_| libc::EFAULT)?;
        let e = self.find(&info.id)?;
        let asked_item = u32::from_le_bytes([info.value[4], info.value[5], info.value[6], info.value[7]]);
        info.id = Self::elem_id(e);
        info.access = self.elements.access(e);
        info.owner = 0;
        info.value = [0; 128];
        let put_i64 = |v: &mut [u8; 128], at: usize, x: i64| v[at..at + 8].copy_from_slice(&x.to_le_bytes());
        match self.elements.info(e) {
            Info::Boolean { count } => {
                info.kind = TYPE_BOOLEAN;
                info.count = count;
                put_i64(&mut info.value, 0, 0);
                put_i64(&mut info.value, 8, 1);
                put_i64(&mut info.value, 16, 0);
            }
            Info::Integer { count, min, max, step } => {
                info.kind = TYPE_INTEGER;
                info.count = count;
                put_i64(&mut info.value, 0, min);
                put_i64(&mut info.value, 8, max);
                put_i64(&mut info.value, 16, step);
            }
            Info::Enumerated { items } => {
                info.kind = TYPE_ENUMERATED;
                info.count = 1;
                let n = items.len() as u32;
                let item = asked_item.min(n.saturating_sub(1));
                info.value[0..4].copy_from_slice(&n.to_le_bytes());
                info.value[4..8].copy_from_slice(&item.to_le_bytes());
                if let Some(name) = items.get(item as usize) {
                    put_str(&mut info.value[8..72], name);
                }
            }
        }
        Ok((0, info.as_bytes().to_vec()))
    }

    fn elem_read(&self, req: &Request, input: &[u8]) -> Result<(i32, Vec<u8>), Errno> {
        let mut v = CtlElemValue::read_from_bytes(input).map_err(|_| libc::EFAULT)?;
        let e = self.find(&v.id)?;
        // A channel map: the positions of the caller's own stream.
        let own = self.elements.chmap_of(e).and_then(|playback| {
            let pcm = lock(&self.pcms)[usize::from(!playback)].upgrade()?;
            self.elements.chmap_values(e, pcm.channels_of(req.pid)?)
        });
        let values = match own {
            Some(v) => v,
            None => self.elements.read(e).map_err(|err| {
                log::warn!("{}: reading {}: {err}", self.card.name, e.name);
                libc::EIO
            })?,
        };
        v.id = Self::elem_id(e);
        v.value = [0; 1024];
        let enumerated = matches!(self.elements.info(e), Info::Enumerated { .. });
        for (i, x) in values.iter().enumerate() {
            if enumerated {
                v.value[i * 4..i * 4 + 4].copy_from_slice(&(*x as u32).to_le_bytes());
            } else {
                v.value[i * 8..i * 8 + 8].copy_from_slice(&x.to_le_bytes());
            }
        }
        Ok((0, v.as_bytes().to_vec()))
    }

    fn elem_write(&self, input: &[u8]) -> Result<(i32, Vec<u8>), Errno> {
        let v = CtlElemValue::read_from_bytes(input).map_err(|_| libc::EFAULT)?;
        let e = self.find(&v.id)?;
        let enumerated = matches!(self.elements.info(e), Info::Enumerated { .. });
        let values: Vec<i64> = (0..e.count as usize)
            .map(|i| {
                if enumerated {
                    i64::from(u32::from_le_bytes([
                        v.value[i * 4],
                        v.value[i * 4 + 1],
                        v.value[i * 4 + 2],
                        v.value[i * 4 + 3],
                    ]))
                } else {
                    i64::from_le_bytes(v.value[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]))
                }
            })
            .collect();
        match self.elements.write(e, &values) {
            Ok(true) => self.notify(e),
            Ok(false) => {}
            Err(WriteError::Range) => return Err(libc::EINVAL),
            Err(WriteError::ReadOnly) => return Err(libc::EPERM),
            Err(WriteError::Device(err)) => {
                log::warn!("{}: setting {}: {err}", self.card.name, e.name);
                return Err(libc::EIO);
            }
        }
        let mut out = v;
        out.id = Self::elem_id(e);
        Ok((0, out.as_bytes().to_vec()))
    }

    /// Queue a value event for every subscriber, and wake their pollers.
    fn notify(&self, e: &Element) {
        queue_event(&self.opens, &self.wakers, Self::elem_id(e));
    }

    /// ELEM_LIST in rounds: the list, then (when ids are wanted) room for them.
    fn elem_list(&self, call: &IoctlCall<'_>, compat: bool) -> Result<IoctlReply, Errno> {
        // 80 bytes, or 72 for an i386 caller (its pids pointer is 4 bytes, at 16).
        let arg_len = if compat { 72 } else { std::mem::size_of::<CtlElemList>() };
        let arg = UserRange { addr: call.arg, len: arg_len };
        if call.input.len() < arg_len || call.out_size < arg_len {
            return Ok(IoctlReply::Retry { input: vec![arg], output: vec![arg] });
        }
        let mut list = if compat {
            let w = |i: usize| u32::from_le_bytes(call.input[i..i + 4].try_into().unwrap_or([0; 4]));
            CtlElemList { offset: w(0), space: w(4), pids: u64::from(w(16)), ..CtlElemList::default() }
        } else {
            CtlElemList::read_from_bytes(&call.input[..arg_len]).map_err(|_| libc::EFAULT)?
        };
        let all = self.elements.list();
        list.count = all.len() as u32;
        let from = (list.offset as usize).min(all.len());
        let used = (all.len() - from).min(list.space as usize);
        list.used = used as u32;
        let id_bytes = used * std::mem::size_of::<CtlElemId>();
        if used > 0 && call.out_size < arg_len + id_bytes {
            let ids = UserRange { addr: list.pids, len: id_bytes };
            return Ok(IoctlReply::Retry { input: vec![arg], output: vec![arg, ids] });
        }
        let mut out = if compat {
            let mut b = call.input[..arg_len].to_vec();
            b[8..12].copy_from_slice(&list.used.to_le_bytes());
            b[12..16].copy_from_slice(&list.count.to_le_bytes());
            b
        } else {
            list.as_bytes().to_vec()
        };
        for e in &all[from..from + used] {
            out.extend_from_slice(Self::elem_id(e).as_bytes());
        }
        Ok(IoctlReply::Done { result: 0, out })
    }

    /// TLV_READ in rounds: the header, then room for the header and the TLV.
    fn tlv_read(&self, call: &IoctlCall<'_>) -> Result<IoctlReply, Errno> {
        const HEAD: usize = std::mem::size_of::<CtlTlv>();
        let arg = UserRange { addr: call.arg, len: HEAD };
        if call.input.len() < HEAD || call.out_size < HEAD {
            return Ok(IoctlReply::Retry { input: vec![arg], output: vec![arg] });
        }
        let head = CtlTlv::read_from_bytes(&call.input[..HEAD]).map_err(|_| libc::EFAULT)?;
        if head.numid == 0 {
            return Err(libc::EINVAL);
        }
        let e = self.elements.find(head.numid, IFACE_MIXER, "", 0).ok_or(libc::ENOENT)?;
        let tlv = self.elements.tlv(e).ok_or(libc::ENXIO)?;
        if (head.length as usize) < tlv.len() {
            return Err(libc::ENOMEM);
        }
        if call.out_size < HEAD + tlv.len() {
            return Ok(IoctlReply::Retry {
                input: vec![arg],
                output: vec![UserRange { addr: call.arg, len: HEAD + tlv.len() }],
            });
        }
        let mut out = CtlTlv { numid: head.numid, length: tlv.len() as u32 }.as_bytes().to_vec();
        out.extend_from_slice(&tlv);
        Ok(IoctlReply::Done { result: 0, out })
    }
}

fn int(v: i32) -> Result<(i32, Vec<u8>), Errno> {
    Ok((0, v.to_le_bytes().to_vec()))
}

fn read_int(input: &[u8]) -> Result<i32, Errno> {
    input.get(..4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok_or(libc::EFAULT)
}

impl Handler for Control {
    fn open(&self, _req: &Request, _flags: u32) -> Result<u64, Errno> {
        let mut next = lock(&self.next_fh);
        let fh = *next;
        *next += 1;
        lock(&self.opens).insert(fh, Open::default());
        Ok(fh)
    }

    fn release(&self, _req: &Request, fh: u64) {
        lock(&self.opens).remove(&fh);
        lock(&self.wakers).retain(|(f, _, _)| *f != fh);
    }

    /// Events, 72 bytes each; not subscribed: EBADFD, as the kernel answers.
    fn read(&self, req: &Request, fh: u64, size: u32, flags: u32) -> Result<Vec<u8>, Errno> {
        const EV: usize = std::mem::size_of::<CtlEvent>();
        if (size as usize) < EV {
            return Err(libc::EINVAL);
        }
        loop {
            {
                let mut opens = lock(&self.opens);
                let open = opens.get_mut(&fh).ok_or(libc::EBADF)?;
                if !open.subscribed {
                    return Err(libc::EBADFD);
                }
                if !open.events.is_empty() {
                    let mut out = Vec::new();
                    while out.len() + EV <= size as usize {
                        let Some(ev) = open.events.pop_front() else { break };
                        out.extend_from_slice(ev.as_bytes());
                    }
                    return Ok(out);
                }
            }
            if flags & libc::O_NONBLOCK as u32 != 0 {
                return Err(libc::EAGAIN);
            }
            if req.interrupt.is_set() {
                return Err(libc::EINTR);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn write(&self, _req: &Request, _fh: u64, _data: &[u8], _flags: u32) -> Result<u32, Errno> {
        Err(libc::EINVAL)
    }

    fn poll(
        &self,
        _req: &Request,
        fh: u64,
        events: u32,
        waker: Option<outboard_cuse::PollWaker>,
    ) -> Result<u32, Errno> {
        let ready = lock(&self.opens).get(&fh).is_some_and(|o| !o.events.is_empty());
        if ready {
            return Ok(events & (libc::POLLIN | libc::POLLRDNORM) as u32);
        }
        if let Some(w) = waker {
            outboard_cuse::keep_poller(&mut lock(&self.wakers), fh, events, w);
        }
        Ok(0)
    }

    fn ioctl_round(&self, req: &Request, fh: u64, call: &IoctlCall<'_>) -> Result<IoctlReply, Errno> {
        match req.abi {
            CallerAbi::Native => {}
            CallerAbi::Ilp32 => return self.round32(req, fh, call),
            CallerAbi::X32 => return Err(libc::ENOTTY),
        }
        // An unknown request: ENOTTY at once (no caller memory is asked for).
        if !IOCTLS.contains(&call.cmd) {
            return Err(libc::ENOTTY);
        }
        match call.cmd {
            CTL_IOCTL_ELEM_LIST => return self.elem_list(call, false),
            CTL_IOCTL_TLV_READ => return self.tlv_read(call),
            // PCM_NEXT_DEVICE is declared _IOR but the kernel reads the
            // current device from the argument too.
            CTL_IOCTL_PCM_NEXT_DEVICE => {
                if call.input.len() < 4 || call.out_size < 4 {
                    let arg = UserRange { addr: call.arg, len: 4 };
                    return Ok(IoctlReply::Retry { input: vec![arg], output: vec![arg] });
                }
                let (result, out) = self.ioctl(req, fh, call.cmd, call.input)?;
                return Ok(IoctlReply::Done { result, out });
            }
            _ => {}
        }
        sized_ioctl_round(self, req, fh, call)
    }

    fn ioctl(&self, req: &Request, fh: u64, cmd: u32, input: &[u8]) -> Result<(i32, Vec<u8>), Errno> {
        match cmd {
            CTL_IOCTL_PVERSION => int(CTL_VERSION as i32),
            CTL_IOCTL_CARD_INFO => Ok((0, self.card_info().as_bytes().to_vec())),
            CTL_IOCTL_PCM_NEXT_DEVICE => {
                // The next device after the current one, -1 after the last.
                let current = read_int(input).unwrap_or(-1);
                let any = self.card.has_playback() || self.card.has_capture();
                int(if current < 0 && any { 0 } else { -1 })
            }
            CTL_IOCTL_HWDEP_NEXT_DEVICE | CTL_IOCTL_RAWMIDI_NEXT_DEVICE => int(-1),
            CTL_IOCTL_PCM_INFO => {
                let asked = PcmInfo::read_from_bytes(input).map_err(|_| libc::EFAULT)?;
                if asked.device != 0 || asked.subdevice != 0 {
                    return Err(libc::ENXIO);
                }
                // ENOENT for a direction the device lacks: the one error aplay -l ignores.
                let info = pcm_info(&self.card, asked.stream).ok_or(libc::ENOENT)?;
                Ok((0, info.as_bytes().to_vec()))
            }
            CTL_IOCTL_PCM_PREFER_SUBDEVICE => Ok((0, Vec::new())),
            CTL_IOCTL_POWER_STATE => int(POWER_D0),
            CTL_IOCTL_SUBSCRIBE_EVENTS => {
                let want = read_int(input)?;
                let mut opens = lock(&self.opens);
                let open = opens.get_mut(&fh).ok_or(libc::EBADFD)?;
                match want {
                    w if w < 0 => int(i32::from(open.subscribed)),
                    w => {
                        open.subscribed = w > 0;
                        if !open.subscribed {
                            open.events.clear();
                        }
                        int(w.min(1))
                    }
                }
            }
            CTL_IOCTL_ELEM_INFO => self.elem_info(input),
            CTL_IOCTL_ELEM_READ => self.elem_read(req, input),
            CTL_IOCTL_ELEM_WRITE => self.elem_write(input),
            CTL_IOCTL_ELEM_LOCK | CTL_IOCTL_ELEM_UNLOCK => {
                let id = CtlElemId::read_from_bytes(input).map_err(|_| libc::EFAULT)?;
                self.find(&id).map(|_| (0, Vec::new()))
            }
            _ => Err(libc::ENOTTY),
        }
    }
}
