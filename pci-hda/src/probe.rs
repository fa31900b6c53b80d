//! The controller probe behind `outboard probe vfio`: bring-up as far as the
//! hardware allows, one `key=value` line per finding (the bench's hal-vfio
//! scenario reads them): capabilities, reset, the codecs and their widgets
//! over CORB/RIRB (or the immediate interface), then a stream on the first
//! DAC and its interrupts counted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use outboard_hal::pci::PciDevice;

use crate::codec::{read_codec, WidgetKind};
use crate::controller::Controller;
use crate::stream::{Stream, StreamConfig};
use crate::verb::{Verb, SET_CHANNEL_STREAMID, SET_CONVERTER_FORMAT};

/// Highest codec address on the link (SDIN lines 0-14).
const MAX_CODECS: u8 = 15;

/// Probe the controller `pci`: `say` gets each finding; `signal(frames)` gives
/// S16 stereo bytes to play while `interrupts` stream interrupts are counted.
pub fn probe(
    pci: Arc<dyn PciDevice>,
    interrupts: u64,
    signal: &dyn Fn(usize) -> Vec<u8>,
    say: &mut dyn FnMut(String),
) -> Result<(), String> {
    let e = |e: crate::Error| e.to_string();
    let mut ctrl = Controller::open(pci).map_err(e)?;
    let caps = ctrl.caps();
    say(format!("gcap={:#06x} vmaj={} vmin={}", caps.gcap, caps.version_major, caps.version_minor));
    say(format!(
        "streams out={} in={} bidir={} addr64={}",
        caps.output_streams, caps.input_streams, caps.bidir_streams, caps.addr64
    ));
    ctrl.reset().map_err(e)?;
    say(format!("codecs={:#06x}", ctrl.codec_mask()));
    ctrl.init_command_rings().map_err(e)?;

    let mut dac = None;
    let mask = ctrl.codec_mask();
    for codec in (0..MAX_CODECS).filter(|c| mask & (1 << c) != 0) {
        let info = read_codec(&mut ctrl, codec).map_err(e)?;
        say(format!(
            "codec{codec}.vendor={:#010x} rev={:#010x} widgets={}",
            info.vendor_id,
            info.revision_id,
            info.nodes.len()
        ));
        for w in &info.nodes {
            say(format!("codec{codec}.node{:#04x}={:?}", w.nid, w.kind()));
        }
        if dac.is_none() {
            dac = info.nodes_of(WidgetKind::AudioOutput).next().map(|w| (codec, w.nid));
        }
    }
    say(format!("command_interface={}", if ctrl.uses_immediate_commands() { "immediate" } else { "corb-rirb" }));

    let Some((codec, nid)) = dac else { return Err("no audio output converter on any codec".into()) };
    let irq = ctrl.enable_interrupts().map_err(e)?;
    say(format!("irq={:?}", irq.kind()));
    let index = caps.output_descriptor(0).ok_or("the controller has no output stream")?;
    let config = StreamConfig { rate: 48_000, bits: 16, channels: 2, period_bytes: 4096, periods: 4 };
    let stream = Stream::setup(&ctrl, index, 1, config).map_err(e)?;
    stream.write(0, &signal(config.buffer_bytes() / 4)).map_err(e)?;
    let fmt = stream.format().map_err(e)?;
    ctrl.send(Verb::long(codec, nid, SET_CONVERTER_FORMAT, fmt)).map_err(e)?;
    ctrl.send(Verb::new(codec, nid, SET_CHANNEL_STREAMID, stream.tag() << 4)).map_err(e)?;
    stream.start().map_err(e)?;

    let started = Instant::now();
    let mut counted = 0;
    let mut result = Ok(());
    while counted < interrupts {
        match irq.wait(Duration::from_secs(5)) {
            Ok(n) => {
                counted += n;
                let intsts = ctrl.regs().read(crate::regs::INTSTS).map_err(e)?;
                let sts = stream.ack().map_err(e)?;
                log::debug!("interrupt: INTSTS={intsts:#010x} SDSTS={sts:#04x}");
                ctrl.ack_interrupt().map_err(e)?;
            }
            Err(err) => {
                result = Err(format!("after {counted} interrupts: {err}"));
                break;
            }
        }
    }
    say(format!("interrupts={counted} in {} ms, lpib={}", started.elapsed().as_millis(), stream.lpib().unwrap_or(0)));
    stream.stop().map_err(e)?;
    ctrl.send(Verb::new(codec, nid, SET_CHANNEL_STREAMID, 0)).map_err(e)?;
    drop(stream);
    ctrl.shutdown().map_err(e)?;
    say("shutdown=ok".into());
    result
}
