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
// Every frame sent or received can be written to a capture.Recorder with a
// comment naming its step, e.g. "DHCPREQUEST (selecting) xid=0x1a2b3c4d try 2".
package dhcpclient
