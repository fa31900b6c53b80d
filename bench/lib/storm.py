"""storm.py SECONDS SEED PAUSE_MS NODE...: one hostile client. Until SECONDS have
passed, or it is killed (SIGTERM's default action: the test is that it dies
at once, whatever call it is in), it opens a random node of NODE... (any access
mode, O_NONBLOCK or not) and throws at it random ioctls (OSS 'P', 'M' and 'X'
groups, ALSA 'A', 'U' and 'T' groups, and any number at all) with random
argument bytes, random-size writes and reads, polls and closes. It keeps at
most two files open and never waits long itself (every call it makes on a
blocking file ends within the daemon's own limits). Prints what it did so
far, by call and outcome, every 2 s and when it ends. PAUSE_MS: a pause
between calls, on average (0: none). Writes to the shared mixer state (the OSS
mixer's WRITE ioctls, ALSA's ELEM_WRITE, TLV writes) are left out so that the
well-behaved client beside the storm can be checked bit for bit; any other
ioctl on any node is fair game."""
import collections
import errno
import fcntl
import os
import random
import select
import sys
import time

seconds, seed, pause, nodes = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000, sys.argv[4:]
rng = random.Random(seed)
counts = collections.Counter()
BUF = bytearray(16384)  # as big as any _IOC size: the kernel never writes past it


def ioc(direction, kind, nr, size):
    return (direction << 30) | (size << 16) | (ord(kind) << 8) | nr


def is_shared_write(node, cmd):
    kind, nr, direction = (cmd >> 8) & 0xFF, cmd & 0xFF, cmd >> 30
    if kind in (ord("X"), ord("f"), ord("$")) and nr >= 0x70:
        return True  # the VFS's own (FIFREEZE, FITRIM...): not the daemon's to judge
    if node.endswith("mixer") and kind == ord("M") and direction & 1:
        return True  # SOUND_MIXER_WRITE_*
    if node.endswith("mixer") or "control" in node:
        if kind == ord("X") and direction & 1:
            return True  # OSS 4 SNDCTL_MIX_WRITE and friends
        if kind == ord("U") and nr in (0x13, 0x1A, 0x1C, 0x17, 0x18, 0x19):
            return True  # ELEM_WRITE, TLV_WRITE/COMMAND, ELEM_ADD/REPLACE/REMOVE
    return False


def random_ioctl(fd, node):
    while True:
        if rng.random() < 0.2:
            cmd = rng.getrandbits(32)
        else:
            cmd = ioc(rng.randrange(4), rng.choice("PMXAUT"), rng.randrange(0x40), rng.choice([0, 4, 8, 16, 24, 32, 64, 88, 104, 144, 200, 256, 608, 1024, rng.randrange(16384)]))
        if not is_shared_write(node, cmd):
            break
    size = rng.randrange(len(BUF))
    BUF[:size] = rng.randbytes(size)
    try:
        fcntl.ioctl(fd, cmd, BUF, True)
        counts["ioctl ok"] += 1
    except OSError as e:
        counts["ioctl " + errno.errorcode.get(e.errno, str(e.errno))] += 1


def one_call(fd, node):
    what = rng.random()
    try:
        if what < 0.55:
            random_ioctl(fd, node)
        elif what < 0.75:
            n = os.write(fd, rng.randbytes(rng.choice([1, 3, 4, 100, 4096, 65536, rng.randrange(200000)])))
            counts["write ok"] += 1 if n >= 0 else 0
        elif what < 0.9:
            os.read(fd, rng.choice([1, 4, 4096, rng.randrange(100000)]))
            counts["read ok"] += 1
        else:
            p = select.poll()
            p.register(fd, rng.choice([select.POLLIN, select.POLLOUT, select.POLLIN | select.POLLOUT]))
            p.poll(rng.randrange(50))
            counts["poll"] += 1
    except OSError as e:
        counts[("write " if 0.55 <= what < 0.75 else "read " if what < 0.9 else "poll ") + errno.errorcode.get(e.errno, str(e.errno))] += 1


def report(what):
    print("storm", seed, what + ":", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), flush=True)


def main():
    end = time.monotonic() + seconds
    files = []
    said = time.monotonic()
    while time.monotonic() < end:
        if time.monotonic() - said > 2:
            report("so far")
            said = time.monotonic()
        if len(files) < 2 and (not files or rng.random() < 0.3):
            node = rng.choice(nodes)
            flags = rng.choice([os.O_RDONLY, os.O_WRONLY, os.O_RDWR]) | (os.O_NONBLOCK if rng.random() < 0.6 else 0)
            try:
                files.append((os.open(node, flags), node))
                counts["open ok"] += 1
            except OSError as e:
                counts["open " + errno.errorcode.get(e.errno, str(e.errno))] += 1
            continue
        if rng.random() < 0.08:
            fd, _ = files.pop(rng.randrange(len(files)))
            t = time.monotonic()
            os.close(fd)
            counts["close"] += 1
            counts["close over 2 s"] += time.monotonic() - t > 2
            continue
        fd, node = rng.choice(files)
        one_call(fd, node)
        if pause:
            time.sleep(rng.random() * 2 * pause)
    for fd, _ in files:
        os.close(fd)
    report("done")


main()
