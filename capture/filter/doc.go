// Package filter compiles pcap-filter(7) expressions, the filter language of
// tcpdump(1) and libpcap, into classic BPF programs for Ethernet frames
// (DLT_EN10MB) and Linux cooked captures (DLT_LINUX_SLL), in pure Go: no
// cgo and no libpcap at run time. The programs are golang.org/x/net/bpf
// instructions, ready for SO_ATTACH_FILTER (see socket(7) and the kernel's
// Documentation/networking/filter.rst).
//
// The grammar covers what people use on a lab link:
//
//	ether host|src|dst MAC, ether broadcast|multicast, ether proto N|\name
//	arp, rarp, ip, ip6, tcp, udp, icmp, icmp6, sctp, igmp, pim, vrrp, ah, esp
//	ip proto N|\name, ip6 proto N, proto N
//	vlan [ID]            (the offsets of everything after it move by 4 bytes)
//	[ip|arp|rarp] [src|dst|src or dst|src and dst] host ADDR, net CIDR|ADDR mask MASK|PARTIAL
//	ip6 host|net ADDR[/LEN]
//	[tcp|udp|sctp] [src|dst] port N|name, portrange N-M
//	ip broadcast, ip multicast, ip6 multicast, broadcast, multicast
//	less N, greater N
//	proto[expr:size] relop expr, with + - * / % & | ^ << >> and len,
//	  tcp[tcpflags], tcp-syn..., icmp[icmptype], icmp-echo..., icmp6[icmp6type]
//	and, or, not, &&, ||, !, parentheses, and libpcap's repetition of the
//	  last qualifiers: "host 198.18.0.1 or 198.18.0.2", "port 53 or 67"
//
// Semantics follow libpcap 1.10 as "tcpdump -d -y EN10MB" compiles them:
// "tcp[...]" and port tests see only the first fragment of IPv4 packets,
// plain "host" also matches ARP and RARP addresses, and "vlan" moves the
// offsets for the rest of the expression, even across "or". With
// Options.KernelVLAN the program follows libpcap on a live Linux socket
// instead, where the kernel strips the outer tag.
//
// The optimizer works like libpcap's (value numbering of packet loads,
// facts learnt from branches, jump threading, dead code removal), so
// programs come out close to libpcap's in size; Options.NoOptimize turns it
// off, like tcpdump -O. Like libpcap's, it may drop a load whose value
// decides nothing, which changes the verdict only on a frame too short for
// that load. Dump prints a program as "tcpdump -d" does.
//
// Keywords ("arp", "host", "icmp-echo", ...) are case-sensitive, as in
// libpcap: "ARP" is an error that says so. Service names are looked up as
// written, IP protocol names also under the capitalised alias
// /etc/protocols gives them ("ip proto UDP").
//
// Numbers are 32-bit, as in libpcap: "ip[10000000000]" is refused as out of
// range, "08" as not octal. An expression is at most MaxExprLen bytes and
// MaxDepth levels deep; errors quote at most 80 bytes of it.
//
// Compile emits code for Ethernet (DLT_EN10MB) and, with Options.LinkType,
// for Linux cooked captures (DLT_LINUX_SLL, 113: the protocol at byte 14,
// the payload at 16; "ether host", "broadcast", "multicast" and "vlan"
// are refused as libpcap refuses them there). Any other link type (SLL2,
// raw IP, ...) is refused with *UnsupportedLinkTypeError.
//
// VM runs a program in user space as the kernel and libpcap's bpf_filter
// do: "len", "less" and "greater" test the wire length (Aux.Len) of a
// record cut short by the snap length, and the ancillary loads of
// Options.KernelVLAN programs read Aux. golang.org/x/net/bpf's VM takes the
// captured length instead and cannot run those loads.
//
// Differences from libpcap 1.10: out-of-range protocol numbers ("ip proto
// 300", "ether proto 70000") and shifts of a variable by more than 31 bits
// are errors (libpcap emits code that never matches, or that the kernel
// refuses); a divisor that folds to zero is always an error.
//
// Not supported (a *SyntaxError says so): host and network names (no DNS or
// /etc/networks lookups), gateway, protochain, inbound/outbound, ifindex,
// mpls, pppoe, geneve, vxlan, llc, 802.11, ATM, MTP, ISO/IS-IS, decnet
// addresses, and "byte".
package filter
