// Package arpscan finds the hosts on an Ethernet segment by sending them ARP
// requests (RFC 826) and listening for the replies, as arp-scan(1) does.
//
// The scanner builds its request frames itself from one template, patching
// only the target protocol address per frame, and decodes replies in place,
// so that neither the send loop nor the receive loop allocates per frame.
// Requests go out on a token-bucket schedule (--rate PPS or --bandwidth
// BITS, costed the way arp-scan(1) costs a frame: see FrameBits), batched
// with sendmmsg(2) at high rates. Retries and per-host timeouts follow
// arp-scan(1): --retry is the total number of tries per host, --timeout the
// wait after the first, multiplied by --backoff for each further try. In the
// adaptive mode (the default) the wait comes from the round-trip times seen
// in the same scan (RFC 6298's SRTT + 4*RTTVAR, kept between a floor and
// --timeout), and the scan ends as soon as every target has answered or has
// used its tries and its last wait: there is no fixed wait at the end.
//
// Results carry arp-scan's flags: DUP (a MAC answered more often than it was
// asked), CONFLICT (one IP answered from two or more MACs) and MISMATCH
// (Ethernet source != ARP sender hardware address). Replies from addresses
// that were not targeted are reported apart. RFC 5227 probes (sender IP
// 0.0.0.0) are supported for interfaces with no address.
//
// The protocol logic runs over the Conn interface, so tests drive it with a
// fake connection and no privileges; Dial opens the real AF_PACKET sockets
// (packet(7)): a send-only socket written with sendmmsg(2), and a receive
// socket bound to ETH_P_ALL whose BPF filter (ARP replies, tagged or not) is
// attached before bind, read with recvmmsg(2) or from a TPACKET_V3 ring,
// with kernel timestamps and the VLAN tag the kernel strips (PACKET_AUXDATA,
// tp_vlan_tci). A window (Config.MaxPending) keeps the sender from running
// ahead of a receiver that a busy machine leaves unscheduled.
//
// Watch lists the hosts seen in ARP traffic without sending anything, and
// Ping resolves one address (arping(8)), with RFC 5227 probes if asked.
package arpscan
