# alsa-32bit: an i386 program (bench/lib/alsa-play32.c, built with gcc -m32
# against Debian's 32-bit alsa-lib) plays a 48 kHz S16 stereo signal on
# hw:0: its HW_PARAMS, SW_PARAMS, SYNC_PTR, STATUS and WRITEI come in the
# i386 layouts (FUSE_IOCTL_32BIT) and are answered in them. Host: QEMU's wav
# holds the signal bit for bit.
DESCRIPTION="ALSA: a gcc -m32 program linked against 32-bit alsa-lib plays on hw:0 bit-exact"
hda_scenario

prepare() {
  gcc -m32 -O2 -Wall -o "$RESULTS/alsa-play32" "$BENCH_DIR/lib/alsa-play32.c" -lasound
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" signal "$RESULTS/sent.raw" --seconds 2 --seed 132
}

guest() {
  start_serve --period 1024 --periods 4 || return 1
  wait_nodes 10 /dev/snd/pcmC0D0p || return 1
  "$RESULTS/alsa-play32" hw:0 "$RESULTS/sent.raw" >"$RESULTS/client.txt" 2>&1 || { cat "$RESULTS/client.txt"; return 1; }
  cat "$RESULTS/client.txt"
  stop_serve
}

check() {
  expect '^abi long=4 ptr=4 ' "$RESULTS/client.txt"
  expect '^wrote 96000 frames$' "$RESULTS/client.txt"
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare "$HDA_OUT_WAV" "$RESULTS/sent.raw"
}
