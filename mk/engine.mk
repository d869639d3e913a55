# Compute engine: the CPU benchmarks (tests/bench/ is not a unit-test folder, so it is built here).
# `make bench` runs tests/bench/cpu_peer.py: per model, our training step, our whole training loop,
# the evaluation forward, oneDNN's convolutions-alone ceiling and PyTorch on the notebook's classes,
# in interleaved rounds, for each of BENCH_THREADS; PyTorch comes from the optional venv that
# `make bench-deps` creates (several GB, never used by CI or the tests).
# Then airbench94's training speed against the same recipe in PyTorch (tests/bench/airbench_bench.py).
# `make bench-engine` prints the engine's detailed table (convolutions alone, auto and direct).

ENGINE_BENCH := $(BUILD)/bench/engine_bench
BENCH_VENV   ?= .venv-bench
BENCH_THREADS ?= 1,2$(shell n=$$(nproc); [ $$n -gt 2 ] && printf ',%s' $$n)
BENCH_ROUNDS ?= 3
BENCH_SECONDS ?= 2
BENCH_LOOP_BATCHES ?= 16
TORCH_PYTHON ?= $(if $(wildcard $(BENCH_VENV)/.complete),$(BENCH_VENV)/bin/python)
# the notebook's models in the peer table (airbench94 has its own lines: tests/bench/airbench_bench.py)
PEER_ARCHS   ?= $(filter-out airbench94,$(ARCHS))
AIRBENCH_STEPS ?= 4

$(ENGINE_BENCH): $(BUILD)/obj/tests/bench/engine_bench.o | $(LIBA)
	$(call link_program)

.PHONY: bench bench-engine bench-deps bench-airbench-match
bench:: $(ENGINE_BENCH) $(BUILD)/bin/train $(TRAIN_DATA) $(ART)/stats.json
	@python3 tests/bench/cpu_peer.py --engine $(ENGINE_BENCH) --train $(BUILD)/bin/train --data $(ART)/data \
	  --stats $(ART)/stats.json --archs "$$(echo $(PEER_ARCHS) | tr ' ' ,)" --threads $(BENCH_THREADS) \
	  --rounds $(BENCH_ROUNDS) --seconds $(BENCH_SECONDS) --batches $(BENCH_LOOP_BATCHES) \
	  --torch-python $(call shell_quote,$(TORCH_PYTHON)) --out $(BUILD)/bench/peer
	@$(if $(filter airbench94,$(ARCHS)),python3 tests/bench/airbench_bench.py --train $(BUILD)/bin/train \
	  --data $(ART)/data --stats $(ART)/stats.json --threads $(BENCH_THREADS) --steps $(AIRBENCH_STEPS) \
	  --torch-python $(call shell_quote,$(TORCH_PYTHON)) --out $(BUILD)/bench/airbench,:)

# airbench94 in C against airbench94 in PyTorch, step by step from the same initial net on the
# same batches (tests/bench/airbench_match.py; needs the bench venv). MATCH_CKPT=X.ckpt with
# MATCH_EVAL=X.eval.json also evaluates a trained checkpoint in PyTorch.
MATCH_BATCHES ?= 2
MATCH_THREADS ?= 2
bench-airbench-match: $(BUILD)/tests/tools/train_trace $(TRAIN_DATA) $(ART)/stats.json
	@test -n $(call shell_quote,$(TORCH_PYTHON)) || { echo "bench-airbench-match: needs PyTorch: run make bench-deps (or set TORCH_PYTHON)" >&2; exit 1; }
	$(call shell_quote,$(TORCH_PYTHON)) tests/bench/airbench_match.py --bin $(BUILD) --data $(ART)/data --stats $(ART)/stats.json \
	  --batches $(MATCH_BATCHES) --threads $(MATCH_THREADS) \
	  $(if $(MATCH_CKPT),--ckpt $(call shell_quote,$(MATCH_CKPT)) $(if $(MATCH_EVAL),--eval-json $(call shell_quote,$(MATCH_EVAL))))

bench-engine: $(ENGINE_BENCH)
	$(ENGINE_BENCH) --batch 256 --seconds 3 $(ARCHS)

# The PyTorch peer's venv: torch from PyPI (with its CUDA wheels, several GB) and numpy; .complete
# marks a finished install (an interrupted one is redone).
bench-deps: $(BENCH_VENV)/.complete
$(BENCH_VENV)/.complete:
	rm -rf $(BENCH_VENV)
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet torch numpy safetensors || { rm -rf $(BENCH_VENV); exit 1; }
	touch $@

# oneDNN against im2col + OpenBLAS sgemm on resnet2's and convbnnet's convolution shapes (issue 3
# item 3). The only program that links OpenBLAS.
CONV_GEMM_BENCH := $(BUILD)/bench/conv_gemm_bench

$(CONV_GEMM_BENCH): $(BUILD)/obj/tests/bench/conv_gemm_bench.o | $(LIBA)
	$(call link_program,-lopenblas)

bench:: $(CONV_GEMM_BENCH)
	$(CONV_GEMM_BENCH) --batch 256 --seconds 1

$(call link_deps_known,$(ENGINE_BENCH) $(CONV_GEMM_BENCH))
