# oss-duplex: one program opens /dev/dsp O_RDWR and plays a signal while it
# records line-in (fed a second signal), alternating writes and reads.
# Host: the output is the played signal bit for bit, and the recording a
# stretch of the fed one.
DESCRIPTION="OSS: O_RDWR full duplex on /dev/dsp, both directions bit-exact"
hda_scenario

prepare() { feed_line_in 20 13; }

guest() {
  local bin="$OUTBOARD_BIN_DIR"
  "$bin/outboard-bench-tool" signal "$RESULTS/sent.raw" --seconds 2 --seed 14
  start_serve --period 4096 --periods 8
  python3 - "$RESULTS/sent.raw" "$RESULTS/captured.raw" <<'PY' | tee "$RESULTS/client.txt"
import ossaudiodev, sys
out = open(sys.argv[1], "rb").read()
dsp = ossaudiodev.open("/dev/dsp", "rw")
dsp.setfmt(ossaudiodev.AFMT_S16_LE); dsp.channels(2); dsp.speed(48000)
got = b""
chunk = 4096 * 4
# Keep four chunks of playback queued ahead, as duplex programs do: a read
# waits for a whole chunk of capture, which arrives a device period at a time
# (up to two periods late when it just missed one), and playback must not run
# dry meanwhile.
ahead = 4
dsp.write(out[:ahead * chunk])
for at in range(ahead * chunk, len(out), chunk):
    dsp.write(out[at:at + chunk])
    got += dsp.read(chunk)
got += dsp.read(ahead * chunk)
dsp.close()
open(sys.argv[2], "wb").write(got)
print("wrote", len(out), "read", len(got))
PY
  stop_serve
}

check() {
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare "$HDA_OUT_RAW" "$RESULTS/sent.raw"
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare-capture "$RESULTS/in.raw" "$RESULTS/captured.raw"
}
