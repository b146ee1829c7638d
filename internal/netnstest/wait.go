package netnstest

import (
	"errors"
	"os"
	"testing"
	"time"
)

// pollInterval is how often WaitFor checks its condition.
const pollInterval = 10 * time.Millisecond

// WaitFor polls cond every 10ms until it returns true, and fails the test,
// naming what, if that has not happened within timeout. It is for waiting on an
// event that has no notification (a file appears, an address is assigned), not
// a fixed sleep: it returns as soon as the condition holds.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(timeout, cond) {
		t.Fatalf("netnstest: timed out after %v waiting for %s", timeout, what)
	}
}

// Poll checks cond at once and then every 10ms until it returns true (Poll
// returns true) or timeout passes (Poll returns false). Unlike WaitFor it can be
// called from any goroutine.
func Poll(timeout time.Duration, cond func() bool) bool {
	if cond() {
		return true
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if cond() {
				return true
			}
		case <-deadline.C:
			return cond()
		}
	}
}

// WaitFile waits until path exists (and, if nonEmpty, has a size above zero),
// failing the test after timeout.
func WaitFile(t testing.TB, path string, nonEmpty bool, timeout time.Duration) {
	t.Helper()
	var last error
	ok := Poll(timeout, func() bool {
		fi, err := os.Stat(path)
		if err != nil {
			last = err
			return false
		}
		if nonEmpty && fi.Size() == 0 {
			last = errors.New("file is empty")
			return false
		}
		return true
	})
	if !ok {
		t.Fatalf("netnstest: timed out after %v waiting for %s: %v", timeout, path, last)
	}
}
