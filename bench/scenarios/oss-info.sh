# oss-info: what OSS 4 programs ask of the nodes besides sound.
#  - Device discovery (SNDCTL_SYSINFO, AUDIOINFO / _EX, ENGINEINFO, CARDINFO,
#    MIXERINFO) from Python on /dev/mixer and /dev/dsp: the HDA controller's
#    name, the daemon's rate/format/period, the node paths, its own pid as
#    the user, EINVAL / ENXIO out of range.
#  - Signals: a client blocked in write() (output paused, buffer full) or in
#    SNDCTL_DSP_SYNC (20 s queued) gets SIGALRM after 1 s: libc's write and
#    ioctl return EINTR, Python's os.write raises the handler's exception,
#    all at about 1 s. Then the daemon still plays a signal bit-exact.
#  - A 32-bit (i386) C program (lib/oss-info32.c, gcc -m32 -static on the
#    host) sets the format, asks GETOSPACE, SYSINFO, AUDIOINFO, plays a
#    signal (bit-exact at the codec) and reads CURRENT_OPTR in its 140-byte
#    oss_count_t, GETOPTR and GETERROR.
DESCRIPTION="OSS 4 device discovery on /dev/dsp and /dev/mixer; blocked write and SYNC interrupted by a signal (EINTR); a 32-bit client plays bit-exact"
hda_scenario

# The 32-bit client, built on the host (gcc-multilib comes with the bench's setup).
prepare() {
  gcc -m32 -static -O2 -Wall -Wextra -Werror -o "$RESULTS/oss-info32" "$BENCH_DIR/lib/oss-info32.c" \
    >"$RESULTS/gcc.log" 2>&1 || { echo "building the 32-bit client failed:"; cat "$RESULTS/gcc.log"; return 1; }
}

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
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" signal "$RESULTS/sent32.raw" --seconds 1 --seed 6
  "$RESULTS/oss-info32" "$RESULTS/sent32.raw" | tee "$RESULTS/client32.txt"
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
  # The 32-bit client: its own layouts, the same answers, its sound bit-exact.
  want client32.txt "^abi long=4 ptr=4 oss_count_t=140 current_optr=0x808c5024$" "the client is not an i386 program"
  want client32.txt "^setfmt 16$" "32-bit SETFMT"
  want client32.txt "^speed 48000$" "32-bit SPEED"
  want client32.txt "^ospace fragments=16 fragstotal=16 fragsize=8192 bytes=131072$" "32-bit GETOSPACE"
  want client32.txt "^sysinfo product=Outboard numaudios=2 numcards=1$" "32-bit SYSINFO"
  want client32.txt "^audioinfo dev=0 name=$addr devnode=/dev/dsp min_rate=8000 max_rate=192000 max_channels=8 pid_is_me=1$" "32-bit AUDIOINFO"
  want client32.txt "^wrote 192000$" "32-bit writes"
  want client32.txt "^current_optr samples=48000 fifo_samples=0$" "32-bit CURRENT_OPTR (oss_count_t of 140 bytes)"
  want client32.txt "^optr bytes=192000$" "32-bit GETOPTR"
  want client32.txt "^errinfo size=104 rec_overruns=0 filler0=0$" "32-bit GETERROR"
  want client32.txt "^ok$" "the 32-bit client did not finish"
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare "$HDA_OUT_WAV" "$RESULTS/sent32.raw" || { echo "the 32-bit client's sound is not bit-exact"; return 1; }
  grep -q "^serving /dev/dsp and /dev/audio and /dev/mixer and /dev/sndstat on $addr " "$RESULTS/serve.log" \
    || { echo "the daemon served another device"; cat "$RESULTS/serve.log"; return 1; }
  cat "$RESULTS/info.txt" "$RESULTS/interrupt.txt" "$RESULTS/client32.txt"
}
