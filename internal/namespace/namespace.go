package namespace

import (
	"errors"
	"os/exec"
	"time"
)

// Dir is where named network namespaces are bound, as ip-netns(8) keeps them.
const Dir = "/run/netns"

// ID identifies a namespace (the device and inode of its nsfs file), so
// that a name reused by someone else is told apart from the one recorded.
type ID struct {
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
}

// ErrExists reports a namespace name that is already taken.
var ErrExists = errors.New("namespace: exists")

// Create creates the named network namespace (ip netns add NAME), turns
// IPv6 off in it and brings lo up, and returns its ID.
func Create(name string) (ID, error) { return create(name) }

// Delete removes the named namespace (ip netns delete NAME). Processes
// still inside keep the namespace itself alive; Kill them first.
func Delete(name string) error { return remove(name) }

// Lookup returns the ID of the named namespace.
func Lookup(name string) (ID, error) { return lookup(name) }

// Self returns the ID of the calling thread's namespace.
func Self() (ID, error) { return self() }

// Do runs fn on a thread that has entered the named namespace.
func Do(name string, fn func() error) error { return do(name, fn) }

// Start starts cmd with the named namespace as its network namespace: it is
// forked from a thread inside the namespace. Nothing else of ip netns exec
// is done (no mount namespace, /sys stays the caller's).
func Start(name string, cmd *exec.Cmd) error {
	return do(name, cmd.Start)
}

// PIDs lists the processes whose network namespace is the named one, as
// ip netns pids does, leaving out the calling process.
func PIDs(name string) ([]int, error) { return pids(name) }

// Kill ends every process in the named namespace: SIGTERM, then SIGKILL to
// those still there after grace (at once when grace is not positive), and
// again for processes forked meanwhile.
func Kill(name string, grace time.Duration) error { return kill(name, grace) }

// Terminate sends SIGTERM to pid and waits for it to exit; after grace it
// sends SIGKILL and waits again (SIGKILL at once when grace is not
// positive). A pid already gone is not an error.
func Terminate(pid int, grace time.Duration) error { return terminate(pid, grace) }

// Sysctl writes value to the sysctl key (dotted, as sysctl(8) takes it) of
// the named namespace.
func Sysctl(name, key, value string) error {
	return do(name, func() error { return writeSysctl(key, value) })
}

// Named returns the name under Dir of the calling thread's namespace, or
// an error if it has none (the host's namespace normally has none).
func Named() (string, error) { return named() }

// Probe reports whether this process can create network namespaces: it
// unshares one on a locked thread and goes back.
func Probe() error { return probe() }
