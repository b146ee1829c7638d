//go:build !linux

package lab

import (
	"fmt"
	"runtime"
	"syscall"
)

// The lab is made of Linux network namespaces; elsewhere every step fails.

func errNotLinux() error { return fmt.Errorf("lab: not implemented on %s", runtime.GOOS) }

func build(string, []end) error                       { return errNotLinux() }
func (l *Lab) lock() (func(), error)                  { return nil, errNotLinux() }
func links(string) ([]Link, error)                    { return nil, errNotLinux() }
func detached() *syscall.SysProcAttr                  { return nil }
func execIn(string, string, []string, []string) error { return errNotLinux() }
func lookPath(string) (string, error)                 { return "", errNotLinux() }
func serverInterface(string) error                    { return errNotLinux() }
