// Package dhcpinterop holds rawlab's DHCP interoperability tests: `rawlab
// dhcp` (the built binary) against real servers — dnsmasq, ISC Kea, ISC dhcpd
// and busybox udhcpd — each started with its own configuration inside network
// namespaces the tests create, on 198.18.0.0/24 only (RFC 2544 §C.2.2).
//
// For every server the tests check that lease gets the configured address,
// mask, router, DNS, domain and times (RFC 2131 §4.3.1, RFC 2132); that renew
// extends the lease and release frees it, as the server's own lease database
// shows; that a second server on the segment is seen by discover --wait; that
// a REQUEST for a wrong address gets a NAK (§4.3.2); that lease succeeds with
// 30% frame loss through retransmission (§4.1); and that a flood of unrelated
// frames does not disturb the exchange (the socket's BPF filter).
//
// The package has no code of its own; everything is in its _test files.
package dhcpinterop
