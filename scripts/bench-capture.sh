#!/usr/bin/env bash
# bench-capture.sh: `rawlab capture -w` against `tcpdump -w` at line rate,
# without a filter and with `udp and port 9` matching 1 frame in 10.
#
# Builds its own lab (two network namespaces joined by a veth pair, addresses
# in 198.18.0.0/15, connected to nothing else), has trafgen (netsniff-ng)
# send FRAMES 60-byte IPv4/UDP frames across the veth as fast as it can on
# every core, and records the stream with each tool in turn to /dev/shm.
# For each run it prints the frames sent, the frames that reached the
# capturing interface, the frames in the file, the kernel drops the tool
# reports, and the tool's CPU seconds; then the ratios rawlab/tcpdump.
#
# The filtered benchmark (issue 5 item 5) sends a cycle of ten 60-byte
# UDP frames of which only the first goes to port 9 (the others go from and
# to port 10), and both tools capture with the filter `udp and port 9`, run
# in the kernel: a tenth of the stream is recorded. It prints the same
# columns, plus the CPU per frame sent (the filter's cost is per frame sent).
#
# The frames go to a MAC address nobody owns, so the receiving kernel drops
# them right after the packet taps: the captures see every frame and the
# receiver's IP stack costs nothing.
#
# Usage: scripts/bench-capture.sh            (as root)
# Environment: FRAMES (default 1000000), MODES (default "plain filter"; which
# benchmarks to run), RUNS (default 1; each run does both
# tools, alternating which goes first), CPUS (trafgen processes, default
# every online CPU), RAWLAB (a rawlab binary; default: go build ./cmd/rawlab),
# RAWLAB_ARGS (extra arguments for rawlab capture), TCPDUMP_ARGS (extra
# arguments for tcpdump), BENCH_DEBUG=1 (print each tool's user and system
# time, per-thread CPU and context switches).
#
# "CPU s" is the capturing process's on-CPU time (all threads, from
# /proc/PID/task/*/schedstat) from its "listening on" line until it has
# drained its ring: the cost of the capture itself. "total" adds start-up
# (for rawlab, allocating the ring) from /proc/PID/stat. On a virtual
# machine both also count the softirq work (copying frames into the ring)
# that happens to run while the process is on a CPU, for both tools alike.
set -euo pipefail

FRAMES=${FRAMES:-1000000}
RUNS=${RUNS:-1}
MODES=${MODES:-plain filter}
FILTER='udp and port 9'
CPUS=${CPUS:-$(nproc)}
RAWLAB_ARGS=${RAWLAB_ARGS:-}
TCPDUMP_ARGS=${TCPDUMP_ARGS:-}

die() { echo "bench-capture: $*" >&2; exit 2; }
[[ $(id -u) == 0 ]] || die "run as root (network namespaces, raw sockets)"
for tool in ip trafgen tcpdump capinfos; do
	command -v "$tool" >/dev/null || die "$tool not installed (iproute2, netsniff-ng, tcpdump, wireshark-common)"
done
[[ -d /dev/shm ]] || die "/dev/shm missing"

suffix=$$
NS_TX=rlcap-tx-$suffix
NS_RX=rlcap-rx-$suffix
IF_TX=bt$suffix
IF_RX=br$suffix
IF_TX=${IF_TX:0:15}
IF_RX=${IF_RX:0:15}
SHM_NG=/dev/shm/rlcap-$suffix.pcapng
SHM_PCAP=/dev/shm/rlcap-$suffix.pcap
work=$(mktemp -d /tmp/bench-capture.XXXXXX)
pids=()

NET=198.18.200
# shellcheck source=scripts/lib-vethlab.sh
. "$(dirname "$0")/lib-vethlab.sh"
cleanup() {
	vethlab_cleanup
	rm -f "$SHM_NG" "$SHM_PCAP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
vethlab_up
# 02:00:5e:00:53:01: locally administered, owned by no interface here.
frame() { echo "{ eth(da=02:00:5e:00:53:01, sa=$src_mac, type=0x0800), ipv4(sa=$NET.1, da=$NET.2, ttl=64, proto=17), udp(sp=$1, dp=$1), fill(0x00, 18) }"; }
# plain: every frame UDP 9 -> 9. filter: a cycle of ten frames, one to
# port 9 and nine from and to port 10, which trafgen sends in turn.
frame 9 >"$work/plain.cfg"
{
	frame 9
	for ((i = 0; i < 9; i++)); do frame 10; done
} >"$work/filter.cfg"

hz=$(getconf CLK_TCK)

# link_stat NS IF FIELD: a counter of /sys/class/net/IF/statistics.
link_stat() {
	ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"
}

# cpu_ticks PID: user+system clock ticks of a running process.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# cpu_ns PID: on-CPU nanoseconds of all the process's threads (schedstat).
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%d", s }'; }
# cpu_detail PID: user and system seconds, the on-CPU seconds of each thread
# (schedstat) and the context switches of all threads, for BENCH_DEBUG.
cpu_detail() {
	awk -v hz="$hz" '{ printf "user %.2f s, system %.2f s; threads", $14 / hz, $15 / hz }' "/proc/$1/stat"
	cat /proc/"$1"/task/*/schedstat | awk '{ printf " %.3f", $1 / 1e9 }'
	cat /proc/"$1"/task/*/status | awk '/^voluntary_ctxt/ { v += $2 } /^nonvoluntary_ctxt/ { n += $2 }
		END { printf " s; context switches %d voluntary, %d involuntary\n", v, n }'
}

# wait_line FILE PATTERN PID: until FILE has a line matching PATTERN (the
# tool's "listening on" line), bounded to 10 s, failing if PID exits.
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

# wait_idle PID: until the process has used no CPU for 1.5 s, bounded to
# 30 s. 1.5 s is longer than tcpdump's ring block timeout (libpcap's 1000 ms
# read timeout), so both tools have drained their rings when they are
# stopped.
wait_idle() {
	local last now still=0 i
	last=$(cpu_ticks "$1")
	for ((i = 0; i < 300; i++)); do
		sleep 0.1
		now=$(cpu_ticks "$1")
		if [[ $now == "$last" ]]; then
			((++still >= 15)) && return 0
		else
			still=0
		fi
		last=$now
	done
	echo "bench-capture: capture still busy after 30 s" >&2
}

# run_one MODE NAME: start the capture (with FILTER in mode filter), send
# MODE's stream, wait for the capture to drain, stop it, and keep its
# figures in R[MODE.NAME.*].
declare -A R
run_one() {
	local mode=$1 name=$2 file log pid sent0 sent1 arr0 arr1 t0 t1 ticks drops infile cpu0 cpu1 k
	local filter=()
	[[ $mode == filter ]] && filter=("$FILTER")
	log=$work/$mode.$name.log
	case $name in
	rawlab)
		file=$SHM_NG
		rm -f "$file"
		# shellcheck disable=SC2086
		ip netns exec "$NS_RX" "$RAWLAB" capture -i "$IF_RX" -w "$file" -q $RAWLAB_ARGS "${filter[@]}" >"$log" 2>&1 &
		;;
	tcpdump)
		file=$SHM_PCAP
		rm -f "$file"
		# shellcheck disable=SC2086
		ip netns exec "$NS_RX" tcpdump -i "$IF_RX" -w "$file" $TCPDUMP_ARGS "${filter[@]}" >"$log" 2>&1 &
		;;
	esac
	pid=$!
	pids+=("$pid")
	wait_line "$log" "listening on" "$pid"
	cpu0=$(cpu_ns "$pid")

	sent0=$(link_stat "$NS_TX" "$IF_TX" tx_packets)
	arr0=$(link_stat "$NS_RX" "$IF_RX" rx_packets)
	t0=$(date +%s.%N)
	ip netns exec "$NS_TX" trafgen -o "$IF_TX" -P "$CPUS" -n "$FRAMES" --no-sock-mem -c "$work/$mode.cfg" >"$work/trafgen.log" 2>&1 ||
		{ cat "$work/trafgen.log" >&2; die "trafgen failed"; }
	t1=$(date +%s.%N)
	sent1=$(link_stat "$NS_TX" "$IF_TX" tx_packets)
	arr1=$(link_stat "$NS_RX" "$IF_RX" rx_packets)

	wait_idle "$pid"
	cpu1=$(cpu_ns "$pid")
	ticks=$(cpu_ticks "$pid")
	if [[ -n ${BENCH_DEBUG:-} ]]; then
		echo "$name: $(cpu_detail "$pid")" >&2
	fi
	kill -INT "$pid"
	wait "$pid" || true
	pids=("${pids[@]/$pid/}")

	case $name in
	rawlab) drops=$(sed -n 's/.* \([0-9]*\) dropped by kernel.*/\1/p' "$log") ;;
	tcpdump) drops=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$log") ;;
	esac
	[[ -n $drops ]] || { cat "$log" >&2; die "$name printed no drop count"; }
	infile=$(capinfos -M -c -T -r "$file" | awk -F'\t' 'END { print $2 }')
	rm -f "$file"

	k=$mode.$name
	R[$k.sent]=$((sent1 - sent0))
	R[$k.arrived]=$((arr1 - arr0))
	R[$k.infile]=$infile
	R[$k.drops]=$drops
	R[$k.cpu]=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	R[$k.total]=$(awk -v t="$ticks" -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')
	R[$k.send]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

# report MODE NAME: one result line. "want" is the frames that should be
# in the file: all that arrived, or a tenth of them with the filter. CPU
# ns/fr is per frame in the file, ns/sent per frame that arrived.
header() {
	printf '%-8s %10s %10s %10s %10s %10s %8s %7s %10s %8s %7s %12s\n' \
		tool sent arrived want "in file" "kern drop" kept% "CPU s" "CPU ns/fr" "ns/sent" total "send fr/s"
}
report() {
	local k=$1.$2 div=1
	[[ $1 == filter ]] && div=10
	awk -v n="$2" -v s="${R[$k.sent]}" -v a="${R[$k.arrived]}" -v f="${R[$k.infile]}" -v div="$div" \
		-v d="${R[$k.drops]}" -v c="${R[$k.cpu]}" -v t="${R[$k.send]}" -v tot="${R[$k.total]}" 'BEGIN {
		w = int(a / div)
		printf "%-8s %10d %10d %10d %10d %10d %7.2f%% %7.3f %10.0f %8.0f %7.2f %12.0f\n",
			n, s, a, w, f, d, (w ? 100 * f / w : 0), c, (f ? 1e9 * c / f : 0), (a ? 1e9 * c / a : 0), tot, (t > 0 ? s / t : 0)
	}'
}

declare -A SUM
for mode in $MODES; do
	case $mode in
	plain) echo "== no filter: every frame recorded" ;;
	filter) echo "== filter '$FILTER': 1 frame in 10 matches" ;;
	*) die "unknown mode $mode (want plain or filter)" ;;
	esac
	header
	for ((run = 1; run <= RUNS; run++)); do
		if ((run % 2)); then order=(rawlab tcpdump); else order=(tcpdump rawlab); fi
		for name in "${order[@]}"; do
			run_one "$mode" "$name"
			report "$mode" "$name"
			for k in sent arrived infile drops; do
				SUM[$mode.$name.$k]=$((${SUM[$mode.$name.$k]:-0} + ${R[$mode.$name.$k]}))
			done
			SUM[$mode.$name.cpu]=$(awk -v a="${SUM[$mode.$name.cpu]:-0}" -v b="${R[$mode.$name.cpu]}" 'BEGIN { print a + b }')
		done
	done
	div=1
	[[ $mode == filter ]] && div=10
	awk -v rs="${SUM[$mode.rawlab.arrived]}" -v rf="${SUM[$mode.rawlab.infile]}" -v rc="${SUM[$mode.rawlab.cpu]}" -v rd="${SUM[$mode.rawlab.drops]}" \
		-v ts="${SUM[$mode.tcpdump.arrived]}" -v tf="${SUM[$mode.tcpdump.infile]}" -v tc="${SUM[$mode.tcpdump.cpu]}" -v td="${SUM[$mode.tcpdump.drops]}" \
		-v runs="$RUNS" -v div="$div" -v mode="$mode" 'BEGIN {
		rk = rs ? div * rf / rs : 0; tk = ts ? div * tf / ts : 0
		rp = rs ? rc / rs : 0; tp = ts ? tc / ts : 0
		printf "%s, over %d run(s): kept rawlab %.4f%%, tcpdump %.4f%% (of the frames that should be kept); kernel drops rawlab %d, tcpdump %d\n", mode, runs, 100 * rk, 100 * tk, rd, td
		printf "%s ratios rawlab/tcpdump: kept %.4f, CPU per frame sent %.3f, CPU total %.3f\n\n", mode, (tk ? rk / tk : 0), (tp ? rp / tp : 0), (tc ? rc / tc : 0)
	}'
done
