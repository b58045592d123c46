# Pico W web server: run and test on the MicroPython unix port, deploy to a board.
#   make run    serve the application at http://127.0.0.1:8080 (PORT=, HEAP=)
#   make test   set up and run the whole test suite
#   make soak   60 s of mixed abusive and normal traffic against the server

PYTHON ?= python3
VENV ?= .venv
PORT ?= 8080
HOST ?= 127.0.0.1
HEAP ?= 180K
SOAK_SECONDS ?= 60

# The unix port, from the venv unless MICROPYTHON names another build.
VENV_MICROPYTHON := $(abspath $(VENV))/bin/micropython
MICROPYTHON ?= $(VENV_MICROPYTHON)
export MICROPYTHON
# .frozen holds the firmware's own modules (asyncio); lib/ is ours.
MICROPYPATH := .frozen:lib:.

.PHONY: help setup run test soak clean

help:
	@sed -n 's/^#   //p' Makefile

$(VENV)/.ready: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

setup: $(VENV)/.ready
	@$(MICROPYTHON) -c "import sys; print('MicroPython', sys.version)" \
		|| { echo "error: cannot run MICROPYTHON=$(MICROPYTHON)"; exit 1; }

run: setup
	MICROPYPATH=$(MICROPYPATH) PICO_HOST=$(HOST) PICO_PORT=$(PORT) \
		$(MICROPYTHON) -X heapsize=$(HEAP) main.py

test: setup
	$(VENV)/bin/pytest tests

soak: setup
	SOAK_SECONDS=$(SOAK_SECONDS) $(VENV)/bin/pytest tests/test_soak.py -v

clean:
	rm -rf $(VENV) build test-artifacts .pytest_cache
