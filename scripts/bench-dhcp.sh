#!/usr/bin/env bash
# bench-dhcp.sh times `rawlab dhcp lease` against the DHCP clients people use,
# in a private lab (namespaces rb-*, 198.18.0.0/24 only, built by
# `rawlab lab up --no-dhcp`), against real servers: dnsmasq, ISC Kea, ISC dhcpd
# and busybox udhcpd.
#
# For each server, each client runs RUNS times as a whole process, timed from
# fork to exit inside the client namespace (the loop runs there, so no run pays
# for `ip netns exec`); the clients take turns within each run, so that a busy
# moment of the machine falls on all of them alike:
#   rawlab-noarp  rawlab dhcp lease -i rl0 --no-arp-check
#   udhcpc        busybox udhcpc -i rl0 -q -n -f -s /bin/true
#   dhclient      dhclient -1 -sf /bin/true (timed until it forks once bound;
#                 the daemon is then stopped by its pid file; fresh lease file)
#   dhcpcd        dhcpcd -1 -4 -c /bin/true rl0 (its default ARP check; old
#                 leases of rl0 removed from /var/lib/dhcpcd before each run)
#   rawlab        rawlab dhcp lease -i rl0 (its default ARP check)
# and the DISCOVER->ACK time on the wire comes from a tcpdump --immediate-mode
# capture on the client's interface. It prints medians and the ratios to
# dhclient and dhcpcd.
#
# Usage (as root, from the repository):
#   scripts/bench-dhcp.sh                      # RUNS=10 SERVERS="dnsmasq kea dhcpd udhcpd"
#   SERVERS=rawlab scripts/bench-dhcp.sh       # the lab's own server, `rawlab lab serve`
#   RUNS=20 SERVERS="dnsmasq" scripts/bench-dhcp.sh
#   RAWLAB=/usr/local/bin/rawlab scripts/bench-dhcp.sh
#
# Reference (issue 3): dhclient 19-24 ms whole process and 0.5-1 ms
# DISCOVER->ACK, udhcpc 88-110 ms, dhcpcd about 6 s. Targets: rawlab
# --no-arp-check at most half of dhclient; rawlab with its default check under
# a tenth of dhcpcd. Everything it starts is stopped by PID, and the
# namespaces removed, on exit (trap), also on failure or Ctrl-C.
set -euo pipefail

# In-namespace mode: `bench-dhcp.sh __time "CLIENTS" RUNS WORK RAWLAB` runs
# inside the client namespace (started there once by `ip netns exec`, so that no
# run pays for entering it) and prints "client t0 t1 status" per run.
if [[ ${1:-} == __time ]]; then
	clients=$2 runs=$3 work=$4 RAWLAB=$5 CIF=rl0
	for ((i = 1; i <= runs; i++)); do
		for cl in $clients; do
			rc=0
			case $cl in
			rawlab-noarp)
				t0=$EPOCHREALTIME
				"$RAWLAB" dhcp lease -i $CIF --no-arp-check >/dev/null 2>>"$work/client.log" || rc=$?
				t1=$EPOCHREALTIME
				;;
			rawlab)
				t0=$EPOCHREALTIME
				"$RAWLAB" dhcp lease -i $CIF >/dev/null 2>>"$work/client.log" || rc=$?
				t1=$EPOCHREALTIME
				;;
			udhcpc)
				t0=$EPOCHREALTIME
				busybox udhcpc -i $CIF -q -n -f -s /bin/true >/dev/null 2>>"$work/client.log" || rc=$?
				t1=$EPOCHREALTIME
				;;
			dhclient)
				rm -f "$work/dhclient.leases" "$work/dhclient.pid"
				t0=$EPOCHREALTIME
				dhclient -1 -4 -sf /bin/true -lf "$work/dhclient.leases" -pf "$work/dhclient.pid" $CIF \
					>/dev/null 2>>"$work/client.log" || rc=$?
				t1=$EPOCHREALTIME
				# -1 forks once bound: stop the daemon by its pid file
				if [[ -s $work/dhclient.pid ]]; then
					kill "$(cat "$work/dhclient.pid")" 2>/dev/null || true
				fi
				;;
			dhcpcd)
				rm -f /var/lib/dhcpcd/$CIF*.lease
				t0=$EPOCHREALTIME
				dhcpcd -1 -4 -c /bin/true $CIF >/dev/null 2>>"$work/client.log" || rc=$?
				t1=$EPOCHREALTIME
				dhcpcd -x $CIF >/dev/null 2>&1 || true
				;;
			*) echo "unknown client $cl" >&2; exit 2 ;;
			esac
			# leave rl0 as it was: no address, no route, no old dhcpcd lease
			ip addr flush dev $CIF
			ip route flush dev $CIF 2>/dev/null || true
			rm -f /var/lib/dhcpcd/$CIF*.lease
			echo "$cl $t0 $t1 $rc"
		done
	done
	exit 0
fi

RUNS=${RUNS:-10}
SERVERS=${SERVERS:-dnsmasq kea dhcpd udhcpd}
CLIENTS=${CLIENTS:-rawlab-noarp udhcpc dhclient dhcpcd rawlab}
PREFIX=rb-
CNS=${PREFIX}client SNS=${PREFIX}srv CIF=rl0 SIF=eth0
prog=${0##*/}
self=$(realpath "$0")

die() { echo "$prog: $*" >&2; exit 2; }

[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces): sudo $0"
[[ $RUNS =~ ^[0-9]+$ ]] && ((RUNS >= 1)) || die "RUNS=$RUNS: want a positive number"
for tool in ip tcpdump tshark busybox dhclient dhcpcd; do
	command -v "$tool" >/dev/null || die "$tool not found (apt-get install iproute2 tcpdump tshark busybox isc-dhcp-client dhcpcd-base)"
done

work=$(mktemp -d /tmp/bench-dhcp.XXXXXX)
export RAWLAB_RUN_DIR=$work/run
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [[ -n ${RAWLAB:-} && -x $RAWLAB ]]; then
		"$RAWLAB" lab --prefix "$PREFIX" down >/dev/null 2>&1 || true
	fi
	rm -f /var/lib/dhcpcd/$CIF*.lease /var/lib/dhcpcd/$CIF*.lease6
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z ${RAWLAB:-} ]]; then
	echo "building rawlab..." >&2
	(cd "$(dirname "$0")/.." && CGO_ENABLED=0 go build -o "$work/rawlab" ./cmd/rawlab)
	RAWLAB=$work/rawlab
fi
"$RAWLAB" lab --prefix "$PREFIX" down >/dev/null 2>&1 || true
"$RAWLAB" lab --prefix "$PREFIX" up --no-dhcp --hosts 0 >/dev/null 2>"$work/lab.log" ||
	die "lab up failed: $(cat "$work/lab.log")"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (the figures are only as quiet as the machine)" >&2

# Background processes are started with `ip netns exec` directly (it execs in
# place), so that $! is the daemon's own PID.

# wait_line FILE PATTERN SECONDS: wait until FILE has a line matching PATTERN.
wait_line() {
	local deadline=$((SECONDS + $3))
	until grep -q -- "$2" "$1" 2>/dev/null; do
		((SECONDS < deadline)) || { echo "$prog: timed out waiting for '$2' in $1:" >&2; tail -5 "$1" >&2; return 1; }
		# inotifywait is not on a fresh machine; a short read timeout paces the check
		read -r -t 0.02 <> <(:) || true
	done
}

server_pid=
start_server() { # name
	local d=$work/$1 log=$work/$1/log
	mkdir -p "$d"
	case $1 in
	dnsmasq)
		ip netns exec "$SNS" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --user=root --group=root --log-facility=- \
			--no-ping --dhcp-authoritative --pid-file="$d/pid" --interface=$SIF --bind-interfaces \
			--dhcp-leasefile="$d/leases" --dhcp-range=198.18.0.100,198.18.0.199,255.255.255.0,10m \
			--dhcp-option=option:router,198.18.0.1 --dhcp-option=option:dns-server,198.18.0.1 >"$log" 2>&1 &
		ready="DHCP, IP range"
		;;
	kea)
		cat >"$d/kea.conf" <<-KEA
			{"Dhcp4": {
			  "interfaces-config": {"interfaces": ["$SIF"], "dhcp-socket-type": "raw"},
			  "lease-database": {"type": "memfile", "persist": true, "name": "$d/leases.csv", "lfc-interval": 0},
			  "valid-lifetime": 600,
			  "subnet4": [{"id": 1, "subnet": "198.18.0.0/24", "pools": [{"pool": "198.18.0.100 - 198.18.0.199"}],
			    "option-data": [{"name": "routers", "data": "198.18.0.1"}, {"name": "domain-name-servers", "data": "198.18.0.1"}]}],
			  "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": "stdout"}], "severity": "WARN"},
			              {"name": "kea-dhcp4.dhcp4", "output_options": [{"output": "stdout"}], "severity": "INFO"}]
			}}
		KEA
		KEA_PIDFILE_DIR=$d KEA_LOCKFILE_DIR=$d ip netns exec "$SNS" kea-dhcp4 -c "$d/kea.conf" >"$log" 2>&1 &
		ready="DHCP4_STARTED"
		;;
	dhcpd)
		cat >"$d/dhcpd.conf" <<-DHCPD
			authoritative;
			ping-check false;
			default-lease-time 600;
			subnet 198.18.0.0 netmask 255.255.255.0 {
			  range 198.18.0.100 198.18.0.199;
			  option routers 198.18.0.1;
			  option domain-name-servers 198.18.0.1;
			}
		DHCPD
		: >"$d/leases"
		ip netns exec "$SNS" dhcpd -4 -f -d -cf "$d/dhcpd.conf" -lf "$d/leases" -pf "$d/pid" $SIF >"$log" 2>&1 &
		ready="Server starting service"
		;;
	udhcpd)
		cat >"$d/udhcpd.conf" <<-UDHCPD
			start 198.18.0.100
			end 198.18.0.199
			interface $SIF
			lease_file $d/leases
			pidfile $d/pid
			option subnet 255.255.255.0
			option router 198.18.0.1
			option dns 198.18.0.1
			option lease 600
		UDHCPD
		: >"$d/leases"
		ip netns exec "$SNS" busybox udhcpd -f -a 0 "$d/udhcpd.conf" >"$log" 2>&1 &
		ready="started"
		;;
	rawlab) # the lab's own server (rawlab lab serve)
		ip netns exec "$SNS" "$RAWLAB" lab serve -i $SIF --lease-file "$d/leases.json" --lease 10m >"$log" 2>&1 &
		ready="^ready"
		;;
	*) die "unknown server $1" ;;
	esac
	server_pid=$!
	pids+=("$server_pid")
	wait_line "$log" "$ready" 20
	if [[ $1 == udhcpd ]]; then # it logs "started" before binding: wait for UDP 67
		local deadline=$((SECONDS + 10))
		until grep -q ':0043 ' "/proc/$server_pid/net/udp" 2>/dev/null; do
			((SECONDS < deadline)) || die "udhcpd did not bind UDP 67"
			read -r -t 0.02 <> <(:) || true
		done
	fi
}

stop_server() {
	kill "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
}

# median: of the numbers on stdin.
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "-"; exit} if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# wire_times PCAP TIMES CLIENT: DISCOVER->ACK in ms of each transaction whose
# DISCOVER falls inside one of CLIENT's runs (TIMES: "client t0 t1 status").
wire_times() {
	tshark -r "$1" -Y dhcp -T fields -e frame.time_epoch -e dhcp.id -e dhcp.option.dhcp 2>/dev/null |
		awk '$3==1 && !($2 in d) {d[$2]=$1} $3==5 && ($2 in d) && !($2 in a) {a[$2]=$1; printf "%.6f %.3f\n", d[$2], ($1-d[$2])*1000}' |
		awk -v cl="$3" 'NR==FNR { if ($1 == cl) { n++; t0[n]=$2; t1[n]=$3 } next }
			{ for (i = 1; i <= n; i++) if ($1 >= t0[i] && $1 <= t1[i]) { print $2; break } }' "$2" -
}

declare -A med wire low
for srv in $SERVERS; do
	start_server "$srv"
	pcap=$work/$srv.pcap
	ip netns exec "$CNS" tcpdump -i $CIF -U --immediate-mode -w "$pcap" 'udp port 67 or udp port 68' 2>"$work/tcpdump.log" &
	tpid=$!
	pids+=("$tpid")
	wait_line "$work/tcpdump.log" "listening on" 10
	# The clients take turns within each run, so that a busy moment of the
	# machine falls on all of them alike.
	ip netns exec "$CNS" bash "$self" __time "$CLIENTS" "$RUNS" "$work" "$RAWLAB" >"$work/$srv.times"
	kill -INT "$tpid" 2>/dev/null || true
	wait "$tpid" 2>/dev/null || true
	stop_server
	for cl in $CLIENTS; do
		fails=$(awk -v cl="$cl" '$1 == cl && $4 != 0' "$work/$srv.times" | wc -l)
		med[$srv,$cl]=$(awk -v cl="$cl" '$1 == cl && $4 == 0 { printf "%.1f\n", ($3 - $2) * 1000 }' "$work/$srv.times" | median)
		low[$srv,$cl]=$(awk -v cl="$cl" '$1 == cl && $4 == 0 { t = ($3 - $2) * 1000; if (n++ == 0 || t < m) m = t }
			END { if (n) printf "%.1f\n", m; else print "-" }' "$work/$srv.times")
		wire[$srv,$cl]=$(wire_times "$pcap" "$work/$srv.times" "$cl" | median)
		printf '%-8s %-13s median %9s ms  wire DISCOVER->ACK %7s ms  (%d runs, %d failed)\n' \
			"$srv" "$cl" "${med[$srv,$cl]}" "${wire[$srv,$cl]}" "$RUNS" "$fails" >&2
	done
done

ratio() { # a b: a/b, or "-"
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.3f\n", a / b }'
}

echo
echo "Whole process over $RUNS runs (ms, median and fastest); wire = median DISCOVER->ACK on the wire (ms)"
printf '%-8s %-13s %10s %9s %9s %12s %10s\n' SERVER CLIENT MEDIAN MIN WIRE "/dhclient" "/dhcpcd"
for srv in $SERVERS; do
	for cl in $CLIENTS; do
		printf '%-8s %-13s %10s %9s %9s %12s %10s\n' "$srv" "$cl" "${med[$srv,$cl]}" "${low[$srv,$cl]:--}" "${wire[$srv,$cl]}" \
			"$(ratio "${med[$srv,$cl]}" "${med[$srv,dhclient]:--}")" "$(ratio "${med[$srv,$cl]}" "${med[$srv,dhcpcd]:--}")"
	done
done
echo
echo "Targets: rawlab-noarp/dhclient <= 0.5 (dnsmasq, kea, dhcpd); rawlab/dhcpcd < 0.1"
for srv in $SERVERS; do
	a=$(ratio "${med[$srv,rawlab-noarp]:--}" "${med[$srv,dhclient]:--}")
	b=$(ratio "${med[$srv,rawlab]:--}" "${med[$srv,dhcpcd]:--}")
	case $srv in
	dnsmasq | kea | dhcpd) oka=$(awk -v r="$a" 'BEGIN {print (r != "-" && r <= 0.5) ? "met" : "MISSED"}') ;;
	*) oka="(no target for this server)" ;;
	esac
	okb=$(awk -v r="$b" 'BEGIN {print (r != "-" && r < 0.1) ? "met" : "MISSED"}')
	printf '%-8s default/dhcpcd %6s %-6s  no-arp-check/dhclient %6s %s\n' "$srv" "$b" "$okb" "$a" "$oka"
done
