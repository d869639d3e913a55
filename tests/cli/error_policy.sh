#!/usr/bin/env bash
# Error policy (core/errors.h): library code returns C_ERR after one err_msg line; only stages/
# end the process. Fails, naming file:line, on any call in lib/ of err_die, err_exit, CHECK_OK,
# exit or abort (comments and string literals are ignored). Allowed: core/errors.[ch] themselves
# (err_die/err_exit and the x* allocation helpers that exit on out-of-memory, the documented
# exception), and _exit, which a forked child uses (the report's gnuplot runner).
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"

if ! command -v perl >/dev/null; then
  skip lib_never_exits "perl not found"
  finish
fi

# scan FILE...: prints `file:line: name` for each call that would end the process.
scan() {
  perl -e '
    for my $f (@ARGV) {
      open my $fh, "<", $f or die "$f: $!";
      local $/; my $s = <$fh>; close $fh;
      # blank out comments and literals, keeping newlines so the line numbers stay right
      $s =~ s{(/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\x27(?:\\.|[^\x27\\\n])*\x27)}
             { my $m = $1; $m =~ s/[^\n]/ /g; $m }gse;
      my $n = 0;
      for my $line (split /\n/, $s, -1) {
        $n++;
        print "$f:$n: $1\n" while $line =~ /\b(err_die|err_exit|CHECK_OK|exit|abort)\s*\(/g;
      }
    }' "$@"
}

# The check itself: it must see a call, and nothing in a comment, a string, _exit or atexit.
probe=$TMP/probe.c
printf '%s\n' '/* exit(1) in a comment */' \
  'static void f(void) { puts("abort()"); if (fork() == 0) _exit(3); atexit(g); char c = '"'('"'; }' \
  'static void h(void) { err_die(NULL, "x"); }' >"$probe"
hits=$(scan "$probe")
if [ "$hits" = "$probe:3: err_die" ]; then pass check_finds_calls_only
else fail check_finds_calls_only "expected only $probe:3: err_die, got: $hits"; fi

mapfile -t files < <(find lib -type f \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) \
                       ! -path lib/core/errors.c ! -path lib/core/errors.h | sort)
if [ "${#files[@]}" -eq 0 ]; then
  fail lib_never_exits "no sources found under lib/"
else
  offending=$(scan "${files[@]}")
  if [ -n "$offending" ]; then
    # on the FAIL line itself, since tests/run shows only that line
    fail lib_never_exits "$(printf '%s\n' "$offending" | wc -l) calls in lib/ end the process: $(printf '%s\n' "$offending" | paste -sd';' | sed 's/;/; /g')"
  else
    pass lib_never_exits
  fi
fi
finish
