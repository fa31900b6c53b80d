# alsa-play: an unmodified ALSA program on Outboard's ALSA nodes. `aplay -l`
# and `aplay -L` list the card that `outboard serve` serves through CUSE
# (/dev/snd/controlC0, pcmC0D0p), then `aplay -D hw:0` plays a 48 kHz S16
# stereo signal through alsa-lib's hw plugin (no mmap: read/write access,
# SYNC_PTR for the pointers), the mixer and the HDA driver; then `aplay -I`
# plays another signal from one file a channel (non-interleaved access,
# WRITEN). Host: QEMU's wav holds both signals bit for bit; the listings name
# the card.
DESCRIPTION="ALSA: aplay -l/-L list the card; aplay -D hw:0 plays 48 kHz S16 stereo, interleaved and from a file a channel (-I), bit-exact at the emulated HDA"
hda_scenario

guest() {
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" signal "$RESULTS/sent.raw" --seconds 2 --seed 101
  start_serve --period 1024 --periods 4 || return 1
  wait_nodes 10 /dev/snd/controlC0 /dev/snd/pcmC0D0p /dev/snd/pcmC0D0c || return 1
  stat -c '%A %U:%G %n' /dev/snd/controlC0 /dev/snd/pcmC0D0p /dev/snd/pcmC0D0c | tee "$RESULTS/nodes.txt"
  aplay -l 2>&1 | tee "$RESULTS/aplay-l.txt"
  aplay -L 2>&1 | tee "$RESULTS/aplay-L.txt"
  aplay -v -D hw:0 -f S16_LE -c 2 -r 48000 -t raw "$RESULTS/sent.raw" >"$RESULTS/aplay.txt" 2>&1 \
    || { cat "$RESULTS/aplay.txt"; cat "$RESULTS/serve.log"; return 1; }
  cat "$RESULTS/aplay.txt"
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" signal "$RESULTS/sent2.raw" --seconds 1 --seed 102
  local raw=(-t raw -r 48000 -e signed -b 16)
  sox "${raw[@]}" -c 2 "$RESULTS/sent2.raw" "${raw[@]}" -c 1 "$RESULTS/left.raw" remix 1
  sox "${raw[@]}" -c 2 "$RESULTS/sent2.raw" "${raw[@]}" -c 1 "$RESULTS/right.raw" remix 2
  aplay -v -I -D hw:0 -f S16_LE -c 2 -r 48000 -t raw "$RESULTS/left.raw" "$RESULTS/right.raw" \
    >"$RESULTS/aplay-I.txt" 2>&1 || { cat "$RESULTS/aplay-I.txt"; cat "$RESULTS/serve.log"; return 1; }
  cat "$RESULTS/aplay-I.txt"
  stop_serve
}

check() {
  expect '^card 0: .*\[Outboard .*\], device 0: Outboard' "$RESULTS/aplay-l.txt"
  expect '^hw:CARD=' "$RESULTS/aplay-L.txt"
  expect '^crw-rw---- root:audio /dev/snd/pcmC0D0p$' "$RESULTS/nodes.txt"
  expect 'access *: RW_INTERLEAVED' "$RESULTS/aplay.txt"
  expect '^serving /dev/snd/controlC0 and /dev/snd/pcmC0D0p and /dev/snd/pcmC0D0c \(ALSA card 0' "$RESULTS/serve.log"
  expect 'access *: RW_NONINTERLEAVED' "$RESULTS/aplay-I.txt"
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare "$HDA_OUT_WAV" "$RESULTS/sent.raw" || return 1
  echo "--- aplay -I: a file a channel"
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare "$HDA_OUT_WAV" "$RESULTS/sent2.raw"
}
