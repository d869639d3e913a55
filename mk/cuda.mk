# CUDA backend build: a module, $(BUILD)/lib/cifar-cuda.so, that train, lrfind, evaluate and the
# tests load with dlopen when the device is cuda or auto (lib/backend/cuda_module.c). No program
# links CUDA, cuBLAS or cuDNN: the module does, so a program built here starts on a machine
# without them (a CPU node, a container, a CUDA 12 box) and runs on the CPU.
#
# The module is built only when all of these are found (otherwise one line says what is missing
# and the CPU build goes on; NO_CUDA=1 skips the search and the line):
#   nvcc          PATH or /usr/local/cuda/bin (CUDA_HOME is its parent)
#   cudnn.h       $(CUDNN_HOME)/include, $(CUDA_HOME)/include, /usr/include[/x86_64-linux-gnu]
#   libcudnn.so   $(CUDNN_HOME)/lib64 or lib, $(CUDA_HOME)/lib64 or lib, /usr/lib/x86_64-linux-gnu
#   cublas_v2.h, libcublas.so, libcudart.so   under $(CUDA_HOME)
#
# Code: SASS for sm_80 (A100, A30; also runs on sm_86/sm_89 cards) and sm_90 (H100, H200), plus
# compute_90 PTX that the driver JIT-compiles for newer GPUs (Blackwell). CUDA 13 code needs an
# R580 driver or newer (580.65.06 on Linux) on every one of them: with an older driver the module
# reports cudaErrorInsufficientDriver with both versions (see README "Compute backends").

NVCC := $(if $(NO_CUDA),,$(or $(shell command -v nvcc 2>/dev/null),$(wildcard /usr/local/cuda/bin/nvcc)))
CUDA_HOME ?= $(if $(NVCC),$(patsubst %/bin/nvcc,%,$(NVCC)),/usr/local/cuda)

# $(call cuda_find,FILE,DIRS): the first DIR holding FILE (empty when none)
cuda_find = $(patsubst %/$(1),%,$(firstword $(wildcard $(addsuffix /$(1),$(2)))))
CUDNN_INC   := $(call cuda_find,cudnn.h,$(if $(CUDNN_HOME),$(CUDNN_HOME)/include) $(CUDA_HOME)/include /usr/include /usr/include/x86_64-linux-gnu)
CUDNN_LIB   := $(call cuda_find,libcudnn.so,$(if $(CUDNN_HOME),$(CUDNN_HOME)/lib64 $(CUDNN_HOME)/lib) $(CUDA_HOME)/lib64 $(CUDA_HOME)/lib /usr/lib/x86_64-linux-gnu /usr/lib64)
CUBLAS_INC  := $(call cuda_find,cublas_v2.h,$(CUDA_HOME)/include /usr/include)
CUBLAS_LIB  := $(call cuda_find,libcublas.so,$(CUDA_HOME)/lib64 $(CUDA_HOME)/lib /usr/lib/x86_64-linux-gnu)
CUDART_LIB  := $(call cuda_find,libcudart.so,$(CUDA_HOME)/lib64 $(CUDA_HOME)/lib /usr/lib/x86_64-linux-gnu)

CUDA_MISSING := $(if $(NO_CUDA),,$(strip $(if $(NVCC),,nvcc) $(if $(CUDNN_INC),,cudnn.h) $(if $(CUDNN_LIB),,libcudnn.so) \
                  $(if $(CUBLAS_INC),,cublas_v2.h) $(if $(CUBLAS_LIB),,libcublas.so) $(if $(CUDART_LIB),,libcudart.so)))
CUDA_BUILT := $(if $(NO_CUDA)$(CUDA_MISSING),,1)

ifneq ($(CUDA_MISSING),)
ifeq ($(MAKELEVEL),0)
$(info cuda: not building the CUDA backend: $(CUDA_MISSING) not found (CUDA_HOME=$(CUDA_HOME)$(if $(CUDNN_HOME),, CUDNN_HOME unset)); building for the CPU only)
endif
endif

# cuda_module.o knows whether this build made the module (auto then stays quiet on a CPU-only
# build); the stamp holds the answer and changes only when it does, so cuda_module.o is recompiled
# exactly then.
CUDA_STAMP := $(BUILD)/cuda.built
CUDA_STATE := built=$(if $(NO_CUDA),-1,$(if $(CUDA_BUILT),1,0))
$(shell mkdir -p $(BUILD) && { [ "$$(cat $(CUDA_STAMP) 2>/dev/null)" = '$(CUDA_STATE)' ] || echo '$(CUDA_STATE)' >$(CUDA_STAMP); })
$(BUILD)/obj/lib/backend/cuda_module.o: $(CUDA_STAMP)
$(BUILD)/obj/lib/backend/cuda_module.o: CFLAGS += -DCUDA_MODULE_BUILT=$(if $(NO_CUDA),-1,$(if $(CUDA_BUILT),1,0))

CUDA_MODULE := $(BUILD)/lib/cifar-cuda.so

ifneq ($(CUDA_BUILT),)
CUDA_SRC     := $(wildcard lib/backend/cuda/*.cu)
CUDA_OBJ     := $(CUDA_SRC:%=$(BUILD)/obj/%.o)
# the C objects the module carries (position-independent, hidden, never sanitizer-instrumented)
CUDA_MOD_C   := lib/backend/plan_cache.c
CUDA_MOD_OBJ := $(CUDA_MOD_C:%.c=$(BUILD)/obj/module/%.pic.o)
CUDA_ARCH    := -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
                -gencode arch=compute_90,code=compute_90
# -fmad=false: a*b+c rounds twice, as in the CPU backend's C (our kernels are memory-bound, so
# nothing is lost; cuDNN and cuBLAS are unaffected). -fPIC and hidden symbols: the module's one
# exported name is cifar_cuda_module (lib/backend/cuda_module.h).
NVCCFLAGS    ?= -O3
NVCCFLAGS    += -std=c++20 -fmad=false $(CUDA_ARCH) -Ilib $(addprefix -I,$(sort $(CUDA_HOME)/include $(CUDNN_INC) $(CUBLAS_INC))) \
                -Xcompiler -Wall,-Wextra,-fPIC,-fvisibility=hidden -D_GNU_SOURCE
CUDA_LIBDIRS := $(sort $(CUDNN_LIB) $(CUBLAS_LIB) $(CUDART_LIB))
CUDA_MOD_LIBS := $(addprefix -L,$(CUDA_LIBDIRS)) $(addprefix -Xlinker -rpath=,$(CUDA_LIBDIRS)) -lcudnn -lcublas -lcudart

$(BUILD)/obj/lib/backend/cuda/%.cu.o: lib/backend/cuda/%.cu
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) -MMD -MP -MF $(@:.o=.d) -c $< -o $@

$(BUILD)/obj/module/%.pic.o: %.c
	@mkdir -p $(@D)
	$(CC) -O2 -g -std=c11 -Wall -Wextra -D_GNU_SOURCE -Ilib -fPIC -fvisibility=hidden -MMD -MP -c $< -o $@

# --cudart shared: libcudart.so.13 is the module's (ldd shows it), never a program's.
$(CUDA_MODULE): $(CUDA_OBJ) $(CUDA_MOD_OBJ)
	@mkdir -p $(@D)
	$(NVCC) -shared --cudart shared $(CUDA_ARCH) $^ $(CUDA_MOD_LIBS) -Xlinker --no-undefined -Xlinker --exclude-libs=ALL -o $@

all: $(CUDA_MODULE)
endif

# GPU benchmark: this project against PyTorch (eager and torch.compile) on the same GPU; prints a
# skip line when no GPU or no CUDA build is there.
.PHONY: bench
bench:: all
	@tests/bench/gpu_bench.sh
