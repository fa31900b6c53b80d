//! The daemon's configuration file: a small TOML subset (`key = value`
//! lines, `#` comments, strings in double quotes, integers, booleans), e.g.
//!
//! ```toml
//! device = "0000:00:1b.0"   # or "emulated", "usb", "usb:1-1"; several: "0000:00:1b.0, usb"; none: all found
//! bind = true               # bind it to vfio-pci first
//! rate = 48000
//! period = 1024             # frames
//! periods = 4
//! node = "dsp"              # /dev/dsp (and /dev/audio, /dev/mixer, /dev/sndstat)
//! group = "audio"
//! mode = "0660"
//! control = "/run/outboard.sock"
//! hw_volume = "max"         # USB devices: every feature unit on the playback path (max or dB)
//! ```
//!
//! Unknown keys and malformed lines are errors naming the line: a typo in a
//! daemon's config should not be silently ignored.

use std::collections::HashMap;

/// A parsed value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
}

/// The keys `serve` understands, and the kind of each.
const KEYS: &[(&str, &str)] = &[
    ("device", "string"),
    ("bind", "boolean"),
    ("rate", "integer"),
    ("period", "integer"),
    ("periods", "integer"),
    ("node", "string"),
    ("group", "string"),
    ("mode", "string"),
    ("control", "string"),
    ("hw_volume", "string"),
];

/// Parse a config file's text.
pub fn parse(text: &str) -> Result<HashMap<String, Value>, String> {
    let mut out = HashMap::new();
    for (n, raw) in text.lines().enumerate() {
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let bad = |what: &str| format!("line {}: `{}`: {what}", n + 1, raw.trim());
        let (key, value) = line.split_once('=').ok_or_else(|| bad("expected `key = value`"))?;
        let (key, value) = (key.trim(), value.trim());
        let kind = KEYS.iter().find(|(k, _)| *k == key).map(|(_, t)| *t).ok_or_else(|| {
            bad(&format!("unknown key (known: {})", KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")))
        })?;
        let v = if let Some(s) = value.strip_prefix('"') {
            Value::Str(s.strip_suffix('"').ok_or_else(|| bad("unterminated string"))?.to_string())
        } else if value == "true" || value == "false" {
            Value::Bool(value == "true")
        } else {
            Value::Int(value.replace('_', "").parse().map_err(|_| bad("expected a string, a number, true or false"))?)
        };
        let ok =
            matches!((&v, kind), (Value::Str(_), "string") | (Value::Int(_), "integer") | (Value::Bool(_), "boolean"));
        if !ok {
            let article = if kind == "integer" { "an" } else { "a" };
            return Err(bad(&format!("`{key}` takes {article} {kind}")));
        }
        if out.insert(key.to_string(), v).is_some() {
            return Err(bad(&format!("`{key}` is set twice")));
        }
    }
    Ok(out)
}

/// A line without its `#` comment (a `#` inside quotes stays).
fn strip_comment(line: &str) -> &str {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '#' if !quoted => return &line[..i],
            _ => {}
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let c = parse(
            "# outboard\ndevice = \"0000:00:1b.0\"  # the HDA\nbind = true\nrate = 48_000\nperiod = 1024\nnode = \"dsp#1\"\n",
        )
        .unwrap();
        assert_eq!(c["device"], Value::Str("0000:00:1b.0".into()));
        assert_eq!(c["bind"], Value::Bool(true));
        assert_eq!(c["rate"], Value::Int(48_000));
        assert_eq!(c["node"], Value::Str("dsp#1".into()), "a # inside quotes is not a comment");
    }

    #[test]
    fn mistakes_name_their_line() {
        for (text, expect) in [
            ("rate = 48000\nrat = 44100", "line 2: `rat = 44100`: unknown key"),
            ("rate = \"fast\"", "`rate` takes an integer"),
            ("device = \"x", "unterminated string"),
            ("period", "expected `key = value`"),
            ("rate = 1\nrate = 2", "set twice"),
            ("bind = yes", "expected a string, a number, true or false"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(expect), "{text:?}: {err}");
        }
    }
}
