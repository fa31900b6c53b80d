DESCRIPTION="temporary: HDA line-in feed through ALSA file pcm, snd_hda_intel referee"
HDA=duplex
GUEST_MODULES="snd_hda_intel snd_hda_codec_generic"
TIMEOUT=200
prepare() {
  python3 - "$RESULTS/in.raw" <<'PY'
import sys, struct, random
r = random.Random(1)
n = 48000 * 2  # 2 s stereo frames
with open(sys.argv[1], "wb") as f:
    f.write(b"".join(struct.pack("<hh", r.randint(-32768, 32767), r.randint(-32768, 32767)) for _ in range(n)))
PY
  HDA_INPUT="$RESULTS/in.raw"
}
guest() {
  local i
  for ((i=0;i<100;i++)); do [[ -e /proc/asound/card0/pcm0c ]] && break; sleep 0.1; done
  cat /proc/asound/cards; ls /proc/asound/card0/
  arecord -D hw:0,0 -f S16_LE -c 2 -r 48000 -t raw -s 48000 "$RESULTS/cap.raw"
  aplay -D hw:0,0 -f S16_LE -c 2 -r 48000 -t raw "$RESULTS/in.raw"
  ls -la "$RESULTS"
}
check() {
  ls -la "$RESULTS"
  python3 - "$RESULTS" <<'PY'
import sys, os
d = sys.argv[1]
inp = open(d + "/in.raw", "rb").read()
cap = open(d + "/cap.raw", "rb").read()
out = open(d + "/hda-out.raw", "rb").read()
def find(hay, needle):
    i = hay.find(needle[:4096])
    return i
print("cap", len(cap), "nonzero", any(cap), "offset of in[0:4096] in cap:", cap.find(inp[:4096]), "cap[0:4096] in in:", inp.find(cap[4096*4:4096*5]))
print("out", len(out), "offset of in in out:", out.find(inp[:4096]), "full match:", inp in out)
PY
}
