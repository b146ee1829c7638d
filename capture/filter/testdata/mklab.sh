#!/bin/bash
# mklab.sh OUT.pcap: record the lab capture used by the filter's differential
# test. Two namespaces joined by a veth pair (connected to nothing else),
# 198.18.0.0/15 only, IPv6 link-local on the veth only. Needs root,
# iproute2, tcpdump, busybox. Everything it creates is removed on exit.
set -euo pipefail
out=$(realpath "${1:?usage: mklab.sh OUT.pcap}")
A=rlfa$$ B=rlfb$$
tcpdump_pid=
cleanup() {
	[ -n "$tcpdump_pid" ] && kill "$tcpdump_pid" 2>/dev/null || true
	ip netns pids "$A" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns pids "$B" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns del "$A" 2>/dev/null || true
	ip netns del "$B" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$A"; ip netns add "$B"
a() { ip netns exec "$A" "$@"; }
b() { ip netns exec "$B" "$@"; }
for ns in "$A" "$B"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip netns exec "$ns" sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0
	ip netns exec "$ns" ip link set lo up
done
ip link add va netns "$A" type veth peer name vb netns "$B"
a ip addr add 198.18.0.1/24 dev va; b ip addr add 198.18.0.2/24 dev vb
a ip link set va up; b ip link set vb up
# This kernel may lack 8021q, so tagged frames are written raw onto the veth
# (see inject below); VLAN 30's IPv6 is replaced by link-local IPv6 on va.
a sysctl -qw net.ipv6.conf.va.disable_ipv6=0; b sysctl -qw net.ipv6.conf.vb.disable_ipv6=0
b ip route add 224.0.0.0/4 dev vb

err=$(mktemp)
ip netns exec "$A" tcpdump -i va --immediate-mode -U -s 262144 -w "$out" 2>"$err" &
tcpdump_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$err" && break; read -rt 0.05 || true; done
grep -q "listening on" "$err"

b busybox nc -l -p 80 -e /bin/cat </dev/null >/dev/null 2>&1 &
b busybox nc -u -l -p 5353 >/dev/null 2>&1 &
a ping -c 2 -i 0.2 198.18.0.2 >/dev/null              # ARP, ICMP echo and reply
a ping -c 1 -s 3000 198.18.0.2 >/dev/null              # IPv4 fragments
a ping -c 1 -R 198.18.0.2 >/dev/null || true           # IP options (record route)
a ping -c 1 -b -W 1 198.18.0.255 >/dev/null 2>&1 || true  # IP broadcast
a ping -c 1 -W 1 -I va 224.0.0.1 >/dev/null 2>&1 || true  # IP multicast
a python3 "$(dirname "$0")/inject.py" va              # 802.1Q, 802.1ad and QinQ frames
a bash -c 'echo hello >/dev/udp/198.18.0.2/53' || true # UDP to a closed port: ICMP unreachable
a bash -c 'echo hello >/dev/udp/198.18.0.2/5353' || true
a bash -c 'exec 3<>/dev/tcp/198.18.0.2/80; echo hi >&3; read -t 1 l <&3; exec 3>&-' || true  # TCP handshake, data, FIN
a bash -c 'exec 3<>/dev/tcp/198.18.0.2/22' 2>/dev/null || true  # TCP SYN -> RST
a ping -6 -c 2 -i 0.2 -W 1 ff02::1%va >/dev/null 2>&1 || true  # ICMPv6 echo, ND, MLD
a ip neigh flush dev va; a ping -c 1 198.18.0.2 >/dev/null     # another ARP exchange
# Let the capture see the last frames: wait until the file stops growing.
prev=-1
for _ in $(seq 40); do
	s=$(stat -c %s "$out"); [ "$s" = "$prev" ] && break; prev=$s; read -rt 0.1 || true
done
kill -INT "$tcpdump_pid"; wait "$tcpdump_pid" || true; tcpdump_pid=
echo "wrote $out: $(tcpdump -r "$out" 2>/dev/null | wc -l) frames"
