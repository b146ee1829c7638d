//go:build !linux

package namespace

import (
	"fmt"
	"runtime"
	"time"
)

// Network namespaces are Linux's; elsewhere every call fails.

func errNotLinux() error { return fmt.Errorf("namespace: not implemented on %s", runtime.GOOS) }

func create(string) (ID, error)           { return ID{}, errNotLinux() }
func remove(string) error                 { return errNotLinux() }
func lookup(string) (ID, error)           { return ID{}, errNotLinux() }
func self() (ID, error)                   { return ID{}, errNotLinux() }
func do(string, func() error) error       { return errNotLinux() }
func pids(string) ([]int, error)          { return nil, errNotLinux() }
func kill(string, time.Duration) error    { return errNotLinux() }
func terminate(int, time.Duration) error  { return errNotLinux() }
func writeSysctl(key, value string) error { return errNotLinux() }
func named() (string, error)              { return "", errNotLinux() }
func probe() error                        { return errNotLinux() }
