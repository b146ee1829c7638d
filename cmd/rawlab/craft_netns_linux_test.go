package main

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawlab/rawlab/internal/netnstest"
)

// TestCraftBadChecksumIsDropped sends echo requests to a kernel over a veth:
// the good one is answered, one with a wrong ICMP or IPv4 checksum is not
// (RFC 1122 §3.2.1.2, §3.2.2), so --bad-checksum really spoils it.
func TestCraftBadChecksumIsDropped(t *testing.T) {
	a, b := pair(t)
	peer := b.HardwareAddr(t, "eth0").String()
	args := []string{"craft", "icmp", "-i", "eth0", "--src-ip", "198.18.200.1", "--dst-ip", "198.18.200.2",
		"--dst-mac", peer, "--id", "77", "--send", "--wait", "500ms"}
	if code, stdout, stderr := rawlabIn(t, a, args...); code != 0 || !strings.Contains(stdout, "echo reply, id 77") {
		t.Fatalf("good checksum: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, bad := range []string{"icmp", "ip"} {
		code, stdout, stderr := rawlabIn(t, a, append(args, "--bad-checksum", bad)...)
		if code != exitFailed || !strings.Contains(stdout, "bad "+bad+" cksum") || !strings.Contains(stderr, "0 replies") {
			t.Errorf("--bad-checksum %s: exit %d, want 1 and no reply\n%s%s", bad, code, stdout, stderr)
		}
	}
}

// TestCraftStreamsManyFrames sends a million frames (issue 12: 180 MB
// resident when they were built first) and checks that the process stayed
// small: frames are built into reused buffers as they are sent.
func TestCraftStreamsManyFrames(t *testing.T) {
	if testing.Short() {
		t.Skip("a million frames take about 30 s: not with -short")
	}
	a, _ := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	const n = "1000000"
	cmd := a.Command(ctx, netnstest.Rawlab(t), "craft", "icmp", "-i", "eth0", "--dst-ip", "198.18.200.2", "--send", "--count", n, "--jsonl")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := 0
	buf := make([]byte, 1<<16)
	for {
		k, err := out.Read(buf)
		lines += strings.Count(string(buf[:k]), "\n")
		if err != nil {
			break
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), n+" sent") || lines != 1000001 {
		t.Errorf("stderr %q, %d lines; want %s sent, a line each and the summary", stderr.String(), lines, n)
	}
	t.Logf("max resident set %d KiB", cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	if rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss; rss > 64<<10 {
		t.Errorf("max resident set %d KiB, want under 64 MiB", rss)
	}
}
