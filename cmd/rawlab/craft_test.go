package main

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/craft"
	"github.com/rawlab/rawlab/internal/jsoncheck"
)

// TestCraftBadInput: every bad value exits 2 with one line naming the flag
// and the range, sends nothing, prints nothing and leaves no file.
func TestCraftBadInput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.pcapng")
	arp := []string{"craft", "arp", "--target-ip", "198.18.0.1", "-w", out}
	icmp := []string{"craft", "icmp", "--dst-ip", "198.18.0.1", "-w", out}
	dhcp := []string{"craft", "dhcp", "-w", out}
	with := func(base []string, more ...string) []string { return append(append([]string(nil), base...), more...) }
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad mac", with(arp, "--src-mac", "02:00:00:00:00"), `"--src-mac" flag: not a MAC address: want 6 groups`},
		{"bad ip", []string{"craft", "arp", "--target-ip", "198.18.0.300"}, "not an IPv4 address"},
		{"bad op", with(arp, "--op", "shout"), "--op"},
		{"bad hex", []string{"craft", "raw", "--hex-data", "ffzz"}, "--hex-data: hex: encoding/hex: invalid byte"},
		{"short raw", []string{"craft", "raw", "--hex-data", "ffff"}, "shorter than an Ethernet header"},
		{"size -1", with(icmp, "--size", "-1"), "--size -1: want 0-1472"},
		{"size huge", with(icmp, "--size", "9223372036854775807"), "--size 9223372036854775807: want 0-1472"},
		{"count huge", with(icmp, "--count", "9223372036854775807"), "--count 9223372036854775807: want 1-1099511627776"},
		{"count 0", with(icmp, "--count", "0"), "--count 0: want 1-"},
		{"count without send", with(icmp, "--count", "2"), "--count needs --send"},
		{"rate negative", with(icmp, "--rate", "-1"), "--rate -1"},
		{"id range", with(icmp, "--id", "70000"), "--id 70000: want 0-65535"},
		{"data and size", with(icmp, "--data", "00", "--size", "3"), "exclude each other"},
		{"vlan -2", with(arp, "--vlan", "-2"), "--vlan/--vlan-priority: vlan -2: want 0-4095"},
		{"vlan 4096", with(arp, "--vlan", "4096"), "--vlan/--vlan-priority: vlan 4096: want 0-4095"},
		{"priority without vlan", with(arp, "--vlan-priority", "3"), "--vlan/--vlan-priority: vlan priority without a vlan"},
		{"priority range", with(arp, "--vlan", "5", "--vlan-priority", "8"), "--vlan/--vlan-priority: vlan priority 8: want 0-7"},
		{"priorities per tag", with(arp, "--vlan", "5,6,7", "--vlan-priority", "1,2"), "2 values for 3 tags"},
		{"bad checksum name", with(icmp, "--bad-checksum", "tcp"), "--bad-checksum: checksum \"tcp\": want ip, udp or icmp"},
		{"bad checksum absent", with(icmp, "--bad-checksum", "udp"), "--bad-checksum udp"},
		{"bad checksum on arp", with(arp, "--bad-checksum", "ip"), "--bad-checksum ip"},
		{"wait without send", with(arp, "--wait", "1s"), "--wait needs --send"},
		{"wait not a duration", with(arp, "--send", "--wait", "5"), "--wait"},
		{"send without interface", with(arp, "--send"), "no interface given"},
		{"send on loopback", with(arp, "-i", "lo", "--send"), "not an Ethernet interface"},
		{"option contradicts type", with(dhcp, "--option", "53=5", "--type", "discover"), "--option 53=05 contradicts --type"},
		{"option contradicts hostname", with(dhcp, "--option", "12=str:a", "--hostname", "b"), "contradicts --hostname"},
		{"options contradict", with(dhcp, "--option", "55=1", "--option", "55=2"), "contradicting"},
		{"bad option", with(dhcp, "--option", "55=abc"), "write a type"},
		{"bad option code", with(dhcp, "--option", "256=u8:1"), "256"},
		{"bad dhcp type", with(dhcp, "--type", "hello"), "--type: message type \"hello\""},
		{"bad client id", with(dhcp, "--client-id", "01"), "--client-id: client identifier \"01\": 1 bytes"},
		{"dhcp tos", with(dhcp, "--tos", "4"), "unknown flag: --tos"},
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
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "rawlab: ") || strings.Contains(stderr, "craft: ") {
				t.Errorf("stderr %q, want one line starting with \"rawlab: \" and no package prefix", stderr)
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
	wantLine := "02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype 802.1Q (0x8100), length 64: vlan 10, p 0, ethertype ARP (0x0806), Request who-has 198.18.0.1 tell 0.0.0.0, length 46"
	if diff := cmp.Diff(wantLine, lines[0]); diff != "" {
		t.Errorf("summary line (-want +got):\n%s", diff)
	}
	// Ethernet (dst, src, 802.1Q TPID and TCI 10, EtherType ARP), then
	// RFC 826: htype 1, ptype 0x0800, hlen 6, plen 4, op 1, sha, spa
	// 0.0.0.0, tha zero, tpa 198.18.0.1, and the padding of the untagged
	// 60-byte frame: 64 bytes tagged, 802.1Q's minimum.
	want, _ := hex.DecodeString("ffffffffffff020000000001" + "8100000a" + "0806" +
		"0001080006040001" + "020000000001" + "00000000" + "000000000000" + "c6120001" +
		strings.Repeat("00", 18))
	if diff := cmp.Diff(hex.Dump(want), lines[1]); diff != "" {
		t.Errorf("hex dump (-want +got):\n%s", diff)
	}
}

// craftJSON runs a craft command with --json, checks the document against
// docs/json.md, and returns its one frame's summary.
func craftJSON(t *testing.T, args ...string) craft.Summary {
	t.Helper()
	code, stdout, stderr := runRawlab(t, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	if err := jsoncheck.Document([]byte(stdout)); err != nil {
		t.Errorf("%v: %v\n%s", args, err, stdout)
	}
	var doc struct {
		Frames []struct{ Frame craft.Summary }
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || len(doc.Frames) != 1 {
		t.Fatalf("%v: %v, %d frames: %s", args, err, len(doc.Frames), stdout)
	}
	return doc.Frames[0].Frame
}

func TestCraftOutputs(t *testing.T) {
	mac, other := "02:00:00:00:00:09", "02:00:00:00:00:0a"
	// craft dhcp --mac is the Ethernet source unless --src-mac says otherwise.
	if s := craftJSON(t, "craft", "dhcp", "--mac", mac); s.Src.String() != mac || s.DHCP.ClientMAC.String() != mac {
		t.Errorf("--mac: source %s, chaddr %s, want both %s", s.Src, s.DHCP.ClientMAC, mac)
	}
	if s := craftJSON(t, "craft", "dhcp", "--mac", mac, "--src-mac", other); s.Src.String() != other || s.DHCP.ClientMAC.String() != mac {
		t.Errorf("--mac with --src-mac: source %s, chaddr %s", s.Src, s.DHCP.ClientMAC)
	}
	s := craftJSON(t, "craft", "dhcp", "--xid", "0", "--type", "request", "--option", "55=1,3,6,15", "--option", "6=198.18.0.53,198.18.0.54",
		"--option", "53=3", "--client-id", "mac", "--mac", mac)
	if s.DHCP.XID != "0x00000000" || s.DHCP.MsgType != "REQUEST" {
		t.Errorf("dhcp: xid %s, msg_type %s", s.DHCP.XID, s.DHCP.MsgType)
	}
	// craft raw applies --src-mac, --dst-mac and --vlan (stacked: QinQ).
	raw := "ffffffffffff" + "020000000001" + "88b5" + "dead"
	s = craftJSON(t, "craft", "raw", "--hex-data", raw, "--src-mac", mac, "--dst-mac", other, "--vlan", "100,10", "--vlan-priority", "5,1")
	wantTags := []craft.VLAN{{ID: 100, Priority: 5, TPID: craft.EtherTypeQinQ}, {ID: 10, Priority: 1, TPID: craft.EtherTypeVLAN}}
	if diff := cmp.Diff(wantTags, s.VLANs); diff != "" || s.Src.String() != mac || s.Dst.String() != other || s.EtherType != 0x88b5 || s.Len != 24 {
		t.Errorf("raw: src %s dst %s type %v len %d, tags (-want +got):\n%s", s.Src, s.Dst, s.EtherType, s.Len, diff)
	}
	// --bad-checksum sends a wrong checksum on purpose.
	for _, tt := range []struct{ args, want string }{
		{"icmp --dst-ip 198.18.0.1 --bad-checksum icmp", "bad icmp cksum"},
		{"icmp --dst-ip 198.18.0.1 --bad-checksum ip --vlan 7,8", "bad ip cksum"},
		{"dhcp --bad-checksum udp", "bad udp cksum"},
	} {
		code, stdout, stderr := runRawlab(t, append([]string{"craft"}, strings.Fields(tt.args)...)...)
		if code != 0 || !strings.Contains(stdout, tt.want) {
			t.Errorf("craft %s: exit %d, %q, %s; want %q", tt.args, code, stdout, stderr, tt.want)
		}
	}
	// --jsonl: one object per line, each with its record.
	code, stdout, stderr := runRawlab(t, "craft", "arp", "--target-ip", "198.18.0.1", "--jsonl")
	if code != 0 || strings.Count(stdout, "\n") != 1 || !strings.Contains(stdout, `"record":"frame"`) {
		t.Errorf("--jsonl: exit %d, %q, %s", code, stdout, stderr)
	}
	if err := jsoncheck.Lines([]byte(stdout)); err != nil {
		t.Error(err)
	}
}

func TestCraftWriteAndRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dhcp.pcapng")
	code, _, stderr := runRawlab(t, "craft", "dhcp", "--type", "discover", "--xid", "0x1a2b3c4d",
		"--mac", "02:00:00:00:00:02", "--option", "55=1,3,6,15", "--hostname", "lab1", "-w", path)
	if code != 0 {
		t.Fatalf("craft exit %d: %s", code, stderr)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file %v, %v; want mode 0600", fi, err)
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
	for _, want := range []string{"0.0.0.0.68 > 255.255.255.255.67", "DHCP Discover", "xid 0x1a2b3c4d", "chaddr 02:00:00:00:00:02", `hostname "lab1"`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("read output %q lacks %q", stdout, want)
		}
	}
}
