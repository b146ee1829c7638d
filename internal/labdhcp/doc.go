// Package labdhcp is the DHCPv4 server of rawlab's lab: a small, authoritative
// server for one directly attached segment, built on insomniacslk/dhcp's
// dhcpv4 model and server4 socket.
//
// It implements the server side of RFC 2131 §4.3 for a lab: DISCOVER gets an
// OFFER from a real address pool; REQUEST in the SELECTING, INIT-REBOOT,
// RENEWING and REBINDING states gets an ACK or, for an address this client was
// not offered or does not hold, a NAK (§4.3.2); RELEASE frees the binding;
// DECLINE marks the address unusable for a while; INFORM gets the options with
// no address and no lease time (§4.3.5). Replies carry the options of RFC 2132
// (1, 3, 6, 12 when asked, 15, 28, 42, 51, 54, 58, 59), the domain search
// list of RFC 3397 (119, with RFC 1035 §4.1.4 compression) and classless
// static routes of RFC 3442 (121).
//
// The protocol logic, [Server.Handle], is pure and runs in unit tests without
// sockets. [Server.Serve] binds it to an interface (Linux only).
package labdhcp
