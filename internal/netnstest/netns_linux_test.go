package netnstest

import (
	"context"
	"fmt"
	"github.com/rawlab/rawlab/internal/namespace"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func TestNewAndCleanup(t *testing.T) {
	Require(t)
	var ns *NS
	t.Run("create", func(t *testing.T) {
		ns = New(t, "nstest")
		if len(ns.Name) > maxNameLen || !strings.HasPrefix(ns.Name, "nstest-") {
			t.Errorf("name %q: want nstest-XXXXXX of at most %d chars", ns.Name, maxNameLen)
		}
		if !exists(ns.Name) {
			t.Fatalf("%s not in %s", ns.Name, netnsDir)
		}
		for _, key := range []string{"all", "default", "lo"} {
			got := strings.TrimSpace(ns.Exec(t, "cat", "/proc/sys/net/ipv6/conf/"+key+"/disable_ipv6"))
			if got != "1" {
				t.Errorf("%s disable_ipv6 = %q, want 1", key, got)
			}
		}
		if out := ns.Exec(t, "ip", "-o", "link", "show", "lo"); !strings.Contains(out, "UP") {
			t.Errorf("lo not up: %s", out)
		}
		// A process left running must be killed at cleanup.
		p := ns.Start(t, nil, "sleep", "600")
		// A second process not started by Start (so only the namespace sweep
		// kills it): a shell that backgrounds sleep and exits.
		ns.Exec(t, "sh", "-c", "sleep 600 >/dev/null 2>&1 &")
		pids, err := ns.PIDs()
		if err != nil {
			t.Fatal(err)
		}
		if len(pids) != 2 || !slices.Contains(pids, p.Pid()) {
			t.Errorf("PIDs = %v, want 2 including %d", pids, p.Pid())
		}
	})
	if exists(ns.Name) {
		t.Errorf("%s still exists after its test ended", ns.Name)
	}
	if _, err := netns.GetFromName(ns.Name); err == nil {
		t.Errorf("%s can still be opened", ns.Name)
	}
}

// TestCleanupOnFailure checks that cleanup runs even when the test that
// created the namespace fails: it runs a test body through a fake testing.TB
// whose Fatal is recorded, then runs the registered cleanups as testing does.
func TestCleanupOnFailure(t *testing.T) {
	Require(t)
	ft := &fakeTB{TB: t}
	var name string
	var p *Proc
	func() {
		defer func() {
			if r := recover(); r != nil && r != errFatal {
				panic(r)
			}
		}()
		ns := New(ft, "nsfail")
		name = ns.Name
		p = ns.Start(ft, nil, "sleep", "600")
		ns.AddAddr(ft, "lo", "10.0.0.1/8") // refused: outside the lab block -> Fatal
		t.Error("AddAddr outside the lab block did not fail the test")
	}()
	if !ft.failed || !strings.Contains(ft.msg, "outside the lab block") {
		t.Errorf("fake test: failed=%v msg=%q, want the AddAddr refusal", ft.failed, ft.msg)
	}
	if !exists(name) || p.Exited() {
		t.Fatalf("namespace or process gone before cleanup ran")
	}
	msg := ft.msg
	ft.runCleanups()
	if exists(name) {
		t.Errorf("%s still exists after cleanup of a failed test", name)
	}
	if !p.Exited() {
		t.Errorf("process %d still running after cleanup", p.Pid())
	}
	if ft.msg != msg {
		t.Errorf("cleanup reported errors: %q", strings.TrimPrefix(ft.msg, msg))
	}
}

func TestVethPing(t *testing.T) {
	Require(t)
	a, b := New(t, "pinga"), New(t, "pingb")
	Veth(t, a, "eth0", b, "veth-b")
	a.AddAddr(t, "eth0", "198.18.7.1/24")
	b.AddAddr(t, "veth-b", "198.18.7.2/24")
	out := a.Exec(t, "ping", "-c", "1", "-W", "5", "198.18.7.2")
	if !strings.Contains(out, "1 received") {
		t.Errorf("ping: %s", out)
	}
	if got := a.HardwareAddr(t, "eth0"); len(got) != 6 {
		t.Errorf("eth0 MAC = %v", got)
	}
}

func TestSegment(t *testing.T) {
	Require(t)
	const n = 5
	seg := NewSegment(t, "seg")
	hosts := seg.AddHosts(t, "segh", HostCIDRs("198.18.9.11", 24, n)...)
	client := New(t, "segc")
	seg.Attach(t, client, "rl0")
	client.AddAddr(t, "rl0", "198.18.9.2/24")
	// One ping to the broadcast-free neighbours, each answered by its kernel.
	for i := range hosts {
		ip := strings.Split(HostCIDRs("198.18.9.11", 24, n)[i], "/")[0]
		out := client.Exec(t, "ping", "-c", "1", "-W", "5", ip)
		if !strings.Contains(out, "1 received") {
			t.Errorf("ping %s: %s", ip, out)
		}
	}
	neigh := client.Exec(t, "ip", "neigh", "show", "dev", "rl0")
	if got := strings.Count(neigh, "lladdr"); got != n {
		t.Errorf("client learned %d neighbours, want %d:\n%s", got, n, neigh)
	}
}

func TestSegment50(t *testing.T) {
	Require(t)
	if testing.Short() {
		t.Skip("-short: 50 namespaces")
	}
	start := time.Now()
	var teardown time.Time
	// Registered first, so it runs after the namespaces' own cleanups.
	t.Cleanup(func() { t.Logf("50 hosts torn down in %v", time.Since(teardown)) })
	seg := NewSegment(t, "seg50")
	hosts := seg.AddHosts(t, "h50", HostCIDRs("198.18.10.11", 24, 50)...)
	t.Logf("50 hosts on a segment in %v", time.Since(start))
	t.Cleanup(func() { teardown = time.Now() })
	if len(hosts) != 50 {
		t.Fatalf("got %d hosts", len(hosts))
	}
	client := New(t, "seg50c")
	seg.Attach(t, client, "rl0")
	client.AddAddr(t, "rl0", "198.18.10.2/24")
	out := client.Exec(t, "ping", "-c", "1", "-W", "5", "198.18.10.60")
	if !strings.Contains(out, "1 received") {
		t.Errorf("ping last host: %s", out)
	}
}

func TestStart(t *testing.T) {
	Require(t)
	ns := New(t, "start")
	t.Run("ready", func(t *testing.T) {
		p := ns.Start(t, func(l string) bool { return l == "ready" }, "sh", "-c", "echo starting >&2; echo ready; exec sleep 600")
		if diff := strings.Join(p.Lines(), "|"); diff != "starting|ready" {
			t.Errorf("lines = %q, want starting|ready", diff)
		}
		pids, err := ns.PIDs()
		if err != nil || !slices.Contains(pids, p.Pid()) {
			t.Errorf("PIDs = %v, %v: want %d (ip netns exec must exec in place)", pids, err, p.Pid())
		}
		if err := p.Stop(); err != nil {
			t.Errorf("Stop of a sleep that dies of SIGTERM = %v, want nil", err)
		}
		if err := p.Stop(); err == nil {
			t.Error("second Stop = nil, want the first exit (signal: terminated)")
		}
		if !p.Exited() {
			t.Error("not exited after Stop")
		}
	})
	t.Run("exits before ready", func(t *testing.T) {
		ft := &fakeTB{TB: t}
		func() {
			defer func() {
				if r := recover(); r != nil && r != errFatal {
					panic(r)
				}
			}()
			ns.Start(ft, func(l string) bool { return l == "ready" }, "sh", "-c", "echo failing; exit 3")
		}()
		ft.runCleanups()
		if !ft.failed || !strings.Contains(ft.msg, "failing") || !strings.Contains(ft.msg, "exit status 3") {
			t.Errorf("failed=%v msg=%q, want a failure with the output and exit status", ft.failed, ft.msg)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		ft := &fakeTB{TB: t}
		func() {
			defer func() {
				if r := recover(); r != nil && r != errFatal {
					panic(r)
				}
			}()
			cmd := ns.Command(context.Background(), "sh", "-c", "echo waiting; exec sleep 600")
			StartCmd(ft, cmd, func(l string) bool { return l == "ready" }, 300*time.Millisecond)
		}()
		if !ft.failed || !strings.Contains(ft.msg, "waiting") {
			t.Errorf("failed=%v msg=%q, want a timeout failure with the output", ft.failed, ft.msg)
		}
		ft.runCleanups()
		pids, err := ns.PIDs()
		if err != nil || len(pids) != 0 {
			t.Errorf("after cleanup PIDs = %v, %v, want none", pids, err)
		}
	})
	t.Run("wait line and exit", func(t *testing.T) {
		p := ns.Start(t, nil, "sh", "-c", "echo one; echo two; printf three")
		if got := p.WaitLine(t, func(l string) bool { return strings.HasPrefix(l, "thr") }, 5*time.Second); got != "three" {
			t.Errorf("WaitLine = %q", got)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Wait(ctx); err != nil {
			t.Errorf("Wait = %v", err)
		}
		if got := p.Output(); got != "one\ntwo\nthree" {
			t.Errorf("Output = %q", got)
		}
	})
}

func TestDo(t *testing.T) {
	Require(t)
	ns := New(t, "do")
	var inside, outside netns.NsHandle
	err := ns.Do(func() error {
		var err error
		inside, err = netns.Get()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer inside.Close()
	outside, err = netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer outside.Close()
	if !inside.Equal(ns.fd) {
		t.Error("Do did not run inside the namespace")
	}
	if inside.Equal(outside) {
		t.Error("the test goroutine is inside the namespace after Do")
	}
	if err := ns.Do(func() error { panic("boom") }); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Do(panic) = %v, want the panic as an error", err)
	}
}

func TestWaitFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	go func() { os.WriteFile(p, []byte("x"), 0o644) }()
	WaitFile(t, p, true, 5*time.Second)
	ft := &fakeTB{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != errFatal {
				panic(r)
			}
		}()
		WaitFile(ft, p+".missing", false, 50*time.Millisecond)
	}()
	if !ft.failed {
		t.Error("WaitFile on a missing file did not fail")
	}
}

func TestSetLoss(t *testing.T) {
	Require(t)
	a, b := New(t, "lossa"), New(t, "lossb")
	Veth(t, a, "eth0", b, "eth0")
	a.AddAddr(t, "eth0", "198.18.8.1/24")
	b.AddAddr(t, "eth0", "198.18.8.2/24")
	a.Exec(t, "ping", "-c", "1", "-W", "5", "198.18.8.2")
	a.SetLoss(t, "eth0", 100)
	out, err := a.Output("ping", "-c", "3", "-i", "0.05", "-w", "1", "198.18.8.2")
	if err == nil || !strings.Contains(out, " 0 received") {
		t.Errorf("ping with 100%% loss: err=%v\n%s", err, out)
	}
	// Half the requests lost: of 400, between 120 and 280 answered (more than
	// 8 standard deviations either side of 200).
	a.SetLoss(t, "eth0", 50)
	out, _ = a.Output("ping", "-q", "-c", "400", "-i", "0.002", "-W", "1", "198.18.8.2")
	var sent, recv int
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "packets transmitted") {
			fmt.Sscanf(l, "%d packets transmitted, %d received", &sent, &recv)
		}
	}
	if sent != 400 || recv < 120 || recv > 280 {
		t.Errorf("50%% loss: %d of %d answered, want 120..280 of 400\n%s", recv, sent, out)
	}
	t.Logf("50%% loss: %d of %d answered", recv, sent)
	a.SetLoss(t, "eth0", 0)
	a.Exec(t, "ping", "-c", "3", "-i", "0.05", "-W", "5", "198.18.8.2")
}

func TestLossProgramLoads(t *testing.T) {
	Require(t)
	for _, pct := range []float64{0, 30, 100} {
		fd, err := loadLossProgram(uint32(pct * 65536 / 100))
		if err != nil {
			t.Fatalf("load for %v%%: %v", pct, err)
		}
		unix.Close(fd)
	}
}

func TestPair(t *testing.T) {
	Require(t)
	a, b := Pair(t, "pair", "198.18.6.1/24", "")
	if out := b.Exec(t, "ip", "-4", "-o", "addr", "show", "dev", "eth0"); strings.TrimSpace(out) != "" {
		t.Errorf("b's eth0 has an address: %s", out)
	}
	b.AddAddr(t, "eth0", "198.18.6.2/24")
	if out := b.Exec(t, "ping", "-c", "1", "-W", "5", "198.18.6.1"); !strings.Contains(out, "1 received") {
		t.Errorf("ping: %s", out)
	}
	if a.HardwareAddr(t, "eth0").String() == b.HardwareAddr(t, "eth0").String() {
		t.Error("both ends have the same MAC")
	}
}

func TestExecBackgroundChild(t *testing.T) {
	Require(t)
	ns := New(t, "execbg")
	// The shell exits at once; its background child keeps stdout open.
	start := time.Now()
	out := ns.Exec(t, "sh", "-c", "echo started; sleep 600 & exit 0")
	if strings.TrimSpace(out) != "started" {
		t.Errorf("Exec output = %q, want started", out)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Exec took %v: it waited for the background child", d)
	}
	if _, err := ns.Output("sh", "-c", "echo bad; exit 4"); err == nil {
		t.Error("Output of a command exiting 4 returned no error")
	}
}

func TestStopStubborn(t *testing.T) {
	Require(t)
	ns := New(t, "stop")
	p := ns.Start(t, func(l string) bool { return l == "trapped" }, "sh", "-c", "trap '' TERM; echo trapped; while :; do sleep 1; done")
	const within = 300 * time.Millisecond
	start := time.Now()
	err := p.StopWithin(within)
	if err == nil || !p.Exited() {
		t.Errorf("Stop of a process ignoring SIGTERM = %v, exited %v; want an error and a dead process", err, p.Exited())
	}
	if d := time.Since(start); d < within {
		t.Errorf("StopWithin returned after %v, before %v", d, within)
	}
	q := ns.Start(t, nil, "sh", "-c", "exit 5")
	<-q.Done()
	if err := q.Stop(); err == nil {
		t.Error("Stop of a process that exited 5 = nil, want its exit status")
	}
}

// TestBPFLoss checks the eBPF fallback directly, so it is tested also on
// kernels that have netem.
func TestBPFLoss(t *testing.T) {
	Require(t)
	a, _ := Pair(t, "bpfl", "198.18.5.1/24", "198.18.5.2/24")
	a.Exec(t, "ping", "-c", "1", "-W", "5", "198.18.5.2")
	if err := a.bpfLoss("eth0", 100); err != nil {
		t.Fatal(err)
	}
	out, err := a.Output("ping", "-c", "3", "-i", "0.05", "-w", "1", "198.18.5.2")
	if err == nil || !strings.Contains(out, " 0 received") {
		t.Errorf("ping with 100%% eBPF loss: err=%v\n%s", err, out)
	}
	if err := a.bpfLoss("eth0", 0); err != nil {
		t.Fatal(err)
	}
	a.Exec(t, "ping", "-c", "3", "-i", "0.05", "-W", "5", "198.18.5.2")
}

// TestSweepStale checks that a namespace whose owner record names a dead
// process is removed, with what runs in it, and that a live owner's is kept.
func TestSweepStale(t *testing.T) {
	Require(t)
	live := New(t, "live")
	name := newName("stale")
	if _, err := namespace.Create(name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if exists(name) {
			namespace.Delete(name)
		}
		unmarkOwned(name)
	})
	if err := os.WriteFile(filepath.Join(ownerDir, name), []byte("2147483647 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stale := &NS{Name: name}
	cmd := exec.Command("ip", "netns", "exec", name, "sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	WaitFor(t, 5*time.Second, "sleep in the stale namespace", func() bool {
		pids, _ := stale.PIDs()
		return len(pids) == 1
	})

	sweep(t)
	if exists(name) {
		t.Errorf("stale namespace %s not removed", name)
	}
	if _, err := os.Stat(filepath.Join(ownerDir, name)); err == nil {
		t.Errorf("owner record of %s not removed", name)
	}
	select {
	case <-done:
	case <-time.After(killTimeout):
		t.Error("process in the stale namespace not killed")
	}
	if !exists(live.Name) {
		t.Errorf("namespace %s of this live process removed", live.Name)
	}
}
