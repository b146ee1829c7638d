package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func arpRun(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestArpscanBadInput: every malformed flag or target is a one-line error
// with exit status 2, found before any socket is opened (these run
// unprivileged, where opening one would fail differently).
func TestArpscanBadInput(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "shadow")
	if err := os.WriteFile(secretFile, []byte("198.18.0.1\nroot:$6$Secr3tH4shSecr3tH4shSecr3tH4sh:19000:0:99999:7:::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badOUI := filepath.Join(dir, "oui.txt")
	if err := os.WriteFile(badOUI, []byte("not hex\tVendor\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string // in the message
	}{
		{"no interface", []string{"arpscan", "198.18.0.0/24"}, "no interface"},
		{"no targets", []string{"arpscan", "-i", "rl-none0"}, "no targets"},
		{"bad cidr", []string{"arpscan", "-i", "rl-none0", "198.18.0.0/33"}, "198.18.0.0/33"},
		{"bad range", []string{"arpscan", "-i", "rl-none0", "198.18.0.9-198.18.0.1"}, "ends before"},
		{"bad address", []string{"arpscan", "-i", "rl-none0", "198.18.0.256"}, "198.18.0.256"},
		{"ipv6", []string{"arpscan", "-i", "rl-none0", "2001:db8::/64"}, "IPv4"},
		{"over the limit", []string{"arpscan", "-i", "rl-none0", "198.18.0.0/15"}, "--force"},
		{"bad exclude", []string{"arpscan", "-i", "rl-none0", "--exclude", "x", "198.18.0.0/24"}, `"x"`},
		{"bad mac", []string{"arpscan", "-i", "rl-none0", "--src-mac", "02:00:00:00:00", "198.18.0.1"}, "--src-mac"},
		{"bad arpsha", []string{"arpscan", "-i", "rl-none0", "--arpsha", "zz:00:00:00:00:00", "198.18.0.1"}, "--arpsha"},
		{"bad destaddr", []string{"arpscan", "-i", "rl-none0", "--destaddr", "1", "198.18.0.1"}, "--destaddr"},
		{"bad arpspa", []string{"arpscan", "-i", "rl-none0", "--arpspa", "198.18.0", "198.18.0.1"}, "--arpspa"},
		{"rate and bandwidth", []string{"arpscan", "-i", "rl-none0", "--rate", "100", "-B", "1M", "198.18.0.1"}, "not both"},
		{"bad rate", []string{"arpscan", "-i", "rl-none0", "--rate", "fast", "198.18.0.1"}, "--rate"},
		{"bad bandwidth", []string{"arpscan", "-i", "rl-none0", "-B", "-5K", "198.18.0.1"}, "--bandwidth"},
		{"zero retry", []string{"arpscan", "-i", "rl-none0", "--retry", "0", "198.18.0.1"}, "--retry"},
		{"backoff below 1", []string{"arpscan", "-i", "rl-none0", "--backoff", "0.5", "198.18.0.1"}, "--backoff"},
		{"vlan too big", []string{"arpscan", "-i", "rl-none0", "--vlan", "4096", "198.18.0.1"}, "--vlan"},
		{"bad template", []string{"arpscan", "-i", "rl-none0", "--format", "{{.IP", "198.18.0.1"}, "--format"},
		{"template field", []string{"arpscan", "-i", "rl-none0", "--format", "{{.Nope}}", "198.18.0.1"}, "--format"},
		{"arp-scan field", []string{"arpscan", "-i", "rl-none0", "--format", "${ip} ${nope}", "198.18.0.1"}, "nope"},
		{"timeout 0", []string{"arpscan", "-i", "rl-none0", "--timeout", "0", "198.18.0.1"}, "--timeout"},
		{"timeout huge", []string{"arpscan", "-i", "rl-none0", "--timeout", "99999999999", "198.18.0.1"}, "--timeout"},
		{"backoff 1e308", []string{"arpscan", "-i", "rl-none0", "--backoff", "1e308", "198.18.0.1"}, "--backoff"},
		{"multicast src-mac", []string{"arpscan", "-i", "rl-none0", "--src-mac", "01:00:5e:00:00:01", "198.18.0.1"}, "--src-mac"},
		{"arping multicast src-mac", []string{"arping", "-i", "rl-none0", "--src-mac", "01:00:5e:00:00:01", "198.18.0.1"}, "--src-mac"},
		{"shadow file", []string{"arpscan", "-i", "rl-none0", "--file", secretFile}, "line 2"},
		{"two outputs", []string{"arpscan", "-i", "rl-none0", "--jsonl", "--json", "198.18.0.1"}, "exclude each other"},
		{"passive with targets", []string{"arpscan", "-i", "rl-none0", "--passive", "198.18.0.1"}, "--passive"},
		{"duration without passive", []string{"arpscan", "-i", "rl-none0", "--duration", "1s", "198.18.0.1"}, "--duration"},
		{"localnet with targets", []string{"arpscan", "-i", "rl-none0", "--localnet", "198.18.0.1"}, "--localnet"},
		{"missing target file", []string{"arpscan", "-i", "rl-none0", "--file", filepath.Join(dir, "none")}, "--file"},
		{"bad ouifile", []string{"arpscan", "-i", "rl-none0", "--ouifile", badOUI, "198.18.0.1"}, "--ouifile"},
		{"unknown interface", []string{"arpscan", "-i", "rl-none0", "198.18.0.1"}, "rl-none0"},
		{"arping no interface", []string{"arping", "198.18.0.1"}, "no interface"},
		{"arping bad ip", []string{"arping", "-i", "rl-none0", "198.18.0.x"}, "198.18.0.x"},
		{"arping two ips", []string{"arping", "-i", "rl-none0", "198.18.0.1", "198.18.0.2"}, "accepts 1 arg"},
		{"arping bad count", []string{"arping", "-i", "rl-none0", "-c", "-1", "198.18.0.1"}, "--count"},
		{"arping unknown interface", []string{"arping", "-i", "rl-none0", "198.18.0.1"}, "rl-none0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := arpRun(tt.args...)
			if code != exitUsage {
				t.Errorf("exit status %d, want %d; stderr %q", code, exitUsage, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "rawlab: ") {
				t.Errorf("stderr %q, want one line starting rawlab:", stderr)
			}
			if strings.Contains(stderr, "Secr3tH4shSecr3tH4sh") {
				t.Errorf("stderr %q echoes the file's contents", stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q does not mention %q", stderr, tt.want)
			}
		})
	}
}
