package netnstest

import (
	"os"
	"strconv"
	"testing"
)

// RequireEnv is the environment variable that turns Require's skip into a
// failure. CI sets it to "1" so that no integration test is silently skipped.
const RequireEnv = "RAWLAB_REQUIRE_NETNS"

// requireHint is appended to every skip or failure that Require reports.
const requireHint = "needs root and network namespaces; run as root, or set " + RequireEnv + "=1 in CI"

// Require skips the test unless the process runs as root and can create a
// network namespace. When RAWLAB_REQUIRE_NETNS=1 it fails the test instead of
// skipping it.
func Require(t testing.TB) {
	t.Helper()
	msg, ok := requirement(os.Geteuid(), os.Getenv(RequireEnv), probe)
	switch {
	case ok:
		return
	case os.Getenv(RequireEnv) == "1":
		t.Fatal(msg)
	default:
		t.Skip(msg)
	}
}

// requirement decides whether namespace tests can run. probe is called only
// for root and reports why namespaces do not work, or nil. It returns the
// message for the skip or failure, and whether the tests can run.
func requirement(euid int, env string, probe func() error) (msg string, ok bool) {
	if euid != 0 {
		msg = "netnstest: not root (euid " + strconv.Itoa(euid) + "); " + requireHint
		if env == "1" {
			msg = "netnstest: " + RequireEnv + "=1 but not root (euid " + strconv.Itoa(euid) + "); " + requireHint
		}
		return msg, false
	}
	if err := probe(); err != nil {
		return "netnstest: network namespaces do not work: " + err.Error() + "; " + requireHint, false
	}
	return "", true
}

// RequireRoot skips the test unless the process runs as root (for tests
// that need root but no namespace: chown, setuid, file capabilities). When
// RAWLAB_REQUIRE_NETNS=1 it fails the test instead of skipping it.
func RequireRoot(t testing.TB) {
	t.Helper()
	switch {
	case os.Geteuid() == 0:
	case os.Getenv(RequireEnv) == "1":
		t.Fatalf("netnstest: %s=1 but not root (euid %d)", RequireEnv, os.Geteuid())
	default:
		t.Skipf("netnstest: needs root (euid %d)", os.Geteuid())
	}
}
