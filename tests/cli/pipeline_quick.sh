#!/usr/bin/env bash
# The whole pipeline as users run it: `make report PROFILE=quick` on ../shared/data/cifar-mini.tgz
# into temporary ART/REP/PARAMS folders (so the checkout's own artifacts are never touched):
# every stage runs, the page references only files that exist and are valid PNGs, every model
# is trained and evaluated (above chance for at least one; airbench94 with its own TTA and its
# triangle schedule chart), a second `make report` plans nothing, and after an edit of convnet's
# params `make -n report` plans only convnet's stages and the report. The first run uses -j2.
# Slow (trains every model briefly): set SKIP_PIPELINE=1 to skip it.
source "$(dirname "$0")/../lib.sh"
[ -z "${SKIP_PIPELINE:-}" ] || { skip pipeline_quick "SKIP_PIPELINE is set"; finish; }
[ -f "$MINI" ] || { skip pipeline_quick "no $MINI"; finish; }
command -v gnuplot >/dev/null || { skip pipeline_quick "gnuplot not installed"; finish; }
cd "$ROOT"
for b in fetch sort stats lrfind train evaluate report; do
  [ -x "${BUILD:-build}/bin/$b" ] || { skip pipeline_quick "${BUILD:-build}/bin/$b not built"; finish; }
done

# Work on copies of the quick params so the edit below never touches the checkout.
P=$TMP/params A=$TMP/art R=$TMP/rep
cp -r params/quick "$P"
MK=(make --no-print-directory PROFILE=quick PARAMS="$P" ART="$A" REP="$R" CIFAR_URL="file://$MINI")
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

# -j2 (one thread per stage, so two stages share the two cores): as safe as the serial plan.
if "${MK[@]}" -j2 THREADS=1 report >"$TMP/make.log" 2>&1; then pass make_report_quick
else fail make_report_quick "$(tail -n 5 "$TMP/make.log")"; finish; fi

check_page page_references_valid_pngs "$R"

n_models=$(ls models/*.json | wc -l)
n_eval=$(grep -c 'trained and evaluated</span></h2>' "$R/index.html")
[ "$n_eval" -eq "$n_models" ] && pass every_model_evaluated ||
  fail every_model_evaluated "$n_eval of $n_models trained and evaluated"
best=$(for f in "$A"/*.eval.json; do sed -n 's/^[[:space:]]*"tta_accuracy":[[:space:]]*\([0-9.e-]*\),$/\1/p' "$f"; done |
       sort -g | tail -n 1)
awk -v b="${best:-0}" 'BEGIN { exit !(b > 0.2) }' && pass some_model_learns ||
  fail some_model_learns "best TTA accuracy ${best:-none} (chance 0.1)"

# airbench94 is evaluated with its own eval params (params/quick/eval/airbench94.json: airbench's
# six fixed TTA views), and the page says so; the notebook's models keep fastai's TTA.
if grep -q '"tta":[[:space:]]*"flip_translate"' "$A/airbench94.eval.json" && ! grep -q '"tta":' "$A/convnet.eval.json" &&
   grep -q "airbench's 6 fixed views" "$R/index.html"; then pass airbench94_own_tta
else fail airbench94_own_tta "airbench94.eval.json lacks tta flip_translate, or convnet has it, or the page lacks the caption"; fi

# airbench94's own schedule chart: the page shows charts/airbench94_lr.png, drawn from the
# triangle (the lr rises from its first value to a peak inside the run, then falls).
if grep -q 'charts/airbench94_lr.png' "$R/index.html" && [ -f "$R/charts/airbench94_iter.dat" ] &&
   awk '!/^#/ { lr[n++] = $3 } END { m = 0; for (i = 1; i < n; i++) if (lr[i] > lr[m]) m = i
        exit !(n > 2 && m > 0 && m < n - 1) }' "$R/charts/airbench94_iter.dat"
then pass airbench94_schedule_chart
else fail airbench94_schedule_chart "no charts/airbench94_lr.png on the page, or its lr is not a triangle"; fi

# The plain accuracy of the evaluate stage equals the last validation accuracy of training (the
# same weights, statistics and clean images; only the batch split differs).
acc_eval=$(sed -n 's/^[[:space:]]*"accuracy":[[:space:]]*\([0-9.e-]*\),$/\1/p' "$A/convnet.eval.json")
acc_train=$(grep -o '"accuracy":[[:space:]]*[0-9.e-]*' "$A/convnet.metrics.json" | tail -n 1 | sed 's/.*:[[:space:]]*//')
awk -v a="$acc_eval" -v b="$acc_train" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && b != "" && d <= 0.002) }' &&
  pass eval_matches_training_accuracy || fail eval_matches_training_accuracy "evaluate $acc_eval, train $acc_train"

# Plans: only pipeline commands (lines running $BUILD/bin/<stage>), not compiler lines.
plan() { "${MK[@]}" -n report 2>&1 | grep -oE "^${BUILD:-build}/bin/[a-z]+( --model models/[a-z0-9]+)?" | sort -u; }
p=$(plan)
[ -z "$p" ] && pass noop_plans_nothing || fail noop_plans_nothing "$(echo $p)"

sed -i 's/"seed": 0/"seed": 1/' "$P/convnet.json"
p=$(plan | tr '\n' ' ')
b=${BUILD:-build}
want="$b/bin/evaluate --model models/convnet $b/bin/lrfind --model models/convnet $b/bin/report $b/bin/train --model models/convnet "
[ "$p" = "$want" ] && pass params_edit_plans_convnet_only || fail params_edit_plans_convnet_only "planned: $p"
no_leftovers pipeline_no_temporaries "$A"
finish
