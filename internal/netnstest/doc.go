// Package netnstest is the test harness that every rawlab integration test
// uses: it builds network namespaces joined by veth pairs and Linux bridges,
// gives them addresses from the benchmarking block 198.18.0.0/15 (RFC 2544,
// RFC 6815) and nothing else, starts daemons inside them and waits for their
// ready line, runs Go functions inside a namespace on a locked OS thread, and
// tears everything down through t.Cleanup, even when the test fails.
//
// It follows the model of github.com/vishvananda/netlink's own tests: the
// namespaces, links and processes are created by the test itself, never by a
// script run beforehand. See ip-netns(8), veth(4) and bridge(8).
//
// Every test that needs namespaces starts with Require, which skips the test
// with a reason when it is not root or namespaces do not work, and fails it
// instead when RAWLAB_REQUIRE_NETNS=1 (as CI sets):
//
//	func TestARPReply(t *testing.T) {
//		netnstest.Require(t)
//		a, b := netnstest.New(t, "arpa"), netnstest.New(t, "arpb")
//		netnstest.Veth(t, a, "eth0", b, "eth0")
//		a.AddAddr(t, "eth0", "198.18.0.1/24")
//		b.AddAddr(t, "eth0", "198.18.0.2/24")
//		out := a.Exec(t, "ping", "-c", "1", "-W", "2", "198.18.0.2")
//		...
//	}
//
// The harness itself is Linux-only; on other systems only Require (which
// skips) and the address guard are available.
package netnstest
