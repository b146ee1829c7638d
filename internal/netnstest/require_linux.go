package netnstest

import (
	"fmt"
	"os/exec"
	"sync"

	"github.com/rawlab/rawlab/internal/namespace"
)

var (
	probeOnce sync.Once
	probeErr  error
)

// probe checks, once per process, that iproute2 is installed (NS.Command
// runs peers through `ip netns exec`) and that this process can create a
// network namespace (namespace.Probe).
func probe() error {
	probeOnce.Do(func() {
		if _, err := exec.LookPath("ip"); err != nil {
			probeErr = fmt.Errorf("iproute2 missing: %w", err)
			return
		}
		probeErr = namespace.Probe()
	})
	return probeErr
}
