# Quick start: `make run` (app on 127.0.0.1:7860, index built when missing) and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow install system-deps index eval corpus bench clean nodes

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first: the pinned CPU build lies on disk; anything else would fetch a CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,llm]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/advisor serve

index: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/advisor index

eval: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/advisor eval

# More than one machine, on this one and on loopback (README): a Chroma server on :8000, a one-shot
# indexer, two app nodes on :7861 and :7862 with empty index folders under .nodes/. Ctrl-C stops it.
nodes: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python scripts/nodes.py

# Debian's chromium for the browser tests (never a browser download by a test tool).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: install Debian's chromium to run the browser tests"; fi; }

# The layer rules first (import-linter, pyproject's [tool.importlinter]), then the main suite.
test: $(STAMP) system-deps
	$(BIN)/lint-imports --no-cache
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not llm and not load" -q

# Slower tiers: a real LLM server, load and crash tests.
# llama.cpp is compiled for AVX2, not -march=native: the native build (AVX-512 and AMX kernels)
# segfaults in its first decode on this project's Sapphire Rapids VM. --no-cache-dir: pip would
# otherwise reuse a wheel it cached from a native build (its cache key ignores CMAKE_ARGS).
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
LLM_STAMP := $(VENV)/.llm-server-avx2
LLAMA_PIN := $(shell sed -n 's/.*"llama-cpp-python\[server\]\(==[0-9.]*\)".*/llama-cpp-python\1/p' pyproject.toml)

$(LLM_STAMP): $(STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -q --no-cache-dir --force-reinstall --no-deps '$(LLAMA_PIN)'
	$(BIN)/pip install -q -e '.[llm-server]'
	touch $(LLM_STAMP)

test-slow: $(LLM_STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "llm or load" -q; rc=$$?; [ $$rc -eq 5 ] && exit 0 || exit $$rc

corpus: $(STAMP)
	$(BIN)/python scripts/build_corpus.py

clean:
	rm -rf index models
