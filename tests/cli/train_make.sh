#!/usr/bin/env bash
# mk/train.mk: with every training output up to date, `make -n` plans nothing; after an edit of
# params/convnet.json (simulated with -W) it plans convnet's training alone (one train command,
# for convnet); each lr_find curve depends on its own params file too.
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
ART=$TMP/art P=$TMP/params
mkdir -p "$ART/data" "$P"
archs=$(for f in models/*.json; do basename "$f" .json; done)
for a in $archs; do cp "params/$a.json" "$P/"; done
touch "$ART/stats.json" "$ART/data/train.safetensors" "$ART/data/test.safetensors"
sleep 1
for a in $archs; do touch "$ART/$a.ckpt" "$ART/$a.metrics.json" "$ART/$a.summary.json" "$ART/$a.lrfind.json"; done
# -o: take the data and the programs as given (their own rules are tested elsewhere).
mk() { make -n --no-print-directory ART="$ART" PARAMS="$P" -o "$ART/stats.json" -o "$ART/data/train.safetensors" \
         -o "$ART/data/test.safetensors" -o "${BUILD:-build}/bin/train" -o "${BUILD:-build}/bin/lrfind" "$@" 2>&1; }

plan=$(mk checkpoints lrfinds)
if [ -z "$(printf '%s\n' "$plan" | grep "${BUILD:-build}/bin/\(train\|lrfind\) ")" ]; then pass up_to_date_plans_nothing
else fail up_to_date_plans_nothing "$plan"; fi

plan=$(mk -W "$P/convnet.json" checkpoints)
trains=$(printf '%s\n' "$plan" | grep -c "${BUILD:-build}/bin/train ")
if [ "$trains" -eq 1 ] && printf '%s\n' "$plan" | grep -q "${BUILD:-build}/bin/train --model models/convnet.json --params $P/convnet.json" &&
   printf '%s\n' "$plan" | grep -q -- "--ckpt $ART/convnet.ckpt --metrics $ART/convnet.metrics.json --summary $ART/convnet.summary.json"
then pass params_edit_retrains_alone; else fail params_edit_retrains_alone "$plan"; fi

plan=$(mk -W "$P/resnet2.json" "$ART/resnet2.lrfind.json" "$ART/convnet.lrfind.json")
if [ "$(printf '%s\n' "$plan" | grep -c "${BUILD:-build}/bin/lrfind ")" -eq 1 ] &&
   printf '%s\n' "$plan" | grep -q "lrfind --model models/resnet2.json"; then pass lrfind_depends_on_params
else fail lrfind_depends_on_params "$plan"; fi

# The stats and the data tensors are prerequisites of every checkpoint.
plan=$(make -n --no-print-directory ART="$ART" PARAMS="$P" -o "$ART/data/train.safetensors" -o "$ART/data/test.safetensors" \
         -o "${BUILD:-build}/bin/train" -W "$ART/stats.json" -o "${BUILD:-build}/bin/stats" "$ART/resnet.ckpt" 2>&1)
if printf '%s\n' "$plan" | grep -q 'train --model models/resnet.json'; then pass stats_is_prerequisite
else fail stats_is_prerequisite "$plan"; fi
finish
