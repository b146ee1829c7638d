package namespace

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("RAWLAB_REQUIRE_NETNS") == "1" {
		t.Fatal("namespace: RAWLAB_REQUIRE_NETNS=1 but not root")
	}
	t.Skip("namespace: needs root to create network namespaces")
}

func TestLifecycle(t *testing.T) {
	requireRoot(t)
	name := fmt.Sprintf("nst-%d", os.Getpid())
	id, err := Create(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Kill(name, time.Second); Delete(name) })
	if _, err := Create(name); !errors.Is(err, ErrExists) {
		t.Errorf("second Create = %v, want ErrExists", err)
	}
	if got, err := Lookup(name); err != nil || got != id {
		t.Errorf("Lookup = %v, %v; want %v", got, err, id)
	}
	host, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	if host == id {
		t.Fatal("the new namespace is the caller's")
	}
	err = Do(name, func() error {
		in, err := Self()
		if err != nil {
			return err
		}
		if in != id {
			return fmt.Errorf("inside Do: namespace %v, want %v", in, id)
		}
		got, err := Named()
		if err != nil || got != name {
			return fmt.Errorf("Named() inside = %q, %v; want %q", got, err, name)
		}
		b, err := os.ReadFile("/proc/sys/net/ipv6/conf/all/disable_ipv6")
		if err == nil && string(b) != "1\n" {
			return fmt.Errorf("IPv6 not off: %q", b)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if back, _ := Self(); back != host {
		t.Errorf("after Do the caller is in %v, want %v", back, host)
	}

	// A process started in the namespace is listed and killed.
	cmd := exec.Command("/bin/sleep", "60")
	if err := Start(name, cmd); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	pids, err := PIDs(name)
	if err != nil || !slices.Contains(pids, cmd.Process.Pid) {
		t.Errorf("PIDs = %v, %v; want %d among them", pids, err, cmd.Process.Pid)
	}
	if err := Kill(name, 2*time.Second); err != nil {
		t.Error(err)
	}
	if err := <-done; err == nil {
		t.Error("sleep exited cleanly, want killed")
	}
	if err := Delete(name); err != nil {
		t.Fatal(err)
	}
	if _, err := Lookup(name); err == nil {
		t.Error("Lookup after Delete succeeded")
	}
}

func TestBadNames(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b", "a\x00b"} {
		if _, err := Create(name); err == nil {
			Delete(name)
			t.Errorf("Create(%q) succeeded", name)
		}
	}
}
