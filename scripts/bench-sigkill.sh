#!/usr/bin/env bash
# bench-sigkill.sh: how many frames a capture loses when it is killed with
# SIGKILL, `rawlab capture -w` beside `tcpdump -w` (issue 12 item 9).
#
# Builds its own lab (two network namespaces joined by a veth pair,
# addresses in 198.18.0.0/15, connected to nothing else). For each tool in
# turn: start it writing to /dev/shm, have trafgen (netsniff-ng) send
# FRAMES 60-byte UDP frames at RATE frames a second, one every 1/RATE s
# (one process, trafgen's --gap: a steady stream; its --rate sends in
# bursts, and then what is lost is how much of the last burst sits in the
# ring block the kernel has not handed over yet), and kill the tool with
# SIGKILL the moment trafgen is done.
# Nothing is flushed on the way out: what the file holds is what the tool
# had written when it died. "lost" is the frames that reached the
# capturing interface (its rx_packets counter) less the whole frames in the
# file; "lost ms" is that at RATE.
#
# Usage: scripts/bench-sigkill.sh            (as root)
# Environment: FRAMES (default 14912), RATE (default 10000 frames/s), RUNS
# (default 3; each run does both tools, alternating which goes first),
# RAWLAB (a rawlab binary; default: go build ./cmd/rawlab).
set -euo pipefail

FRAMES=${FRAMES:-14912}
RATE=${RATE:-10000}
RUNS=${RUNS:-3}

die() { echo "bench-sigkill: $*" >&2; exit 2; }
[[ $(id -u) == 0 ]] || die "run as root (network namespaces, raw sockets)"
for tool in ip trafgen tcpdump; do
	command -v "$tool" >/dev/null || die "$tool not installed (iproute2, netsniff-ng, tcpdump)"
done
[[ -d /dev/shm ]] || die "/dev/shm missing"

suffix=$$
NS_TX=rlkill-tx-$suffix
NS_RX=rlkill-rx-$suffix
IF_TX=kt$suffix
IF_RX=kr$suffix
IF_TX=${IF_TX:0:15}
IF_RX=${IF_RX:0:15}
FILE=/dev/shm/rlkill-$suffix.cap
work=$(mktemp -d /tmp/bench-sigkill.XXXXXX)
pids=()

NET=198.18.201
# shellcheck source=scripts/lib-vethlab.sh
. "$(dirname "$0")/lib-vethlab.sh"
cleanup() {
	vethlab_cleanup
	rm -f "$FILE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
vethlab_up
# To 02:00:5e:00:53:01, a MAC nobody here owns: the receiver drops the
# frames right after the packet taps.
echo "{ eth(da=02:00:5e:00:53:01, sa=$src_mac, type=0x0800), ipv4(sa=$NET.1, da=$NET.2, ttl=64, proto=17), udp(sp=9, dp=9), fill(0x00, 18) }" >"$work/frame.cfg"

rx_packets() { ip netns exec "$NS_RX" cat "/sys/class/net/$IF_RX/statistics/rx_packets"; }

# wait_line FILE PATTERN PID: until FILE has a line matching PATTERN,
# bounded to 10 s, failing if PID exits.
wait_line() {
	local i
	for ((i = 0; i < 1000; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || { cat "$1" >&2; die "capture exited before it was ready"; }
		sleep 0.01
	done
	cat "$1" >&2
	die "capture not ready after 10 s"
}

# frames_in FILE: the whole frames a capture file holds, up to a block cut
# short by the kill (tcpdump -r reads up to it and complains after).
frames_in() { { tcpdump -n -r "$1" 2>/dev/null || true; } | wc -l; }

# run_one NAME: capture, send, SIGKILL; prints "arrived infile".
run_one() {
	local name=$1 log=$work/$1.log pid arr0 arr1 infile
	rm -f "$FILE"
	case $name in
	rawlab) ip netns exec "$NS_RX" "$RAWLAB" capture -i "$IF_RX" -w "$FILE" -q >"$log" 2>&1 & ;;
	tcpdump) ip netns exec "$NS_RX" tcpdump -i "$IF_RX" -w "$FILE" >"$log" 2>&1 & ;;
	esac
	pid=$!
	pids+=("$pid")
	wait_line "$log" "listening on" "$pid"
	arr0=$(rx_packets)
	ip netns exec "$NS_TX" trafgen -o "$IF_TX" -P 1 -n "$FRAMES" -t "$((1000000000 / RATE))ns" --no-sock-mem -c "$work/frame.cfg" >"$work/trafgen.log" 2>&1 ||
		{ cat "$work/trafgen.log" >&2; die "trafgen failed"; }
	kill -KILL "$pid"
	arr1=$(rx_packets)
	wait "$pid" 2>/dev/null || true
	pids=("${pids[@]/$pid/}")
	infile=$(frames_in "$FILE")
	echo "$((arr1 - arr0)) $infile"
}

printf '%-8s %4s %10s %10s %8s %8s\n' tool run arrived "in file" lost "lost ms"
declare -A LOST ARR
for ((run = 1; run <= RUNS; run++)); do
	if ((run % 2)); then order=(rawlab tcpdump); else order=(tcpdump rawlab); fi
	for name in "${order[@]}"; do
		read -r arrived infile < <(run_one "$name")
		lost=$((arrived - infile))
		LOST[$name]=$((${LOST[$name]:-0} + lost))
		ARR[$name]=$((${ARR[$name]:-0} + arrived))
		awk -v n="$name" -v r="$run" -v a="$arrived" -v f="$infile" -v l="$lost" -v rate="$RATE" \
			'BEGIN { printf "%-8s %4d %10d %10d %8d %8.0f\n", n, r, a, f, l, 1000 * l / rate }'
	done
done
awk -v rl="${LOST[rawlab]}" -v tl="${LOST[tcpdump]}" -v ra="${ARR[rawlab]}" -v ta="${ARR[tcpdump]}" -v runs="$RUNS" -v rate="$RATE" 'BEGIN {
	printf "over %d run(s) at %d frames/s: lost on SIGKILL, mean per run: rawlab %.0f (%.0f ms), tcpdump %.0f (%.0f ms)\n",
		runs, rate, rl / runs, 1000 * rl / runs / rate, tl / runs, 1000 * tl / runs / rate
}'
