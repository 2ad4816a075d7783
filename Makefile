# vjsearch build entry points. `make run` and `make test` work on a fresh Debian 12 machine.
SHELL := /bin/bash
SWIFT ?= swift
# Debian packages the build, the tests and the sample run need.
APT_PACKAGES := libopenblas-dev liblmdb-dev libavformat-dev libavcodec-dev libswscale-dev libavutil-dev pkg-config ffmpeg
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE_BIN := .build/release/vjsearch

.PHONY: deps build release run test bench clean

## deps: install the Debian packages that are missing (apt-get runs only when one is).
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## run: build in release mode and run vjsearch on the bundled samples.
run: release
	$(RELEASE_BIN) probe Samples/*.mp4
	$(RELEASE_BIN) segments Samples/bigbuckbunny.mp4 --window 2 --stride 1 --frames 8

## test: build and run the whole test suite.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test

clean:
	rm -rf .build
