# oss-tools: sox's OSS driver plays a 1 kHz tone to /dev/dsp and records
# line-in (fed a known signal) from it. Host: the output is that tone at its
# level and nothing else; the recording is a stretch of what was fed, bit for
# bit.
DESCRIPTION="OSS: sox plays and records through /dev/dsp"
HDA=duplex
USB=none
TIMEOUT=240

source "$BENCH_DIR/lib/outboard.sh"

prepare() {
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" signal "$RESULTS/in.raw" --seconds 20 --seed 15
  HDA_INPUT="$RESULTS/in.raw"
}

guest() {
  local bin="$OUTBOARD_BIN_DIR"
  start_serve --period 4096 --periods 8
  sox -V2 -D -n -b 16 -r 48000 -c 2 -e signed -t oss /dev/dsp synth 3 sine 1000 vol 0.25
  sox -V2 -D -b 16 -r 48000 -c 2 -e signed -t oss /dev/dsp -t raw "$RESULTS/captured.raw" trim 0 1
  stop_serve
}

check() {
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" tones "$HDA_OUT_RAW" --freqs 1000 --levels -12.04
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare-capture "$RESULTS/in.raw" "$RESULTS/captured.raw"
}
