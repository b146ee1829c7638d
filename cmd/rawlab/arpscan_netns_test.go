//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/internal/jsoncheck"
	"github.com/rawlab/rawlab/internal/netnstest"
)

// jsonHost is a host line of --jsonl output.
type jsonHost struct {
	Record  string             `json:"record"`
	IP      string             `json:"ip"`
	MAC     string             `json:"mac"`
	EthSrc  string             `json:"eth_src_mac"`
	VLANs   []struct{ ID int } `json:"vlans"`
	Flags   []string           `json:"flags"`
	Replies int                `json:"replies"`
}

func scanJSONL(t *testing.T, ns *netnstest.NS, args ...string) []jsonHost {
	t.Helper()
	code, stdout, stderr := rawlabIn(t, ns, append([]string{"arpscan", "--jsonl"}, args...)...)
	if code != 0 {
		t.Fatalf("rawlab arpscan %v: exit %d: %s", args, code, stderr)
	}
	return parseJSONL(t, stdout)
}

// parseJSONL checks stdout against docs/json.md and returns its host
// records, with the flags of later flag records merged in.
func parseJSONL(t *testing.T, stdout string) []jsonHost {
	t.Helper()
	if err := jsoncheck.Lines([]byte(stdout)); err != nil {
		t.Errorf("--jsonl output breaks docs/json.md: %v\n%s", err, stdout)
	}
	var hs []jsonHost
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var h jsonHost
		if err := json.Unmarshal([]byte(line), &h); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		switch h.Record {
		case "host":
			hs = append(hs, h)
		case "flag":
			for i := range hs {
				if hs[i].IP == h.IP && hs[i].MAC == h.MAC {
					hs[i].Flags = append(hs[i].Flags, h.Flags...)
					hs[i].Replies = h.Replies
				}
			}
		}
	}
	return hs
}

// scanLab is a scanner namespace on a segment with hosts.
type scanLab struct {
	seg     *netnstest.Segment
	scanner *netnstest.NS
	hosts   []*netnstest.NS
	want    map[string]string // IP -> MAC
}

// newLab builds a segment with a scanner (198.18.0.1/24 unless scanCIDR is
// empty) and n hosts at 198.18.0.(5*i).
func newLab(t *testing.T, prefix string, n int, scanCIDR string) *scanLab {
	t.Helper()
	netnstest.Require(t)
	l := &scanLab{seg: netnstest.NewSegment(t, prefix+"sw"), scanner: netnstest.New(t, prefix+"s"), want: map[string]string{}}
	l.seg.Attach(t, l.scanner, "eth0")
	if scanCIDR != "" {
		l.scanner.AddAddr(t, "eth0", scanCIDR)
	}
	var cidrs []string
	for i := 1; i <= n; i++ {
		cidrs = append(cidrs, fmt.Sprintf("198.18.0.%d/24", 5*i))
	}
	l.hosts = l.seg.AddHosts(t, prefix+"h", cidrs...)
	for i, h := range l.hosts {
		l.want[fmt.Sprintf("198.18.0.%d", 5*(i+1))] = h.HardwareAddr(t, "eth0").String()
	}
	return l
}

func hostMap(t *testing.T, hs []jsonHost) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, h := range hs {
		if prev, ok := got[h.IP]; ok {
			t.Errorf("%s listed twice (%s, %s)", h.IP, prev, h.MAC)
		}
		got[h.IP] = h.MAC
		if len(h.Flags) != 0 {
			t.Errorf("%s %s flagged %v", h.IP, h.MAC, h.Flags)
		}
	}
	return got
}

// TestArpscanFindsEveryHost: 50 kernels on one bridge; each scan mode finds
// every one with its MAC and invents none.
func TestArpscanFindsEveryHost(t *testing.T) {
	l := newLab(t, "as", 50, "198.18.0.1/24")
	for _, mode := range [][]string{
		{"198.18.0.0/24"},                         // defaults: 500 requests/s, adaptive waits
		{"--rate", "max", "198.18.0.0/24"},        // as fast as the link goes
		{"--random", "--seed", "3", "--localnet"}, // every address of eth0's network, shuffled
	} {
		t.Run(strings.Join(mode, " "), func(t *testing.T) {
			got := hostMap(t, scanJSONL(t, l.scanner, append([]string{"-i", "eth0"}, mode...)...))
			if diff := cmp.Diff(l.want, got); diff != "" {
				t.Errorf("hosts (-want +got):\n%s", diff)
			}
		})
	}
}

// TestArpscanTableAndPcap checks the default table, the summary line and
// that --pcap holds every request and reply.
func TestArpscanTableAndPcap(t *testing.T) {
	l := newLab(t, "at", 3, "198.18.0.1/24")
	pcap := filepath.Join(t.TempDir(), "scan.pcapng")
	code, stdout, stderr := rawlabIn(t, l.scanner, "arpscan", "-i", "eth0", "--rate", "max", "--retry", "1", "--pcap", pcap, "198.18.0.0/28")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var rows []string
	for _, ln := range lines {
		if strings.HasPrefix(ln, "198.18.0.") {
			f := strings.Split(ln, "\t")
			rows = append(rows, f[0]+" "+f[1]+" "+f[2])
		}
	}
	sort.Strings(rows)
	var want []string
	for ip, mac := range l.want {
		want = append(want, ip+" "+mac+" (Unknown: locally administered)")
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("table rows (-want +got):\n%s", diff)
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "16 hosts scanned in ") || !strings.HasSuffix(last, "(16 requests), 3 responded") {
		t.Errorf("summary line %q", last)
	}
	r, err := capture.OpenFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	var out, in int
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		switch rec.Dir {
		case capture.Outbound:
			out++
		case capture.Inbound:
			in++
		}
	}
	if out != 16 || in != 3 {
		t.Errorf("pcap holds %d requests and %d replies, want 16 and 3", out, in)
	}
}

// TestArpscanConflict: two namespaces holding the same address give two
// rows, both flagged CONFLICT, with both MACs.
func TestArpscanConflict(t *testing.T) {
	netnstest.Require(t)
	seg := netnstest.NewSegment(t, "acsw")
	sc := netnstest.New(t, "acs")
	seg.Attach(t, sc, "eth0")
	sc.AddAddr(t, "eth0", "198.18.0.1/24")
	hosts := seg.AddHosts(t, "ach", "198.18.0.9/24", "198.18.0.9/24")
	want := []string{hosts[0].HardwareAddr(t, "eth0").String(), hosts[1].HardwareAddr(t, "eth0").String()}
	sort.Strings(want)
	hs := scanJSONL(t, sc, "-i", "eth0", "198.18.0.9")
	var got []string
	for _, h := range hs {
		if h.IP != "198.18.0.9" || !cmp.Equal(h.Flags, []string{"CONFLICT"}) {
			t.Errorf("host %+v, want 198.18.0.9 flagged CONFLICT", h)
		}
		got = append(got, h.MAC)
	}
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MACs (-want +got):\n%s", diff)
	}
}

// TestArpscanDup: one namespace with two ports on the bridge, both with the
// same MAC and arp_ignore=0, answers every request twice: DUP.
func TestArpscanDup(t *testing.T) {
	netnstest.Require(t)
	seg := netnstest.NewSegment(t, "adsw")
	sc, h := netnstest.New(t, "ads"), netnstest.New(t, "adh")
	seg.Attach(t, sc, "eth0")
	sc.AddAddr(t, "eth0", "198.18.0.1/24")
	seg.Attach(t, h, "eth0")
	seg.Attach(t, h, "eth1")
	mac := h.HardwareAddr(t, "eth0")
	h.SetHardwareAddr(t, "eth1", mac)
	h.AddAddr(t, "eth0", "198.18.0.7/24")
	for _, k := range []string{"all", "eth0", "eth1"} {
		h.Sysctl(t, "net.ipv4.conf."+k+".arp_ignore", "0")
		h.Sysctl(t, "net.ipv4.conf."+k+".rp_filter", "0")
	}
	hs := scanJSONL(t, sc, "-i", "eth0", "--retry", "1", "198.18.0.7")
	want := []jsonHost{{Record: "host", IP: "198.18.0.7", MAC: mac.String(), Flags: []string{"DUP"}, Replies: 2}}
	if diff := cmp.Diff(want, hs); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
}

// TestArpscanVLAN: hosts answer on VLAN 42 subinterfaces only; the scanner
// tags its requests and reads the tagged replies.
func TestArpscanVLAN(t *testing.T) {
	l := newLab(t, "av", 4, "")
	want := map[string]string{}
	for i, h := range l.hosts {
		ip := fmt.Sprintf("198.18.42.%d", 10+i)
		ifname := vlanHost(t, h, 42, ip+"/24")
		want[ip] = h.HardwareAddr(t, ifname).String()
	}
	hs := scanJSONL(t, l.scanner, "-i", "eth0", "--vlan", "42", "--arpspa", "198.18.42.1", "198.18.42.0/24")
	got := map[string]string{}
	for _, h := range hs {
		got[h.IP] = h.MAC
		if len(h.VLANs) != 1 || h.VLANs[0].ID != 42 {
			t.Errorf("%s: vlans %v, want 42", h.IP, h.VLANs)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	// Untagged, nobody answers on 198.18.42.0/24.
	if hs := scanJSONL(t, l.scanner, "-i", "eth0", "--arpspa", "198.18.42.1", "--rate", "max", "198.18.42.0/28"); len(hs) != 0 {
		t.Errorf("untagged scan found %v", hs)
	}
}

// TestArpscanUnconfigured: the scanner's interface has no address; with
// --arpspa 0.0.0.0 (RFC 5227 probes) Linux still answers.
func TestArpscanUnconfigured(t *testing.T) {
	l := newLab(t, "au", 5, "")
	got := hostMap(t, scanJSONL(t, l.scanner, "-i", "eth0", "--arpspa", "0.0.0.0", "198.18.0.0/24"))
	if diff := cmp.Diff(l.want, got); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
}

// TestArpscanLoss: 10% of the scanner's frames are dropped; with --retry 3
// every host is still found (each misses only if all three tries are lost).
func TestArpscanLoss(t *testing.T) {
	l := newLab(t, "al", 10, "198.18.0.1/24")
	l.scanner.SetLoss(t, "eth0", 10)
	hs := scanJSONL(t, l.scanner, "-i", "eth0", "--retry", "3", "198.18.0.0/24")
	got := map[string]string{}
	for _, h := range hs {
		got[h.IP] = h.MAC
	}
	if diff := cmp.Diff(l.want, got); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
}

// TestArpscanPassive: --passive lists the hosts seen in someone else's scan
// (the scanner from its requests, the hosts from their replies), sending
// nothing itself.
func TestArpscanPassive(t *testing.T) {
	l := newLab(t, "ap", 3, "198.18.0.1/24")
	watcher := netnstest.New(t, "apw")
	l.seg.Attach(t, watcher, "eth0")
	p := watcher.Start(t, func(line string) bool { return strings.Contains(line, "watching ARP") },
		netnstest.Rawlab(t), "arpscan", "-i", "eth0", "--passive", "--jsonl", "--duration", "3s")
	if code, _, stderr := rawlabIn(t, l.scanner, "arpscan", "-i", "eth0", "--rate", "max", "198.18.0.0/24"); code != 0 {
		t.Fatalf("scan: exit %d: %s", code, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatalf("passive watch: %v\n%s", err, p.Output())
	}
	got := map[string]string{}
	for _, line := range p.Lines() {
		var h jsonHost
		if json.Unmarshal([]byte(line), &h) == nil && h.IP != "" {
			got[h.IP] = h.MAC
		}
	}
	want := map[string]string{"198.18.0.1": l.scanner.HardwareAddr(t, "eth0").String()}
	for ip, mac := range l.want {
		want[ip] = mac
	}
	// Replies are unicast to the scanner; the bridge floods them to the
	// watcher only until it has learnt the scanner's port, so require the
	// scanner (from its broadcast requests) and accept what replies showed.
	if got["198.18.0.1"] != want["198.18.0.1"] {
		t.Errorf("passive watch missed the scanner: got %v", got)
	}
	for ip, mac := range got {
		if want[ip] != mac {
			t.Errorf("passive watch invented %s %s", ip, mac)
		}
	}
}

// TestArpscanInterfaceErrors: a down or missing interface is a one-line
// error with exit status 2.
func TestArpscanInterfaceErrors(t *testing.T) {
	netnstest.Require(t)
	a, b := netnstest.New(t, "aea"), netnstest.New(t, "aeb")
	netnstest.Veth(t, a, "eth0", b, "eth0")
	a.LinkDown(t, "eth0")
	for _, args := range [][]string{
		{"arpscan", "-i", "eth0", "198.18.0.0/24"},
		{"arpscan", "-i", "eth9", "198.18.0.0/24"},
		{"arping", "-i", "eth0", "198.18.0.2"},
	} {
		code, stdout, stderr := rawlabIn(t, a, args...)
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2, nothing, one line", args, code, stdout, stderr)
		}
	}
	// Without CAP_NET_RAW (every capability dropped from the bounding set):
	// exit 2 with the setcap hint, and nothing sent.
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	a.LinkUp(t, "eth0")
	before := b.Exec(t, "cat", "/sys/class/net/eth0/statistics/rx_packets")
	for _, args := range [][]string{
		{"arpscan", "-i", "eth0", "198.18.0.0/24"},
		{"arping", "-i", "eth0", "198.18.0.2"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := a.Command(ctx, setpriv, append([]string{"--bounding-set=-all", "--inh-caps=-all", "--", netnstest.Rawlab(t)}, args...)...)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		cancel()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 || out.Len() != 0 || strings.Count(errOut.String(), "\n") != 1 || !strings.Contains(errOut.String(), "setcap") {
			t.Errorf("%v without CAP_NET_RAW: %v, stdout %q, stderr %q; want exit 2, nothing, one line with the setcap hint", args, err, out.String(), errOut.String())
		}
	}
	if after := b.Exec(t, "cat", "/sys/class/net/eth0/statistics/rx_packets"); after != before {
		t.Errorf("frames reached the peer without CAP_NET_RAW: rx_packets %s -> %s", strings.TrimSpace(before), strings.TrimSpace(after))
	}
}

// TestArping: replies with RTTs, exit 0; a silent address exits 1; an RFC
// 5227 probe of a used address gets the owner's MAC.
func TestArping(t *testing.T) {
	l := newLab(t, "ag", 1, "198.18.0.1/24")
	mac := l.want["198.18.0.5"]
	code, stdout, stderr := rawlabIn(t, l.scanner, "arping", "-i", "eth0", "-c", "2", "--interval", "50ms", "198.18.0.5")
	if code != 0 || strings.Count(stdout, "reply from 198.18.0.5 ["+mac+"]") != 2 || !strings.Contains(stdout, "received 2 response(s)") {
		t.Errorf("arping: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = rawlabIn(t, l.scanner, "arping", "-i", "eth0", "-c", "1", "--timeout", "200ms", "198.18.0.99")
	if code != 1 || !strings.Contains(stdout, "received 0 response(s)") {
		t.Errorf("arping a silent address: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = rawlabIn(t, l.scanner, "arping", "-i", "eth0", "-c", "1", "--probe", "198.18.0.5")
	if code != 0 || !strings.Contains(stdout, "["+mac+"]") {
		t.Errorf("arping --probe: exit %d\n%s", code, stdout)
	}
}

// TestArpscanFormatAndVendors: --format prints one template line per host;
// --macfile names a MAC, --ouifile replaces the built-in table.
func TestArpscanFormatAndVendors(t *testing.T) {
	l := newLab(t, "af", 2, "198.18.0.1/24")
	dir := t.TempDir()
	macA, macB := l.want["198.18.0.5"], l.want["198.18.0.10"]
	macfile := filepath.Join(dir, "mac-vendor.txt")
	ouifile := filepath.Join(dir, "ieee-oui.txt")
	writeFile(t, macfile, "# local names\n"+macA+"\tLab host A\n")
	writeFile(t, ouifile, strings.ToUpper(strings.ReplaceAll(macB[:8], ":", ""))+"\tOUI of B\n")
	code, stdout, stderr := rawlabIn(t, l.scanner, "arpscan", "-i", "eth0", "--rate", "max", "--macfile", macfile,
		"--ouifile", ouifile, "--format", "{{.IP}} {{.MAC}} {{.Vendor}} {{.Replies}}", "198.18.0.0/28")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "198.18.0.5 " + macA + " Lab host A 1\n198.18.0.10 " + macB + " OUI of B 1\n"
	if stdout != want {
		t.Errorf("stdout\n%s\nwant\n%s", stdout, want)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
