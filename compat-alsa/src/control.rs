//! `/dev/snd/controlCN`: what alsa-lib asks of a card before it opens a PCM
//! (`aplay -l`, `aplay -L`, `snd_pcm_open`): the protocol version, CARD_INFO,
//! the PCM devices and their INFO, PCM_PREFER_SUBDEVICE, and "none" for
//! hwdep and rawmidi devices. The card has no mixer elements yet: ELEM_LIST
//! counts none and element ioctls answer ENOENT, as for a card without
//! controls.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use outboard_cuse::{sized_ioctl_round, Errno, Handler, IoctlCall, IoctlReply, Request, UserRange};
use zerocopy::{FromBytes, IntoBytes};

use crate::abi::*;
use crate::card::{Card, DRIVER};

/// SNDRV_PCM_STREAM_*.
pub const STREAM_PLAYBACK: i32 = 0;
pub const STREAM_CAPTURE: i32 = 1;
/// SNDRV_CTL_POWER_D0.
const POWER_D0: i32 = 0;

/// The requests this node answers.
const KNOWN: &[u32] = &[
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

/// The control node of one card.
pub struct Control {
    card: Card,
    /// Per open: subscribed to events.
    opens: Mutex<HashMap<u64, bool>>,
    next_fh: Mutex<u64>,
}

impl Control {
    pub fn new(card: Card) -> Control {
        Control { card, opens: Mutex::new(HashMap::new()), next_fh: Mutex::new(1) }
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
}

fn int(v: i32) -> Result<(i32, Vec<u8>), Errno> {
    Ok((0, v.to_le_bytes().to_vec()))
}

fn read_int(input: &[u8]) -> Result<i32, Errno> {
    input.get(..4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok_or(libc::EFAULT)
}

impl Handler for Control {
    fn open(&self, _req: &Request, _flags: u32) -> Result<u64, Errno> {
        let mut next = self.next_fh.lock().unwrap_or_else(|e| e.into_inner());
        let fh = *next;
        *next += 1;
        self.opens.lock().unwrap_or_else(|e| e.into_inner()).insert(fh, false);
        Ok(fh)
    }

    fn release(&self, _req: &Request, fh: u64) {
        self.opens.lock().unwrap_or_else(|e| e.into_inner()).remove(&fh);
    }

    /// Events: none are ever queued (no elements yet). Not subscribed:
    /// EBADFD, as the kernel answers.
    fn read(&self, req: &Request, fh: u64, _size: u32, flags: u32) -> Result<Vec<u8>, Errno> {
        let subscribed = self.opens.lock().unwrap_or_else(|e| e.into_inner()).get(&fh).copied().unwrap_or(false);
        if !subscribed {
            return Err(libc::EBADFD);
        }
        if flags & libc::O_NONBLOCK as u32 != 0 {
            return Err(libc::EAGAIN);
        }
        // Nothing will come: wait for the caller to give up (a signal).
        while !req.interrupt.is_set() {
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(libc::EINTR)
    }

    fn write(&self, _req: &Request, _fh: u64, _data: &[u8], _flags: u32) -> Result<u32, Errno> {
        Err(libc::EINVAL)
    }

    fn poll(
        &self,
        _req: &Request,
        _fh: u64,
        _events: u32,
        _waker: Option<outboard_cuse::PollWaker>,
    ) -> Result<u32, Errno> {
        // No event is ever ready.
        Ok(0)
    }

    fn ioctl_round(&self, req: &Request, fh: u64, call: &IoctlCall<'_>) -> Result<IoctlReply, Errno> {
        // An unknown request: ENOTTY at once (no caller memory is asked for).
        if !KNOWN.contains(&call.cmd) {
            return Err(libc::ENOTTY);
        }
        // PCM_NEXT_DEVICE is declared _IOR but the kernel reads the current
        // device from the argument too.
        if call.cmd == CTL_IOCTL_PCM_NEXT_DEVICE && (call.input.len() < 4 || call.out_size < 4) {
            let arg = UserRange { addr: call.arg, len: 4 };
            return Ok(IoctlReply::Retry { input: vec![arg], output: vec![arg] });
        }
        if call.cmd == CTL_IOCTL_PCM_NEXT_DEVICE {
            let (result, out) = self.ioctl(req, fh, call.cmd, call.input)?;
            return Ok(IoctlReply::Done { result, out });
        }
        sized_ioctl_round(self, req, fh, call)
    }

    fn ioctl(&self, _req: &Request, fh: u64, cmd: u32, input: &[u8]) -> Result<(i32, Vec<u8>), Errno> {
        match cmd {
            CTL_IOCTL_PVERSION => int(CTL_VERSION as i32),
            CTL_IOCTL_CARD_INFO => Ok((0, self.card_info().as_bytes().to_vec())),
            CTL_IOCTL_PCM_NEXT_DEVICE => {
                // The kernel reads the current device (despite _IOR) and
                // answers the next one, -1 after the last.
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
                let mut opens = self.opens.lock().unwrap_or_else(|e| e.into_inner());
                let sub = opens.get_mut(&fh).ok_or(libc::EBADFD)?;
                match want {
                    w if w < 0 => int(i32::from(*sub)),
                    w => {
                        *sub = w > 0;
                        int(w.min(1))
                    }
                }
            }
            CTL_IOCTL_ELEM_LIST => {
                let mut list = CtlElemList::read_from_bytes(input).map_err(|_| libc::EFAULT)?;
                list.count = 0;
                list.used = 0;
                Ok((0, list.as_bytes().to_vec()))
            }
            CTL_IOCTL_ELEM_INFO | CTL_IOCTL_ELEM_READ | CTL_IOCTL_ELEM_WRITE | CTL_IOCTL_TLV_READ => Err(libc::ENOENT),
            CTL_IOCTL_ELEM_LOCK | CTL_IOCTL_ELEM_UNLOCK => Err(libc::ENOENT),
            _ => Err(libc::ENOTTY),
        }
    }
}
