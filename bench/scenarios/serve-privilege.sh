# serve-privilege: least privilege (issue #14). The guest gets an `outboard`
# system user (a copy of /etc/passwd and /etc/group with it, bound over the
# read-only host files), then `outboard serve` opens the HDA through VFIO
# and /dev/cuse as root and drops to that user. While `aplay -D hw:0` plays,
# every thread of the daemon shows in /proc: the outboard uid and gid, no
# supplementary groups, no capabilities (CapPrm, CapEff), no_new_privs and
# a seccomp filter (mode 2). The playback is bit-exact and the nodes stay
# root:audio 0660. One child process, the helper that reads callers'
# descriptor flags in /proc (outboard-proc), is the same user with two
# capabilities (CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE: 0x80004), under
# no_new_privs and its own seccomp filter. aplay opens hw:0 as alsa-lib does
# (non-blocking, then blocking): without the helper's answer its writes on a
# full buffer got EAGAIN and the sound had gaps, so bit-exact playback is
# also the helper's check. Then, with no `outboard` user, the daemon serves as
# `nobody`, and `--user` naming an account that does not exist is refused
# before any node appears.
DESCRIPTION="hardening: serve drops to the outboard user (no capabilities, no_new_privs, seccomp on every thread) and plays bit-exact"
hda_scenario

# A private passwd and group with an `outboard` system user.
with_outboard_user() {
  local dir=/tmp/accounts
  mkdir -p "$dir"
  cp /etc/passwd /etc/group "$dir/"
  grep -q '^outboard:' "$dir/group" || echo "outboard:x:997:" >>"$dir/group"
  grep -q '^outboard:' "$dir/passwd" || echo "outboard:x:997:997:Outboard audio daemon:/nonexistent:/usr/sbin/nologin" >>"$dir/passwd"
  mount --bind "$dir/passwd" /etc/passwd && mount --bind "$dir/group" /etc/group
}

# The daemon's threads, one line each: name, then the status fields checked.
threads() {
  local t
  for t in /proc/"$SERVE_PID"/task/*; do
    printf '%s\t%s\n' "$(cat "$t/comm")" \
      "$(awk '/^(Uid|Gid|Groups|CapPrm|CapEff|NoNewPrivs|Seccomp):/ { $1 = $1; printf "%s ", $0 }' "$t/status")"
  done
}

guest() {
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" signal "$RESULTS/sent.raw" --seconds 3 --seed 131
  with_outboard_user || { echo "cannot set up the outboard user"; return 1; }
  start_serve --period 1024 --periods 4 || return 1
  wait_nodes 10 /dev/snd/pcmC0D0p || return 1
  aplay -D hw:0 -f S16_LE -c 2 -r 48000 -t raw "$RESULTS/sent.raw" >"$RESULTS/aplay.txt" 2>&1 &
  local player=$!
  sleep 1
  threads | tee "$RESULTS/threads.txt"
  # The helper that reads callers' descriptor flags.
  local h
  for h in $(pgrep -P "$SERVE_PID"); do
    printf '%s\t%s\n' "$(cat "/proc/$h/comm")" \
      "$(awk '/^(Uid|Gid|CapPrm|CapEff|CapAmb|NoNewPrivs|Seccomp):/ { $1 = $1; printf "%s ", $0 }' "/proc/$h/status")"
  done | tee "$RESULTS/helper.txt"
  stat -c '%A %U:%G %n' /dev/snd/pcmC0D0p /dev/dsp | tee "$RESULTS/nodes.txt"
  wait "$player" || { cat "$RESULTS/aplay.txt"; cat "$RESULTS/serve.log"; return 1; }
  stop_serve || return 1
  cp "$RESULTS/serve.log" "$RESULTS/serve-outboard.log"
  umount /etc/passwd /etc/group

  # No outboard account: nobody.
  start_serve --period 1024 --periods 4 || return 1
  threads >"$RESULTS/threads-nobody.txt"
  stop_serve || return 1
  cp "$RESULTS/serve.log" "$RESULTS/serve-nobody.log"

  # An account that does not exist: refused, no node left behind.
  local addr
  addr="$(hda_address)" || return 1
  if "$OUTBOARD_BIN_DIR/outboard" serve --bind "$addr" --user no-such-user >"$RESULTS/serve-nouser.log" 2>&1; then
    echo "serve ran with a user that does not exist"; return 1
  fi
  cat "$RESULTS/serve-nouser.log"
  [ ! -e /dev/dsp ] || { echo "/dev/dsp is still there"; return 1; }
}

check() {
  local uid gid
  expect '^running as outboard \(uid 997, gid 997\), no capabilities, no_new_privs, seccomp filter on$' "$RESULTS/serve-outboard.log" || return 1
  # Every thread: uid and gid 997 (real, effective, saved, fs), no groups,
  # no capabilities, no_new_privs, seccomp filter mode.
  if grep -v -E 'Uid: 997 997 997 997 Gid: 997 997 997 997 Groups: CapPrm: 0000000000000000 CapEff: 0000000000000000 NoNewPrivs: 1 Seccomp: 2 $' "$RESULTS/threads.txt"; then
    echo "a thread kept a privilege (above)"; return 1
  fi
  [ "$(wc -l <"$RESULTS/threads.txt")" -ge 4 ] || { echo "too few threads listed"; cat "$RESULTS/threads.txt"; return 1; }
  expect '^crw-rw---- root:audio /dev/snd/pcmC0D0p$' "$RESULTS/nodes.txt" || return 1
  expect '^outboard-proc	Uid: 997 997 997 997 Gid: 997 997 997 997 CapPrm: 0000000000080004 CapEff: 0000000000080004 CapAmb: 0000000000000000 NoNewPrivs: 1 Seccomp: 2 $' "$RESULTS/helper.txt" || return 1
  [ "$(wc -l <"$RESULTS/helper.txt")" -eq 1 ] || { echo "not one helper process"; cat "$RESULTS/helper.txt"; return 1; }
  expect '^running as nobody \(uid 65534, gid 65534\), no capabilities, no_new_privs, seccomp filter on$' "$RESULTS/serve-nobody.log" || return 1
  expect 'NoNewPrivs: 1 Seccomp: 2' "$RESULTS/threads-nobody.txt" || return 1
  expect 'user "no-such-user" does not exist' "$RESULTS/serve-nouser.log" || return 1
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare "$HDA_OUT_WAV" "$RESULTS/sent.raw"
}
