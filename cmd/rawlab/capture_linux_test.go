//go:build linux

package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rawlab/rawlab/internal/netnstest"
)

// TestCaptureDirection checks -Q: with -Q in the kernel leaves out what the
// host sends (PACKET_IGNORE_OUTGOING), so the ring's own counter ("received
// by filter") sees only the replies; with -Q out only the requests are
// recorded.
func TestCaptureDirection(t *testing.T) {
	for _, tt := range []struct {
		q, want string
	}{
		{"in", "in"},
		{"out", "out"},
	} {
		t.Run(tt.q, func(t *testing.T) {
			a, _ := pair(t)
			path := filepath.Join(t.TempDir(), tt.q+".pcapng")
			p := startCapture(t, a, "-i", "eth0", "-w", path, "-c", "2", "-Q", tt.q, "icmp")
			a.Exec(t, "ping", "-c", "2", "-i", "0.2", "-W", "2", "198.18.200.2")
			if err := p.Wait(context.Background()); err != nil {
				t.Fatalf("capture: %v\n%s", err, p.Output())
			}
			for _, f := range readJSON(t, path) {
				if f.Direction != tt.want || f.Frame.ICMP == nil {
					t.Errorf("-Q %s recorded a %s frame: %+v", tt.q, f.Direction, f.Frame)
				}
			}
			m := regexp.MustCompile(`(\d+) received by filter`).FindStringSubmatch(p.Output())
			if m == nil {
				t.Fatalf("no filter counter at exit:\n%s", p.Output())
			}
			// -Q in is done by the kernel: the two requests never reach
			// the ring. -Q out skips the replies in rawlab, after the ring.
			if tt.q == "in" && m[1] != "2" {
				t.Errorf("-Q in: %s frames received by filter, want 2 (the outgoing requests left out by the kernel)", m[1])
			}
			if !strings.Contains(p.Output(), "2 captured, 2 written, 0 dropped by kernel") {
				t.Errorf("closing line missing:\n%s", p.Output())
			}
		})
	}
}

// TestCapturePrecision checks --time-stamp-precision: capinfos reads the
// resolution back from the pcapng if_tsresol and from the pcap magic.
func TestCapturePrecision(t *testing.T) {
	if _, err := exec.LookPath("capinfos"); err != nil {
		netnstest.Require(t)
		t.Fatalf("capinfos is not installed (apt-get install tshark): %v", err)
	}
	a, _ := pair(t)
	for _, tt := range []struct {
		precision, format, want string
	}{
		{"micro", "pcapng", "microseconds (6)"},
		{"nano", "pcapng", "nanoseconds (9)"},
		{"micro", "pcap", "microseconds (6)"},
		{"nano", "pcap", "nanoseconds (9)"},
	} {
		t.Run(tt.precision+"/"+tt.format, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p."+tt.format)
			p := startCapture(t, a, "-i", "eth0", "-w", path, "-c", "2", "--format", tt.format, "--time-stamp-precision", tt.precision, "icmp")
			a.Exec(t, "ping", "-c", "1", "-W", "2", "198.18.200.2")
			if err := p.Wait(context.Background()); err != nil {
				t.Fatalf("capture: %v\n%s", err, p.Output())
			}
			out, err := exec.Command("capinfos", path).CombinedOutput()
			if err != nil {
				t.Fatalf("capinfos: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "File timestamp precision:  "+tt.want) || !strings.Contains(string(out), "Number of packets:   2") {
				t.Errorf("capinfos does not report 2 packets at %s:\n%s", tt.want, out)
			}
			if tt.format == "pcapng" && !strings.Contains(string(out), "Number of stat entries = 1") {
				t.Errorf("capinfos finds no Interface Statistics Block:\n%s", out)
			}
		})
	}
	if code, _, stderr := runRawlab(t, "capture", "-i", "eth0", "--time-stamp-precision", "milli"); code != 2 || !strings.Contains(stderr, "time-stamp-precision") {
		t.Errorf("--time-stamp-precision milli: exit %d, %q; want 2 and an error naming the flag", code, stderr)
	}
}
