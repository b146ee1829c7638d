package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDHCPBadInput checks that bad flags, files and interfaces end `rawlab
// dhcp` with one line and exit status 2, before any socket is opened (none
// of these needs privileges) and without leaving files behind.
func TestDHCPBadInput(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "out.pcapng")
	garbage := filepath.Join(dir, "garbage.json")
	if err := os.WriteFile(garbage, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	typed := filepath.Join(dir, "typed.json")
	if err := os.WriteFile(typed, []byte(`{"address": 5}`), 0o644); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 256)
	noAddr := filepath.Join(dir, "noaddr.json")
	if err := os.WriteFile(noAddr, []byte(`{"address":"0.0.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no interface", []string{"dhcp", "lease"}, "no interface given"},
		{"missing interface", []string{"dhcp", "lease", "-i", "rawlab-nope0"}, "no such interface"},
		{"loopback", []string{"dhcp", "discover", "-i", "lo"}, "not an Ethernet interface"},
		{"bad mac", []string{"dhcp", "lease", "-i", "lo", "--mac", "02:00:00:00:00"}, "--mac"},
		{"bad eth-src", []string{"dhcp", "lease", "-i", "lo", "--eth-src", "zz"}, "--eth-src"},
		{"bad xid", []string{"dhcp", "lease", "-i", "lo", "--xid", "0x1ffffffff"}, "--xid"},
		{"both broadcast flags", []string{"dhcp", "lease", "-i", "lo", "--broadcast", "--no-broadcast"}, "exclude each other"},
		{"option set twice differently", []string{"dhcp", "lease", "-i", "lo", "--option", "12=str:a", "--option", "12=str:b"}, "--option"},
		{"option bad code", []string{"dhcp", "lease", "-i", "lo", "--option", "256=u8:1"}, "256"},
		{"option bad hex", []string{"dhcp", "lease", "-i", "lo", "--option", "43=hex:0g"}, "hex"},
		{"option u8 overflow", []string{"dhcp", "lease", "-i", "lo", "--option", "23=u8:300"}, "u8"},
		{"request-options unknown", []string{"dhcp", "lease", "-i", "lo", "--request-options", "1,3,bogus"}, "bogus"},
		{"client-id bad hex", []string{"dhcp", "lease", "-i", "lo", "--client-id", "01:zz"}, "--client-id"},
		{"client-id too short", []string{"dhcp", "lease", "-i", "lo", "--client-id", "01"}, "--client-id"},
		{"bad giaddr", []string{"dhcp", "lease", "-i", "lo", "--giaddr", "198.18.0.300"}, "--giaddr"},
		{"bad server", []string{"dhcp", "lease", "-i", "lo", "--server", "::1"}, "--server"},
		{"bad vlan", []string{"dhcp", "lease", "-i", "lo", "--vlan", "4095"}, "--vlan"},
		{"bad timeout", []string{"dhcp", "lease", "-i", "lo", "--timeout", "-1s"}, "--timeout"},
		{"vlan not a number", []string{"dhcp", "lease", "-i", "lo", "--vlan", "abc"}, "--vlan"},
		{"inform 0.0.0.0", []string{"dhcp", "inform", "-i", "lo", "--ip", "0.0.0.0"}, "--ip"},
		{"inform broadcast", []string{"dhcp", "inform", "-i", "lo", "--ip", "255.255.255.255"}, "--ip"},
		{"request multicast", []string{"dhcp", "request", "-i", "lo", "--ip", "224.0.0.1"}, "--ip"},
		{"circuit id too long", []string{"dhcp", "lease", "-i", "lo", "--relay-circuit-id", long}, "--relay-circuit-id"},
		{"remote id too long", []string{"dhcp", "lease", "-i", "lo", "--relay-remote-id", long}, "--relay-remote-id"},
		{"mac broadcast", []string{"dhcp", "lease", "-i", "lo", "--mac", "ff:ff:ff:ff:ff:ff"}, "--mac"},
		{"mac multicast", []string{"dhcp", "lease", "-i", "lo", "--mac", "01:00:5e:00:00:01"}, "--mac"},
		{"mac zero", []string{"dhcp", "lease", "-i", "lo", "--mac", "00:00:00:00:00:00"}, "--mac"},
		{"discover lease file", []string{"dhcp", "discover", "-i", "lo", "--lease-file", filepath.Join(dir, "l.json")}, "--lease-file"},
		{"unwritable lease file", []string{"dhcp", "lease", "-i", "lo", "--lease-file", filepath.Join(garbage, "l.json")}, "--lease-file"},
		{"expect-server junk", []string{"dhcp", "lease", "-i", "lo", "--expect-server", "nonsense"}, "--expect-server"},
		{"apply-routes alone", []string{"dhcp", "lease", "-i", "lo", "--apply-routes"}, "--apply"},
		{"option 53 two bytes", []string{"dhcp", "lease", "-i", "lo", "--option", "53=hex:0101"}, "--option"},
		{"lease file wrong types", []string{"dhcp", "renew", "-i", "lo", "--lease-file", typed}, "--lease-file"},
		{"bad retries", []string{"dhcp", "lease", "-i", "lo", "--retries", "-1"}, "--retries"},
		{"bad arp-check", []string{"dhcp", "lease", "-i", "lo", "--arp-check", "long"}, "--arp-check"},
		{"bad select", []string{"dhcp", "lease", "-i", "lo", "--select", "best"}, "--select"},
		{"bad select ip", []string{"dhcp", "lease", "-i", "lo", "--select", "ip=1.2.3"}, "--select"},
		{"bad expect-server", []string{"dhcp", "discover", "-i", "lo", "--expect-server", "198.18.0.1,nope"}, "--expect-server"},
		{"pcap in missing dir", []string{"dhcp", "lease", "-i", "lo", "--pcap", filepath.Join(dir, "no", "x.pcapng")}, "no such file"},
		{"renew without address", []string{"dhcp", "renew", "-i", "lo"}, "no address"},
		{"renew without server", []string{"dhcp", "renew", "-i", "lo", "--ip", "198.18.0.100"}, "no server"},
		{"release without server", []string{"dhcp", "release", "-i", "lo", "--ip", "198.18.0.100"}, "no server"},
		{"inform without address", []string{"dhcp", "inform", "-i", "lo"}, "no address"},
		{"request bad ip", []string{"dhcp", "request", "-i", "lo", "--ip", "198.18.0"}, "--ip"},
		{"unreadable lease file", []string{"dhcp", "renew", "-i", "lo", "--lease-file", filepath.Join(dir, "absent.json")}, "lease file"},
		{"garbage lease file", []string{"dhcp", "release", "-i", "lo", "--lease-file", garbage}, "lease file"},
		{"lease file without address", []string{"dhcp", "rebind", "-i", "lo", "--lease-file", noAddr}, "no IPv4 address"},
		{"unknown verb", []string{"dhcp", "frob", "-i", "lo"}, "unknown"},
		{"stray argument", []string{"dhcp", "lease", "-i", "lo", "extra"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(tt.args, "--pcap", pcap)
			if strings.Contains(strings.Join(tt.args, " "), "--pcap") {
				args = tt.args
			}
			code, stdout, stderr := runRawlab(t, args...)
			if code != exitUsage {
				t.Errorf("exit status %d, want %d; stderr: %s", code, exitUsage, stderr)
			}
			if lines := strings.Count(strings.TrimRight(stderr, "\n"), "\n"); lines != 0 || !strings.HasPrefix(stderr, "rawlab: ") {
				t.Errorf("stderr is not one line starting with \"rawlab: \": %q", stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q does not mention %q", stderr, tt.want)
			}
			if stdout != "" {
				t.Errorf("stdout not empty: %q", stdout)
			}
			for _, goName := range []string{"netip.", "strconv.", "Go struct", "*dhcpclient", "json: cannot", "looking for beginning"} {
				if strings.Contains(stderr, goName) {
					t.Errorf("stderr shows Go internals (%q): %q", goName, stderr)
				}
			}
			if _, err := os.Stat(pcap); err == nil {
				t.Errorf("%s was created", pcap)
				os.Remove(pcap)
			}
		})
	}
}

func TestDHCPHelpExamples(t *testing.T) {
	for _, verb := range []string{"discover", "lease", "request", "renew", "rebind", "release", "decline", "inform"} {
		code, stdout, _ := runRawlab(t, "dhcp", verb, "--help")
		if code != 0 || !strings.Contains(stdout, "Examples:") || !strings.Contains(stdout, "rawlab dhcp "+verb) {
			t.Errorf("dhcp %s --help: exit %d, no example naming the verb:\n%s", verb, code, stdout)
		}
	}
}
