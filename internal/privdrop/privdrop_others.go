//go:build !linux

package privdrop

import (
	"fmt"
	"os"
	"runtime"
)

// drop gives nothing up where rawlab cannot open packet sockets anyway; it
// refuses to pretend when running as root.
func drop(Config) error {
	if os.Geteuid() == 0 {
		return fmt.Errorf("privdrop: not implemented on %s", runtime.GOOS)
	}
	return nil
}

func withNetAdmin(fn func() error) error { return fn() }

func fileCapsOnly() bool { return false }

func confine([]string) error { return nil }
