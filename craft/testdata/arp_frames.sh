#!/usr/bin/env bash
# Captures the golden frames in arp_frames.txt: requests from rawlab and from
# arp-scan(1), and the replies of a Linux kernel, between two namespaces
# joined by a veth (198.18.77.0/24), as tcpdump sees them. Run as root from
# the repository root: craft/testdata/arp_frames.sh > craft/testdata/arp_frames.txt
set -euo pipefail
rawlab="$(mktemp -d)/rawlab"
go build -o "$rawlab" ./cmd/rawlab
a=rlg-a$$ b=rlg-b$$
trap 'ip netns del $a; ip netns del $b; rm -rf "$(dirname "$rawlab")"' EXIT
ip netns add $a; ip netns add $b
for n in $a $b; do ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
ip link add ga$$ netns $a address 02:00:5e:00:77:01 type veth peer name gb$$ netns $b address 02:00:5e:00:77:02
ip -n $a link set ga$$ name eth0; ip -n $b link set gb$$ name eth0
ip -n $a link set eth0 up; ip -n $b link set eth0 up
ip -n $a addr add 198.18.77.1/24 dev eth0; ip -n $b addr add 198.18.77.2/24 dev eth0
pcap="$(dirname "$rawlab")/g.pcap"
ip netns exec $a tcpdump -i eth0 -U --immediate-mode -w "$pcap" arp 2>/dev/null &
dump=$!
until [ -s "$pcap" ]; do sleep 0.05; done   # the pcap header is written once tcpdump listens
ip netns exec $a "$rawlab" arpscan -i eth0 --retry 1 198.18.77.2 >/dev/null
ip netns exec $a "$rawlab" arpscan -i eth0 --retry 1 --arpspa 0.0.0.0 198.18.77.2 >/dev/null
ip netns exec $a arp-scan -I eth0 -x --retry=1 198.18.77.2 >/dev/null
ip netns exec $a tcpdump -c 6 -r "$pcap" >/dev/null 2>&1 || true
kill -INT $dump; wait $dump || true
echo "# Golden ARP frames: rawlab request, kernel reply; rawlab RFC 5227 probe, kernel reply;"
echo "# arp-scan request, kernel reply. Made by craft/testdata/arp_frames.sh. Each frame is"
echo "# its tcpdump -e -n line as a comment, then the whole frame (tcpdump -xx) as one line of hex."
tcpdump -e -n -xx -r "$pcap" 2>/dev/null | awk '
	/^[0-9]/ { if (hex != "") print hex; print "# " $0; hex = ""; next }
	{ for (i = 2; i <= NF; i++) hex = hex $i }
	END { if (hex != "") print hex }'
