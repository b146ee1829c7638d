//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/internal/jsoncheck"
	"github.com/rawlab/rawlab/internal/netnstest"
)

// exitCode waits for p and returns its exit status.
func exitCode(t *testing.T, p *netnstest.Proc) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := p.Wait(ctx)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("capture: %v\n%s", err, p.Output())
	return -1
}

// frameCount reads a capture file to its end and returns its frames; it
// fails the test if the file does not read cleanly to the end.
func frameCount(t *testing.T, path string) int {
	t.Helper()
	r, err := capture.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for {
		_, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Errorf("%s after %d frames: %v", path, n, err)
			}
			return n
		}
		n++
	}
}

// countFrames returns how many whole frames path holds so far.
func countFrames(path string) int {
	r, err := capture.OpenFile(path)
	if err != nil {
		return 0
	}
	defer r.Close()
	n := 0
	for ; ; n++ {
		if _, err := r.Next(); err != nil {
			return n
		}
	}
}

// tsharkClean checks that tshark reads path with no complaint.
func tsharkClean(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command("tshark", "-n", "-r", path).CombinedOutput()
	if err != nil || strings.Contains(string(out), "cut short") || strings.Contains(string(out), "Malformed") {
		t.Errorf("tshark -r %s: %v\n%s", path, err, out)
	}
}

// errorLines returns the lines of out that start with "rawlab: ".
func errorLines(out string) []string {
	var l []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "rawlab: ") {
			l = append(l, line)
		}
	}
	return l
}

// TestCaptureInterfaceGone deletes the capture interface mid-capture:
// rawlab exits 1 with one line, and its file is complete.
func TestCaptureInterfaceGone(t *testing.T) {
	a, _ := pair(t)
	path := filepath.Join(t.TempDir(), "gone.pcapng")
	p := startCapture(t, a, "-i", "eth0", "-w", path, "icmp")
	a.Exec(t, "ping", "-c", "2", "-i", "0.2", "-W", "2", "198.18.200.2")
	// The four frames reach the file when the kernel hands over their ring
	// block (capture.FileBlockTimeout); then the interface goes.
	netnstest.WaitFor(t, 10*time.Second, "4 frames in "+path, func() bool { return countFrames(path) == 4 })
	if err := a.Netlink().LinkDel(a.Link(t, "eth0")); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, p); code != 1 {
		t.Errorf("exit %d after the interface went, want 1\n%s", code, p.Output())
	}
	if l := errorLines(p.Output()); len(l) != 1 || !strings.Contains(l[0], "eth0: the interface disappeared") {
		t.Errorf("error lines %q, want one saying the interface disappeared", l)
	}
	if !strings.Contains(p.Output(), "4 captured, 4 written") {
		t.Errorf("counts missing:\n%s", p.Output())
	}
	if n := frameCount(t, path); n != 4 {
		t.Errorf("%d frames in the file, want the 4 of two pings", n)
	}
	tsharkClean(t, path)
}

// TestCaptureRotationSizeAndTime: -C splits within each -G file, and -G
// keeps starting files after -C has rotated.
func TestCaptureRotationSizeAndTime(t *testing.T) {
	a, _ := pair(t)
	dir := t.TempDir()
	// 1000 bytes hold the headers and a few 98-byte echo frames.
	p := startCapture(t, a, "-i", "eth0", "-w", filepath.Join(dir, "r-%H%M%S.pcapng"), "-G", "1", "-C", "0.001", "icmp")
	// Four seconds of pings, five a second: several -G periods, each
	// with more frames than one -C file holds.
	a.Exec(t, "ping", "-c", "20", "-i", "0.2", "-W", "2", "198.18.200.2")
	// SIGINT once the last ring block has reached the files.
	netnstest.WaitFor(t, 10*time.Second, "40 frames in the files", func() bool {
		n := 0
		matches, _ := filepath.Glob(filepath.Join(dir, "r-*"))
		for _, m := range matches {
			n += countFrames(m)
		}
		return n == 40
	})
	if err := p.Signal(unix.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, p); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.Output())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	periods := map[string][]string{} // -G name -> files
	total := 0
	for _, e := range entries {
		name := e.Name()
		base := name[:len("r-HHMMSS.pcapng")]
		periods[base] = append(periods[base], name)
		path := filepath.Join(dir, name)
		if st, err := os.Lstat(path); err != nil || st.Mode() != 0o600 {
			t.Errorf("%s: mode %v, %v; want a regular file, 0600", name, st.Mode(), err)
		}
		total += frameCount(t, path)
	}
	tsharkClean(t, filepath.Join(dir, entries[len(entries)-1].Name()))
	if total != 40 {
		t.Errorf("%d frames in the files, want the 40 of twenty pings", total)
	}
	var bases []string
	split := 0
	for b, files := range periods {
		bases = append(bases, b)
		if len(files) > 1 {
			split++
		}
	}
	sort.Strings(bases)
	// -G fired at least three times, and -C split at least two -G files
	// (one before -G fired again).
	if len(bases) < 3 || split < 2 {
		t.Errorf("files by period %v: want 3 periods or more, 2 of them split by -C", periods)
	}
	for _, b := range bases[:len(bases)-1] {
		if len(periods[b]) > 1 && !strings.HasSuffix(periods[b][1], ".pcapng1") {
			t.Errorf("period %s: -C files %v, want the number from 1 in each", b, periods[b])
		}
	}
}

// TestCaptureDiskFull fills a small tmpfs: rawlab stops with one line,
// exit 1, the file ends on a whole block, and stderr says how many frames
// it holds.
func TestCaptureDiskFull(t *testing.T) {
	a, _ := pair(t)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=64k"); err != nil {
		t.Fatalf("mount a 64k tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	path := filepath.Join(dir, "full.pcapng")
	p := startCapture(t, a, "-i", "eth0", "-w", path, "-C", "0.03", "icmp")
	// 150 echo requests and replies of 1042 bytes: 300 KB, more than fits.
	a.Output("ping", "-c", "150", "-i", "0.005", "-s", "1000", "-W", "1", "198.18.200.2")
	select {
	case <-p.Done():
	case <-time.After(20 * time.Second):
		t.Fatalf("capture still running after the disk filled\n%s", p.Output())
	}
	if code := exitCode(t, p); code != 1 {
		t.Errorf("exit %d, want 1\n%s", code, p.Output())
	}
	l := errorLines(p.Output())
	if len(l) != 1 || !strings.Contains(l[0], "no space left on device") || strings.Contains(p.Output(), "already closed") {
		t.Errorf("error lines %q, want one saying the disk is full\n%s", l, p.Output())
	}
	t.Logf("capture's stderr:\n%s", p.Output())
	m := regexp.MustCompile(`(\d+) captured, (\d+) written`).FindStringSubmatch(p.Output())
	if m == nil {
		t.Fatalf("no counts:\n%s", p.Output())
	}
	written, _ := strconv.Atoi(m[2])
	captured, _ := strconv.Atoi(m[1])
	entries, _ := os.ReadDir(dir)
	inFiles := 0
	for _, e := range entries {
		inFiles += frameCount(t, filepath.Join(dir, e.Name()))
		tsharkClean(t, filepath.Join(dir, e.Name()))
	}
	if inFiles != written || written >= captured || written == 0 {
		t.Errorf("files hold %d frames; stderr says %d written of %d captured", inFiles, written, captured)
	}
}

// TestCaptureStdoutToRead pipes `capture -w -` into `read -`; the decoded
// frames print to stderr as they go with --print.
func TestCaptureStdoutToRead(t *testing.T) {
	a, _ := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := a.Command(ctx, netnstest.Rawlab(t), "capture", "-i", "eth0", "-w", "-", "-c", "4", "--print", "icmp")
	var stdout bytes.Buffer
	var stderr lockedBuffer // read while os/exec's goroutine writes it
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	netnstest.WaitFor(t, 10*time.Second, "listening line", func() bool { return strings.Contains(stderr.String(), "listening on") })
	a.Exec(t, "ping", "-c", "2", "-i", "0.2", "-W", "2", "198.18.200.2")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("capture -w -: %v\n%s", err, stderr.String())
	}
	if n := strings.Count(stderr.String(), "ICMP echo"); n != 4 {
		t.Errorf("--print with -w -: %d ICMP lines on stderr, want 4:\n%s", n, stderr.String())
	}
	code, frames, errs := readLines(t, stdout.Bytes(), "-")
	if code != 0 || len(frames) != 4 {
		t.Fatalf("read -: exit %d, %d frames: %s", code, len(frames), errs)
	}
	for _, f := range frames {
		if f.Frame.ICMP == nil || f.Direction == "" {
			t.Errorf("frame %+v, want ICMP with a direction", f)
		}
	}
}

// TestCaptureSnapLen captures 1000-byte frames with -s 96: the text shows
// "length 1000" and UDP, the file and --jsonl carry len 1000 and caplen 96,
// and --json is one document.
func TestCaptureSnapLen(t *testing.T) {
	a, _ := pair(t)
	path := filepath.Join(t.TempDir(), "s96.pcapng")
	p := startCapture(t, a, "-i", "eth0", "-s", "96", "-c", "2", "-w", path, "--print", "--jsonl", "icmp")
	// 958 bytes of payload: 1000-byte frames.
	a.Exec(t, "ping", "-c", "1", "-s", "958", "-W", "2", "198.18.200.2")
	if code := exitCode(t, p); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.Output())
	}
	var lines []string
	for _, l := range p.Lines() {
		if strings.HasPrefix(l, "{") {
			lines = append(lines, l)
		}
	}
	if err := jsoncheck.Lines([]byte(strings.Join(lines, "\n"))); err != nil || len(lines) != 3 || !strings.Contains(lines[2], `"record":"summary"`) {
		t.Fatalf("capture --jsonl: %d lines, %v; want two frames and a summary", len(lines), err)
	}
	for _, l := range lines[:2] {
		var f frameRecord
		if err := json.Unmarshal([]byte(l), &f); err != nil || f.Frame.Len != 1000 || f.Frame.CapLen != 96 || f.Frame.ICMP == nil {
			t.Errorf("capture --jsonl line %s: want len 1000, caplen 96, ICMP", l)
		}
	}
	code, stdout, stderr := runRawlab(t, "read", path)
	if code != 0 || strings.Count(stdout, "length 1000") != 2 || !strings.Contains(stdout, "ICMP echo") {
		t.Errorf("read of the -s 96 file: exit %d %s\n%s; want two frames of length 1000 decoded to ICMP", code, stderr, stdout)
	}
	var doc bytes.Buffer
	if code := run(context.Background(), []string{"read", "--json", path}, strings.NewReader(""), &doc, &bytes.Buffer{}); code != 0 {
		t.Fatalf("read --json: exit %d", code)
	}
	if err := jsoncheck.Document(doc.Bytes()); err != nil {
		t.Errorf("read --json: %v", err)
	}
	// capture --json: one document at the end.
	p = startCapture(t, a, "-i", "eth0", "-c", "2", "--json", "icmp")
	a.Exec(t, "ping", "-c", "1", "-W", "2", "198.18.200.2")
	if code := exitCode(t, p); code != 0 {
		t.Fatalf("capture --json: exit %d\n%s", code, p.Output())
	}
	var js []string
	for _, l := range p.Lines() {
		if strings.HasPrefix(l, "{") {
			js = append(js, l)
		}
	}
	if len(js) != 1 || jsoncheck.Document([]byte(js[0])) != nil || !strings.Contains(js[0], `"count":2`) {
		t.Errorf("capture --json printed %q, want one document with count 2", js)
	}
}

// TestCaptureDropsToSudoUser: run through sudo (SUDO_UID set), capture
// gives up root once its socket and file are open, and its file belongs
// to that user, mode 0600.
func TestCaptureDropsToSudoUser(t *testing.T) {
	a, _ := pair(t)
	path := filepath.Join(t.TempDir(), "user.pcapng")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cmd := a.Command(ctx, netnstest.Rawlab(t), "capture", "-i", "eth0", "-w", path, "-c", "2", "icmp")
	cmd.Env = append(os.Environ(), "SUDO_UID=65534", "SUDO_GID=65534")
	p := netnstest.StartCmd(t, cmd, func(l string) bool { return strings.HasPrefix(l, "listening on ") }, netnstest.ReadyTimeout)
	status, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid()) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^Uid:\s+65534\s+65534\s+65534\s+65534$`).Match(status) {
		t.Errorf("capture's uids after it listens:\n%s", regexp.MustCompile(`(?m)^(Uid|Gid|CapEff):.*$`).FindAll(status, -1))
	}
	a.Exec(t, "ping", "-c", "1", "-W", "2", "198.18.200.2")
	if code := exitCode(t, p); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.Output())
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 65534 || st.Mode&0o7777 != 0o600 {
		t.Errorf("%s: owner %d, mode %o; want 65534, 0600", path, st.Uid, st.Mode&0o7777)
	}
}

// lockedBuffer is a bytes.Buffer that a test may read while a process's
// output is still being copied into it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
