//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
	"github.com/rawlab/rawlab/internal/jsoncheck"
	"github.com/rawlab/rawlab/internal/netnstest"
)

// slowResponder answers ARP requests for the addresses in delays, each
// after its delay, from ns's ifname (which holds no address, so its kernel
// answers nothing). It stops at cleanup.
func slowResponder(t *testing.T, ns *netnstest.NS, ifname string, delays map[string]time.Duration) {
	t.Helper()
	var conn *capture.Conn
	if err := ns.Do(func() (err error) {
		conn, err = capture.Listen(ifname, capture.Config{Protocol: 0x0806})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	mac := [6]byte(ns.HardwareAddr(t, ifname))
	want := map[[4]byte]time.Duration{}
	for ip, d := range delays {
		want[netip.MustParseAddr(ip).As4()] = d
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); conn.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 128)
		for {
			n, _, err := conn.ReadFrame(ctx, buf)
			if err != nil {
				return
			}
			var q craft.ARPFrame
			if craft.DecodeARPFrame(buf[:n], &q) != nil || q.Op != craft.ARPRequest {
				continue
			}
			d, ok := want[q.TPA]
			if !ok {
				continue
			}
			r := craft.ARPFrame{EthDst: q.SHA, EthSrc: mac, Op: craft.ARPReply, SHA: mac, SPA: q.TPA, THA: q.SHA, TPA: q.SPA}
			frame := craft.AppendARPFrame(nil, &r)
			wg.Add(1)
			time.AfterFunc(d, func() {
				defer wg.Done()
				if ctx.Err() == nil {
					conn.WriteFrame(ctx, frame)
				}
			})
		}
	}()
}

// proxyARPHost makes a router on seg answer for 198.18.0.77 by proxy ARP
// (it routes that address out of another link), with Linux's proxy_delay
// at its 0.8 s default.
func proxyARPHost(t *testing.T, seg *netnstest.Segment, prefix string) {
	t.Helper()
	router, far := netnstest.New(t, prefix+"r"), netnstest.New(t, prefix+"f")
	seg.Attach(t, router, "eth0")
	router.AddAddr(t, "eth0", "198.18.0.2/24")
	netnstest.Veth(t, router, "eth1", far, "eth0")
	far.AddAddr(t, "eth0", "198.18.0.77/24")
	for _, kv := range [][2]string{{"net.ipv4.conf.all.forwarding", "1"}, {"net.ipv4.conf.eth0.proxy_arp", "1"},
		{"net.ipv4.neigh.eth0.proxy_delay", "80"}} {
		router.Sysctl(t, kv[0], kv[1])
	}
	link := router.Link(t, "eth1")
	_, ipn, err := net.ParseCIDR("198.18.0.77/32")
	if err != nil {
		t.Fatal(err)
	}
	dst := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipn}
	if err := router.Netlink().RouteAdd(dst); err != nil {
		t.Fatal(err)
	}
}

// TestArpscanSlowHostsByDefault: hosts answering 100, 200 and 400 ms late
// and a proxy-ARP address (answered up to 0.8 s late) are all found with
// the defaults, as arp-scan finds them; --fast gives up on them early and
// says so.
func TestArpscanSlowHostsByDefault(t *testing.T) {
	l := newLab(t, "sl", 2, "198.18.0.1/24")
	slow := netnstest.New(t, "sls")
	l.seg.Attach(t, slow, "eth0")
	slowResponder(t, slow, "eth0", map[string]time.Duration{"198.18.0.101": 100 * time.Millisecond,
		"198.18.0.102": 200 * time.Millisecond, "198.18.0.104": 400 * time.Millisecond})
	proxyARPHost(t, l.seg, "slp")
	smac := slow.HardwareAddr(t, "eth0").String()
	want := map[string]string{"198.18.0.101": smac, "198.18.0.102": smac, "198.18.0.104": smac}
	for ip, mac := range l.want {
		want[ip] = mac
	}
	got := map[string]string{}
	for _, h := range scanJSONL(t, l.scanner, "-i", "eth0", "198.18.0.0/24") {
		got[h.IP] = h.MAC
	}
	if got["198.18.0.77"] == "" {
		t.Errorf("the proxy-ARP address 198.18.0.77 was not found: %v", got)
	}
	delete(got, "198.18.0.77")
	delete(got, "198.18.0.2") // the router itself
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("default scan (-want +got):\n%s", diff)
	}

	code, stdout, stderr := rawlabIn(t, l.scanner, "arpscan", "-i", "eth0", "--fast", "--rate", "max", "198.18.0.0/24")
	if code != 0 {
		t.Fatalf("--fast: exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "198.18.0.104\t") || !strings.Contains(stdout, "ended early (fast)") {
		t.Errorf("--fast found the 400 ms host or did not say it ended early:\n%s", stdout)
	}
}

// TestArpscanGratuitousStorm: 2,000 broadcast gratuitous replies for 100
// scanned addresses during a scan make no host; they are listed apart.
func TestArpscanGratuitousStorm(t *testing.T) {
	l := newLab(t, "gs", 1, "198.18.0.1/24")
	storm := netnstest.New(t, "gss")
	l.seg.Attach(t, storm, "eth0")
	var conn *capture.Conn
	if err := storm.Do(func() (err error) { conn, err = capture.Listen("eth0", capture.Config{SendOnly: true}); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	mac := [6]byte(storm.HardwareAddr(t, "eth0"))
	p := netnstest.Rawlab(t)
	proc := l.scanner.Start(t, func(line string) bool { return strings.Contains(line, `"record":"host"`) },
		p, "arpscan", "-i", "eth0", "--jsonl", "198.18.0.0/24")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 2000; i++ {
		ip := [4]byte{198, 18, 0, byte(100 + i%100)}
		g := craft.ARPFrame{EthDst: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, EthSrc: mac, Op: craft.ARPReply,
			SHA: mac, SPA: ip, THA: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, TPA: ip}
		if err := conn.WriteFrame(ctx, craft.AppendARPFrame(nil, &g)); err != nil {
			t.Fatal(err)
		}
	}
	if err := proc.Wait(ctx); err != nil {
		t.Fatalf("scan: %v\n%s", err, proc.Output())
	}
	var out strings.Builder
	unsol := 0
	for _, line := range proc.Lines() {
		if strings.HasPrefix(line, "{") {
			out.WriteString(line + "\n")
			if strings.Contains(line, `"record":"unsolicited"`) {
				unsol++
			}
		}
	}
	hs := parseJSONL(t, out.String())
	if diff := cmp.Diff(l.want, hostMap(t, hs)); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	if unsol != 100 {
		t.Errorf("%d unsolicited records, want 100 (one per address and MAC)", unsol)
	}
}

// TestArpscanStreams: at 20 requests/s each host is printed the moment it
// answers, long before the scan ends; the summary comes last.
func TestArpscanStreams(t *testing.T) {
	l := newLab(t, "st", 4, "198.18.0.1/24")
	cmd := l.scanner.Command(context.Background(), netnstest.Rawlab(t), "arpscan", "-i", "eth0", "--rate", "20", "198.18.0.0/27")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	type stamped struct {
		at   time.Duration
		line string
	}
	var lines []stamped
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		lines = append(lines, stamped{time.Since(start), sc.Text()})
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("scan: %v", err)
	}
	end := time.Since(start)
	var hosts []stamped
	for _, s := range lines {
		if strings.HasPrefix(s.line, "198.18.0.") {
			hosts = append(hosts, s)
		}
	}
	if len(hosts) != 4 {
		t.Fatalf("%d host lines, want 4: %v", len(hosts), lines)
	}
	// 32 requests at 20/s take 1.6 s, then 0.5 + 0.75 s of waits: the
	// host at .5 (sixth request) answers at about 0.3 s.
	if hosts[0].at > end/2 || end-hosts[0].at < time.Second {
		t.Errorf("first host printed at %v of %v: not streamed", hosts[0].at, end)
	}
	if last := lines[len(lines)-1].line; !strings.Contains(last, "hosts scanned") {
		t.Errorf("last line %q, want the summary", last)
	}
}

// TestArpscanInterruptKeepsPcap: SIGINT prints the hosts so far and an
// honest summary, exits 130 and leaves a pcap in time order; a scan that
// cannot start leaves a file already at the --pcap path alone.
func TestArpscanInterruptKeepsPcap(t *testing.T) {
	l := newLab(t, "ip", 2, "198.18.0.1/24")
	dir := t.TempDir()
	pcap := filepath.Join(dir, "scan.pcapng")
	if err := os.WriteFile(pcap, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := rawlabIn(t, l.scanner, "arpscan", "-i", "eth9", "--pcap", pcap, "198.18.0.0/24"); code != 2 {
		t.Errorf("scan on a missing interface: exit %d, want 2", code)
	}
	if b, err := os.ReadFile(pcap); err != nil || string(b) != "keep me" {
		t.Errorf("a failed start touched the file at --pcap: %q, %v", b, err)
	}
	proc := l.scanner.Start(t, func(line string) bool { return strings.HasPrefix(line, "198.18.0.10\t") },
		netnstest.Rawlab(t), "arpscan", "-i", "eth0", "--rate", "100", "--pcap", pcap, "198.18.0.0/16")
	if err := proc.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := proc.Wait(ctx)
	var ee interface{ ExitCode() int }
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Errorf("interrupted scan: %v, want exit %d\n%s", err, exitInterrupted, proc.Output())
	}
	out := proc.Output()
	if !strings.Contains(out, "of 65536 hosts scanned") || !strings.Contains(out, "interrupted") || strings.Contains(out, "\n65536 hosts scanned") {
		t.Errorf("summary is not honest about an interrupted scan:\n%s", out)
	}
	r, err := capture.OpenFile(pcap)
	if err != nil {
		t.Fatalf("pcap after SIGINT: %v", err)
	}
	var prev time.Time
	n := 0
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		if rec.Time.Before(prev) {
			t.Errorf("record %d at %v, before the one before it (%v)", n, rec.Time, prev)
		}
		prev = rec.Time
		n++
	}
	if n < 10 {
		t.Errorf("pcap holds %d records, want the requests and replies so far", n)
	}
}

// TestArpscanTwoNetworks: with two networks on one interface, --localnet
// asks each target from the scanner's address on the target's network, so
// a host with rp_filter=1 on the second network answers too.
func TestArpscanTwoNetworks(t *testing.T) {
	netnstest.Require(t)
	seg := netnstest.NewSegment(t, "tnsw")
	sc := netnstest.New(t, "tns")
	seg.Attach(t, sc, "eth0")
	sc.AddAddr(t, "eth0", "198.18.0.1/28")
	sc.AddAddr(t, "eth0", "198.18.1.1/28")
	hosts := seg.AddHosts(t, "tnh", "198.18.0.5/28", "198.18.1.5/28")
	for _, h := range hosts {
		for _, k := range []string{"all", "eth0"} {
			h.Sysctl(t, "net.ipv4.conf."+k+".rp_filter", "1")
		}
	}
	want := map[string]string{"198.18.0.5": hosts[0].HardwareAddr(t, "eth0").String(), "198.18.1.5": hosts[1].HardwareAddr(t, "eth0").String()}
	got := hostMap(t, scanJSONL(t, sc, "-i", "eth0", "--localnet"))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
}

// TestArpscanJSONAndLimit: --json is one document checked against
// docs/json.md; --rate max --limit 5 prints exactly 5 hosts.
func TestArpscanJSONAndLimit(t *testing.T) {
	l := newLab(t, "jl", 8, "198.18.0.1/24")
	code, stdout, stderr := rawlabIn(t, l.scanner, "arpscan", "-i", "eth0", "--json", "198.18.0.0/26")
	if code != 0 {
		t.Fatalf("--json: exit %d: %s", code, stderr)
	}
	if err := jsoncheck.Document([]byte(stdout)); err != nil {
		t.Errorf("--json breaks docs/json.md: %v\n%s", err, stdout)
	}
	if n := strings.Count(stdout, `"mac":`); n != 8 {
		t.Errorf("--json lists %d hosts, want 8", n)
	}
	code, stdout, stderr = rawlabIn(t, l.scanner, "arpscan", "-i", "eth0", "--rate", "max", "--limit", "5", "198.18.0.0/26")
	if n := strings.Count(stdout, "198.18.0."); code != 0 || n != 5 {
		t.Errorf("--limit 5: exit %d, %d hosts printed, want 0 and 5\n%s%s", code, n, stdout, stderr)
	}
	if code, _, _ := rawlabIn(t, l.scanner, "arpscan", "-i", "eth0", "--limit", "9", "--rate", "max", "198.18.0.0/26"); code != 1 {
		t.Errorf("--limit 9 with 8 hosts: exit %d, want 1", code)
	}
}

// TestArpingIputils: -D keeps iputils' meaning (0: free), -c N waits for
// the Nth reply, Ctrl-C after replies exits 0, --json is one document.
func TestArpingIputils(t *testing.T) {
	l := newLab(t, "ai", 1, "198.18.0.1/24")
	slow := netnstest.New(t, "ais")
	l.seg.Attach(t, slow, "eth0")
	slowResponder(t, slow, "eth0", map[string]time.Duration{"198.18.0.66": 300 * time.Millisecond})
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-D", "-c", "2", "--interval", "50ms", "--timeout", "200ms", "198.18.0.99"}, 0, "received 0"},
		{[]string{"-D", "-c", "2", "--interval", "50ms", "198.18.0.5"}, 1, "received 1"},
		{[]string{"-c", "2", "--interval", "50ms", "--timeout", "2s", "198.18.0.66"}, 0, "received 2"},
	} {
		code, stdout, stderr := rawlabIn(t, l.scanner, append([]string{"arping", "-i", "eth0"}, tt.args...)...)
		if code != tt.code || !strings.Contains(stdout, tt.want) {
			t.Errorf("arping %v: exit %d, want %d and %q\n%s%s", tt.args, code, tt.code, tt.want, stdout, stderr)
		}
	}
	code, stdout, _ := rawlabIn(t, l.scanner, "arping", "-i", "eth0", "--json", "-c", "1", "198.18.0.5")
	if err := jsoncheck.Document([]byte(stdout)); code != 0 || err != nil || !strings.Contains(stdout, `"received":1`) {
		t.Errorf("arping --json: exit %d, %v\n%s", code, err, stdout)
	}
	code, stdout, _ = rawlabIn(t, l.scanner, "arping", "-i", "eth0", "--jsonl", "-c", "2", "--interval", "20ms", "198.18.0.5")
	if err := jsoncheck.Lines([]byte(stdout)); code != 0 || err != nil || strings.Count(stdout, `"record":"reply"`) != 2 {
		t.Errorf("arping --jsonl: exit %d, %v\n%s", code, err, stdout)
	}
	proc := l.scanner.Start(t, func(line string) bool { return strings.Contains(line, "reply from") },
		netnstest.Rawlab(t), "arping", "-i", "eth0", "-c", "100", "--interval", "100ms", "198.18.0.5")
	if err := proc.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := proc.Wait(ctx); err != nil {
		t.Errorf("arping interrupted after a reply: %v, want exit 0\n%s", err, proc.Output())
	}
}

// TestArpscanPassiveDropsRoot: run through sudo, a passive watch (a long
// run reading what hostile hosts send) gives up root once its socket is
// open: it runs as SUDO_UID, and still sees the segment's ARP traffic.
func TestArpscanPassiveDropsRoot(t *testing.T) {
	l := newLab(t, "pd", 1, "198.18.0.1/24")
	watcher := netnstest.New(t, "pdw")
	l.seg.Attach(t, watcher, "eth0")
	cmd := watcher.Command(context.Background(), netnstest.Rawlab(t), "arpscan", "-i", "eth0", "--passive", "--jsonl", "--duration", "20s")
	cmd.Env = append(os.Environ(), "SUDO_UID=65534", "SUDO_GID=65534")
	proc := netnstest.StartCmd(t, cmd, func(line string) bool { return strings.Contains(line, "watching ARP") }, netnstest.ReadyTimeout)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", proc.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Uid:") && strings.Fields(line)[2] != "65534" {
			t.Errorf("passive watch still runs as %q, want uid 65534", line)
		}
		if strings.HasPrefix(line, "CapEff:") && strings.Fields(line)[1] != "0000000000000000" {
			t.Errorf("passive watch keeps capabilities: %q", line)
		}
	}
	if code, _, stderr := rawlabIn(t, l.scanner, "arpscan", "-i", "eth0", "--rate", "max", "--retry", "1", "198.18.0.5"); code != 0 {
		t.Fatalf("scan: exit %d: %s", code, stderr)
	}
	proc.WaitLine(t, func(line string) bool { return strings.Contains(line, `"ip":"198.18.0.1"`) }, 10*time.Second)
}
