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
// Everything is done through rtnetlink (github.com/vishvananda/netlink),
// setns(2) (package namespace) and /proc/sys; no program is run through
// PATH. IPv6 is off in every lab namespace so that no router solicitation
// or MLD report lands in a capture.
//
// The lab touches only what it made. Up records every namespace it creates
// (name, device and inode of the namespace) in RunDir/lab.json, and labels
// every link it creates with the alias "rawlab-lab"; Down deletes only
// recorded namespaces whose inode still matches, so a namespace of someone
// else's that merely carries a lab name is left alone. Up and Down hold an
// flock(2) on RunDir/lock; a second Up at the same time fails with ErrBusy,
// and an Up that fails removes only what it built itself. RunDir
// (RAWLAB_RUN_DIR/<prefix>, else /run/rawlab/<prefix>) is a private 0700
// directory that is never a symlink; the server's lease file lives in
// RunDir/server, owned by the user the server drops to.
package lab
