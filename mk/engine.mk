# Compute engine: the CPU benchmark (tests/bench/ is not a unit-test folder, so it is built here).
# `make bench` runs it: forward+backward of every architecture at batch 256, images/s and GFLOP/s
# beside oneDNN's convolutions alone on the same shapes in the same run.

ENGINE_BENCH := $(BUILD)/bench/engine_bench

$(ENGINE_BENCH): $(BUILD)/obj/tests/bench/engine_bench.o | $(LIBA)
	$(call link_program)

.PHONY: bench
bench:: $(ENGINE_BENCH)
	$(ENGINE_BENCH) --batch 256 --seconds 3 $(ARCHS)

# oneDNN against im2col + OpenBLAS sgemm on resnet2's and convbnnet's convolution shapes (issue 3
# item 3). The only program that links OpenBLAS.
CONV_GEMM_BENCH := $(BUILD)/bench/conv_gemm_bench

$(CONV_GEMM_BENCH): $(BUILD)/obj/tests/bench/conv_gemm_bench.o | $(LIBA)
	$(call link_program,-lopenblas)

bench:: $(CONV_GEMM_BENCH)
	$(CONV_GEMM_BENCH) --batch 256 --seconds 1

$(call link_deps_known,$(ENGINE_BENCH) $(CONV_GEMM_BENCH))
