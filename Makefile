# CIFAR-10 lesson-7 pipeline: build rules (mk/build.mk) and pipeline rules (mk/*.mk).
# `make` builds the programs; `make report` runs the whole pipeline; `make check` runs every test.

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SUFFIXES:

# PROFILE=quick trains for a handful of iterations, reading params/quick/ and writing
# artifacts/quick/ and reports/quick/ so it never clobbers the full run.
PROFILE ?=
PARAMS  := params$(if $(PROFILE),/$(PROFILE))
ART     := artifacts$(if $(PROFILE),/$(PROFILE))
REP     := reports$(if $(PROFILE),/$(PROFILE))

# The architectures are data: one models/<arch>.json each (with params/<arch>.json, and
# params/quick/<arch>.json for PROFILE=quick). ARCHS="a b" on the command line picks some.
ARCHS := $(sort $(patsubst models/%.json,%,$(wildcard models/*.json)))

include mk/build.mk
include $(sort $(filter-out mk/build.mk,$(wildcard mk/*.mk)))

.PHONY: deps check clean distclean
deps:
	scripts/deps.sh

check: all
	tests/run

clean:
	rm -rf build

distclean: clean
	rm -rf artifacts reports
