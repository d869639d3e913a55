#!/usr/bin/env bash
# Make reruns only what a code edit touches: each program depends on the archive members it links
# ($BUILD/bin/<prog>.ld.d) and each artifact on its stage's program. On the built tree, with an
# up-to-date quick pipeline in $TMP (stand-in artifacts touched in dependency order: `make -n`
# reads only timestamps), `make -n -W <file> report` is asked, for one file of each lib subsystem,
# which stage programs it relinks and which stages it reruns (and which it leaves alone).
# Also: two lib objects with the same basename stop the build with a clear error.
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
stages="fetch sort stats lrfind train evaluate report"
for b in $stages; do
  [ -x "${BUILD:-build}/bin/$b" ] || { skip build_plan "${BUILD:-build}/bin/$b not built"; finish; }
done
make -q all 2>/dev/null || { fail build_plan "the tree is not built (make all first)"; finish; }

A=$TMP/art R=$TMP/rep URL=file:///nonexistent/cifar-mini.tgz
MK=(make -n --no-print-directory PROFILE=quick ART="$A" REP="$R" CIFAR_URL="$URL")
archs=$(for f in models/*.json; do basename "$f" .json; done)

# The artifacts of `make report PROFILE=quick`, each newer than its inputs and its program.
mkdir -p "$A/data" "$R"
printf '%s\n' "$URL" > "$A/fetch.url"
touch "$A/cifar.tgz"
touch "$A/data/train.safetensors" "$A/data/test.safetensors"
touch "$A/stats.json"
for a in $archs; do touch "$A/$a.ckpt" "$A/$a.metrics.json" "$A/$a.summary.json" "$A/$a.lrfind.json"; done
for a in $archs; do touch "$A/$a.eval.json" "$A/$a.probs.safetensors"; done
touch "$R/index.html"

# relinked PLAN: the programs under $BUILD/bin the plan links; rerun PLAN: the stages it runs.
relinked() { printf '%s\n' "$1" | grep -oE -- "-o ${BUILD:-build}/bin/[a-z]+ " | sed "s#-o ${BUILD:-build}/bin/##; s/ \$//" | sort -u | xargs; }
rerun() { printf '%s\n' "$1" | grep -oE "^${BUILD:-build}/bin/[a-z]+" | sed "s#${BUILD:-build}/bin/##" | sort -u | xargs; }
sorted() { printf '%s\n' $1 | sort -u | xargs; }

plan=$("${MK[@]}" report 2>&1)
if [ -z "$(rerun "$plan")" ] && [ -z "$(relinked "$plan")" ]; then pass up_to_date_plans_nothing
else fail up_to_date_plans_nothing "$(echo $plan | head -c 400)"; finish; fi

# expect FILE "RELINKED" "RERUN" ["NOT RELINKED"]: with FILE edited, the plan relinks exactly
# RELINKED and reruns exactly RERUN; with a 4th argument, RELINKED is a lower bound and the plan
# must relink none of NOT RELINKED (for a header, whose includers other work may change).
expect() {
  local file=$1 want_link want_run got_link got_run name
  want_link=$(sorted "$2") want_run=$(sorted "$3")
  name=edit_$(echo "$file" | sed 's#^lib/##; s#[/.]#_#g')
  [ -e "$file" ] || { fail "$name" "$file does not exist"; return; }
  plan=$("${MK[@]}" -W "$file" report 2>&1)
  got_link=$(relinked "$plan") got_run=$(rerun "$plan")
  local ok=1 p
  if [ $# -ge 4 ]; then
    for p in $want_link; do [[ " $got_link " == *" $p "* ]] || ok=0; done
    for p in $4; do [[ " $got_link " == *" $p "* ]] && ok=0; done
  else
    [ "$got_link" = "$want_link" ] || ok=0
  fi
  [ "$got_run" = "$want_run" ] || ok=0
  if [ $ok -eq 1 ]; then pass "$name"
  else fail "$name" "relinks [$got_link] (want [$want_link]${4:+, none of [$4]}), reruns [$got_run] (want [$want_run])"; fi
}
training="lrfind train evaluate"
expect lib/core/errors.c         "$stages"                  "$stages"
expect lib/io/png_io.c           "sort report"              "sort stats $training report"
expect lib/data/norm_stats.c     "stats $training report"   "stats $training report"
expect lib/data/loader.c         "$training"                "$training report"
expect lib/ingest/decode.c       "sort"                     "sort stats $training report"
expect lib/nn/net.c              "$training"                "$training report"
expect lib/ops/conv2d.h          "$training"                "$training report"  "fetch sort stats"
expect lib/backend/cpu/conv2d.c  "$training"                "$training report"
expect lib/train/lr_finder.c     "lrfind"                   "lrfind report"
expect lib/eval/metrics.c        "evaluate"                 "evaluate report"
expect lib/report/html.c         "report"                   "report"

# A unit test relinks only when what it links changes.
plan=$(make -n --no-print-directory -W lib/report/html.c all 2>&1)
links=$(printf '%s\n' "$plan" | grep -oE -- "-o ${BUILD:-build}/(bin|tests)/[^ ]+" | sed 's/^-o //' | xargs)
[ "$links" = "${BUILD:-build}/bin/report" ] && pass report_edit_relinks_report_alone ||
  fail report_edit_relinks_report_alone "relinks: $links"

# Two lib objects with one basename cannot be told apart in the archive: the build says so.
T=$TMP/tree
mkdir -p "$T"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$T" && cp -a "${BUILD:-build}" "$T/"
printf '/* errors.c: a second errors.o in the archive */\nint dup_basename_probe;\n' > "$T/lib/eval/errors.c"
out=$(make -n -C "$T" --no-print-directory all 2>&1)
rc=$?
if [ $rc -ne 0 ] && printf '%s\n' "$out" | grep -q 'same basename.*lib/core/errors.o.*lib/eval/errors.o\|same basename.*lib/eval/errors.o.*lib/core/errors.o'
then pass duplicate_basename_refused; else fail duplicate_basename_refused "rc $rc: $(printf '%s\n' "$out" | tail -n 2)"; fi
finish
