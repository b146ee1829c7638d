package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rawlab/rawlab/internal/netnstest"
)

// dnsmasqDHCP starts dnsmasq as a DHCP server on eth0 of ns (which holds
// serverCIDR's address) and returns its lease database path.
func dnsmasqDHCP(t *testing.T, ns *netnstest.NS, first, last string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	leases := filepath.Join(dir, "dnsmasq.leases")
	ns.Start(t, func(l string) bool { return strings.Contains(l, "DHCP, IP range") }, "dnsmasq",
		"--no-daemon", "--conf-file=/dev/null", "--pid-file=", "--user=root", "--port=0", "--no-ping",
		"--interface=eth0", "--bind-interfaces", "--dhcp-authoritative",
		"--dhcp-range="+first+","+last+",255.255.255.0,1h", "--dhcp-leasefile="+leases,
		"--domain=lab.test", "--dhcp-option=option:domain-search,lab.test,example.test",
		"--dhcp-option=option:dns-server,198.18.0.53", "--dhcp-option=121,198.19.0.0/16,198.18.0.254")
	return leases
}

// dnsmasqLeases returns the database's lines keyed by address: expiry MAC.
func dnsmasqLeases(t *testing.T, path string) map[string][2]string {
	t.Helper()
	out := map[string][2]string{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 3 {
			out[fs[2]] = [2]string{fs[0], fs[1]}
		}
	}
	return out
}

// TestDHCPCommandDnsmasq drives `rawlab dhcp` end to end against dnsmasq:
// lease (with --lease-file, --pcap and --json), renew and release from the
// lease file, each checked in dnsmasq's lease database; the recording is
// read back with its comments.
func TestDHCPCommandDnsmasq(t *testing.T) {
	netnstest.Require(t)
	srv, cli := netnstest.Pair(t, "dhcpcmd", "198.18.0.1/24", "")
	leases := dnsmasqDHCP(t, srv, "198.18.0.100", "198.18.0.150")
	dir := t.TempDir()
	lf, pcap := filepath.Join(dir, "lease.json"), filepath.Join(dir, "dora.pcapng")
	mac := cli.HardwareAddr(t, "eth0").String()

	code, stdout, stderr := rawlabIn(t, cli, "dhcp", "lease", "-i", "eth0", "--lease-file", lf, "--pcap", pcap,
		"--xid", "0", "--hostname", "rawlab1", "--timeout", "1s")
	if code != 0 {
		t.Fatalf("lease: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"Lease 198.18.0.", "/24 on eth0 from 198.18.0.1", "router     198.18.0.1",
		"dns        198.18.0.53", "domain     lab.test", "search     lab.test, example.test", "lease      1h (3600 s)",
		"T1 renew   30m", "T2 rebind  52m30s", "Classless Static Route Option  198.19.0.0/16 via 198.18.0.254",
		"DHCPREQUEST (selecting) xid=0x00000000 try 1", "ARP probe who-has"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("lease output lacks %q:\n%s", want, stdout)
		}
	}
	var saved struct {
		Address string `json:"address"`
		Server  string `json:"server"`
		Lease   int    `json:"lease_time_s"`
	}
	b, err := os.ReadFile(lf)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &saved); err != nil || saved.Server != "198.18.0.1" || saved.Lease != 3600 {
		t.Fatalf("lease file %s: %+v, %v", b, saved, err)
	}
	if db := dnsmasqLeases(t, leases); db[saved.Address][1] != mac {
		t.Errorf("dnsmasq has %v, want %s for %s", db, mac, saved.Address)
	}
	if out, err := exec.Command("tshark", "-r", pcap, "-T", "fields", "-e", "frame.comment").CombinedOutput(); err == nil {
		for _, want := range []string{"DHCPDISCOVER (init) xid=0x00000000 try 1", "DHCPREQUEST (selecting) xid=0x00000000 try 1", "DHCPACK xid=0x00000000"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("tshark shows no comment %q:\n%s", want, out)
			}
		}
	} else if _, lerr := exec.LookPath("tshark"); lerr == nil {
		t.Errorf("tshark -r %s: %v\n%s", pcap, err, out)
	}

	before := dnsmasqLeases(t, leases)[saved.Address][0]
	code, stdout, stderr = rawlabIn(t, cli, "dhcp", "renew", "-i", "eth0", "--lease-file", lf, "--json")
	if code != 0 {
		t.Fatalf("renew: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var renewed struct {
		Lease struct {
			Address string `json:"address"`
		} `json:"lease"`
		Report struct {
			Exchange []struct {
				Text string `json:"text"`
			} `json:"exchange"`
		} `json:"report"`
	}
	if err := json.Unmarshal([]byte(stdout), &renewed); err != nil {
		t.Fatalf("renew --json: %v\n%s", err, stdout)
	}
	if renewed.Lease.Address != saved.Address || len(renewed.Report.Exchange) == 0 ||
		!strings.HasPrefix(renewed.Report.Exchange[0].Text, "DHCPREQUEST (renewing)") {
		t.Errorf("renew: %+v", renewed)
	}
	after := dnsmasqLeases(t, leases)[saved.Address]
	if after[1] != mac || after[0] < before {
		t.Errorf("after renew dnsmasq has %v (expiry before %s)", after, before)
	}

	code, stdout, stderr = rawlabIn(t, cli, "dhcp", "release", "-i", "eth0", "--lease-file", lf)
	if code != 0 || !strings.Contains(stdout, "Sent DHCPRELEASE for "+saved.Address+" to 198.18.0.1") {
		t.Fatalf("release: exit %d\n%s\n%s", code, stdout, stderr)
	}
	netnstest.WaitFor(t, 5*time.Second, "dnsmasq drops the released lease", func() bool {
		_, ok := dnsmasqLeases(t, leases)[saved.Address]
		return !ok
	})
	// The lease file records the release: renewing or releasing it again is
	// refused before anything is sent.
	for _, verb := range []string{"renew", "release", "rebind"} {
		code, _, stderr = rawlabIn(t, cli, "dhcp", verb, "-i", "eth0", "--lease-file", lf)
		if code != 2 || !strings.Contains(stderr, "--lease-file") || !strings.Contains(stderr, "released") {
			t.Errorf("%s after release: exit %d, stderr %q; want 2 naming the release", verb, code, stderr)
		}
	}

	// A wrong address: dnsmasq (authoritative) answers DHCPNAK.
	code, stdout, stderr = rawlabIn(t, cli, "dhcp", "request", "-i", "eth0", "--ip", "198.18.1.7", "--timeout", "1s")
	if code != 1 || !strings.Contains(stderr, "DHCPNAK from 198.18.0.1 for 198.18.1.7") {
		t.Errorf("request of a wrong address: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}

// TestDHCPCommandNoServer checks the message and exit status when nothing
// answers.
func TestDHCPCommandNoServer(t *testing.T) {
	netnstest.Require(t)
	_, cli := netnstest.Pair(t, "dhcpnone", "198.18.0.1/24", "")
	code, stdout, stderr := rawlabIn(t, cli, "dhcp", "lease", "-i", "eth0", "--timeout", "100ms", "--retries", "2")
	if code != 1 {
		t.Errorf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "no reply to DHCPDISCOVER (init): 3 tries sent") || !strings.Contains(stderr, "nothing came back") ||
		strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("stderr is not one line saying 3 tries and nothing came back: %q", stderr)
	}
}

// TestDHCPCommandRogue checks discover --wait with two servers on the link and
// --expect-server naming one: the other is named, exit status 3.
func TestDHCPCommandRogue(t *testing.T) {
	netnstest.Require(t)
	seg := netnstest.NewSegment(t, "dhcprg")
	hosts := seg.AddHosts(t, "dhcprs", "198.18.0.1/24", "198.18.0.2/24")
	dnsmasqDHCP(t, hosts[0], "198.18.0.100", "198.18.0.110")
	dnsmasqDHCP(t, hosts[1], "198.18.0.200", "198.18.0.210")
	cli := netnstest.New(t, "dhcprc")
	seg.Attach(t, cli, "eth0")
	code, stdout, stderr := rawlabIn(t, cli, "dhcp", "discover", "-i", "eth0", "--wait", "1s", "--expect-server", "198.18.0.1", "--json")
	if code != 3 {
		t.Errorf("exit %d, want 3\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "unexpected DHCP server 198.18.0.2") {
		t.Errorf("stderr does not name the stranger: %q", stderr)
	}
	var out struct {
		Offers []struct {
			Server  string `json:"server"`
			Address string `json:"yiaddr"`
			Rogue   bool   `json:"rogue"`
			Options []struct {
				Code int    `json:"code"`
				Name string `json:"name"`
			} `json:"options"`
		} `json:"offers"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("discover --json: %v\n%s", err, stdout)
	}
	servers := map[string]bool{}
	for _, o := range out.Offers {
		servers[o.Server] = true
		if o.Rogue != (o.Server == "198.18.0.2") {
			t.Errorf("offer from %s: rogue %v", o.Server, o.Rogue)
		}
		if len(o.Options) == 0 || o.Options[0].Name != "DHCP Msg Type" {
			t.Errorf("offer from %s: options %+v", o.Server, o.Options)
		}
	}
	if !servers["198.18.0.1"] || !servers["198.18.0.2"] {
		t.Errorf("offers from %v, want both servers", servers)
	}
}

// TestDHCPCommandNoPrivilege runs `rawlab dhcp lease` as an unprivileged
// user: one line with the permission hint, exit status 2, and no --pcap
// file left behind.
func TestDHCPCommandNoPrivilege(t *testing.T) {
	netnstest.Require(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	_, cli := netnstest.Pair(t, "dhcpnp", "198.18.0.1/24", "")
	dir, err := os.MkdirTemp("", "rawlab-noroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "rawlab")
	b, err := os.ReadFile(netnstest.Rawlab(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	pcap := filepath.Join(dir, "x.pcapng")
	out, err := cli.Output("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
		bin, "dhcp", "lease", "-i", "eth0", "--pcap", pcap)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("unprivileged lease: %v, want exit status 2\n%s", err, out)
	}
	if !strings.Contains(out, "operation not permitted") || !strings.Contains(out, "setcap") ||
		strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("output is not one line with the permission hint: %q", out)
	}
	if _, err := os.Stat(pcap); err == nil {
		t.Errorf("%s was created", pcap)
	}
}

// TestDHCPCommandConflict leases on a segment where a kernel already holds
// the first address dnsmasq offers: the default ARP check finds it, the
// output names the holder's MAC, and the client ends with the next address.
func TestDHCPCommandConflict(t *testing.T) {
	netnstest.Require(t)
	seg := netnstest.NewSegment(t, "dhcpcf")
	hosts := seg.AddHosts(t, "dhcpch", "198.18.0.1/24", "198.18.0.2/24")
	dnsmasqDHCP(t, hosts[0], "198.18.0.100", "198.18.0.101")
	cli := netnstest.New(t, "dhcpcc")
	seg.Attach(t, cli, "eth0")

	// dnsmasq picks the first address from a hash of the MAC: ask which,
	// then let the other host's kernel hold it.
	code, stdout, stderr := rawlabIn(t, cli, "dhcp", "discover", "-i", "eth0", "--timeout", "1s", "--json")
	var d struct {
		Offers []struct {
			Address string `json:"yiaddr"`
		} `json:"offers"`
	}
	if err := json.Unmarshal([]byte(stdout), &d); code != 0 || err != nil || len(d.Offers) != 1 {
		t.Fatalf("discover: exit %d, %v\n%s\n%s", code, err, stdout, stderr)
	}
	taken := d.Offers[0].Address
	free := map[string]string{"198.18.0.100": "198.18.0.101", "198.18.0.101": "198.18.0.100"}[taken]
	hosts[1].AddAddr(t, "eth0", taken+"/24")
	holder := hosts[1].HardwareAddr(t, "eth0").String()

	start := time.Now()
	code, stdout, stderr = rawlabIn(t, cli, "dhcp", "lease", "-i", "eth0", "--timeout", "1s", "--decline-wait", "1500ms")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if d := time.Since(start); d < 1500*time.Millisecond {
		t.Errorf("lease after a DHCPDECLINE took %s, less than --decline-wait 1.5s", d)
	}
	for _, want := range []string{"CONFLICT: " + taken + " offered by 198.18.0.1 is in use by " + holder + "; declined",
		"DHCPDECLINE (conflict " + taken + ")", "Lease " + free + "/24 on eth0"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}
