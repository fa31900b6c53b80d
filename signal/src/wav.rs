//! WAV files: what QEMU's `wav` audio backend writes, and what the CLI and
//! the bench read and write. PCM only (format 1, or 0xfffe with a PCM subtype).

use std::io::{self, Read, Write};
use std::path::Path;

/// A decoded WAV file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wav {
    pub channels: u16,
    pub rate: u32,
    pub bits: u16,
    /// The raw sample bytes of the data chunk.
    pub data: Vec<u8>,
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl Wav {
    /// Parse a WAV file. A data chunk whose size field is 0 or too large (a
    /// writer that was killed before it fixed up the header) runs to the end.
    pub fn parse(bytes: &[u8]) -> io::Result<Wav> {
        if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
            return Err(bad("not a RIFF/WAVE file".into()));
        }
        let mut at = 12;
        let mut fmt: Option<(u16, u32, u16)> = None;
        while at + 8 <= bytes.len() {
            let id = &bytes[at..at + 4];
            let size = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]) as usize;
            let body = at + 8;
            match id {
                b"fmt " => {
                    let f = bytes.get(body..body + 16).ok_or_else(|| bad("short fmt chunk".into()))?;
                    let tag = u16::from_le_bytes([f[0], f[1]]);
                    if tag != 1 && tag != 0xfffe {
                        return Err(bad(format!("WAV format tag {tag:#x} is not PCM")));
                    }
                    fmt = Some((
                        u16::from_le_bytes([f[2], f[3]]),
                        u32::from_le_bytes([f[4], f[5], f[6], f[7]]),
                        u16::from_le_bytes([f[14], f[15]]),
                    ));
                }
                b"data" => {
                    let (channels, rate, bits) = fmt.ok_or_else(|| bad("data chunk before fmt chunk".into()))?;
                    let end = if size == 0 || body + size > bytes.len() { bytes.len() } else { body + size };
                    return Ok(Wav { channels, rate, bits, data: bytes[body..end].to_vec() });
                }
                _ => {}
            }
            at = body + size + (size & 1);
        }
        Err(bad("no data chunk".into()))
    }

    /// Read and parse a file.
    pub fn read(path: &Path) -> io::Result<Wav> {
        let mut bytes = Vec::new();
        let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        std::fs::File::open(path).map_err(named)?.read_to_end(&mut bytes).map_err(named)?;
        Wav::parse(&bytes).map_err(|e| bad(format!("{}: {e}", path.display())))
    }

    /// Encode as a canonical 44-byte-header PCM WAV.
    pub fn to_bytes(&self) -> Vec<u8> {
        let block = u32::from(self.channels) * u32::from(self.bits).div_ceil(8);
        let mut out = Vec::with_capacity(44 + self.data.len());
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + self.data.len() as u32).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&self.channels.to_le_bytes());
        out.extend_from_slice(&self.rate.to_le_bytes());
        out.extend_from_slice(&(self.rate * block).to_le_bytes());
        out.extend_from_slice(&(block as u16).to_le_bytes());
        out.extend_from_slice(&self.bits.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(self.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.data);
        out
    }

    /// Write to a file.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        std::fs::File::create(path)?.write_all(&self.to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_tolerates_an_unfinished_header() {
        let w = Wav { channels: 2, rate: 48_000, bits: 16, data: (0..200u8).collect() };
        let bytes = w.to_bytes();
        assert_eq!(bytes.len(), 244);
        assert_eq!(Wav::parse(&bytes).unwrap(), w);
        let mut unfinished = bytes.clone();
        unfinished[40..44].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(Wav::parse(&unfinished).unwrap().data.len(), 200);
    }

    #[test]
    fn rejects_what_is_not_pcm_wav() {
        assert!(Wav::parse(b"RIFX....WAVE").is_err());
        let mut b = Wav { channels: 1, rate: 8000, bits: 8, data: vec![1] }.to_bytes();
        b[20] = 3; // IEEE float
        assert!(Wav::parse(&b).unwrap_err().to_string().contains("not PCM"));
        assert!(Wav::parse(&b[..30]).is_err());
    }
}
