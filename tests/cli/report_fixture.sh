#!/usr/bin/env bash
# The report stage on fixture artifacts written here (random images, plausible JSON): the page
# references only files that exist and are valid PNGs, nothing external; trained, evaluated,
# half-done and untrained models are each shown for what they are; the lr-finder data skips
# fastai's first 10 and last 5 points; a corrupt or mistyped metrics/eval file, a missing
# stats.json and a missing gnuplot each give one error line naming the culprit and leave the
# previous report untouched with no temporary files.
source "$(dirname "$0")/../lib.sh"
[ -x "$BIN/report" ] || { skip report_fixture "${BUILD:-build}/bin/report not built"; finish; }
command -v gnuplot >/dev/null || { skip report_fixture "gnuplot not installed"; finish; }
cd "$ROOT"   # the report reads models/ for the list of architectures

# make_data FILE N SPLIT: a data/*.safetensors with N random 32x32 images, labels i % 10.
make_data() {
  local file=$1 n=$2 split=$3 hdr len pad
  local nimg=$((n * 3072))
  hdr="{\"__metadata__\":{\"classes\":\"airplane,automobile,bird,cat,deer,dog,frog,horse,ship,truck\",\"split\":\"$split\",\"source\":\"fixture\"},\"images\":{\"dtype\":\"U8\",\"shape\":[$n,32,32,3],\"data_offsets\":[0,$nimg]},\"labels\":{\"dtype\":\"U8\",\"shape\":[$n],\"data_offsets\":[$nimg,$((nimg + n))]}}"
  while [ $(( ${#hdr} % 8 )) -ne 0 ]; do hdr="$hdr "; done
  len=${#hdr}
  mkdir -p "$(dirname "$file")"
  {
    printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((len & 255)) $(((len >> 8) & 255)) $(((len >> 16) & 255)) $(((len >> 24) & 255)))\\x00\\x00\\x00\\x00"
    printf '%s' "$hdr"
    head -c "$nimg" /dev/urandom
    local i=0
    while [ $i -lt "$n" ]; do printf "\\x0$((i % 10))"; i=$((i + 1)); done
  } > "$file"
}

# make_arch DIR ARCH EPOCHS ACC [eval]: plausible summary/lrfind/metrics(/eval) JSON for ARCH.
make_arch() {
  local dir=$1 arch=$2 ne=$3 acc=$4 with_eval=${5:-}
  cat > "$dir/$arch.summary.json" <<JSON
{"arch": "$arch", "input": [-1, 3, 32, 32], "total_params": 37490,
 "modules": [{"name": "layers.0", "type": "Conv2d", "input_shape": [-1,3,32,32], "output_shape": [-1,20,15,15], "params": 560},
             {"name": "layers.1", "type": "Conv2d", "input_shape": [-1,20,15,15], "output_shape": [-1,40,7,7], "params": 7240},
             {"name": "out", "type": "Linear", "input_shape": [-1,80], "output_shape": [-1,10], "params": 810}]}
JSON
  awk -v arch="$arch" 'BEGIN {
    n = 120; printf "{\"arch\": \"%s\", \"start_lr\": 1e-5, \"end_lr\": 10, \"iterations\": 196, \"stopped_early\": true,\n \"lr\": [", arch;
    for (i = 0; i < n; i++) printf "%s%.6g", i ? ", " : "", 1e-5 * 1.0730309 ^ i;
    printf "],\n \"loss\": [";
    for (i = 0; i < n; i++) { x = log(1e-5 * 1.0730309 ^ i) / log(10); printf "%s%.6g", i ? ", " : "", 2.3 - 0.9 / (1 + exp(-(x + 3) * 2)) + (x > -0.5 ? (x + 0.5) ^ 2 * 3 : 0) }
    printf "]}\n" }' > "$dir/$arch.lrfind.json"
  awk -v arch="$arch" -v ne="$ne" -v acc="$acc" 'BEGIN {
    B = 12; printf "{\"arch\": \"%s\", \"device\": \"cpu\", \"seed\": 0, \"batches_per_epoch\": %d, \"train_seconds\": %.1f,\n \"epochs\": [", arch, B, ne * 21.5;
    for (e = 0; e < ne; e++) { a = acc * (1 - 0.5 ^ (e + 1)); printf "%s\n  {\"phase\": %d, \"epoch\": %d, \"trn_loss\": %.4f, \"val_loss\": %.4f, \"accuracy\": %.4f, \"seconds\": 21.5}", e ? "," : "", e < 2 ? 0 : 1, e, 2.2 - e * 0.15, 2.1 - e * 0.12, a }
    printf "],\n \"iterations\": {\"lr\": [";
    for (t = 0; t < ne * B; t++) printf "%s%.6g", t ? ", " : "", t < 2 * B ? 0.1 : 0.05 * (1 + cos(3.14159265 * ((t - 2 * B) % B) / B));
    printf "], \"loss\": [";
    for (t = 0; t < ne * B; t++) printf "%s%.4f", t ? ", " : "", 2.3 - t * 0.01 + (t % 3) * 0.05;
    printf "]}}\n" }' > "$dir/$arch.metrics.json"
  [ -n "$with_eval" ] || return 0
  awk -v arch="$arch" -v acc="$acc" 'BEGIN {
    printf "{\"arch\": \"%s\", \"n_aug\": 4, \"count\": 1000, \"accuracy\": %.4f, \"log_loss\": 1.1, \"tta_accuracy\": %.4f, \"tta_log_loss\": 1.05,\n", arch, acc, acc + 0.02;
    printf " \"classes\": [\"airplane\",\"automobile\",\"bird\",\"cat\",\"deer\",\"dog\",\"frog\",\"horse\",\"ship\",\"truck\"],\n \"per_class\": [";
    for (i = 0; i < 10; i++) printf "%s%.3f", i ? ", " : "", acc - 0.1 + i * 0.02;
    printf "], \"tta_per_class\": [";
    for (i = 0; i < 10; i++) printf "%s%.3f", i ? ", " : "", acc - 0.08 + i * 0.02;
    printf "],\n \"confusion\": [";
    for (i = 0; i < 10; i++) { printf "%s[", i ? ", " : ""; for (j = 0; j < 10; j++) printf "%s%d", j ? "," : "", i == j ? int(100 * acc) : (j == (i + 1) % 10 ? 100 - int(100 * acc) : 0); printf "]" }
    printf "]}\n" }' > "$dir/$arch.eval.json"
}


A=$TMP/art R=$TMP/rep
make_data "$A/data/train.safetensors" 60 train
make_data "$A/data/test.safetensors" 30 test
echo '{"mean": [0.49, 0.48, 0.45], "std": [0.245, 0.243, 0.26], "count": 61440}' > "$A/stats.json"
make_arch "$A" convnet 6 0.6 eval        # trained and evaluated
make_arch "$A" simplenet 4 0.45 eval
make_arch "$A" resnet 5 0.7              # trained, not evaluated
# convnet2: only its lr finder has run; the other four archs have nothing at all
make_arch "$TMP" convnet2 2 0.5 && mv "$TMP/convnet2.lrfind.json" "$A/"

if "$BIN/report" --art "$A" --out "$R" >"$TMP/out" 2>"$TMP/err"; then pass report_runs
else fail report_runs "$(cat "$TMP/err")"; finish; fi
[ ! -s "$TMP/err" ] && pass report_quiet || fail report_quiet "stderr: $(head -c 300 "$TMP/err")"
check_page page_references_valid_pngs "$R"

# Every chart that should exist does; none for what has not run.
want="compare_bars.png compare_val_accuracy.png convnet_lrfind.png convnet_loss.png convnet_accuracy.png
      convnet_lr.png convnet_confusion.png convnet_perclass.png resnet_loss.png convnet2_lrfind.png
      samples_0.png samples_9.png augment_0.png augment_4.png"
miss=""
for f in $want; do [ -f "$R/charts/$f" ] || miss="$miss $f"; done
[ -z "$miss" ] && pass charts_present || fail charts_present "missing:$miss"
extra=$(cd "$R/charts" && ls resnet_confusion.png convnet2_loss.png resnet2_* 2>/dev/null)
[ -z "$extra" ] && pass no_charts_for_missing_data || fail no_charts_for_missing_data "$extra"

# The models shown are every models/*.json, smallest first (parameter count, then name).
want_order=$(for f in models/*.json; do
  printf '%s %s\n' "$("$BIN/summary" "$f" | sed -n 's/^total params: //p')" "$(basename "$f" .json)"
done | LC_ALL=C sort -k1,1n -k2,2 | awk '{ printf "%s ", $2 }')
order=$(grep -o '<section id="arch-[^"]*"' "$R/index.html" | sed 's/.*arch-//; s/"$//' | awk '{ printf "%s ", $1 }')
[ -n "$order" ] && [ "$order" = "$want_order" ] && pass models_smallest_first ||
  fail models_smallest_first "page order: $order expected: $want_order"
expect_error unknown_arch_named 'report: models/nosuchnet\.json: cannot open' "$BIN/report" --art "$A" --out "$TMP/rep-unknown" nosuchnet

# Status of each model, read from its section of the page.
section() { sed -n "/<section id=\"arch-$1\">/,/<\/section>/p" "$R/index.html"; }
section resnet2 | grep -q 'not trained yet' && section convnet2 | grep -q 'not trained yet' &&
  section resnet | grep -q 'trained, not evaluated yet' && section convnet | grep -q 'trained and evaluated' &&
  pass model_status_shown || fail model_status_shown "status badges wrong"
section convnet | grep -q '60.00%' && section convnet | grep -q '62.00%' && pass tta_numbers_shown ||
  fail tta_numbers_shown "plain 60.00% / TTA 62.00% not in convnet's section"
grep -q '0.4914' "$R/index.html" && grep -q '0.2616' "$R/index.html" && grep -q '0.4900' "$R/index.html" &&
  pass published_stats_beside_computed || fail published_stats_beside_computed "stats table"
# Images per class: the fixture has 6 train and 3 test images of each class.
grep -q '<tr><td class="l">truck</td><td>9</td><td>6</td><td>3</td></tr>' "$R/index.html" &&
  pass images_per_class || fail images_per_class "truck row"

# lr finder: 120 recorded points, fastai plots [10:-5] = 105 of them.
rows=$(grep -vc '^#' "$R/charts/convnet_lrfind.dat")
[ "$rows" -eq 105 ] && pass lrfind_skips_10_and_5 || fail lrfind_skips_10_and_5 "$rows rows"
! grep -qiE '<script|<link|@import|url\(' "$R/index.html" && pass static_page || fail static_page "external resource"
no_leftovers report_no_temporaries "$TMP"

# Same inputs, same page.
cp "$R/index.html" "$TMP/index.first"
"$BIN/report" --art "$A" --out "$R" 2>/dev/null && cmp -s "$R/index.html" "$TMP/index.first" &&
  pass report_deterministic || fail report_deterministic "second run differs"

# Bad inputs: one line naming the file, previous report untouched, nothing temporary left.
cp "$A/convnet.metrics.json" "$TMP/good.metrics.json"
printf '{"arch": "convnet", "epochs": [' > "$A/convnet.metrics.json"
expect_error corrupt_metrics_named 'report: .*/convnet\.metrics\.json' "$BIN/report" --art "$A" --out "$R"
sed 's/"accuracy": 0.3000/"accuracy": "high"/' "$TMP/good.metrics.json" > "$A/convnet.metrics.json"
expect_error mistyped_metrics_named 'convnet\.metrics\.json: epochs\[0\]\.accuracy: must be a number' \
  "$BIN/report" --art "$A" --out "$R"
cp "$TMP/good.metrics.json" "$A/convnet.metrics.json"
cp "$A/simplenet.eval.json" "$TMP/good.eval.json"
sed 's/"confusion": \[\[/"confusion": [[-1,/' "$TMP/good.eval.json" > "$A/simplenet.eval.json"
expect_error bad_eval_named 'simplenet\.eval\.json: confusion' "$BIN/report" --art "$A" --out "$R"
cp "$TMP/good.eval.json" "$A/simplenet.eval.json"
mv "$A/convnet.metrics.json" "$TMP/good.metrics.json"
expect_error missing_metrics_named 'report: .*/convnet\.metrics\.json: missing' "$BIN/report" --art "$A" --out "$R"
mv "$TMP/good.metrics.json" "$A/convnet.metrics.json"
mv "$A/stats.json" "$TMP/stats.json"
expect_error missing_stats_named 'report: .*/stats\.json: missing' "$BIN/report" --art "$A" --out "$R"
mv "$TMP/stats.json" "$A/stats.json"
mkdir -p "$TMP/nognuplot"
expect_error gnuplot_absent 'report: gnuplot: not found on PATH' env PATH="$TMP/nognuplot" "$BIN/report" --art "$A" --out "$R"
cmp -s "$R/index.html" "$TMP/index.first" && [ -f "$R/charts/convnet_confusion.png" ] &&
  pass failed_runs_keep_old_report || fail failed_runs_keep_old_report "index.html or charts changed"
no_leftovers failed_runs_no_temporaries "$TMP"

# Nothing trained at all: still a valid page.
A2=$TMP/art2
mkdir -p "$A2/data" && cp "$A/data/"*.safetensors "$A2/data/" && cp "$A/stats.json" "$A2/"
if "$BIN/report" --art "$A2" --out "$TMP/rep2" 2>"$TMP/err2"; then
  check_page empty_page_valid "$TMP/rep2"
  n_models=$(ls models/*.json | wc -l)
  [ "$(grep -c 'not trained yet</span></h2>' "$TMP/rep2/index.html")" -eq "$n_models" ] && pass every_model_untrained ||
    fail every_model_untrained "expected $n_models untrained sections"
else fail empty_page_valid "$(cat "$TMP/err2")"; fi
finish
