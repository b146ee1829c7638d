package namespace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// onThread runs fn on a locked thread, in whatever namespace fn moves it
// to, and restores the thread's original namespace after. A thread that
// cannot be restored stays locked and dies with the goroutine.
func onThread(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("namespace: current namespace: %w", err)
			return
		}
		defer orig.Close()
		ferr := call(fn)
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("namespace: restore: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// call runs fn and turns a panic into an error.
func call(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("namespace: panic: %v", r)
		}
	}()
	return fn()
}

func do(name string, fn func() error) error {
	target, err := netns.GetFromPath(filepath.Join(Dir, name))
	if err != nil {
		return fmt.Errorf("namespace: open %s: %w", name, err)
	}
	defer target.Close()
	return onThread(func() error {
		if err := netns.Set(target); err != nil {
			return fmt.Errorf("namespace: enter %s: %w", name, err)
		}
		return fn()
	})
}

func validName(name string) error {
	if name == "" || len(name) > 255 || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return fmt.Errorf("namespace: bad name %q", name)
	}
	return nil
}

func create(name string) (ID, error) {
	if err := validName(name); err != nil {
		return ID{}, err
	}
	if err := os.MkdirAll(Dir, 0o755); err != nil {
		return ID{}, fmt.Errorf("namespace: %w", err)
	}
	path := filepath.Join(Dir, name)
	// The mount point, created exclusively: an existing name is someone
	// else's (ip netns add fails the same way).
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o444)
	if errors.Is(err, fs.ErrExist) {
		return ID{}, fmt.Errorf("%w: %s", ErrExists, name)
	}
	if err != nil {
		return ID{}, fmt.Errorf("namespace: %w", err)
	}
	f.Close()
	err = onThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("namespace: unshare: %w", err)
		}
		if err := unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("namespace: bind %s: %w", path, err)
		}
		return setup()
	})
	if err != nil {
		unix.Unmount(path, unix.MNT_DETACH)
		os.Remove(path)
		return ID{}, err
	}
	return lookup(name)
}

// setup turns IPv6 off (no router solicitation or MLD report in a capture)
// and brings lo up, in the calling thread's new namespace.
func setup() error {
	for _, k := range []string{"net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"} {
		if err := writeSysctl(k, "1"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	h, err := netlink.NewHandle()
	if err != nil {
		return fmt.Errorf("namespace: netlink: %w", err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("namespace: lo: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("namespace: lo up: %w", err)
	}
	return nil
}

func remove(name string) error {
	if err := validName(name); err != nil {
		return err
	}
	path := filepath.Join(Dir, name)
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("namespace: unmount %s: %w", name, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("namespace: %w", err)
	}
	return nil
}

func statID(path string) (ID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return ID{}, err
	}
	return ID{Dev: st.Dev, Ino: st.Ino}, nil
}

func lookup(name string) (ID, error) {
	if err := validName(name); err != nil {
		return ID{}, err
	}
	id, err := statID(filepath.Join(Dir, name))
	if err != nil {
		return ID{}, fmt.Errorf("namespace: %s: %w", name, err)
	}
	// An unmounted leftover file is not a namespace.
	var sfs unix.Statfs_t
	if err := unix.Statfs(filepath.Join(Dir, name), &sfs); err == nil && sfs.Type != unix.NSFS_MAGIC {
		return ID{}, fmt.Errorf("namespace: %s: not a namespace", name)
	}
	return id, nil
}

func self() (ID, error) {
	id, err := statID("/proc/thread-self/ns/net")
	if err != nil {
		return ID{}, fmt.Errorf("namespace: %w", err)
	}
	return id, nil
}

// writeSysctl writes the calling thread's namespace's sysctl.
func writeSysctl(key, value string) error {
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("namespace: sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

func pids(name string) ([]int, error) {
	want, err := lookup(name)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("namespace: %w", err)
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		id, err := statID(filepath.Join("/proc", e.Name(), "ns", "net"))
		if err != nil {
			continue // gone, or a kernel thread
		}
		if id == want {
			out = append(out, pid)
		}
	}
	return out, nil
}

func kill(name string, grace time.Duration) error {
	// A process may fork while its siblings are being stopped: list again
	// until the namespace is empty, a bounded number of times.
	for range 10 {
		ps, err := pids(name)
		if err != nil || len(ps) == 0 {
			return err
		}
		var errs []error
		for _, pid := range ps {
			if err := terminate(pid, grace); err != nil {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	return fmt.Errorf("namespace: %s: processes keep appearing", name)
}

// terminate signals through a pidfd (pidfd_open(2)), so a reused pid is
// never signalled, and waits by polling the pidfd.
func terminate(pid int, grace time.Duration) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("namespace: pidfd %d: %w", pid, err)
	}
	defer unix.Close(fd)
	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{unix.SIGTERM, grace}, {unix.SIGKILL, killWait}}
	if grace <= 0 {
		steps = steps[1:]
	}
	for _, st := range steps {
		if err := unix.PidfdSendSignal(fd, st.sig, nil, 0); err != nil {
			if errors.Is(err, unix.ESRCH) {
				return nil
			}
			return fmt.Errorf("namespace: signal %d: %w", pid, err)
		}
		exited, err := waitPidfd(fd, st.wait)
		if err != nil {
			return fmt.Errorf("namespace: wait for %d: %w", pid, err)
		}
		if exited {
			return nil
		}
	}
	return fmt.Errorf("namespace: process %d did not exit %v after SIGKILL", pid, killWait)
}

// killWait bounds the wait for a process to die of SIGKILL.
const killWait = 5 * time.Second

// waitPidfd waits until the process behind fd exits or d passes.
func waitPidfd(fd int, d time.Duration) (bool, error) {
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left < 0 {
			return false, nil
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return false, err
		}
		return n > 0, nil
	}
}

func named() (string, error) {
	me, err := self()
	if err != nil {
		return "", err
	}
	ents, err := os.ReadDir(Dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("namespace: %w", err)
	}
	for _, e := range ents {
		if id, err := lookup(e.Name()); err == nil && id == me {
			return e.Name(), nil
		}
	}
	return "", errors.New("namespace: the calling thread's namespace has no name")
}

func probe() error {
	return onThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("namespace: unshare: %w", err)
		}
		return nil
	})
}
