# Model files: check one before training it.
#   make summary ARCH=foo    learner.summary() of models/foo.json (shapes and parameters per
#                            module, from the model file's own shape inference); an invalid file
#                            gives one error line naming the file and the layer
#   make summary             the same for every models/*.json, one after the other

ifneq ($(filter summary,$(MAKECMDGOALS)),)
$(call check_names,ARCH)
endif
.PHONY: summary
summary: $(BUILD)/bin/summary
	@set -e; for a in $(or $(ARCH),$(ARCHS)); do $(BUILD)/bin/summary models/$$a.json; echo; done
