#!/usr/bin/env bash
# bench_peak_rss: tests/tools/peak_rss (the memory figures of `make bench`) reports a command's
# peak resident memory and passes its exit status through.
source "$(dirname "$0")/../lib.sh"
cd "$ROOT" || exit 1
tool=${BUILD:-build}/tests/tools/peak_rss
[ -x "$tool" ] || { fail peak_rss_built "$tool missing (run make)"; finish; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# A process that touches 200 MiB (bytes * n writes every page) must be reported as at least that.
"$tool" -o "$tmp/rss" -l big python3 -c 'b = b"\x01" * (200 << 20)'
"$tool" -o "$tmp/rss" -l small true
big=$(awk '$1 == "big" { print $2 }' "$tmp/rss"); small=$(awk '$1 == "small" { print $2 }' "$tmp/rss")
if [ -n "$big" ] && [ "$big" -ge $((200 * 1024)) ] && [ "$big" -lt $((400 * 1024)) ]; then
  pass peak_rss_counts_touched_memory
else fail peak_rss_counts_touched_memory "200 MiB touched, reported ${big:-nothing} KiB"; fi
[ -n "$small" ] && [ "$small" -lt $((100 * 1024)) ] && pass peak_rss_small_command_small \
  || fail peak_rss_small_command_small "true reported ${small:-nothing} KiB"

"$tool" -o "$tmp/rss" sh -c 'exit 3'; rc=$?
[ "$rc" -eq 3 ] && pass peak_rss_passes_exit_status || fail peak_rss_passes_exit_status "got $rc, want 3"
"$tool" -o "$tmp/rss" sh -c 'kill -TERM $$'; rc=$?
[ "$rc" -eq 143 ] && pass peak_rss_reports_signal || fail peak_rss_reports_signal "got $rc, want 143"
"$tool" -o "$tmp/rss" ./no-such-program 2>/dev/null; rc=$?
[ "$rc" -eq 127 ] && pass peak_rss_missing_command || fail peak_rss_missing_command "got $rc, want 127"
finish
