#!/usr/bin/env bash
# tests/interop.sh - ternd against third-party clients: Debian's coturn test
# tools (turnutils_uclient, turnutils_peer, turnutils_stunclient).
#
# usage: bash tests/interop.sh PATH-TO-TERND
#
# Starts ternd and turnutils_peer on ports that `ss` shows unused, runs
# turnutils_stunclient (Binding) and turnutils_uclient variants (UDP, TCP,
# TLS, Send indications, several clients, client-to-client, TURN REST,
# IPv6, DONT-FRAGMENT, padded ChannelData), and asserts that every uclient
# run lost no packet. The uclient runs go in parallel, each from its own
# 127.0.0.x source address (ternd limits 401s per source address). Prints a
# summary table; exits 1 if anything failed, or if a tool is missing (ci/deps
# installs coturn, openssl and iproute2): a missing client is a failure,
# never a skip. Every process it starts is killed by PID on exit.
#
# ternd runs with relay-threads=1: uclient's default RTP/RTCP pairs redeem a
# RESERVATION-TOKEN, which today only works when both allocations land on
# the same worker (see PENDING_TOKEN_ACROSS_WORKERS in test_daemon.c).
set -u

ternd=${1:?usage: interop.sh PATH-TO-TERND}
msgs=20

fail_setup() {
	echo "interop: FAIL: $*" >&2
	exit 1
}

for tool in turnutils_uclient turnutils_peer turnutils_stunclient openssl ss timeout; do
	command -v "$tool" >/dev/null || fail_setup "$tool not found (bash ci/deps installs it)"
done
[ -x "$ternd" ] || fail_setup "$ternd is not executable"
# ternd reads TERN_* variables: none from the caller's environment
while read -r v; do unset "$v"; done < <(compgen -e | grep '^TERN_' || true)

tmp=$(mktemp -d /tmp/tern-interop-XXXXXX) || fail_setup "mktemp"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# ------------------------------------------------------------------ ports
declare -A used=()
while read -r port; do used[$port]=1; done < <(ss -Hantu | awk '{n = split($5, a, ":"); print a[n]}')

# Sets $picked to the first of n consecutive ports below the kernel's ephemeral
# range that no TCP or UDP socket uses.
pick_ports() {
	local n=$1 base i ok tries
	for ((tries = 0; tries < 1000; tries++)); do
		base=$((20000 + RANDOM % (12000 - n)))
		ok=1
		for ((i = 0; i < n; i++)); do [ -n "${used[$((base + i))]:-}" ] && ok=0 && break; done
		if [ "$ok" = 1 ]; then
			for ((i = 0; i < n; i++)); do used[$((base + i))]=1; done
			picked=$base
			return
		fi
	done
	fail_setup "no $n free consecutive ports in 20000-31999"
}

pick_ports 1 && port=$picked
pick_ports 1 && tls_port=$picked
pick_ports 1 && peer_port=$picked
pick_ports 100 && min_port=$picked
max_port=$((min_port + 99))

# ------------------------------------------------------------------ servers
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	-keyout "$tmp/pkey.pem" -out "$tmp/cert.pem" >/dev/null 2>&1 || fail_setup "openssl req"

cat >"$tmp/ternd.conf" <<EOF
listening-ip=127.0.0.1
listening-ip=::1
relay-ip=127.0.0.1
relay-ip=::1
listening-port=$port
tls-listening-port=$tls_port
cert=$tmp/cert.pem
pkey=$tmp/pkey.pem
min-port=$min_port
max-port=$max_port
realm=tern.interop
user=demo:demo-password
use-auth-secret
static-auth-secret=interop-secret
allow-loopback-peers
relay-threads=1
rfc5766-channel-numbers
stop-grace=2
EOF

"$ternd" -c "$tmp/ternd.conf" >"$tmp/ternd.log" 2>&1 &
ternd_pid=$!
pids+=("$ternd_pid")
turnutils_peer -L 127.0.0.1 -L ::1 -p "$peer_port" >"$tmp/peer.log" 2>&1 &
pids+=("$!")

echo "interop: ternd on 127.0.0.1 and ::1 port $port (TLS $tls_port), relay ports $min_port-$max_port, peer port $peer_port"
ready=0
deadline=$((SECONDS + 20))
while [ "$SECONDS" -lt "$deadline" ]; do
	kill -0 "$ternd_pid" 2>/dev/null || break
	if timeout -k 1 2 turnutils_stunclient -p "$port" 127.0.0.1 >/dev/null 2>&1; then
		ready=1
		break
	fi
	sleep 0.1
done
if [ "$ready" != 1 ]; then
	cat "$tmp/ternd.log" >&2
	fail_setup "ternd did not answer on 127.0.0.1:$port"
fi

# ------------------------------------------------------------------ cases
names=()
results=()
details=()

record() { # record NAME RESULT DETAIL
	names+=("$1")
	results+=("$2")
	details+=("$3")
}

# Binding: the reflexive address is the client's own loopback address.
stun_case() { # stun_case NAME ADDRESS EXPECT
	local out
	out=$(timeout -k 1 10 turnutils_stunclient -p "$port" "$2" 2>&1)
	if grep -q "UDP reflexive addr: $3" <<<"$out"; then
		record "$1" PASS "$(grep -m1 -o "reflexive addr: .*" <<<"$out")"
	else
		record "$1" FAIL "no reflexive address: $(tail -n1 <<<"$out")"
	fi
}

# Start one uclient run in the background; its output goes to $tmp/uclient-N.out.
case_names=()
case_pids=()
uclient_case() { # uclient_case NAME ARGS...
	local name=$1
	shift
	timeout -k 5 60 turnutils_uclient -n "$msgs" -z 5 "$@" >"$tmp/uclient-${#case_pids[@]}.out" 2>&1 &
	case_pids+=("$!")
	pids+=("$!")
	case_names+=("$name")
}

# Pass: exit 0, "Total lost packets 0", every message sent came back.
judge() { # judge NAME OUTPUT RC
	local f=$2 rc=$3 lost sent recvd
	lost=$(grep -o 'Total lost packets [0-9]*' "$f" | tail -n1 | awk '{print $4}')
	sent=$(grep -o 'tot_send_msgs=[0-9]*, tot_recv_msgs=[0-9]*$' "$f" | tail -n1)
	recvd=${sent##*=}
	sent=${sent%%,*}
	sent=${sent#*=}
	if [ "$rc" = 0 ] && [ "$lost" = 0 ] && [ -n "$sent" ] && [ "$sent" -gt 0 ] &&
		[ "$sent" = "$recvd" ]; then
		record "$1" PASS "sent $sent, received $recvd, lost 0"
	else
		record "$1" FAIL "rc=$rc lost=${lost:-?} sent=${sent:-?} received=${recvd:-?}: $(grep -m1 -iE 'error|cannot|fail' "$f")"
	fi
}

auth=(-u demo -w demo-password)
v4peer=(-e 127.0.0.1 -r "$peer_port")

stun_case "stunclient UDP IPv4" 127.0.0.1 "127.0.0.1:"
stun_case "stunclient UDP IPv6" ::1 "::1:"

uclient_case "uclient UDP" -L 127.0.0.11 "${auth[@]}" -p "$port" "${v4peer[@]}" 127.0.0.1
uclient_case "uclient TCP (-t)" -t -L 127.0.0.12 "${auth[@]}" -p "$port" "${v4peer[@]}" 127.0.0.1
uclient_case "uclient TLS (-S -t)" -S -t -L 127.0.0.13 "${auth[@]}" -p "$tls_port" "${v4peer[@]}" 127.0.0.1
uclient_case "uclient Send/Data indications (-s)" -s -L 127.0.0.14 "${auth[@]}" -p "$port" "${v4peer[@]}" 127.0.0.1
uclient_case "uclient 5 clients (-m 5)" -m 5 -L 127.0.0.15 "${auth[@]}" -p "$port" "${v4peer[@]}" 127.0.0.1
uclient_case "uclient client-to-client (-y)" -y -L 127.0.0.16 "${auth[@]}" -p "$port" 127.0.0.1
uclient_case "uclient client-to-client TCP (-t -y)" -t -y -L 127.0.0.17 "${auth[@]}" -p "$port" 127.0.0.1
uclient_case "uclient TURN REST (-W)" -W interop-secret -u alice -L 127.0.0.18 -p "$port" "${v4peer[@]}" 127.0.0.1
uclient_case "uclient IPv6 (-x)" -x "${auth[@]}" -p "$port" -e ::1 -r "$peer_port" ::1
uclient_case "uclient DONT-FRAGMENT (-g)" -g -L 127.0.0.19 "${auth[@]}" -p "$port" "${v4peer[@]}" 127.0.0.1
uclient_case "uclient padded ChannelData (-D)" -D -L 127.0.0.20 "${auth[@]}" -p "$port" "${v4peer[@]}" 127.0.0.1

echo "interop: ${#case_pids[@]} turnutils_uclient runs started"
for i in "${!case_pids[@]}"; do
	wait "${case_pids[$i]}"
	judge "${case_names[$i]}" "$tmp/uclient-$i.out" "$?"
done
echo "interop: uclient runs done; stopping ternd"

# ternd stops cleanly on SIGTERM (under ASan: no leak or error report).
kill -TERM "$ternd_pid"
status=timeout
for _ in $(seq 100); do
	if ! kill -0 "$ternd_pid" 2>/dev/null; then
		wait "$ternd_pid"
		status=$?
		break
	fi
	sleep 0.1
done
if [ "$status" = 0 ] && ! grep -qE 'Sanitizer|runtime error' "$tmp/ternd.log"; then
	record "ternd stops cleanly on SIGTERM" PASS "exit 0"
else
	record "ternd stops cleanly on SIGTERM" FAIL "exit status $status"
fi

# ------------------------------------------------------------------ summary
failed=0
printf '\n%-40s %-6s %s\n' "case" "result" "detail"
printf '%-40s %-6s %s\n' "----" "------" "------"
for i in "${!names[@]}"; do
	printf '%-40s %-6s %s\n' "${names[$i]}" "${results[$i]}" "${details[$i]}"
	[ "${results[$i]}" = PASS ] || failed=$((failed + 1))
done
if [ "$failed" -gt 0 ]; then
	for i in "${!case_names[@]}"; do
		echo "==== ${case_names[$i]}: last lines" >&2
		tail -n 5 "$tmp/uclient-$i.out" >&2
	done
	echo "==== ternd log: last lines" >&2
	tail -n 40 "$tmp/ternd.log" >&2
	echo "interop: $failed of ${#names[@]} cases failed" >&2
	exit 1
fi
echo "interop: all ${#names[@]} cases passed"
