# Training and the lr finder: one checkpoint (with its metrics and summary) and one lr_find curve
# per architecture. Each depends on exactly its model file, its params file, the stats, the data
# tensors and the program, so editing params/convnet.json re-plans convnet's training alone.
# THREADS=N pins the thread count (0 = all cores); the same inputs, seed and THREADS give the
# same checkpoint bytes.

THREADS    ?= 0
TRAIN_DATA := $(ART)/data/train.safetensors $(ART)/data/test.safetensors
TRAIN_ARGS  = --data $(ART)/data --stats $(ART)/stats.json --threads $(THREADS)

.PHONY: checkpoints lrfinds
checkpoints: $(ARCHS:%=$(ART)/%.ckpt)
lrfinds: $(ARCHS:%=$(ART)/%.lrfind.json)

# A pattern rule with several targets is one recipe making all three (grouped).
$(ART)/%.ckpt $(ART)/%.metrics.json $(ART)/%.summary.json: models/%.json $(PARAMS)/%.json \
		$(ART)/stats.json $(TRAIN_DATA) $(BUILD)/bin/train
	$(call launch,TRAIN,train)$(BUILD)/bin/train --model models/$*.json --params $(PARAMS)/$*.json $(TRAIN_ARGS) \
	  --ckpt $(ART)/$*.ckpt --metrics $(ART)/$*.metrics.json --summary $(ART)/$*.summary.json$(call launched,TRAIN)

$(ART)/%.lrfind.json: models/%.json $(PARAMS)/%.json $(ART)/stats.json $(TRAIN_DATA) $(BUILD)/bin/lrfind
	$(call launch,LRFIND,lrfind)$(BUILD)/bin/lrfind --model models/$*.json --params $(PARAMS)/$*.json $(TRAIN_ARGS) --out $@$(call launched,LRFIND)

