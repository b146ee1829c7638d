package netnstest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// helperEnv makes TestMain run requireHelper instead of the tests; it is
// set only when TestRequireUnprivileged re-runs this test binary as nobody.
const helperEnv = "RAWLAB_NETNSTEST_REQUIRE_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(requireHelper())
	}
	os.Exit(m.Run())
}

// requireHelper calls Require with a recording testing.TB and prints what
// it did: "SKIP: msg", "FATAL: msg" or "PASSED".
func requireHelper() int {
	ft := &fakeTB{}
	func() {
		defer func() {
			if r := recover(); r != nil && r != errFatal && r != errSkip {
				panic(r)
			}
		}()
		Require(ft)
		fmt.Println("PASSED")
	}()
	switch {
	case ft.skipped:
		fmt.Println("SKIP: " + ft.msg)
	case ft.failed:
		fmt.Println("FATAL: " + ft.msg)
	}
	return 0
}

// TestRequireUnprivileged runs this test binary as nobody (uid 65534) and
// checks that Require skips with its reason, or fails when
// RAWLAB_REQUIRE_NETNS=1.
func TestRequireUnprivileged(t *testing.T) {
	Require(t) // we need root to switch to nobody
	bin := CapCopy(t, os.Args[0], 0)
	dir := filepath.Dir(bin)
	tests := []struct {
		name string
		env  string
		want string
	}{
		{"skips", "", "SKIP: netnstest: not root (euid 65534); " + requireHint},
		{"fails when required", "1", "FATAL: netnstest: " + RequireEnv + "=1 but not root (euid 65534); " + requireHint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), ExecTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "-test.run", "^$")
			cmd.Dir = dir
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), helperEnv + "=1", RequireEnv + "=" + tt.env}
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("helper as nobody: %v\n%s", err, out)
			}
			if diff := cmp.Diff(tt.want, strings.TrimSpace(string(out))); diff != "" {
				t.Errorf("Require as nobody (-want +got):\n%s", diff)
			}
		})
	}
}
