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

# User-supplied values (issue 22 item 7). Every value given on the command line or in the
# environment reaches the shell under one of these rules, and a value that breaks its rule stops
# Make before anything runs, with one line naming the variable:
#   names  PROFILE, ARCH, ARCHS, SWEEP: words of letters, digits and _ . - (not starting with . or
#          -), pasted as they are (they become file names: params/<PROFILE>/<arch>.json);
#   paths  ART, REP, PARAMS, BUILD, SWEEP_DIR, DEPS_STAMP: one word of the name characters and
#          / + @, pasted as they are (Make itself cannot carry a blank, : or % in a target's name);
#   counts THREADS and the bench knobs: digits (BENCH_THREADS: digits and commas);
#   text   CIFAR_URL, TORCH_PYTHON, MATCH_CKPT, MATCH_EVAL, DEPS_EXTRA, the url read from data.json:
#          any characters but a newline, always passed single-quoted by $$(call shell_quote,...) (a ' inside is '\'');
#   commands LAUNCH and LAUNCH_<STAGE>: a command prefix (srun --ntasks=1 --cpus-per-task=8), word-
#          split and run by the shell by design, like CC; only a newline is refused.
# (A value is expanded once by Make as usual: write $$ for a $ that should reach the program.)
empty :=
space := $(empty) $(empty)
define newline


endef
NAME_CHARS := a b c d e f g h i j k l m n o p q r s t u v w x y z A B C D E F G H I J K L M N O P Q R S T U V W X Y Z \
              0 1 2 3 4 5 6 7 8 9 _ . -
PATH_CHARS := $(NAME_CHARS) / + @
# $(call shell_quote,TEXT): TEXT as one single-quoted shell word.
shell_quote = '$(subst ','\'',$(1))'
# $(call strip_chars,TEXT,CHARS): TEXT less every character in the word list CHARS.
strip_chars = $(if $(2),$(call strip_chars,$(subst $(firstword $(2)),,$(1)),$(wordlist 2,$(words $(2)),$(2))),$(1))
# $(call value_line,VAR): the value on one line, for a message.
value_line = $(subst $(newline),\n,$($(1)))
value_refuse = $(error $(1)=$(call value_line,$(1)): $(2))
# $(call check_names,VAR): blank-separated names; $(call check_path,VAR): one path; both may be empty.
check_names = $(if $(call strip_chars,$(subst $(space),,$($(1))),$(NAME_CHARS))$(filter .% -%,$($(1))),\
                $(call value_refuse,$(1),a name is letters$(,) digits and _ . - only$(,) not starting with . or -))
check_path  = $(if $(call strip_chars,$($(1)),$(PATH_CHARS))$(filter -%,$($(1))),\
                $(call value_refuse,$(1),a path here is one word of letters$(,) digits and _ . - / + @ only))
check_count = $(if $(call strip_chars,$($(1)),0 1 2 3 4 5 6 7 8 9 $(2)),\
                $(call value_refuse,$(1),must be a whole number$(if $(2), (or a comma-separated list))))
check_line  = $(if $(findstring $(newline),$($(1))),$(call value_refuse,$(1),must be one line))
, := ,
# (ARCH and SWEEP are checked where they are used, mk/models.mk and mk/sweep.mk: an ARCH=amd64 in the
# environment of an unrelated make must not stop it)
$(call check_names,PROFILE)$(if $(word 2,$(PROFILE)),$(call value_refuse,PROFILE,must be one name))
$(foreach v,BUILD DEPS_STAMP,$(call check_path,$(v)))
$(call check_line,DEPS_EXTRA)

# The architectures are data: one models/<arch>.json each (with params/<arch>.json, and
# params/quick/<arch>.json for PROFILE=quick). ARCHS="a b" on the command line picks some.
ARCHS := $(sort $(patsubst models/%.json,%,$(wildcard models/*.json)))
$(call check_names,ARCHS)
$(foreach v,ART REP PARAMS,$(call check_path,$(v)))
$(foreach v,THREADS BENCH_MEM_BATCHES BENCH_ROUNDS BENCH_SECONDS BENCH_LOOP_BATCHES AIRBENCH_STEPS MATCH_BATCHES MATCH_THREADS,\
  $(call check_count,$(v)))
$(call check_count,BENCH_THREADS,$(,))
$(foreach v,CIFAR_URL TORCH_PYTHON MATCH_CKPT MATCH_EVAL LAUNCH $(filter LAUNCH_%,$(.VARIABLES)),$(call check_line,$(v)))

# A fresh machine: before anything is built, check that the Debian packages of scripts/deps.sh
# (the one list) are installed, and if not stop with one line naming them and `make deps`. The
# check runs once: $(DEPS_STAMP) records it until scripts/deps.sh changes. `make deps`, `make
# clean` and `make distclean` are never blocked by it; NO_DEPS_CHECK=1 skips it (packages
# installed some other way). DEPS_EXTRA="pkg ..." adds names to the list and forces the check (tests).
DEPS_STAMP ?= $(BUILD)/deps.ok
ifeq ($(NO_DEPS_CHECK)$(filter deps clean distclean,$(MAKECMDGOALS)),)
ifneq ($(DEPS_EXTRA)$(shell [ $(DEPS_STAMP) -nt scripts/deps.sh ] && echo ok),ok)
DEPS_MISSING := $(shell out=$$(DEPS_EXTRA=$(call shell_quote,$(DEPS_EXTRA)) scripts/deps.sh --check 2>&1) || \
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
