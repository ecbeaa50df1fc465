# sessionlab — build, test and demo targets. `make test` and `make demo` install what they need.
GO          ?= go
BIN         ?= bin
# Debian packages the local runtime runs; installed by `make deps` when their binary is missing.
DEB_NGINX   ?= nginx
DEB_HAPROXY ?= haproxy
DEB_REDIS   ?= redis-server
# Headless Chromium opens the HTML report in the tests (it must fetch nothing) and takes the picture under docs/.
DEB_CHROMIUM ?= chromium
# The Go programs sessionlab runs and Debian lacks (Caddy new enough for a PROXY-protocol listener, OAuth2-Proxy) are
# built by `sessionlab install NAME` at the versions it pins, once per machine, into the per-user tool cache.
# The strategies and balancers `make demo` compares; a pair a balancer cannot run is a row that says why.
DEMO_STRATEGIES ?= round-robin,least-conn,ip-hash,hash-cookie,learn-cookie,cookie-insert,cookie-balanced,client-ip-sticky
DEMO_BALANCERS  ?= nginx,haproxy,caddy,traefik

.PHONY: all build lint deps deps-debian deps-tools wakapi-check bench-clients test test-images test-short fuzz vet bench scale demo screenshot clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/sessionlab

# deps installs Debian packages whose binaries are missing, without starting their system services
# (policy-rc.d answers 101 while apt runs), and the Go programs the runs need. A second run finds everything and does
# nothing. DEPS_TOOLS names the Go programs (make demo needs only caddy).
DEPS_TOOLS ?= caddy oauth2-proxy traefik
deps: deps-debian deps-tools

deps-tools:
	@$(GO) build -o $(BIN)/ ./cmd/sessionlab
	$(BIN)/sessionlab install $(DEPS_TOOLS)

deps-debian:
	@missing=""; \
	for pair in nginx:$(DEB_NGINX) haproxy:$(DEB_HAPROXY) redis-server:$(DEB_REDIS) chromium:$(DEB_CHROMIUM) $(DEB_EXTRA); do \
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

# Go programs the project builds for itself land in the per-user cache, where every clone and CI run finds them
# (sessionlab install uses the same place for the balancers it builds).
TOOL_CACHE ?= $(or $(SESSIONLAB_TOOLS),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/sessionlab/tools)
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK := $(TOOL_CACHE)/staticcheck-$(STATICCHECK_VERSION)/staticcheck

$(STATICCHECK):
	@echo "lint: building staticcheck $(STATICCHECK_VERSION) from the Go module proxy"
	GOFLAGS= GOBIN=$(dir $@) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# lint: formatting, go vet and staticcheck, all clean or it fails.
lint: $(STATICCHECK)
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "lint: gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

# The docker rows of the tests need the images; where no Docker engine answers they are skipped, saying so. A
# missing balancer binary fails the tests here instead of skipping them (SESSIONLAB_REQUIRE), since deps installs
# them. testcontainers' reaper is off for the tests, as for the CLI: runs remove their own containers, and its image
# cannot be pulled.
test: deps lint test-images
	SESSIONLAB_REQUIRE=1 TESTCONTAINERS_RYUK_DISABLED=$${TESTCONTAINERS_RYUK_DISABLED:-true} \
	  $(GO) test -race -count=1 -timeout 25m ./...
	@# The users' sockets are read and written with direct calls, which race builds trade for package syscall's
	@# annotated ones (clients/internal/wire/sys_race.go): the clients' tests once more, as the command runs them.
	$(GO) test -count=1 ./clients/...
	$(MAKE) --no-print-directory fuzz

# Each fuzz target runs for FUZZTIME; a crasher it finds is written under the package's testdata/fuzz, where it
# becomes a test case of every later `go test`. Go 1.26's fuzz coordinator may fail a target with a bare "context
# deadline exceeded" as FUZZTIME ends (golang/go issue 75804, fixed in Go 1.27): such a run, which wrote no failing
# input, is run once more; a second one, or any other failure, fails.
FUZZTIME ?= 20s
FUZZ_TARGETS ?= FuzzParse:./harness/scenario FuzzCompile:./harness/internal/plan FuzzRead:./clients/events FuzzReadLog:./reports FuzzAppendJSON:./clients/events FuzzReadResponse:./clients/internal/wire
fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  name=$${t%%:*}; pkg=$${t#*:}; \
	  for try in 1 2; do \
	    echo "fuzz: $$name in $$pkg for $(FUZZTIME)"; \
	    out=$$($(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg 2>&1); rc=$$?; echo "$$out"; \
	    [ $$rc -eq 0 ] && break; \
	    if [ $$try -eq 1 ] && echo "$$out" | grep -q 'context deadline exceeded' && ! echo "$$out" | grep -q 'Failing input written'; then \
	      echo "fuzz: $$name stopped at the end of FUZZTIME with no failing input (Go's coordinator race, golang/go issue 75804): once more"; \
	      continue; \
	    fi; \
	    exit 1; \
	  done; \
	done

test-images:
	@if docker info >/dev/null 2>&1; then $(MAKE) --no-print-directory images; \
	else echo "test: no Docker engine reachable: the docker rows will be skipped"; fi

# The fast loop: seconds, no process started (the examples and integration tests skip themselves under -short).
test-short:
	$(GO) test -short -count=1 ./...

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

# What the simulated users cost the machine: one stack (nginx, one worker, 3 fakeapp replicas with sealed-cookie
# sessions) driven in turn by wrk, a naive net/http client and sessionlab in target mode; CPU per request, req/s and
# peak memory side by side, with the ratios to wrk. wrk comes from Debian's packages.
BENCH_USERS ?= 2000
bench-clients: build
	@$(MAKE) --no-print-directory deps-debian DEB_EXTRA=wrk:wrk
	$(GO) build -o $(BIN)/benchclients ./cmd/benchclients
	$(BIN)/benchclients -users $(BENCH_USERS) -sessionlab $(BIN)/sessionlab

# The scale run: 100,000 users against real nginx and fakeapp processes (about two minutes).
scale: deps
	SESSIONLAB_SCALE=1 $(GO) test -count=1 -timeout 20m -run "TestHundredThousandUsers|TestFiftyThousandAtOnce" -v ./scenarios

# The main job: every strategy on the four balancers, on the default scenario. The text table goes to stdout; every
# format goes to $(DEMO_OUT) (report.html is the one to open), and each variant's event log to $(DEMO_OUT)/events.
DEMO_OUT ?= out
demo:
	@$(MAKE) --no-print-directory deps DEPS_TOOLS="caddy traefik"
	$(GO) run ./cmd/sessionlab compare --balancers $(DEMO_BALANCERS) --strategies $(DEMO_STRATEGIES) \
	  --format text,json,markdown,html,junit --out $(DEMO_OUT) --events $(DEMO_OUT)/events scenarios/rr-memory.yaml

# The Wakapi recipe (docs/own-app.md, scenarios/recipes/wakapi.yaml) against your own Wakapi build, which no module proxy
# serves: a cookie key per process must loop (sessionlab exits 1 on the unmet expectation), one WAKAPI_COOKIE_KEY on
# every replica must not (exit 0).
WAKAPI ?=
wakapi-check: deps build
	@[ -n "$(WAKAPI)" ] && [ -x "$(WAKAPI)" ] || { echo "wakapi-check: set WAKAPI=/path/to/your/wakapi (go build in its checkout)"; exit 2; }
	@echo "wakapi-check 1/2: a cookie key per process: the login loop, expectation unmet (want exit 1)"; \
	$(BIN)/sessionlab run --set 'app.command=["$(abspath $(WAKAPI))"]' scenarios/recipes/wakapi.yaml; rc=$$?; \
	[ $$rc -eq 1 ] || { echo "wakapi-check: want exit 1 (the loop), got $$rc"; exit 1; }; \
	echo "wakapi-check 2/2: one WAKAPI_COOKIE_KEY on every replica: no failure (want exit 0)"; \
	$(BIN)/sessionlab run --set 'app.command=["$(abspath $(WAKAPI))"]' --set 'app.env.WAKAPI_COOKIE_KEY="{{.Secret}}"' \
	  scenarios/recipes/wakapi.yaml || { echo "wakapi-check: the fix did not hold"; exit 1; }; \
	echo "wakapi-check: the loop and its fix reproduced"

# The picture of the demo's HTML report in docs/, taken by Debian's headless Chromium.
SCREENSHOT ?= docs/report.png
screenshot:
	@[ -f $(DEMO_OUT)/report.html ] || $(MAKE) --no-print-directory demo
	mkdir -p $(dir $(SCREENSHOT))
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,1500 \
	  --screenshot=$(abspath $(SCREENSHOT)) file://$(abspath $(DEMO_OUT))/report.html

clean:
	rm -rf $(BIN) $(DEMO_OUT)

# Container images for `--runtime docker`, all built on this machine: nothing is pulled (see docker/build-images.sh).
# Names are settings: with a registry, point them at official images instead.
# Image names are settings: the same SESSIONLAB_IMAGE_* variables, from make's command line or the environment,
# name the images `make images` builds and the ones the docker runtime runs.
SESSIONLAB_IMAGE_DEBIAN  ?= sessionlab/debian:bookworm
SESSIONLAB_IMAGE_NGINX   ?= sessionlab/nginx:bookworm
SESSIONLAB_IMAGE_HAPROXY ?= sessionlab/haproxy:bookworm
SESSIONLAB_IMAGE_REDIS   ?= sessionlab/redis:bookworm
SESSIONLAB_IMAGE_FAKEAPP ?= sessionlab/fakeapp:dev
SESSIONLAB_IMAGE_SESSIONLAB ?= sessionlab/sessionlab:dev
# The Caddy image is tagged with the version sessionlab pins (read off the tool cache's directory, caddy-VERSION),
# which is the docker runtime's default too.
export SESSIONLAB_IMAGE_DEBIAN SESSIONLAB_IMAGE_NGINX SESSIONLAB_IMAGE_HAPROXY SESSIONLAB_IMAGE_REDIS SESSIONLAB_IMAGE_FAKEAPP SESSIONLAB_IMAGE_SESSIONLAB

.PHONY: images clean-images clean-docker

images:
	@$(MAKE) --no-print-directory deps-tools DEPS_TOOLS="caddy traefik"
	@caddy=$$($(BIN)/sessionlab install caddy | sed 's/^caddy: //'); version=$$(basename $$(dirname $$caddy) | sed 's/^caddy-//'); \
	traefik=$$($(BIN)/sessionlab install traefik | sed 's/^traefik: //'); tversion=$$(basename $$(dirname $$traefik) | sed 's/^traefik-//'); \
	IMAGE_DEBIAN='$(SESSIONLAB_IMAGE_DEBIAN)' IMAGE_NGINX='$(SESSIONLAB_IMAGE_NGINX)' IMAGE_HAPROXY='$(SESSIONLAB_IMAGE_HAPROXY)' \
	IMAGE_REDIS='$(SESSIONLAB_IMAGE_REDIS)' IMAGE_FAKEAPP='$(SESSIONLAB_IMAGE_FAKEAPP)' IMAGE_SESSIONLAB='$(SESSIONLAB_IMAGE_SESSIONLAB)' \
	IMAGE_CADDY="$${SESSIONLAB_IMAGE_CADDY:-sessionlab/caddy:$$version}" CADDY_BIN="$$caddy" \
	IMAGE_TRAEFIK="$${SESSIONLAB_IMAGE_TRAEFIK:-sessionlab/traefik:$$tversion}" TRAEFIK_BIN="$$traefik" \
	GO='$(GO)' bash docker/build-images.sh

# Derived images first, the base last; images that are not there are skipped.
clean-images:
	@for img in $$(docker image ls -q 'sessionlab/caddy') $$(docker image ls -q 'sessionlab/traefik') $(SESSIONLAB_IMAGE_SESSIONLAB) $(SESSIONLAB_IMAGE_FAKEAPP) $(SESSIONLAB_IMAGE_NGINX) $(SESSIONLAB_IMAGE_HAPROXY) $(SESSIONLAB_IMAGE_REDIS) $(SESSIONLAB_IMAGE_DEBIAN); do \
	  if docker image inspect $$img >/dev/null 2>&1; then docker image rm $$img >/dev/null && echo "removed $$img"; fi; \
	done
	@docker image prune --force --filter label=org.sessionlab.image=1 >/dev/null
	rm -f docker/fakeapp/sessionlab docker/sessionlab/sessionlab docker/caddy/caddy docker/traefik/traefik

# Remove every container and network a sessionlab run created, including those of runs that were killed.
clean-docker:
	$(GO) run ./cmd/sessionlab cleanup --all
