//! Outboard's output paths against the ones Linux's driver left in a codec
//! dump (`outboard hda-codec DUMP --vs-linux`).
//!
//! A dump is the codec's state as Linux left it: a pin Linux drives has
//! output enabled in its pin control (`Pin-ctls: 0x40: OUT`), and the route
//! from a DAC to it is read from the selected connection of each pin and
//! selector and the unmuted inputs of each mixer ([`paths::linux_route`]).
//! Each analog output pin either side drives is compared:
//!
//! - the *pins* agree when Outboard routes exactly the pins Linux drives;
//! - the *DAC* agrees when the route Linux left leads to the DAC Outboard
//!   gives the pin (a pin whose route Linux left unclear — two unmuted
//!   mixer inputs that both reach a DAC, or none — is not compared);
//! - the *route* agrees when every widget on the way is the same.
//!
//! Two states of Linux's are not differences: a speaker or line out whose
//! pin control Linux cleared because a headphone was plugged when the dump
//! was taken (Linux auto-mutes by clearing the pin control, so the pin is
//! Linux's output all the same: its route is still selected), and a pin that
//! Linux's parser left alone while a BIOS or another driver had enabled it
//! is not distinguishable from one Linux drives, so it counts as driven.
//!
//! Dumps taken before kernel 3.9 come from per-model drivers that did not
//! use the generic parser and legitimately differ (docs/hda.md).

use serde::Serialize;

use super::hints::Hints;
use super::paths::{self, OutputRole, Plan};
use super::pin::{ctl, Device, PinConfig};
use super::{Codec, WidgetKind};

/// How one pin compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Same pin, same route.
    Same,
    /// Same DAC, another way to it.
    OtherRoute,
    /// Both drive the pin, from other DACs.
    OtherDac,
    /// Both drive the pin; the route Linux left does not lead to one DAC.
    LinuxRouteUnclear,
    /// Outboard drives a pin Linux left off.
    OnlyOutboard,
    /// Linux drives a pin Outboard does not route.
    OnlyLinux,
}

/// One analog output pin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PinComparison {
    pub pin: u8,
    /// What the pin's configuration says it is.
    pub device: String,
    /// Outboard's role for it, if Outboard routes it.
    pub role: Option<String>,
    /// Outboard's route, DAC first.
    pub outboard: Option<Vec<u8>>,
    /// Linux's pin control, as read.
    pub linux_pin_ctl: Option<u8>,
    /// The route Linux left, DAC first (when it leads to one DAC).
    pub linux: Option<Vec<u8>>,
    pub verdict: Verdict,
}

impl PinComparison {
    /// The DACs agree (only meaningful when both sides drive the pin and
    /// Linux's route is clear).
    pub fn dac_agrees(&self) -> Option<bool> {
        match (&self.outboard, &self.linux) {
            (Some(o), Some(l)) => Some(o.first() == l.first()),
            _ => None,
        }
    }
}

/// One codec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Comparison {
    pub address: u8,
    pub name: Option<String>,
    pub vendor_id: u32,
    /// The pin configurations Linux used over the BIOS's, which the plan
    /// compared was made with (pin, configuration).
    pub linux_pin_configs: Vec<(u8, u32)>,
    pub pins: Vec<PinComparison>,
}

impl Comparison {
    /// Outboard routes exactly the analog pins Linux drives.
    pub fn pins_agree(&self) -> bool {
        self.pins.iter().all(|p| !matches!(p.verdict, Verdict::OnlyOutboard | Verdict::OnlyLinux))
    }
    /// Pins whose DAC can be compared, and how many agree.
    pub fn dacs(&self) -> (usize, usize) {
        let compared: Vec<bool> = self.pins.iter().filter_map(PinComparison::dac_agrees).collect();
        (compared.len(), compared.iter().filter(|&&a| a).count())
    }
    /// Every pin agrees on pin and DAC.
    pub fn agrees(&self) -> bool {
        self.pins.iter().all(|p| matches!(p.verdict, Verdict::Same | Verdict::OtherRoute | Verdict::LinuxRouteUnclear))
    }
}

/// An analog output pin: a pin widget whose configuration says line out,
/// speaker or headphone (or that Linux drove) and that is not digital.
fn analog_output(codec: &Codec, nid: u8) -> Option<Device> {
    let node = codec.node(nid)?;
    if node.kind() != WidgetKind::Pin || node.is_digital() {
        return None;
    }
    let config = PinConfig(node.pin_config?);
    if !config.is_connected() {
        return None;
    }
    match config.device() {
        Device::SpdifOut | Device::DigitalOtherOut | Device::SpdifIn | Device::DigitalOtherIn => None,
        d => Some(d),
    }
}

/// Whether Linux's state says it drives `nid` as an output.
fn linux_drives(codec: &Codec, plan: &Plan, nid: u8) -> bool {
    let Some(node) = codec.node(nid) else { return false };
    let pin_ctl = node.pin_ctl.unwrap_or(0);
    if pin_ctl & ctl::OUT_ENABLE != 0 {
        return true;
    }
    // Auto-muted: a speaker or line out with its pin control cleared while
    // a headphone Linux drives is enabled.
    let automutable =
        plan.outputs.iter().any(|o| o.pin == nid && matches!(o.role, OutputRole::Speaker | OutputRole::LineOut));
    let hp_on = plan.outputs.iter().any(|o| {
        o.role == OutputRole::Headphone
            && codec.node(o.pin).and_then(|n| n.pin_ctl).is_some_and(|c| c & ctl::OUT_ENABLE != 0)
    });
    pin_ctl == 0 && automutable && hp_on && paths::linux_route(codec, nid).is_some()
}

/// Compare Outboard's paths for a dumped codec with the state Linux left,
/// planning as Linux did: with the pin configurations Linux's driver and
/// user set over the BIOS's, when the dump lists them
/// ([`Codec::linux_pin_configs`]).
pub fn compare_dump(codec: &Codec, hints: &Hints) -> Comparison {
    let mut fixed = codec.clone();
    for &(pin, config) in &codec.linux_pin_configs {
        if let Some(n) = fixed.nodes.iter_mut().find(|n| n.nid == pin) {
            n.pin_config = Some(config);
        }
    }
    let mut c = compare(&fixed, &paths::plan_with(&fixed, hints));
    c.linux_pin_configs = codec.linux_pin_configs.clone();
    c
}

/// Compare `plan` (Outboard's paths for `codec`) with the state in the dump.
pub fn compare(codec: &Codec, plan: &Plan) -> Comparison {
    let mut pins: Vec<u8> = plan
        .outputs
        .iter()
        .filter(|o| o.role != OutputRole::Digital)
        .map(|o| o.pin)
        .filter(|&p| analog_output(codec, p).is_some())
        .collect();
    for node in codec.nodes_of(WidgetKind::Pin) {
        if !pins.contains(&node.nid) && analog_output(codec, node.nid).is_some() && linux_drives(codec, plan, node.nid)
        {
            pins.push(node.nid);
        }
    }
    pins.sort_unstable();
    let pins = pins
        .into_iter()
        .map(|pin| {
            let ours = plan.outputs.iter().find(|o| o.pin == pin);
            let driven = linux_drives(codec, plan, pin);
            let linux = if driven { paths::linux_route(codec, pin) } else { None };
            let verdict = match (ours, driven, &linux) {
                (Some(_), false, _) => Verdict::OnlyOutboard,
                (None, _, _) => Verdict::OnlyLinux,
                (Some(o), true, Some(l)) if *l == o.nodes => Verdict::Same,
                (Some(o), true, Some(l)) if l.first() == Some(&o.dac) => Verdict::OtherRoute,
                (Some(_), true, Some(_)) => Verdict::OtherDac,
                (Some(_), true, None) => Verdict::LinuxRouteUnclear,
            };
            PinComparison {
                pin,
                device: analog_output(codec, pin).map_or_else(String::new, |d| format!("{d:?}")),
                role: ours.map(|o| format!("{:?}", o.role)),
                outboard: ours.map(|o| o.nodes.clone()),
                linux_pin_ctl: codec.node(pin).and_then(|n| n.pin_ctl),
                linux,
                verdict,
            }
        })
        .collect();
    Comparison {
        address: codec.address,
        name: codec.name.clone(),
        vendor_id: codec.vendor_id,
        linux_pin_configs: Vec::new(),
        pins,
    }
}

fn hops(nodes: &Option<Vec<u8>>) -> String {
    match nodes {
        Some(n) => n.iter().map(|n| format!("{n:#04x}")).collect::<Vec<_>>().join(" -> "),
        None => "-".into(),
    }
}

/// The comparison as text: every pin, and the verdict.
pub fn describe(c: &Comparison) -> String {
    let mut out = format!(
        "Codec {}: {} vendor {:#010x}: {}\n",
        c.address,
        c.name.as_deref().unwrap_or("(unnamed)"),
        c.vendor_id,
        if c.pins.is_empty() {
            "no analog output pins".to_string()
        } else if c.agrees() {
            "agrees with Linux".to_string()
        } else {
            "differs from Linux".to_string()
        }
    );
    if !c.linux_pin_configs.is_empty() {
        let list: Vec<String> = c.linux_pin_configs.iter().map(|(p, v)| format!("{p:#04x} {v:#010x}")).collect();
        out += &format!("  planned with Linux's pin fixups from the dump: {}\n", list.join(", "));
    }
    for p in &c.pins {
        let what = match p.verdict {
            Verdict::Same => "same",
            Verdict::OtherRoute => "same DAC, other route",
            Verdict::OtherDac => "OTHER DAC",
            Verdict::LinuxRouteUnclear => "Linux's route unclear",
            Verdict::OnlyOutboard => "ONLY OUTBOARD drives it",
            Verdict::OnlyLinux => "ONLY LINUX drives it",
        };
        out += &format!(
            "  pin {:#04x} {:<8} {:<10} {what}\n    outboard: {}\n    linux:    {} (pin-ctl {})\n",
            p.pin,
            p.device,
            p.role.as_deref().unwrap_or("-"),
            hops(&p.outboard),
            hops(&p.linux),
            p.linux_pin_ctl.map_or_else(|| "?".into(), |c| format!("{c:#04x}")),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::paths::{plan, tests::alc269};

    #[test]
    fn an_old_parsers_dump_differs_on_the_dacs_and_says_so() {
        // The Eee PC dump was taken under the ALC269 parser of 2.6.30, which
        // gave the speaker the first DAC; the generic parser gives it to the
        // headphone (primary when there is one speaker and one headphone).
        let mut c = alc269();
        for n in &mut c.nodes {
            match n.nid {
                0x14 => n.pin_ctl = Some(0x40),
                0x15 => n.pin_ctl = Some(0xc0),
                _ => {}
            }
        }
        let cmp = compare(&c, &plan(&c));
        let v: Vec<_> = cmp.pins.iter().map(|p| (p.pin, p.verdict)).collect();
        assert_eq!(v, vec![(0x14, Verdict::OtherDac), (0x15, Verdict::OtherDac)]);
        assert!(cmp.pins_agree());
        assert_eq!(cmp.dacs(), (2, 0));
        assert!(describe(&cmp).contains("pin 0x14 Speaker"));
    }

    #[test]
    fn pins_only_one_side_drives_are_named() {
        let mut c = alc269();
        // Linux left the speaker off and the headphone on, with nothing
        // plugged... the speaker was auto-muted: still Linux's output.
        for n in &mut c.nodes {
            match n.nid {
                0x14 => n.pin_ctl = Some(0),
                0x15 => n.pin_ctl = Some(0xc0),
                _ => {}
            }
        }
        let cmp = compare(&c, &plan(&c));
        assert!(cmp.pins_agree());
        // With the headphone off too, the speaker is Outboard's alone.
        for n in &mut c.nodes {
            if n.nid == 0x15 {
                n.pin_ctl = Some(0);
            }
        }
        let cmp = compare(&c, &plan(&c));
        let v: Vec<_> = cmp.pins.iter().map(|p| (p.pin, p.verdict)).collect();
        assert_eq!(v, vec![(0x14, Verdict::OnlyOutboard), (0x15, Verdict::OnlyOutboard)]);
        assert!(!cmp.pins_agree());
        // A pin Linux drives that Outboard does not route: 0x16, a line out
        // whose only connection (0x0e) the codec does not have.
        for n in &mut c.nodes {
            if n.nid == 0x16 {
                n.pin_ctl = Some(0x40);
                n.pin_config = Some(0x0101_4010);
            }
        }
        let cmp = compare(&c, &plan(&c));
        assert!(cmp.pins.iter().any(|p| p.pin == 0x16 && p.verdict == Verdict::OnlyLinux), "{cmp:?}");
    }
}
