#!/usr/bin/env bash
# Architectures are data: a user who adds models/foonet.json and params/foonet.json (and
# params/quick/foonet.json for PROFILE=quick) gets it trained, evaluated and shown by `make report`,
# with no list to edit. Done in a temporary copy of the tree (tracked files plus the build tree, so nothing
# is rebuilt) with convnet's model and params copied under the new name: the copy learns exactly
# what convnet learns. To keep it short the copy keeps only convnet of the other models (their
# model and params files removed), which checks the other direction too: a model file removed is
# a model gone from the page. Slow (a quick pipeline of two models): SKIP_PIPELINE=1 skips it.
source "$(dirname "$0")/../lib.sh"
[ -z "${SKIP_PIPELINE:-}" ] || { skip new_model "SKIP_PIPELINE is set"; finish; }
[ -f "$MINI" ] || { skip new_model "no $MINI"; finish; }
command -v gnuplot >/dev/null || { skip new_model "gnuplot not installed"; finish; }
cd "$ROOT"
make -q all 2>/dev/null || { fail new_model "the tree is not built (make all first)"; finish; }

T=$TMP/tree
mkdir -p "$T"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$T" && cp -a "${BUILD:-build}" "$T/" ||
  { fail copy_tree "could not copy the tree"; finish; }
cd "$T"
for f in models/*.json; do
  a=$(basename "$f" .json)
  [ "$a" = convnet ] || rm -f "models/$a.json" "params/$a.json" "params/quick/$a.json"
done
sed 's/"arch": "convnet"/"arch": "foonet"/' models/convnet.json > models/foonet.json
cp params/convnet.json params/foonet.json
cp params/quick/convnet.json params/quick/foonet.json
grep -q '"arch": "foonet"' models/foonet.json && pass model_file_copied || fail model_file_copied "no arch field replaced"

out=$(make --no-print-directory summary ARCH=foonet 2>&1)
printf '%s\n' "$out" | grep -q '^foonet ' && printf '%s\n' "$out" | grep -q '^total params: 37490$' &&
  pass summary_checks_new_model || fail summary_checks_new_model "$out"

export OMP_NUM_THREADS=2
MK=(make --no-print-directory PROFILE=quick CIFAR_URL="file://$MINI" THREADS=2)
if "${MK[@]}" report >"$TMP/make.log" 2>&1; then pass make_report_with_new_model
else fail make_report_with_new_model "$(tail -n 5 "$TMP/make.log")"; finish; fi

A=artifacts/quick R=reports/quick
for f in foonet.ckpt foonet.metrics.json foonet.summary.json foonet.lrfind.json foonet.eval.json foonet.probs.safetensors; do
  [ -s "$A/$f" ] || { fail new_model_artifacts "no $A/$f"; break; }
done && pass new_model_artifacts
grep -q '"arch":[[:space:]]*"foonet"' "$A/foonet.eval.json" && pass new_model_evaluated || fail new_model_evaluated "$(head -c 200 "$A/foonet.eval.json")"

section=$(sed -n '/<section id="arch-foonet">/,/<\/section>/p' "$R/index.html")
printf '%s\n' "$section" | grep -q 'trained and evaluated</span></h2>' && pass new_model_shown ||
  fail new_model_shown "no trained-and-evaluated section for foonet in $R/index.html"
grep -q '<a href="#arch-foonet">foonet</a>' "$R/index.html" && pass new_model_in_navigation ||
  fail new_model_in_navigation "foonet not in the page's navigation"
check_page page_references_valid_pngs "$R"
sections=$(grep -o '<section id="arch-[^"]*"' "$R/index.html" | sed 's/.*arch-//; s/"$//' | sort | xargs)
[ "$sections" = "convnet foonet" ] && pass page_shows_the_model_files || fail page_shows_the_model_files "sections: $sections"

# The same layers, params, data and threads as convnet: the same accuracies.
acc() { grep -o "\"$2\":[[:space:]]*[0-9.e-]*" "$A/$1.eval.json" | head -n 1 | sed 's/.*:[[:space:]]*//'; }
[ -n "$(acc convnet tta_accuracy)" ] && [ "$(acc foonet tta_accuracy)" = "$(acc convnet tta_accuracy)" ] &&
  [ "$(acc foonet log_loss)" = "$(acc convnet log_loss)" ] && pass copy_learns_like_convnet ||
  fail copy_learns_like_convnet "foonet $(acc foonet tta_accuracy), convnet $(acc convnet tta_accuracy)"

p=$("${MK[@]}" -n report 2>&1 | grep -E "^${BUILD:-build}/bin/" | head -n 3)
[ -z "$p" ] && pass second_report_plans_nothing || fail second_report_plans_nothing "$p"
finish
