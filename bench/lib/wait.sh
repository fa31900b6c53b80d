# shellcheck shell=bash
# Waiting with a deadline, for the guest part of every scenario (guest-entry.sh
# sources this before the scenario file). Nothing in the guest is looked for
# once: devices enumerate, nodes appear and processes start asynchronously, and
# a TCG guest is slow and uneven, so every look is a loop with a deadline that,
# when it passes, says what it waited for and what it saw.

# wait_until SECONDS WHAT CMD [ARGS...]: runs CMD every 0.1 s until it succeeds.
# When SECONDS pass first, prints "timed out after SECONDS s waiting for WHAT"
# and fails (the caller then says what it saw).
wait_until() {
  local secs="$1" what="$2" tries
  shift 2
  tries=$(( secs * 10 ))
  until "$@"; do
    if (( tries-- <= 0 )); then
      echo "timed out after ${secs} s waiting for $what"
      return 1
    fi
    sleep 0.1
  done
}

# not CMD [ARGS...]: succeeds when CMD fails (for wait_until: wait for a thing to go).
not() { ! "$@"; }

# process_gone PID: the process has exited (for wait_until).
process_gone() { ! kill -0 "$1" 2>/dev/null; }

# wait_nodes SECONDS NODE...: every NODE exists as a character device.
wait_nodes() {
  local secs="$1" n
  shift
  _all_char_devices() { local n; for n in "$@"; do [[ -c "$n" ]] || return 1; done; }
  wait_until "$secs" "$*" _all_char_devices "$@" || {
    for n in "$@"; do [[ -c "$n" ]] && echo "  present: $n" || echo "  missing: $n"; done
    return 1
  }
}

# usb_ready_ports VID PID: the bus ids (1-1, 1-2...) of the devices with this id
# that are fully there: sysfs attributes readable, a configuration set (their
# interfaces exist) and their usbfs node created. Sorted in port order.
usb_ready_ports() {
  local want_vid="$1" want_pid="$2" dev vid pid cfg bus num
  for dev in /sys/bus/usb/devices/*; do
    [[ "${dev##*/}" == *:* ]] && continue          # an interface, not a device
    vid="$(cat "$dev/idVendor" 2>/dev/null)" || continue
    pid="$(cat "$dev/idProduct" 2>/dev/null)" || continue
    [[ "$vid" == "$want_vid" && "$pid" == "$want_pid" ]] || continue
    cfg="$(cat "$dev/bConfigurationValue" 2>/dev/null)" || continue
    [[ -n "$cfg" ]] || continue
    bus="$(cat "$dev/busnum" 2>/dev/null)" && num="$(cat "$dev/devnum" 2>/dev/null)" || continue
    [[ -c "$(printf '/dev/bus/usb/%03d/%03d' "$bus" "$num")" ]] || continue
    echo "${dev##*/}"
  done | sort -V
}

# usb_seen: every USB device in sysfs and how far it got (for a timed-out wait).
usb_seen() {
  local dev out=()
  for dev in /sys/bus/usb/devices/*; do
    [[ -e "$dev" && "${dev##*/}" != *:* ]] || continue
    out+=("${dev##*/}=$(cat "$dev/idVendor" 2>/dev/null || echo '?'):$(cat "$dev/idProduct" 2>/dev/null || echo '?')$(
      [[ -n "$(cat "$dev/bConfigurationValue" 2>/dev/null)" ]] || echo '(unconfigured)')")
  done
  echo "${out[*]:-none}"
}

# wait_usb VID:PID COUNT [SECONDS]: waits (30 s by default) until COUNT devices
# with this id are ready (see usb_ready_ports); sets USB_PORTS to their bus ids
# in port order (QEMU numbers ports in -device order). On the deadline it says
# which devices it saw and how far each had got.
wait_usb() {
  local id="$1" count="$2" secs="${3:-30}"
  # (No process substitution: the guest's /dev has no /dev/fd.)
  _usb_count_ready() {
    local ready
    ready="$(usb_ready_ports "${id%%:*}" "${id##*:}")"
    USB_PORTS=()
    [[ -z "$ready" ]] || mapfile -t USB_PORTS <<<"$ready"
    (( ${#USB_PORTS[@]} >= count ))
  }
  if ! wait_until "$secs" "$count usb device(s) $id" _usb_count_ready; then
    echo "  ready: ${USB_PORTS[*]:-none}; on the bus: $(usb_seen)"
    return 1
  fi
  (( ${#USB_PORTS[@]} == count )) || {
    echo "expected $count usb device(s) $id, found ${#USB_PORTS[@]}: ${USB_PORTS[*]}"
    return 1
  }
}
