# oss-info: what OSS 4 programs ask of the nodes besides sound.
#  - Device discovery (SNDCTL_SYSINFO, AUDIOINFO / _EX, ENGINEINFO, CARDINFO,
#    MIXERINFO) from Python on /dev/mixer and /dev/dsp: the HDA controller's
#    name, the daemon's rate/format/period, the node paths, its own pid as
#    the user, EINVAL / ENXIO out of range.
#  - Signals: a client blocked in write() (output paused, buffer full) or in
#    SNDCTL_DSP_SYNC (20 s queued) gets SIGALRM after 1 s: libc's write and
#    ioctl return EINTR, Python's os.write raises the handler's exception,
#    all at about 1 s. Then the daemon still plays a signal bit-exact.
DESCRIPTION="OSS 4 device discovery on /dev/dsp and /dev/mixer; blocked write and SYNC interrupted by a signal (EINTR); the daemon plays on"
HDA=duplex
HDA_MIXER=off
USB=none
TIMEOUT=240

source "$BENCH_DIR/lib/outboard.sh"

guest() {
  hda_address >"$RESULTS/hda-address.txt"
  start_serve --period 1024 --periods 4
  python3 "$BENCH_DIR/lib/oss-info.py" info | tee "$RESULTS/info.txt"
  python3 "$BENCH_DIR/lib/oss-info.py" interrupt | tee "$RESULTS/interrupt.txt"
  kill -0 "$SERVE_PID" || { echo "the daemon died"; cat "$RESULTS/serve.log"; return 1; }
  # It still serves: a signal played after the interrupted calls, bit-exact.
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" signal "$RESULTS/sent.raw" --seconds 1 --seed 5
  python3 - "$RESULTS/sent.raw" <<'PY' | tee "$RESULTS/played.txt"
import ossaudiodev, sys
data = open(sys.argv[1], "rb").read()
dsp = ossaudiodev.open("/dev/dsp", "w")
dsp.setfmt(ossaudiodev.AFMT_S16_LE); dsp.channels(2); dsp.speed(48000)
dsp.writeall(data)
dsp.close()
print("wrote", len(data))
PY
  stop_serve
}

# want FILE REGEX MESSAGE: fail with MESSAGE unless a line of FILE matches.
want() {
  grep -Eq -- "$2" "$RESULTS/$1" || { echo "$3 (no line matching '$2' in $1)"; cat "$RESULTS/$1"; return 1; }
}

check() {
  local addr
  addr="$(cat "$RESULTS/hda-address.txt")"
  want info.txt "^sysinfo product=Outboard version=[0-9.]+ versionnum=0x30904 numaudios=2 nummixers=1 numcards=1 openedaudio=0$" "SYSINFO"
  want info.txt "^nrmix 1$" "MIX_NRMIX"
  # Enumerated from /dev/mixer: both nodes, named after the controller.
  want info.txt "^audioinfo0 dev=0 name=$addr busy=0 pid=-1 caps=[0-9]+ iformats=[1-9][0-9]* oformats=[1-9][0-9]* card=0 mixer_dev=0 enabled=1 min_rate=8000 max_rate=192000 min_channels=1 max_channels=8 latency=85333 devnode=/dev/dsp$" "AUDIOINFO 0"
  want info.txt "^audioinfo1 dev=1 name=$addr \(/dev/audio\) .* devnode=/dev/audio$" "AUDIOINFO 1"
  want info.txt "^audioinfo_out_of_range EINVAL$" "AUDIOINFO out of range"
  want info.txt "^audioinfo_minus1_on_mixer EINVAL$" "AUDIOINFO -1 on the mixer"
  # The hardware's own settings, as the daemon opened them.
  want info.txt "^cardinfo shortname=$addr longname=Outboard: $addr$" "CARDINFO names"
  want info.txt "^cardinfo hw playback: S16Le 48000 Hz 2 ch, 4 periods of 1024 frames$" "CARDINFO playback"
  want info.txt "^cardinfo hw capture: S16Le 48000 Hz 2 ch, 4 periods of 1024 frames$" "CARDINFO capture"
  want info.txt "^cardinfo intr_count [1-9][0-9]*$" "CARDINFO counts engine periods"
  want info.txt "^cardinfo_out_of_range ENXIO$" "CARDINFO out of range"
  want info.txt "^mixerinfo dev=0 name=$addr devnode=/dev/mixer$" "MIXERINFO"
  want info.txt "^mixerinfo_out_of_range ENXIO$" "MIXERINFO out of range"
  # On /dev/dsp, -1 is the fd's own device, with this program as its user.
  want info.txt "^own dev=0 name=$addr busy=2 pid=[0-9]+ .* devnode=/dev/dsp$" "AUDIOINFO -1 on /dev/dsp"
  want info.txt "^own_is_me True$" "AUDIOINFO pid"
  want info.txt "^getcaps_matches True$" "GETCAPS and AUDIOINFO caps agree"
  want info.txt "^audioinfo_ex1 devnode=/dev/audio$" "AUDIOINFO_EX"
  want info.txt "^dsp_mixerinfo devnode=/dev/mixer$" "MIXERINFO -1 on /dev/dsp"
  want info.txt "^opened_while_playing 1$" "SYSINFO openedaudio"
  want info.txt "^engineinfo_on_audio dev=1$" "ENGINEINFO -1 on /dev/audio"
  want info.txt "^busy_after_close 0$" "busy after close"
  # Interrupted at the alarm (1 s; a slow guest may take a little longer).
  want interrupt.txt "^free_after_fill 0$" "the buffer was full before the blocking write"
  want interrupt.txt "^c_write returned -1 errno EINTR after (0\.9[0-9]|1\.[0-9][0-9]|2\.[0-4][0-9]) s$" "a blocked write(2) did not end with EINTR at the signal"
  want interrupt.txt "^py_write interrupted after (0\.9[0-9]|1\.[0-9][0-9]|2\.[0-4][0-9]) s$" "Python's blocked os.write did not raise at the signal"
  want interrupt.txt "^sync_queued (1[0-9]|2[0-9])\.[0-9] s$" "SYNC had seconds of sound queued"
  want interrupt.txt "^c_sync returned -1 errno EINTR after (0\.9[0-9]|1\.[0-9][0-9]|2\.[0-4][0-9]) s$" "a blocked SNDCTL_DSP_SYNC did not end with EINTR at the signal"
  want played.txt "^wrote 192000$" "the play after the interrupts"
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare "$HDA_OUT_WAV" "$RESULTS/sent.raw" || { echo "not bit-exact after the interrupts"; return 1; }
  grep -q "^serving /dev/dsp and /dev/audio and /dev/mixer and /dev/sndstat on $addr " "$RESULTS/serve.log" \
    || { echo "the daemon served another device"; cat "$RESULTS/serve.log"; return 1; }
  cat "$RESULTS/info.txt" "$RESULTS/interrupt.txt"
}
