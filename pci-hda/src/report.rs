//! A codec and the paths the driver chose, for people (`describe`) and for
//! programs ([`CodecReport`], serialisable: `outboard info --json`,
//! `outboard hda-codec --json`).

use serde::Serialize;

use crate::codec::paths::{Plan, Sink};
use crate::codec::pin::PinConfig;
use crate::codec::{Codec, WidgetKind};

/// What a widget kind is called in codec dumps.
pub fn kind_name(k: WidgetKind) -> String {
    match k {
        WidgetKind::AudioOutput => "Audio Output".into(),
        WidgetKind::AudioInput => "Audio Input".into(),
        WidgetKind::Mixer => "Audio Mixer".into(),
        WidgetKind::Selector => "Audio Selector".into(),
        WidgetKind::Pin => "Pin Complex".into(),
        WidgetKind::Power => "Power Widget".into(),
        WidgetKind::VolumeKnob => "Volume Knob".into(),
        WidgetKind::BeepGenerator => "Beep Generator".into(),
        WidgetKind::VendorDefined => "Vendor Defined".into(),
        WidgetKind::Reserved(n) => format!("Reserved {n}"),
    }
}

fn hops(nodes: &[u8]) -> String {
    nodes.iter().map(|n| format!("{n:#04x}")).collect::<Vec<_>>().join(" -> ")
}

/// The graph and the plan, as text.
pub fn describe(codec: &Codec, plan: &Plan) -> String {
    let mut out = format!(
        "Codec {}: {} vendor {:#010x} subsystem {:#010x} revision {:#x}\n",
        codec.address,
        codec.name.as_deref().unwrap_or("(unnamed)"),
        codec.vendor_id,
        codec.subsystem_id,
        codec.revision_id
    );
    for n in &codec.nodes {
        let mut line = format!("  node {:#04x} {:<15}", n.nid, kind_name(n.kind()));
        if let Some(pcm) = n.pcm {
            line += &format!(" rates {:?} bits {:?}", pcm.rates(), pcm.bits());
        }
        if let Some(cfg) = n.pin_config.map(PinConfig) {
            line += &format!(
                " {:?} {:?} assoc {} seq {}",
                cfg.connectivity(),
                cfg.device(),
                cfg.association(),
                cfg.sequence()
            );
        }
        if !n.connections.is_empty() {
            let conns: Vec<String> = n
                .connections
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    format!("{c:#04x}{}", if n.selected == Some(i) && n.connections.len() > 1 { "*" } else { "" })
                })
                .collect();
            line += &format!(" <- [{}]", conns.join(" "));
        }
        out += &line;
        out.push('\n');
    }
    out += "  outputs:\n";
    for o in &plan.outputs {
        out += &format!(
            "    {:?} pin {:#04x}: {}{}\n",
            o.role,
            o.pin,
            hops(&o.nodes),
            if o.shared { " (DAC shared)" } else { "" }
        );
    }
    out += "  inputs:\n";
    for i in &plan.inputs {
        out += &format!("    {:?} pin {:#04x}: {}\n", i.role, i.pin, hops(&i.nodes));
    }
    for (pin, dev) in &plan.unrouted {
        out += &format!("  unrouted: pin {pin:#04x} ({dev:?}): no converter reaches it\n");
    }
    for d in &plan.displays {
        out += &match &d.sink {
            Sink::None => format!("  display pin {:#04x}: nothing connected\n", d.pin),
            Sink::Malformed(why) => format!("  display pin {:#04x}: ELD malformed, ignored: {why}\n", d.pin),
            Sink::Eld(e) => {
                let mut s = format!(
                    "  display pin {:#04x}: {:?} \"{}\" (manufacturer {:#06x}, product {:#06x}), speakers {}, A/V delay {} ms\n",
                    d.pin,
                    e.connection,
                    e.monitor_name,
                    e.manufacturer,
                    e.product,
                    e.speakers().join(" "),
                    e.audio_sync_delay_ms
                );
                for sad in &e.sads {
                    let bits: Vec<String> = sad.bits.iter().map(|b| b.to_string()).collect();
                    s += &format!(
                        "    {} {} ch, rates {:?}{}\n",
                        sad.coding_name(),
                        sad.channels,
                        sad.rates,
                        if bits.is_empty() { String::new() } else { format!(", bits {}", bits.join("/")) }
                    );
                }
                s
            }
        };
    }
    out
}

/// A codec and its paths, for serialising.
#[derive(Clone, Debug, Serialize)]
pub struct CodecReport {
    pub address: u8,
    pub name: Option<String>,
    pub vendor_id: u32,
    pub subsystem_id: u32,
    pub nodes: Vec<NodeReport>,
    pub outputs: Vec<OutputReport>,
    pub inputs: Vec<InputReport>,
    /// Connected pins no converter reaches.
    pub unrouted: Vec<u8>,
    /// HDMI/DisplayPort pins and their displays (read when a device opens).
    pub displays: Vec<DisplayReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DisplayReport {
    pub pin: u8,
    /// "none", "eld" or "malformed".
    pub sink: &'static str,
    pub error: Option<String>,
    pub monitor_name: Option<String>,
    /// "Hdmi" or "DisplayPort".
    pub connection: Option<String>,
    pub speakers: Vec<&'static str>,
    pub audio_sync_delay_ms: Option<u16>,
    pub lpcm_channels: Option<u8>,
    /// Every coding the display takes: (name, channels, rates, bits).
    pub codings: Vec<(String, u8, Vec<u32>, Vec<u8>)>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NodeReport {
    pub nid: u8,
    #[serde(rename = "type")]
    pub kind: String,
    pub wcaps: u32,
    pub connections: Vec<u8>,
    /// Index into `connections` of the selected input.
    pub selected: Option<usize>,
    pub pin_config: Option<u32>,
}

#[derive(Clone, Debug, Serialize)]
pub struct OutputReport {
    pub role: String,
    pub pin: u8,
    pub dac: u8,
    /// DAC first, pin last.
    pub path: Vec<u8>,
    pub shared: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct InputReport {
    pub role: String,
    pub pin: u8,
    pub adc: u8,
    /// Pin first, ADC last.
    pub path: Vec<u8>,
}

impl CodecReport {
    pub fn new(codec: &Codec, plan: &Plan) -> CodecReport {
        CodecReport {
            address: codec.address,
            name: codec.name.clone(),
            vendor_id: codec.vendor_id,
            subsystem_id: codec.subsystem_id,
            nodes: codec
                .nodes
                .iter()
                .map(|n| NodeReport {
                    nid: n.nid,
                    kind: kind_name(n.kind()),
                    wcaps: n.wcaps,
                    connections: n.connections.clone(),
                    selected: n.selected,
                    pin_config: n.pin_config,
                })
                .collect(),
            outputs: plan
                .outputs
                .iter()
                .map(|o| OutputReport {
                    role: format!("{:?}", o.role),
                    pin: o.pin,
                    dac: o.dac,
                    path: o.nodes.clone(),
                    shared: o.shared,
                })
                .collect(),
            inputs: plan
                .inputs
                .iter()
                .map(|i| InputReport { role: format!("{:?}", i.role), pin: i.pin, adc: i.adc, path: i.nodes.clone() })
                .collect(),
            unrouted: plan.unrouted.iter().map(|(p, _)| *p).collect(),
            displays: plan
                .displays
                .iter()
                .map(|d| {
                    let mut r = DisplayReport {
                        pin: d.pin,
                        sink: "none",
                        error: None,
                        monitor_name: None,
                        connection: None,
                        speakers: Vec::new(),
                        audio_sync_delay_ms: None,
                        lpcm_channels: None,
                        codings: Vec::new(),
                    };
                    match &d.sink {
                        Sink::None => {}
                        Sink::Malformed(why) => (r.sink, r.error) = ("malformed", Some(why.clone())),
                        Sink::Eld(e) => {
                            r.sink = "eld";
                            r.monitor_name = Some(e.monitor_name.clone());
                            r.connection = Some(format!("{:?}", e.connection));
                            r.speakers = e.speakers();
                            r.audio_sync_delay_ms = Some(e.audio_sync_delay_ms);
                            r.lpcm_channels = Some(e.max_lpcm_channels());
                            r.codings = e
                                .sads
                                .iter()
                                .map(|s| (s.coding_name().to_string(), s.channels, s.rates.clone(), s.bits.clone()))
                                .collect();
                        }
                    }
                    r
                })
                .collect(),
        }
    }
}
