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
	  --ckpt $(ART)/$*.ckpt --metrics $(ART)/$*.metrics.json --summary $(ART)/$*.summary.json

$(ART)/%.lrfind.json: models/%.json $(PARAMS)/%.json $(ART)/stats.json $(TRAIN_DATA) $(BUILD)/bin/lrfind
	$(call launch,LRFIND,lrfind)$(BUILD)/bin/lrfind --model models/$*.json --params $(PARAMS)/$*.json $(TRAIN_ARGS) --out $@

# Training throughput (images/s over the whole loop, data loader included) per architecture on
# the CPU, from BENCH_BATCHES batches of 256 of the real training set, and resnet2's full-data
# epoch time extrapolated from it (labelled as an estimate).
BENCH_BATCHES ?= 12
BENCH_DIR     := $(BUILD)/bench
.PHONY: bench
bench:: $(BUILD)/bin/train $(TRAIN_DATA) $(ART)/stats.json
	@mkdir -p $(BENCH_DIR)
	@printf '%s\n' '{"seed": 0, "batch_size": 256, "momentum": 0.9, "augment": {"pad": 4, "flip": true},' \
	  ' "lr_find": {"start_lr": 1e-5, "end_lr": 10}, "limit_batches": $(BENCH_BATCHES),' \
	  ' "phases": [{"lr": 0.01, "n_cycle": 1, "cycle_len": 1, "wd": 1e-6}]}' > $(BENCH_DIR)/train.json
	@echo "train: throughput on the CPU, $(BENCH_BATCHES) batches of 256, whole loop incl. data loader (THREADS=$(THREADS))"
	@for a in $(ARCHS); do \
	  $(BUILD)/bin/train --model models/$$a.json --params $(BENCH_DIR)/train.json $(TRAIN_ARGS) \
	    --ckpt $(BENCH_DIR)/$$a.ckpt --metrics $(BENCH_DIR)/$$a.metrics.json \
	    --summary $(BENCH_DIR)/$$a.summary.json >/dev/null 2>$(BENCH_DIR)/$$a.log || { cat $(BENCH_DIR)/$$a.log; exit 1; }; \
	  awk -v a=$$a -F'[:,]' '/"seconds"/ { ep = $$2 } \
	    { gsub(/[" \t]/, "", $$1); v[$$1] = $$2 } \
	    END { b = v["train_images"] / 256; \
	          printf "  %-11s %8.1f images/s  (%d images in %.2f s, loader wait %.3f s, validation %.2f s)\n", \
	            a, v["images_per_second"], v["train_images"], v["loop_seconds"], v["loader_wait_seconds"], ep - v["loop_seconds"]; \
	          if (a == "resnet2") printf "  resnet2 full-data epoch (ESTIMATE from %d timed batches): %.1f s training (196 batches) + %.1f s validation = %.1f s\n", \
	            b, 196 * v["loop_seconds"] / b, ep - v["loop_seconds"], 196 * v["loop_seconds"] / b + ep - v["loop_seconds"] }' \
	    $(BENCH_DIR)/$$a.metrics.json; \
	done
