#!/usr/bin/env bash
# train/lrfind: bad params files and command lines give one line naming the file and the key,
# a nonzero exit and no outputs. Runs before any data is read, so it needs no data.
source "$(dirname "$0")/../lib.sh"
[ -x "$BIN/train" ] && [ -x "$BIN/lrfind" ] || { skip train_params "${BUILD:-build}/bin/train not built"; finish; }

good=$ROOT/params/quick/simplenet.json
P=$TMP/p.json
out=(--ckpt "$TMP/o.ckpt" --metrics "$TMP/o.metrics.json" --summary "$TMP/o.summary.json")
run_train() { "$BIN/train" --model "$ROOT/models/simplenet.json" --params "$P" --data "$TMP/nodata" \
                --stats "$TMP/nostats.json" "${out[@]}"; }
# edit PY: applies a python expression to the params dict d, writes $P
edit() { "$PY" -c "import json,sys; d=json.load(open('$good')); $1; json.dump(d, open('$P','w'))"; }
PY=$(command -v python3 || echo "$ROOT/.venv/bin/python")

edit 'd["foo"]=1';                       expect_error params_unknown_key 'train: .*p\.json: foo: unknown key' run_train
edit 'd["phases"][1]["lr"]=-1';          expect_error params_phase_lr 'p\.json: phases\[1\]\.lr: must be in' run_train
edit 'del d["batch_size"]';              expect_error params_missing 'p\.json: batch_size: missing required key' run_train
edit 'd["seed"]="0"';                    expect_error params_type 'p\.json: seed: must be an integer' run_train
edit 'd["augment"]["flip"]=1';           expect_error params_nested 'p\.json: augment\.flip: must be true or false' run_train
edit 'd["phases"][0]["cycle_mult"]=2';   expect_error params_cycle_mult 'p\.json: phases\[0\]\.cycle_mult: needs cycle_len' run_train
edit 'd["phases"]=[]';                   expect_error params_no_phases 'p\.json: phases: must hold' run_train
edit 'd["batch_size"]=0';                expect_error params_range 'p\.json: batch_size: must be in' run_train
edit 'd["lr_find"]["end_lr"]=1e-6';      expect_error params_lrfind 'p\.json: lr_find\.end_lr' \
  "$BIN/lrfind" --model "$ROOT/models/simplenet.json" --params "$P" --data "$TMP/nodata" --stats "$TMP/s.json" --out "$TMP/l.json"
# airbench's keys (issue 14)
edit 'd["loss"]={"reduction":"max"}';   expect_error params_reduction 'p\.json: loss\.reduction: must be "mean" or "sum" \(got "max"\)' run_train
edit 'd["loss"]={"label_smoothing":1}'; expect_error params_smoothing 'p\.json: loss\.label_smoothing: must be in' run_train
edit 'd["augment"]["pad_mode"]="edge"'; expect_error params_pad_mode 'p\.json: augment\.pad_mode: must be "reflect_edge" or "reflect"' run_train
edit 'd["augment"]["flip_mode"]=1';     expect_error params_flip_mode 'p\.json: augment\.flip_mode: must be a string' run_train
edit 'd["lookahead"]={"decay":0.9}';    expect_error params_lookahead 'p\.json: lookahead\.every: missing required key' run_train
edit 'd["freeze"]=[{"tensor":"x"}]';    expect_error params_freeze 'p\.json: freeze\[0\]\.after_epochs: missing required key' run_train
# issue 22's hostile pass: a freeze at or past the schedule's end (the tensor never froze) and the
# same tensor frozen twice (the later entry silently won) were accepted
edit 'd["phases"]=[{"lr":1,"epochs":2}]; d["freeze"]=[{"tensor":"layers.0.bias","after_epochs":2}]'
                                        expect_error params_freeze_at_end 'p\.json: freeze\[0\]\.after_epochs: 2 is not before the end of the schedule \(2 epochs\): layers\.0\.bias would never be frozen' run_train
edit 'd["phases"]=[{"lr":1,"epochs":1.5}]; d["freeze"]=[{"tensor":"layers.0.bias","after_epochs":99999}]'
                                        expect_error params_freeze_past_end 'p\.json: freeze\[0\]\.after_epochs: 99999 is not before the end of the schedule \(2 epochs\)' run_train
edit 'd["freeze"]=[{"tensor":"layers.0.bias","after_epochs":0},{"tensor":"layers.0.bias","after_epochs":1}]'
                                        expect_error params_freeze_twice 'p\.json: freeze\[1\]\.tensor: "layers\.0\.bias" is already frozen by freeze\[0\]' run_train
edit 'd["phases"][0]["epochs"]=2.5';    expect_error params_epochs_cycles 'p\.json: phases\[0\]\.epochs: not with n_cycle' run_train
edit 'del d["phases"][0]["n_cycle"]';   expect_error params_no_cycles 'p\.json: phases\[0\]\.n_cycle: missing required key \(or epochs\)' run_train
edit 'd["phases"]=[{"lr":1,"epochs":2,"schedule":{"type":"cos"}}]'
                                        expect_error params_schedule 'p\.json: phases\[0\]\.schedule\.type: must be "fastai" or "triangle"' run_train
edit 'd["phases"]=[{"lr":1,"epochs":2,"schedule":{"type":"triangle","peak":1}}]'
                                        expect_error params_peak 'p\.json: phases\[0\]\.schedule\.peak: must be below 1' run_train
edit 'd["phases"]=[{"lr":1,"epochs":2,"units":"kilo"}]'
                                        expect_error params_units 'p\.json: phases\[0\]\.units: must be "lr" or "kilostep"' run_train
edit 'd["momentum"]=1; d["phases"]=[{"lr":1,"epochs":2,"units":"kilostep"}]'
                                        expect_error params_kilostep 'p\.json: phases\[0\]\.units: kilostep needs momentum below 1' run_train
edit 'd["nesterov"]="yes"';             expect_error params_nesterov 'p\.json: nesterov: must be true or false' run_train
edit 'd["bias_lr_scale"]=0';            expect_error params_bias_scale 'p\.json: bias_lr_scale: must be in' run_train
printf '{"seed": 0,\n "batch_size": }' > "$P"; expect_error params_syntax 'p\.json' run_train
rm -f "$P";                              expect_error params_absent 'p\.json' run_train
expect_error cli_unknown_option 'train: --bogus: unknown option' "$BIN/train" --bogus 1
expect_error cli_missing_option 'train: --ckpt: missing' "$BIN/train" --model m --params p --data d --stats s
cp "$good" "$P"
expect_error data_missing 'nostats\.json|nodata/train\.safetensors' run_train

if ls "$TMP"/o.* >/dev/null 2>&1; then fail no_outputs "outputs written: $(ls "$TMP"/o.*)"; else pass no_outputs; fi
no_leftovers no_temporaries "$TMP"
finish
