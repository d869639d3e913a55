# Op tests: tests/ops/<op>.c (each op's reference and cases), harness.c and test_backend_ops.c
# -> build/tests/ops/test_backend_ops, linked like the unit tests. tests/unit/test_net checks
# whole nets against the same references, so it links those objects too.

OPS_TEST_SRC := $(wildcard tests/ops/*.c)
OPS_TEST_OBJ := $(OPS_TEST_SRC:%.c=$(BUILD)/obj/%.o)
OPS_REF_OBJ  := $(filter-out $(BUILD)/obj/tests/ops/test_backend_ops.o,$(OPS_TEST_OBJ))

all: $(BUILD)/tests/ops/test_backend_ops

TEST_BACKEND_OPS := $(BUILD)/tests/ops/test_backend_ops

$(TEST_BACKEND_OPS): $(BUILD)/obj/tests/ops/test_backend_ops.o $(OPS_REF_OBJ) | $(LIBA)
	$(call link_program)
$(TEST_BACKEND_OPS): PROGRAM_EXTRA_OBJ = $(OPS_REF_OBJ)

$(BUILD)/tests/unit/test_net: $(OPS_REF_OBJ)
$(BUILD)/tests/unit/test_net: PROGRAM_EXTRA_OBJ = $(OPS_REF_OBJ)

$(call link_deps_known,$(TEST_BACKEND_OPS))
