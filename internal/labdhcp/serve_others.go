//go:build !linux

package labdhcp

import (
	"context"
	"fmt"
	"os"
	"runtime"
)

func (s *Server) serve(context.Context, string, func() error) error {
	return fmt.Errorf("labdhcp: not implemented on %s", runtime.GOOS)
}

func readNoFollow(path string) ([]byte, error) { return os.ReadFile(path) }
