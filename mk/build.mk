# Build rules: lib/<subsystem>/**/*.c -> $(BUILD)/libcifar.a; stages/<s>.c -> $(BUILD)/bin/<s>;
# tests/unit/test_<x>.c and tests/tools/<t>.c -> $(BUILD)/tests/. BUILD is build/, or build-san/
# with SAN=1 (Makefile).
# Every object gets a -MMD -MP dependency file, so a header edit rebuilds exactly what includes it.
# Every program gets a link dependency file <program>.ld.d listing the archive members the linker
# pulled in (recorded at link time), so a library edit relinks exactly the programs that contain
# the edited object, and the pipeline reruns only the stages whose program changed.

CC      ?= cc
CFLAGS  ?= -O2 -g
# -ffp-contract=off: a*b+c rounds twice in C, as in the vector kernels that do it in two
# instructions (GCC's ISO mode implies it, clang does not): docs/determinism.md.
CFLAGS  += -std=c11 -ffp-contract=off -Wall -Wextra -fopenmp -D_GNU_SOURCE -Ilib
DEPFLAGS = -MMD -MP
LDLIBS  += -larchive -lpng -lcjson -lcurl -lcrypto -ldnnl -llapacke -lmvec -lm
LDFLAGS += -fopenmp

# SAN=1: AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer, float-to-int
# overflow included (gcc leaves it out of `undefined`); the first report ends the program. The
# CUDA module (nvcc, build-san/lib/cifar-cuda.so, mk/cuda.mk) is not instrumented; the sanitized
# programs load it like any library. tests/run sets the runtime options (ASAN_OPTIONS...).
ifneq ($(SAN),)
SAN_FLAGS := -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS  += $(SAN_FLAGS)
LDFLAGS += $(SAN_FLAGS)
endif

LIB_SRC   := $(shell find lib -name '*.c' | sort)
STAGE_SRC := $(wildcard stages/*.c)
TEST_SRC  := $(wildcard tests/unit/*.c)
TOOL_SRC  := $(wildcard tests/tools/*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIBA    := $(BUILD)/libcifar.a
STAGES  := $(STAGE_SRC:stages/%.c=$(BUILD)/bin/%)
TESTS   := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
TOOLS   := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%)

.PHONY: all
all: $(STAGES) $(TESTS) $(TOOLS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# Every object of the archive (the CUDA objects are not members: they make the module of
# mk/cuda.mk, which no program links). Archive members are named by their basename, so
# basenames must be unique.
LIB_MEMBERS = $(LIB_OBJ)
LIB_DUPLICATES = $(strip $(foreach b,$(sort $(notdir $(LIB_MEMBERS))),$(if $(word 2,$(filter %/$(b),$(LIB_MEMBERS))),$(b))))

$(LIBA): $(LIB_OBJ)
	$(if $(LIB_DUPLICATES),$(error $(LIBA): objects with the same basename cannot be told apart in the archive: $(foreach b,$(LIB_DUPLICATES),$(filter %/$(b),$(LIB_MEMBERS))); rename one of the sources))
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

# $(call link_program[,EXTRA_LIBS]): links $< (the program's own object, plus the target's
# PROGRAM_EXTRA_OBJ when it has more objects of its own) against the archive and
# writes $@.ld.d: "$@: <each archive member the linker took>", from ld's -t -t trace (GNU ld
# prints members as "(build/libcifar.a)name.o"; a program may take none). With another linker
# the program depends on every member, which is what the archive as a prerequisite meant.
# Programs take the archive as an order-only prerequisite: it is brought up to date before the
# link, but its own timestamp relinks nothing.
LD_TRACES_MEMBERS = $(shell $(CC) $(LDFLAGS) -Wl,--version 2>/dev/null | grep -c '^GNU ld')
define link_program
@mkdir -p $(@D)
$(CC) $(LDFLAGS) $< $(PROGRAM_EXTRA_OBJ) $(LIBA) $(LDLIBS)$(if $(1), $(1)) -o $@ -Wl,-t,-t >$@.ld.trace
@awk -v prog='$@' -v lib='($(LIBA))' -v objs='$(LIB_MEMBERS)' -v exact='$(LD_TRACES_MEMBERS)' \
  'BEGIN { n = split(objs, o, " "); for (i = 1; i <= n; i++) { b = o[i]; sub(/.*\//, "", b); path[b] = o[i] } } \
   index($$0, lib) == 1 { m = substr($$0, length(lib) + 1); if ((m in path) && !(m in seen)) { seen[m] = 1; deps = deps " " path[m] } } \
   END { print prog ":" (exact > 0 ? deps : " " objs) }' \
  $@.ld.trace >$@.ld.d.tmp && mv $@.ld.d.tmp $@.ld.d && rm -f $@.ld.trace
endef

$(BUILD)/bin/%: $(BUILD)/obj/stages/%.o | $(LIBA)
	$(call link_program)

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o | $(LIBA)
	$(call link_program)

$(BUILD)/tests/tools/%: $(BUILD)/obj/tests/tools/%.o | $(LIBA)
	$(call link_program)

# $(call link_deps_known,PROGRAMS): a program without its .ld.d (linked by an older build, or the
# file was lost) cannot know which members it holds, so it is relinked, which writes the file.
.PHONY: link-deps-unknown
link_deps_known = $(foreach p,$(1),$(if $(wildcard $(p)),$(if $(wildcard $(p).ld.d),,$(eval $(p): link-deps-unknown))))
$(call link_deps_known,$(STAGES) $(TESTS) $(TOOLS))

# Intermediate objects are kept, so a second `make` is a no-op.
.SECONDARY:

-include $(shell find $(BUILD)/obj $(BUILD)/bin $(BUILD)/tests $(BUILD)/bench -name '*.d' 2>/dev/null)

$(BUILD)/obj/tests/%.o: CFLAGS += -Itests
