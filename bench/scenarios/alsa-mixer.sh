# alsa-mixer: amixer and alsactl on Outboard's ALSA control node. `amixer`
# lists the card's elements with their dB scales (here PCM, the mixer's
# master gain: QEMU's hda-duplex with its mixer off has no amplifier for a
# Master; compat-alsa's tests cover Master, its switch and Input Source, and
# oss-hwmixer the same hardware controls through /dev/mixer); `amixer cset` puts PCM 3 dB
# down (its TLV: 0.25 dB steps, 243 of 255); `alsactl store` saves the
# card, a change follows, `alsactl restore` brings it back. Then aplay
# plays a -12.04 dBFS tone. Host: it comes out 3 dB down, at -15.04 dBFS,
# as the TLV says. First the kernel's own snd-hda-intel drives the same
# controller: the jack controls it makes for this codec ("Line Out Phantom
# Jack"...) and its channel maps are the ones Outboard's card has.
DESCRIPTION="ALSA: amixer lists and sets the controls with their dB scales; jack controls as the kernel's driver names them; alsactl store/restore round-trips; the level moves by the dB the TLV says"
hda_scenario

guest() {
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" tone "$RESULTS/tone.wav" --freq 1000 --level -12.04 --seconds 3
  "$BENCH_MODPROBE" snd_hda_codec_generic || return 1
  "$BENCH_MODPROBE" snd_hda_intel || return 1
  # The card (and every control) is registered once its codec is probed.
  wait_until 15 "the kernel's HDA card" test -e /dev/snd/controlC0 || return 1
  amixer -c 0 controls | tee "$RESULTS/kernel-controls.txt"
  # serve --bind takes the controller from the kernel's driver.
  start_serve --period 1024 --periods 4 || return 1
  wait_nodes 10 /dev/snd/controlC0 || return 1
  amixer -c 0 contents >"$RESULTS/contents.txt" 2>&1 || { cat "$RESULTS/contents.txt"; return 1; }
  amixer -c 0 info | tee "$RESULTS/info.txt"
  amixer -c 0 controls | tee "$RESULTS/controls.txt"
  amixer -c 0 scontrols | tee "$RESULTS/scontrols.txt"
  amixer -c 0 cset name='PCM Playback Volume' 243 | tee "$RESULTS/cset.txt"
  alsactl -f "$RESULTS/asound.state" store 0
  amixer -c 0 cset name='PCM Playback Volume' 100 >/dev/null
  alsactl -f "$RESULTS/asound.state" restore 0
  amixer -c 0 cget name='PCM Playback Volume' | tee "$RESULTS/restored.txt"
  cat "$RESULTS/contents.txt"
  aplay -D hw:0 "$RESULTS/tone.wav" 2>"$RESULTS/aplay.err" || { cat "$RESULTS/aplay.err"; return 1; }
  stop_serve
}

check() {
  expect "Outboard" "$RESULTS/info.txt"
  # The same jack and channel map controls as the kernel's driver (numids
  # aside); the mixer elements differ (the kernel has none for this codec,
  # Outboard has PCM on its mixer's gain).
  jacks() { sed 's/^numid=[0-9]*,//' "$1" | grep -v "iface=MIXER" | sort; }
  jacks "$RESULTS/kernel-controls.txt" >"$RESULTS/kernel-jacks.txt"
  jacks "$RESULTS/controls.txt" >"$RESULTS/jacks.txt"
  grep -q " Jack'" "$RESULTS/kernel-jacks.txt" || { echo "the kernel's driver made no jack control"; return 1; }
  diff "$RESULTS/kernel-jacks.txt" "$RESULTS/jacks.txt" || { echo "card and PCM controls differ from the kernel's"; return 1; }
  echo "card and PCM controls as the kernel's: $(tr '\n' ' ' <"$RESULTS/jacks.txt")"
  expect "Simple mixer control 'PCM',0" "$RESULTS/scontrols.txt"
  expect "name='PCM Playback Volume'" "$RESULTS/contents.txt"
  expect 'dBscale-min=-63.75dB,step=0.25dB,mute=1' "$RESULTS/contents.txt"
  expect ": values=243$" "$RESULTS/cset.txt"
  expect ": values=243$" "$RESULTS/restored.txt"
  expect "control.1 \{" "$RESULTS/asound.state"
  sox "$HDA_OUT_WAV" "$RESULTS/tone-out.wav" silence 1 0.01 0.5% trim 0.5 2
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" tones "$RESULTS/tone-out.wav" --freqs 1000 --levels -15.04
}
