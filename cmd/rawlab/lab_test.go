package main

import (
	"os"
	"strings"
	"testing"
)

// TestLabBadInput checks that every lab verb rejects bad flags with one line
// and exit status 2 before it touches a namespace (so it runs unprivileged).
func TestLabBadInput(t *testing.T) {
	// Whether a namespace is the lab's is read from the lab's root-only
	// record: unprivileged, exec stops earlier, at the root check.
	notLab := "not a lab namespace"
	if os.Geteuid() != 0 {
		notLab = "needs root"
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"pool outside the lab", []string{"lab", "up", "--pool", "10.0.0.10-10.0.0.20"}, "outside the lab range"},
		{"pool without dash", []string{"lab", "up", "--pool", "198.18.0.100"}, "FIRST-LAST"},
		{"pool reversed", []string{"lab", "up", "--pool", "198.18.0.199-198.18.0.100"}, "end before start"},
		{"short lease", []string{"lab", "up", "--lease", "1s"}, "lease time"},
		{"T1 after T2", []string{"lab", "up", "--t1", "50m", "--t2", "40m"}, "T1"},
		{"dns outside the lab", []string{"lab", "up", "--dns", "8.8.8.8"}, "--dns"},
		{"bad search name", []string{"lab", "up", "--search", "a..b"}, "label"},
		{"too many hosts", []string{"lab", "up", "--hosts", "99"}, "--hosts"},
		{"long prefix", []string{"lab", "--prefix", "muchtoolong-", "status"}, "prefix"},
		{"upper-case prefix", []string{"lab", "--prefix", "RL-", "status"}, "[a-z0-9-]"},
		{"prefix with a dot", []string{"lab", "--prefix", "r.l-", "down"}, "[a-z0-9-]"},
		{"exec outside the lab", []string{"lab", "exec", "rl-other", "--", "true"}, notLab},
		{"demo pcap through a missing directory", []string{"lab", "demo", "--pcap", "/nonexistent/dir/x.pcapng"}, "--pcap"},
		{"exec without command", []string{"lab", "exec"}, "requires at least 1 arg"},
		{"exec two words before --", []string{"lab", "exec", "client", "h1", "--", "true"}, "before --"},
		{"serve without interface", []string{"lab", "serve"}, "no interface given"},
		{"demo bad xid", []string{"lab", "demo", "--xid", "zz"}, "--xid"},
		{"demo args before --", []string{"lab", "demo", "extra"}, "after --"},
		{"demo json", []string{"lab", "demo", "--json"}, "for JSON run"},
		{"unknown verb", []string{"lab", "sideways"}, "unknown command \"sideways\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runRawlab(t, tt.args...)
			if code != exitUsage {
				t.Errorf("rawlab %s: exit %d, want %d (stderr %q)", strings.Join(tt.args, " "), code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one line containing %q", stderr, tt.want)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}
