package netnstest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// labNames are the namespaces scripts/lab.sh builds with LAB_HOSTS=3.
var labNames = []string{"rl-client", "rl-sw", "rl-srv", "rl-h1", "rl-h2", "rl-h3"}

// labScript runs scripts/lab.sh with args, LAB_HOSTS=3 and the rawlab
// binary this test process built, returning its combined output.
func labScript(t *testing.T, args ...string) (string, error) {
	t.Helper()
	script, err := filepath.Abs("../../scripts/lab.sh")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ExecTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "LAB_HOSTS=3", "RAWLAB="+Rawlab(t))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestLabScript runs scripts/lab.sh up, checks the lab it builds, and runs
// down twice. It uses the script's fixed names, so it skips if a lab is
// already up (someone is using it).
func TestLabScript(t *testing.T) {
	Require(t)
	for _, n := range labNames {
		if exists(n) {
			t.Skipf("namespace %s exists: a lab is up; not touching it", n)
		}
	}
	out, err := labScript(t, "up")
	if err != nil {
		for _, n := range labNames {
			if exists(n) {
				// Another lab.sh up won the race: its lab is not ours to remove.
				t.Skipf("a lab came up concurrently (%s exists); not touching it:\n%s", n, out)
			}
		}
		t.Fatalf("lab.sh up: %v\n%s", err, out)
	}
	// Registered only once the lab is ours, so we never remove someone else's.
	t.Cleanup(func() {
		if out, err := labScript(t, "down"); err != nil {
			t.Errorf("cleanup: lab.sh down: %v\n%s", err, out)
		}
	})
	for _, want := range []string{"rl-client", "198.18.0.1/24", "198.18.0.13/24"} {
		if !strings.Contains(out, want) {
			t.Errorf("lab.sh up summary lacks %q:\n%s", want, out)
		}
	}
	for _, n := range labNames {
		if !exists(n) {
			t.Errorf("after up, %s does not exist", n)
		}
	}
	if out, err := labScript(t, "up"); err == nil {
		t.Errorf("second up succeeded, want an error:\n%s", out)
	}

	run := func(ns string, args ...string) string {
		t.Helper()
		out, err := labScript(t, append([]string{"exec", ns}, args...)...)
		if err != nil {
			t.Fatalf("lab.sh exec %s %v: %v\n%s", ns, args, err, out)
		}
		return out
	}
	// Hosts reach each other across the bridge, and the server too.
	if out := run("h1", "ping", "-c", "1", "-W", "5", "198.18.0.13"); !strings.Contains(out, "1 received") {
		t.Errorf("h1 -> h3: %s", out)
	}
	if out := run("rl-srv", "ping", "-c", "1", "-W", "5", "198.18.0.12"); !strings.Contains(out, "1 received") {
		t.Errorf("srv -> h2: %s", out)
	}
	// The client's rl0 is up with no IPv4 address, and IPv6 is off.
	if out := run("client", "ip", "-4", "-o", "addr", "show", "dev", "rl0"); strings.TrimSpace(out) != "" {
		t.Errorf("rl0 has an address: %s", out)
	}
	if out := run("client", "ip", "-o", "link", "show", "dev", "rl0"); !strings.Contains(out, "state UP") || !strings.Contains(out, "02:52:4c:00:00:02") {
		t.Errorf("rl0: %s", out)
	}
	for _, ns := range labNames {
		if out := run(ns, "cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6"); strings.TrimSpace(out) != "1" {
			t.Errorf("%s: IPv6 on", ns)
		}
	}
	if out, err := labScript(t, "status"); err != nil || !strings.Contains(out, "rl-h3") {
		t.Errorf("status: %v\n%s", err, out)
	}
	// A process left inside is killed by down.
	p := StartCmd(t, exec.Command("ip", "netns", "exec", "rl-h2", "sleep", "600"), nil, ReadyTimeout)

	for i := range 2 {
		if out, err := labScript(t, "down"); err != nil {
			t.Fatalf("down #%d: %v\n%s", i+1, err, out)
		}
		for _, n := range labNames {
			if exists(n) {
				t.Errorf("after down #%d, %s exists", i+1, n)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	if err := p.Wait(ctx); err == nil || ctx.Err() != nil {
		t.Errorf("sleep in rl-h2 after down: Wait = %v, want killed", err)
	}
	if out, err := labScript(t, "status"); err != nil || !strings.Contains(out, "lab is down") {
		t.Errorf("status after down: %v\n%s", err, out)
	}
}
