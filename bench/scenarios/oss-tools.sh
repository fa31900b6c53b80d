# oss-tools: sox's OSS driver plays a 1 kHz tone to /dev/dsp and records
# line-in (fed a known signal) from it. Host: the output is that tone at its
# level and nothing else; the recording is a stretch of what was fed, bit for
# bit.
DESCRIPTION="OSS: sox plays and records through /dev/dsp"
hda_scenario

prepare() { feed_line_in 20 15; }

guest() {
  start_serve --period 4096 --periods 8
  sox -V2 -D -n -b 16 -r 48000 -c 2 -e signed -t oss /dev/dsp synth 3 sine 1000 vol 0.25
  sox -V2 -D -b 16 -r 48000 -c 2 -e signed -t oss /dev/dsp -t raw "$RESULTS/captured.raw" trim 0 1
  stop_serve
}

check() {
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" tones "$HDA_OUT_RAW" --freqs 1000 --levels -12.04
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare-capture "$RESULTS/in.raw" "$RESULTS/captured.raw"
}
