# oss-hwmixer: /dev/mixer's VOLUME acts on the devices' own controls (issue
# #5). `outboard serve` drives QEMU's hda-duplex with its mixer emulation on
# (/dev/mixer0) and QEMU's usb-audio (/dev/mixer1). A Python ossaudiodev
# program per device reads the masks (DEVMASK, STEREODEVS, RECMASK, RECSRC,
# CAPS), tries a recording source the device lacks (EINVAL) and the one it
# has, then twice sets VOLUME and plays a -12.04 dBFS 1 kHz tone through
# /dev/dspN, with silence between. QEMU logs the control values the driver
# wrote (-global hda-duplex.debug=1, usb-audio.debug=1).
#
# Host, per device: the values QEMU logged are those the OSS mapping gives
# (level L is step (L * steps + 50) / 100 of the control: hda-duplex's DAC
# amp has 74 steps of 1 dB; usb-audio's feature unit -128..+8 dB in 255
# steps of 0x88/256 dB), and each tone comes out at the level QEMU's own
# mapping of those values says, which is linear in amplitude, not in dB:
#   hda-codec.c: gain g of 74 -> volume g * 255 / 74, i.e. (g*255/74)/255 of full scale;
#   dev-audio.c: raw r -> volume ((r - 0x8000) * 255 + 0x4400) / 0x8800 (at most 255), /255 of full scale;
# both applied by the mixing engine (audio.c, mixeng_volume). Because QEMU
# maps these "dB" controls linearly onto amplitude, most levels come out
# near level/100 of full scale, which is what the old master-gain VOLUME
# gave too; the last level of each device is one where the control's steps
# make the two differ (HDA 3: step 2, 6/255 of full scale, not 3/100:
# 2.1 dB apart; USB 1: 3/255, not 1/100: 1.4 dB), and QEMU's log shows the
# values written.
DESCRIPTION="OSS: /dev/mixer VOLUME sets the HDA amp and the USB feature unit; the output level follows QEMU's mapping of the values written"
hda_scenario --mixer on --timeout 300
USB=audio
QEMU_EXTRA=(-global hda-duplex.debug=1 -global usb-audio.debug=1)

# VOLUME levels each device plays at, in order.
HDA_LEVELS="80 30 3"
USB_LEVELS="90 40 1"

guest() {
  local addr p0 p1
  addr="$(hda_address)" || return 1
  wait_usb 46f4:0002 1 || return 1
  start_serve_device --bind "$addr" usb --period 4096 --periods 8 || return 1
  wait_nodes 10 /dev/dsp0 /dev/dsp1 /dev/mixer0 /dev/mixer1 || return 1
  hw_client 0 $HDA_LEVELS >"$RESULTS/client0.txt" 2>&1 &
  p0=$!
  hw_client 1 $USB_LEVELS >"$RESULTS/client1.txt" 2>&1 &
  p1=$!
  wait "$p0" || { cat "$RESULTS/client0.txt"; return 1; }
  wait "$p1" || { cat "$RESULTS/client1.txt"; return 1; }
  cat "$RESULTS"/client*.txt
  stop_serve
}

# hw_client N LEVEL...: an OSS mixer program on /dev/mixerN and /dev/dspN.
hw_client() {
  python3 - "$@" <<'PY'
import errno, math, ossaudiodev as oss, struct, sys, time
n, levels = sys.argv[1], [int(l) for l in sys.argv[2:]]
m = oss.openmixer(f"/dev/mixer{n}")
print("devmask", hex(m.controls()))
print("stereodevs", hex(m.stereocontrols()))
print("recmask", hex(m.reccontrols()))
print("recsrc", hex(m.get_recsrc()))
CAPS = 0x80044dfc  # SOUND_MIXER_READ_CAPS: ossaudiodev has no call for it
import fcntl, array
caps = array.array("i", [0]); fcntl.ioctl(m.fileno(), CAPS, caps, True)
print("caps", hex(caps[0]))
try:
    m.set_recsrc(1 << oss.SOUND_MIXER_MIC)
    print("set_recsrc mic", hex(m.get_recsrc()))
except OSError as e:
    print("set_recsrc mic", errno.errorcode[e.errno])
if m.reccontrols():
    print("set_recsrc recmask", hex(m.set_recsrc(m.reccontrols())))
if m.controls() & (1 << oss.SOUND_MIXER_IGAIN):
    print("igain", m.set(oss.SOUND_MIXER_IGAIN, (60, 60)), m.get(oss.SOUND_MIXER_IGAIN))
one = b"".join(struct.pack("<hh", v, v) for v in (round(0.25 * 32767 * math.sin(2 * math.pi * k / 48)) for k in range(48)))
for level in levels:
    m.set(oss.SOUND_MIXER_VOLUME, (level, level))
    print("volume", level, m.get(oss.SOUND_MIXER_VOLUME))
    dsp = oss.open(f"/dev/dsp{n}", "w")
    dsp.setfmt(oss.AFMT_S16_LE); dsp.channels(2); dsp.speed(48000)
    dsp.writeall(one * 2500)   # 2.5 s
    dsp.close()                # plays out
    time.sleep(1.0)            # silence between the tones
print("pcm", m.get(oss.SOUND_MIXER_PCM))
m.close()
PY
}

check() {
  local c0="$RESULTS/client0.txt" c1="$RESULTS/client1.txt"
  # HDA: VOLUME, PCM and IGAIN (the ADC amp), one recording source: the
  # line-in pin (SOUND_MASK_LINE), exclusive; a mic is EINVAL.
  expect '^devmask 0x1011$' "$c0"
  expect '^stereodevs 0x1011$' "$c0"
  expect '^recmask 0x40$' "$c0"
  expect '^recsrc 0x40$' "$c0"
  expect '^caps 0x1$' "$c0"
  expect '^set_recsrc mic EINVAL$' "$c0"
  expect '^set_recsrc recmask 0x40$' "$c0"
  expect '^igain \(60, 60\) \(60, 60\)$' "$c0"
  # USB: VOLUME and PCM; no capture, so no sources.
  expect '^devmask 0x11$' "$c1"
  expect '^recmask 0x0$' "$c1"
  expect '^caps 0x0$' "$c1"
  expect '^set_recsrc mic EINVAL$' "$c1"
  local l
  for l in $HDA_LEVELS; do expect "^volume $l \\($l, $l\\)$" "$c0"; done
  for l in $USB_LEVELS; do expect "^volume $l \\($l, $l\\)$" "$c1"; done
  expect '^pcm \(100, 100\)$' "$c0"
  expect '^stopped: .* removed' "$RESULTS/serve.log"

  python3 - "$RESULTS" "$HDA_LEVELS" "$USB_LEVELS" <<'PY' || return 1
import math, re, struct, sys, wave
results, hda_levels, usb_levels = sys.argv[1], [int(x) for x in sys.argv[2].split()], [int(x) for x in sys.argv[3].split()]
log = open(f"{results}/qemu.log", errors="replace").read()
tone = 20 * math.log10(0.25 * 32767 / 32768)

def step(level, steps):  # the OSS mapping (Linux's snd_mixer_oss_conv2)
    return (level * steps + 50) // 100

# hda-duplex: "amp (dac): o-lr index 0  gain  59 " for each SET_AMP_GAIN_MUTE on the DAC.
dac = [int(g) for g in re.findall(r"amp \(dac\): o-lr index 0\s+gain\s+(\d+)", log)]
adc = [int(g) for g in re.findall(r"amp \(adc\): -ilr index 0\s+gain\s+(\d+)", log)]
# usb-audio: "usb-audio: mute M, vol[0] A, vol[1] B" after each SET_CUR.
usb = [(int(m), int(a), int(b)) for m, a, b in re.findall(r"usb-audio: mute (\d), vol\[0\]\s*(\d+), vol\[1\]\s*(\d+)", log)]
print("QEMU saw: DAC gains", dac, "ADC gains", adc, "usb-audio (mute, vol0, vol1)", usb)

def distinct(seq):
    out = []
    for v in seq:
        if not out or out[-1] != v:
            out.append(v)
    return out

ok = True
want_dac = [74] + [step(l, 74) for l in hda_levels]  # setup's 0 dB, then the levels
if distinct(dac) != want_dac:
    print(f"FAIL: the DAC amp was set to {distinct(dac)}, expected {want_dac}"); ok = False
if step(60, 74) not in adc:
    print(f"FAIL: IGAIN 60 did not reach the ADC amp as step {step(60, 74)}: {adc}"); ok = False
usb_want = []
for l in usb_levels:
    raw = -32767 + 136 * step(l, 255)  # MIN 0x8001, RES 0x88
    v = min(255, (((raw - 0x8000) & 0xffff) * 255 + 0x4400) // 0x8800)
    usb_want.append((0, v, v))
if [s for s in distinct(usb) if s[1] == s[2]] != usb_want:
    print(f"FAIL: usb-audio went through {distinct(usb)}, expected to settle at {usb_want}"); ok = False

def segments(path):
    w = wave.open(path)
    assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 48000), path
    data = w.readframes(w.getnframes())
    frames = struct.unpack(f"<{len(data) // 2}h", data)
    loud = [i for i in range(0, len(frames), 2) if frames[i] or frames[i + 1]]
    segs, start = [], None
    for a, b in zip(loud, loud[1:] + [None]):
        start = a if start is None else start
        if b is None or b - a > 2 * 24000:  # more than 0.5 s of silence ends a tone
            segs.append(data[start * 2:(a + 2) * 2]); start = None
    return segs

for dev, wav, gains in [("hda", f"{results}/hda-out.wav", [step(l, 74) * 255 // 74 for l in hda_levels]),
                        ("usb", f"{results}/usb-out.wav", [v for _, v, _ in usb_want])]:
    segs = segments(wav)
    if len(segs) != len(gains):
        print(f"FAIL: {dev}: {len(segs)} tones in the recording, expected {len(gains)}"); ok = False; continue
    for i, (seg, g) in enumerate(zip(segs, gains)):
        raw = f"{results}/{dev}-tone{i}.raw"
        open(raw, "wb").write(seg)
        want = tone + 20 * math.log10(g / 255)
        open(f"{results}/{dev}-tone{i}.want", "w").write(f"{want:.2f}\n")
        print(f"{dev} tone {i}: QEMU volume {g}/255, expected {want:.2f} dBFS")
sys.exit(0 if ok else 1)
PY
  local dev i
  for dev in hda usb; do
    for i in 0 1 2; do
      echo "--- $dev tone $i"
      "$OUTBOARD_BIN_DIR/outboard-bench-tool" tones "$RESULTS/$dev-tone$i.raw" --freqs 1000 \
        --levels "$(cat "$RESULTS/$dev-tone$i.want")" || return 1
    done
  done
}
