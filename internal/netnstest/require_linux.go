package netnstest

import (
	"fmt"
	"os/exec"
	"runtime"
	"sync"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

var (
	probeOnce sync.Once
	probeErr  error
)

// probe checks, once per process, that iproute2 is installed and that this
// process can create a network namespace: it unshares one on a locked thread
// and goes back. If it cannot go back, the thread is never unlocked, so the Go
// runtime discards it.
func probe() error {
	probeOnce.Do(func() {
		if _, err := exec.LookPath("ip"); err != nil {
			probeErr = fmt.Errorf("iproute2 missing: %w", err)
			return
		}
		errc := make(chan error, 1)
		go func() {
			runtime.LockOSThread()
			orig, err := netns.Get()
			if err != nil {
				runtime.UnlockOSThread()
				errc <- fmt.Errorf("open current namespace: %w", err)
				return
			}
			defer orig.Close()
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				runtime.UnlockOSThread()
				errc <- fmt.Errorf("unshare: %w", err)
				return
			}
			if err := netns.Set(orig); err != nil {
				// Stay locked: the thread dies with this goroutine.
				errc <- fmt.Errorf("restore namespace: %w", err)
				return
			}
			runtime.UnlockOSThread()
			errc <- nil
		}()
		probeErr = <-errc
	})
	return probeErr
}
