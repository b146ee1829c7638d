#!/usr/bin/env bash
# Benchmarks `rawlab arpscan` against arp-scan(1) on one namespace lab:
#
#   (a) a /24 (198.18.0.0/24) holding 50 live hosts, each in its own network
#       namespace, all on one Linux bridge;
#   (b) a /16 (198.19.0.0/16) in which every address answers: one namespace
#       whose kernel treats the whole /16 as local (`ip route add local
#       198.19.0.0/16 dev lo`, arp_ignore=0), on its own veth;
#   (c) a silent /16 (198.19.0.0/16 on a third veth whose peer has no
#       address): both tools with two tries and arp-scan's waits (500 ms,
#       then 750 ms), arp-scan at -B 1000M, rawlab at --rate max.
#
# (a) also times rawlab --fast (waits shortened to the measured round-trip
# times), and (b) rawlab --rate max --jsonl, the streaming JSON output
# (with vendor names, like the default text table, which is timed too),
# against the text output and arp-scan in the same run.
#
# For each: arp-scan with its defaults, arp-scan at its fastest setting that
# still finds every host (--retry=1 --bandwidth=1000M, plus --timeout=100 for
# (a)), rawlab with its defaults, rawlab --rate max (two tries per host, as by
# default), and rawlab --rate max --retry 1, the like-for-like match of
# arp-scan's fastest (one try) and nmap's (--max-retries 0). It prints wall time
# (whole process, as /usr/bin/time measures it), hosts found, peak RSS and
# the ratios. Every run is repeated RUNS times (default 5) and the median is
# reported. The two default runs on (b) take ~131 s each (65,536 requests at
# arp-scan's 500/s); BENCH_SLOW=0 skips them.
#
#   sudo scripts/bench-arpscan.sh
#   sudo RUNS=9 BENCH_SLOW=0 scripts/bench-arpscan.sh
#
# Needs root, iproute2, arp-scan and GNU time (/usr/bin/time). Uses only
# 198.18.0.0/15 and namespaces it creates (prefix rlb-), removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
BENCH_SLOW="${BENCH_SLOW:-1}"
HOSTS=50
P=rlb
[ "$(id -u)" -eq 0 ] || { echo "bench-arpscan: run as root" >&2; exit 2; }
for t in arp-scan /usr/bin/time ip; do
	command -v "$t" >/dev/null || { echo "bench-arpscan: $t is missing" >&2; exit 2; }
done

work="$(mktemp -d)"
rawlab="$work/rawlab"
CGO_ENABLED=0 go build -o "$rawlab" ./cmd/rawlab

cleanup() {
	for ns in $(ip netns list | awk '{print $1}' | grep "^$P-" || true); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

nsq() { ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null; }
newns() { ip netns add "$1"; ip -n "$1" link set lo up; nsq "$1"; }

echo "building the lab: $HOSTS hosts on a bridge, and a /16 responder"
newns $P-scan
newns $P-br
newns $P-big
ip -n $P-br link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
ip -n $P-br link set br0 up
batch="$work/ip.batch"
: >"$batch"
ip link add $P-s0 type veth peer name $P-s0p
ip link set $P-s0 netns $P-scan
ip link set $P-s0p netns $P-br
ip -n $P-scan link set $P-s0 name eth0
ip -n $P-scan addr add 198.18.0.1/24 dev eth0
ip -n $P-scan link set eth0 up
ip -n $P-br link set $P-s0p master br0 up
for i in $(seq 1 $HOSTS); do
	newns $P-h$i
	ip link add $P-h$i type veth peer name $P-h${i}p
	ip link set $P-h$i netns $P-h$i
	ip link set $P-h${i}p netns $P-br
	ip -n $P-h$i link set $P-h$i name eth0
	ip -n $P-h$i addr add 198.18.0.$((i * 5))/24 dev eth0
	ip -n $P-h$i link set eth0 up
	ip -n $P-br link set $P-h${i}p master br0 up
done
# (b): scanner eth1 <-> responder eth0, the /16 local on the responder.
ip link add $P-s1 type veth peer name $P-b0
ip link set $P-s1 netns $P-scan
ip link set $P-b0 netns $P-big
ip -n $P-scan link set $P-s1 name eth1
ip -n $P-scan addr add 198.18.254.1/24 dev eth1
ip -n $P-scan link set eth1 up
ip -n $P-big link set $P-b0 name eth0
ip -n $P-big addr add 198.18.254.2/24 dev eth0
ip -n $P-big link set eth0 up
ip -n $P-big route add local 198.19.0.0/16 dev lo
# (c): scanner eth2 <-> a namespace with no address: nobody answers.
newns $P-quiet
ip link add $P-s2 type veth peer name $P-q0
ip link set $P-s2 netns $P-scan
ip link set $P-q0 netns $P-quiet
ip -n $P-scan link set $P-s2 name eth2
ip -n $P-scan addr add 198.18.253.1/24 dev eth2
ip -n $P-scan link set eth2 up
ip -n $P-quiet link set $P-q0 name eth0
ip -n $P-quiet link set eth0 up
ip netns exec $P-big sysctl -qw net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.eth0.arp_ignore=0 \
	net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0 net.ipv4.neigh.eth0.gc_thresh3=1024 2>/dev/null || true

# Wait until every host answers once (the lab is ready), without sleeping blindly.
for try in $(seq 1 50); do
	n=$(ip netns exec $P-scan "$rawlab" arpscan -i eth0 --rate max --retry 3 -q 198.18.0.0/24 | grep -c '^198\.' || true)
	[ "$n" -eq $HOSTS ] && break
done

# run NAME NS CMD... : RUNS runs, median wall time, found, median max RSS.
results="$work/results"
: >"$results"
run() {
	local name="$1" ns="$2"
	shift 2
	local walls=() rsss=() founds=()
	for r in $(seq 1 "$RUNS"); do
		ip netns exec "$ns" /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/out" 2>"$work/err" || true
		read -r wall rss <"$work/time"
		found=$(grep -cE '^198\.1[89]\.[0-9]+\.[0-9]+|"record":"host"' "$work/out" || true)
		walls+=("$wall") rsss+=("$rss") founds+=("$found")
	done
	local wall rss fmin
	wall=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	rss=$(printf '%s\n' "${rsss[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	fmin=$(printf '%s\n' "${founds[@]}" | sort -g | head -1)
	printf '%-36s %9.3f s  found %6s (min of %d runs)  peak RSS %7.1f MiB\n' "$name" "$wall" "$fmin" "$RUNS" "$(div "$rss" 1024)"
	echo "$name|$wall|$fmin|$rss" >>"$results"
}
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", (b == 0 ? 0 : a / b) }'; }
get() { awk -F'|' -v n="$1" -v f="$2" '$1 == n {print $f}' "$results"; }
ratio() { # ratio A B: A/B
	local a b
	a=$(get "$1" 2); b=$(get "$2" 2)
	[ -n "$a" ] && [ -n "$b" ] && printf '  %-62s %6.2fx\n' "$2 / $1" "$(div "$b" "$a")"
}

A=198.18.0.0/24
B=198.19.0.0/16
echo
echo "(a) $A with $HOSTS live hosts; $RUNS runs each, median"
run "a arp-scan default" $P-scan arp-scan -I eth0 -x $A
run "a arp-scan fastest" $P-scan arp-scan -I eth0 -x --retry=1 --bandwidth=1000M --timeout=100 $A
run "a rawlab default" $P-scan "$rawlab" arpscan -i eth0 -q $A
run "a rawlab --rate max" $P-scan "$rawlab" arpscan -i eth0 -q --rate max $A
run "a rawlab --rate max --retry 1" $P-scan "$rawlab" arpscan -i eth0 -q --rate max --retry 1 $A
run "a rawlab --fast --rate max" $P-scan "$rawlab" arpscan -i eth0 -q --fast --rate max $A
echo
echo "(b) $B, every address answers"
if [ "$BENCH_SLOW" = 1 ]; then
	RUNS=1 run "b arp-scan default" $P-scan arp-scan -I eth1 -x $B
fi
run "b arp-scan fastest" $P-scan arp-scan -I eth1 -x --retry=1 --bandwidth=1000M $B
if [ "$BENCH_SLOW" = 1 ]; then
	RUNS=1 run "b rawlab default" $P-scan "$rawlab" arpscan -i eth1 -q $B
fi
run "b rawlab --rate max" $P-scan "$rawlab" arpscan -i eth1 -q --rate max $B
run "b rawlab --rate max --retry 1" $P-scan "$rawlab" arpscan -i eth1 -q --rate max --retry 1 $B
run "b rawlab --rate max, text" $P-scan "$rawlab" arpscan -i eth1 --rate max $B
run "b rawlab --rate max --jsonl" $P-scan "$rawlab" arpscan -i eth1 --jsonl --rate max $B
echo
echo "(c) $B, nobody answers; two tries each"
run "c arp-scan -B 1000M" $P-scan arp-scan -I eth2 -x --retry=2 --bandwidth=1000M $B
run "c rawlab --rate max" $P-scan "$rawlab" arpscan -i eth2 -q --rate max --retry 2 $B

echo
echo "ratios (how many times faster rawlab is):"
ratio "a rawlab --rate max" "a arp-scan fastest"
ratio "a rawlab --rate max --retry 1" "a arp-scan fastest"
ratio "a rawlab --fast --rate max" "a arp-scan fastest"
ratio "b rawlab --rate max" "b arp-scan fastest"
ratio "b rawlab --rate max --retry 1" "b arp-scan fastest"
ratio "b rawlab --rate max --jsonl" "b arp-scan fastest"
ratio "b rawlab --rate max --jsonl" "b rawlab --rate max, text"
ratio "c rawlab --rate max" "c arp-scan -B 1000M"
ratio "a rawlab default" "a arp-scan default"
[ "$BENCH_SLOW" = 1 ] && ratio "b rawlab default" "b arp-scan default"
echo
echo "targets: (a) defaults find all 50 in no more than arp-scan's default time, --fast in <= 0.065 s;"
echo "(b) --rate max --jsonl <= 0.5x arp-scan's fastest and <= 1.1x the text output;"
echo "(c) silent /16 with two tries <= 1.0x arp-scan -B 1000M. (\"B / A\" above is A's speed-up: >= 1 is as fast.)"
echo "load average while measuring: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (other work skews the times)"
w=$(get "b rawlab --rate max" 2)
f=$(get "b rawlab --rate max" 3)
[ -n "$w" ] && printf 'responder: %d replies in %.3f s of process time, >= %.0f replies/s\n' "$f" "$w" "$(div "$f" "$w")"
