//go:build !linux

package dhcpclient

import (
	"fmt"
	"runtime"
)

// Apply is implemented on Linux only.
func Apply(l *Lease, o ApplyOptions) (*Applied, error) {
	if err := checkApply(l); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("dhcpclient: apply: not implemented on %s", runtime.GOOS)
}

// Unapply is implemented on Linux only.
func Unapply(l *Lease) error {
	if l == nil || l.Applied == nil {
		return nil
	}
	return fmt.Errorf("dhcpclient: unapply: not implemented on %s", runtime.GOOS)
}
