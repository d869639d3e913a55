#!/usr/bin/env bash
# The data chain on the real ../shared/data/cifar-mini.tgz (3,000 + 1,000 images of CIFAR-10):
# fetch over file:// with the archive's sha256 from SHA256SUMS, sort, stats. Checks the counts,
# 300 / 100 class-folder images per class, tensor shapes and labels (Python, when available),
# and that the stats are plausible: within 0.01 of the full training set's published values.
source "$(dirname "$0")/../lib.sh"
for b in fetch sort stats; do [ -x "$BIN/$b" ] || { skip data_mini "${BUILD:-build}/bin/$b not built"; finish; }; done
[ -f "$MINI" ] || { skip data_mini "no $MINI"; finish; }
ART=$TMP/art
sum=$(awk '$2 == "cifar-mini.tgz" { print $1 }' "$SHARED_DATA/SHA256SUMS" 2>/dev/null)
[ -n "$sum" ] || sum=$(sha256sum "$MINI" | cut -c1-64)

if "$BIN/fetch" --url "file://$(realpath "$MINI")" --sha256 "$sum" --out "$ART/cifar.tgz" 2>"$TMP/err"; then
  pass "fetch file:// with sha256"
else fail "fetch file:// with sha256" "$(cat "$TMP/err")"; finish; fi
if "$BIN/sort" --archive "$ART/cifar.tgz" --out "$ART" >"$TMP/out" 2>"$TMP/err" && [ ! -s "$TMP/err" ]; then
  pass "sort (no warnings)"
else fail sort "$(cat "$TMP/err")"; finish; fi
"$BIN/stats" --data "$ART/data/train.safetensors" --out "$ART/stats.json" >/dev/null 2>"$TMP/err" ||
  { fail stats "$(cat "$TMP/err")"; finish; }

# Class folders: the ten CIFAR classes, 300 train and 100 test images each.
counts=$(for s in train test; do for d in "$ART/cifar10/$s"/*/; do
  printf '%s/%s=%s ' "$s" "$(basename "$d")" "$(find "$d" -name '*.png' | wc -l)"; done; done)
want=$(for s in train test; do n=$([ $s = train ] && echo 300 || echo 100)
  for c in airplane automobile bird cat deer dog frog horse ship truck; do printf '%s/%s=%s ' $s $c $n; done; done)
[ "$counts" = "$want" ] && pass "class folders: 10 x 300 train, 10 x 100 test" || fail "class folders" "$counts"

# stats.json: count 3000 and mean/std within 0.01 of the full set (0.4913 0.4821 0.4465 /
# 0.2452 0.2428 0.2606), parsed with awk so the check needs no Python.
read -r -a v < <(grep -oE -- '-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?' "$ART/stats.json" | tr '\n' ' ')
if [ "${#v[@]}" -eq 7 ] && [ "${v[6]}" = 3000 ] && awk -v m1="${v[0]}" -v m2="${v[1]}" -v m3="${v[2]}" \
     -v s1="${v[3]}" -v s2="${v[4]}" -v s3="${v[5]}" 'function off(a, b) { return a - b > 0.01 || b - a > 0.01 }
     BEGIN { exit off(m1, .4913) || off(m2, .4821) || off(m3, .4465) || off(s1, .2452) || off(s2, .2428) || off(s3, .2606) }'; then
  pass "stats plausible: $(cat "$ART/stats.json")"
else fail "stats plausible" "$(cat "$ART/stats.json")"; fi

PY=$ROOT/.venv/bin/python
if "$PY" -c 'import numpy, safetensors' 2>/dev/null; then
  problems=$("$PY" - "$ART" <<'PY'
import sys, numpy as np
from safetensors.numpy import load_file
art, bad = sys.argv[1], []
for split, n in (("train", 3000), ("test", 1000)):
    d = load_file(f"{art}/data/{split}.safetensors")
    img, lab = d["images"], d["labels"]
    if img.shape != (n, 32, 32, 3) or img.dtype != np.uint8: bad.append(f"{split} images {img.shape} {img.dtype}")
    if lab.shape != (n,) or lab.dtype != np.uint8 or lab.max() > 9: bad.append(f"{split} labels {lab.shape}")
    if list(np.bincount(lab, minlength=10)) != [n // 10] * 10: bad.append(f"{split} label counts {np.bincount(lab)}")
print("\n".join(bad))
PY
)
  [ -z "$problems" ] && pass "tensor shapes, dtypes and label counts" || fail "tensors" "$problems"
else
  skip "tensor shapes" "no .venv with numpy and safetensors (make deps)"
fi
if tar -xzf "$MINI" -O cifar/train/2_airplane.png | cmp -s - "$ART/cifar10/train/airplane/2.png"; then
  pass "class folder file equals the archive entry"
else fail "class folder file equals the archive entry" "cifar10/train/airplane/2.png"; fi
no_leftovers "no temporary files" "$ART"
finish
