#!/usr/bin/env bash
# bench/syscalls.sh - system calls ternd makes per relayed packet (per
# allocation cycle), counted by the kernel's syscall tracepoints.
#
# usage: bash bench/syscalls.sh [--build DIR] [--seconds S] [CASE...]
#
#   --build DIR  a build tree with daemon/ternd and bench/tern-loadgen
#                (default build/bench)
#   --seconds S  how long perf counts, inside the load's steady state (default 2)
#   CASE         cd-100B-a10 cd-100B-a100 ind-100B-a100 cycle cycle-sat
#                (default: all)
#
# For each case it starts ternd (one worker, pinned to CPU 1), starts
# tern-loadgen (CPU 0), waits for the warm-up, and runs
# `perf stat -e 'syscalls:sys_enter_*' -p PID` on the server for S seconds.
# It prints the count of every system call made, and their sum divided by the
# packets (cycles) the load generator reports per second times S. The counts
# depend on how work batches up, not on how fast the CPU is, so they can be
# compared across runs on a busy machine where timings cannot. Needs perf
# (linux-perf) and root (or kernel.perf_event_paranoid <= -1). Every process
# it starts is killed by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/bench
secs=2
cases=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	--build) build=$2; shift ;;
	--seconds) secs=$2; shift ;;
	-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	*) cases+=("$1") ;;
	esac
	shift
done
[[ ${#cases[@]} -gt 0 ]] || cases=(cd-100B-a10 cd-100B-a100 ind-100B-a100 cycle cycle-sat)
TERND=$build/daemon/ternd
LG=$build/bench/tern-loadgen
for f in "$TERND" "$LG"; do
	[[ -x $f ]] || { echo "bench/syscalls.sh: $f is missing" >&2; exit 1; }
done
command -v perf >/dev/null || { echo "bench/syscalls.sh: perf is missing (linux-perf)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
	local p i
	for i in $(seq 100); do
		p=$((5000 + RANDOM % 5000))
		ss -Hlun "sport = :$p" | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}

# one CASE: LOADGEN-ARGS...
measure() {
	local name=$1 port srv lg i line rate total
	shift
	port=$(free_port)
	taskset -c 1 "$TERND" --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 \
		--listening-port="$port" --min-port=10000 --max-port=32700 --realm=tern.bench \
		--user=bench:bench-password --allow-loopback-peers --no-tls --no-tcp \
		--relay-threads=1 --rfc5766-channel-numbers --total-quota=20000 2>"$tmp/ternd.log" &
	srv=$!
	pids+=("$srv")
	for i in $(seq 100); do
		ss -Hlun "sport = :$port" | grep -q . && break
		sleep 0.05
	done
	taskset -c 0 "$LG" --server "127.0.0.1:$port" --user bench --pass bench-password \
		--warmup 1.5 --duration "$((secs + 2))" "$@" >"$tmp/lg.out" 2>"$tmp/lg.err" &
	lg=$!
	pids+=("$lg")
	sleep 2
	perf stat -x, -e 'syscalls:sys_enter_*' -p "$srv" -- sleep "$secs" 2>"$tmp/perf.csv" || true
	wait "$lg" || { echo "$name: load generator failed" >&2; cat "$tmp/lg.err" >&2; }
	kill -TERM "$srv" 2>/dev/null || true
	wait "$srv" 2>/dev/null || true
	line=$(grep '^mode=' "$tmp/lg.out" | tail -1 || true)
	rate=$(tr ' ' '\n' <<<"$line" | awk -F= '$1 == "per_s" { print $2 }')
	awk -F, -v name="$name" -v rate="${rate:-0}" -v secs="$secs" '
		$1 ~ /^[0-9]+$/ && $1 > 0 { sub(/^syscalls:sys_enter_/, "", $3); c[$3] += $1; total += $1 }
		END {
			units = rate * secs
			if (units <= 0) units = 1
			printf "%-14s units/s %-9.0f syscalls %-8d per unit %.3f\n", name, rate, total, total / units
			for (k in c) printf "    %-16s %9d  %.3f\n", k, c[k], c[k] / units
		}' "$tmp/perf.csv"
}

for c in "${cases[@]}"; do
	case "$c" in
	cd-100B-a10) measure "$c" --mode relay --kind channel --flows 10 --size 100 --window 64 ;;
	cd-100B-a100) measure "$c" --mode relay --kind channel --flows 100 --size 100 --window 64 ;;
	ind-100B-a100) measure "$c" --mode relay --kind indication --flows 100 --size 100 --window 64 ;;
	cycle) measure "$c" --mode cycle --rate 3000 --src-ips 8192 ;;
	cycle-sat) measure "$c" --mode cycle --window 64 --src-ips 8192 ;;
	*) echo "bench/syscalls.sh: unknown case $c" >&2; exit 2 ;;
	esac
done
