package dhcpclient

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rawlab/rawlab/internal/netnstest"
	"github.com/vishvananda/netlink"
)

// startDnsmasq runs dnsmasq as the DHCP server on ifname in ns, handing out
// the given range for an hour, and returns the path of its lease database.
func startDnsmasq(t *testing.T, ns *netnstest.NS, ifname, first, last string, extra ...string) (string, *netnstest.Proc) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	leases := filepath.Join(dir, "dnsmasq.leases")
	args := []string{"--no-daemon", "--conf-file=/dev/null", "--pid-file=", "--user=root", "--port=0",
		"--no-ping", "--log-dhcp", "--interface=" + ifname, "--bind-interfaces", "--dhcp-authoritative",
		"--dhcp-range=" + first + "," + last + ",255.255.255.0,1h", "--dhcp-leasefile=" + leases,
		"--domain=lab.test", "--dhcp-option=option:domain-search,lab.test,example.test",
		"--dhcp-option=121,198.19.0.0/16,198.18.0.254"}
	args = append(args, extra...)
	p := ns.Start(t, func(line string) bool { return strings.Contains(line, "DHCP, IP range") }, "dnsmasq", args...)
	return leases, p
}

// leaseDB returns dnsmasq's lease database: address -> MAC.
func leaseDB(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return map[string]string{}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	db := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// expiry MAC address hostname client-id
		if f := strings.Fields(sc.Text()); len(f) >= 3 {
			db[f[2]] = f[1]
		}
	}
	return db
}

// dialIn opens a client on ifname inside ns.
func dialIn(t *testing.T, ns *netnstest.NS, ifname string, cfg Config) *Client {
	t.Helper()
	var c *Client
	if err := ns.Do(func() (err error) {
		c, err = Dial(ifname, cfg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestDnsmasq runs lease, renew and release against dnsmasq and checks its
// lease database after each, then applies a lease through netlink.
func TestDnsmasq(t *testing.T) {
	netnstest.Require(t)
	srv, cli := netnstest.Pair(t, "dhcpd", "198.18.0.1/24", "")
	leases, _ := startDnsmasq(t, srv, "eth0", "198.18.0.100", "198.18.0.150")
	mac := cli.HardwareAddr(t, "eth0")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c := dialIn(t, cli, "eth0", Config{Timeout: time.Second, Tries: 3, Hostname: "rawlab-test"})
	l, err := c.Lease(ctx, Selection{})
	if err != nil {
		t.Fatalf("Lease: %v\n%+v", err, c.Report().Steps)
	}
	if !netip.MustParsePrefix("198.18.0.96/27").Contains(l.Address) && !netip.MustParsePrefix("198.18.0.128/27").Contains(l.Address) {
		t.Errorf("leased %s, outside 198.18.0.100-150", l.Address)
	}
	got := struct {
		Mask, Server, Domain string
		Routers              []netip.Addr
		Search               []string
		LeaseTime            time.Duration
		ServerMAC            string
	}{l.Mask.String(), l.Server.String(), l.Domain, l.Routers, l.Search, l.LeaseTime, l.ServerMAC.String()}
	want := got
	want.Mask, want.Server, want.Domain = "255.255.255.0", "198.18.0.1", "lab.test"
	want.Routers, want.Search = []netip.Addr{netip.MustParseAddr("198.18.0.1")}, []string{"lab.test", "example.test"}
	want.LeaseTime, want.ServerMAC = time.Hour, srv.HardwareAddr(t, "eth0").String()
	if d := cmpDiff(want, got); d != "" {
		t.Errorf("lease (-want +got):\n%s", d)
	}
	netnstest.WaitFor(t, 5*time.Second, "dnsmasq lease database lists the lease", func() bool {
		return leaseDB(t, leases)[l.Address.String()] == mac.String()
	})

	// Renew from a new client, as a later process does from a lease file.
	c2 := dialIn(t, cli, "eth0", Config{Timeout: time.Second, Tries: 3})
	r, err := c2.Renew(ctx, l)
	if err != nil {
		t.Fatalf("Renew: %v\n%+v", err, c2.Report().Steps)
	}
	if r.Address != l.Address || r.Server != l.Server {
		t.Errorf("renewed %s from %s, want %s from %s", r.Address, r.Server, l.Address, l.Server)
	}
	sent := c2.Report().Steps[0].Text
	if !strings.HasPrefix(sent, "DHCPREQUEST (renewing)") {
		t.Errorf("first step %q is not a DHCPREQUEST in RENEWING", sent)
	}
	if db := leaseDB(t, leases); db[l.Address.String()] != mac.String() {
		t.Errorf("after renew the lease database has %v", db)
	}

	if err := c2.Release(ctx, r); err != nil {
		t.Fatalf("Release: %v", err)
	}
	netnstest.WaitFor(t, 5*time.Second, "dnsmasq drops the released lease", func() bool {
		_, ok := leaseDB(t, leases)[l.Address.String()]
		return !ok
	})

	// A fresh lease, applied: the address with its lifetime and the routes.
	l, err = c2.Lease(ctx, Selection{})
	if err != nil {
		t.Fatalf("second Lease: %v", err)
	}
	before := cli.Exec(t, "ip", "-4", "route", "show")
	if err := cli.Do(func() error {
		var err error
		l.Applied, err = Apply(l, ApplyOptions{Routes: true})
		return err
	}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	addrs, err := cli.Netlink().AddrList(cli.Link(t, "eth0"), netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var applied bool
	for _, a := range addrs {
		if a.IP.Equal(net.IP(l.Address.AsSlice())) {
			applied = true
			if a.ValidLft <= 0 || a.ValidLft > 3600 {
				t.Errorf("valid lifetime %d s, want up to 3600", a.ValidLft)
			}
		}
	}
	if !applied {
		t.Errorf("%s not on eth0 after Apply: %v", l.Address, addrs)
	}
	routes := cli.Exec(t, "ip", "-4", "route", "show")
	if !strings.Contains(routes, "198.19.0.0/16 via 198.18.0.254") {
		t.Errorf("classless static route missing:\n%s", routes)
	}
	if err := cli.Do(func() error { return Unapply(l) }); err != nil {
		t.Errorf("Unapply: %v", err)
	}
	if after := cli.Exec(t, "ip", "-4", "route", "show"); after != before {
		t.Errorf("routes after Unapply differ from before Apply:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestConflictKernel checks the ARP conflict check against a Linux kernel
// that holds the offered address: the client declines it, names the
// kernel's MAC, and leases the next address.
func TestConflictKernel(t *testing.T) {
	netnstest.Require(t)
	seg := netnstest.NewSegment(t, "dhcpc")
	hosts := seg.AddHosts(t, "dhcph", "198.18.0.1/24", "198.18.0.100/24")
	srv, holder := hosts[0], hosts[1]
	cli := netnstest.New(t, "dhcpcl")
	seg.Attach(t, cli, "eth0")
	startDnsmasq(t, srv, "eth0", "198.18.0.100", "198.18.0.101")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c := dialIn(t, cli, "eth0", Config{Timeout: time.Second, Tries: 3, ProbeWait: time.Second})
	l, err := c.Lease(ctx, Selection{Address: netip.MustParseAddr("198.18.0.100")})
	rep := c.Report()
	if len(rep.Conflicts) == 0 {
		t.Fatalf("no conflict found for 198.18.0.100 (lease %v, error %v)\n%+v", l, err, rep.Steps)
	}
	ce := rep.Conflicts[0]
	if ce.Address.String() != "198.18.0.100" || ce.Holder.String() != holder.HardwareAddr(t, "eth0").String() {
		t.Errorf("conflict %v, want 198.18.0.100 held by %s", ce, holder.HardwareAddr(t, "eth0"))
	}
	var declined bool
	for _, s := range rep.Steps {
		declined = declined || strings.HasPrefix(s.Text, "DHCPDECLINE")
	}
	if !declined {
		t.Errorf("no DHCPDECLINE sent: %+v", rep.Steps)
	}
	// After the restart, --select ip=.100 matches nothing more: the lease
	// fails, or dnsmasq offers .100 no more.
	if err == nil && l.Address.String() == "198.18.0.100" {
		t.Errorf("leased the conflicting address")
	}

	// Without a selection the client ends on the free address.
	c2 := dialIn(t, cli, "eth0", Config{Timeout: time.Second, Tries: 3, ProbeWait: time.Second})
	l, err = c2.Lease(ctx, Selection{})
	if err != nil {
		t.Fatalf("Lease: %v\n%+v", err, c2.Report().Steps)
	}
	if l.Address.String() != "198.18.0.101" {
		t.Errorf("leased %s, want the free 198.18.0.101", l.Address)
	}
}
