# oss-nonblock: a program opens /dev/dsp with O_NONBLOCK, fills it until a
# write fails with EAGAIN, then waits in poll() for POLLOUT: the daemon's
# poll notification must wake it once a fragment has played, and the next
# write succeeds. The same with SNDCTL_DSP_NONBLOCK on a blocking open.
DESCRIPTION="OSS: O_NONBLOCK and SNDCTL_DSP_NONBLOCK writes get EAGAIN; poll() wakes when there is room"
hda_scenario

guest() {
  start_serve --period 1024 --periods 4
  python3 - <<'PY' | tee "$RESULTS/client.txt"
import errno, fcntl, os, select, struct, time
SETFMT, CHANNELS, SPEED, NONBLOCK = 0xc0045005, 0xc0045006, 0xc0045002, 0x500e
def setup(fd):
    for cmd, v in ((SETFMT, 0x10), (CHANNELS, 2), (SPEED, 48000)):
        fcntl.ioctl(fd, cmd, struct.pack("i", v))
def fill_then_poll(fd, label):
    chunk = b"\x01\x00" * 8192
    total = 0
    while True:
        try:
            total += os.write(fd, chunk)
        except BlockingIOError:
            print(label, "eagain after", total, "bytes")
            break
    p = select.poll()
    p.register(fd, select.POLLOUT)
    t = time.monotonic()
    ev = p.poll(5000)
    print(label, "woken", bool(ev and ev[0][1] & select.POLLOUT), "in", round((time.monotonic() - t) * 1000), "ms")
    print(label, "next write", os.write(fd, chunk[:4096]))
fd = os.open("/dev/dsp", os.O_WRONLY | os.O_NONBLOCK)
setup(fd)
fill_then_poll(fd, "o_nonblock")
os.close(fd)
fd = os.open("/dev/dsp", os.O_WRONLY)
setup(fd)
fcntl.ioctl(fd, NONBLOCK)
fill_then_poll(fd, "dsp_nonblock")
os.close(fd)
PY
  stop_serve
}

check() {
  local label
  for label in o_nonblock dsp_nonblock; do
    grep -Eq "^$label eagain after [1-9][0-9]* bytes$" "$RESULTS/client.txt" || { echo "$label: no EAGAIN"; cat "$RESULTS/client.txt"; return 1; }
    grep -Eq "^$label woken True in [0-9]+ ms$" "$RESULTS/client.txt" || { echo "$label: poll did not wake"; cat "$RESULTS/client.txt"; return 1; }
    grep -Eq "^$label next write 4096$" "$RESULTS/client.txt" || { echo "$label: the write after poll failed"; cat "$RESULTS/client.txt"; return 1; }
  done
  cat "$RESULTS/client.txt"
}
