# Compute engine: the CPU benchmark (tests/bench/ is not a unit-test folder, so it is built here).
# `make bench` runs it: forward+backward of every architecture at batch 256, images/s and GFLOP/s
# beside oneDNN's convolutions alone on the same shapes in the same run.

ENGINE_BENCH := build/bench/engine_bench

$(ENGINE_BENCH): build/obj/tests/bench/engine_bench.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $< $(LIBA) $(LDLIBS) -o $@

.PHONY: bench
bench:: $(ENGINE_BENCH)
	$(ENGINE_BENCH) --batch 256 --seconds 3
