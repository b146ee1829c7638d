package lab

import (
	"path/filepath"
	"testing"
)

func TestNew(t *testing.T) {
	t.Setenv("RAWLAB_RUN_DIR", "/tmp/x")
	tests := []struct {
		prefix, wantPrefix, wantDir string
		ok                          bool
	}{
		{"", "rl-", "/tmp/x/rl", true},
		{"rt12-", "rt12-", "/tmp/x/rt12", true},
		{"toolongprefix-", "", "", false},
		{"a.b", "", "", false},
		{"RL-", "", "", false},
		{"r_l-", "", "", false},
		{"---", "", "", false},
		{"a.b", "", "", false},
		{"RL-", "", "", false},
		{"r_l-", "", "", false},
		{"---", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			l, err := New(tt.prefix)
			if (err == nil) != tt.ok {
				t.Fatalf("New(%q) error = %v, want ok=%v", tt.prefix, err, tt.ok)
			}
			if err != nil {
				return
			}
			if l.Prefix != tt.wantPrefix || l.RunDir != tt.wantDir {
				t.Errorf("New(%q) = prefix %q dir %q, want %q %q", tt.prefix, l.Prefix, l.RunDir, tt.wantPrefix, tt.wantDir)
			}
			if got := l.LeaseFile(); got != filepath.Join(tt.wantDir, "server", "leases.json") {
				t.Errorf("LeaseFile = %q", got)
			}
		})
	}
}

func TestNames(t *testing.T) {
	l := &Lab{Prefix: "rl-"}
	for in, want := range map[string]string{
		"client": "rl-client", "srv": "rl-srv", "server": "rl-srv", "sw": "rl-sw",
		"switch": "rl-sw", "h2": "rl-h2", "rl-h10": "rl-h10", "rl-client": "rl-client",
	} {
		if got := l.NS(in); got != want {
			t.Errorf("NS(%q) = %q, want %q", in, got, want)
		}
	}
	for name, want := range map[string]bool{
		"rl-client": true, "rl-srv": true, "rl-sw": true, "rl-h1": true, "rl-h12": true,
		"rl-h0": false, "rl-h01": false, "rl-hx": false, "rl-other": false, "xx-client": false, "rl-": false,
	} {
		if got := l.isOurs(name); got != want {
			t.Errorf("isOurs(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestHostCIDR(t *testing.T) {
	if got := HostCIDR(3); got != "198.18.0.13/24" {
		t.Errorf("HostCIDR(3) = %q", got)
	}
}
