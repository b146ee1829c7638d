//go:build !linux

package labdhcp

import (
	"context"
	"fmt"
	"runtime"
)

// Serve answers DHCP on an interface; it exists on Linux only.
func (s *Server) Serve(ctx context.Context, ifname string, ready func()) error {
	return fmt.Errorf("labdhcp: not implemented on %s", runtime.GOOS)
}
