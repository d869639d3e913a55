#!/usr/bin/env bash
# fetch over http:// (a python3 http.server on 127.0.0.1, random port, killed at the end) and
# file://, with and without sha256, and its one-line errors: HTTP 404, missing local file,
# checksum mismatch, unreachable host (a closed loopback port, retried with backoff), an
# unsupported scheme and strict params. A failed fetch leaves the old archive and no temporaries.
source "$(dirname "$0")/../lib.sh"
[ -x "$BIN/fetch" ] || { skip data_fetch "${BUILD:-build}/bin/fetch not built"; finish; }
command -v python3 >/dev/null || { skip data_fetch "no python3 for the local http server"; finish; }

SRV=$TMP/srv
mkdir -p "$SRV" "$TMP/out"
head -c 300000 /dev/urandom >"$SRV/a.tgz"
sum=$(sha256sum "$SRV/a.tgz" | cut -c1-64)

# Port 0: the server picks a free port and prints it; -u so the line is not buffered.
python3 -u -m http.server --bind 127.0.0.1 --directory "$SRV" 0 >"$TMP/srv.log" 2>&1 &
srv_pid=$!
trap 'kill "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; rm -rf "$TMP"' EXIT
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.* port \([0-9][0-9]*\).*/\1/p' "$TMP/srv.log" | head -n 1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { fail "http server" "did not start: $(cat "$TMP/srv.log")"; finish; }
URL=http://127.0.0.1:$port

# A free port with nothing listening on it: connections are refused.
closed=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

if "$BIN/fetch" --url "$URL/a.tgz" --sha256 "$sum" --out "$TMP/out/http.tgz" 2>"$TMP/err" &&
   cmp -s "$SRV/a.tgz" "$TMP/out/http.tgz"; then pass "http:// download with sha256"
else fail "http:// download with sha256" "$(cat "$TMP/err")"; fi

if "$BIN/fetch" --url "file://$SRV/a.tgz" --sha256 "${sum^^}" --out "$TMP/out/file.tgz" 2>"$TMP/err" &&
   cmp -s "$SRV/a.tgz" "$TMP/out/file.tgz"; then pass "file:// download, upper-case sha256"
else fail "file:// download" "$(cat "$TMP/err")"; fi

# params file: url and sha256 from JSON; --url overrides the url but keeps the sha256.
printf '{"url": "%s", "sha256": "%s"}\n' "$URL/a.tgz" "$sum" >"$TMP/data.json"
if "$BIN/fetch" --params "$TMP/data.json" --out "$TMP/out/p.tgz" 2>"$TMP/err" && cmp -s "$SRV/a.tgz" "$TMP/out/p.tgz" &&
   "$BIN/fetch" --params "$TMP/data.json" --url "file://$SRV/a.tgz" --out "$TMP/out/p2.tgz" 2>"$TMP/err" &&
   cmp -s "$SRV/a.tgz" "$TMP/out/p2.tgz"; then pass "params url and sha256, --url override"
else fail "params url and sha256" "$(cat "$TMP/err")"; fi

# Errors: one line each, nonzero exit, and the old artifact (p.tgz) untouched, nothing new.
old=$(sha256sum <"$TMP/out/p.tgz")
expect_error "404 over http" "^fetch: $URL/missing\.tgz: HTTP error 404$" \
  "$BIN/fetch" --url "$URL/missing.tgz" --out "$TMP/out/p.tgz"
expect_error "missing local file" "^fetch: file://$TMP/none\.tgz: cannot read local file: No such file" \
  "$BIN/fetch" --url "file://$TMP/none.tgz" --out "$TMP/out/p.tgz"
expect_error "checksum mismatch" "^fetch: $URL/a\.tgz: sha256 mismatch: expected 0{64}, got $sum$" \
  "$BIN/fetch" --url "$URL/a.tgz" --sha256 "$(printf '0%.0s' $(seq 64))" --out "$TMP/out/p.tgz"
expect_error "unreachable host, retried" \
  "^fetch: http://127\.0\.0\.1:$closed/a\.tgz: host unreachable .*\(gave up after 3 attempts\)$" \
  "$BIN/fetch" --url "http://127.0.0.1:$closed/a.tgz" --retries 2 --backoff 0.05 --out "$TMP/out/p.tgz"
expect_error "unsupported scheme" "^fetch: ftp://x/a\.tgz: unsupported URL" \
  "$BIN/fetch" --url ftp://x/a.tgz --out "$TMP/out/p.tgz"
printf '{"url": "%s", "sha": "x"}\n' "$URL/a.tgz" >"$TMP/bad1.json"
expect_error "params: unknown key" "^fetch: .*bad1\.json: sha: " "$BIN/fetch" --params "$TMP/bad1.json" --out "$TMP/out/p.tgz"
printf '{"url": "%s", "sha256": "abc"}\n' "$URL/a.tgz" >"$TMP/bad2.json"
expect_error "params: bad sha256" "^fetch: .*bad2\.json: sha256: must be 64 hex digits" \
  "$BIN/fetch" --params "$TMP/bad2.json" --out "$TMP/out/p.tgz"
printf '{"sha256": "%s"}\n' "$sum" >"$TMP/bad3.json"
expect_error "params: missing url" "^fetch: .*bad3\.json: url" "$BIN/fetch" --params "$TMP/bad3.json" --out "$TMP/out/p.tgz"
# A 404 is not retried: the server saw exactly one request for it.
n404=$(grep -c 'GET /missing.tgz' "$TMP/srv.log")
[ "$n404" = 1 ] && pass "404 not retried" || fail "404 not retried" "$n404 requests"

[ "$(sha256sum <"$TMP/out/p.tgz")" = "$old" ] && pass "failed fetches keep the old archive" ||
  fail "failed fetches keep the old archive" "p.tgz changed"
[ "$(ls "$TMP/out" | sort | tr '\n' ' ')" = "file.tgz http.tgz p.tgz p2.tgz " ] && pass "no new files" ||
  fail "no new files" "$(ls "$TMP/out")"
no_leftovers "no temporary files" "$TMP/out"
finish
