//! `/dev/sndstat`: the OSS status text (`cat /dev/sndstat`).

use std::collections::HashMap;
use std::sync::Mutex;

use outboard_cuse::{Errno, Handler, Request};

/// The handler behind /dev/sndstat: every open reads the same text once.
pub struct SndStat {
    text: String,
    positions: Mutex<HashMap<u64, usize>>,
    next: Mutex<u64>,
}

impl SndStat {
    /// `devices`: one line each, e.g. "0: HDA 0000:00:1b.0 (48000 Hz, 16-bit stereo)".
    pub fn new(devices: &[String]) -> SndStat {
        let mut text = String::from("Sound Driver:3.8.1a-980706 (Outboard userspace OSS)\nKernel: Linux, userspace driver via CUSE\nConfig options: 0\n\nInstalled drivers:\nType 10: Outboard\n\nCard config:\n");
        for d in devices {
            text += &format!("{d}\n");
        }
        text += "\nAudio devices:\n";
        for d in devices {
            text += &format!("{d} (DUPLEX)\n");
        }
        text += "\nSynth devices: NOT ENABLED IN CONFIG\n\nMidi devices: NOT ENABLED IN CONFIG\n\nTimers:\n0: System clock\n\nMixers:\n";
        for d in devices {
            text += &format!("{d}\n");
        }
        SndStat { text, positions: Mutex::new(HashMap::new()), next: Mutex::new(1) }
    }
}

impl Handler for SndStat {
    fn open(&self, _req: &Request, flags: u32) -> Result<u64, Errno> {
        if flags & libc::O_ACCMODE as u32 != libc::O_RDONLY as u32 {
            return Err(libc::EACCES);
        }
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        *next += 1;
        self.positions.lock().unwrap_or_else(|e| e.into_inner()).insert(*next, 0);
        Ok(*next)
    }
    fn release(&self, _req: &Request, fh: u64) {
        self.positions.lock().unwrap_or_else(|e| e.into_inner()).remove(&fh);
    }
    fn read(&self, _req: &Request, fh: u64, size: u32, _flags: u32) -> Result<Vec<u8>, Errno> {
        let mut pos = self.positions.lock().unwrap_or_else(|e| e.into_inner());
        let at = pos.get_mut(&fh).ok_or(libc::EBADF)?;
        let bytes = self.text.as_bytes();
        let start = (*at).min(bytes.len());
        let end = (start + size as usize).min(bytes.len());
        *at = end;
        Ok(bytes[start..end].to_vec())
    }
    fn write(&self, _req: &Request, _fh: u64, _data: &[u8], _flags: u32) -> Result<u32, Errno> {
        Err(libc::EBADF)
    }
    fn ioctl(&self, _req: &Request, _fh: u64, _cmd: u32, _input: &[u8]) -> Result<(i32, Vec<u8>), Errno> {
        Err(libc::ENOTTY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_text_once_then_eof() {
        let s = SndStat::new(&["0: HDA 0000:00:1b.0".into()]);
        let req = Request::new(1, 1, 0, 0);
        let fh = s.open(&req, libc::O_RDONLY as u32).unwrap();
        let mut all = Vec::new();
        loop {
            let chunk = s.read(&req, fh, 64, 0).unwrap();
            if chunk.is_empty() {
                break;
            }
            all.extend(chunk);
        }
        let text = String::from_utf8(all).unwrap();
        assert!(text.starts_with("Sound Driver:"));
        assert!(text.contains("Audio devices:\n0: HDA 0000:00:1b.0 (DUPLEX)"));
        assert_eq!(s.open(&req, libc::O_WRONLY as u32), Err(libc::EACCES));
    }
}
