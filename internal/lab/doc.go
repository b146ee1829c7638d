// Package lab builds and removes rawlab's lab: network namespaces joined
// through a bridge, using only 198.18.0.0/15 (RFC 2544 §C.2.2, RFC 6815), with
// the embedded DHCP server of package labdhcp running in the server
// namespace as a detached rawlab process.
//
// The shape is that of scripts/lab.sh:
//
//	rl-client  rl0  (no address)        02:52:4c:00:00:02  ─┐
//	rl-srv     eth0 198.18.0.1/24 (DHCP) 02:52:4c:00:00:01   ├─ rl-sw: bridge br0
//	rl-h1..N   eth0 198.18.0.11.. /24    02:52:4c:00:00:0b.. ─┘
//
// Everything is done with iproute2 (ip(8), see ip-netns(8)) and /proc/sys; IPv6
// is off in every lab namespace so that no router solicitation or MLD report
// lands in a capture. The server's pid file, log and lease file live in
// RunDir (RAWLAB_RUN_DIR, else /run/rawlab/<prefix>).
package lab
