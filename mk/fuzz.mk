# Fuzzing: libFuzzer harnesses tests/fuzz/fuzz_<name>.c for the readers of untrusted files
# (docs/fuzzing.md). Each is built with clang -fsanitize=fuzzer,address,undefined into its own
# tree $(FUZZ_DIR), from the library sources it needs compiled again with clang (no oneDNN, no
# OpenMP: the parsers do not need them).
#   make fuzz FUZZ_SECONDS=N   runs each harness N seconds over its seed corpus
#                              (tests/fuzz/corpus/<name>/, read only) and its crashes
#                              (tests/fuzz/crashes/<name>/); new inputs go to $(FUZZ_DIR)/corpus/<name>/,
#                              a crashing input to $(FUZZ_DIR)/crashes/<name>/; fails on a crash
#                              and prints executions/s and coverage (cov, ft) per harness
#   make fuzz-regress          replays every seed and every recorded crash once through its harness
#   make fuzz-build            builds the harnesses only
# `make -j2 fuzz` runs two harnesses at a time. FUZZ_ARGS adds libFuzzer options.

FUZZ_CC      ?= clang
FUZZ_DIR     ?= $(BUILD)/fuzz
FUZZ_SECONDS ?= 20
FUZZ_ARGS    ?=
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := -O1 -g -std=c11 -Wall -Wextra -Wno-unknown-pragmas -D_GNU_SOURCE -Ilib -Itests $(FUZZ_SAN)
FUZZ_LDLIBS  := -larchive -lpng -lcjson -lcrypto -lm

FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_DIR)/bin/fuzz_%)

# The library sources the harnesses reach; the linker takes from the archive only the members a
# harness needs.
FUZZ_LIB_SRC := $(wildcard lib/core/*.c) lib/io/safetensors.c lib/io/png_io.c lib/data/dataset.c \
                lib/data/norm_stats.c lib/ingest/read.c lib/ingest/labels.c lib/ingest/decode.c \
                lib/nn/model.c lib/train/train_params.c lib/train/schedule.c lib/train/train_state_check.c \
                lib/report/inputs.c
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_LIBA    := $(FUZZ_DIR)/libfuzzlib.a

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_LIBA): $(FUZZ_LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/bin/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIBA)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $^ $(FUZZ_LDLIBS) -o $@

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)

.PHONY: fuzz fuzz-build fuzz-regress
fuzz-build: $(FUZZ_BINS)

# One target per harness, so -j runs several. stderr of the library (its one-line refusals) is
# discarded by -close_fd_mask=2; libFuzzer's and the sanitizers' reports still come through.
fuzz: $(FUZZ_NAMES:%=fuzz-run-%)
fuzz-run-%: $(FUZZ_DIR)/bin/fuzz_%
	@tests/fuzz/run_fuzzer.sh $* $< $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_ARGS)

fuzz-regress: $(FUZZ_NAMES:%=fuzz-regress-%)
fuzz-regress-%: $(FUZZ_DIR)/bin/fuzz_%
	@files=$$(find tests/fuzz/corpus/$* tests/fuzz/crashes/$* -type f 2>/dev/null | sort); \
	 n=$$(printf '%s\n' $$files | grep -c .); \
	 $< -close_fd_mask=2 -malloc_limit_mb=256 $$files >$(FUZZ_DIR)/regress-$*.log 2>&1 \
	   && echo "fuzz-regress: $*: $$n inputs replayed, no crash" \
	   || { tail -n 40 $(FUZZ_DIR)/regress-$*.log; echo "fuzz-regress: $*: an input crashed (log: $(FUZZ_DIR)/regress-$*.log)"; exit 1; }
