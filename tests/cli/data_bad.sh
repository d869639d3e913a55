#!/usr/bin/env bash
# Bad archives: every refused variant of mkarchive makes sort exit nonzero with exactly one
# stderr line naming the entry (or the archive and the entry it broke after), and leaves no
# artifact and no temporary file. A refused archive leaves an earlier good output untouched.
source "$(dirname "$0")/../lib.sh"
for b in "$BIN/sort" "$BIN/stats" "$TOOLS/mkarchive"; do
  [ -x "$b" ] || { skip data_bad "$b not built"; finish; }
done

# refused VARIANT REGEX [TRAIN]: the archive has 4 classes, TRAIN (default 3) train images per
# class and 2 test ones. Truncated and corrupt archives are made large enough (> 128 KiB) to break
# in the middle of the stream, past libarchive's first reads.
refused() {
  local v=$1 re=$2 dir=$TMP/$1
  mkdir -p "$dir"
  "$TOOLS/mkarchive" --variant "$v" --train "${3:-3}" "$dir/cifar.tgz" || { fail "$v" mkarchive; return; }
  expect_error "refused: $v" "^sort: $re" "$BIN/sort" --archive "$dir/cifar.tgz" --out "$dir/out" || return
  local left; left=$(find "$dir/out" 2>/dev/null | head -n 3)
  [ -z "$left" ] && pass "$v: no artifact" || fail "$v: no artifact" "$left"
}

E='cifar/train/1_automobile\.png'
refused truncated     "(.*cifar\.tgz: after )?cifar/train/[0-9]+_[a-z]+\.png: truncated or corrupt archive" 100
refused corrupt       "(.*cifar\.tgz: after )?cifar/train/[0-9]+_[a-z]+\.png: truncated or corrupt archive" 100
refused symlink       "$E: symbolic link refused$"
refused hardlink      "$E: hard link refused$"
refused chardev       "$E: character device refused$"
refused fifo          "$E: fifo refused$"
refused absolute      "/$E: absolute path refused$"
refused dotdot        "cifar/train/\.\./\.\./1_automobile\.png: '\.\.' path component refused$"
refused duplicate     "cifar/train/1_bird\.png: duplicate index 1 \(also $E\)$"
refused unknown-class "cifar/train/1_zebra\.png: unknown class 'zebra'"
refused no-index      "cifar/train/cat\.png: name without an index"
refused no-labels     ".*cifar\.tgz: cifar/labels\.txt: missing from the archive$"
refused empty-split   ".*cifar\.tgz: cifar/test/: no images"
refused broken-png    "$E: broken PNG"
refused huge-png      "$E: PNG is 100000x100000, larger than the maximum 32x32$"
refused small-png     "$E: image is 16x16, expected 32x32$"
refused not-png       "$E: not a PNG"

# Not an archive at all, and a missing one.
printf 'plain text, not an archive\n' >"$TMP/text.tgz"
expect_error "refused: not an archive" "^sort: .*text\.tgz: " "$BIN/sort" --archive "$TMP/text.tgz" --out "$TMP/t-out"
expect_error "refused: missing archive" "^sort: .*nothing\.tgz: cannot open" "$BIN/sort" --archive "$TMP/nothing.tgz" --out "$TMP/t-out"
[ ! -e "$TMP/t-out" ] && pass "not an archive: no artifact" || fail "not an archive: no artifact" "$TMP/t-out exists"

# A refused archive leaves the previous good output as it was.
good=$TMP/good
mkdir -p "$good" && "$TOOLS/mkarchive" "$good/src.tgz"
"$BIN/sort" --archive "$good/src.tgz" --out "$good/out" >/dev/null 2>&1
before=$(cd "$good/out" && find . -type f | sort | xargs sha256sum | sha256sum)
"$BIN/sort" --archive "$TMP/broken-png/cifar.tgz" --out "$good/out" >/dev/null 2>&1
after=$(cd "$good/out" && find . -type f | sort | xargs sha256sum | sha256sum)
[ -n "$before" ] && [ "$before" = "$after" ] && pass "refusal keeps the previous output" ||
  fail "refusal keeps the previous output" "output changed"
no_leftovers "refusal: no temporary files" "$good/out"

# stats refuses an input that is not a safetensors file, writing nothing.
expect_error "stats: bad input" "^stats: .*text\.tgz: " "$BIN/stats" --data "$TMP/text.tgz" --out "$TMP/s/stats.json"
[ ! -e "$TMP/s/stats.json" ] && pass "stats: no artifact" || fail "stats: no artifact" "stats.json written"
finish
