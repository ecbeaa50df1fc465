# sessionlab — build, test and demo targets. `make test` and `make demo` install what they need.
GO          ?= go
BIN         ?= bin
# Debian packages the local runtime runs; installed by `make deps` when their binary is missing.
DEB_NGINX   ?= nginx

.PHONY: all build deps test test-short vet bench demo clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/sessionlab ./cmd/fakeapp

# deps installs Debian packages whose binaries are missing, without starting their system services
# (policy-rc.d answers 101 while apt runs). A second run finds everything and does nothing.
deps:
	@missing=""; \
	for pair in nginx:$(DEB_NGINX); do \
	  bin=$${pair%%:*}; pkg=$${pair#*:}; \
	  PATH="$$PATH:/usr/sbin:/sbin" command -v $$bin >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	echo "deps: installing Debian packages:$$missing"; \
	sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	created=""; \
	if [ ! -e /usr/sbin/policy-rc.d ]; then \
	  printf '#!/bin/sh\nexit 101\n' | $$sudo tee /usr/sbin/policy-rc.d >/dev/null && $$sudo chmod +x /usr/sbin/policy-rc.d && created=1; \
	fi; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	rc=$$?; \
	[ -z "$$created" ] || $$sudo rm -f /usr/sbin/policy-rc.d; \
	exit $$rc

vet:
	$(GO) vet ./...

test: deps vet
	$(GO) test -race -count=1 ./...

test-short: vet
	$(GO) test -short -count=1 ./...

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

demo: deps
	$(GO) run ./cmd/sessionlab compare --strategies round-robin,ip-hash scenarios/rr-memory.yaml

clean:
	rm -rf $(BIN)
