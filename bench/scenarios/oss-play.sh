# oss-play: an unmodified program (Python's ossaudiodev) plays a 48 kHz S16
# stereo signal to /dev/dsp, served by `outboard serve` through CUSE on top of
# the mixer and the HDA driver; SIGTERM then stops the daemon, which removes
# the node. Host: QEMU's wav holds the signal bit for bit.
DESCRIPTION="OSS /dev/dsp through CUSE: Python's ossaudiodev plays 48 kHz S16 stereo, bit-exact at the emulated HDA"
hda_scenario

guest() {
  local bin="$OUTBOARD_BIN_DIR"
  "$bin/outboard-bench-tool" signal "$RESULTS/sent.raw" --seconds 2 --seed 11
  start_serve --period 4096 --periods 8
  wait_nodes 10 /dev/audio /dev/sndstat || return 1
  stat -c '%A %U:%G %n' /dev/dsp /dev/audio /dev/mixer /dev/sndstat | tee "$RESULTS/nodes.txt"
  cat /dev/sndstat | tee "$RESULTS/sndstat.txt"
  oss_write /dev/dsp "$RESULTS/sent.raw" | tee "$RESULTS/client.txt"
  stop_serve
  [[ ! -e /dev/dsp ]] || { echo "/dev/dsp is still there after SIGTERM"; return 1; }
}

check() {
  grep -q '^setfmt 16$' "$RESULTS/client.txt" || { cat "$RESULTS/client.txt"; return 1; }
  grep -q '^crw-rw---- root:audio /dev/dsp$' "$RESULTS/nodes.txt" || { echo "/dev/dsp is not root:audio 0660"; cat "$RESULTS/nodes.txt"; return 1; }
  grep -q '^Audio devices:$' "$RESULTS/sndstat.txt" || { cat "$RESULTS/sndstat.txt"; return 1; }
  grep -q '^speed 48000$' "$RESULTS/client.txt" || { cat "$RESULTS/client.txt"; return 1; }
  grep -q '^stopped: /dev/dsp and /dev/audio and /dev/mixer and /dev/sndstat and /dev/snd/controlC0 and /dev/snd/pcmC0D0p and /dev/snd/pcmC0D0c removed' "$RESULTS/serve.log" || { cat "$RESULTS/serve.log"; return 1; }
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare "$HDA_OUT_WAV" "$RESULTS/sent.raw"
}
