package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	// The peak is read by GNU time, which forks (a copy of its own small
	// address space) and then execs rawlab. The process's own rusage would
	// not do: os/exec starts a child with vfork, and exec(2) folds the
	// parent's high-water mark, that of this race-instrumented test binary,
	// into the child's ru_maxrss.
	a, _ := pair(t) // skips (or fails under RAWLAB_REQUIRE_NETNS=1) without root
	const timeBin = "/usr/bin/time"
	if _, err := os.Stat(timeBin); err != nil {
		t.Fatalf("GNU time is not installed (apt-get install time): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	const n = "1000000"
	rssFile := filepath.Join(t.TempDir(), "maxrss")
	cmd := a.Command(ctx, timeBin, "-f", "%M", "-o", rssFile, netnstest.Rawlab(t), "craft", "icmp", "-i", "eth0", "--dst-ip", "198.18.200.2", "--send", "--count", n, "--jsonl")
	// A soft memory limit makes the collector keep the heap near what is
	// live, so that the figure measures what the sender holds rather than
	// how late a collector starved of CPU by parallel tests ran. Frames
	// built first (a million of them) would stay live and blow past it.
	cmd.Env = append(cmd.Environ(), "GOMEMLIMIT=32MiB")
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
		lines += bytes.Count(buf[:k], []byte("\n"))
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
	b, err := os.ReadFile(rssFile)
	if err != nil {
		t.Fatal(err)
	}
	rss, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("GNU time wrote %q: %v", b, err)
	}
	t.Logf("max resident set %d KiB", rss)
	if rss > 64<<10 {
		t.Errorf("max resident set %d KiB, want under 64 MiB", rss)
	}
}
