package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// inNS runs fn on a locked OS thread that has entered the named namespace,
// and returns its error. If the thread cannot return to the original
// namespace it is never unlocked, so the runtime discards it.
func inNS(name string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("lab: current namespace: %w", err)
			return
		}
		defer orig.Close()
		target, err := netns.GetFromName(name)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("lab: open namespace %s: %w", name, err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("lab: enter namespace %s: %w", name, err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- fmt.Errorf("lab: leave namespace %s: %w", name, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// noIPv6 turns IPv6 off in the namespace (all and default): /proc/sys/net
// shows the writing thread's namespace.
func noIPv6(name string) error {
	return inNS(name, func() error {
		for _, k := range []string{"all", "default"} {
			p := "/proc/sys/net/ipv6/conf/" + k + "/disable_ipv6"
			if err := os.WriteFile(p, []byte("1"), 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("lab: %s: turn IPv6 off: %w", name, err)
			}
		}
		return nil
	})
}

// ethtoolSTXCSUM is ETHTOOL_STXCSUM (linux/ethtool.h): set TX checksumming.
const ethtoolSTXCSUM = 0x00000017

// noTxChecksum turns transmit checksum offload off on ifname in the
// namespace, as `ethtool -K IF tx off` does (SIOCETHTOOL, ETHTOOL_STXCSUM).
// A veth hands its peer UDP packets whose checksum the kernel never filled
// in; the peer's raw sockets, and so rawlab's captures, would show them as
// "bad udp cksum", which no real wire carries.
func noTxChecksum(name, ifname string) error {
	return inNS(name, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("lab: %s: socket: %w", name, err)
		}
		defer unix.Close(fd)
		val := struct{ cmd, data uint32 }{ethtoolSTXCSUM, 0} // struct ethtool_value
		var ifr struct {
			name [unix.IFNAMSIZ]byte
			data uintptr
			_    [16]byte
		}
		copy(ifr.name[:], ifname)
		ifr.data = uintptr(unsafe.Pointer(&val))
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
		runtime.KeepAlive(&val)
		if errno != 0 {
			return fmt.Errorf("lab: %s: %s: turn TX checksum offload off: %w", name, ifname, errno)
		}
		return nil
	})
}

// nsPIDs lists the processes whose network namespace is the named one,
// as `ip netns pids` does, leaving out this process.
func nsPIDs(name string) ([]int, error) {
	var want unix.Stat_t
	if err := unix.Stat(filepath.Join("/run/netns", name), &want); err != nil {
		return nil, fmt.Errorf("lab: namespace %s: %w", name, err)
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		var st unix.Stat_t
		if unix.Stat(filepath.Join("/proc", e.Name(), "ns", "net"), &st) != nil {
			continue // gone, or a kernel thread we cannot look at
		}
		if st.Dev == want.Dev && st.Ino == want.Ino {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// killNS ends every process inside the namespace: SIGTERM, then SIGKILL for
// those still there after a grace period.
func killNS(name string) error {
	pids, err := nsPIDs(name)
	if err != nil {
		return err
	}
	var errs []error
	for _, pid := range pids {
		if err := terminate(pid, 2*time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// terminate sends SIGTERM to pid and waits (on a pidfd, no polling loop)
// for it to exit; after grace it sends SIGKILL and waits again.
func terminate(pid int, grace time.Duration) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lab: pidfd %d: %w", pid, err)
	}
	defer unix.Close(fd)
	for _, sig := range []syscall.Signal{unix.SIGTERM, unix.SIGKILL} {
		if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
			if errors.Is(err, unix.ESRCH) {
				return nil
			}
			return fmt.Errorf("lab: signal %d: %w", pid, err)
		}
		exited, err := waitPidfd(fd, grace)
		if err != nil {
			return fmt.Errorf("lab: wait for %d: %w", pid, err)
		}
		if exited {
			return nil
		}
	}
	return fmt.Errorf("lab: process %d did not exit after SIGKILL", pid)
}

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

// cmdline returns the NUL-separated arguments of pid, or "" if it is gone.
func cmdline(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return ""
	}
	return strings.TrimRight(string(b), "\x00")
}
