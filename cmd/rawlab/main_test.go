package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

func TestVersion(t *testing.T) {
	code, stdout, _ := runRawlab(t, "version", "--json")
	if code != 0 || !strings.Contains(stdout, `"version":"dev"`) {
		t.Errorf("version --json: exit %d, %q", code, stdout)
	}
}
