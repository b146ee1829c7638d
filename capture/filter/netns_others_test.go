//go:build !linux

package filter

import (
	"context"
	"os/exec"
	"testing"
)

// dummyNamespace is Linux-only: elsewhere the kernel flavour of libpcap's
// programs comes from the golden file.
func dummyNamespace(t *testing.T) func(ctx context.Context, name string, args ...string) *exec.Cmd {
	return nil
}
