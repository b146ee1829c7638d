//go:build !linux

package dhcpclient

import (
	"fmt"
	"runtime"
)

// Apply is implemented on Linux only.
func Apply(l *Lease) error {
	return fmt.Errorf("dhcpclient: apply: not implemented on %s", runtime.GOOS)
}

// Unapply is implemented on Linux only.
func Unapply(l *Lease) error {
	return fmt.Errorf("dhcpclient: unapply: not implemented on %s", runtime.GOOS)
}
