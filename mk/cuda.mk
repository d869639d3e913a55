# CUDA backend build: when nvcc is found (PATH or /usr/local/cuda/bin), lib/backend/cuda/*.cu are compiled
# for sm_80 and sm_90 plus compute_90 PTX (so newer GPUs JIT it), added to build/libcifar.a, and
# every C file gets -DHAVE_CUDA so backend_select can offer the GPU. Without nvcc (or with
# NO_CUDA=1) everything builds CPU-only. The binaries run on machines without a GPU either way:
# the runtime library is linked, but a device is only looked for when DEVICE is auto or cuda.

NVCC := $(if $(NO_CUDA),,$(or $(shell command -v nvcc 2>/dev/null),$(wildcard /usr/local/cuda/bin/nvcc)))

ifneq ($(NVCC),)
CUDA_HOME    ?= $(patsubst %/bin/nvcc,%,$(NVCC))
CUDA_SRC     := $(wildcard lib/backend/cuda/*.cu)
CUDA_OBJ     := $(CUDA_SRC:%=$(BUILD)/obj/%.o)
CUDA_ARCH    := -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
                -gencode arch=compute_90,code=compute_90
# -fmad=false: a*b+c rounds twice, as in the CPU backend's C (our kernels are memory-bound, so
# nothing is lost; cuDNN and cuBLAS are unaffected).
NVCCFLAGS    ?= -O3
NVCCFLAGS    += -std=c++20 -fmad=false $(CUDA_ARCH) -Ilib -I$(CUDA_HOME)/include -Xcompiler -Wall,-Wextra -D_GNU_SOURCE

CFLAGS  += -DHAVE_CUDA -I$(CUDA_HOME)/include
LDLIBS  += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudnn -lcublas -lcudart -lstdc++

$(BUILD)/obj/lib/backend/cuda/%.cu.o: lib/backend/cuda/%.cu
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) -MMD -MP -MF $(@:.o=.d) -c $< -o $@

$(LIBA): $(CUDA_OBJ)
endif

# GPU benchmark: this project against PyTorch (eager and torch.compile) on the same GPU; prints a
# skip line when no GPU or no CUDA build is there.
.PHONY: bench
bench:: all
	@tests/bench/gpu_bench.sh
