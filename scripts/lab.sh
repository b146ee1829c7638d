#!/usr/bin/env bash
# lab.sh builds rawlab's lab: network namespaces joined by veth pairs on one
# Linux bridge, using only addresses from 198.18.0.0/15 (RFC 2544 benchmarking
# block). Nothing touches the host's own interfaces.
#
#   rl-client  rl0  no address (acquire one with `rawlab dhcp`)  --+
#   rl-srv     eth0 198.18.0.1/24 (run a DHCP server here)       --+-- br0 in rl-sw
#   rl-h1..N   eth0 198.18.0.11/24.. (kernels answering ARP)     --+
#
# Usage (as root):
#   scripts/lab.sh up                  # build it (LAB_HOSTS=N hosts, default 5)
#   scripts/lab.sh exec client CMD...  # run CMD in rl-client (or srv, sw, h3, rl-h3)
#   scripts/lab.sh status              # what exists
#   scripts/lab.sh down                # remove it all; safe to run twice
#
# Example:
#   sudo LAB_HOSTS=20 scripts/lab.sh up
#   sudo scripts/lab.sh exec client rawlab arpscan -i rl0 198.18.0.0/24
#   sudo scripts/lab.sh down
#
# IPv6 is off in every namespace, so no router solicitation or MLD report
# lands in a capture. MAC addresses are fixed (02:52:4c:00:00:XX, XX the last
# octet of the IP; the client is ...:02) so outputs are reproducible.
set -euo pipefail

readonly CLIENT=rl-client SWITCH=rl-sw SERVER=rl-srv HOSTPFX=rl-h
readonly NET=198.18.0 PLEN=24 FIRST_HOST=11 MACPFX=02:52:4c:00:00
readonly LAB_RE='^rl-(client|sw|srv|h[0-9]{1,3})$'

prog=${0##*/}

die() { # status message...
	local code=$1
	shift
	echo "$prog: $*" >&2
	exit "$code"
}

usage() { # [status]: help to stdout and 0, or to stderr and 2
	local code=${1:-2}
	if ((code == 0)); then
		sed -n '/^# Usage/,/^# IPv6/p' "$0" | sed '$d; s/^# \{0,1\}//'
	else
		sed -n '/^# Usage/,/^# Example/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	fi
	exit "$code"
}

need_root() {
	[[ $(id -u) -eq 0 ]] || die 2 "needs root for ip netns; run: sudo $0 $*"
	command -v ip >/dev/null || die 2 "ip (iproute2) not found; apt-get install iproute2"
}

# lab_namespaces prints the lab namespaces that exist, one per line.
lab_namespaces() {
	ip netns list 2>/dev/null | awk '{print $1}' | grep -E "$LAB_RE" | sort -V || true
}

hex() { printf '%02x' "$1"; }

# no_v6 turns IPv6 off in namespace $1 before any veth end arrives, so the
# ends inherit it from "default".
no_v6() {
	# shellcheck disable=SC2016 # $f expands in the inner sh
	ip netns exec "$1" sh -c '
		for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 /proc/sys/net/ipv6/conf/default/disable_ipv6; do
			[ -e "$f" ] && echo 1 >"$f"
		done
		true'
}

up() {
	local n=${LAB_HOSTS:-5}
	if ! [[ $n =~ ^[0-9]{1,3}$ ]] || ((10#$n < 1 || 10#$n > 240)); then
		die 2 "LAB_HOSTS=$n: want a number of hosts from 1 to 240"
	fi
	n=$((10#$n))
	if [[ -n $(lab_namespaces) ]]; then
		die 2 "the lab is already up ($(lab_namespaces | tr '\n' ' ')); run: $0 down"
	fi
	local start=$EPOCHREALTIME
	trap 'echo "$prog: up failed; removing what was built" >&2; down >/dev/null 2>&1' ERR

	local hosts=() i
	for ((i = 1; i <= n; i++)); do hosts+=("$HOSTPFX$i"); done
	local all=("$CLIENT" "$SWITCH" "$SERVER" "${hosts[@]}")

	# 1. All namespaces in one ip process, then IPv6 off in each.
	printf 'netns add %s\n' "${all[@]}" | ip -batch -
	local ns
	for ns in "${all[@]}"; do no_v6 "$ns"; done

	# 2. Every veth pair created directly in its two namespaces (one process).
	{
		echo "link add rl0 netns $CLIENT address $MACPFX:02 type veth peer name c0 netns $SWITCH"
		echo "link add eth0 netns $SERVER address $MACPFX:01 type veth peer name s0 netns $SWITCH"
		for ((i = 1; i <= n; i++)); do
			echo "link add eth0 netns $HOSTPFX$i address $MACPFX:$(hex $((FIRST_HOST + i - 1))) type veth peer name h$i netns $SWITCH"
		done
	} | ip -batch -

	# 3. The switch: a bridge (STP off, so ports forward at once) with every port.
	{
		echo "link set lo up"
		echo "link add br0 type bridge"
		echo "link set br0 up"
		for port in c0 s0; do
			echo "link set $port master br0"
			echo "link set $port up"
		done
		for ((i = 1; i <= n; i++)); do
			echo "link set h$i master br0"
			echo "link set h$i up"
		done
	} | ip -n "$SWITCH" -batch -

	# 4. The client: rl0 up with no address.
	printf 'link set lo up\nlink set rl0 up\n' | ip -n "$CLIENT" -batch -

	# 5. The server and the hosts: an address each.
	printf 'link set lo up\nlink set eth0 up\naddress add %s/%s dev eth0\n' "$NET.1" "$PLEN" | ip -n "$SERVER" -batch -
	for ((i = 1; i <= n; i++)); do
		printf 'link set lo up\nlink set eth0 up\naddress add %s/%s dev eth0\n' "$NET.$((FIRST_HOST + i - 1))" "$PLEN" |
			ip -n "$HOSTPFX$i" -batch -
	done
	trap - ERR

	local ms=$(((${EPOCHREALTIME/./} - ${start/./}) / 1000))
	echo "lab up in ${ms} ms: $NET.0/$PLEN on bridge br0 in $SWITCH"
	printf '  %-10s %-5s %-16s %s\n' "$CLIENT" rl0 "(no address)" "$MACPFX:02"
	printf '  %-10s %-5s %-16s %s\n' "$SERVER" eth0 "$NET.1/$PLEN" "$MACPFX:01"
	for ((i = 1; i <= n; i++)); do
		local o=$((FIRST_HOST + i - 1))
		printf '  %-10s %-5s %-16s %s\n' "$HOSTPFX$i" eth0 "$NET.$o/$PLEN" "$MACPFX:$(hex "$o")"
	done
	echo "try: $0 exec client ip -br link    # then: $0 down"
}

down() {
	local ns pids removed=0
	for ns in $(lab_namespaces); do
		# Kill what still runs inside (by PID), then delete the namespace.
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		if [[ -n $pids ]]; then
			# shellcheck disable=SC2086 # one PID per word
			kill -KILL $pids 2>/dev/null || true
		fi
		ip netns delete "$ns" 2>/dev/null || [[ ! -e /run/netns/$ns ]] ||
			die 1 "cannot delete namespace $ns"
		removed=$((removed + 1))
	done
	if ((removed == 0)); then
		echo "lab down (nothing to remove)"
	else
		echo "lab down: removed $removed namespaces"
	fi
}

status() {
	local nss
	nss=$(lab_namespaces)
	if [[ -z $nss ]]; then
		echo "lab is down"
		return 0
	fi
	local ns
	for ns in $nss; do
		local npids
		npids=$(ip netns pids "$ns" 2>/dev/null | wc -l)
		echo "$ns ($npids processes)"
		ip -n "$ns" -br link show | grep -v '^lo ' | sed 's/^/  link /' || true
		ip -n "$ns" -br -4 addr show | grep -v '^lo ' | sed 's/^/  addr /' || true
	done
}

lab_exec() {
	(($# >= 2)) || die 2 "exec needs a namespace and a command: $0 exec client ip -br addr"
	local ns=$1
	shift
	[[ $ns == rl-* ]] || ns=rl-$ns
	[[ $ns =~ $LAB_RE ]] || die 2 "$ns is not a lab namespace (client, srv, sw, h1..hN)"
	[[ -e /run/netns/$ns ]] || die 2 "$ns does not exist; run: $0 up"
	exec ip netns exec "$ns" "$@"
}

# lock serialises lab.sh invocations (up's check-then-create, down), so two at
# once never tear down each other's half-built lab.
lock() {
	command -v flock >/dev/null || return 0
	local dir=/run/lock
	[[ -d $dir && -w $dir ]] || dir=/tmp
	exec 9>"$dir/rawlab-lab.lock"
	flock -w 60 9 || die 1 "another lab.sh is still running (lock busy for 60 s)"
}

main() {
	(($# >= 1)) || usage
	local cmd=$1
	shift
	case $cmd in
	up)
		(($# == 0)) || usage
		need_root "$cmd"
		lock
		up
		;;
	down)
		(($# == 0)) || usage
		need_root "$cmd"
		lock
		down
		;;
	status)
		(($# == 0)) || usage
		need_root "$cmd"
		status
		;;
	exec)
		need_root "$cmd"
		lab_exec "$@"
		;;
	-h | --help | help) usage 0 ;;
	*) usage ;;
	esac
}

main "$@"
