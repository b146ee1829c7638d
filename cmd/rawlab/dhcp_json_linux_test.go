package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rawlab/rawlab/internal/jsoncheck"
	"github.com/rawlab/rawlab/internal/netnstest"
)

// TestDHCPJSONSchema checks every dhcp verb's --json and --jsonl output
// against docs/json.md (internal/jsoncheck), and that the xid of `dhcp
// lease --json` is the one `read --jsonl` decodes from its --pcap.
func TestDHCPJSONSchema(t *testing.T) {
	netnstest.Require(t)
	srv, cli := netnstest.Pair(t, "dhcpjs", "198.18.0.1/24", "")
	dnsmasqDHCP(t, srv, "198.18.0.100", "198.18.0.150")
	dir := t.TempDir()
	lf, pcap := filepath.Join(dir, "lease.json"), filepath.Join(dir, "dora.pcapng")

	run := func(form string, wantCode int, args ...string) string {
		t.Helper()
		code, out, stderr := rawlabIn(t, cli, append(args, form)...)
		if code != wantCode {
			t.Fatalf("%v: exit %d, want %d\n%s\n%s", args, code, wantCode, out, stderr)
		}
		check := jsoncheck.Document
		if form == "--jsonl" {
			check = jsoncheck.Lines
		}
		if err := check([]byte(out)); err != nil {
			t.Errorf("%v %s: %v\n%s", args, form, err, out)
		}
		return out
	}
	out := run("--json", 0, "dhcp", "lease", "-i", "eth0", "--no-arp-check", "--timeout", "1s", "--lease-file", lf, "--pcap", pcap, "--xid", "0x2a")
	var l struct {
		Lease struct {
			XID     string `json:"xid"`
			Address string `json:"address"`
		} `json:"lease"`
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil || l.Lease.XID != "0x0000002a" {
		t.Errorf("lease xid %q (%v), want \"0x0000002a\"", l.Lease.XID, err)
	}
	code, lines, stderr := rawlabIn(t, cli, "read", pcap, "--jsonl")
	if code != 0 {
		t.Fatalf("read --jsonl: exit %d\n%s", code, stderr)
	}
	xids := 0
	for _, line := range strings.Split(strings.TrimSpace(lines), "\n") {
		var r struct {
			Frame struct {
				DHCP *struct {
					XID json.RawMessage `json:"xid"`
				} `json:"dhcp"`
			} `json:"frame"`
		}
		if json.Unmarshal([]byte(line), &r) == nil && r.Frame.DHCP != nil {
			xids++
			if want, _ := json.Marshal(l.Lease.XID); string(r.Frame.DHCP.XID) != string(want) {
				t.Errorf("read --jsonl decodes xid %s from the --pcap, dhcp lease --json says %s", r.Frame.DHCP.XID, want)
			}
		}
	}
	if xids == 0 {
		t.Errorf("read --jsonl shows no DHCP frame:\n%s", lines)
	}
	run("--jsonl", 0, "dhcp", "discover", "-i", "eth0", "--timeout", "1s")
	run("--json", 0, "dhcp", "discover", "-i", "eth0", "--timeout", "1s", "--wait", "300ms")
	run("--json", 0, "dhcp", "renew", "-i", "eth0", "--lease-file", lf, "--timeout", "1s")
	run("--jsonl", 0, "dhcp", "rebind", "-i", "eth0", "--lease-file", lf, "--timeout", "1s")
	run("--json", 0, "dhcp", "inform", "-i", "eth0", "--ip", l.Lease.Address, "--timeout", "1s")
	run("--jsonl", 0, "dhcp", "release", "-i", "eth0", "--lease-file", lf)
	run("--json", 1, "dhcp", "request", "-i", "eth0", "--ip", "198.18.1.7", "--timeout", "1s")
}
