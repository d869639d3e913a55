# Parameter sweeps: sweeps/<name>.json names a model, its base params and a grid (or a list) of
# overrides by key path; each point is trained and evaluated exactly like a model, with its
# artifacts under $(ART)/sweeps/<name>/, and the report gains a section comparing the points.
#   make sweep SWEEP=lr          expand sweeps/lr.json, train and evaluate every point, redraw
#                                the report ($(REP)/index.html: the base models are on the page too,
#                                as the reference; ARCHS=resnet2 limits them)
#   make sweeps                  the same for every sweeps/*.json
#   make sweep-plan SWEEP=lr     only expand (check) the sweep: writes the points' params files
#   make -j N sweep SWEEP=lr     N points side by side (see SWEEP_THREADS below)
# PROFILE=quick reads the base params from params/quick/. The expansion ($(ART)/sweeps/<name>/
# points.mk, a fragment included here) is redone whenever the sweep file, the base params or the
# sweep program change, before anything else runs (Make remakes included makefiles first, even
# under -n); it rewrites a point's <point>.params.json only when its bytes change, and a point's
# name depends on its own overrides alone, so an edit of the grid retrains only the points that
# changed or are new. A bad sweep stops Make there with one line naming the sweep file and key.
# SWEEP_DIR=DIR reads the sweep files from DIR instead of sweeps/ (tests). Format and limits:
# lib/sweep/sweep_plan.h; more in docs/cluster.md.

SWEEP_DIR  ?= sweeps
$(call check_path,SWEEP_DIR)
SWEEP_ALL  := $(sort $(patsubst $(SWEEP_DIR)/%.json,%,$(wildcard $(SWEEP_DIR)/*.json)))
SWEEPS_RUN := $(strip $(if $(filter sweeps,$(MAKECMDGOALS)),$(SWEEP_ALL),$(SWEEP)))

ifneq ($(filter sweep sweeps sweep-plan,$(MAKECMDGOALS)),)
$(call check_names,SWEEP)
ifeq ($(SWEEPS_RUN),)
$(error make sweep needs SWEEP=<name>, one of: $(or $(SWEEP_ALL),(no sweeps/*.json yet)); `make sweeps` runs them all)
endif
$(foreach s,$(sort $(SWEEPS_RUN)),$(if $(word 2,$(filter $(s),$(SWEEPS_RUN))),\
  $(error SWEEP=$(SWEEP): $(s) is named $(words $(filter $(s),$(SWEEPS_RUN))) times (name each sweep once))))
$(foreach s,$(SWEEPS_RUN),$(if $(wildcard $(SWEEP_DIR)/$(s).json),,$(error SWEEP=$(s): no $(SWEEP_DIR)/$(s).json (sweeps: $(SWEEP_ALL)))))
include $(SWEEPS_RUN:%=$(ART)/sweeps/%/points.mk)
endif

$(ART)/sweeps/%/points.mk: $(SWEEP_DIR)/%.json $(BUILD)/bin/sweep
	$(call launch,SWEEP,sweep)$(BUILD)/bin/sweep --sweep $(SWEEP_DIR)/$*.json --params-dir $(PARAMS) --out $(@D)$(call launched,SWEEP)

# Threads per point: THREADS when given (command line or environment); else the
# --cpus-per-task=N of LAUNCH_TRAIN when it has one; else, under make -jN, the cores divided
# among the N jobs (at least 1; 1 under an unlimited -j); else 0 (every core, one point at a time).
# (-jN is only visible in MAKEFLAGS while recipes run, hence the deferred `=`.)
SWEEP_NPROC   := $(shell nproc 2>/dev/null || echo 1)
SWEEP_JOBS     = $(patsubst -j%,%,$(filter -j%,$(MAKEFLAGS)))
SWEEP_CPUS     = $(patsubst --cpus-per-task=%,%,$(filter --cpus-per-task=%,$(LAUNCH_TRAIN)))
SWEEP_THREADS  = $(strip $(if $(filter command line environment override,$(origin THREADS)),$(THREADS),\
                   $(if $(SWEEP_CPUS),$(firstword $(SWEEP_CPUS)),\
                   $(if $(filter -j%,$(MAKEFLAGS)),\
                     $(if $(SWEEP_JOBS),$(shell n=$$(( $(SWEEP_NPROC) / $(SWEEP_JOBS) )); echo $$(( n > 0 ? n : 1 ))),1),0))))
# a count pasted into every point's command: LAUNCH_TRAIN='srun --cpus-per-task=8;x' must not run x in evaluate's
$(if $(call strip_chars,$(SWEEP_CPUS),0 1 2 3 4 5 6 7 8 9),\
  $(call value_refuse,LAUNCH_TRAIN,--cpus-per-task= must be a whole number))
SWEEP_ARGS     = --data $(ART)/data --stats $(ART)/stats.json --threads $(SWEEP_THREADS)

# $(call sweep_rules,NAME): the train and evaluate rules of one sweep's points (the same programs
# and flags as mk/train.mk and mk/report.mk; the params file is the point's).
define sweep_rules
SWEEP_EVALS_$(1) := $$(SWEEP_POINTS_$(1):%=$(ART)/sweeps/$(1)/%.eval.json)
SWEEP_EVALS += $$(SWEEP_EVALS_$(1)) $$(SWEEP_POINTS_$(1):%=$(ART)/sweeps/$(1)/%.metrics.json)

$(ART)/sweeps/$(1)/%.ckpt $(ART)/sweeps/$(1)/%.metrics.json $(ART)/sweeps/$(1)/%.summary.json: \
		$(ART)/sweeps/$(1)/%.params.json models/$(SWEEP_MODEL_$(1)).json $(ART)/stats.json $(DATA_OUT) $(BUILD)/bin/train
	$$(call launch,TRAIN,train)$(BUILD)/bin/train --model models/$(SWEEP_MODEL_$(1)).json --params $$< $$(SWEEP_ARGS) \
	  --ckpt $$(@D)/$$*.ckpt --metrics $$(@D)/$$*.metrics.json --summary $$(@D)/$$*.summary.json$$(call launched,TRAIN)

$(ART)/sweeps/$(1)/%.eval.json $(ART)/sweeps/$(1)/%.probs.safetensors: $(ART)/sweeps/$(1)/%.ckpt \
		models/$(SWEEP_MODEL_$(1)).json $(call eval_params,$(SWEEP_MODEL_$(1))) $(ART)/stats.json $(ART)/data/test.safetensors $(BUILD)/bin/evaluate
	$$(call launch,EVALUATE,evaluate)$(BUILD)/bin/evaluate --model models/$(SWEEP_MODEL_$(1)).json --ckpt $$< \
	  --params $(call eval_params,$(SWEEP_MODEL_$(1))) --data $(ART)/data --stats $(ART)/stats.json --threads $$(SWEEP_THREADS) \
	  --eval $$(@D)/$$*.eval.json --probs $$(@D)/$$*.probs.safetensors$$(call launched,EVALUATE)
endef
SWEEP_EVALS :=
$(foreach s,$(SWEEPS_RUN),$(if $(SWEEP_MODEL_$(s)),$(eval $(call sweep_rules,$(s)))))

# The report shows every sweep found under $(ART)/sweeps/ (lib/report/sweep_inputs.c); the
# sweeps being run are its prerequisites, so it is redrawn when a point changes.
$(REP)/index.html: $(SWEEP_EVALS) $(SWEEPS_RUN:%=$(ART)/sweeps/%/plan.json)

.PHONY: sweep sweeps sweep-plan
sweep sweeps: $(SWEEP_EVALS) $(REP)/index.html
sweep-plan:
	@$(foreach s,$(SWEEPS_RUN),echo "sweep $(s): $(words $(SWEEP_POINTS_$(s))) points of $(SWEEP_MODEL_$(s)) in $(ART)/sweeps/$(s)/";)
