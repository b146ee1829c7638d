package netnstest

import (
	"errors"
	"fmt"
	"testing"
)

var (
	errFatal = errors.New("fakeTB: Fatal")
	errSkip  = errors.New("fakeTB: Skip")
)

// fakeTB records failures and cleanups so that tests can check what the
// harness does when the test using it fails. Fatal panics with errFatal
// (callers recover it) instead of calling runtime.Goexit, and Skip panics
// with errSkip.
type fakeTB struct {
	testing.TB
	failed   bool
	skipped  bool
	msg      string
	cleanups []func()
}

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Cleanup(fn func())              { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Failed() bool                   { return f.failed }
func (f *fakeTB) Errorf(format string, a ...any) { f.failed = true; f.msg += fmt.Sprintf(format, a...) }
func (f *fakeTB) Error(a ...any)                 { f.failed = true; f.msg += fmt.Sprint(a...) }
func (f *fakeTB) Fatalf(format string, a ...any) { f.Errorf(format, a...); panic(errFatal) }
func (f *fakeTB) Fatal(a ...any)                 { f.Error(a...); panic(errFatal) }
func (f *fakeTB) Skip(a ...any)                  { f.skipped = true; f.msg += fmt.Sprint(a...); panic(errSkip) }
func (f *fakeTB) Skipf(format string, a ...any)  { f.Skip(fmt.Sprintf(format, a...)) }
func (f *fakeTB) Logf(format string, a ...any) {
	if f.TB != nil {
		f.TB.Logf(format, a...)
	}
}

// runCleanups runs the registered cleanups last first, as testing does.
func (f *fakeTB) runCleanups() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	f.cleanups = nil
}
