#!/bin/sh
# capture.sh records the golden frames of craft's tests in throwaway network
# namespaces joined by veth pairs (198.18.0.0/15 only, IPv6 off, checksum
# offload off so that captured checksums are final), then writes next to each
# .pcap the `tcpdump -X -e -n -r` text it gives. Run as root from this
# directory: sh capture.sh. It deletes everything it created, even on failure.
# (No 802.1Q capture: the 8021q module is missing where these were made;
# the tests build tagged frames instead.)
#
#   arp.pcap   ping's ARP request and the kernel's reply, a busybox arping -D
#              (RFC 5227 probe, sender 0.0.0.0) and its reply, arping -U
#              (gratuitous request)
#   icmp.pcap  ICMP echo request and reply (ping -c 1 -p)
#   dhcp.pcap  udhcpc and dnsmasq: Discover/Offer/Request/Ack with unicast
#              replies, a renewal (SIGUSR1: unicast Request and Ack) and a
#              unicast Release (SIGUSR2)
#   dhcp-broadcast.pcap  Discover/Offer/Request/Ack with the broadcast bit set
#              (udhcpc -B), so that dnsmasq broadcasts its replies
#   dhcp-isc.pcap  ISC dhclient and ISC dhcpd: Discover/Offer/Request/Ack
#   dhcp-kea.pcap  busybox udhcpc and Kea: Discover/Offer/Request/Ack
set -eu
P=rlcraft$$
A=${P}a B=${P}b
TMP=$(mktemp -d)
cleanup() {
	for f in "$TMP"/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
	ip netns del "$A" 2>/dev/null || true
	ip netns del "$B" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

inns() { ns=$1; shift; ip netns exec "$ns" "$@"; }

setup() { # setup MAC_A MAC_B
	ip netns add "$A"
	ip netns add "$B"
	ip link add "${A}0" type veth peer name "${B}0"
	ip link set "${A}0" netns "$A" address "$1"
	ip link set "${B}0" netns "$B" address "$2"
	for ns in "$A" "$B"; do
		inns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		inns "$ns" ip link set lo up
		inns "$ns" ethtool -K "${ns}0" tx off rx off >/dev/null
		inns "$ns" sysctl -qw "net.ipv6.conf.${ns}0.disable_ipv6=1"
		inns "$ns" ip link set "${ns}0" up
	done
}

teardown() {
	ip netns del "$A"
	ip netns del "$B"
}

# startcap NS IF FILE COUNT FILTER...: tcpdump in NS, returns once it listens.
startcap() {
	ns=$1 ifc=$2 out=$3 cnt=$4
	shift 4
	err="$TMP/tcpdump-$out.err" # a fresh file: never see the previous capture's ready line
	inns "$ns" timeout 30 tcpdump -Z root --immediate-mode -U -i "$ifc" -c "$cnt" -w "$out" "$@" 2>"$err" &
	echo $! >"$TMP/tcpdump.pid"
	i=0
	until grep -qs "listening on" "$err"; do
		i=$((i + 1)); [ $i -lt 100 ] || { cat "$err"; exit 1; }
		sleep 0.05
	done
}

# waitevent WORD: wait until the udhcpc script has logged WORD.
waitevent() {
	i=0
	until grep -qx "$1" "$TMP/events"; do
		i=$((i + 1)); [ $i -lt 200 ] || { echo "no $1 from udhcpc" >&2; exit 1; }
		sleep 0.05
	done
}

waitcap() { wait "$(cat "$TMP/tcpdump.pid")"; rm -f "$TMP/tcpdump.pid"; }

text() { tcpdump -X -e -n -r "$1" >"${1%.pcap}.txt" 2>/dev/null; }

# ARP and ICMP: A (198.18.0.1) talks to B (198.18.0.2).
setup 02:00:5e:00:00:01 02:00:5e:00:00:02
inns "$A" ip addr add 198.18.0.1/24 dev "${A}0"
inns "$B" ip addr add 198.18.0.2/24 dev "${B}0"
startcap "$A" "${A}0" arp.pcap 5 arp
inns "$A" ping -c 1 -W 2 198.18.0.2 >/dev/null
inns "$A" busybox arping -D -c 1 -w 2 -I "${A}0" 198.18.0.2 >/dev/null || true
inns "$A" busybox arping -U -c 1 -w 1 -I "${A}0" 198.18.0.1 >/dev/null || true
waitcap
startcap "$A" "${A}0" icmp.pcap 2 icmp
inns "$A" ping -c 1 -W 2 -p 7261776c6162 -s 40 198.18.0.2 >/dev/null
waitcap
teardown

# DHCP: dnsmasq in A serves 198.18.1.0/24; udhcpc in B has no address.
cat >"$TMP/udhcpc.sh" <<SCRIPT
#!/bin/sh
# Minimal udhcpc script: configure the lease address only (no resolv.conf).
case "\$1" in
bound|renew) ip addr flush dev "\$interface"; ip addr add "\$ip/\${mask:-24}" dev "\$interface" ;;
deconfig) ip addr flush dev "\$interface" ;;
esac
echo "\$1" >>"$TMP/events"
SCRIPT
chmod +x "$TMP/udhcpc.sh"
dhcp() { # dhcp OUT full|dora UDHCPC_FLAGS...
	out=$1 mode=$2; shift 2
	setup 02:00:5e:00:01:01 02:00:5e:00:01:02
	inns "$A" ip addr add 198.18.1.1/24 dev "${A}0"
	inns "$A" dnsmasq --no-daemon --no-ping --conf-file=/dev/null --port=0 --bind-interfaces \
		--interface="${A}0" --dhcp-range=198.18.1.100,198.18.1.150,255.255.255.0,1h \
		--dhcp-leasefile="$TMP/leases" --pid-file="$TMP/dnsmasq.pid" --dhcp-authoritative \
		2>"$TMP/dnsmasq.err" &
	echo $! >"$TMP/dnsmasq.pid"
	i=0
	until grep -qs "DHCP, IP range" "$TMP/dnsmasq.err"; do
		i=$((i + 1)); [ $i -lt 100 ] || { cat "$TMP/dnsmasq.err"; exit 1; }
		sleep 0.05
	done
	n=7; [ "$mode" = full ] || n=4
	startcap "$B" "${B}0" "$out" $n udp port 67 or udp port 68
	: >"$TMP/events"
	inns "$B" busybox udhcpc -f -t 3 -T 1 -i "${B}0" -s "$TMP/udhcpc.sh" -p "$TMP/udhcpc.pid" \
		-x hostname:rawlab "$@" >/dev/null 2>&1 &
	waitevent bound
	if [ "$mode" = full ]; then
		kill -USR1 "$(cat "$TMP/udhcpc.pid")" # renew: unicast Request to the server
		waitevent renew
		kill -USR2 "$(cat "$TMP/udhcpc.pid")" # release: unicast Release
	fi
	waitcap
	kill "$(cat "$TMP/udhcpc.pid")"; rm -f "$TMP/udhcpc.pid"
	kill "$(cat "$TMP/dnsmasq.pid")"; rm -f "$TMP/dnsmasq.pid"
	teardown
}
dhcp dhcp.pcap full
dhcp dhcp-broadcast.pcap dora -B

# DHCP between ISC dhclient and ISC dhcpd, which both build their frames
# themselves through packet sockets.
setup 02:00:5e:00:02:01 02:00:5e:00:02:02
inns "$A" ip addr add 198.18.2.1/24 dev "${A}0"
cat >"$TMP/dhcpd.conf" <<CONF
ping-check false;
default-lease-time 3600;
authoritative;
subnet 198.18.2.0 netmask 255.255.255.0 {
	range 198.18.2.100 198.18.2.150;
	option routers 198.18.2.1;
	option domain-name "lab.rawlab.test";
}
CONF
: >"$TMP/dhcpd.leases"
inns "$A" dhcpd -4 -f -d -cf "$TMP/dhcpd.conf" -lf "$TMP/dhcpd.leases" -pf "$TMP/dhcpd.pid" "${A}0" \
	>"$TMP/dhcpd.err" 2>&1 &
echo $! >"$TMP/dhcpd-proc.pid"
i=0
until grep -qs "^Sending on" "$TMP/dhcpd.err"; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$TMP/dhcpd.err"; exit 1; }
	sleep 0.05
done
startcap "$B" "${B}0" dhcp-isc.pcap 4 udp port 67 or udp port 68
cat >"$TMP/dhclient.conf" <<CONF
send host-name "rawlab";
request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers;
CONF
inns "$B" timeout 20 dhclient -4 -d -1 -cf "$TMP/dhclient.conf" -sf /bin/true -lf "$TMP/dhclient.leases" \
	-pf "$TMP/dhclient.pid" "${B}0" >"$TMP/dhclient.err" 2>&1 &
echo $! >"$TMP/dhclient-timeout.pid"
waitcap
kill "$(cat "$TMP/dhclient-timeout.pid")" "$(cat "$TMP/dhcpd-proc.pid")" 2>/dev/null || true
rm -f "$TMP/dhclient-timeout.pid" "$TMP/dhcpd-proc.pid"
teardown

# DHCP between busybox udhcpc and Kea (raw sockets, in-memory leases).
setup 02:00:5e:00:03:01 02:00:5e:00:03:02
inns "$A" ip addr add 198.18.3.1/24 dev "${A}0"
cat >"$TMP/kea.json" <<CONF
{"Dhcp4": {
	"interfaces-config": {"interfaces": ["${A}0"], "dhcp-socket-type": "raw"},
	"lease-database": {"type": "memfile", "persist": false},
	"valid-lifetime": 3600,
	"subnet4": [{"id": 1, "subnet": "198.18.3.0/24",
		"pools": [{"pool": "198.18.3.100 - 198.18.3.150"}],
		"option-data": [{"name": "routers", "data": "198.18.3.1"},
			{"name": "domain-name", "data": "lab.rawlab.test"}]}],
	"loggers": [{"name": "kea-dhcp4", "output_options": [{"output": "stdout"}], "severity": "INFO"}]
}}
CONF
inns "$A" env KEA_PIDFILE_DIR="$TMP" KEA_LOCKFILE_DIR="$TMP" kea-dhcp4 -c "$TMP/kea.json" >"$TMP/kea.out" 2>&1 &
echo $! >"$TMP/kea.pid"
i=0
until grep -qs "DHCP4_STARTED" "$TMP/kea.out"; do
	i=$((i + 1)); [ $i -lt 200 ] || { cat "$TMP/kea.out"; exit 1; }
	sleep 0.05
done
startcap "$B" "${B}0" dhcp-kea.pcap 4 udp port 67 or udp port 68
inns "$B" timeout 20 busybox udhcpc -f -q -n -t 3 -T 1 -i "${B}0" -s /bin/true -x hostname:rawlab >/dev/null 2>&1
waitcap
kill "$(cat "$TMP/kea.pid")"; rm -f "$TMP/kea.pid"
teardown

for f in *.pcap; do text "$f"; done
