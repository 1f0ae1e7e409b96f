# The two set-up commands of the README:
#   make run    installs what is missing, builds, and runs `capstan server` on the embedded store
#   make test   installs what is missing, builds, and runs every test (what CI runs)
JOBS ?= $(shell nproc)
BUILD ?= build
ARGS ?=

.PHONY: run test build deps clean

deps:
	scripts/install-deps.sh build

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS) --target capstan

run: build
	$(BUILD)/bin/capstan server $(ARGS)

test:
	scripts/test.sh

clean:
	rm -rf build build-asan
