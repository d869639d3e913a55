# Build rules: lib/<subsystem>/**/*.c -> build/libcifar.a; stages/<s>.c -> build/bin/<s>;
# tests/unit/test_<x>.c and tests/tools/<t>.c -> build/tests/.
# Every object gets a -MMD -MP dependency file, so a header edit rebuilds exactly what includes it.

CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -fopenmp -D_GNU_SOURCE -Ilib
DEPFLAGS = -MMD -MP
LDLIBS  += -larchive -lpng -lcjson -lcurl -lcrypto -ldnnl -lm
LDFLAGS += -fopenmp

LIB_SRC   := $(shell find lib -name '*.c' | sort)
STAGE_SRC := $(wildcard stages/*.c)
TEST_SRC  := $(wildcard tests/unit/*.c)
TOOL_SRC  := $(wildcard tests/tools/*.c)

LIB_OBJ := $(LIB_SRC:%.c=build/obj/%.o)
LIBA    := build/libcifar.a
STAGES  := $(STAGE_SRC:stages/%.c=build/bin/%)
TESTS   := $(TEST_SRC:tests/unit/%.c=build/tests/unit/%)
TOOLS   := $(TOOL_SRC:tests/tools/%.c=build/tests/tools/%)

.PHONY: all
all: $(STAGES) $(TESTS) $(TOOLS)

build/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

build/bin/%: build/obj/stages/%.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $< $(LIBA) $(LDLIBS) -o $@

build/tests/unit/%: build/obj/tests/unit/%.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $< $(LIBA) $(LDLIBS) -o $@

build/tests/tools/%: build/obj/tests/tools/%.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $< $(LIBA) $(LDLIBS) -o $@

# Intermediate objects are kept, so a second `make` is a no-op.
.SECONDARY:

-include $(shell find build/obj -name '*.d' 2>/dev/null)

build/obj/tests/%.o: CFLAGS += -Itests
