// Package netnstest is the test harness that every rawlab integration test
// uses: it builds network namespaces joined by veth pairs and Linux bridges,
// gives them addresses from the benchmarking block 198.18.0.0/15 (RFC 2544,
// RFC 6815) and nothing else, starts daemons inside them and waits for their
// ready line, runs Go functions inside a namespace on a locked OS thread, and
// tears everything down through t.Cleanup, even when the test fails.
//
// It follows the model of github.com/vishvananda/netlink's own tests: the
// namespaces, links and processes are created by the test itself, never by a
// script run beforehand. See ip-netns(8), veth(4), bridge(8) and tc-netem(8).
//
// It is for tests only: it starts the peers under test through `ip netns
// exec` and builds rawlab with the `go` command, both found through PATH,
// as a test run by a developer expects. The rawlab binary never links it;
// .ci/run fails if cmd/rawlab comes to depend on it, so nothing it finds
// through PATH can run with the privilege rawlab holds.
//
// # Require
//
// Every test that needs namespaces starts with Require (New calls it too). It
// skips the test with a reason when the process is not root or cannot create a
// network namespace, and fails it instead when RAWLAB_REQUIRE_NETNS=1, as CI
// sets, so that no integration test is silently skipped there.
//
// # Building a lab
//
//	a, b := netnstest.Pair(t, "arp", "198.18.0.1/24", "198.18.0.2/24") // two namespaces, eth0 <-> eth0
//
//	x, y := netnstest.New(t, "x"), netnstest.New(t, "y") // or by hand
//	netnstest.Veth(t, x, "eth0", y, "rl0")
//	x.AddAddr(t, "eth0", "198.18.1.1/24")
//
//	seg := netnstest.NewSegment(t, "sw")                     // a bridge in its own namespace
//	hosts := seg.AddHosts(t, "h", netnstest.HostCIDRs("198.18.0.11", 24, 50)...) // 50 kernels answering ARP
//	client := netnstest.New(t, "cl")
//	seg.Attach(t, client, "rl0")                             // client on the segment, no address
//
// Namespace names are the prefix plus a random suffix (at most 15
// characters), so tests and test binaries may run in parallel. Each namespace
// has lo up and IPv6 off (no router solicitations or MLD reports in captures).
// AddAddr, AddHosts and Pair refuse any address outside 198.18.0.0/15.
// SetLoss drops a share of a link's frames (netem, or an eBPF classifier where
// the kernel lacks netem).
//
// # Running things inside
//
//	out := a.Exec(t, "ip", "neigh")                          // fails the test on error
//	srv := b.Start(t, func(l string) bool { return strings.Contains(l, "started") },
//		"dnsmasq", "--no-daemon", ...)                       // waits for the ready line
//	if err := srv.Stop(); err != nil { ... }                 // SIGTERM, then SIGKILL; cleanup kills it anyway
//	bin := netnstest.Rawlab(t)                               // cmd/rawlab, built once per test binary
//	p := netnstest.StartCmd(t, a.Command(ctx, bin, "capture", "-i", "eth0"), nil, netnstest.ReadyTimeout)
//	err := a.Do(func() error { conn, err = capture.Listen("eth0", cfg); return err }) // socket stays in a
//
// Commands run through `ip netns exec`, which execs in place, so a Proc's PID
// is the daemon's own. At cleanup a Proc is killed by PID, then every process
// still in each namespace is killed by PID (as `ip netns pids` lists them) and
// the namespace is deleted; when the test failed, each Proc's output is logged.
// WaitFor, WaitFile and Proc.WaitLine wait on events with a bounded deadline,
// never a fixed sleep.
//
// The harness itself is Linux-only; on other systems only Require (which
// skips, or fails under RAWLAB_REQUIRE_NETNS=1), the address guard and the
// wait helpers are available.
package netnstest
