//! Fuzz target: a device's whole descriptor blob (what usbfs hands back: the
//! device descriptor, then each configuration's wTotalLength bytes) through
//! `outboard_uac::parse::parse_device`, at full and at high speed.
//!
//! The parser must never panic, loop or allocate without bound, whatever the
//! device sends. When it accepts a device, the model it returns is run through
//! what the driver does next with it without I/O (the report text, the
//! terminal graph and clock walks, packet sizing at every rate an alt setting
//! names) and checked for the promises the driver relies on: no alt setting
//! with zero channels, an empty endpoint or (at high speed) a bInterval
//! outside 1..=16, and terminal paths that start at their terminal, never
//! repeat an entity and stay short.

#![no_main]

use libfuzzer_sys::fuzz_target;
use outboard_hal::pcm::PcmConfig;
use outboard_hal::usb::Speed;
use outboard_uac::controls::channels_with;
use outboard_uac::device::rates_text;
use outboard_uac::model::{AltSetting, DeviceModel, Rates};
use outboard_uac::packets::PacketSizer;
use outboard_uac::parse::parse_device;
use outboard_uac::report::describe_model;
use outboard_uac::stream::UrbPlan;

fuzz_target!(|data: &[u8]| {
    for speed in [Speed::Full, Speed::High] {
        if let Ok(model) = parse_device(data, speed, "fuzz") {
            check_model(&model, speed);
        }
    }
});

fn check_model(model: &DeviceModel, speed: Speed) {
    assert!(!describe_model(model).is_empty());
    for e in &model.entities {
        let _ = e.kind_name();
        let _ = model.clock_source_of(e.id);
        let path = model.path_from(e.id);
        assert_eq!(path.first(), Some(&e.id), "a path starts at its terminal");
        assert!(path.len() <= 32, "path of {} entities", path.len());
        for (i, id) in path.iter().enumerate() {
            assert!(!path[..i].contains(id), "path {path:?} repeats entity {id}");
        }
        let _ = model.feature_units_on_path(e.id);
        for control in 0..16 {
            let _ = channels_with(model, e.id, control);
        }
    }
    for stream in &model.streams {
        for alt in &stream.alts {
            assert_eq!(alt.direction(), stream.direction, "interface {} alt {}", alt.interface, alt.alt);
            check_alt(alt, speed);
        }
    }
}

fn check_alt(alt: &AltSetting, speed: Speed) {
    assert!(alt.channels > 0 && alt.endpoint.max_bytes > 0, "alt {alt:?}");
    assert!(alt.frame_bytes() > 0, "alt {alt:?}");
    if speed == Speed::High {
        assert!((1..=16).contains(&alt.endpoint.interval), "alt {alt:?}");
    }
    let _ = rates_text(&alt.rates);
    let rates: Vec<u32> = match &alt.rates {
        Rates::Discrete(v) => v.iter().copied().take(8).collect(),
        Rates::Continuous { min, max } => vec![*min, *max],
        Rates::FromClock => vec![48_000],
    };
    for rate in rates.into_iter().filter(|r| *r != 0) {
        assert!(alt.rates == Rates::FromClock || alt.rates.contains(rate));
        // As the stream sizes its packets: frames per packet bounded by the endpoint.
        let max_frames = u32::try_from(alt.endpoint.max_bytes as usize / alt.frame_bytes()).unwrap_or(u32::MAX);
        let mut sizer = PacketSizer::new(rate, speed, alt.endpoint.interval, max_frames);
        for _ in 0..16 {
            assert!(sizer.next_frames() <= max_frames);
        }
        let config = PcmConfig {
            format: alt.format,
            rate,
            channels: alt.channels,
            period_frames: (rate / 100).max(1) as usize,
            periods: 2,
        };
        let plan = UrbPlan::for_period(&config, sizer.packets_per_second());
        assert!(plan.packets_per_urb >= 1);
    }
}
