#!/usr/bin/env bash
# lab.sh builds rawlab's lab without its DHCP server, for running another
# one (dnsmasq, Kea...) in rl-srv: network namespaces joined by veth pairs on
# one Linux bridge, using only addresses from 198.18.0.0/15 (RFC 2544
# benchmarking block). Nothing touches the host's own interfaces.
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
# It is `rawlab lab up --no-dhcp` and friends: one implementation of the lab
# (internal/lab), which builds it through rtnetlink, records what it made
# and removes only that, under a lock. The rawlab binary is $RAWLAB, else
# ./rawlab at the top of the repository (go build -o rawlab ./cmd/rawlab);
# it is never looked up through PATH. IPv6 is off in every namespace; MAC
# addresses are fixed (02:52:4c:00:00:XX, XX the last octet of the IP; the
# client is ...:02) so outputs are reproducible.
set -euo pipefail

prog=${0##*/}
top=$(cd "$(dirname "$0")/.." && pwd)
rawlab=${RAWLAB:-$top/rawlab}

die() { # status message...
	local code=$1
	shift
	echo "$prog: $*" >&2
	exit "$code"
}

usage() { # [status]: help to stdout and 0, or to stderr and 2
	local code=${1:-2}
	if ((code == 0)); then
		sed -n '/^# Usage/,/^# It is/p' "$0" | sed '$d; s/^# \{0,1\}//'
	else
		sed -n '/^# Usage/,/^# Example/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	fi
	exit "$code"
}

need() {
	[[ $(id -u) -eq 0 ]] || die 2 "needs root for network namespaces; run: sudo $0 $*"
	[[ $rawlab == /* && -x $rawlab ]] ||
		die 2 "no rawlab binary at $rawlab: build it (go build -o rawlab ./cmd/rawlab) or set RAWLAB to its absolute path"
}

main() {
	(($# >= 1)) || usage
	local cmd=$1
	shift
	case $cmd in
	up)
		(($# == 0)) || usage
		need "$cmd"
		local n=${LAB_HOSTS:-5}
		[[ $n =~ ^[0-9]{1,2}$ ]] && ((10#$n >= 1 && 10#$n <= 50)) ||
			die 2 "LAB_HOSTS=$n: want a number of hosts from 1 to 50"
		exec "$rawlab" lab up --no-dhcp --hosts "$((10#$n))"
		;;
	down)
		(($# == 0)) || usage
		need "$cmd"
		exec "$rawlab" lab down
		;;
	status)
		(($# == 0)) || usage
		need "$cmd"
		# rawlab exits 1 for a lab that is down; that is an answer here.
		"$rawlab" lab status || (($? == 1))
		;;
	exec)
		(($# >= 2)) || die 2 "exec needs a namespace and a command: $0 exec client ip -br addr"
		need "$cmd"
		local ns=$1
		shift
		exec "$rawlab" lab exec "$ns" -- "$@"
		;;
	-h | --help | help) usage 0 ;;
	*) usage ;;
	esac
}

main "$@"
