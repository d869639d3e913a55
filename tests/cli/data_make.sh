#!/usr/bin/env bash
# Make rules of the data stages, run with PARAMS/ART pointing into a temporary folder (the real
# params/ and artifacts/ are never touched): `make $ART/stats.json` runs fetch -> sort -> stats
# (-j2); a second run does nothing (make -q succeeds, make -n plans nothing, the fetch.url stamp
# is not rewritten); changing CIFAR_URL or editing data.json replans fetch, sort and stats; a
# failed fetch leaves the earlier artifacts as they were.
source "$(dirname "$0")/../lib.sh"
for b in "$BIN/fetch" "$BIN/sort" "$BIN/stats" "$TOOLS/mkarchive"; do
  [ -x "$b" ] || { skip data_make "$b not built"; finish; }
done
ART=$TMP/art
mkdir -p "$TMP/params"
"$TOOLS/mkarchive" --classes 4 "$TMP/a.tgz" && "$TOOLS/mkarchive" --classes 3 "$TMP/b.tgz" || { fail mkarchive; finish; }
printf '{"url": "file://%s"}\n' "$TMP/a.tgz" >"$TMP/params/data.json"
TARGET=$ART/stats.json

# A clean make: no settings inherited from an outer `make check` (MAKEFLAGS, CIFAR_URL).
M() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CIFAR_URL make -C "$ROOT" --no-print-directory \
        PARAMS="$TMP/params" ART="$ART" "$@"; }
# plan NAME EXPECTED ARGS...: the stages `make -n` would run (fetch/sort/stats, in order).
plan() {
  local name=$1 want=$2; shift 2
  local got; got=$(M -n "$@" "$TARGET" 2>&1 | sed -n "s|^${BUILD:-build}/bin/\([a-z]*\) .*|\1|p" | tr '\n' ' ')
  [ "$got" = "$want" ] && pass "$name" || fail "$name" "planned '$got', expected '$want'"
}

if M -j2 "$TARGET" >"$TMP/log1" 2>&1 && [ -f "$ART/data/train.safetensors" ] && [ -f "$ART/data/test.safetensors" ] &&
   [ -d "$ART/cifar10/train/cat" ] && cmp -s "$TMP/a.tgz" "$ART/cifar.tgz"; then
  pass "make -j2 stats.json runs fetch, sort, stats"
else fail "make -j2 stats.json" "$(tail -n 5 "$TMP/log1")"; finish; fi
grep -q '"count": 12}' "$ART/stats.json" && pass "stats from the params URL (12 images)" || fail "stats count" "$(cat "$ART/stats.json")"

stamp_before=$(stat -c %Y.%s "$ART/fetch.url")
sleep 1   # so a rewrite of the stamp would show in its mtime
M -q "$TARGET" && pass "no-op: make -q" || fail "no-op: make -q" "reports out of date"
out=$(M -s -n "$TARGET" 2>&1)
[ -z "$out" ] && pass "no-op: make -n plans nothing" || fail "no-op: make -n" "$out"
M "$TARGET" >/dev/null 2>&1
[ "$(stat -c %Y.%s "$ART/fetch.url")" = "$stamp_before" ] && pass "fetch.url not rewritten by a no-op run" ||
  fail "fetch.url not rewritten" "stamp changed"

# CIFAR_URL overrides the params URL: refetch, and then a no-op for the same CIFAR_URL.
plan "CIFAR_URL change replans the chain" "fetch sort stats " CIFAR_URL="file://$TMP/b.tgz"
M CIFAR_URL="file://$TMP/b.tgz" "$TARGET" >"$TMP/log2" 2>&1
cmp -s "$TMP/b.tgz" "$ART/cifar.tgz" && grep -q '"count": 9}' "$ART/stats.json" &&
  pass "CIFAR_URL fetched and sorted (9 images)" || fail "CIFAR_URL fetch" "$(tail -n 5 "$TMP/log2")"
M -q CIFAR_URL="file://$TMP/b.tgz" "$TARGET" && pass "no-op with the same CIFAR_URL" || fail "no-op with the same CIFAR_URL"
plan "dropping CIFAR_URL replans the chain" "fetch sort stats "
M "$TARGET" >/dev/null 2>&1 && cmp -s "$TMP/a.tgz" "$ART/cifar.tgz" && pass "back to the params URL" ||
  fail "back to the params URL"

# Editing data.json (even without changing the URL) refetches.
plan "no-op before the params edit" ""
sleep 1
printf '{"url": "file://%s" }\n' "$TMP/a.tgz" >"$TMP/params/data.json"
plan "data.json edit replans the chain" "fetch sort stats "
M "$TARGET" >/dev/null 2>&1 && M -q "$TARGET" && pass "rebuilt after the edit, then a no-op" || fail "rebuild after the edit"

# A failing fetch (missing file) fails make and keeps every earlier artifact.
before=$(cd "$ART" && find . -type f ! -name fetch.url | sort | xargs sha256sum | sha256sum)
if M CIFAR_URL="file://$TMP/missing.tgz" "$TARGET" >"$TMP/log3" 2>&1; then fail "failed fetch fails make" "make succeeded"
else grep -q "^fetch: file://$TMP/missing.tgz: cannot read local file" "$TMP/log3" && pass "failed fetch fails make" ||
       fail "failed fetch fails make" "$(cat "$TMP/log3")"; fi
after=$(cd "$ART" && find . -type f ! -name fetch.url | sort | xargs sha256sum | sha256sum)
[ "$before" = "$after" ] && pass "failed fetch keeps the artifacts" || fail "failed fetch keeps the artifacts" "changed"
no_leftovers "no temporary files" "$ART"

# Convenience targets exist.
M -s -n fetch sort stats >/dev/null 2>&1 && pass "phony fetch sort stats" || fail "phony fetch sort stats"
finish
