//! The binary's logger: `log` records to stderr through env_logger, as
//! `outboard: LEVEL: message`. The filter is `RUST_LOG` (env_logger's syntax:
//! `debug`, `outboard_uac=trace,info`...), else `OUTBOARD_LOG` (the same
//! syntax; the older name, kept), else `info`.

use std::io::Write;

use log::{Level, LevelFilter};

/// The filter the environment asks for.
fn filter_spec() -> Option<String> {
    ["RUST_LOG", "OUTBOARD_LOG"]
        .into_iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
        // The old OUTBOARD_LOG took `warning` too.
        .map(|s| if s.eq_ignore_ascii_case("warning") { "warn".to_string() } else { s })
}

/// Install the logger once, at start-up.
pub fn init() {
    let mut builder = env_logger::Builder::new();
    builder.filter_level(LevelFilter::Info);
    // vfio-ioctls warns about optional VFIO IRQ indexes a device does not
    // have (ERR, REQ): noise for a user unless they ask for debug.
    builder.filter_module("vfio_ioctls", LevelFilter::Error);
    if let Some(spec) = filter_spec() {
        builder.parse_filters(&spec);
    }
    builder.format(|buf, record| {
        let level = match record.level() {
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        };
        writeln!(buf, "outboard: {level}: {}", record.args())
    });
    builder.write_style(env_logger::WriteStyle::Never);
    let _ = builder.try_init();
}
