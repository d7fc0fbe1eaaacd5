#!/usr/bin/env bash
# `gohaka check -k` against `keepalived -t` on the same generated 20,000-line
# keepalived.conf, alternating A B A B, in a network namespace with eth0.
# Prints each time and the ratio gohaka/keepalived (min/median/max). Root.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-5}
tmp=$(mktemp -d)
ns=gohaka-bench-$$
trap 'rm -rf "$tmp"; ip netns del "$ns" 2>/dev/null || true' EXIT
bash testdata/bench/gen-big-keepalived.sh > "$tmp/big.conf"
echo "config: $(wc -l < "$tmp/big.conf") lines"
ip netns add "$ns"
ip -n "$ns" link add eth0 type veth peer name gkb0
[ -x bin/gohaka ] || go build -o bin/gohaka ./cmd/gohaka
t() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
ratios=()
for i in $(seq "$runs"); do
	g=$(t ip netns exec "$ns" bin/gohaka check -k "$tmp/big.conf")
	k=$(t ip netns exec "$ns" keepalived -t -f "$tmp/big.conf")
	r=$(awk -v g="$g" -v k="$k" 'BEGIN { printf "%.3f", g / k }')
	echo "run $i: gohaka ${g} ms, keepalived ${k} ms, ratio $r"
	ratios+=("$r")
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "ratio gohaka/keepalived: min %s median %s max %s\n", a[1], a[int((NR + 1) / 2)], a[NR] }'
