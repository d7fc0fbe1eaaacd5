# gohaka build and test entry points. `make run` starts the demo, `make test`
# is what CI runs.
GO      ?= go
BIN     := bin/gohaka
PKGS    := ./...
DEMO_HA := testdata/demo/haproxy.cfg

.PHONY: build run test bench fuzz lint clean install

build:
	$(GO) build -o $(BIN) ./cmd/gohaka

run: build
	$(BIN) check -f $(DEMO_HA)

test:
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 12m $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	bash testdata/bench/check-vs-haproxy.sh
	bash testdata/bench/ka-check-vs-keepalived.sh

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzHAProxyReader -fuzztime 60s ./parser

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet $(PKGS)

clean:
	rm -rf bin
