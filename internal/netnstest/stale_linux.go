package netnstest

import (
	"bytes"
	"fmt"
	"github.com/rawlab/rawlab/internal/namespace"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// ownerDir holds one file per namespace the harness creates, recording the
// creating process (PID and start time), so that a later test process can
// remove namespaces left behind by one that died without running its cleanups
// (a `go test -timeout` panic, SIGKILL).
const ownerDir = "/run/netnstest"

var sweepOnce sync.Once

// self returns this process's owner record.
func self() string {
	start, err := startTime(os.Getpid())
	if err != nil {
		start = "?"
	}
	return strconv.Itoa(os.Getpid()) + " " + start
}

// startTime returns field 22 of /proc/PID/stat, the process's start time in
// clock ticks since boot (proc(5)), which tells a PID's reuse apart.
func startTime(pid int) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", err
	}
	i := bytes.LastIndexByte(b, ')') // the command name may hold spaces
	if i < 0 {
		return "", fmt.Errorf("netnstest: malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); the start time is field 22.
	if len(f) < 20 {
		return "", fmt.Errorf("netnstest: short /proc/%d/stat", pid)
	}
	return f[19], nil
}

// markOwned records that this process owns the namespace name. The record
// is written under a dot name and renamed, so a reader never sees it half
// written.
func markOwned(name string) error {
	if err := os.MkdirAll(ownerDir, 0o755); err != nil {
		return fmt.Errorf("netnstest: %w", err)
	}
	tmp := filepath.Join(ownerDir, "."+name)
	if err := os.WriteFile(tmp, []byte(self()+"\n"), 0o644); err != nil {
		return fmt.Errorf("netnstest: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(ownerDir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("netnstest: %w", err)
	}
	return nil
}

// unmarkOwned forgets the namespace name.
func unmarkOwned(name string) {
	os.Remove(filepath.Join(ownerDir, name))
}

// owner parses an owner record ("PID START") and reports whether that
// process still runs; ok is false for a record it cannot parse.
func owner(rec string) (pid int, alive, ok bool) {
	pidStr, start, found := strings.Cut(strings.TrimSpace(rec), " ")
	pid, err := strconv.Atoi(pidStr)
	if !found || err != nil || pid <= 0 || start == "" {
		return 0, false, false
	}
	now, err := startTime(pid)
	return pid, err == nil && (start == "?" || now == start), true
}

// sweepStale removes, once per process, the namespaces whose owner process
// has died, killing what still runs in them.
func sweepStale(t testing.TB) {
	sweepOnce.Do(func() { sweep(t) })
}

// sweep removes the namespaces whose owner process has died. Records it
// cannot read or parse are left alone.
func sweep(t testing.TB) {
	entries, err := os.ReadDir(ownerDir)
	if err != nil {
		return // nothing recorded yet
	}
	var stale []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue // a record being written
		}
		rec, err := os.ReadFile(filepath.Join(ownerDir, name))
		if err != nil {
			continue
		}
		pid, alive, ok := owner(string(rec))
		if !ok || alive {
			continue
		}
		if exists(name) {
			ns := &NS{Name: name}
			if err := ns.killAll(); err != nil {
				t.Logf("netnstest: stale namespace %s: %v", name, err)
				continue
			}
			if err := namespace.Delete(name); err != nil {
				t.Logf("netnstest: removing stale namespace %s: %v", name, err)
			}
			t.Logf("netnstest: removing namespace %s left by dead test process %d", name, pid)
		}
		stale = append(stale, name)
	}
	for _, name := range stale {
		if !exists(name) {
			unmarkOwned(name)
		}
	}
}
