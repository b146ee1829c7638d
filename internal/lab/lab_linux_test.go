package lab_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"

	"github.com/rawlab/rawlab/internal/jsoncheck"
	"github.com/rawlab/rawlab/internal/lab"
	"github.com/rawlab/rawlab/internal/netnstest"
)

// privateLab runs the rawlab binary's lab commands on a lab of its own
// (namespace prefix and run directory unique to this test), so that a user's
// lab on the same machine is never touched. Down runs at cleanup.
type privateLab struct {
	t      *testing.T
	bin    string
	prefix string
	runDir string
	env    []string // added to the environment of every run
}

func newPrivateLab(t *testing.T) *privateLab {
	netnstest.Require(t)
	p := &privateLab{t: t, bin: netnstest.Rawlab(t), prefix: fmt.Sprintf("rt%04x-", os.Getpid()&0xffff), runDir: t.TempDir()}
	t.Cleanup(func() {
		p.env = nil
		if out, code := p.run("down"); code != 0 {
			t.Errorf("lab down at cleanup: exit %d: %s", code, out)
		}
	})
	return p
}

// run runs `rawlab lab --prefix P ARGS...` and returns its combined output and exit status.
func (p *privateLab) run(args ...string) (string, int) {
	p.t.Helper()
	out, code := p.runQuiet(args...)
	if code < 0 {
		p.t.Fatalf("rawlab lab %s: %s", strings.Join(args, " "), out)
	}
	return out, code
}

// runQuiet is run without failing the test (for goroutines); -1 when the
// binary could not run.
func (p *privateLab) runQuiet(args ...string) (string, int) {
	cmd := exec.Command(p.bin, append([]string{"lab", "--prefix", p.prefix}, args...)...)
	cmd.Env = append(append(os.Environ(), "RAWLAB_RUN_DIR="+p.runDir), p.env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		return err.Error(), -1
	}
	return string(out), 0
}

func (p *privateLab) status() lab.Status {
	p.t.Helper()
	cmd := exec.Command(p.bin, "lab", "--prefix", p.prefix, "status", "--json")
	cmd.Env = append(os.Environ(), "RAWLAB_RUN_DIR="+p.runDir)
	out, _ := cmd.Output() // exit 1 when down; the JSON says so too
	if err := jsoncheck.Document(out); err != nil {
		p.t.Errorf("status --json breaks docs/json.md: %v\n%s", err, out)
	}
	var st lab.Status
	if err := json.Unmarshal(out, &st); err != nil {
		p.t.Fatalf("status --json: %v: %q", err, out)
	}
	return st
}

func TestUpStatusDown(t *testing.T) {
	p := newPrivateLab(t)
	if out, code := p.run("up", "--hosts", "2"); code != 0 {
		t.Fatalf("lab up: exit %d: %s", code, out)
	}
	st := p.status()
	if !st.Up || !st.Server.Running || st.Server.PID == 0 {
		t.Fatalf("after up: up %v, server %+v; want up and a running server", st.Up, st.Server)
	}
	type nsAddrs struct{ Name, Role, Link, Addrs string }
	var got []nsAddrs
	for _, ns := range st.Namespaces {
		if ns.Role == "switch" {
			continue
		}
		for _, l := range ns.Links {
			state := "DOWN"
			if l.Up {
				state = "UP"
			}
			got = append(got, nsAddrs{ns.Name, ns.Role, l.Name + " " + state, strings.Join(l.Addrs, ",")})
		}
	}
	want := []nsAddrs{
		{p.prefix + "client", "client", "rl0 UP", ""},
		{p.prefix + "h1", "host", "eth0 UP", "198.18.0.11/24"},
		{p.prefix + "h2", "host", "eth0 UP", "198.18.0.12/24"},
		{p.prefix + "srv", "server", "eth0 UP", "198.18.0.1/24"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("namespaces (-want +got):\n%s", diff)
	}

	// A second up refuses, with a usage status, and leaves the lab alone.
	if out, code := p.run("up"); code != 2 || !strings.Contains(out, "already up") {
		t.Errorf("second up: exit %d %q; want 2 and \"already up\"", code, out)
	}

	// IPv6 is off in the lab.
	if out, code := p.run("exec", "client", "--", "cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6"); code != 0 || strings.TrimSpace(out) != "1" {
		t.Errorf("IPv6 in the client namespace: %q (exit %d), want disabled (1)", out, code)
	}
	// exec passes the exit status through.
	if _, code := p.run("exec", "--", "sh", "-c", "exit 7"); code != 7 {
		t.Errorf("exec of `exit 7`: status %d, want 7", code)
	}

	// A client in the lab gets a lease from the embedded server and status shows it.
	client := lease(t, p)
	st = p.status()
	if len(st.Leases) != 1 {
		t.Fatalf("leases after one client: %+v, want one", st.Leases)
	}
	if client != lab.MAC(2) {
		t.Errorf("client MAC %s, want the fixed %s", client, lab.MAC(2))
	}
	if l := st.Leases[0]; l.IP.String() != "198.18.0.100" || l.MAC != client || l.State.String() != "bound" {
		t.Errorf("lease = %+v, want 198.18.0.100 bound to %s", l, client)
	}

	pid := st.Server.PID
	if out, code := p.run("down"); code != 0 {
		t.Fatalf("lab down: exit %d: %s", code, out)
	}
	// The server has exited: gone, or a zombie its new parent has not reaped yet.
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if i := strings.LastIndexByte(string(b), ')'); i < 0 || i+2 >= len(b) || b[i+2] != 'Z' {
			t.Errorf("server pid %d still running after down: %s", pid, b)
		}
	}
	if st := p.status(); st.Up || len(st.Namespaces) != 0 || st.Server.Running {
		t.Errorf("after down: %+v, want nothing", st)
	}
	if out, code := p.run("down"); code != 0 {
		t.Errorf("second down: exit %d: %s; want it idempotent", code, out)
	}
	if _, code := p.run("status"); code != 1 {
		t.Errorf("status of a lab that is down: exit %d, want 1", code)
	}
}

// lease gets a lease in the client namespace with rawlab dhcp lease,
// recording it, and returns the client's MAC. Every recorded frame must
// decode cleanly: the lab turns TX checksum offload off on its veths, so the
// server's replies carry real UDP checksums.
func lease(t *testing.T, p *privateLab) string {
	t.Helper()
	mac, code := p.run("exec", "client", "--", "cat", "/sys/class/net/rl0/address")
	if code != 0 {
		t.Fatalf("client MAC: %s", mac)
	}
	pcap := filepath.Join(t.TempDir(), "lease.pcapng")
	out, code := p.run("exec", "client", "--", p.bin, "dhcp", "lease", "-i", "rl0", "--json", "--pcap", pcap, "--timeout", "1s")
	if code != 0 {
		t.Fatalf("dhcp lease: exit %d:\n%s", code, out)
	}
	var got struct {
		Lease struct {
			Address string `json:"address"`
			Server  string `json:"server"`
		} `json:"lease"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("dhcp lease --json: %v\n%s", err, out)
	}
	if got.Lease.Address != "198.18.0.100" || got.Lease.Server != "198.18.0.1" {
		t.Errorf("lease %+v, want 198.18.0.100 from 198.18.0.1", got.Lease)
	}
	r, err := capture.OpenFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var types []string
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		s := craft.Summarize(rec.Data)
		if s.Error != "" || strings.Contains(s.String(), "bad") {
			t.Errorf("frame %q: %s", s.String(), s.Error)
		}
		if s.DHCP != nil {
			types = append(types, s.Proto)
		}
	}
	if len(types) != 4 {
		t.Errorf("recorded %d DHCP frames, want the 4 of DORA", len(types))
	}
	return strings.TrimSpace(mac)
}

func TestUpRefusesBadFlags(t *testing.T) {
	p := newPrivateLab(t)
	for _, args := range [][]string{
		{"up", "--pool", "10.0.0.1-10.0.0.9"},
		{"up", "--pool", "198.18.0.100"},
		{"up", "--lease", "1s"},
		{"up", "--hosts", "-1"},
	} {
		out, code := p.run(args...)
		if code != 2 {
			t.Errorf("lab %v: exit %d (%q), want 2", args, code, out)
		}
		if st := p.status(); len(st.Namespaces) != 0 {
			t.Fatalf("lab %v built namespaces: %+v", args, st.Namespaces)
		}
	}
}

func TestDemo(t *testing.T) {
	p := newPrivateLab(t)
	pcap := filepath.Join(t.TempDir(), "demo.pcapng")
	out, code := p.run("demo", "--xid", "0", "--pcap", pcap)
	if code != 0 {
		t.Fatalf("lab demo: exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"-> DHCPDISCOVER (init) xid=0x00000000 try 1",
		"<- DHCPACK xid=0x00000000 from 198.18.0.1 (" + lab.MAC(1) + ") yiaddr 198.18.0.100",
		"# DHCPREQUEST (selecting) xid=0x00000000 try 1", // the recording's comment, read back
		"1  1 BootRequest  0x00000000  " + lab.MAC(2) + "  0.0.0.0       1 DISCOVER",
		"4  2 BootReply    0x00000000  " + lab.MAC(2) + "  198.18.0.100  5 ACK       198.18.0.1",
		"lab removed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if st := p.status(); len(st.Namespaces) != 0 || st.Server.Running {
		t.Errorf("after the demo: %+v, want the lab gone", st)
	}

	// A failing lease still tears the lab down, and the demo fails.
	out, code = p.run("demo", "--pcap", pcap, "--", "--select", "server=198.18.0.9", "--timeout", "200ms", "--retries", "0")
	if code == 0 || !strings.Contains(out, "lab removed") {
		t.Errorf("demo with a lease that fails: exit %d, want non-zero and the lab removed:\n%s", code, out)
	}
	if st := p.status(); len(st.Namespaces) != 0 || st.Server.Running {
		t.Errorf("after a failed demo: %+v, want the lab gone", st)
	}
}
