# PipeWire in the guest, for the server scenarios (server-pipewire,
# perf/pipewire-cpu): a private runtime and config directory, a session
# bus, pipewire, WirePlumber and pipewire-pulse, with one drop-in.

# pw_start DROPIN: start them with DROPIN as the only fragment in
# pipewire.conf.d; wait until its sink (outboard.sink.0, the name every
# drop-in here gives it) is the default sink and pipewire-pulse answers.
# Their pids go in PW_PIDS; their logs in $RESULTS/pipewire.log,
# wireplumber.log and pipewire-pulse.log (appended, so a second start keeps
# the first's).
pw_start() {
  local dropin="$1"
  export XDG_RUNTIME_DIR=/tmp/pw-run XDG_CONFIG_HOME=/tmp/pw-config PIPEWIRE_LOG_SYSTEMD=false
  rm -rf "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME"
  mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
  mkdir -p "$XDG_CONFIG_HOME/pipewire/pipewire.conf.d"
  cp "$dropin" "$XDG_CONFIG_HOME/pipewire/pipewire.conf.d/"
  # The guest runs no systemd-logind (no systemd at all), which WirePlumber's
  # Bluetooth monitor asks for and, refused, takes WirePlumber down with it.
  # There is no Bluetooth here either: the monitor is off (a bench matter,
  # not part of what a user installs).
  mkdir -p "$XDG_CONFIG_HOME/wireplumber/bluetooth.lua.d"
  echo 'bluez_monitor.enabled = false' >"$XDG_CONFIG_HOME/wireplumber/bluetooth.lua.d/60-bench-no-bluetooth.lua"
  dbus-daemon --session --fork --print-address=3 3>"$RESULTS/dbus.addr" || return 1
  DBUS_SESSION_BUS_ADDRESS="$(cat "$RESULTS/dbus.addr")"
  export DBUS_SESSION_BUS_ADDRESS
  pipewire >>"$RESULTS/pipewire.log" 2>&1 &
  PW_PIDS=($!)
  wait_until 20 "PipeWire's socket" test -S "$XDG_RUNTIME_DIR/pipewire-0" || { cat "$RESULTS/pipewire.log"; return 1; }
  wireplumber >>"$RESULTS/wireplumber.log" 2>&1 &
  PW_PIDS+=($!)
  pipewire-pulse >>"$RESULTS/pipewire-pulse.log" 2>&1 &
  PW_PIDS+=($!)
  wait_until 15 "the Outboard sink as the default" eval 'wpctl inspect @DEFAULT_AUDIO_SINK@ 2>/dev/null | grep -q outboard.sink.0' \
    || { wpctl status; cat "$RESULTS/pipewire.log" "$RESULTS/wireplumber.log"; return 1; }
  wait_until 20 "pipewire-pulse's socket" test -S "$XDG_RUNTIME_DIR/pulse/native" || { cat "$RESULTS/pipewire-pulse.log"; return 1; }
}

# pw_stop: end what pw_start started.
pw_stop() {
  kill "${PW_PIDS[@]}" 2>/dev/null || true
  wait "${PW_PIDS[@]}" 2>/dev/null || true
}
