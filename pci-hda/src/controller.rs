//! Controller bring-up: reset, codec discovery, the CORB/RIRB command rings
//! (with the immediate-command interface as a fallback), interrupts.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use outboard_hal::dma::DmaBuffer;
use outboard_hal::irq::{IrqEvent, IrqKind};
use outboard_hal::pci::PciDevice;

use crate::regs::{self, Regs};
use crate::verb::{Response, Verb};
use crate::{Error, Result};

/// How long the controller may take to enter or leave reset (Linux allows 100 ms).
pub const RESET_TIMEOUT: Duration = Duration::from_millis(100);
/// How long codecs may take to announce themselves in STATESTS after reset.
pub const CODEC_WAKE_TIMEOUT: Duration = Duration::from_millis(50);
/// How long a codec may take to answer a verb.
pub const VERB_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a DMA engine bit (CORB run, RIRB enable, stream run) may take to change.
pub const DMA_TIMEOUT: Duration = Duration::from_millis(50);

/// Bytes of a CORB entry and of a RIRB entry.
const CORB_ENTRY: usize = 4;
const RIRB_ENTRY: usize = 8;
/// The RIRB sits after the CORB in one DMA page, as in Linux.
const RIRB_OFFSET: usize = 2048;

/// What GCAP and VMAJ/VMIN say about the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    pub gcap: u16,
    pub version_major: u8,
    pub version_minor: u8,
    pub input_streams: u8,
    pub output_streams: u8,
    pub bidir_streams: u8,
    pub addr64: bool,
}

impl Caps {
    fn from_gcap(gcap: u16, version_major: u8, version_minor: u8) -> Caps {
        let g = u32::from(gcap);
        Caps {
            gcap,
            version_major,
            version_minor,
            input_streams: regs::gcap::ISS.get(g) as u8,
            output_streams: regs::gcap::OSS.get(g) as u8,
            bidir_streams: regs::gcap::BSS.get(g) as u8,
            addr64: regs::gcap::OK64.get(g) != 0,
        }
    }

    /// Stream descriptor index of output stream `n` (inputs come first).
    pub fn output_descriptor(&self, n: u8) -> Option<u8> {
        (n < self.output_streams).then_some(self.input_streams + n)
    }

    /// Stream descriptor index of input stream `n`.
    pub fn input_descriptor(&self, n: u8) -> Option<u8> {
        (n < self.input_streams).then_some(n)
    }
}

/// Ring sizes from a CORBSIZE/RIRBSIZE value: (SIZE code, entries).
fn ring_size(reg: u32) -> (u32, u16) {
    let cap = regs::ringsize::CAP.get(reg);
    if cap & 0x4 != 0 {
        (2, 256)
    } else if cap & 0x2 != 0 {
        (1, 16)
    } else {
        (0, 2)
    }
}

struct Rings {
    mem: DmaBuffer,
    corb_entries: u16,
    rirb_entries: u16,
    /// The last RIRB entry we consumed.
    rirb_rp: u16,
}

/// An HDA controller brought up through a [`PciDevice`].
pub struct Controller {
    // `regs` holds the BAR mapping; it must be unmapped before the device is
    // closed (fields drop in order), or VFIO cannot release the group.
    regs: Regs,
    pci: Arc<dyn PciDevice>,
    caps: Caps,
    codecs: u16,
    rings: Option<Rings>,
    immediate: bool,
    unsolicited: VecDeque<Response>,
    irq: Option<IrqEvent>,
    rirb_overruns: u64,
    position_buffer: Option<DmaBuffer>,
}

impl Controller {
    /// Map the controller's registers and read its capabilities. The
    /// controller is not reset yet: call [`Controller::reset`].
    pub fn open(pci: Arc<dyn PciDevice>) -> Result<Controller> {
        let name = pci.address().to_string();
        pci.enable_bus_master()?;
        let regs = Regs::new(pci.map_bar(0)?, name);
        let gcap = regs.read(regs::GCAP)? as u16;
        if gcap == 0xffff {
            return Err(Error::Hardware {
                device: regs.device().to_string(),
                what: "GCAP reads 0xffff: the device is not responding".into(),
            });
        }
        let caps = Caps::from_gcap(gcap, regs.read(regs::VMAJ)? as u8, regs.read(regs::VMIN)? as u8);
        Ok(Controller {
            pci,
            regs,
            caps,
            codecs: 0,
            rings: None,
            immediate: false,
            unsolicited: VecDeque::new(),
            irq: None,
            rirb_overruns: 0,
            position_buffer: None,
        })
    }

    pub fn caps(&self) -> Caps {
        self.caps
    }

    pub fn regs(&self) -> &Regs {
        &self.regs
    }

    pub fn pci(&self) -> &Arc<dyn PciDevice> {
        &self.pci
    }

    pub fn name(&self) -> &str {
        self.regs.device()
    }

    /// Codec addresses that answered after reset, as a bit mask.
    pub fn codec_mask(&self) -> u16 {
        self.codecs
    }

    /// Whether commands go through the immediate interface (ICOI/ICII)
    /// instead of the CORB/RIRB rings.
    pub fn uses_immediate_commands(&self) -> bool {
        self.immediate
    }

    fn stop_command_dma(&mut self) -> Result<()> {
        use regs::{corbctl, rirbctl, CORBCTL, RIRBCTL};
        self.regs.write(CORBCTL, 0)?;
        self.regs.wait_field(CORBCTL, corbctl::RUN, 0, "CORB DMA to stop", DMA_TIMEOUT)?;
        self.regs.write(RIRBCTL, 0)?;
        self.regs.wait_field(RIRBCTL, rirbctl::DMAEN, 0, "RIRB DMA to stop", DMA_TIMEOUT)?;
        Ok(())
    }

    /// Put the controller through reset, wait for the codecs to announce
    /// themselves, and turn on unsolicited responses.
    pub fn reset(&mut self) -> Result<()> {
        use regs::{gctl, GCTL, STATESTS};
        self.stop_command_dma()?;
        self.rings = None;
        self.regs.write(STATESTS, 0x7fff)?; // write-1-to-clear every codec bit
        self.regs.update(GCTL, gctl::CRST, 0)?;
        self.regs.wait_field(GCTL, gctl::CRST, 0, "the controller to enter reset (CRST=0)", RESET_TIMEOUT)?;
        std::thread::sleep(Duration::from_micros(500));
        self.regs.update(GCTL, gctl::CRST, 1)?;
        self.regs.wait_field(GCTL, gctl::CRST, 1, "the controller to leave reset (CRST=1)", RESET_TIMEOUT)?;
        // Codecs request a state change within 521 µs of reset (spec §4.3).
        let deadline = Instant::now() + CODEC_WAKE_TIMEOUT;
        self.codecs = loop {
            let mask = self.regs.read(STATESTS)? as u16 & 0x7fff;
            if mask != 0 || Instant::now() >= deadline {
                break mask;
            }
            std::thread::sleep(Duration::from_micros(100));
        };
        log::debug!("{}: codecs present: {:#06x}", self.name(), self.codecs);
        self.regs.update(GCTL, gctl::UNSOL, 1)?;
        Ok(())
    }

    /// Set up the CORB and RIRB in one page of DMA memory and start them.
    pub fn init_command_rings(&mut self) -> Result<()> {
        use regs::*;
        self.stop_command_dma()?;
        let mem = self.pci.alloc_dma(4096, "CORB/RIRB")?;
        let corb = mem.iova();
        let rirb = corb + RIRB_OFFSET as u64;
        if !self.caps.addr64 && (rirb >> 32) != 0 {
            return Err(Error::Invalid(format!("{}: command rings above 4 GiB on a 32-bit controller", self.name())));
        }

        let (code, corb_entries) = ring_size(self.regs.read(CORBSIZE)?);
        self.regs.write(CORBLBASE, corb as u32)?;
        self.regs.write(CORBUBASE, (corb >> 32) as u32)?;
        self.regs.update(CORBSIZE, ringsize::SIZE, code)?;
        self.regs.write(CORBWP, 0)?;
        // Reset the read pointer. Some controllers (and QEMU) never show the
        // reset bit set; Linux tolerates that, and so do we.
        self.regs.write(CORBRP, corbrp::RST.mask())?;
        if self.regs.wait_field(CORBRP, corbrp::RST, 1, "CORB read pointer reset", Duration::from_millis(1)).is_err() {
            log::debug!("{}: CORBRP reset bit never read back as 1", self.name());
        }
        self.regs.write(CORBRP, 0)?;
        self.regs.wait_field(CORBRP, corbrp::RST, 0, "CORB read pointer reset to finish", DMA_TIMEOUT)?;

        let (code, rirb_entries) = ring_size(self.regs.read(RIRBSIZE)?);
        self.regs.write(RIRBLBASE, rirb as u32)?;
        self.regs.write(RIRBUBASE, (rirb >> 32) as u32)?;
        self.regs.update(RIRBSIZE, ringsize::SIZE, code)?;
        self.regs.write(RIRBWP, rirbwp::RST.mask())?;
        self.regs.write(RINTCNT, 1)?;
        self.regs.write(RIRBSTS, rirbsts::RINTFL.mask() | rirbsts::OIS.mask())?;

        self.regs.write(CORBCTL, corbctl::RUN.mask())?;
        self.regs.wait_field(CORBCTL, corbctl::RUN, 1, "CORB DMA to start", DMA_TIMEOUT)?;
        self.regs.write(RIRBCTL, rirbctl::DMAEN.mask() | rirbctl::RINTCTL.mask())?;
        let rirb_rp = (self.regs.read(RIRBWP)? & 0xff) as u16;
        self.rings = Some(Rings { mem, corb_entries, rirb_entries, rirb_rp });
        self.immediate = false;
        Ok(())
    }

    /// Send a verb and wait for its response. Falls back to the immediate
    /// command interface (as Linux's single_cmd mode) if the rings stop
    /// answering; fails with [`Error::NoResponse`] if the codec never does.
    pub fn send(&mut self, verb: Verb) -> Result<u32> {
        if self.rings.is_none() || self.immediate {
            return self.send_immediate(verb);
        }
        match self.send_corb(verb) {
            Err(Error::NoResponse { .. }) => {
                log::warn!("{}: no response through CORB/RIRB; switching to immediate commands", self.name());
                self.stop_command_dma()?;
                self.immediate = true;
                self.send_immediate(verb)
            }
            other => other,
        }
    }

    fn send_corb(&mut self, verb: Verb) -> Result<u32> {
        use regs::*;
        let Some(rings) = self.rings.as_mut() else {
            return Err(Error::Invalid("command rings are not set up".into()));
        };
        let wp = ((self.regs.read(CORBWP)? & 0xff) as u16 + 1) % rings.corb_entries;
        rings.mem.write_u32(usize::from(wp) * CORB_ENTRY, verb.encode())?;
        self.regs.write(CORBWP, wp.into())?;

        let deadline = Instant::now() + VERB_TIMEOUT;
        loop {
            if let Some(value) = self.drain_rirb(Some(verb.codec))? {
                return Ok(value);
            }
            if Instant::now() >= deadline {
                return Err(Error::NoResponse {
                    device: self.regs.device().to_string(),
                    codec: verb.codec,
                    verb: verb.encode(),
                    ms: VERB_TIMEOUT.as_millis() as u64,
                });
            }
            std::thread::sleep(Duration::from_micros(20));
        }
    }

    /// Read what the RIRB holds: unsolicited responses are queued; the first
    /// answer from codec `want` is returned. Acknowledges RIRBSTS (so the
    /// controller keeps processing the CORB) and reports overruns.
    fn drain_rirb(&mut self, want: Option<u8>) -> Result<Option<u32>> {
        use regs::*;
        let Some(rings) = self.rings.as_mut() else { return Ok(None) };
        let sts = self.regs.read(RIRBSTS)?;
        if rirbsts::OIS.get(sts) != 0 {
            self.rirb_overruns += 1;
            log::warn!("{}: RIRB overrun: responses were lost", self.regs.device());
        }
        if sts != 0 {
            self.regs.write(RIRBSTS, sts & (rirbsts::RINTFL.mask() | rirbsts::OIS.mask()))?;
        }
        let hw_wp = (self.regs.read(RIRBWP)? & 0xff) as u16 % rings.rirb_entries;
        while rings.rirb_rp != hw_wp {
            rings.rirb_rp = (rings.rirb_rp + 1) % rings.rirb_entries;
            let at = RIRB_OFFSET + usize::from(rings.rirb_rp) * RIRB_ENTRY;
            let r = Response::decode(rings.mem.read_u32(at)?, rings.mem.read_u32(at + 4)?);
            if r.unsolicited {
                self.unsolicited.push_back(r);
            } else if Some(r.codec) == want {
                return Ok(Some(r.value));
            } else {
                log::warn!("{}: unexpected response {:#010x} from codec {}", self.regs.device(), r.value, r.codec);
            }
        }
        Ok(None)
    }

    /// Collect unsolicited responses (jack events) that arrived since the
    /// last command, without sending one.
    pub fn poll_unsolicited(&mut self) -> Result<Vec<Response>> {
        if !self.immediate {
            self.drain_rirb(None)?;
        }
        Ok(self.take_unsolicited())
    }

    /// Have the controller write every stream's position into a DMA buffer
    /// (DPLBASE), the alternative to reading LPIB (Linux's position_fix).
    pub fn enable_position_buffer(&mut self) -> Result<()> {
        let buf = self.pci.alloc_dma(4096, "DMA position buffer")?;
        self.regs.write(regs::DPUBASE, (buf.iova() >> 32) as u32)?;
        self.regs.write(regs::DPLBASE, buf.iova() as u32 | 1)?;
        self.position_buffer = Some(buf);
        Ok(())
    }

    /// Stream descriptor `index`'s position from the DMA position buffer, if enabled.
    pub fn buffer_position(&self, index: u8) -> Result<Option<u32>> {
        match &self.position_buffer {
            Some(b) => Ok(Some(b.read_u32(usize::from(index) * 8)?)),
            None => Ok(None),
        }
    }

    /// The DMA position buffer, if enabled (each stream's position at
    /// 8 × its index), for a stream to read without the controller's lock.
    pub fn position_buffer(&self) -> Option<DmaBuffer> {
        self.position_buffer.clone()
    }

    /// RIRB overruns seen (responses the controller had to drop).
    pub fn rirb_overruns(&self) -> u64 {
        self.rirb_overruns
    }

    fn send_immediate(&mut self, verb: Verb) -> Result<u32> {
        use regs::*;
        let no_response = || Error::NoResponse {
            device: self.name().to_string(),
            codec: verb.codec,
            verb: verb.encode(),
            ms: VERB_TIMEOUT.as_millis() as u64,
        };
        self.regs.wait_field(ICIS, icis::ICB, 0, "the immediate command interface to be idle", VERB_TIMEOUT)?;
        self.regs.write(ICIS, icis::IRV.mask())?; // clear a stale response
        self.regs.write(ICOI, verb.encode())?;
        self.regs.write(ICIS, icis::ICB.mask())?;
        match self.regs.wait_field(ICIS, icis::IRV, 1, "an immediate response", VERB_TIMEOUT) {
            Ok(_) => self.regs.read(ICII),
            Err(Error::Timeout { .. }) => Err(no_response()),
            Err(e) => Err(e),
        }
    }

    /// Unsolicited responses (jack events) received so far.
    pub fn take_unsolicited(&mut self) -> Vec<Response> {
        self.unsolicited.drain(..).collect()
    }

    /// Route the controller's interrupt to an eventfd: MSI if the device
    /// offers it, else INTx. Global interrupts are enabled; streams enable
    /// their own bit.
    pub fn enable_interrupts(&mut self) -> Result<IrqEvent> {
        let ev = match self.pci.enable_irq(IrqKind::Msi) {
            Ok(ev) => ev,
            Err(e) => {
                log::info!("{}: MSI unavailable ({e}); using INTx", self.name());
                self.pci.enable_irq(IrqKind::Intx)?
            }
        };
        self.regs.update(regs::INTCTL, regs::intctl::GIE, 1)?;
        self.irq = Some(ev.clone());
        Ok(ev)
    }

    /// After handling an interrupt: re-arm INTx (no-op for MSI).
    pub fn ack_interrupt(&self) -> Result<()> {
        Ok(self.pci.unmask_irq()?)
    }

    /// Stop command DMA, mask interrupts and hold the controller in reset:
    /// the quiet state the device is left in.
    pub fn shutdown(&mut self) -> Result<()> {
        self.regs.write(regs::INTCTL, 0)?;
        if self.position_buffer.take().is_some() {
            self.regs.write(regs::DPLBASE, 0)?;
        }
        if self.irq.take().is_some() {
            self.pci.disable_irq()?;
        }
        self.stop_command_dma()?;
        self.rings = None;
        self.regs.update(regs::GCTL, regs::gctl::CRST, 0)?;
        Ok(())
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            log::warn!("{}: shutdown: {e}", self.name());
        }
    }
}
