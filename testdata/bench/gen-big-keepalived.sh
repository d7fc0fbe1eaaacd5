#!/usr/bin/env bash
# Writes a ~20,000-line keepalived.conf: N vrrp_instances on eth0 (default
# 250 instances with 60 VIPs each). Usage: gen-big-keepalived.sh [n] > big.conf
set -euo pipefail
n=${1:-250}
awk -v n="$n" 'BEGIN {
	print "global_defs {\n    router_id bench\n    enable_script_security\n}\n"
	for (i = 0; i < n; i++) {
		printf "vrrp_instance VI_%d {\n    state BACKUP\n    interface eth0\n    virtual_router_id %d\n", i, i % 255 + 1
		printf "    priority %d\n    advert_int 1\n    authentication {\n        auth_type PASS\n        auth_pass pw%d\n    }\n", 100 + i % 100, i
		print "    virtual_ipaddress {"
		for (v = 0; v < 60; v++) printf "        10.%d.%d.%d/24 dev eth0\n", int(i / 250), i % 250, v + 1
		print "    }\n}\n"
	}
}'
