//go:build !linux

package netnstest

import (
	"fmt"
	"runtime"
)

func probe() error {
	return fmt.Errorf("netnstest: not implemented on %s", runtime.GOOS)
}
