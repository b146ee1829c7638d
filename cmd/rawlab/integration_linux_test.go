package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawlab/rawlab/capture"
	"github.com/rawlab/rawlab/internal/jsoncheck"
	"github.com/rawlab/rawlab/internal/netnstest"
)

// pair builds two namespaces joined by a veth: a (198.18.200.1, eth0) and
// b (198.18.200.2, eth0), whose kernel answers ARP and ping.
func pair(t *testing.T) (a, b *netnstest.NS) {
	t.Helper()
	netnstest.Require(t)
	a, b = netnstest.New(t, "cla"), netnstest.New(t, "clb")
	netnstest.Veth(t, a, "eth0", b, "eth0")
	a.AddAddr(t, "eth0", "198.18.200.1/24")
	b.AddAddr(t, "eth0", "198.18.200.2/24")
	return a, b
}

// rawlabIn runs the rawlab binary inside ns and returns its exit status and output.
func rawlabIn(t *testing.T, ns *netnstest.NS, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := ns.Command(ctx, netnstest.Rawlab(t), args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("rawlab %v: %v", args, err)
	}
	return code, stdout.String(), stderr.String()
}

func TestCraftARPWaitGetsKernelReply(t *testing.T) {
	a, b := pair(t)
	peer := b.HardwareAddr(t, "eth0").String()
	code, stdout, stderr := rawlabIn(t, a, "craft", "arp", "-i", "eth0", "--target-ip", "198.18.200.2",
		"--sender-ip", "198.18.200.1", "--send", "--wait", "2s")
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	want := "Reply 198.18.200.2 is-at " + peer
	if !strings.Contains(stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, stdout)
	}
	if !strings.Contains(stderr, "1 replies") {
		t.Errorf("stderr %q does not count exactly one reply", stderr)
	}
}

func TestCraftICMPWaitGetsEchoReply(t *testing.T) {
	a, b := pair(t)
	peer := b.HardwareAddr(t, "eth0").String()
	code, stdout, stderr := rawlabIn(t, a, "craft", "icmp", "-i", "eth0", "--src-ip", "198.18.200.1",
		"--dst-ip", "198.18.200.2", "--dst-mac", peer, "--id", "4242", "--seq", "7", "--count", "3", "--rate", "100",
		"--send", "--wait", "2s")
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	for _, seq := range []string{"seq 7", "seq 8", "seq 9"} {
		if !strings.Contains(stdout, "198.18.200.2 > 198.18.200.1: ICMP echo reply, id 4242, "+seq) {
			t.Errorf("no echo reply with %s in:\n%s", seq, stdout)
		}
	}
	if !strings.Contains(stderr, "3 replies") {
		t.Errorf("stderr %q does not count three replies", stderr)
	}
}

func TestCraftWaitNoReplyExits1(t *testing.T) {
	a, _ := pair(t)
	code, _, stderr := rawlabIn(t, a, "craft", "arp", "-i", "eth0", "--target-ip", "198.18.200.77",
		"--sender-ip", "198.18.200.1", "--send", "--wait", "300ms")
	if code != exitFailed || !strings.Contains(stderr, "0 replies") {
		t.Errorf("exit %d, stderr %q; want 1 and 0 replies", code, stderr)
	}
}

// startCapture runs `rawlab capture` in ns and waits for its listening line.
func startCapture(t *testing.T, ns *netnstest.NS, args ...string) *netnstest.Proc {
	t.Helper()
	return ns.Start(t, func(l string) bool { return strings.HasPrefix(l, "listening on ") },
		netnstest.Rawlab(t), append([]string{"capture"}, args...)...)
}

// readJSON decodes a capture file with `rawlab read --jsonl`, and checks
// the lines against docs/json.md.
func readJSON(t *testing.T, path string) []frameRecord {
	t.Helper()
	code, stdout, stderr := runRawlab(t, "read", "--jsonl", path)
	if code != 0 {
		t.Fatalf("read %s: exit %d: %s", path, code, stderr)
	}
	if err := jsoncheck.Lines([]byte(stdout)); err != nil && stdout != "" {
		t.Errorf("read --jsonl %s: %v", path, err)
	}
	var out []frameRecord
	dec := json.NewDecoder(strings.NewReader(stdout))
	for dec.More() {
		var l frameRecord
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("read --json: %v", err)
		}
		out = append(out, l)
	}
	return out
}

func TestCaptureRecordsBothDirections(t *testing.T) {
	a, _ := pair(t)
	path := filepath.Join(t.TempDir(), "both.pcapng")
	p := startCapture(t, a, "-i", "eth0", "-w", path, "-c", "4", "--filter", "icmp")
	a.Exec(t, "ping", "-c", "2", "-i", "0.2", "-W", "2", "198.18.200.2")
	if err := p.Wait(context.Background()); err != nil {
		t.Fatalf("capture: %v\n%s", err, p.Output())
	}
	if !strings.Contains(p.Output(), "4 captured, 4 written, 0 dropped by kernel") {
		t.Errorf("capture's closing line is missing: %s", p.Output())
	}
	frames := readJSON(t, path)
	dirs := map[string]int{}
	for _, f := range frames {
		if f.Frame.ICMP == nil {
			t.Errorf("frame is not ICMP: %+v", f.Frame)
			continue
		}
		dirs[f.Direction]++
	}
	if dirs["out"] != 2 || dirs["in"] != 2 {
		t.Errorf("directions %v, want 2 out (requests) and 2 in (replies)", dirs)
	}
}

func TestTsharkReadsEveryPcapng(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		netnstest.Require(t)
		t.Fatalf("tshark is not installed (apt-get install tshark): %v", err)
	}
	a, _ := pair(t)
	dir := t.TempDir()
	// A captured exchange: ARP and ICMP with a kernel.
	captured := filepath.Join(dir, "captured.pcapng")
	p := startCapture(t, a, "-i", "eth0", "-w", captured, "-c", "4")
	a.Exec(t, "ping", "-c", "1", "-W", "2", "198.18.200.2")
	if err := p.Wait(context.Background()); err != nil {
		t.Fatalf("capture: %v\n%s", err, p.Output())
	}
	// Crafted frames written by craft -w: DHCP (broadcast form), ICMP, ARP
	// with a VLAN tag, and classic pcap.
	files := []string{captured}
	for name, args := range map[string][]string{
		"dhcp.pcapng":  {"craft", "dhcp", "--xid", "0x01020304", "--mac", "02:00:00:00:00:09", "--src-mac", "02:00:00:00:00:09", "--option", "55=1,3,6,15", "--hostname", "lab1"},
		"icmp.pcapng":  {"craft", "icmp", "--src-ip", "198.18.200.1", "--dst-ip", "198.18.200.2", "--id", "1", "--seq", "2"},
		"arpvl.pcapng": {"craft", "arp", "--target-ip", "198.18.200.2", "--sender-ip", "198.18.200.1", "--vlan", "10"},
		"dhcp.pcap":    {"craft", "dhcp", "--type", "request", "--requested-ip", "198.18.200.9", "--server-id", "198.18.200.1", "--format", "pcap"},
	} {
		path := filepath.Join(dir, name)
		if code, _, stderr := runRawlab(t, append(args, "-w", path)...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		files = append(files, path)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			out, err := exec.Command("tshark", "-n", "-V", "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-r", path).CombinedOutput()
			text := string(out)
			if err != nil {
				t.Fatalf("tshark: %v\n%s", err, text)
			}
			for _, bad := range []string{"Malformed", "Expert Info (Warning", "Expert Info (Error", "[Checksum Status: Bad]", "appears to have been cut short"} {
				if strings.Contains(text, bad) {
					t.Errorf("tshark says %q:\n%s", bad, text)
				}
			}
			var want []string
			switch filepath.Base(path) {
			case "captured.pcapng":
				want = []string{"Address Resolution Protocol (request)", "Address Resolution Protocol (reply)", "Echo (ping) request", "Echo (ping) reply", "[Checksum Status: Good]", "Interface name: eth0", "Direction: Outbound", "Direction: Inbound"}
			case "dhcp.pcapng":
				want = []string{"Dynamic Host Configuration Protocol (Discover)", "[Checksum Status: Good]", "Option: (55) Parameter Request List", "Transaction ID: 0x01020304"}
			case "dhcp.pcap":
				want = []string{"Dynamic Host Configuration Protocol (Request)", "[Checksum Status: Good]", "Option: (50) Requested IP Address (198.18.200.9)"}
			case "icmp.pcapng":
				want = []string{"Echo (ping) request", "[Checksum Status: Good]"}
			case "arpvl.pcapng":
				want = []string{"802.1Q Virtual LAN", "ID: 10", "Address Resolution Protocol (request)"}
			}
			for _, w := range want {
				if !strings.Contains(text, w) {
					t.Errorf("tshark output lacks %q:\n%s", w, text)
				}
			}
		})
	}
}

func TestCaptureSIGINTLeavesCompleteFile(t *testing.T) {
	a, _ := pair(t)
	path := filepath.Join(t.TempDir(), "int.pcapng")
	p := startCapture(t, a, "-i", "eth0", "-w", path)
	a.Exec(t, "ping", "-c", "3", "-i", "0.2", "-W", "2", "198.18.200.2")
	if err := p.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(context.Background()); err != nil {
		t.Fatalf("capture after SIGINT: %v\n%s", err, p.Output())
	}
	if !strings.Contains(p.Output(), " written, 0 dropped by kernel") {
		t.Errorf("no closing line after SIGINT: %s", p.Output())
	}
	frames := readJSON(t, path)
	if len(frames) < 6 {
		t.Errorf("%d frames in the file, want at least the 6 of three pings", len(frames))
	}
	if out, err := exec.Command("tshark", "-r", path).CombinedOutput(); err != nil || strings.Contains(string(out), "cut short") {
		t.Errorf("tshark on the SIGINT capture: %v\n%s", err, out)
	}
}

func TestCaptureSIGKILLReadableToLastBlock(t *testing.T) {
	a, _ := pair(t)
	path := filepath.Join(t.TempDir(), "kill.pcapng")
	p := startCapture(t, a, "-i", "eth0", "-w", path)
	a.Exec(t, "ping", "-c", "3", "-i", "0.2", "-W", "2", "198.18.200.2")
	// The recorder flushes whole blocks on a timer: wait until the six
	// frames are on disk, then kill without warning.
	netnstest.WaitFor(t, 10*time.Second, "six frames flushed to "+path, func() bool {
		r, err := capture.OpenFile(path)
		if err != nil {
			return false
		}
		defer r.Close()
		n := 0
		for {
			if _, err := r.Next(); err != nil {
				return n >= 6
			}
			n++
		}
	})
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.Wait(context.Background())
	// Append half a block, as if the kill had come mid-write: the reader
	// still returns every whole block before it.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{6, 0, 0, 0, 200, 0, 0, 0, 1, 2})
	f.Close()
	r, err := capture.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for {
		if _, err := r.Next(); err != nil {
			break
		}
		n++
	}
	if n < 6 {
		t.Errorf("read %d whole frames from the killed capture, want at least 6", n)
	}
}
