//go:build !linux

package lab

import (
	"fmt"
	"runtime"
	"time"
)

// The lab is made of Linux network namespaces; elsewhere every step fails.

func errNotLinux() error { return fmt.Errorf("lab: not implemented on %s", runtime.GOOS) }

func noIPv6(name string) error                     { return errNotLinux() }
func noTxChecksum(name, ifname string) error       { return errNotLinux() }
func killNS(name string) error                     { return errNotLinux() }
func terminate(pid int, grace time.Duration) error { return errNotLinux() }
func cmdline(pid int) string                       { return "" }
