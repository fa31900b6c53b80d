#!/usr/bin/env python3
"""png-colour.py FILE.png RRGGBB [TOLERANCE]: how many pixels of an 8-bit RGB or
RGBA PNG (non-interlaced, as Chromium's screenshots are) are within TOLERANCE
(default 24) of the colour on every channel. Standard library only."""
import struct
import sys
import zlib


def pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise SystemExit(f"{path}: want 8-bit RGB/RGBA, non-interlaced")
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        yield from (tuple(line[x:x + 3]) for x in range(0, stride, bpp))
        prev = line


def main():
    if len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__)
    want = bytes.fromhex(sys.argv[2])
    tol = int(sys.argv[3]) if len(sys.argv) == 4 else 24
    n = sum(1 for p in pixels(sys.argv[1]) if all(abs(p[i] - want[i]) <= tol for i in range(3)))
    print(n)


main()
