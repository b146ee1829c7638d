package namespace_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/rawlab/rawlab/internal/namespace"
	"github.com/rawlab/rawlab/internal/netnstest"
)

func TestLifecycle(t *testing.T) {
	netnstest.RequireRoot(t)
	name := fmt.Sprintf("nst-%d", os.Getpid())
	id, err := namespace.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { namespace.Kill(name, time.Second); namespace.Delete(name) })
	if _, err := namespace.Create(name); !errors.Is(err, namespace.ErrExists) {
		t.Errorf("second Create = %v, want namespace.ErrExists", err)
	}
	if got, err := namespace.Lookup(name); err != nil || got != id {
		t.Errorf("Lookup = %v, %v; want %v", got, err, id)
	}
	host, err := namespace.Self()
	if err != nil {
		t.Fatal(err)
	}
	if host == id {
		t.Fatal("the new namespace is the caller's")
	}
	err = namespace.Do(name, func() error {
		in, err := namespace.Self()
		if err != nil {
			return err
		}
		if in != id {
			return fmt.Errorf("inside Do: namespace %v, want %v", in, id)
		}
		got, err := namespace.Named()
		if err != nil || got != name {
			return fmt.Errorf("namespace.Named() inside = %q, %v; want %q", got, err, name)
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
	if back, _ := namespace.Self(); back != host {
		t.Errorf("after Do the caller is in %v, want %v", back, host)
	}

	// A process started in the namespace is listed and killed.
	cmd := exec.Command("/bin/sleep", "60")
	if err := namespace.Start(name, cmd); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	pids, err := namespace.PIDs(name)
	if err != nil || !slices.Contains(pids, cmd.Process.Pid) {
		t.Errorf("PIDs = %v, %v; want %d among them", pids, err, cmd.Process.Pid)
	}
	if err := namespace.Kill(name, 2*time.Second); err != nil {
		t.Error(err)
	}
	if err := <-done; err == nil {
		t.Error("sleep exited cleanly, want killed")
	}
	if err := namespace.Delete(name); err != nil {
		t.Fatal(err)
	}
	if _, err := namespace.Lookup(name); err == nil {
		t.Error("Lookup after Delete succeeded")
	}
}

func TestBadNames(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b", "a\x00b"} {
		if _, err := namespace.Create(name); err == nil {
			namespace.Delete(name)
			t.Errorf("namespace.Create(%q) succeeded", name)
		}
	}
}
