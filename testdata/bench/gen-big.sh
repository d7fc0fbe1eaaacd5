#!/usr/bin/env bash
# Writes a large haproxy.cfg: one frontend ACL-routing to N backends of M
# servers each (defaults: 5000 backends of 20 servers, ~120,000 lines).
# Usage: gen-big.sh [backends] [servers] > big.cfg
set -euo pipefail
nb=${1:-5000}
ns=${2:-20}
awk -v nb="$nb" -v ns="$ns" 'BEGIN {
	print "global\n    maxconn 100000\n"
	print "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n"
	print "frontend www\n    bind 127.0.0.1:18080"
	for (b = 0; b < nb; b++) printf "    acl host_%d hdr(host) -i app%d.example.com\n", b, b
	for (b = 0; b < nb; b++) printf "    use_backend be_%d if host_%d\n", b, b
	print "    default_backend be_0\n"
	for (b = 0; b < nb; b++) {
		printf "backend be_%d\n    balance roundrobin\n", b
		for (s = 0; s < ns; s++) printf "    server s%d 10.%d.%d.%d:80 check weight %d\n", s, int(b / 250), b % 250, s + 1, s + 1
		print ""
	}
}'
