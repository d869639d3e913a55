#!/usr/bin/env bash
# The data chain fetch (file://) -> sort -> stats on archives written by mkarchive: plain 8-bit RGB
# PNGs, and gray, palette, RGBA and mixed encodings that must be accepted and converted. Checked
# independently of the stages: the tensors against the pixels mkarchive generated (Python +
# numpy + safetensors), the class-folder PNGs by a small pure-Python PNG decoder, stats.json
# against numpy's mean/std of those pixels, and the index order and label list.
source "$(dirname "$0")/../lib.sh"
for b in "$BIN/fetch" "$BIN/sort" "$BIN/stats" "$TOOLS/mkarchive"; do
  [ -x "$b" ] || { skip data_chain "$b not built"; finish; }
done
PY=$ROOT/.venv/bin/python
have_py=1
"$PY" -c 'import numpy, safetensors' 2>/dev/null || have_py=0

# check.py ART EXPECT N_CLASSES: compares artifacts with the generated pixels; prints problems.
cat >"$TMP/check.py" <<'PY'
import json, os, struct, sys, zlib
import numpy as np
from safetensors import safe_open

art, exp, ncls = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"][:ncls]
bad = []

def png_rgb(path):
    """Minimal decoder for 8-bit RGB (colour type 2), non-interlaced PNGs."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "signature"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR": ihdr = struct.unpack(">IIBBBBB", body)
        if kind == b"IDAT": idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    assert (depth, ctype, interlace) == (8, 2, 0), "not plain 8-bit RGB: %r" % (ihdr,)
    raw, bpp, stride = zlib.decompress(idat), 3, w * 3
    out, prev = bytearray(), bytearray(stride)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + b) & 255
            elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += line; prev = line
    return np.frombuffer(bytes(out), np.uint8).reshape(h, w, 3)

for split in ["train", "test"]:
    want = np.fromfile(f"{exp}/{split}.u8", np.uint8).reshape(-1, 32, 32, 3)
    want_lab = np.fromfile(f"{exp}/{split}_labels.u8", np.uint8)
    path = f"{art}/data/{split}.safetensors"
    with safe_open(path, "np") as f:
        meta, img, lab = f.metadata(), f.get_tensor("images"), f.get_tensor("labels")
    if img.dtype != np.uint8 or img.shape != want.shape: bad.append(f"{split} images {img.dtype} {img.shape}")
    elif not (img == want).all(): bad.append(f"{split} images differ from the generated pixels")
    if lab.dtype != np.uint8 or not np.array_equal(lab, want_lab): bad.append(f"{split} labels differ")
    if meta != {"classes": ",".join(names), "split": split, "source": "cifar.tgz"}: bad.append(f"{split} metadata {meta}")
    for i in range(len(want)):
        p = f"{art}/cifar10/{split}/{names[want_lab[i]]}/{i}.png"
        try:
            if not (png_rgb(p) == want[i]).all(): bad.append(f"{p} pixels differ")
        except Exception as e:
            bad.append(f"{p}: {e}")
    files = sum(len(fs) for _, _, fs in os.walk(f"{art}/cifar10/{split}"))
    if files != len(want): bad.append(f"{split}: {files} class-folder files, expected {len(want)}")
    if sorted(os.listdir(f"{art}/cifar10/{split}")) != sorted(names): bad.append(f"{split} class folders")

px = np.fromfile(f"{exp}/train.u8", np.uint8).reshape(-1, 3).astype(np.float64) / 255
st = json.load(open(f"{art}/stats.json"))
n = len(np.fromfile(f"{exp}/train_labels.u8", np.uint8))
if sorted(st) != ["count", "mean", "std"] or st["count"] != n: bad.append(f"stats keys/count {st}")
elif np.abs(np.array(st["mean"]) - px.mean(0)).max() > 1e-8 or np.abs(np.array(st["std"]) - px.std(0)).max() > 1e-8:
    bad.append(f"stats {st} vs numpy mean {px.mean(0)} std {px.std(0)}")
print("\n".join(bad))
PY

# chain NAME VARIANT CLASSES TRAIN TEST: mkarchive -> fetch file:// -> sort -> stats, then checks.
chain() {
  local name=$1 variant=$2 classes=$3 train=$4 test=$5
  local dir=$TMP/$name
  mkdir -p "$dir"
  "$TOOLS/mkarchive" --variant "$variant" --expect "$dir/exp" --classes "$classes" --train "$train" \
    --test "$test" "$dir/src.tgz" || { fail "$name" mkarchive; return; }
  if ! "$BIN/fetch" --url "file://$dir/src.tgz" --out "$dir/art/cifar.tgz" 2>"$dir/err" ||
     ! "$BIN/sort" --archive "$dir/art/cifar.tgz" --out "$dir/art" >"$dir/out" 2>>"$dir/err" ||
     ! "$BIN/stats" --data "$dir/art/data/train.safetensors" --out "$dir/art/stats.json" >/dev/null 2>>"$dir/err"; then
    fail "$name" "chain failed: $(cat "$dir/err")"; return
  fi
  cmp -s "$dir/src.tgz" "$dir/art/cifar.tgz" || { fail "$name" "fetched archive differs"; return; }
  # The stray cifar/notes.txt is skipped with exactly one warning naming it.
  if [ "$(cat "$dir/err")" != "sort: cifar/notes.txt: warning: not part of the CIFAR layout, skipped" ]; then
    fail "$name" "unexpected stderr: $(cat "$dir/err")"; return
  fi
  no_leftovers "$name: no temporary files" "$dir/art"
  if [ "$have_py" = 0 ]; then
    # Without Python: sizes only (the image tensor alone is n*3072 bytes).
    local n; n=$(( $(stat -c %s "$dir/exp/train.u8") ))
    [ "$(stat -c %s "$dir/art/data/train.safetensors")" -gt "$n" ] && pass "$name: tensor size" || fail "$name" size
    return
  fi
  local problems; problems=$("$PY" "$TMP/check.py" "$dir/art" "$dir/exp" "$classes" 2>&1 | head -n 5)
  if [ -z "$problems" ]; then pass "$name: tensors, labels, class folders and stats match"
  else fail "$name" "$problems"; fi
}
[ "$have_py" = 1 ] || skip "data_chain python checks" "no .venv with numpy and safetensors (make deps)"

chain rgb valid 4 3 2
chain gray gray 3 2 2
chain palette palette 3 2 2
chain alpha alpha 3 2 2
chain mixed mixed 10 4 2

# Plain RGB PNGs are copied into the class folders byte for byte.
if tar -xzf "$TMP/rgb/src.tgz" -O cifar/train/5_automobile.png | cmp -s - "$TMP/rgb/art/cifar10/train/automobile/5.png"; then
  pass "plain RGB PNG copied unchanged"
else fail "plain RGB PNG copied unchanged" "cifar10/train/automobile/5.png differs from the archive entry"; fi

# Deterministic: a second sort of the same archive gives identical tensor bytes.
"$BIN/sort" --archive "$TMP/mixed/art/cifar.tgz" --out "$TMP/again" >/dev/null 2>&1
if cmp -s "$TMP/mixed/art/data/train.safetensors" "$TMP/again/data/train.safetensors" &&
   cmp -s "$TMP/mixed/art/data/test.safetensors" "$TMP/again/data/test.safetensors"; then
  pass "sort output is deterministic"
else fail "sort output is deterministic" "tensor files differ between two runs"; fi

# Re-sorting into an existing output replaces the class-folder tree whole (no stale files).
touch "$TMP/again/cifar10/train/stale.png"
"$BIN/sort" --archive "$TMP/rgb/art/cifar.tgz" --out "$TMP/again" >/dev/null 2>&1
if [ ! -e "$TMP/again/cifar10/train/stale.png" ] && [ ! -d "$TMP/again/cifar10/train/frog" ]; then
  pass "class-folder tree replaced whole"
else fail "class-folder tree replaced whole" "old files survived"; fi
finish
