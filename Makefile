# persona-proxy — the two commands a newcomer needs are `make run` and `make test`.
SWIFT ?= swift
PREFIX ?= /usr/local
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build release run test install install-files clean

# GRDB links the system SQLite: its headers come from libsqlite3-dev.
deps:
	@dpkg -s libsqlite3-dev >/dev/null 2>&1 || { \
	  echo "installing libsqlite3-dev (needed to build GRDB against the system SQLite)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq libsqlite3-dev; }
	@command -v promtool >/dev/null 2>&1 || { \
	  echo "installing prometheus (promtool lints /metrics in the tests)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends prometheus; }
	@python3 -c "import pytest" 2>/dev/null || { echo "installing pytest"; python3 -m pip install -q pytest; }
	@python3 -c "import jsonschema" 2>/dev/null || { \
	  echo "installing python3 jsonschema (the simulator's spec-conformance test uses it)"; \
	  python3 -m pip install -q jsonschema; }

build: deps
	$(SWIFT) build --product persona-proxy

release: deps
	$(SWIFT) build -c release --product persona-proxy

# The simulator and the proxy in one process: proxy on 127.0.0.1:8080, cache in ./data/.
run: build
	.build/debug/persona-proxy demo

# Unit, router and live tests (Swift Testing), then the black-box acceptance tests of the real
# binary against an independently written fake Persona (pytest).
test: deps
	$(SWIFT) build --product persona-proxy
	$(SWIFT) test
	python3 -m pytest -p no:cacheprovider -q Tests/acceptance

# Binary, unit, sample configuration and the credential directory (with instructions, never a
# placeholder key). Existing configuration and keys are left alone.
#
# The configuration is world-readable (0644 in a 0755 directory): the unit runs as a dynamic user
# that must read it at start and again on every reload, and it holds no secret (the API key is a
# separate root-only file that systemd hands over with LoadCredential=). A credential would be
# copied once at start, so `systemctl reload` would re-read a stale copy.
install: release install-files

BINARY ?= .build/release/persona-proxy
install-files:
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/etc/systemd/system
	install -d -m 0755 $(DESTDIR)/etc/persona-proxy
	install -m 0755 $(BINARY) $(DESTDIR)$(PREFIX)/bin/persona-proxy
	install -m 0644 systemd/persona-proxy.service $(DESTDIR)/etc/systemd/system/persona-proxy.service
	[ -e $(DESTDIR)/etc/persona-proxy/persona-proxy.yaml ] || install -m 0644 config/persona-proxy.yaml $(DESTDIR)/etc/persona-proxy/persona-proxy.yaml
	install -m 0644 systemd/api-key.README $(DESTDIR)/etc/persona-proxy/api-key.README
	@[ -e $(DESTDIR)/etc/persona-proxy/api-key ] || echo "Now put the Persona API key in /etc/persona-proxy/api-key: see /etc/persona-proxy/api-key.README"

clean:
	rm -rf .build data
