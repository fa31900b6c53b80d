//! The recorded descriptor sets parse with the hal's parser, add up, and say
//! what the QEMU and Linux sources say.

use outboard_emu::usb::descriptors::{f_uac1, f_uac2, qemu_usb_audio, Uac2Config, Uac2Stream};
use outboard_hal::usb::descriptors::{configurations, kind, walk, Configuration, DeviceDescriptor};
use outboard_hal::usb::Speed;

/// Walks the blob, checks the lengths add up, returns the configuration.
fn parse(raw: &[u8]) -> (DeviceDescriptor, Configuration<'_>) {
    let covered: usize = walk(raw).map(<[u8]>::len).sum();
    assert_eq!(covered, raw.len(), "every byte belongs to a descriptor");
    let dev = DeviceDescriptor::parse(raw).expect("device descriptor");
    let cfg_bytes = &raw[18..];
    assert_eq!(cfg_bytes[1], kind::CONFIGURATION);
    let total = u16::from_le_bytes([cfg_bytes[2], cfg_bytes[3]]);
    assert_eq!(usize::from(total), cfg_bytes.len(), "wTotalLength covers the configuration");
    let mut cfgs = configurations(raw);
    assert_eq!(cfgs.len(), 1);
    assert_eq!(dev.num_configurations, 1);
    (dev, cfgs.remove(0))
}

fn subtype<'a>(extra: &[&'a [u8]], sub: u8) -> Vec<&'a [u8]> {
    extra.iter().copied().filter(|d| d[1] == kind::CS_INTERFACE && d[2] == sub).collect()
}

fn le16(d: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([d[at], d[at + 1]])
}

/// The AC header's wTotalLength against the class-specific AC descriptors.
/// It sits at offset 5 in UAC1's header, 6 in UAC2's (after bCategory).
fn ac_total(cfg: &Configuration) -> (u16, usize) {
    let ac = cfg.interface(0, 0).unwrap();
    let header = subtype(&ac.extra, 1)[0];
    let at = if ac.protocol == 0x20 { 6 } else { 5 };
    (le16(header, at), ac.extra.iter().map(|d| d.len()).sum())
}

#[test]
fn qemu_usb_audio_is_what_dev_audio_c_describes() {
    let raw = qemu_usb_audio(false);
    #[rustfmt::skip]
    let expected: Vec<u8> = vec![
        18, 1, 0x00, 0x01, 0, 0, 0, 64, 0xf4, 0x46, 0x02, 0x00, 0x00, 0x00, 1, 2, 3, 1,
        9, 2, 113, 0, 2, 1, 4, 0xc0, 0x32,
        9, 4, 0, 0, 0, 1, 1, 0x04, 5,
        9, 0x24, 1, 0x00, 0x01, 0x2b, 0x00, 1, 1,
        12, 0x24, 2, 1, 0x01, 0x01, 0, 2, 0x03, 0x00, 0, 6,
        13, 0x24, 6, 2, 1, 2, 0x01, 0x00, 0x02, 0x00, 0x02, 0x00, 7,
        9, 0x24, 3, 3, 0x01, 0x03, 0, 2, 8,
        9, 4, 1, 0, 0, 1, 2, 0, 9,
        9, 4, 1, 1, 1, 1, 2, 0, 10,
        7, 0x24, 1, 1, 0, 0x01, 0x00,
        11, 0x24, 2, 1, 2, 2, 16, 1, 0x80, 0xbb, 0x00,
        9, 5, 0x01, 0x0d, 0xc0, 0x00, 1, 0, 0,
        7, 0x25, 1, 0, 0, 0, 0,
    ];
    assert_eq!(raw, expected);
    let (dev, cfg) = parse(&raw);
    assert_eq!((dev.vendor, dev.product, dev.usb_version), (0x46f4, 0x0002, 0x0100));
    let (said, sum) = ac_total(&cfg);
    assert_eq!(usize::from(said), sum);
    let ep = &cfg.interface(1, 1).unwrap().endpoints[0];
    assert_eq!((ep.address, ep.attributes, ep.sync_type(), ep.max_packet_size, ep.interval), (0x01, 0x0d, 3, 192, 1));
}

#[test]
fn qemu_usb_audio_multi_has_2_6_and_8_channel_alts() {
    let raw = qemu_usb_audio(true);
    let (_, cfg) = parse(&raw);
    assert_eq!(cfg.interfaces.len(), 5, "AC, AS alt 0..3");
    for (alt, ch) in [(1u8, 2u8), (2, 6), (3, 8)] {
        let i = cfg.interface(1, alt).unwrap();
        let fmt = subtype(&i.extra, 2)[0];
        assert_eq!((fmt[4], fmt[5], fmt[6], fmt[7]), (ch, 2, 16, 1), "alt {alt}: channels, subframe, bits, one rate");
        assert_eq!(&fmt[8..11], &[0x80, 0xbb, 0x00], "48000 Hz");
        let ep = &i.endpoints[0];
        assert_eq!((ep.address, ep.attributes, ep.interval), (0x01, 0x0d, 1));
        assert_eq!(ep.max_packet_size, 96 * u16::from(ch));
    }
    let ac = cfg.interface(0, 0).unwrap();
    let it = subtype(&ac.extra, 2)[0];
    assert_eq!((it[7], le16(it, 8)), (8, 0x063f), "8 channels, FL FR FC LFE BL BR SL SR");
    let fu = subtype(&ac.extra, 6)[0];
    assert_eq!(fu.len(), 0x19);
    let (said, sum) = ac_total(&cfg);
    assert_eq!((said, sum), (0x38, 55), "QEMU's header claims one byte more than it has");
}

#[test]
fn f_uac1_is_the_6_12_gadget_with_default_parameters() {
    let raw = f_uac1();
    let (dev, cfg) = parse(&raw);
    assert_eq!((dev.vendor, dev.product, dev.device_version), (0x1d6b, 0x0101, 0x0612));
    assert_eq!((dev.class, dev.subclass, dev.protocol, dev.usb_version), (0xef, 2, 1, 0x0200));
    assert!(cfg.associations.is_empty(), "6.12's f_uac1 has no IAD");
    assert_eq!(cfg.interfaces.len(), 5);
    let ac = cfg.interface(0, 0).unwrap();
    assert_eq!((ac.class, ac.subclass, ac.protocol, ac.string_index), (1, 1, 0, 4));
    let header = subtype(&ac.extra, 1)[0];
    assert_eq!(&header[7..10], &[2, 1, 2], "two streaming interfaces: 1 and 2");
    let (said, sum) = ac_total(&cfg);
    assert_eq!((said, sum), (78, 78));
    let int = &ac.endpoints[0];
    assert_eq!((int.address, int.attributes, int.max_packet_size, int.interval), (0x81, 0x03, 2, 4));
    // Terminals and units: IT1 -> FU5 -> OT3 (playback), IT2 -> FU6 -> OT4 (capture).
    let its = subtype(&ac.extra, 2);
    let ots = subtype(&ac.extra, 3);
    let fus = subtype(&ac.extra, 6);
    assert_eq!((its[0][3], le16(its[0], 4), its[1][3], le16(its[1], 4)), (1, 0x0101, 2, 0x0201));
    assert_eq!((ots[0][3], ots[0][7], ots[1][3], ots[1][7]), (3, 5, 4, 6), "output terminals fed by the feature units");
    assert_eq!((fus[0][3], fus[0][4], le16(fus[0], 6), fus[1][3], fus[1][4]), (5, 1, 0x0003, 6, 2));
    for (number, address, attributes, link) in [(1u8, 0x01u8, 0x09u8, 1u8), (2, 0x82, 0x05, 4)] {
        assert!(cfg.interface(number, 0).unwrap().endpoints.is_empty());
        let i = cfg.interface(number, 1).unwrap();
        let general = subtype(&i.extra, 1)[0];
        assert_eq!((general[3], general[4], le16(general, 5)), (link, 1, 1));
        let fmt = subtype(&i.extra, 2)[0];
        assert_eq!((fmt[4], fmt[5], fmt[6], fmt[7], &fmt[8..11]), (2, 2, 16, 1, &[0x80, 0xbb, 0x00][..]));
        let ep = &i.endpoints[0];
        assert_eq!(
            (ep.address, ep.attributes, ep.max_packet_size, ep.interval, ep.raw.len()),
            (address, attributes, 200, 4, 9)
        );
        assert_eq!(ep.extra[0].len(), 7);
    }
}

#[test]
fn f_uac2_default_at_high_and_full_speed() {
    for (speed, interval, fb_size, int_interval) in [(Speed::High, 4u8, 4u16, 4u8), (Speed::Full, 1, 3, 1)] {
        let raw = f_uac2(speed);
        let (dev, cfg) = parse(&raw);
        assert_eq!((dev.vendor, dev.product, dev.class, dev.subclass, dev.protocol), (0x1d6b, 0x0101, 0xef, 2, 1));
        assert_eq!(cfg.associations, vec![&[8u8, 11, 0, 3, 1, 0, 0x20, 4][..]], "IAD over interfaces 0-2");
        assert_eq!(cfg.interfaces.len(), 5);
        let ac = cfg.interface(0, 0).unwrap();
        assert_eq!((ac.class, ac.subclass, ac.protocol), (1, 1, 0x20));
        let (said, sum) = ac_total(&cfg);
        assert_eq!((said, sum), (119, 119), "{speed:?}");
        // Clock sources: 8 (capture, "Input Clock", string 6) and 7 (playback, string 7).
        let clocks = subtype(&ac.extra, 0x0a);
        assert_eq!(
            clocks.iter().map(|c| (c[3], c[4], c[5], c[7])).collect::<Vec<_>>(),
            vec![(8, 1, 3, 6), (7, 1, 3, 7)]
        );
        let its = subtype(&ac.extra, 2);
        // IT1: USB streaming, clock 7, 2 channels, mask 3; IT2: microphone, clock 8.
        assert_eq!((its[0][3], le16(its[0], 4), its[0][7], its[0][8], its[0][9]), (1, 0x0101, 7, 2, 3));
        assert_eq!((its[1][3], le16(its[1], 4), its[1][7]), (2, 0x0201, 8));
        let ots = subtype(&ac.extra, 3);
        // OT4 (USB streaming) <- FU6, clock 8; OT3 (speaker) <- FU5, clock 7.
        assert_eq!((ots[0][3], le16(ots[0], 4), ots[0][7], ots[0][8]), (4, 0x0101, 6, 8));
        assert_eq!((ots[1][3], le16(ots[1], 4), ots[1][7], ots[1][8]), (3, 0x0301, 5, 7));
        let fus = subtype(&ac.extra, 6);
        assert_eq!((fus[0][3], fus[0][4], &fus[0][5..9]), (5, 1, &[0x0f, 0, 0, 0][..]), "master mute+volume r/w");
        assert_eq!((fus[1][3], fus[1][4]), (6, 2));
        assert!(fus[0][9..17].iter().all(|&b| b == 0), "no per-channel controls");
        let int = &ac.endpoints[0];
        assert_eq!((int.address, int.attributes, int.max_packet_size, int.interval), (0x81, 0x03, 6, int_interval));

        let out = cfg.interface(1, 1).unwrap();
        assert!(cfg.interface(1, 0).unwrap().endpoints.is_empty());
        let general = subtype(&out.extra, 1)[0];
        assert_eq!((general[3], general[5], general[10]), (1, 1, 2), "terminal link 1, type I, 2 channels");
        let fmt = subtype(&out.extra, 2)[0];
        assert_eq!((fmt[4], fmt[5]), (2, 16), "subslot, bits");
        let ep = &out.endpoints[0];
        assert_eq!((ep.address, ep.attributes, ep.max_packet_size, ep.interval), (0x01, 0x05, 260, interval));
        assert_eq!(ep.extra[0], &[8u8, 0x25, 1, 0, 0, 0, 0, 0][..]);
        let fb = &out.endpoints[1];
        assert_eq!(
            (fb.address, fb.attributes, fb.usage_type(), fb.max_packet_size, fb.interval),
            (0x82, 0x11, 1, fb_size, int_interval)
        );

        let inp = cfg.interface(2, 1).unwrap();
        assert_eq!(subtype(&inp.extra, 1)[0][3], 4, "terminal link 4");
        let ep = &inp.endpoints[0];
        assert_eq!((ep.address, ep.attributes, ep.max_packet_size, ep.interval), (0x83, 0x05, 196, interval));
    }
}

#[test]
fn uac2_descriptor_sizes_are_the_specs() {
    let raw = f_uac2(Speed::High);
    let (_, cfg) = parse(&raw);
    let ac = cfg.interface(0, 0).unwrap();
    for (sub, len) in [(1u8, 9usize), (0x0a, 8), (2, 17), (3, 12), (6, 18)] {
        assert!(subtype(&ac.extra, sub).iter().all(|d| d.len() == len), "AC subtype {sub}: {len} bytes");
    }
    let out = cfg.interface(1, 1).unwrap();
    assert_eq!((subtype(&out.extra, 1)[0].len(), subtype(&out.extra, 2)[0].len()), (16, 6));
}

#[test]
fn uac2_config_follows_its_options() {
    let stream = |mask, rates: &[u32], ss, bits, hs| Uac2Stream {
        channel_mask: mask,
        rates: rates.to_vec(),
        subslot_bytes: ss,
        bit_resolution: bits,
        hs_interval: hs,
    };
    let cfg = Uac2Config {
        speed: Speed::High,
        playback: stream(0x3f, &[48000, 96000], 4, 24, 1),
        capture: stream(0x3, &[44100], 3, 24, 0),
        feature_units: true,
        fb_max: 5,
    };
    let raw = cfg.descriptors();
    let (_, c) = parse(&raw);
    let out = c.interface(1, 1).unwrap();
    // 96000 * 1.005 = 96480 Hz -> 13 frames per microframe of 6 x 4 bytes.
    assert_eq!((out.endpoints[0].max_packet_size, out.endpoints[0].interval), (312, 1));
    assert_eq!(&subtype(&out.extra, 2)[0][4..6], &[4, 24]);
    // 44100 * 1.005 = 44320 Hz; auto interval 4 (1 ms) -> 45 frames of 2 x 3 bytes.
    let inp = c.interface(2, 1).unwrap();
    assert_eq!((inp.endpoints[0].max_packet_size, inp.endpoints[0].interval), (270, 4));
    let ac = c.interface(0, 0).unwrap();
    assert_eq!(subtype(&ac.extra, 6)[0].len(), 6 + 7 * 4, "6-channel feature unit");
    let (said, sum) = ac_total(&c);
    assert_eq!(usize::from(said), sum);
    assert_eq!(cfg.layout().playback_clock, 7);
}
