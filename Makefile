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

# SAN=1 builds every program with AddressSanitizer and UndefinedBehaviorSanitizer into its own
# tree, build-san/ (mk/build.mk adds the flags), so its objects never mix with build/'s; `make
# check SAN=1` runs the whole test suite against it. BUILD is exported: tests/run and the shell
# tests find the programs under $${BUILD:-build}, and a make they start (even with a cleared
# MAKEFLAGS) builds into the same tree, with the same flags.
SAN ?=
ifneq ($(SAN),)
BUILD := build-san
else
BUILD ?= build
endif
ifeq ($(BUILD),build-san)
SAN := 1
endif
export BUILD

# The architectures are data: one models/<arch>.json each (with params/<arch>.json, and
# params/quick/<arch>.json for PROFILE=quick). ARCHS="a b" on the command line picks some.
ARCHS := $(sort $(patsubst models/%.json,%,$(wildcard models/*.json)))

# A fresh machine: before anything is built, check that the Debian packages of scripts/deps.sh
# (the one list) are installed, and if not stop with one line naming them and `make deps`. The
# check runs once: $(DEPS_STAMP) records it until scripts/deps.sh changes. `make deps`, `make
# clean` and `make distclean` are never blocked by it; NO_DEPS_CHECK=1 skips it (packages
# installed some other way). DEPS_EXTRA="pkg ..." adds names to the list and forces the check (tests).
DEPS_STAMP ?= $(BUILD)/deps.ok
ifeq ($(NO_DEPS_CHECK)$(filter deps clean distclean,$(MAKECMDGOALS)),)
ifneq ($(DEPS_EXTRA)$(shell [ $(DEPS_STAMP) -nt scripts/deps.sh ] && echo ok),ok)
DEPS_MISSING := $(shell out=$$(DEPS_EXTRA='$(DEPS_EXTRA)' scripts/deps.sh --check 2>&1) || \
                  echo "$${out:-deps: scripts/deps.sh --check failed}")
ifneq ($(DEPS_MISSING),)
$(error $(DEPS_MISSING))
endif
$(shell mkdir -p $(dir $(DEPS_STAMP)) && touch $(DEPS_STAMP))
endif
endif

include mk/build.mk
include $(sort $(filter-out mk/build.mk,$(wildcard mk/*.mk)))

.PHONY: deps check clean distclean
deps:
	scripts/deps.sh

check: all
	tests/run

clean:
	rm -rf build build-san

distclean: clean
	rm -rf artifacts reports
