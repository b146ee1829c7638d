package netnstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestRawlab(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds cmd/rawlab")
	}
	path := Rawlab(t)
	if again := Rawlab(t); again != path {
		t.Errorf("second Rawlab = %s, want the same binary %s", again, path)
	}
	if !strings.HasPrefix(filepath.Base(filepath.Dir(path)), rawlabDirPrefix+strconv.Itoa(os.Getpid())+"-") {
		t.Errorf("binary %s not in this process's build directory", path)
	}
	out, err := exec.Command(path, "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "rawlab") {
		t.Errorf("%s --help: %v\n%s", path, err, out)
	}
}

func TestRemoveStaleBuilds(t *testing.T) {
	// A directory named after a PID that cannot exist (above pid_max) is
	// stale; one named after this process is not.
	stale, err := os.MkdirTemp("", rawlabDirPrefix+"2147483647-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(stale) })
	live, err := os.MkdirTemp("", rawlabDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(live) })
	removeStaleBuilds()
	if _, err := os.Stat(stale); err == nil {
		t.Errorf("stale %s not removed", stale)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("live %s removed: %v", live, err)
	}
}
