# Memory: `make bench` also prints each stage's peak resident memory on the data of $(FETCH_URL)
# (the full set with CIFAR_URL=file://$(realpath ../shared/data/cifar.tgz)): fetch, sort, stats,
# lrfind, train and evaluate of each of $(ARCHS), report, each run under tests/tools/peak_rss in
# build/bench/memory/ (tests/bench/memory_bench.sh says how; train/lrfind use limit_batches
# BENCH_MEM_BATCHES). Fails if training resnet2 needs more than 3 GiB.
BENCH_MEM_BATCHES ?= 4

.PHONY: bench bench-memory
bench:: bench-memory
bench-memory: $(BUILD)/tests/tools/peak_rss $(addprefix $(BUILD)/bin/,fetch sort stats lrfind train evaluate report)
	@URL=$(call shell_quote,$(FETCH_URL)) ARCHS='$(ARCHS)' THREADS=$(THREADS) BENCH_MEM_BATCHES=$(BENCH_MEM_BATCHES) \
	  DATA_PARAMS=$(DATA_PARAMS) BIN=$(BUILD)/bin PEAK_RSS=$(BUILD)/tests/tools/peak_rss OUT=$(BUILD)/bench/memory tests/bench/memory_bench.sh

# peak_rss is never sanitized: a child's ru_maxrss starts from the RSS of the process it was
# forked from, and an ASan peak_rss (about 100 MB of shadow) would inflate every figure it reports.
# `private` keeps the empty SAN_FLAGS from reaching the prerequisites (the library stays sanitized).
$(BUILD)/tests/tools/peak_rss $(BUILD)/obj/tests/tools/peak_rss.o: private SAN_FLAGS :=
