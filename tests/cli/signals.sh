#!/usr/bin/env bash
# SIGINT, SIGTERM, SIGUSR1 and SIGHUP at every save and commit point of every stage that writes
# artifacts (fetch, sort, stats, train, lrfind, evaluate, report), plus SIGSTOP/SIGCONT. Each point is a
# CIFAR_TEST_KILL hook (core/atomic.c): the signal is raised when a temporary is written and
# fsync'd but not yet renamed ("rename"), or when a group's journal is in place ("journal").
# Every output starts as an "old" placeholder; after each signalled run:
# - the exit status is the signal's (128 + N), or 75 (train, lrfind: stopped with the state
#   saved), or 0 only for a graceful signal that train or lrfind took after its work was done
#   (the commit then finishes, and the outputs must be the new ones);
# - the outputs are all old or all new (new: the bytes of a run that was never signalled), and
#   old while a journal is left (killed after the journal: the next run finishes it);
# - no temporary is left unless a journal lists it, and no lock file is left;
# then the same command, unsignalled, exits 0 with the new outputs and leaves no journal,
# temporary, lock or state.
source "$(dirname "$0")/../lib.sh"
for b in fetch sort stats train lrfind evaluate report; do [ -x "$BIN/$b" ] || { skip signals "$BIN/$b not built"; finish; }; done
[ -x "$TOOLS/mkarchive" ] || { skip signals "mkarchive not built"; finish; }
command -v gnuplot >/dev/null || { skip signals "gnuplot not installed"; finish; }
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
PY=$(command -v python3 || echo "$ROOT/.venv/bin/python")

"$TOOLS/mkarchive" --classes 10 --train 10 --test 5 "$TMP/a.tgz" >/dev/null 2>&1 || { fail data "mkarchive failed"; finish; }
A=$TMP/art W=$TMP/w
"$BIN/sort" --archive "$TMP/a.tgz" --out "$A" >/dev/null 2>&1 &&
  "$BIN/stats" --data "$A/data/train.safetensors" --out "$A/stats.json" >/dev/null 2>&1 || { fail data "sort or stats failed"; finish; }
# a state every iteration, so that train and lrfind also save inside an epoch
"$PY" -c "import json; d=json.load(open('$ROOT/params/quick/simplenet.json')); d['device']='cpu'; d['state_every']=1; json.dump(d, open('$TMP/p.json','w'))"
M=$ROOT/models/simplenet.json
common=(--data "$A/data" --stats "$A/stats.json" --threads 2)

run_fetch()    { "$BIN/fetch" --url "file://$TMP/a.tgz" --out "$W/f.tgz"; }
run_sort()     { "$BIN/sort" --archive "$TMP/a.tgz" --out "$W/s"; }
run_stats()    { "$BIN/stats" --data "$A/data/train.safetensors" --out "$W/st.json"; }
run_train()    { "$BIN/train" --model "$M" --params "$TMP/p.json" "${common[@]}" --ckpt "$W/x.ckpt" --metrics "$W/x.metrics.json" --summary "$W/x.summary.json"; }
run_lrfind()   { "$BIN/lrfind" --model "$M" --params "$TMP/p.json" "${common[@]}" --out "$W/x.lrfind.json"; }
run_evaluate() { "$BIN/evaluate" --model "$M" --ckpt "$A/simplenet.ckpt" --params "$ROOT/params/quick/eval.json" "${common[@]}" \
                   --eval "$W/x.eval.json" --probs "$W/x.probs.safetensors"; }
run_report()   { "$BIN/report" --art "$A" --out "$W/rep" --models "$ROOT/models" simplenet; }

# per stage: its outputs (a trailing / marks a folder), its lock, its journal ("-": none), its
# state ("-"), its kill points
declare -A OUTS LOCK JOURNAL STATE POINTS
OUTS[fetch]="f.tgz" LOCK[fetch]=- JOURNAL[fetch]=- STATE[fetch]=-
POINTS[fetch]="rename:f.tgz:1"
OUTS[sort]="s/cifar10/ s/data/train.safetensors s/data/test.safetensors" LOCK[sort]=s/sort.lock JOURNAL[sort]=s/sort.commit STATE[sort]=-
POINTS[sort]="rename:train.safetensors:1 rename:test.safetensors:1 journal:sort.commit:1"
OUTS[stats]="st.json" LOCK[stats]=- JOURNAL[stats]=- STATE[stats]=-
POINTS[stats]="rename:st.json:1"
OUTS[train]="x.ckpt x.metrics.json x.summary.json" LOCK[train]=x.lock JOURNAL[train]=x.commit STATE[train]=x.state
POINTS[train]="rename:x.state:1 rename:x.state:3 rename:x.summary.json:1 rename:x.metrics.json:1 rename:x.ckpt:1 journal:x.commit:1"
OUTS[lrfind]="x.lrfind.json" LOCK[lrfind]=x.lrfind.lock JOURNAL[lrfind]=- STATE[lrfind]=x.lrfind.state
POINTS[lrfind]="rename:x.lrfind.state:1 rename:x.lrfind.json:1"
OUTS[evaluate]="x.eval.json x.probs.safetensors" LOCK[evaluate]=x.eval.lock JOURNAL[evaluate]=x.eval.commit STATE[evaluate]=-
POINTS[evaluate]="rename:x.probs.safetensors:1 rename:x.eval.json:1 journal:x.eval.commit:1"
OUTS[report]="rep/charts/ rep/index.html" LOCK[report]=rep.lock JOURNAL[report]=rep/index.commit STATE[report]=-
POINTS[report]="rename:charts.gp:1 rename:index.html:1 journal:index.commit:1"

# out_sum PATH: the output's content in one line (a folder: its files; metrics without timings)
out_sum() {
  if [ -d "$1" ]; then (cd "$1" && find . -type f | sort | xargs -r sha256sum | sha256sum | cut -c1-16)
  elif [ -f "$1" ]; then
    case $1 in *.metrics.json) grep -Ev '"[a-z_]*seconds"|images_per_second"' "$1" ;; *) cat "$1" ;; esac | sha256sum | cut -c1-16
  else echo missing; fi
}
# put_old STAGE: every output of STAGE as an "old" placeholder
put_old() {
  local o
  rm -rf "$W" && mkdir -p "$W"
  for o in ${OUTS[$1]}; do
    case $o in */) mkdir -p "$W/$o" && echo old >"$W/$o/old" ;; *) mkdir -p "$(dirname "$W/$o")" && echo old >"$W/$o" ;; esac
  done
}
# kinds STAGE: "old", "new" or "mixed:<detail>" for the outputs as they are now
kinds() {
  local o s k all=""
  for o in ${OUTS[$1]}; do
    s=$(out_sum "$W/${o%/}")
    if [ "$s" = "${OLD_SUM[$o]}" ]; then k=old; elif [ "$s" = "${NEW_SUM[$o]}" ]; then k=new; else k="other($o)"; fi
    case " $all " in *" $k "*) ;; *) all="$all $k" ;; esac
  done
  all=${all# }
  case $all in old|new) echo "$all" ;; *) echo "mixed:$all" ;; esac
}
leftovers() {   # temporaries and locks under $W (and $W/rep.lock beside rep/)
  find "$W" \( -name '*.tmp.*' -o -name '*.lock' \) 2>/dev/null | sed "s|^$W/||" | sort | tr '\n' ' '
}

declare -A OLD_SUM NEW_SUM
for stage in fetch sort stats train lrfind evaluate report; do
  [ $stage = evaluate ] && { run_train >/dev/null 2>&1 && for f in ckpt metrics.json summary.json; do cp "$W/x.$f" "$A/simplenet.$f"; done; }
  [ $stage = report ] && { run_evaluate >/dev/null 2>&1 && cp "$W/x.eval.json" "$A/simplenet.eval.json" && cp "$W/x.probs.safetensors" "$A/simplenet.probs.safetensors"; }
  # the outputs of a run that is never signalled, and of the placeholders
  put_old $stage
  for o in ${OUTS[$stage]}; do OLD_SUM[$o]=$(out_sum "$W/${o%/}"); done
  if ! run_$stage >/dev/null 2>"$TMP/err"; then fail "${stage}_reference" "$(tail -n 1 "$TMP/err")"; continue; fi
  for o in ${OUTS[$stage]}; do NEW_SUM[$o]=$(out_sum "$W/${o%/}"); done
  for point in ${POINTS[$stage]}; do
    for sig in INT TERM USR1 HUP; do
      name="${stage}_${point%%:*}_$(echo "$point" | cut -d: -f2)_$(echo "$point" | cut -d: -f3)_$sig"
      put_old $stage
      CIFAR_TEST_KILL="$point:$(kill -l "$sig")" run_$stage >/dev/null 2>"$TMP/err"; rc=$?
      k=$(kinds $stage) left=$(leftovers)
      journal=0; [ "${JOURNAL[$stage]}" != - ] && [ -e "$W/${JOURNAL[$stage]}" ] && journal=1
      graceful=0; case $stage:$sig in train:INT|train:TERM|train:USR1|lrfind:INT|lrfind:TERM|lrfind:USR1) graceful=1 ;; esac
      why=""
      if [ $rc -eq 0 ]; then
        [ $graceful = 1 ] && [ "$k" = new ] || why="exit 0 with outputs $k"
      elif [ $rc -eq 75 ]; then
        [ $graceful = 1 ] && [ "${STATE[$stage]}" != - ] && [ -f "$W/${STATE[$stage]}" ] || why="exit 75 without a saved state"
      elif [ $rc -ne $((128 + $(kill -l "$sig"))) ]; then why="exit $rc"
      fi
      if [ -z "$why" ]; then
        case $k in mixed*) why="outputs $k" ;; esac
        [ $journal = 1 ] && [ "$k" != old ] && why="a journal is left but the outputs are $k"
        [ $journal = 0 ] && [ -n "$left" ] && why="left $left"
        [ $journal = 1 ] && case $left in *.lock*) why="left a lock: $left" ;; esac
      fi
      if [ -n "$why" ]; then fail "$name" "$why: $(grep -v '^ *[0-9]\|^epoch' "$TMP/err" | tail -n 2 | tr '\n' ' ')"; continue; fi
      # the same command, unsignalled: the new outputs and nothing else
      if run_$stage >/dev/null 2>"$TMP/err2"; then
        k=$(kinds $stage) left=$(leftovers)
        if [ "$k" != new ]; then fail "$name" "the rerun gave outputs $k"
        elif [ -n "$left" ]; then fail "$name" "the rerun left $left"
        elif [ "${JOURNAL[$stage]}" != - ] && [ -e "$W/${JOURNAL[$stage]}" ]; then fail "$name" "the rerun left its journal"
        elif [ "${STATE[$stage]}" != - ] && [ -e "$W/${STATE[$stage]}" ]; then fail "$name" "the rerun left its state"
        else pass "$name"; fi
      else fail "$name" "the rerun failed: $(tail -n 1 "$TMP/err2")"; fi
    done
  done
done

# SIGSTOP and SIGCONT: a paused run goes on as if nothing happened
for stage in sort train; do
  put_old $stage
  run_$stage >/dev/null 2>&1 &
  pid=$!
  kill -STOP $pid 2>/dev/null; sleep 0.3; kill -CONT $pid 2>/dev/null
  wait $pid; rc=$?
  k=$(kinds $stage)
  [ $rc -eq 0 ] && [ "$k" = new ] && [ -z "$(leftovers)" ] && pass "${stage}_stop_cont" || fail "${stage}_stop_cont" "exit $rc, outputs $k"
done
finish
