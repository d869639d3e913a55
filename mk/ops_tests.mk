# Op tests: tests/ops/<op>.c (each op's reference and cases), harness.c and test_backend_ops.c
# -> build/tests/ops/test_backend_ops, linked like the unit tests. tests/unit/test_net checks
# whole nets against the same references, so it links those objects too.

OPS_TEST_SRC := $(wildcard tests/ops/*.c)
OPS_TEST_OBJ := $(OPS_TEST_SRC:%.c=build/obj/%.o)
OPS_REF_OBJ  := $(filter-out build/obj/tests/ops/test_backend_ops.o,$(OPS_TEST_OBJ))

all: build/tests/ops/test_backend_ops

build/tests/ops/test_backend_ops: $(OPS_TEST_OBJ) $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(OPS_TEST_OBJ) $(LIBA) $(LDLIBS) -o $@

build/tests/unit/test_net: $(OPS_REF_OBJ)
build/tests/unit/test_net: LDFLAGS += $(OPS_REF_OBJ)
