#!/usr/bin/env bash
# `gohaka check` against `haproxy -c` on the same generated 100,000+ line
# config, alternating A B A B; prints each time and the ratio gohaka/haproxy
# (min/median/max). Needs haproxy installed and bin/gohaka built.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash testdata/bench/gen-big.sh > "$tmp/big.cfg"
echo "config: $(wc -l < "$tmp/big.cfg") lines, $(du -h "$tmp/big.cfg" | cut -f1)"
command -v haproxy >/dev/null || { echo "haproxy not installed: apt-get install haproxy"; exit 1; }
[ -x bin/gohaka ] || go build -o bin/gohaka ./cmd/gohaka
t() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
ratios=()
for i in $(seq "$runs"); do
	g=$(t bin/gohaka check -f "$tmp/big.cfg")
	h=$(t unshare -n haproxy -c -f "$tmp/big.cfg")
	r=$(awk -v g="$g" -v h="$h" 'BEGIN { printf "%.3f", g / h }')
	echo "run $i: gohaka ${g} ms, haproxy ${h} ms, ratio $r"
	ratios+=("$r")
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "ratio gohaka/haproxy: min %s median %s max %s\n", a[1], a[int((NR + 1) / 2)], a[NR] }'
