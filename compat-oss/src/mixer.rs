//! `/dev/mixer`: the OSS mixer device. Its volume and pcm controls set the
//! mixer engine's master gain (levels 0-100 per channel, left | right << 8;
//! the gain is (level / 100) in amplitude, so 50 is -6 dB, 0 is silence).
//! The device's own controls (HDA amps, UAC feature units) are not wired yet.
//! It also answers OSS 4's device-discovery ioctls ([`crate::info`]).

use std::sync::{Arc, Mutex};

use outboard_cuse::{Errno, Handler, Request};
use outboard_mixer::engine::Engine;

use crate::info::{Asker, OssSystem};

/// `_IOC` for the mixer's 'M' ioctls.
const fn ioc(dir: u32, nr: u32, size: u32) -> u32 {
    (dir << 30) | (size << 16) | ((b'M' as u32) << 8) | nr
}

pub const SOUND_MIXER_VOLUME: u32 = 0;
pub const SOUND_MIXER_PCM: u32 = 4;
pub const SOUND_MIXER_READ_VOLUME: u32 = ioc(2, SOUND_MIXER_VOLUME, 4);
pub const SOUND_MIXER_WRITE_VOLUME: u32 = ioc(3, SOUND_MIXER_VOLUME, 4);
pub const SOUND_MIXER_READ_PCM: u32 = ioc(2, SOUND_MIXER_PCM, 4);
pub const SOUND_MIXER_WRITE_PCM: u32 = ioc(3, SOUND_MIXER_PCM, 4);
pub const SOUND_MIXER_READ_RECSRC: u32 = ioc(2, 0xff, 4);
pub const SOUND_MIXER_READ_DEVMASK: u32 = ioc(2, 0xfe, 4);
pub const SOUND_MIXER_READ_RECMASK: u32 = ioc(2, 0xfd, 4);
pub const SOUND_MIXER_READ_CAPS: u32 = ioc(2, 0xfc, 4);
pub const SOUND_MIXER_READ_STEREODEVS: u32 = ioc(2, 0xfb, 4);
pub const OSS_GETVERSION: u32 = ioc(2, 118, 4);
/// `_IOR('M', 101, mixer_info)`.
pub const SOUND_MIXER_INFO: u32 = ioc(2, 101, std::mem::size_of::<crate::oss4::MixerInfo>() as u32);
/// OSS 3.9.x, what Linux's OSS emulation reports.
pub const SOUND_VERSION: i32 = 0x030904;

/// The handler behind /dev/mixer.
pub struct Mixer {
    engine: Arc<Engine>,
    system: Arc<OssSystem>,
    /// This mixer's number in `system`.
    dev: usize,
    /// (volume, pcm) as OSS encodes levels: left | right << 8.
    levels: Mutex<(u32, u32)>,
}

fn level(v: u32) -> u32 {
    let l = (v & 0xff).min(100);
    let r = ((v >> 8) & 0xff).min(100);
    l | (r << 8)
}

fn gain(v: u32) -> f32 {
    // One master gain for both channels: their mean.
    let mean = ((v & 0xff) + ((v >> 8) & 0xff)) as f32 / 2.0;
    mean / 100.0
}

impl Mixer {
    /// A mixer alone on its card (named "Outboard", at /dev/mixer).
    pub fn new(engine: Arc<Engine>) -> Mixer {
        let system = Arc::new(OssSystem::single("Outboard", engine.clone(), &[], Some("/dev/mixer")));
        Mixer { engine, system, dev: 0, levels: Mutex::new((100 | (100 << 8), 100 | (100 << 8))) }
    }

    /// Mixer `dev` of `system`, acting on its card's engine.
    pub fn on(system: Arc<OssSystem>, dev: usize) -> Result<Mixer, String> {
        let node = system.mixer_nodes().get(dev).ok_or_else(|| format!("no mixer {dev}"))?;
        let engine = system.cards().get(node.card).ok_or_else(|| format!("no card {}", node.card))?.engine.clone();
        Ok(Mixer { engine, system, dev, levels: Mutex::new((100 | (100 << 8), 100 | (100 << 8))) })
    }

    fn apply(&self, levels: (u32, u32)) {
        self.engine.set_master_gain(gain(levels.0) * gain(levels.1));
        self.system.mixer_changed(self.dev);
    }
}

fn int_arg(input: &[u8]) -> Result<u32, Errno> {
    input.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok_or(libc::EINVAL)
}

fn reply(v: u32) -> Result<(i32, Vec<u8>), Errno> {
    Ok((0, v.to_le_bytes().to_vec()))
}

impl Handler for Mixer {
    fn open(&self, _req: &Request, _flags: u32) -> Result<u64, Errno> {
        Ok(1)
    }
    fn release(&self, _req: &Request, _fh: u64) {}
    fn read(&self, _req: &Request, _fh: u64, _size: u32, _flags: u32) -> Result<Vec<u8>, Errno> {
        Err(libc::EINVAL)
    }
    fn write(&self, _req: &Request, _fh: u64, _data: &[u8], _flags: u32) -> Result<u32, Errno> {
        Err(libc::EINVAL)
    }
    fn ioctl(&self, _req: &Request, _fh: u64, cmd: u32, input: &[u8]) -> Result<(i32, Vec<u8>), Errno> {
        if let Some(r) = self.system.ioctl(Asker::Mixer(self.dev), cmd, input) {
            return r;
        }
        let mut levels = self.levels.lock().unwrap_or_else(|e| e.into_inner());
        match cmd {
            SOUND_MIXER_READ_VOLUME => reply(levels.0),
            SOUND_MIXER_READ_PCM => reply(levels.1),
            SOUND_MIXER_WRITE_VOLUME => {
                levels.0 = level(int_arg(input)?);
                self.apply(*levels);
                reply(levels.0)
            }
            SOUND_MIXER_WRITE_PCM => {
                levels.1 = level(int_arg(input)?);
                self.apply(*levels);
                reply(levels.1)
            }
            SOUND_MIXER_READ_DEVMASK | SOUND_MIXER_READ_STEREODEVS => {
                reply((1 << SOUND_MIXER_VOLUME) | (1 << SOUND_MIXER_PCM))
            }
            SOUND_MIXER_READ_RECMASK | SOUND_MIXER_READ_RECSRC | SOUND_MIXER_READ_CAPS => reply(0),
            OSS_GETVERSION => reply(SOUND_VERSION as u32),
            _ => Err(libc::EINVAL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_levels() {
        assert_eq!(SOUND_MIXER_READ_VOLUME, 0x8004_4d00);
        assert_eq!(SOUND_MIXER_WRITE_VOLUME, 0xc004_4d00);
        assert_eq!(SOUND_MIXER_READ_DEVMASK, 0x8004_4dfe);
        assert_eq!(SOUND_MIXER_INFO, 0x805c_4d65);
        assert_eq!(level(50 | (200 << 8)), 50 | (100 << 8));
        assert_eq!(gain(50 | (50 << 8)), 0.5);
    }
}
