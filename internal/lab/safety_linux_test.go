package lab_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rawlab/rawlab/internal/namespace"
	"github.com/rawlab/rawlab/internal/netnstest"
)

// foreign creates a namespace named like the lab's that the lab did not make.
func foreign(t *testing.T, name string) namespace.ID {
	t.Helper()
	id, err := namespace.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { namespace.Delete(name) })
	return id
}

// TestDownLeavesForeignNamespaces: a namespace named like a lab's but not
// made by its up is neither refused silently nor deleted by down.
func TestDownLeavesForeignNamespaces(t *testing.T) {
	p := newPrivateLab(t)
	// Named like host 9 of this lab, which up --hosts 1 does not build.
	id := foreign(t, p.prefix+"h9")
	if out, code := p.run("up", "--hosts", "1", "--no-dhcp"); code != 0 {
		t.Fatalf("lab up: exit %d: %s", code, out)
	}
	if out, code := p.run("down"); code != 0 {
		t.Fatalf("lab down: exit %d: %s", code, out)
	}
	if got, err := namespace.Lookup(p.prefix + "h9"); err != nil || got != id {
		t.Errorf("foreign namespace after down: %v, %v; want it untouched", got, err)
	}
	if _, err := namespace.Lookup(p.prefix + "client"); err == nil {
		t.Error("lab's own client namespace survived down")
	}

	// A foreign namespace with a name up needs: up refuses, removes nothing.
	id2 := foreign(t, p.prefix+"client")
	if out, code := p.run("up", "--hosts", "1", "--no-dhcp"); code != 2 || !strings.Contains(out, "already up") {
		t.Errorf("up beside a foreign %sclient: exit %d %q; want 2 and already up", p.prefix, code, out)
	}
	if out, code := p.run("down"); code != 0 {
		t.Fatalf("lab down: exit %d: %s", code, out)
	}
	for name, want := range map[string]namespace.ID{p.prefix + "client": id2, p.prefix + "h9": id} {
		if got, err := namespace.Lookup(name); err != nil || got != want {
			t.Errorf("foreign %s: %v, %v; want it untouched", name, got, err)
		}
	}
}

// TestConcurrentUp: two ups at once never tear each other's lab down; one
// builds it, the other refuses, and the lab stays whole.
func TestConcurrentUp(t *testing.T) {
	p := newPrivateLab(t)
	var wg sync.WaitGroup
	codes := make([]int, 2)
	outs := make([]string, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], codes[i] = p.runQuiet("up", "--hosts", "1")
		}()
	}
	wg.Wait()
	ok := 0
	for i, c := range codes {
		switch c {
		case 0:
			ok++
		case 2:
		default:
			t.Errorf("up %d: exit %d: %s", i, c, outs[i])
		}
	}
	if ok != 1 {
		t.Fatalf("%d of 2 concurrent ups succeeded, want exactly 1:\n%s\n---\n%s", ok, outs[0], outs[1])
	}
	st := p.status()
	if !st.Up || !st.Server.Running || len(st.Namespaces) != 4 {
		t.Errorf("after two concurrent ups: up %v, server %+v, %d namespaces; want the whole lab", st.Up, st.Server, len(st.Namespaces))
	}
}

// hostilePath points PATH at a directory of fake programs that record
// their name in the returned marker file when run.
func hostilePath(t *testing.T, p *privateLab) string {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	for _, name := range []string{"ip", "cat", "ethtool", "sysctl", "sh"} {
		script := fmt.Sprintf("#!/bin/sh\necho %s >> %s\nexit 1\n", name, marker)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p.env = []string{"PATH=" + dir}
	return marker
}

// TestNoPathPrograms: up, status and down never run a program found
// through PATH: a PATH holding fake cat and ip that leave a marker.
func TestNoPathPrograms(t *testing.T) {
	p := newPrivateLab(t)
	marker := hostilePath(t, p)
	for _, args := range [][]string{{"up", "--hosts", "1"}, {"status"}, {"down"}} {
		if out, code := p.run(args...); code != 0 {
			t.Errorf("lab %v with a hostile PATH: exit %d:\n%s", args, code, out)
		}
	}
	if b, err := os.ReadFile(marker); err == nil {
		t.Errorf("programs from PATH ran: %q", b)
	}
}

// TestDemoNoPathPrograms: the demo, which runs `rawlab dhcp lease` in the
// lab, runs nothing found through PATH either (the lease's release must
// not hand its sockets to cat: issue 9 item 3, dhcp's part).
func TestDemoNoPathPrograms(t *testing.T) {
	p := newPrivateLab(t)
	marker := hostilePath(t, p)
	if out, code := p.run("demo", "--xid", "0"); code != 0 {
		t.Errorf("lab demo with a hostile PATH: exit %d:\n%s", code, out)
	}
	if b, err := os.ReadFile(marker); err == nil {
		t.Errorf("programs from PATH ran: %q", b)
	}
}

// TestServeRefusesOutsideLab: lab serve refuses the host's namespace and
// any namespace the lab did not record, even with a link of that name.
func TestServeRefusesOutsideLab(t *testing.T) {
	p := newPrivateLab(t)
	for _, args := range [][]string{
		{"serve", "-i", "lo"},
		{"serve", "--outside-lab", "-i", "lo"},
	} {
		out, code := p.run(args...)
		if code != 2 || !strings.Contains(out, "refusing") && !strings.Contains(out, "not the lab's own") {
			t.Errorf("lab %v in the host namespace: exit %d %q; want 2 and a refusal", args, code, out)
		}
	}
}

// TestServerDropsRoot: started through sudo (SUDO_UID set), the lab's DHCP
// server runs as that user with no capability but CAP_NET_ADMIN on one
// thread, and still hands out leases.
func TestServerDropsRoot(t *testing.T) {
	p := newPrivateLab(t)
	p.env = []string{"SUDO_UID=65534", "SUDO_GID=65534"}
	if out, code := p.run("up", "--hosts", "0"); code != 0 {
		t.Fatalf("lab up: exit %d: %s", code, out)
	}
	st := p.status()
	if !st.Server.Running {
		t.Fatalf("server not running: %+v", st.Server)
	}
	status := procStatus(t, fmt.Sprintf("/proc/%d/status", st.Server.PID))
	if got := status["Uid"]; got != "65534\t65534\t65534\t65534" {
		t.Errorf("server Uid %q, want 65534 everywhere", got)
	}
	if got := status["NoNewPrivs"]; got != "1" {
		t.Errorf("server NoNewPrivs %q, want 1 (set on every thread of a cgo-free binary)", got)
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", st.Server.PID))
	held := 0
	for _, task := range tasks {
		switch eff := procStatus(t, task)["CapEff"]; eff {
		case "0000000000001000":
			held++
		case "0000000000000000":
		default:
			t.Errorf("server thread %s CapEff %s", task, eff)
		}
	}
	if held > 1 {
		t.Errorf("%d server threads hold CAP_NET_ADMIN, want at most the keeper", held)
	}
	lease(t, p)
}

func procStatus(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// TestSetcapUserCannotUseLab: a user holding a cap_net_raw+ep copy of
// rawlab cannot build, enter or serve a lab with it: every lab verb that
// needs root refuses (exit 2) and nothing is created.
func TestSetcapUserCannotUseLab(t *testing.T) {
	p := newPrivateLab(t)
	bin := netnstest.CapCopy(t, p.bin, 1<<unix.CAP_NET_RAW)
	for _, args := range [][]string{
		{"up", "--hosts", "0"},
		{"demo"},
		{"exec", "--", "/bin/true"},
		{"serve", "--outside-lab", "-i", "lo"},
	} {
		cmd := exec.Command(bin, append([]string{"lab", "--prefix", p.prefix}, args...)...)
		cmd.Env = append(os.Environ(), "RAWLAB_RUN_DIR="+p.runDir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("setcap'd rawlab lab %v as uid 65534: %v, want exit 2:\n%s", args, err, out)
		}
	}
	if _, err := namespace.Lookup(p.prefix + "client"); err == nil {
		t.Errorf("%sclient exists after the refusals", p.prefix)
	}
}
