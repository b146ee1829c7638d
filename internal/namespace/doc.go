// Package namespace creates, enters and removes named network namespaces
// and stops the processes inside them, without running ip(8): it does what
// ip-netns(8) does, with unshare(2), a bind mount under /run/netns and
// setns(2) (through github.com/vishvananda/netns). It is the one
// implementation shared by the lab (internal/lab) and the test harness
// (internal/netnstest).
//
// Namespace work runs on a goroutine locked to its OS thread; if the thread
// cannot return to its namespace it is never unlocked, so the Go runtime
// discards it.
package namespace
