# Evaluation and the report: the end of the pipeline.
#   make report          everything (fetch, sort, stats, lrfind, train, evaluate, report) for
#                        $(ARCHS), every models/*.json; the page shows the smallest model first
#   make report-now      redraws $(REP)/index.html from whatever artifacts exist (untrained models
#                        are shown as "not trained yet"), without building anything else
#   make $(ART)/A.eval.json   TTA evaluation of one architecture
# Each eval depends on its checkpoint, model file, eval params ($(PARAMS)/eval/<arch>.json where it
# exists, else $(PARAMS)/eval.json), stats, test data and program, so
# editing params/convnet.json retrains and re-evaluates convnet alone and redraws the report.

EVAL_PARAMS := $(PARAMS)/eval.json
EVALS       := $(ARCHS:%=$(ART)/%.eval.json)
# A model's eval params: $(PARAMS)/eval/<arch>.json where it exists (airbench94: its own TTA),
# else the shared $(PARAMS)/eval.json.
eval_params = $(firstword $(wildcard $(PARAMS)/eval/$(1).json) $(EVAL_PARAMS))

# One run writes both files (a pattern rule with two targets is one grouped recipe).
$(ART)/%.eval.json $(ART)/%.probs.safetensors: $(ART)/%.ckpt models/%.json $(EVAL_PARAMS) \
		$(ART)/stats.json $(ART)/data/test.safetensors $(BUILD)/bin/evaluate
	$(call eval_recipe,$*,$(EVAL_PARAMS))

eval_recipe = $(call launch,EVALUATE,evaluate)$(BUILD)/bin/evaluate --model models/$(1).json --ckpt $(ART)/$(1).ckpt \
  --params $(2) --data $(ART)/data --stats $(ART)/stats.json --threads $(THREADS) \
  --eval $(ART)/$(1).eval.json --probs $(ART)/$(1).probs.safetensors$(call launched,EVALUATE)

# Models with their own eval params: an explicit rule each (it takes precedence over the pattern).
define eval_own_rule
$(ART)/$(1).eval.json $(ART)/$(1).probs.safetensors &: $(ART)/$(1).ckpt models/$(1).json $(PARAMS)/eval/$(1).json \
		$(ART)/stats.json $(ART)/data/test.safetensors $(BUILD)/bin/evaluate
	$$(call eval_recipe,$(1),$(PARAMS)/eval/$(1).json)
endef
$(foreach a,$(ARCHS),$(if $(wildcard $(PARAMS)/eval/$(a).json),$(eval $(call eval_own_rule,$(a)))))

REPORT_IN := $(ARCHS:%=models/%.json) $(ART)/stats.json $(ART)/data/train.safetensors $(ART)/data/test.safetensors \
             $(foreach a,$(ARCHS),$(ART)/$(a).summary.json $(ART)/$(a).lrfind.json \
               $(ART)/$(a).metrics.json $(ART)/$(a).eval.json)

$(REP)/index.html: $(REPORT_IN) $(BUILD)/bin/report
	$(call launch,REPORT,report)$(BUILD)/bin/report --art $(ART) --out $(REP) --models models $(ARCHS)$(call launched,REPORT,$(REP)/index.html)

.PHONY: report report-now evaluations
report: $(REP)/index.html
evaluations: $(EVALS)
report-now: $(BUILD)/bin/report
	$(call launch,REPORT,report)$(BUILD)/bin/report --art $(ART) --out $(REP) --models models $(ARCHS)$(call launched,REPORT,$(REP)/index.html)
