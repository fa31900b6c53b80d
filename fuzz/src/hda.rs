//! HDA: codec dumps, live codec answers, pin-config overrides.

use outboard_hda::codec::{controls, dump, live, paths, pin, Codec, WidgetKind};

use crate::Input;

/// What the driver derives from a codec, whatever it came from.
fn exercise(codec: &Codec) {
    let plan = paths::plan(codec);
    for path in &plan.outputs {
        let _ = controls::output_volume(codec, path);
        let _ = controls::output_mute(codec, path);
        let _ = paths::is_valid_path(codec, &path.nodes);
    }
    for path in &plan.inputs {
        let _ = controls::capture_volume(codec, path);
    }
    let _ = plan.primary_output();
    for pin in codec.nodes_of(WidgetKind::Pin) {
        let _ = paths::linux_route(codec, pin.nid);
        for conv in codec.nodes_of(WidgetKind::AudioOutput) {
            let _ = paths::find_path(codec, conv.nid, pin.nid);
        }
    }
}

/// A codec dump as text (lossy UTF-8), then every codec in it.
pub fn hda_dump(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (codecs, _warnings) = dump::parse_dumps_with_warnings(&text);
    for codec in &codecs {
        exercise(codec);
    }
}

/// A live codec whose every answer comes from the input (4 bytes each;
/// zeros once it runs out), then what the driver makes of it.
pub fn hda_live(data: &[u8]) {
    let mut input = Input::new(data);
    let address = input.u8() & 0x0f;
    let mut answers = 0usize;
    let codec = live::read_codec_with(address, |_nid, _verb, _data| {
        answers += 1;
        // A codec never answers more than 127 nodes' worth of verbs; a
        // reader that keeps asking is a hang on real hardware too.
        assert!(answers < 127 * 80, "read_codec asked more than {answers} verbs");
        Ok(input.u32())
    });
    if let Ok(codec) = codec {
        exercise(&codec);
    }
}

/// A pin-config override string (`hints`), applied to the codec a dump in
/// the rest of the input describes.
pub fn hda_pins(data: &[u8]) {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let text = String::from_utf8_lossy(&data[..split]);
    let Ok(overrides) = pin::parse_overrides(&text) else { return };
    let dump = String::from_utf8_lossy(data.get(split + 1..).unwrap_or(&[]));
    for mut codec in dump::parse_dumps(&dump) {
        pin::apply_overrides(&mut codec, &overrides);
        exercise(&codec);
    }
}
