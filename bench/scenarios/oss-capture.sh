# oss-capture: a known signal is fed to the emulated codec's line-in; a
# program reads /dev/dsp (O_RDONLY, 48 kHz S16 stereo) through the mixer's
# capture and the HDA driver. Host: what it read is a stretch of what was fed,
# bit for bit.
DESCRIPTION="OSS: line-in read from /dev/dsp, bit-exact"
hda_scenario

prepare() { feed_line_in 20 12; }

guest() {
  # The daemon's settings from a config file, as a boot-time daemon takes them.
  printf 'period = 4096  # frames\nperiods = 8\ngroup = "root"\n' >"$RESULTS/outboard.toml"
  start_serve --config "$RESULTS/outboard.toml"
  python3 - "$RESULTS/captured.raw" <<'PY' | tee "$RESULTS/client.txt"
import ossaudiodev, sys
dsp = ossaudiodev.open("/dev/dsp", "r")
dsp.setfmt(ossaudiodev.AFMT_S16_LE); dsp.channels(2); dsp.speed(48000)
data = b""
while len(data) < 48000 * 4:
    data += dsp.read(48000 * 4 - len(data))
dsp.close()
open(sys.argv[1], "wb").write(data)
print("read", len(data))
PY
  stop_serve
}

check() {
  grep -q "4096-frame periods" "$RESULTS/serve.log" || { echo "the config's period was not used"; cat "$RESULTS/serve.log"; return 1; }
  grep -q '^read 192000$' "$RESULTS/client.txt" || { cat "$RESULTS/client.txt"; return 1; }
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare-capture "$RESULTS/in.raw" "$RESULTS/captured.raw"
}
