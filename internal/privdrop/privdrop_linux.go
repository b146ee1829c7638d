package privdrop

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// capNetAdmin is CAP_NET_ADMIN's bit in the first capability word
// (linux/capability.h: CAP_NET_ADMIN is 12).
const capNetAdmin = 1 << unix.CAP_NET_ADMIN

// keeper is the OS thread that keeps CAP_NET_ADMIN after a Drop with
// KeepNetAdmin. Credentials are per process (uids) and per thread
// (capabilities), so this state is global by nature.
var keeper struct {
	sync.Mutex
	dropped bool
	ch      chan func()
}

func drop(cfg Config) error {
	keeper.Lock()
	defer keeper.Unlock()
	if keeper.dropped {
		return errors.New("privdrop: already dropped")
	}
	if os.Geteuid() != 0 {
		return dropFileCaps(cfg)
	}
	id, ok, err := Resolve(cfg.User)
	if err != nil {
		return err
	}
	if !ok || id.UID == 0 {
		return nil // plain root stays root; see the package doc
	}
	if err := dropRoot(id, cfg.KeepNetAdmin); err != nil {
		return fmt.Errorf("privdrop: become uid %d gid %d: %w", id.UID, id.GID, err)
	}
	keeper.dropped = true
	noNewPrivs()
	return verify(id)
}

// dropRoot changes user on a locked thread. With keep, that thread sets
// PR_SET_KEEPCAPS first, so it alone keeps its permitted set through the
// uid change (capabilities(7), "Effect of user ID changes on
// capabilities"), then narrows it to CAP_NET_ADMIN and serves WithNetAdmin
// for the rest of the process. Every other thread ends with no capability.
func dropRoot(id Identity, keep bool) error {
	errc := make(chan error, 1)
	ch := make(chan func())
	go func() {
		runtime.LockOSThread()
		// On failure the thread is left locked: its credentials are in an
		// unknown state, so the runtime discards it with this goroutine.
		if keep {
			if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
				errc <- fmt.Errorf("PR_SET_KEEPCAPS: %w", err)
				return
			}
		}
		if err := become(id); err != nil {
			errc <- err
			return
		}
		if !keep {
			runtime.UnlockOSThread()
			errc <- nil
			return
		}
		if err := setCaps(capNetAdmin, capNetAdmin); err != nil {
			errc <- err
			return
		}
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
			errc <- fmt.Errorf("PR_SET_KEEPCAPS: %w", err)
			return
		}
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			errc <- fmt.Errorf("PR_SET_NO_NEW_PRIVS: %w", err)
			return
		}
		errc <- nil
		for fn := range ch {
			fn()
		}
	}()
	if err := <-errc; err != nil {
		return err
	}
	if keep {
		keeper.ch = ch
	}
	return nil
}

// become sets supplementary groups, gids and uids. Go (1.16 and later)
// applies each of these to every thread of the process.
func become(id Identity) error {
	groups := id.Groups
	if groups == nil {
		groups = []int{}
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setresgid(id.GID, id.GID, id.GID); err != nil {
		return fmt.Errorf("setresgid: %w", err)
	}
	if err := syscall.Setresuid(id.UID, id.UID, id.UID); err != nil {
		return fmt.Errorf("setresuid: %w", err)
	}
	return nil
}

// verify checks that the drop took: all three uids and gids changed, and
// the calling thread holds no capability.
func verify(id Identity) error {
	r, e, s := unix.Getresuid()
	if r != id.UID || e != id.UID || s != id.UID {
		return fmt.Errorf("privdrop: uids are %d/%d/%d after the drop, want %d", r, e, s, id.UID)
	}
	rg, eg, sg := unix.Getresgid()
	if rg != id.GID || eg != id.GID || sg != id.GID {
		return fmt.Errorf("privdrop: gids are %d/%d/%d after the drop, want %d", rg, eg, sg, id.GID)
	}
	eff, perm, err := caps()
	if err != nil {
		return fmt.Errorf("privdrop: %w", err)
	}
	if eff != 0 || perm != 0 {
		return fmt.Errorf("privdrop: capabilities %#x/%#x remain after the drop", eff, perm)
	}
	return nil
}

// dropFileCaps clears the capabilities a non-root process got from the
// binary's file capabilities, on every thread, keeping CAP_NET_ADMIN if
// asked and held.
func dropFileCaps(cfg Config) error {
	if cfg.User != "" {
		id, _, err := Resolve(cfg.User)
		if err != nil {
			return err
		}
		if id.UID != os.Getuid() {
			return fmt.Errorf("%w (become %s)", ErrNotRoot, strconv.Quote(cfg.User))
		}
	}
	eff, perm, err := caps()
	if err != nil {
		return fmt.Errorf("privdrop: %w", err)
	}
	if eff == 0 && perm == 0 {
		return nil
	}
	var keep uint64
	if cfg.KeepNetAdmin {
		keep = perm & capNetAdmin
	}
	if err := setCapsAllThreads(keep, keep); err != nil {
		if errors.Is(err, syscall.ENOTSUP) {
			return errors.New("privdrop: cannot clear file capabilities on every thread of a binary linked with cgo; build it with CGO_ENABLED=0")
		}
		return fmt.Errorf("privdrop: capset: %w", err)
	}
	keeper.dropped = true
	noNewPrivs()
	if eff, perm, err = caps(); err != nil || eff != keep || perm != keep {
		return fmt.Errorf("privdrop: capabilities %#x/%#x remain after the drop (%v)", eff, perm, err)
	}
	return nil
}

// noNewPrivs sets PR_SET_NO_NEW_PRIVS on every thread, or, in a binary
// linked with cgo where that is not possible, on the calling thread.
func noNewPrivs() {
	_, _, e := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0)
	if e == syscall.ENOTSUP {
		runtime.LockOSThread()
		unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) //nolint:errcheck // best effort, documented
		runtime.UnlockOSThread()
	}
}

func withNetAdmin(fn func() error) error {
	keeper.Lock()
	ch := keeper.ch
	keeper.Unlock()
	if ch == nil {
		return fn()
	}
	done := make(chan error, 1)
	ch <- func() { done <- fn() }
	return <-done
}

func fileCapsOnly() bool {
	if os.Getuid() == 0 {
		return false
	}
	eff, perm, err := caps()
	return err == nil && (eff != 0 || perm != 0)
}

// caps returns the calling thread's effective and permitted sets (only
// the first 64 capabilities matter today).
func caps() (eff, perm uint64, err error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, 0, fmt.Errorf("capget: %w", err)
	}
	eff = uint64(data[0].Effective) | uint64(data[1].Effective)<<32
	perm = uint64(data[0].Permitted) | uint64(data[1].Permitted)<<32
	return eff, perm, nil
}

func capData(eff, perm uint64) [2]unix.CapUserData {
	return [2]unix.CapUserData{
		{Effective: uint32(eff), Permitted: uint32(perm)},
		{Effective: uint32(eff >> 32), Permitted: uint32(perm >> 32)},
	}
}

// setCaps sets the calling thread's sets; inheritable becomes empty.
func setCaps(eff, perm uint64) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := capData(eff, perm)
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// setCapsAllThreads is setCaps on every thread of the process; it fails
// with ENOTSUP in a binary linked with cgo.
func setCapsAllThreads(eff, perm uint64) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := capData(eff, perm)
	_, _, e := syscall.AllThreadsSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	runtime.KeepAlive(&hdr)
	runtime.KeepAlive(&data)
	if e != 0 {
		return e
	}
	return nil
}
