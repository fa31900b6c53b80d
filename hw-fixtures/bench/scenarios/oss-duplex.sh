# oss-duplex: one program opens /dev/dsp O_RDWR and plays a signal while it
# records line-in (fed a second signal), alternating writes and reads.
# Host: the output is the played signal bit for bit, and the recording a
# stretch of the fed one.
DESCRIPTION="OSS: O_RDWR full duplex on /dev/dsp, both directions bit-exact"
HDA=duplex
USB=none
TIMEOUT=240

prepare() {
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" signal "$RESULTS/in.raw" --seconds 20 --seed 13
  HDA_INPUT="$RESULTS/in.raw"
}

guest() {
  local bin="$OUTBOARD_BIN_DIR" d addr i
  for d in /sys/bus/pci/devices/*; do [[ "$(<"$d/class")" == 0x0403* ]] && addr="$(basename "$d")"; done
  "$bin/outboard-bench-tool" signal "$RESULTS/sent.raw" --seconds 2 --seed 14
  "$bin/outboard" serve --bind "$addr" --period 4096 --periods 8 >"$RESULTS/serve.log" 2>&1 &
  local pid=$!
  for ((i = 0; i < 100; i++)); do [[ -c /dev/dsp ]] && break; sleep 0.1; done
  [[ -c /dev/dsp ]] || { echo "/dev/dsp did not appear"; cat "$RESULTS/serve.log"; return 1; }
  python3 - "$RESULTS/sent.raw" "$RESULTS/captured.raw" <<'PY' | tee "$RESULTS/client.txt"
import ossaudiodev, sys
out = open(sys.argv[1], "rb").read()
dsp = ossaudiodev.open("/dev/dsp", "rw")
dsp.setfmt(ossaudiodev.AFMT_S16_LE); dsp.channels(2); dsp.speed(48000)
got = b""
chunk = 4096 * 4
# Keep two chunks of playback queued ahead, as duplex programs do: a read
# waits for a whole chunk of capture, and playback must not run dry meanwhile.
dsp.write(out[:2 * chunk])
for at in range(2 * chunk, len(out), chunk):
    dsp.write(out[at:at + chunk])
    got += dsp.read(chunk)
got += dsp.read(2 * chunk)
dsp.close()
open(sys.argv[2], "wb").write(got)
print("wrote", len(out), "read", len(got))
PY
  kill -TERM "$pid"
  wait "$pid" || { echo "outboard serve failed"; cat "$RESULTS/serve.log"; return 1; }
}

check() {
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare "$HDA_OUT_RAW" "$RESULTS/sent.raw"
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare-capture "$RESULTS/in.raw" "$RESULTS/captured.raw"
}
