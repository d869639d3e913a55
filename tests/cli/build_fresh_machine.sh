#!/usr/bin/env bash
# A fresh machine: plain `make` without the Debian packages of scripts/deps.sh stops before
# compiling anything, with one line naming the missing packages and `make deps`. A missing package
# is simulated with DEPS_EXTRA (a name no machine has), which scripts/deps.sh adds to its list.
# `make deps`, `make clean` and NO_DEPS_CHECK=1 are never blocked; a passed check is remembered.
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
command -v dpkg-query >/dev/null || { skip build_fresh_machine "not Debian (no dpkg-query): nothing is checked"; finish; }
NOPKG=cifar-no-such-package-$$

expect_error check_names_missing_package "^deps: missing Debian packages: (.* )?$NOPKG; run \`make deps\`" \
  bash -c "DEPS_EXTRA=$NOPKG scripts/deps.sh --check >&2"

# Plain make: exactly one line (make's own "*** ... Stop." around the message), nonzero, no compiler run.
out=$(make --no-print-directory DEPS_EXTRA="$NOPKG" DEPS_STAMP="$TMP/deps.ok" all 2>&1); rc=$?
if [ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$out" | grep -c .)" -eq 1 ] &&
   printf '%s\n' "$out" | grep -q "\*\*\* deps: missing Debian packages: .*$NOPKG; run \`make deps\` to install them"; then
  pass make_stops_with_one_line
else fail make_stops_with_one_line "rc $rc: $out"; fi
[ ! -e "$TMP/deps.ok" ] && pass failed_check_not_remembered || fail failed_check_not_remembered "stamp written"

for goal in deps clean distclean; do
  if out=$(make -n --no-print-directory DEPS_EXTRA="$NOPKG" "$goal" 2>&1) && ! printf '%s' "$out" | grep -q 'missing Debian'
  then pass "make_${goal}_not_blocked"; else fail "make_${goal}_not_blocked" "$out"; fi
done
if out=$(make -n --no-print-directory DEPS_EXTRA="$NOPKG" NO_DEPS_CHECK=1 all 2>&1); then pass no_deps_check_skips
else fail no_deps_check_skips "$out"; fi

# Where the packages are present, the check passes and its stamp saves the next make from it.
if scripts/deps.sh --check >/dev/null; then
  make -q --no-print-directory DEPS_STAMP="$TMP/deps.ok" all >/dev/null 2>&1
  [ -e "$TMP/deps.ok" ] && [ "$TMP/deps.ok" -nt scripts/deps.sh ] && pass passed_check_remembered ||
    fail passed_check_remembered "no $TMP/deps.ok after a passing check"
else skip passed_check_remembered "packages missing here: $(scripts/deps.sh --check)"; fi
finish
