# packaging: what `outboard install` puts in place works on a booting system.
# 1. `outboard install --prefix /usr/local --destdir ROOT` stages the binary,
#    the units, the udev rules, modules-load, the config, man pages and
#    completions; systemd-analyze verifies both units; the man page and the
#    bash completion parse.
# 2. The staged outboard-vfio-bind hands the HDA controller to vfio-pci, as its
#    unit does at boot: the controller's driver is vfio-pci, its /dev/vfio node is there.
# 3. The daemon runs as the unit starts it (its ExecStartPre's systemd-sysusers
#    with the staged sysusers file makes the `outboard` user; its ExecStart, the
#    staged config, which names that user: the daemon drops to it)
#    with a NOTIFY_SOCKET listener standing in for systemd: READY=1 arrives, and
#    /dev/dsp and /dev/mixer exist when it does; SIGTERM brings STOPPING=1 and a clean stop.
# 4. udev (systemd-udevd with the staged rules in /run/udev/rules.d) gives the OSS and ALSA
#    CUSE nodes root:audio 0660: the daemon is told group root and mode 0600, so
#    what udev sets on the nodes' add events is the rules' doing.
# Host: the notify messages, the node modes before and after udev, bit-exact
# playback through the daemon so started.
DESCRIPTION="packaging: outboard install stages units, rules, man pages, completions; vfio-bind, sd_notify READY and the udev rules work in the guest"
hda_scenario

guest() {
  local bin="$OUTBOARD_BIN_DIR/outboard" root=/tmp/root addr unit exec_start
  # The guest part runs in a chroot, which systemd's tools refuse to act in
  # unless told that this one is the system.
  export SYSTEMD_IGNORE_CHROOT=1
  addr="$(hda_address)" || return 1
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" signal "$RESULTS/sent.raw" --seconds 1 --seed 91

  # 1. the staged install
  "$bin" install --prefix /usr/local --destdir "$root" >"$RESULTS/install.txt"
  (cd "$root" && find . -type f -printf '%m %P\n' | sort) | tee "$RESULTS/files.txt"
  unit="$root/etc/systemd/system/outboard.service"
  # systemd-analyze checks ExecStart's binary exists: point it at the staged one.
  mkdir -p /tmp/units
  sed "s#/usr/local/#$root/usr/local/#g" "$unit" >/tmp/units/outboard.service
  sed "s#/usr/local/#$root/usr/local/#g" "$root/etc/systemd/system/outboard-vfio-bind@.service" \
    >/tmp/units/outboard-vfio-bind@hda.service
  local rc=0
  # (An instance named by the PCI address would do, but verify reads `:` in a
  # file name as its alias syntax.)
  systemd-analyze verify --man=no /tmp/units/outboard.service /tmp/units/outboard-vfio-bind@hda.service \
    >"$RESULTS/verify.txt" 2>&1 || rc=$?
  echo "verify_status=$rc" | tee -a "$RESULTS/verify.txt"
  head -c 2000 "$root/usr/local/share/man/man1/outboard.1" >"$RESULTS/man-head.txt"
  bash -n "$root/usr/local/share/bash-completion/completions/outboard" && echo "bash_completion=parses" | tee -a "$RESULTS/verify.txt"

  # 2. vfio-bind, as outboard-vfio-bind@ADDRESS.service runs it
  "$root/usr/local/libexec/outboard/outboard-vfio-bind" "$addr" | tee "$RESULTS/vfio-bind.txt"
  echo "driver=$(basename "$(readlink -f "/sys/bus/pci/devices/$addr/driver")")" | tee -a "$RESULTS/vfio-bind.txt"
  local group
  group="$(basename "$(readlink -f "/sys/bus/pci/devices/$addr/iommu_group")")"
  [[ -c "/dev/vfio/$group" ]] && echo "vfio_node=/dev/vfio/$group" | tee -a "$RESULTS/vfio-bind.txt"

  # 3. the daemon as the unit starts it, systemd's notify socket stood in for
  exec_start="$(sed -n 's/^ExecStart=//p' "$unit")"
  exec_start="${exec_start//\/usr\/local\//$root/usr/local/}"
  exec_start="${exec_start//\/etc\/outboard\/outboard.toml/$RESULTS/outboard.toml}"
  echo "exec_start=$exec_start" | tee "$RESULTS/exec-start.txt"
  # The staged config, told to leave the nodes root:root 0600 (udev's rules come next).
  { cat "$root/etc/outboard/outboard.toml"; printf 'group = "root"\nmode = "0600"\nperiod = 4096\nperiods = 8\n'; } \
    | grep -v '^group = "audio"$\|^mode = "0660"$\|^period = 1024\|^periods = 4$' >"$RESULTS/outboard.toml"
  # The unit's ExecStartPre: systemd-sysusers with the staged file makes the
  # `outboard` user (here in a copy of /etc's account files, bound over the
  # read-only host's).
  mkdir -p /tmp/sysroot/etc
  cp /etc/passwd /etc/group /tmp/sysroot/etc/
  systemd-sysusers --root=/tmp/sysroot "$root/usr/local/lib/sysusers.d/outboard.conf" 2>&1 | tee "$RESULTS/sysusers.txt"
  grep '^outboard:' /tmp/sysroot/etc/passwd | tee -a "$RESULTS/sysusers.txt"
  mount --bind /tmp/sysroot/etc/passwd /etc/passwd && mount --bind /tmp/sysroot/etc/group /etc/group || return 1
  python3 - /tmp/notify.sock >"$RESULTS/notify.txt" 2>&1 <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
for _ in range(2):
    msg = s.recv(4096).decode()
    print(msg, "dsp=%s" % os.path.exists("/dev/dsp"), "mixer=%s" % os.path.exists("/dev/mixer"), flush=True)
PY
  local listener=$! serve_pid
  wait_until 10 "the notify listener's socket" test -S /tmp/notify.sock || return 1
  # shellcheck disable=SC2086
  NOTIFY_SOCKET=/tmp/notify.sock $exec_start >"$RESULTS/serve.log" 2>&1 &
  serve_pid=$!
  ready() { grep -q '^READY=1' "$RESULTS/notify.txt"; }
  wait_until 30 "READY=1 from the daemon" ready || { cat "$RESULTS/serve.log" "$RESULTS/notify.txt"; return 1; }
  wait_nodes 5 /dev/dsp /dev/audio /dev/mixer /dev/sndstat || return 1
  owned() { [[ "$(stat -c '%U:%G %a' "$1")" == "$2" ]]; }
  wait_until 5 "the daemon's own owner on /dev/dsp" owned /dev/dsp "root:root 600" || { stat /dev/dsp; return 1; }
  stat -c '%A %U:%G %n' /dev/dsp /dev/audio /dev/mixer /dev/sndstat /dev/snd/controlC0 /dev/snd/pcmC0D0p | tee "$RESULTS/nodes-before.txt"

  # 4. udev with the staged rules
  mkdir -p /run/udev/rules.d
  cp "$root/etc/udev/rules.d/60-outboard.rules" /run/udev/rules.d/
  /lib/systemd/systemd-udevd --daemon
  udevadm trigger --action=add --subsystem-match=cuse
  udevadm settle --timeout=20
  wait_until 10 "udev's owner on /dev/dsp" owned /dev/dsp "root:audio 660" || { stat /dev/dsp; return 1; }
  wait_until 10 "udev's owner on /dev/snd/pcmC0D0p" owned /dev/snd/pcmC0D0p "root:audio 660" || { stat /dev/snd/pcmC0D0p; return 1; }
  stat -c '%A %U:%G %n' /dev/dsp /dev/audio /dev/mixer /dev/sndstat /dev/snd/controlC0 /dev/snd/pcmC0D0p | tee "$RESULTS/nodes-after.txt"
  udevadm control --exit || true

  oss_write /dev/dsp "$RESULTS/sent.raw" | tee "$RESULTS/client.txt"
  kill -TERM "$serve_pid"
  wait "$serve_pid" || { echo "the daemon failed"; cat "$RESULTS/serve.log"; return 1; }
  wait_until 10 "the notify listener to get STOPPING=1" process_gone "$listener" || return 1
  cat "$RESULTS/notify.txt" "$RESULTS/serve.log"
  umount /etc/passwd /etc/group
}

check() {
  local f
  for f in "755 usr/local/bin/outboard" "755 usr/local/libexec/outboard/outboard-vfio-bind" \
           "644 etc/systemd/system/outboard.service" "644 etc/systemd/system/outboard-vfio-bind@.service" \
           "644 etc/udev/rules.d/60-outboard.rules" "644 etc/modules-load.d/outboard.conf" \
           "644 etc/outboard/outboard.toml" "644 usr/local/share/man/man1/outboard.1" \
           "644 usr/local/lib/sysusers.d/outboard.conf" \
           "644 usr/local/share/man/man1/outboard-serve.1" "644 usr/local/share/bash-completion/completions/outboard" \
           "644 usr/local/share/zsh/site-functions/_outboard" "644 usr/local/share/fish/vendor_completions.d/outboard.fish"; do
    grep -qx "$f" "$RESULTS/files.txt" || { echo "the staged install lacks: $f"; cat "$RESULTS/files.txt"; return 1; }
  done
  expect '^verify_status=0$' "$RESULTS/verify.txt"
  expect '^bash_completion=parses$' "$RESULTS/verify.txt"
  if grep -v '^verify_status=\|^bash_completion=' "$RESULTS/verify.txt" | grep -q .; then
    echo "systemd-analyze verify complained:"; cat "$RESULTS/verify.txt"; return 1
  fi
  expect '^\.TH outboard 1' "$RESULTS/man-head.txt"
  expect '^driver=vfio-pci$' "$RESULTS/vfio-bind.txt"
  expect '^vfio_node=/dev/vfio/[0-9]+$' "$RESULTS/vfio-bind.txt"
  expect '/tmp/root/usr/local/bin/outboard serve --config ' "$RESULTS/exec-start.txt"
  expect '^outboard:x:[0-9]+:[0-9]+:Outboard userspace audio drivers:/nonexistent:/usr/sbin/nologin$' "$RESULTS/sysusers.txt"
  expect '^running as outboard \(uid [0-9]+, gid [0-9]+\), no capabilities, no_new_privs, seccomp filter on$' "$RESULTS/serve.log"
  expect '^READY=1 dsp=True mixer=True$' "$RESULTS/notify.txt"
  expect '^STOPPING=1 ' "$RESULTS/notify.txt"
  expect '^crw------- root:root /dev/dsp$' "$RESULTS/nodes-before.txt"
  for f in dsp audio mixer sndstat snd/controlC0 snd/pcmC0D0p; do
    expect "^crw-rw---- root:audio /dev/$f\$" "$RESULTS/nodes-after.txt"
  done
  expect '^wrote 192000$' "$RESULTS/client.txt"
  expect '^stopped: /dev/dsp and /dev/audio and /dev/mixer and /dev/sndstat and /dev/snd/controlC0 and /dev/snd/pcmC0D0p and /dev/snd/pcmC0D0c removed' "$RESULTS/serve.log"
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare "$HDA_OUT_WAV" "$RESULTS/sent.raw"
}
