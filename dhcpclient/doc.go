// Package dhcpclient acquires, renews, rebinds and releases DHCPv4 leases by
// hand over one raw AF_PACKET socket, on an interface that may have no IP
// address at all. It implements the client side of RFC 2131 (state machine of
// §4.4, retransmission of §4.1, message fields of table 5), checks the address
// for conflicts with ARP before using it (RFC 5227 §2.1.1), and can configure
// the lease on the interface through netlink.
//
// The protocol logic runs over the Conn interface, so that tests drive it
// with a fake link and no privileges; only Dial opens a real socket
// (capture.Listen with a BPF program that passes DHCP replies, UDP 67 -> 68,
// and ARP, untagged or 802.1Q-tagged). The socket stays open for the whole
// exchange: DHCP replies, ARP probes, ARP resolution of the server and ARP
// answers for the leased address (when the interface does not hold it) all go
// through it.
//
// Replies are believed only as far as they hold (decodeReply, Lease.fill):
//   - the IPv4 header checksum is verified, and the UDP checksum unless the
//     kernel vouches for it (capture.ChecksumValid, ChecksumPartial), as RFC
//     1122 §3.2.1.2 and §4.1.3.4 ask;
//   - options in the file and sname fields are decoded when option 52 says
//     so (RFC 2132 §9.3), in the order options, file, sname (RFC 3396), and
//     those fields are then not a server name or boot file;
//   - a missing End option is tolerated and noted; a duplicated or malformed
//     option 53 makes the reply malformed;
//   - a yiaddr no host may hold (0.0.0.0, broadcast, network, multicast,
//     loopback, class E) is refused;
//   - with Config.Trusted, a reply counts only when its IP source and its
//     option 54 are both trusted (and its MAC, with Config.TrustedMACs);
//     others are rogues, never requested from (RogueError);
//   - a missing, zero or malformed lease time becomes DefaultLeaseTime,
//     flagged; inconsistent T1/T2 become 0.5 and 0.875 of the lease (RFC
//     2131 §4.4.5), with a warning; malformed options are named.
//
// Apply adds only what it records in Lease.Applied (the address with the
// lease's lifetimes, a default route at a metric that ranks after other
// interfaces', option 121/33 routes only when asked), and Unapply removes
// exactly that.
//
// Every frame sent or received can be written to a capture.Recorder with a
// comment naming its step, e.g. "DHCPREQUEST (selecting) xid=0x1a2b3c4d try 2".
package dhcpclient
