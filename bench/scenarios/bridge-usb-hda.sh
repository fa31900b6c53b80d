# bridge-usb-hda: `outboard bridge` from the UAC2 emulator's capture to the
# emulated HDA's playback, two devices on two clocks. The emulator (over
# USB/IP, as in uac2-capture) captures a 1 kHz tone (1000 cycles per 48000
# of its samples, -12.04 dBFS) with its clock at 47 900 Hz: it delivers
# 47 900 frames per second, so the tone it defines is 997.917 Hz in real
# time. The bridge resamples the capture clock onto the HDA's 48 kHz, so at
# the HDA the tone keeps that true frequency: 997.917 Hz in QEMU's 48 kHz
# wav (1000 x 47900/48000), not 1000 Hz (no resampling: the level would
# fall by 100 frames a second and underrun) and not 1002.09 Hz (the ratio
# applied the wrong way round). The bridge's adjustment is +2087.7 ppm
# (48000/47900 - 1: more playback frames than capture frames), which the
# command also states as the capture clock running -2083.3 ppm against the
# playback clock.
# The emulator counts its 47 900 Hz on the guest's clock (and stops it when
# its bus misses frames, below) and QEMU plays the HDA on the host's; under
# TCG the tone at the HDA and the bridge's ratio were seen 80-220 ppm below
# nominal, so the frequency is checked within 500 ppm: still far from 1000
# and 1002.09 Hz.
# Host: QEMU's wav holds one unbroken tone at 997.917 Hz (within 500 ppm) at
# -12.04 dBFS (bench-tool tone-track, 10 ms blocks: no phase step at a block
# boundary of half a sample or more, no block with more than -50 dBFS
# besides the tone: a lost or repeated sample makes a step of 1 sample or a
# block of about -40 dBFS, a 1000 ppm correction of the drift loop, ramped
# over 10 ms, a step of 0.12 and -65 dBFS), and the bridge reported no xrun
# and no resync after its start-up.
# TCG: the emulated device's clock stops whenever the driver's URB queue
# (4 URBs of 8 ms) runs dry, which a starved guest makes happen; the check
# prints how often it did. With dev binaries the guest's CPUs are busy
# 70-90% and the capture loses more than the bridge's 3000 ppm can follow;
# with release binaries (OUTBOARD_BIN_DIR=<repo>/target/release) on a quiet
# host it passes.
DESCRIPTION="outboard bridge: UAC2 emulator capture at 47.9 kHz into the HDA at 48 kHz, the tone's true pitch, no glitch"
hda_scenario --timeout 480

source "$BENCH_DIR/lib/usb-emu.sh"

# The device clock, the tone it captures, and what that is at the HDA.
CLOCK_HZ=47900
TONE_HZ=1000
HEARD_HZ=$(awk -v t="$TONE_HZ" -v c="$CLOCK_HZ" 'BEGIN { printf "%.4f", t * c / 48000 }')
SECONDS_BRIDGED=30

# The guest's CPU jiffies: busy, idle.
cpu() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; }

guest() {
  local bin="$OUTBOARD_BIN_DIR" addr before after
  addr="$(hda_address)" || return 1
  # More tone than the bridge runs for, at the emulator's nominal rate.
  "$bin/outboard-bench-tool" tone "$RESULTS/tone.raw" --freq "$TONE_HZ" --level -12.04 --seconds 60
  # A packet a millisecond (bInterval 4), not every microframe: a TCG
  # guest's CPUs cannot serve 8000 USB/IP packets a second and a bridge.
  start_emu emu uac2 --hs-interval 4 --feedback-hz "$CLOCK_HZ" --capture "$RESULTS/tone.raw" --stats "$RESULTS/emu.stats" || return 1
  # Periods and a queue as generous as the other scenarios'.
  before="$(cpu)"
  "$bin/outboard" bridge "usb:$EMU_BUSID" "$addr" --bind --seconds "$SECONDS_BRIDGED" \
    --period 1024 --periods 8 --target 9600 >"$RESULTS/bridge.txt" 2>"$RESULTS/bridge.err" \
    || { cat "$RESULTS/bridge.txt" "$RESULTS/bridge.err"; emu_diagnose; return 1; }
  after="$(cpu)"
  echo "$before $after" | awk '{ printf "the guest'"'"'s CPUs were busy %.0f%% of the time the bridge ran\n", 100 * ($3 - $1) / ($3 - $1 + $4 - $2) }'
  cat "$RESULTS/bridge.txt" "$RESULTS/bridge.err"
  stop_emu
  cat "$RESULTS/emu.out"
}

emu_stat() { sed -n "s/^$2=//p" "$RESULTS/$1"; }

check() {
  local tool="$OUTBOARD_BIN_DIR/outboard-bench-tool" early final gaps median implied
  expect '^bridge: usb .*\(capture, 48000 Hz, 2 ch, 1024-frame periods\) -> .*\(playback, 48000 Hz' "$RESULTS/bridge.txt"
  [[ "$(emu_stat emu.stats capture_rate)" == 48000 ]] || { cat "$RESULTS/emu.stats"; echo "the capture clock is not at 48000"; return 1; }
  grep -E '^bridge stopped|median_ppm|^engine' "$RESULTS/bridge.txt"
  grep -E 'busy' "$RESULTS/guest.log" || true
  # Bus frames the emulated device missed because the driver's URB queue ran
  # dry: its clock stops meanwhile (it delivers those frames later, not
  # never), so each one slows the capture clock the bridge follows.
  gaps="$(emu_stat emu.stats usbip_ep_83 | sed -n 's/.*gaps:\([0-9]*\).*/\1/p')"
  echo "the emulated device's capture stream restarted after $gaps gaps in the driver's URB queue"
  grep -q '(after start-up capture=0 playback=0)' "$RESULTS/bridge.txt" \
    || { echo "xruns after the bridge's start-up: $(grep -o 'after start-up [^)]*' "$RESULTS/bridge.txt")"; return 1; }
  # No resync after the start-up: the count at the first reading after 2 s is the final one.
  early="$(awk '/^bridge: t=/ { t = substr($2, 3) + 0; if (t >= 2) { print; exit } }' "$RESULTS/bridge.txt" | sed -n 's/.* resyncs=\([0-9]*\).*/\1/p')"
  final="$(sed -n 's/.* resyncs=\([0-9]*\) saturated=.*/\1/p' "$RESULTS/bridge.txt" | tail -n1)"
  [[ -n "$early" && "$early" == "$final" ]] || { echo "the bridge resynced after its start-up: $early resyncs at 2 s, $final at the end"; return 1; }
  # The loop followed the clocks (its median adjustment inside its limit,
  # not pinned at it: pinned, the level only falls, later than 30 s
  # underrunning), and what the HDA played is what its ratio says: the tone
  # over the second half at the frequency the loop's mean adjustment there
  # makes of it (the mean of its once-a-second readings: the pitch follows
  # the ratio's time average; within 400 ppm, the readings being samples of
  # a ratio that moves between them). Not the median: on a loaded guest the
  # loop swung between +1400 and its +3000 limit, and the median (+2964)
  # said 441 ppm more than the pitch the HDA played.
  median="$(sed -n 's/.*median_ppm=\([-+0-9.]*\) .*/\1/p' "$RESULTS/bridge.txt")"
  awk -v m="$median" 'BEGIN { exit !(m + 0 > -2990 && m + 0 < 2990) }' \
    || { echo "the bridge's adjustment sat at its limit ($median ppm): the capture clock ran beyond its reach"; return 1; }
  mean="$(awk -v from="$((SECONDS_BRIDGED / 2))" '/^bridge: t=/ {
      t = substr($2, 3) + 0; p = $3; sub(/^ppm=/, "", p)
      if (t >= from) { s += p; n++ } }
    END { if (n) printf "%+.1f", s / n }' "$RESULTS/bridge.txt")"
  [[ -n "$mean" ]] || { echo "no readings of the bridge's adjustment in the second half"; return 1; }
  implied="$(awk -v t="$TONE_HZ" -v m="$mean" 'BEGIN { printf "%.4f", t / (1 + m * 1e-6) }')"
  echo "--- what the HDA played: expected $HEARD_HZ Hz"
  "$tool" tone-track "$HDA_OUT_WAV" --freq "$HEARD_HZ" --level -12.04 --ppm 500 --from 2 --residual -50
  echo "--- the second half: the bridge's mean adjustment there ($mean ppm; median $median) makes the tone $implied Hz"
  "$tool" tone-track "$HDA_OUT_WAV" --freq "$implied" --level -12.04 --ppm 400 --from "$((SECONDS_BRIDGED / 2))" --residual -50
  if grep -q panicked "$RESULTS"/*.err; then echo "a panic"; return 1; fi
}
