//! The binary's logger: `log` records to stderr, level from `OUTBOARD_LOG`
//! (error, warn, info, debug, trace; default info).

use log::{Level, LevelFilter, Log, Metadata, Record};

struct Stderr;

impl Log for Stderr {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }
    fn log(&self, record: &Record<'_>) {
        // vfio-ioctls warns about optional VFIO IRQ indexes a device does not
        // have (ERR, REQ); that is noise for a user.
        if record.target().starts_with("vfio_ioctls")
            && record.level() > Level::Error
            && log::max_level() < LevelFilter::Debug
        {
            return;
        }
        if self.enabled(record.metadata()) {
            let level = match record.level() {
                Level::Error => "error",
                Level::Warn => "warning",
                Level::Info => "info",
                Level::Debug => "debug",
                Level::Trace => "trace",
            };
            eprintln!("outboard: {level}: {}", record.args());
        }
    }
    fn flush(&self) {}
}

static LOGGER: Stderr = Stderr;

/// Install the logger once, at start-up.
pub fn init() {
    let level = match std::env::var("OUTBOARD_LOG").unwrap_or_default().to_ascii_lowercase().as_str() {
        "error" => LevelFilter::Error,
        "warn" | "warning" => LevelFilter::Warn,
        "debug" => LevelFilter::Debug,
        "trace" => LevelFilter::Trace,
        "off" => LevelFilter::Off,
        _ => LevelFilter::Info,
    };
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}
