# vjsearch build entry points. `make run` and `make test` work on a fresh Debian 12 machine.
SHELL := /bin/bash
SWIFT ?= swift
# Debian packages the build, the tests and the sample run need.
APT_PACKAGES := libopenblas-dev liblmdb-dev libavformat-dev libavcodec-dev libswscale-dev libavutil-dev pkg-config ffmpeg \
	chromium chromium-driver wrk python3-venv postgresql-15 iproute2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE_BIN := .build/release/vjsearch
MANUAL_TOOL := .build/release/generate-manual
# Release builds link the Swift standard library and Foundation statically, so an installed binary needs no
# toolchain at run time, only Debian's OpenBLAS, LMDB and FFmpeg libraries.
RELEASE_FLAGS := -c release --static-swift-stdlib
PREFIX ?= $(HOME)/.local

.PHONY: deps build release run test install uninstall deb bench clean

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
	$(SWIFT) build $(RELEASE_FLAGS)
	$(SWIFT) build $(RELEASE_FLAGS) --product generate-manual

## install: the release binary, the model bundles, man pages, bash/zsh/fish completions and the systemd user unit
## under PREFIX (default ~/.local); a failed install leaves PREFIX as it was. uninstall removes what it installed.
install: release
	Tools/install.sh install "$(PREFIX)" $(RELEASE_BIN) $(MANUAL_TOOL)

uninstall:
	Tools/install.sh uninstall "$(PREFIX)"

## deb: .build/vjsearch_VERSION_ARCH.deb with the same files under /usr; `apt-get install ./.build/vjsearch_*.deb`.
deb: release
	Tools/make-deb $(RELEASE_BIN) $(MANUAL_TOOL) .build

## run: build in release mode, index Samples/ (with the synthetic long videos under Samples/synth/) into a
## library under .build/ with the default model Models/vljepa-mini and run example queries; then index the real
## sample with Models/objects into a second library and query it.
DEMO_LIBRARY := .build/demo-library
# Known answers (Samples/synth/samples.jsonl): samples_000000.mp4 19.3-23.4 s, samples_000002.mp4 0.5-3.7 s,
# samples_000002.mp4 11.5-15.0 s, samples_000001.mp4 6.5-10.9 s.
DEMO_QUERIES := "a red star falls" "a blue ring moves to the left" "a green square grows" "three red balls move down"
# The real-footage model on the real sample (Big Buck Bunny): its own library, since models never mix in one.
# "a car" and "a pizza" are not in it: their scores show the gap.
OBJECTS_LIBRARY := .build/demo-objects
OBJECTS_QUERIES := "a rabbit" "a butterfly" "a squirrel" "a car" "a pizza"
run: release
	$(RELEASE_BIN) probe Samples/*.mp4
	$(RELEASE_BIN) segments Samples/bigbuckbunny.mp4
	@# A library made with another model (exit status 65) is rebuilt from scratch.
	$(RELEASE_BIN) index Samples --library $(DEMO_LIBRARY) || { rc=$$?; [ $$rc = 65 ] || exit $$rc; \
	  rm -rf $(DEMO_LIBRARY); $(RELEASE_BIN) index Samples --library $(DEMO_LIBRARY); }
	$(RELEASE_BIN) status --library $(DEMO_LIBRARY)
	@for q in $(DEMO_QUERIES); do \
	  echo; echo "query: $$q"; \
	  $(RELEASE_BIN) query "$$q" --library $(DEMO_LIBRARY) --top 5 || exit $$?; \
	done
	@echo; echo "real footage: Samples/bigbuckbunny*.mp4 with --model objects"
	$(RELEASE_BIN) index Samples/bigbuckbunny.mp4 Samples/bigbuckbunny-portrait.mp4 --model objects --library $(OBJECTS_LIBRARY) \
	  || { rc=$$?; [ $$rc = 65 ] || exit $$rc; rm -rf $(OBJECTS_LIBRARY); \
	       $(RELEASE_BIN) index Samples/bigbuckbunny.mp4 Samples/bigbuckbunny-portrait.mp4 --model objects --library $(OBJECTS_LIBRARY); }
	@for q in $(OBJECTS_QUERIES); do \
	  echo; echo "query: $$q"; \
	  $(RELEASE_BIN) query "$$q" --library $(OBJECTS_LIBRARY) --top 3 || exit $$?; \
	done

## test: build and run the whole test suite, then check the README's quoted output (Tools/readme-examples), the
## web app in headless Chromium (Tools/browser-test, in Tools/.venv) and an install into a temporary prefix
## (Tools/test-install, with the release build).
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test
	Tools/readme-examples
	Tools/setup-venv.sh > /dev/null
	Tools/browser-test --screenshot .build/browser-test.png
	$(MAKE) release
	Tools/test-install $(RELEASE_BIN) $(MANUAL_TOOL)

clean:
	rm -rf .build
