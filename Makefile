# gohaka build and test entry points. `make run` starts the demo, `make test`
# is what CI runs.
GO      ?= go
BIN     := bin/gohaka
PKGS    := ./...
DEMO_HA := testdata/demo/haproxy.cfg

PREFIX  ?= /usr/local
SBINDIR := $(DESTDIR)$(PREFIX)/sbin

.PHONY: build run test bench cachebench fuzz lint clean install

# CGO_ENABLED=0: only a binary without cgo can keep capabilities on
# every thread after `user`/`group` drop root (see cmd/gohaka/privdrop.go).
build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/gohaka

run: build
	$(BIN) check -f $(DEMO_HA)
	@echo "demo: curl http://127.0.0.1:8080/ (Ctrl-C stops)"
	$(BIN) run -f $(DEMO_HA)

test:
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 12m $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	GOHAKA_BENCH=1 taskset -c 1 $(GO) test ./proxy -run 'Bench(HTTP)?VsHAProxy' -v -timeout 20m
	bash testdata/bench/check-vs-haproxy.sh
	bash testdata/bench/ka-check-vs-keepalived.sh

# cache misses per http request next to haproxy, under valgrind's
# cachegrind: counts that repeat where requests/s on a shared machine do not
cachebench:
	GOHAKA_CACHEGRIND=1 $(GO) test ./proxy -run 'TestCacheHTTPVsHAProxy' -v -timeout 10m

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzHAProxyReader -fuzztime 60s ./parser
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./vrrp
	$(GO) test -run '^$$' -fuzz FuzzBalancers -fuzztime 30s ./balance
	$(GO) test -run '^$$' -fuzz FuzzParseRequest -fuzztime 30s ./proxy/h1
	$(GO) test -run '^$$' -fuzz FuzzParseDNSAnswer -fuzztime 30s ./proxy
	$(GO) test -run '^$$' -fuzz FuzzParseResponse -fuzztime 30s ./proxy/h1
	$(GO) test -run '^$$' -fuzz FuzzHTTPProxy -fuzztime 60s -fuzzminimizetime 3s ./proxy
	$(GO) test -run '^$$' -fuzz FuzzHelloSNI -fuzztime 20s ./proxy
	$(GO) test -run '^$$' -fuzz FuzzKeepalivedReader -fuzztime 30s ./parser
	$(GO) test -run '^$$' -fuzz FuzzRequestKeys -fuzztime 20s ./balance
	$(GO) test -run '^$$' -fuzz FuzzParseAgentReply -fuzztime 20s ./check
	$(GO) test -run '^$$' -fuzz FuzzReplyParsers -fuzztime 20s ./check

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet $(PKGS)

# install puts gohaka in $(PREFIX)/sbin with the haproxy and keepalived
# names linked to it; the binary picks its behaviour from the name.
install: build
	install -d $(SBINDIR)
	install -m 0755 $(BIN) $(SBINDIR)/gohaka
	ln -sf gohaka $(SBINDIR)/haproxy
	ln -sf gohaka $(SBINDIR)/keepalived

clean:
	rm -rf bin
