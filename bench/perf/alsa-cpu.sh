# perf/alsa-cpu: the CPU that `aplay` of a 48 kHz S16 stereo file costs the
# guest through Outboard's ALSA node, against the same aplay on the kernel's
# own snd-hda-intel driving the same emulated controller in the same guest,
# with the same period and buffer (PERIOD frames, 4 periods). Busy time is
# the guest's whole /proc/stat (user, nice, system, irq, softirq) over the
# play, so the daemon, the CUSE round trips in the kernel and aplay itself
# all count; also each side's idle cost (5 s with nothing playing: the
# daemon's engine has stopped the device, as the kernel driver has) and the
# daemon's own share. Run: bench/run --perf alsa-cpu (ALSA_CPU_SECONDS,
# ALSA_CPU_PERIOD to change the defaults 20 and 1024). Results in
# target/bench/alsa-cpu/cpu.txt; a benchmark, not a test.
DESCRIPTION="perf: CPU per audio second of aplay on the ALSA node vs the kernel's snd-hda-intel"
hda_scenario --timeout 600
# shellcheck disable=SC1091
source "$BENCH_DIR/lib/perf.sh"
HOST_SECONDS="${ALSA_CPU_SECONDS:-20}"
HOST_PERIOD="${ALSA_CPU_PERIOD:-1024}"

prepare() {
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" signal "$RESULTS/sent.raw" --seconds "$HOST_SECONDS" --seed 104
  printf 'AUDIO_SECONDS=%s\nPERIOD=%s\n' "$HOST_SECONDS" "$HOST_PERIOD" >"$RESULTS/perf.env"
}

guest() {
  . "$RESULTS/perf.env"
  local out="$RESULTS/cpu.txt" play=(-f S16_LE -c 2 -r 48000 -t raw --period-size="$PERIOD" --buffer-size=$((PERIOD * 4)))
  : >"$out"
  echo "audio_seconds=$AUDIO_SECONDS period=$PERIOD nproc=$(nproc) user_hz=$(getconf CLK_TCK) clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
  # The kernel's driver.
  "$BENCH_MODPROBE" snd_hda_codec_generic || return 1
  "$BENCH_MODPROBE" snd_hda_intel || return 1
  wait_until 15 "the kernel's HDA card" test -e /dev/snd/pcmC0D0p || return 1
  measure kernel-idle 0 sleep 5
  aplay -v -D hw:0 "${play[@]}" "$RESULTS/sent.raw" >"$RESULTS/aplay-kernel.txt" 2>&1 &
  local aplay_pid=$!
  measure kernel-play 0 wait "$aplay_pid" || { cat "$RESULTS/aplay-kernel.txt"; return 1; }
  # Outboard, on the same controller (serve --bind unbinds the kernel's driver).
  RUST_LOG=outboard_cuse=debug start_serve --period "$PERIOD" --periods 4 || return 1
  local node
  wait_until 10 "Outboard's PCM node" eval 'node="$(ls /dev/snd/pcmC*D0p 2>/dev/null | head -n1)"; [[ -n "$node" ]]' || return 1
  local card="${node#/dev/snd/pcmC}"; card="${card%D0p}"
  threads "$SERVE_PID" outboard-start
  # With no client the daemon stops the device's DMA after idle_stop (5 s).
  sleep 6
  measure outboard-idle "$SERVE_PID" sleep 5
  threads "$SERVE_PID" outboard-idle
  aplay -v -D "hw:$card" "${play[@]}" "$RESULTS/sent.raw" >"$RESULTS/aplay-outboard.txt" 2>&1 &
  aplay_pid=$!
  measure outboard-play "$SERVE_PID" wait "$aplay_pid" || { cat "$RESULTS/aplay-outboard.txt"; return 1; }
  threads "$SERVE_PID" outboard-play
  stop_serve
}

check() {
  cat "$RESULTS/cpu.txt"
  grep -q '^kernel-play ' "$RESULTS/cpu.txt" && grep -q '^outboard-play ' "$RESULTS/cpu.txt"
}
