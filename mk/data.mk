# Data stages: fetch -> sort -> stats.
#   make $(ART)/stats.json     (or the phony shortcuts: make fetch | sort | stats)
# CIFAR_URL=URL overrides the URL of $(PARAMS)/data.json (http://, https://, file://), e.g.
#   make stats CIFAR_URL=file://$(realpath ../shared/data/cifar.tgz)
# data.json: {"url": "...", "sha256": "64 hex digits, optional"}. The default leaves sha256 out:
# the public archive's digest is not pinned here, and the shared copy (../shared/data/SHA256SUMS)
# is a re-encoding with different bytes. Add it to make fetch verify the download.

DATA_PARAMS := $(PARAMS)/data.json
DATA_OUT    := $(ART)/data/train.safetensors $(ART)/data/test.safetensors

# The effective URL, recorded in $(ART)/fetch.url so that a change of CIFAR_URL (or of the url in
# data.json) refetches. The stamp is rewritten only when it differs, so a plain rerun is a no-op.
# (The url is read here with sed only to decide staleness; the fetch stage parses the JSON.)
FETCH_URL := $(or $(CIFAR_URL),$(shell sed -n 's/.*"url"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' \
               $(DATA_PARAMS) 2>/dev/null | head -n 1))
ifneq ($(shell cat $(ART)/fetch.url 2>/dev/null),$(FETCH_URL))
$(ART)/fetch.url: data-url-changed
endif
.PHONY: data-url-changed
# A temporary of its own per run (two makes at once in one checkout must not share one).
$(ART)/fetch.url:
	@mkdir -p $(@D)
	@t=$$(mktemp '$@.tmp.XXXXXX') && chmod 644 "$$t" && printf '%s\n' $(call shell_quote,$(FETCH_URL)) > "$$t" && \
	  mv -f "$$t" $@ || { rm -f "$$t"; exit 1; }

$(ART)/cifar.tgz: $(DATA_PARAMS) $(ART)/fetch.url $(BUILD)/bin/fetch
	$(call launch,FETCH,fetch)$(BUILD)/bin/fetch --params $(DATA_PARAMS) $(if $(CIFAR_URL),--url $(call shell_quote,$(CIFAR_URL))) --out $@$(call launched,FETCH)

# One run of sort writes both tensor files and the class folders $(ART)/cifar10/. A pattern rule
# with two targets is one grouped recipe (stem "data"); it is used instead of `&:` because GNU
# Make 4.3's `make -n` does not plan the stages after an `&:` rule.
$(ART)/%/train.safetensors $(ART)/%/test.safetensors: $(ART)/cifar.tgz $(BUILD)/bin/sort
	$(call launch,SORT,sort)$(BUILD)/bin/sort --archive $(ART)/cifar.tgz --out $(ART)$(call launched,SORT)

$(ART)/stats.json: $(ART)/data/train.safetensors $(BUILD)/bin/stats
	$(call launch,STATS,stats)$(BUILD)/bin/stats --data $(ART)/data/train.safetensors --out $@$(call launched,STATS)

.PHONY: fetch sort stats
fetch: $(ART)/cifar.tgz
sort: $(DATA_OUT)
stats: $(ART)/stats.json

# sort throughput on the fetched archive, against the ceiling of merely decompressing it
# (gzip -dc, one core): the ratio says how close the stage gets to reading speed.
.PHONY: bench
bench:: $(BUILD)/bin/sort $(ART)/cifar.tgz
	@mkdir -p $(BUILD)/bench
	@t0=$$(date +%s.%N); gzip -dc $(ART)/cifar.tgz >/dev/null; t1=$$(date +%s.%N); \
	 $(BUILD)/bin/sort --archive $(ART)/cifar.tgz --out $(BUILD)/bench/sort >/dev/null 2>$(BUILD)/bench/sort.log || { cat $(BUILD)/bench/sort.log; exit 1; }; \
	 t2=$$(date +%s.%N); \
	 n=$$(find $(BUILD)/bench/sort/cifar10 -name '*.png' | wc -l); \
	 awk -v n=$$n -v t0=$$t0 -v t1=$$t1 -v t2=$$t2 'BEGIN { g = t1 - t0; s = t2 - t1; \
	   printf "sort: %d images in %.2f s = %.0f images/s; gzip -dc alone %.2f s (sort takes %.1fx that)\n", n, s, n / s, g, s / g }'
	@rm -rf $(BUILD)/bench/sort
