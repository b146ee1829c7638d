package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rawlab/rawlab/capture"
)

// runRawlab runs the command tree in-process and returns its exit status,
// stdout and stderr.
func runRawlab(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	notPcap := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notPcap, []byte("hello, not a capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.pcapng")
	tests := []struct {
		name string
		args []string
		want string // in the one-line error
	}{
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"unknown flag", []string{"capture", "--bogus"}, "unknown flag"},
		{"capture without interface", []string{"capture"}, "no interface given"},
		{"capture missing interface", []string{"capture", "-i", "rawlab-nope0"}, "no such interface"},
		{"capture loopback", []string{"capture", "-i", "lo", "-w", out}, "not an Ethernet interface"},
		{"capture bad filter", []string{"capture", "-i", "lo", "--filter", "udp port"}, "udp port"},
		{"capture bad format", []string{"capture", "-i", "lo", "--format", "cap"}, "pcap"},
		{"read not pcap", []string{"read", notPcap}, "not a pcap or pcapng file"},
		{"read missing", []string{"read", filepath.Join(dir, "absent.pcap")}, "no such file"},
		{"craft bad mac", []string{"craft", "arp", "--target-ip", "198.18.0.1", "--src-mac", "02:00:00:00:00"}, "--src-mac"},
		{"craft bad ip", []string{"craft", "arp", "--target-ip", "198.18.0.300"}, "not an IPv4 address"},
		{"craft bad op", []string{"craft", "arp", "--target-ip", "198.18.0.1", "--op", "shout"}, "--op"},
		{"craft bad hex", []string{"craft", "raw", "--hex-data", "ffzz"}, "not hex"},
		{"craft short raw", []string{"craft", "raw", "--hex-data", "ffff"}, "shorter than an Ethernet header"},
		{"craft bad option", []string{"craft", "dhcp", "--option", "55=abc"}, "has no type"},
		{"craft bad option code", []string{"craft", "dhcp", "--option", "256=u8:1"}, "256"},
		{"craft bad dhcp type", []string{"craft", "dhcp", "--type", "hello"}, "--type"},
		{"craft bad vlan", []string{"craft", "arp", "--target-ip", "198.18.0.1", "--vlan", "4096"}, "--vlan"},
		{"craft send without interface", []string{"craft", "arp", "--target-ip", "198.18.0.1", "--send", "-w", out}, "no interface given"},
		{"craft send on loopback", []string{"craft", "arp", "--target-ip", "198.18.0.1", "-i", "lo", "--send", "-w", out}, "not an Ethernet interface"},
		{"craft wait without send", []string{"craft", "arp", "--target-ip", "198.18.0.1", "-i", "lo", "--wait", "1s"}, "not an Ethernet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runRawlab(t, tt.args...)
			if code != exitUsage {
				t.Errorf("exit status %d, want %d; stderr %q", code, exitUsage, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if lines := strings.Count(stderr, "\n"); lines != 1 || !strings.HasPrefix(stderr, "rawlab: ") {
				t.Errorf("stderr %q, want one line starting with \"rawlab: \"", stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q does not name the problem (%q)", stderr, tt.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was left behind", out)
			}
		})
	}
}

func TestCraftARPHex(t *testing.T) {
	code, stdout, stderr := runRawlab(t, "craft", "arp", "--op", "request", "--target-ip", "198.18.0.1",
		"--sender-ip", "0.0.0.0", "--src-mac", "02:00:00:00:00:01", "--vlan", "10", "--hex")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.SplitN(stdout, "\n", 2)
	wantLine := "02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype 802.1Q (0x8100), length 60: vlan 10, p 0, ethertype ARP (0x0806), Request who-has 198.18.0.1 tell 0.0.0.0, length 42"
	if diff := cmp.Diff(wantLine, lines[0]); diff != "" {
		t.Errorf("summary line (-want +got):\n%s", diff)
	}
	// Ethernet (dst, src, 802.1Q TPID and TCI 10, EtherType ARP), then
	// RFC 826: htype 1, ptype 0x0800, hlen 6, plen 4, op 1, sha, spa
	// 0.0.0.0, tha zero, tpa 198.18.0.1, and padding to 60 bytes.
	want, _ := hex.DecodeString("ffffffffffff020000000001" + "8100000a" + "0806" +
		"0001080006040001" + "020000000001" + "00000000" + "000000000000" + "c6120001" +
		strings.Repeat("00", 14))
	if diff := cmp.Diff(hex.Dump(want), lines[1]); diff != "" {
		t.Errorf("hex dump (-want +got):\n%s", diff)
	}
}

func TestCraftWriteAndRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dhcp.pcapng")
	code, _, stderr := runRawlab(t, "craft", "dhcp", "--type", "discover", "--xid", "0x1a2b3c4d",
		"--mac", "02:00:00:00:00:02", "--src-mac", "02:00:00:00:00:02", "--option", "55=1,3,6,15", "--hostname", "lab1", "-w", path)
	if code != 0 {
		t.Fatalf("craft exit %d: %s", code, stderr)
	}
	r, err := capture.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Format() != capture.FormatPcapng {
		t.Errorf("format %v, want pcapng", r.Format())
	}
	code, stdout, stderr := runRawlab(t, "read", path)
	if code != 0 {
		t.Fatalf("read exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Out ", "0.0.0.0.68 > 255.255.255.255.67", "DHCP Discover", "xid 0x1a2b3c4d", "chaddr 02:00:00:00:00:02", `hostname "lab1"`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("read output %q lacks %q", stdout, want)
		}
	}
}

func TestCraftDHCPOptions(t *testing.T) {
	code, stdout, stderr := runRawlab(t, "craft", "dhcp", "--xid", "0", "--option", "55=1,3,6,15", "--option", "6=198.18.0.53,198.18.0.54", "--request-options", "1,3", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, `"type":"Discover"`) || !strings.Contains(stdout, `"xid":"0x00000000"`) {
		t.Errorf("JSON %s lacks the message type or xid", stdout)
	}
	// A bare list of bytes for 55 and of addresses for 6.
	for _, tt := range []struct{ in, want string }{
		{"55=1,3,6,15", "0103060f"},
		{"6=198.18.0.53,198.18.0.54", "c6120035c6120036"},
		{"252=str:http://wpad", hex.EncodeToString([]byte("http://wpad"))},
	} {
		s, err := parseCraftOption(tt.in)
		if err != nil {
			t.Errorf("parseCraftOption(%q): %v", tt.in, err)
			continue
		}
		if got := hex.EncodeToString(s.Data); got != tt.want {
			t.Errorf("parseCraftOption(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := runRawlab(t, "version", "--json")
	if code != 0 || !strings.Contains(stdout, `"version":"dev"`) {
		t.Errorf("version --json: exit %d, %q", code, stdout)
	}
}
